#include "cafetch/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/read_file.h"
#include "core/unique_fd.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;
using core::UniqueFd;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// ReadOpening reads |path| opened with |extra_flags| added.
core::Result<std::optional<std::string>> ReadOpening(const std::string& path, size_t max_size,
                                                  int extra_flags) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | extra_flags));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Fail(Errc::kIo, Errno("open", path));
  }
  std::string data;
  core::Status read = core::ReadBounded(fd.get(), max_size, 0, &data);
  if (!read) return Fail(read.error().code, path + ": " + read.error().detail);
  return std::optional<std::string>(std::move(data));
}

}  // namespace

core::Result<std::optional<std::string>> ReadWholeFile(const std::string& path, size_t max_size) {
  return ReadOpening(path, max_size, O_NOFOLLOW);
}

core::Result<std::optional<std::string>> ReadFollowingLinks(const std::string& path,
                                                            size_t max_size) {
  return ReadOpening(path, max_size, 0);
}

core::Status RefuseSymlink(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return core::Ok();
    return Fail(Errc::kIo, Errno("stat", path));
  }
  if (S_ISLNK(st.st_mode)) {
    return Fail(Errc::kIo, path +
                               " is a symbolic link: cafetch replaces this file by renaming a new "
                               "one over it and will not replace a link; make it a regular file "
                               "or configure its real path");
  }
  return core::Ok();
}

core::Result<FileBackup> BackUpFile(const std::string& path) {
  FileBackup backup;
  backup.path = path;
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) {
    if (errno == ENOENT) return backup;
    return Fail(Errc::kIo, Errno("open", path));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Fail(Errc::kIo, Errno("stat", path));
  if (!S_ISREG(st.st_mode)) return Fail(Errc::kIo, path + ": not a regular file");
  backup.mode = FileMode{st.st_uid, st.st_gid, st.st_mode & 07777};
  constexpr size_t kMaxBackup = 16 * 1024 * 1024;
  std::string data;
  core::Status read = core::ReadBounded(fd.get(), kMaxBackup, static_cast<size_t>(st.st_size), &data);
  if (!read) return Fail(read.error().code, path + ": " + read.error().detail);
  backup.contents = std::move(data);
  return backup;
}

core::Status RestoreFile(const FileBackup& backup) {
  if (backup.contents.has_value()) {
    return WriteFileAtomically(backup.path, *backup.contents, backup.mode);
  }
  return RemoveFileDurably(backup.path);
}

core::Status RemoveFileDurably(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return Fail(Errc::kIo, Errno("remove", path));
  const std::string dir = core::ParentDirectory(path);
  UniqueFd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid() || fsync(dir_fd.get()) != 0) return Fail(Errc::kIo, Errno("fsync directory", dir));
  return core::Ok();
}

core::Result<Replaced> ReplaceKeepingPrevious(const std::string& path, std::string_view contents,
                                              const FileMode& mode) {
  Replaced replaced;
  core::Result<FileBackup> old = BackUpFile(path);
  if (!old) return core::Unexpected{old.error()};
  replaced.file = std::move(*old);
  const std::string previous_path = path + kPreviousSuffix;
  if (replaced.file.contents.has_value()) {
    core::Result<FileBackup> previous = BackUpFile(previous_path);
    if (!previous) return core::Unexpected{previous.error()};
    replaced.previous = std::move(*previous);
    core::Status saved = WriteFileAtomically(previous_path, *replaced.file.contents, replaced.file.mode);
    if (!saved) return core::Unexpected{saved.error()};
  }
  core::Status written = WriteFileAtomically(path, contents, mode);
  if (!written) {
    // |path| is unchanged, so its copy must not have replaced the one kept
    // from the round before.
    std::string detail = written.error().detail;
    if (replaced.previous.has_value()) {
      core::Status put_back = RestoreFile(*replaced.previous);
      if (!put_back) detail += "; and could not put back " + previous_path + ": " + put_back.error().detail;
    }
    return Fail(written.error().code, detail);
  }
  return replaced;
}

core::Error Unwritable(const core::Error& why, const std::string& dir, std::string_view setting) {
  if (why.code != core::Errc::kIo) return why;
  return core::Error{why.code, why.detail + "; " + dir + " must be writable by root on a writable file system, " +
                                   "or correct " + std::string(setting) + " in cafetch.yaml"};
}

core::Result<bool> MakeDirectory(const std::string& dir, std::string_view setting) {
  if (mkdir(dir.c_str(), 0755) == 0) return true;
  if (errno == EEXIST) return false;
  const int error = errno;
  return Fail(Errc::kIo, "cannot create directory " + dir + ": " + std::strerror(error) +
                             (error == ENOENT ? "; create its parent (root, 0755)"
                                              : "; it must be on a writable file system") +
                             ", or correct " + std::string(setting) + " in cafetch.yaml");
}

}  // namespace certgate::cafetch
