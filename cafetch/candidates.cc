#include "cafetch/candidates.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cafetch/atomic_file.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;
using core::UniqueFd;

constexpr size_t kRandomChars = 6;  // mkdtemp's XXXXXX
constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// NotOwnDirectory returns why |st| (of |path|) is not a directory of the
// effective user that group and others cannot write, or "" if it is.
std::string NotOwnDirectory(const struct stat& st, const std::string& path) {
  if (!S_ISDIR(st.st_mode)) return path + " is not a directory";
  if (st.st_uid != geteuid()) {
    return path + " is owned by uid " + std::to_string(st.st_uid) + ", not " +
           std::to_string(geteuid());
  }
  if ((st.st_mode & 022) != 0) return path + " is writable by group or others";
  return "";
}

// Names returns the entries of directory |fd| (without . and ..), sorted;
// |fd| itself stays open and unmoved.
core::Result<std::vector<std::string>> Names(int fd, const std::string& path) {
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return Fail(Errc::kIo, Errno("dup", path));
  DIR* d = fdopendir(copy);
  if (d == nullptr) {
    close(copy);
    return Fail(Errc::kIo, Errno("read directory", path));
  }
  rewinddir(d);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
    errno = 0;
  }
  const int err = errno;
  closedir(d);
  if (err != 0) {
    errno = err;
    return Fail(Errc::kIo, Errno("read directory", path));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// EmptyDirectory removes what cafetch writes in a candidate directory
// |fd| (at |path|): entries owned by the effective user that are not
// directories, and, at |depth| 0, the subdirectory kCandidateDropInDir
// with the same rule. Appends what it leaves to |problems|; returns false
// if anything is left.
bool EmptyDirectory(int fd, const std::string& path, int depth,
                    std::vector<std::string>* problems) {
  core::Result<std::vector<std::string>> names = Names(fd, path);
  if (!names) {
    problems->push_back(names.error().detail);
    return false;
  }
  bool emptied = true;
  for (const std::string& name : *names) {
    const std::string entry = path + "/" + name;
    struct stat st;
    if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      problems->push_back(Errno("stat", entry));
      emptied = false;
      continue;
    }
    if (st.st_uid != geteuid()) {
      problems->push_back(entry + " is owned by uid " + std::to_string(st.st_uid) + ": left alone");
      emptied = false;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      // A file, or a symlink: unlinkat removes the entry itself.
      if (unlinkat(fd, name.c_str(), 0) != 0 && errno != ENOENT) {
        problems->push_back(Errno("remove", entry));
        emptied = false;
      }
      continue;
    }
    if (depth != 0 || name != kCandidateDropInDir) {
      problems->push_back(entry + " is a directory cafetch does not make: left alone");
      emptied = false;
      continue;
    }
    UniqueFd sub(openat(fd, name.c_str(), kDirFlags));
    struct stat sub_st;
    if (!sub.valid() || fstat(sub.get(), &sub_st) != 0) {
      problems->push_back(Errno("open", entry));
      emptied = false;
      continue;
    }
    if (std::string why = NotOwnDirectory(sub_st, entry); !why.empty()) {
      problems->push_back(why + ": left alone");
      emptied = false;
      continue;
    }
    if (!EmptyDirectory(sub.get(), entry, depth + 1, problems)) {
      emptied = false;
      continue;
    }
    if (unlinkat(fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      problems->push_back(Errno("remove", entry));
      emptied = false;
    }
  }
  return emptied;
}

}  // namespace

bool IsCandidateName(std::string_view name) {
  const std::string_view prefix = kCandidatePrefix;
  if (name.size() != prefix.size() + kRandomChars || name.substr(0, prefix.size()) != prefix) {
    return false;
  }
  for (char c : name.substr(prefix.size())) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

core::Result<std::unique_ptr<CandidateDir>> CandidateDir::Create(const std::string& state_dir) {
  if (mkdir(state_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Fail(Errc::kIo, Errno("mkdir", state_dir));
  }
  const std::string parent = state_dir + "/" + kCandidatesDirName;
  if (mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
    return Fail(Errc::kIo, Errno("mkdir", parent));
  }
  {
    UniqueFd fd(open(parent.c_str(), kDirFlags));
    struct stat st;
    if (!fd.valid() || fstat(fd.get(), &st) != 0) return Fail(Errc::kIo, Errno("open", parent));
    if (std::string why = NotOwnDirectory(st, parent); !why.empty()) {
      return Fail(Errc::kIo, why + ": no candidate is checked there");
    }
  }
  // A round that is removing stale candidates (it holds the state_dir
  // lock; we may be a --dry-run) can take a directory between mkdtemp and
  // our flock: then it is gone, and we make another.
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string path = parent + "/" + kCandidatePrefix + std::string(kRandomChars, 'X');
    if (mkdtemp(path.data()) == nullptr) return Fail(Errc::kIo, Errno("mkdtemp", path));
    UniqueFd fd(open(path.c_str(), kDirFlags));
    if (!fd.valid()) {
      if (errno == ENOENT) continue;
      const std::string err = Errno("open", path);
      rmdir(path.c_str());
      return Fail(Errc::kIo, err);
    }
    while (flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) {
        const std::string err = Errno("flock", path);
        rmdir(path.c_str());
        return Fail(Errc::kIo, err);
      }
    }
    struct stat held, named;
    if (fstat(fd.get(), &held) != 0) return Fail(Errc::kIo, Errno("stat", path));
    if (lstat(path.c_str(), &named) == 0 && named.st_dev == held.st_dev &&
        named.st_ino == held.st_ino) {
      return std::unique_ptr<CandidateDir>(new CandidateDir(std::move(path), std::move(fd)));
    }
  }
  return Fail(Errc::kIo, "cannot make a candidate directory in " + parent +
                             ": removed by another cafetch each time");
}

core::Result<std::unique_ptr<CandidateDir>> CandidateDir::CreateTemporary(
    const std::string& tmp_dir) {
  std::string path = tmp_dir + "/" + kCandidatePrefix + std::string(kRandomChars, 'X');
  if (mkdtemp(path.data()) == nullptr) return Fail(Errc::kIo, Errno("mkdtemp", path));
  UniqueFd fd(open(path.c_str(), kDirFlags));
  if (!fd.valid()) {
    const std::string err = Errno("open", path);
    rmdir(path.c_str());
    return Fail(Errc::kIo, err);
  }
  return std::unique_ptr<CandidateDir>(new CandidateDir(std::move(path), std::move(fd)));
}

CandidateDir::~CandidateDir() {
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    if (unlink(it->c_str()) != 0) rmdir(it->c_str());
  }
  rmdir(path_.c_str());
  // fd_ closes after: the flock is held until the directory is gone.
}

core::Status CandidateDir::Write(const std::string& name, std::string_view text) {
  const std::string file = path_ + "/" + name;
  created_.push_back(file);
  return WriteFileAtomically(file, text, FileMode{geteuid(), getegid(), 0600});
}

core::Status CandidateDir::MakeSubdirectory(const std::string& name) {
  const std::string dir = path_ + "/" + name;
  if (mkdir(dir.c_str(), 0700) != 0) return Fail(Errc::kIo, Errno("mkdir", dir));
  created_.push_back(dir);
  return core::Ok();
}

StaleCandidates RemoveStaleCandidates(const std::string& state_dir) {
  StaleCandidates out;
  const std::string parent = state_dir + "/" + kCandidatesDirName;
  UniqueFd dir(open(parent.c_str(), kDirFlags));
  if (!dir.valid()) {
    if (errno != ENOENT) out.problems.push_back(Errno("open", parent));
    return out;
  }
  struct stat st;
  if (fstat(dir.get(), &st) != 0) {
    out.problems.push_back(Errno("stat", parent));
    return out;
  }
  if (std::string why = NotOwnDirectory(st, parent); !why.empty()) {
    out.problems.push_back(why + ": left alone");
    return out;
  }
  core::Result<std::vector<std::string>> names = Names(dir.get(), parent);
  if (!names) {
    out.problems.push_back(names.error().detail);
    return out;
  }
  for (const std::string& name : *names) {
    if (!IsCandidateName(name)) continue;
    const std::string path = parent + "/" + name;
    if (fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) out.problems.push_back(Errno("stat", path));
      continue;
    }
    if (st.st_uid != geteuid()) {
      out.problems.push_back(path + " is owned by uid " + std::to_string(st.st_uid) +
                             ": left alone");
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      // Not something cafetch made: the entry goes, whatever it points at stays.
      if (unlinkat(dir.get(), name.c_str(), 0) == 0) {
        out.removed.push_back(name);
      } else if (errno != ENOENT) {
        out.problems.push_back(Errno("remove", path));
      }
      continue;
    }
    UniqueFd candidate(openat(dir.get(), name.c_str(), kDirFlags));
    if (!candidate.valid()) {
      if (errno != ENOENT) out.problems.push_back(Errno("open", path));
      continue;
    }
    if (fstat(candidate.get(), &st) != 0) {
      out.problems.push_back(Errno("stat", path));
      continue;
    }
    if (std::string why = NotOwnDirectory(st, path); !why.empty()) {
      out.problems.push_back(why + ": left alone");
      continue;
    }
    if (flock(candidate.get(), LOCK_EX | LOCK_NB) != 0) {
      // EWOULDBLOCK: a --dry-run is checking its candidate right now.
      if (errno != EWOULDBLOCK) out.problems.push_back(Errno("flock", path));
      continue;
    }
    if (!EmptyDirectory(candidate.get(), path, 0, &out.problems)) continue;
    if (unlinkat(dir.get(), name.c_str(), AT_REMOVEDIR) == 0) {
      out.removed.push_back(name);
    } else if (errno != ENOENT) {
      out.problems.push_back(Errno("remove", path));
    }
  }
  return out;
}

}  // namespace certgate::cafetch
