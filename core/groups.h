// Unix group membership for `group:NAME` user entries.
#ifndef CERTGATE_CORE_GROUPS_H_
#define CERTGATE_CORE_GROUPS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace certgate::core {

// GroupResolver answers whether a user belongs to a group, primary or
// supplementary. Implementations may block (NSS, LDAP): the helpers bound
// their whole run time instead.
class GroupResolver {
 public:
  virtual ~GroupResolver() = default;
  // IsMember returns true or false, or an error if the lookup failed (an
  // unknown group is "false", not an error).
  virtual Result<bool> IsMember(std::string_view user, std::string_view group) = 0;
};

// NssGroupResolver asks the system (getpwnam_r, getgrnam_r, getgrouplist).
// One resolver serves one decision: it remembers each group's gid and the
// user's groups after the first successful lookup, so a policy with many
// `group:` rules asks NSS once per group and once per user, not once per
// rule. Failed lookups are not remembered.
class NssGroupResolver : public GroupResolver {
 public:
  Result<bool> IsMember(std::string_view user, std::string_view group) override;

 private:
  // UserGroups is a user's primary and supplementary gids (none: no such
  // user).
  struct UserGroups {
    std::vector<unsigned> gids;
  };
  Result<UserGroups> LookupUser(const std::string& user);

  std::map<std::string, std::optional<unsigned>, std::less<>> group_gids_;  // nullopt: no such group
  std::map<std::string, UserGroups, std::less<>> users_;
};

// StaticGroupResolver answers from a fixed table (tests, fuzzing).
class StaticGroupResolver : public GroupResolver {
 public:
  void Add(std::string user, std::string group) { members_[std::move(group)].insert(std::move(user)); }
  Result<bool> IsMember(std::string_view user, std::string_view group) override;

 private:
  std::map<std::string, std::set<std::string>, std::less<>> members_;
};

}  // namespace certgate::core

#endif  // CERTGATE_CORE_GROUPS_H_
