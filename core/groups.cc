#include "core/groups.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace

Result<bool> NssGroupResolver::IsMember(std::string_view user_view,
                                        std::string_view group_view) {
  const std::string user(user_view);
  const std::string group(group_view);

  // The group: an unknown group has no members.
  auto known = group_gids_.find(group);
  if (known == group_gids_.end()) {
    struct group grp;
    struct group* grp_result = nullptr;
    std::vector<char> gbuf(LookupBufferSize(_SC_GETGR_R_SIZE_MAX));
    for (;;) {
      int rc = getgrnam_r(group.c_str(), &grp, gbuf.data(), gbuf.size(), &grp_result);
      if (rc == ERANGE && gbuf.size() < kMaxLookupBuffer) {
        gbuf.resize(gbuf.size() * 2);
        continue;
      }
      if (rc != 0) return Fail(Errc::kIo, "group lookup of \"" + group + "\" failed: errno " + std::to_string(rc));
      break;
    }
    std::optional<unsigned> gid;
    if (grp_result != nullptr) gid = static_cast<unsigned>(grp.gr_gid);
    known = group_gids_.emplace(group, gid).first;
  }
  if (!known->second) return false;
  const unsigned gid = *known->second;

  auto member = users_.find(user);
  if (member == users_.end()) {
    Result<UserGroups> looked_up = LookupUser(user);
    if (!looked_up) return Unexpected{looked_up.error()};
    member = users_.emplace(user, std::move(*looked_up)).first;
  }
  for (unsigned g : member->second.gids) {
    if (g == gid) return true;
  }
  return false;
}

Result<NssGroupResolver::UserGroups> NssGroupResolver::LookupUser(const std::string& user) {
  UserGroups out;
  struct passwd pw;
  struct passwd* pw_result = nullptr;
  std::vector<char> pbuf(LookupBufferSize(_SC_GETPW_R_SIZE_MAX));
  for (;;) {
    int rc = getpwnam_r(user.c_str(), &pw, pbuf.data(), pbuf.size(), &pw_result);
    if (rc == ERANGE && pbuf.size() < kMaxLookupBuffer) {
      pbuf.resize(pbuf.size() * 2);
      continue;
    }
    if (rc != 0) return Fail(Errc::kIo, "user lookup of \"" + user + "\" failed: errno " + std::to_string(rc));
    break;
  }
  if (pw_result == nullptr) return out;  // no such user: member of nothing
  out.gids.push_back(static_cast<unsigned>(pw.pw_gid));  // primary group

  // Supplementary groups, as sshd's own group checks see them.
  int count = 64;
  std::vector<gid_t> groups;
  for (int attempt = 0; attempt < 8; ++attempt) {
    groups.resize(static_cast<size_t>(count));
    int n = count;
    if (getgrouplist(user.c_str(), pw.pw_gid, groups.data(), &n) >= 0) {
      groups.resize(static_cast<size_t>(n));
      for (gid_t g : groups) out.gids.push_back(static_cast<unsigned>(g));
      return out;
    }
    if (n <= count) n = count * 2;  // defensive: must grow
    count = n;
  }
  return Fail(Errc::kIo, "supplementary groups of \"" + user + "\" could not be listed");
}

Result<bool> StaticGroupResolver::IsMember(std::string_view user, std::string_view group) {
  auto it = members_.find(group);
  if (it == members_.end()) return false;
  return it->second.count(std::string(user)) > 0;
}

}  // namespace certgate::core
