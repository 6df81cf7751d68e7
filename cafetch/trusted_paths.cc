#include "cafetch/trusted_paths.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "cafetch/fetcher.h"
#include "cafetch/state.h"
#include "core/atomic_file.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;

// kWhy says why cafetch refuses: what it reads there decides which CA keys
// sshd trusts.
constexpr char kWhy[] = "another user could change which CA keys sshd trusts";

// NearestExisting returns |path|, or its nearest ancestor that exists: the
// directory a missing one would be created in.
std::string NearestExisting(std::string path) {
  struct stat st {};
  while (path != "/" && path != "." && lstat(path.c_str(), &st) != 0 && errno == ENOENT) {
    path = core::ParentDirectory(path);
  }
  return path;
}

// CheckFileIn checks the directory |dir| (or the one it would be made in)
// and, when |name| is not empty and exists there, that file: |key| and
// |path| name them in the error (|path| is |dir| for the state file, whose
// name is cafetch's own).
core::Status CheckFileIn(std::string_view key, const std::string& path, const std::string& dir,
                         const std::string& name, const core::DirectoryRule& rule) {
  const std::string fix = "; fix it or set " + std::string(key) + " in cafetch.yaml to a path root can read";
  const std::string at = NearestExisting(dir);
  core::UnsafeDirectory unsafe;
  const core::UniqueFd fd(core::OpenSafeDirectory(at, rule, &unsafe));
  if (!fd.valid()) {
    if (unsafe.error != 0) {  // not a risk: cafetch cannot get there at all
      return Fail(Errc::kIo,
                  std::string(key) + " " + path + ": directory " + unsafe.path + ": " + unsafe.message + fix);
    }
    return Fail(Errc::kUnsafePermissions,
                std::string(key) + " " + path + ": " + kWhy + ": directory " + unsafe.path + ": " + unsafe.message);
  }
  if (name.empty() || !rule.check || at != dir) return core::Ok();
  const std::string file = (dir == "/" ? "" : dir) + "/" + name;
  struct stat st {};
  if (fstatat(fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return core::Ok();  // made later, or its reader says it is missing
    return Fail(Errc::kIo, std::string(key) + " " + file + ": " + std::strerror(errno) + fix);
  }
  if (S_ISLNK(st.st_mode)) {
    std::string to;
    if (char* real = realpath(file.c_str(), nullptr)) {
      to = std::string(" to ") + real;
      free(real);
    }
    return Fail(Errc::kUnsafePermissions,
                std::string(key) + " " + file + ": is a symbolic link" + to + "; cafetch does not follow links, " +
                    (file == path ? "name the real file" : "remove the link (cafetch writes " + name + " itself)"));
  }
  const std::string problem = core::OwnerAndModeProblem(st, file, rule.owner_uid, /*root_too=*/true);
  if (!problem.empty()) {
    return Fail(Errc::kUnsafePermissions, std::string(key) + " " + file + ": " + kWhy + ": " + problem);
  }
  return core::Ok();
}

core::Status CheckFile(std::string_view key, const std::string& path, const core::DirectoryRule& rule) {
  return CheckFileIn(key, path, core::ParentDirectory(path), core::BaseName(path), rule);
}

}  // namespace

core::Status CheckTrustedPaths(const Config& config, const core::DirectoryRule& strict) {
  // What only cafetch reads may sit in a root-owned directory inside /tmp
  // (a test's mkdtemp): nobody else can rename it away, and should /tmp be
  // emptied (a reboot) and the name made again by another user, the next
  // round refuses it. The key file is also read by sshd, at every login and
  // without any check: it keeps the strict rule.
  core::DirectoryRule rule = strict;
  rule.sticky_above = true;
  core::Status st = CheckFileIn("state_dir", config.state_dir, config.state_dir, kStateFileName, rule);
  if (st) st = CheckFile("trusted_user_ca_keys", config.trusted_user_ca_keys, strict);
  const IssuerConfig& issuer = config.issuer;
  if (st && (issuer.type == IssuerType::kFile || IsLocalUrl(issuer.url))) {
    st = CheckFile(issuer.url_key, LocalPath(issuer.url), rule);
  }
  if (st && config.bundle_signature && IsLocalUrl(config.bundle_signature->url)) {
    st = CheckFile("bundle_signature.url", LocalPath(config.bundle_signature->url), rule);
  }
  if (st && !issuer.tls.ca_file.empty()) st = CheckFile("issuer.tls.ca_file", issuer.tls.ca_file, rule);
  // The token file's own owner and mode (root, 0600) are checked where it
  // is read (fetcher.h ReadToken); here, the directories above it.
  if (st && !issuer.token_file.empty()) {
    st = CheckFileIn("issuer.token_file", issuer.token_file, core::ParentDirectory(issuer.token_file), "", rule);
  }
  return st;
}

core::Status CheckPrincipalsCommand(const std::string& program, const std::string& user,
                                    const core::DirectoryRule& rule) {
  const std::string what = "sshd.manage_principals_command: AuthorizedPrincipalsCommand " + program;
  const std::string remedy = "; set sshd.manage_principals_command: false to manage those lines yourself";
  auto refused = [&](Errc code, const std::string& why, const std::string& fix) {
    return Fail(code, what + ": " + why + "; sshd would refuse every certificate login: " + fix + remedy);
  };
  core::UnsafeDirectory unsafe;
  const std::string dir = core::ParentDirectory(program);
  const core::UniqueFd fd(core::OpenSafeDirectory(dir, rule, &unsafe));
  if (!fd.valid()) {
    if (unsafe.error == ENOENT) {
      return refused(Errc::kBadFormat, "directory " + unsafe.path + " does not exist",
                     "install certgate's helpers (the certgate package puts them in " + dir + ")");
    }
    return refused(unsafe.error != 0 ? Errc::kIo : Errc::kUnsafePermissions,
                   "directory " + unsafe.path + ": " + unsafe.message, "fix the directory");
  }
  struct stat st {};
  if (fstatat(fd.get(), core::BaseName(program).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    const int error = errno;
    return refused(error == ENOENT ? Errc::kBadFormat : Errc::kIo, std::strerror(error),
                   "install certgate's helpers (the certgate package puts principals-cmd there)");
  }
  if (S_ISLNK(st.st_mode)) {
    return refused(Errc::kUnsafePermissions, "is a symbolic link", "install the program itself there");
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & S_IXUSR) == 0) {
    return refused(Errc::kBadFormat, "not an executable file", "install certgate's helpers");
  }
  if (rule.check) {
    const std::string problem = core::OwnerAndModeProblem(st, program, rule.owner_uid, /*root_too=*/true);
    if (!problem.empty()) return refused(Errc::kUnsafePermissions, problem, "fix the file");
  }
  if (getpwnam(user.c_str()) == nullptr) {
    return Fail(Errc::kBadFormat, "sshd.manage_principals_command: AuthorizedPrincipalsCommandUser " + user +
                                      ": no such user; sshd would refuse every certificate login: create it "
                                      "(the certgate package does, with systemd-sysusers)" + remedy);
  }
  return core::Ok();
}

}  // namespace certgate::cafetch
