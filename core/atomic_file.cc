#include "core/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "core/unique_fd.h"

namespace certgate::core {
namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// WriteAll writes all of |data| to |fd|; false with errno set if it cannot.
bool WriteAll(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;  // no progress
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

constexpr size_t kTempSuffixLength = 16;

// TempPrefix returns ".<base>.certgate-", the start of |path|'s temporary names.
std::string TempPrefix(const std::string& path) { return "." + BaseName(path) + ".certgate-"; }

// TempName returns "<dir>/.<base>.certgate-XXXXXXXXXXXXXXXX" with a random
// suffix; O_EXCL makes a collision an error rather than a clobber.
std::string TempName(const std::string& path) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string suffix;
  for (size_t i = 0; i < kTempSuffixLength; ++i) suffix.push_back(kHex[rd() & 0xf]);
  std::string dir = ParentDirectory(path);
  return (dir == "/" ? "" : dir) + "/" + TempPrefix(path) + suffix;
}

bool IsTempNameOf(std::string_view name, const std::string& prefix) {
  if (name.size() != prefix.size() + kTempSuffixLength || name.substr(0, prefix.size()) != prefix) {
    return false;
  }
  for (char c : name.substr(prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string ParentDirectory(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteFileAtomically(const std::string& path, std::string_view contents,
                                 const FileMode& mode) {
  const std::string dir = ParentDirectory(path);
  UniqueFd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return Fail(Errc::kIo, Errno("open directory", dir));

  const std::string temp = TempName(path);
  // A failure before the rename names the file being replaced (the
  // temporary is gone by the time anyone reads the message) and says that
  // it was left as it was.
  auto failed = [&](const char* what, int err) {
    return Fail(Errc::kIo, std::string(what) + " " + path + " (its temporary " + BaseName(temp) +
                               "): " + std::strerror(err) + "; " + path + " is unchanged");
  };
  UniqueFd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   mode.mode & 0777));
  // O_EXCL: on failure the name may be someone else's file, never unlinked.
  if (!fd.valid()) return failed("create", errno);
  auto fail = [&](const char* what) {
    Status st = failed(what, errno);
    unlink(temp.c_str());
    return st;
  };
  if (!WriteAll(fd.get(), contents)) return fail("write");
  if (fchown(fd.get(), mode.uid, mode.gid) != 0) return fail("chown");
  if (fchmod(fd.get(), mode.mode & 07777) != 0) return fail("chmod");
  if (fsync(fd.get()) != 0) return fail("fsync");
  if (fd.Close() != 0) return fail("close");
  if (rename(temp.c_str(), path.c_str()) != 0) return fail("rename over");
  // The rename is durable only once the directory entry is on disk.
  if (fsync(dir_fd.get()) != 0) return Fail(Errc::kIo, Errno("fsync directory", dir));
  return Ok();
}

Result<size_t> RemoveStaleTemporaries(const std::string& path) {
  const std::string dir = ParentDirectory(path);
  const std::string prefix = TempPrefix(path);
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return size_t{0};
    return Fail(Errc::kIo, Errno("open directory", dir));
  }
  std::vector<std::string> stale;
  while (struct dirent* e = readdir(d)) {
    if (IsTempNameOf(e->d_name, prefix)) stale.push_back((dir == "/" ? "" : dir) + "/" + e->d_name);
  }
  closedir(d);
  size_t removed = 0;
  for (const std::string& file : stale) {
    struct stat st;
    if (lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (unlink(file.c_str()) != 0 && errno != ENOENT) return Fail(Errc::kIo, Errno("remove", file));
    ++removed;
  }
  return removed;
}

}  // namespace certgate::core
