// Replacing a file sshd reads so that it is never seen half-written: a new
// file in the same directory, fsynced, given its final owner and mode,
// renamed over the old one, and the directory fsynced.
#ifndef CERTGATE_CAFETCH_ATOMIC_FILE_H_
#define CERTGATE_CAFETCH_ATOMIC_FILE_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace certgate::cafetch {

// FileMode is the owner and permission bits a replaced file gets.
struct FileMode {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0644;
};

// kPreviousSuffix names the copy of the replaced version kept beside a file.
inline constexpr char kPreviousSuffix[] = ".previous";

// WriteFileAtomically replaces |path| with |contents|: the temporary file
// is created with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC in |path|'s directory,
// written in full (short writes and EINTR handled), fsynced, closed with
// the result checked, given |mode| (fchown + fchmod), renamed over |path|,
// and the directory is fsynced. On any failure the temporary file is
// removed and |path| is untouched. Returns Ok or kIo with what failed.
core::Status WriteFileAtomically(const std::string& path, std::string_view contents,
                                 const FileMode& mode);

// RemoveStaleTemporaries removes the temporary files WriteFileAtomically
// leaves beside |path| when it is killed before its rename (names
// ".<base>.certgate-" and 16 hex digits, regular files only); call it only
// while holding the lock that keeps other writers of |path| away. Returns
// how many were removed, or kIo when the directory cannot be read or a
// file not removed.
core::Result<size_t> RemoveStaleTemporaries(const std::string& path);

// FileBackup is a file as it was before cafetch replaced it, in memory, so
// that a failed check can put it back.
struct FileBackup {
  std::string path;
  std::optional<std::string> contents;  // nullopt: the file did not exist
  FileMode mode;                        // its owner and mode when it existed
};

// BackUpFile reads |path| (not following a symlink) with its owner and
// mode. A missing file is a backup with no contents. Errors: kIo, kTooLarge.
core::Result<FileBackup> BackUpFile(const std::string& path);

// RemoveFileDurably removes |path| (a missing file is fine) and fsyncs its
// directory, so that the removal survives a crash. Errors: kIo.
core::Status RemoveFileDurably(const std::string& path);

// RestoreFile puts |backup| back: rewrites the old contents atomically with
// the old owner and mode, or removes the file (and fsyncs its directory)
// if it did not exist. Errors: kIo.
core::Status RestoreFile(const FileBackup& backup);

// ReplaceKeepingPrevious first saves the current contents of |path| (if it
// exists) atomically as |path| + kPreviousSuffix, with its owner and mode,
// then replaces |path| as WriteFileAtomically does. Returns the backup of
// |path| as it was (for RestoreFile), or the first error.
core::Result<FileBackup> ReplaceKeepingPrevious(const std::string& path, std::string_view contents,
                                                const FileMode& mode);

// ReadWholeFile returns the contents of |path| (at most |max_size| bytes),
// nullopt if it does not exist, or kIo / kTooLarge.
core::Result<std::optional<std::string>> ReadWholeFile(const std::string& path,
                                                       size_t max_size = 16 * 1024 * 1024);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_ATOMIC_FILE_H_
