#include "core/safe_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace certgate::core {
namespace {

// IsStrictlyAbove returns true if directory |dir| is an ancestor of
// |path| (both absolute, spelled as walked).
bool IsStrictlyAbove(const std::string& dir, const std::string& path) {
  if (path.size() <= dir.size() || path.compare(0, dir.size(), dir) != 0) return false;
  return dir == "/" || path[dir.size()] == '/';
}

}  // namespace

std::string LinkMessage(const std::string& path, std::string_view what) {
  std::string message = "is a symbolic link";
  if (char* real = realpath(path.c_str(), nullptr)) {
    message += std::string(" to ") + real;
    free(real);
  }
  return message + "; certgate does not follow links in the path of its files: name the real " + std::string(what);
}

std::string OwnerAndModeProblem(const struct stat& st, const std::string& path, unsigned owner_uid, bool root_too) {
  if (st.st_uid != owner_uid && !(root_too && st.st_uid == 0)) {
    const std::string owner = owner_uid == 0 ? "root" : "uid " + std::to_string(owner_uid);
    return "unsafe permissions: owned by uid " + std::to_string(st.st_uid) + ", not " +
           (root_too && owner_uid != 0 ? "root or " + owner : owner) + "; run chown " +
           (owner_uid == 0 ? std::string("root") : std::to_string(owner_uid)) + " " + path;
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    if (S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0) {
      // chmod go-w /tmp would be the wrong advice.
      return "unsafe permissions: writable by group or others (a shared directory like /tmp); "
             "move the files to a directory only root can write, such as /etc/certgate";
    }
    return "unsafe permissions: writable by group or others; run chmod go-w " + path;
  }
  return {};
}

UniqueFd OpenSafeDirectory(const std::string& path, const DirectoryRule& rule, UnsafeDirectory* unsafe) {
  std::string absolute = path;
  if (absolute.empty() || absolute[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == nullptr) {
      *unsafe = {path, std::string("cannot tell the working directory: ") + std::strerror(errno) +
                           "; name the directory by its absolute path"};
      return UniqueFd();
    }
    absolute = std::string(cwd) + (absolute.empty() ? "" : "/" + absolute);
  }
  std::string at = "/";
  std::string_view rest(absolute);
  const std::string& root = rule.trusted_root;
  bool trusted = false;  // |at| is the trusted root: not checked
  if (!root.empty() && (absolute == root || IsStrictlyAbove(root, absolute))) {
    at = root;
    rest.remove_prefix(root.size());
    trusted = true;
  }
  std::vector<std::string> parts;
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    std::string part(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
  }
  // Check applies the rule to the directory |at|, open as |fd| and seen as
  // |st|; every directory but the last may also be owned by root.
  auto check = [&](const struct stat& st, bool last) {
    if (!rule.check) return true;
    if (!S_ISDIR(st.st_mode)) {
      *unsafe = {at, "not a directory"};
      return false;
    }
    if (rule.sticky_above && !last && st.st_uid == 0 && (st.st_mode & S_ISVTX) != 0) return true;
    std::string problem = OwnerAndModeProblem(st, at, rule.owner_uid, !last);
    if (!problem.empty()) {
      *unsafe = {at, std::move(problem)};
      return false;
    }
    return true;
  };

  UniqueFd fd(open(at.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    const int error = errno;
    *unsafe = {at, std::string("cannot open directory: ") + std::strerror(error), error};
    return UniqueFd();
  }
  struct stat st {};
  if (!trusted && rule.check) {
    if (fstat(fd.get(), &st) != 0) {
      *unsafe = {at, std::string("cannot stat: ") + std::strerror(errno), errno};
      return UniqueFd();
    }
    if (!check(st, parts.empty())) return UniqueFd();
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    at = (at == "/" ? "" : at) + "/" + part;
    UniqueFd next(openat(fd.get(), part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) {
      const int error = errno;
      if (fstatat(fd.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        *unsafe = {at, LinkMessage(at, "directory")};
      } else if (error == ENOTDIR) {
        *unsafe = {at, "not a directory", error};
      } else {
        *unsafe = {at, std::string("cannot open directory: ") + std::strerror(error), error};
      }
      return UniqueFd();
    }
    // One fstat per directory: for the link check (O_PATH may open the
    // link itself) and for the rule.
    if (fstat(next.get(), &st) != 0) {
      *unsafe = {at, std::string("cannot stat: ") + std::strerror(errno), errno};
      return UniqueFd();
    }
    if (S_ISLNK(st.st_mode)) {
      *unsafe = {at, LinkMessage(at, "directory")};
      return UniqueFd();
    }
    if (!check(st, i + 1 == parts.size())) return UniqueFd();
    fd = std::move(next);
  }
  return fd;
}

}  // namespace certgate::core
