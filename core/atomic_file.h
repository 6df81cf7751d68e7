// Replacing a file so that a reader never sees it half-written: a new file
// in the same directory, fsynced, given its final owner and mode, renamed
// over the old one, and the directory fsynced. cafetch replaces the files
// sshd reads this way, `principals-cmd --compile` the policy snapshot.
#ifndef CERTGATE_CORE_ATOMIC_FILE_H_
#define CERTGATE_CORE_ATOMIC_FILE_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "core/result.h"

namespace certgate::core {

// FileMode is the owner and permission bits a replaced file gets.
struct FileMode {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0644;
};

// WriteFileAtomically replaces |path| with |contents|: the temporary file
// is created with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC in |path|'s directory,
// written in full (short writes and EINTR handled), fsynced, closed with
// the result checked, given |mode| (fchown + fchmod), renamed over |path|,
// and the directory is fsynced. On any failure the temporary file is
// removed and |path| is untouched. Returns Ok or kIo with what failed.
Status WriteFileAtomically(const std::string& path, std::string_view contents, const FileMode& mode);

// ParentDirectory returns the directory part of |path| ("." for none, "/"
// for a file in the root): where a replacement is created and fsynced.
std::string ParentDirectory(const std::string& path);

// BaseName returns what follows the last '/' of |path| (all of it if none).
std::string BaseName(const std::string& path);

// RemoveStaleTemporaries removes the temporary files WriteFileAtomically
// leaves beside |path| when it is killed before its rename (names
// ".<base>.certgate-" and 16 hex digits, regular files only); call it only
// while holding the lock that keeps other writers of |path| away. Returns
// how many were removed, or kIo when the directory cannot be read or a
// file not removed.
Result<size_t> RemoveStaleTemporaries(const std::string& path);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_ATOMIC_FILE_H_
