// Unix group membership for `group:NAME` user entries.
#ifndef CERTGATE_CORE_GROUPS_H_
#define CERTGATE_CORE_GROUPS_H_

#include <map>
#include <set>
#include <string>
#include <string_view>

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
class NssGroupResolver : public GroupResolver {
 public:
  Result<bool> IsMember(std::string_view user, std::string_view group) override;
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
