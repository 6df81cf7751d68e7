// Unix group membership for `group:NAME` user entries.
#ifndef CERTGATE_CORE_GROUPS_H_
#define CERTGATE_CORE_GROUPS_H_

#include <cstdint>
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

// GroupAnswers are NSS answers: each group's gid (nullopt: no such group)
// and each user's primary and supplementary gids (none: no such user).
struct GroupAnswers {
  std::map<std::string, std::optional<unsigned>, std::less<>> group_gids;
  std::map<std::string, std::vector<unsigned>, std::less<>> user_gids;
};

// GroupCache keeps NssGroupResolver's answers across the decisions of one
// long-lived process (a certgate-decide worker). sshd asks the helpers five
// times per login, and each time the same getgrnam/getpwnam/getgrouplist
// would be asked again (a tenth of a millisecond with nss_systemd, more with
// LDAP). It forgets every answer when the first one is kMaxAgeMs old, and
// as soon as a watched file (/etc/passwd, /etc/group, /etc/nsswitch.conf)
// has changed: a local edit takes effect at the next decision, a change in
// a remote source (sssd, LDAP, systemd-userdb records) within a second.
// Failed lookups are never remembered (NssGroupResolver).
class GroupCache {
 public:
  static constexpr int64_t kMaxAgeMs = 1000;
  static constexpr size_t kMaxUsers = 4096;  // then start over

  GroupCache();
  explicit GroupCache(std::vector<std::string> watched_files);

  // Validate is called once per decision, at its first group lookup
  // (NssGroupResolver does): it forgets everything if the answers are kMaxAgeMs
  // old at |now_ms| (a monotonic clock), too many, or a watched file's stat
  // (device, inode, size, mtime, ctime, or its absence) differs from when
  // the first answer was kept.
  void Validate(int64_t now_ms);

  GroupAnswers& answers() { return answers_; }
  size_t users_remembered() const { return answers_.user_gids.size(); }

 private:
  struct Stamp {
    bool exists = false;
    uint64_t dev = 0, ino = 0, size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  std::vector<Stamp> TakeStamps() const;

  std::vector<std::string> watched_;
  std::vector<Stamp> stamps_;
  int64_t since_ms_ = 0;
  bool valid_ = false;
  GroupAnswers answers_;
};

// NssGroupResolver asks the system (getpwnam_r, getgrnam_r, getgrouplist).
// One resolver serves one decision: it remembers each group's gid and the
// user's groups after the first successful lookup, so a policy with many
// `group:` rules asks NSS once per group and once per user, not once per
// rule. A failed lookup is remembered by the resolver alone, for the rest
// of its decision: a slow or failing NSS source (sssd or LDAP offline) is
// waited for once per group and user, not again by each rule and again
// when the rule is evaluated. With a |cache| (validated at the first
// lookup) the answers are kept there, across decisions; failures never
// are, so the next decision asks again.
class NssGroupResolver : public GroupResolver {
 public:
  NssGroupResolver() = default;
  explicit NssGroupResolver(GroupCache* cache);
  NssGroupResolver(const NssGroupResolver&) = delete;
  NssGroupResolver& operator=(const NssGroupResolver&) = delete;
  Result<bool> IsMember(std::string_view user, std::string_view group) override;

 private:
  GroupAnswers own_;
  GroupAnswers* answers_ = &own_;
  // This decision's failed lookups: group or user name -> the error.
  std::map<std::string, std::string, std::less<>> failed_groups_;
  std::map<std::string, std::string, std::less<>> failed_users_;
  GroupCache* unvalidated_cache_ = nullptr;  // used from the first lookup on
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
