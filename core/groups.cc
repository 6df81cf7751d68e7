#include "core/groups.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace certgate::core {
namespace {

// LookupBufferSize returns a starting buffer size for the *_r NSS calls.
size_t LookupBufferSize(int name) {
  long n = sysconf(name);
  return n > 0 ? static_cast<size_t>(n) : 16384;
}

// kMaxLookupBuffer bounds the buffer growth on ERANGE (a group with very
// many members needs a large buffer).
constexpr size_t kMaxLookupBuffer = 16 * 1024 * 1024;

// CallGrowingBuffer calls |lookup| (a getpwnam_r or getgrnam_r on a buffer)
// again with a buffer twice as large while it says ERANGE, up to
// kMaxLookupBuffer, and returns its last result.
template <typename Lookup>
int CallGrowingBuffer(std::vector<char>* buf, Lookup lookup) {
  for (;;) {
    const int rc = lookup(buf->data(), buf->size());
    if (rc != ERANGE || buf->size() >= kMaxLookupBuffer) return rc;
    buf->resize(buf->size() * 2);
  }
}

// LookupUserGroups returns |user|'s primary and supplementary gids (none:
// no such user).
Result<std::vector<unsigned>> LookupUserGroups(const std::string& user) {
  std::vector<unsigned> out;
  struct passwd pw;
  struct passwd* pw_result = nullptr;
  std::vector<char> pbuf(LookupBufferSize(_SC_GETPW_R_SIZE_MAX));
  const int rc = CallGrowingBuffer(&pbuf, [&](char* buf, size_t size) {
    return getpwnam_r(user.c_str(), &pw, buf, size, &pw_result);
  });
  if (rc != 0) return Fail(Errc::kIo, "user lookup of \"" + user + "\" failed: " + std::strerror(rc));
  if (pw_result == nullptr) return out;  // no such user: member of nothing
  out.push_back(static_cast<unsigned>(pw.pw_gid));  // primary group

  // Supplementary groups, as sshd's own group checks see them.
  int count = 64;
  std::vector<gid_t> groups;
  for (int attempt = 0; attempt < 8; ++attempt) {
    groups.resize(static_cast<size_t>(count));
    int n = count;
    if (getgrouplist(user.c_str(), pw.pw_gid, groups.data(), &n) >= 0) {
      groups.resize(static_cast<size_t>(n));
      for (gid_t g : groups) out.push_back(static_cast<unsigned>(g));
      return out;
    }
    if (n <= count) n = count * 2;  // defensive: must grow
    count = n;
  }
  return Fail(Errc::kIo, "supplementary groups of \"" + user + "\" could not be listed");
}

int64_t MonotonicMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

GroupCache::GroupCache()
    : GroupCache(std::vector<std::string>{"/etc/passwd", "/etc/group", "/etc/nsswitch.conf"}) {}

GroupCache::GroupCache(std::vector<std::string> watched_files) : watched_(std::move(watched_files)) {}

std::vector<GroupCache::Stamp> GroupCache::TakeStamps() const {
  std::vector<Stamp> stamps(watched_.size());
  for (size_t i = 0; i < watched_.size(); ++i) {
    struct stat st;
    if (stat(watched_[i].c_str(), &st) != 0) continue;  // absent (or unreadable): its own stamp
    Stamp& s = stamps[i];
    s.exists = true;
    s.dev = static_cast<uint64_t>(st.st_dev);
    s.ino = static_cast<uint64_t>(st.st_ino);
    s.size = static_cast<uint64_t>(st.st_size);
    s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  }
  return stamps;
}

void GroupCache::Validate(int64_t now_ms) {
  std::vector<Stamp> stamps = TakeStamps();
  if (valid_ && now_ms >= since_ms_ && now_ms - since_ms_ < kMaxAgeMs && stamps == stamps_ &&
      answers_.user_gids.size() < kMaxUsers && answers_.group_gids.size() < kMaxUsers) {
    return;
  }
  answers_ = GroupAnswers{};
  stamps_ = std::move(stamps);
  since_ms_ = now_ms;
  valid_ = true;
}

NssGroupResolver::NssGroupResolver(GroupCache* cache) : unvalidated_cache_(cache) {}

Result<bool> NssGroupResolver::IsMember(std::string_view user_view,
                                        std::string_view group_view) {
  const std::string user(user_view);
  const std::string group(group_view);
  if (unvalidated_cache_ != nullptr) {
    // A decision without group: rules never stats the watched files.
    unvalidated_cache_->Validate(MonotonicMs());
    answers_ = &unvalidated_cache_->answers();
    unvalidated_cache_ = nullptr;
  }

  // The group: an unknown group has no members.
  auto known = answers_->group_gids.find(group);
  if (known == answers_->group_gids.end()) {
    if (auto failed = failed_groups_.find(group); failed != failed_groups_.end()) {
      return Fail(Errc::kIo, failed->second);
    }
    struct group grp;
    struct group* grp_result = nullptr;
    std::vector<char> gbuf(LookupBufferSize(_SC_GETGR_R_SIZE_MAX));
    const int rc = CallGrowingBuffer(&gbuf, [&](char* buf, size_t size) {
      return getgrnam_r(group.c_str(), &grp, buf, size, &grp_result);
    });
    if (rc != 0) {
      std::string why = "group lookup of \"" + group + "\" failed: " + std::strerror(rc);
      failed_groups_.emplace(group, why);
      return Fail(Errc::kIo, std::move(why));
    }
    std::optional<unsigned> gid;
    if (grp_result != nullptr) gid = static_cast<unsigned>(grp.gr_gid);
    known = answers_->group_gids.emplace(group, gid).first;
  }
  if (!known->second) return false;
  const unsigned gid = *known->second;

  auto member = answers_->user_gids.find(user);
  if (member == answers_->user_gids.end()) {
    if (auto failed = failed_users_.find(user); failed != failed_users_.end()) {
      return Fail(Errc::kIo, failed->second);
    }
    Result<std::vector<unsigned>> looked_up = LookupUserGroups(user);
    if (!looked_up) {
      failed_users_.emplace(user, looked_up.error().detail);
      return Unexpected{looked_up.error()};
    }
    member = answers_->user_gids.emplace(user, std::move(*looked_up)).first;
  }
  for (unsigned g : member->second) {
    if (g == gid) return true;
  }
  return false;
}

Result<bool> StaticGroupResolver::IsMember(std::string_view user, std::string_view group) {
  auto it = members_.find(group);
  if (it == members_.end()) return false;
  return it->second.count(std::string(user)) > 0;
}

}  // namespace certgate::core
