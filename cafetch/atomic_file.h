// Replacing a file sshd reads so that it is never seen half-written: a new
// file in the same directory, fsynced, given its final owner and mode,
// renamed over the old one, and the directory fsynced.
#ifndef CERTGATE_CAFETCH_ATOMIC_FILE_H_
#define CERTGATE_CAFETCH_ATOMIC_FILE_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/atomic_file.h"
#include "core/result.h"

namespace certgate::cafetch {

// kPreviousSuffix names the copy of the replaced version kept beside a file.
inline constexpr char kPreviousSuffix[] = ".previous";

// The atomic write itself lives in core (core/atomic_file.h): cafetch and
// `principals-cmd --compile` replace files the same way.
using core::FileMode;
using core::RemoveStaleTemporaries;
using core::WriteFileAtomically;

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

// Replaced is what ReplaceKeepingPrevious changed: the file and its
// kPreviousSuffix copy, each as it was before (for RestoreFile).
struct Replaced {
  FileBackup file;
  std::optional<FileBackup> previous;  // nullopt: |file| was new, its copy untouched
};

// ReplaceKeepingPrevious first saves the current contents of |path| (if it
// exists) atomically as |path| + kPreviousSuffix, with its owner and mode,
// then replaces |path| as WriteFileAtomically does. Returns both files as
// they were, or the first error; when |path| cannot be replaced, the
// kPreviousSuffix copy is put back as it was too, so nothing changed.
core::Result<Replaced> ReplaceKeepingPrevious(const std::string& path, std::string_view contents,
                                              const FileMode& mode);

// ReadWholeFile returns the contents of |path| (at most |max_size| bytes),
// nullopt if it does not exist, or kIo / kTooLarge. A symbolic link is not
// followed (kIo, ELOOP): for files cafetch itself replaces or owns.
core::Result<std::optional<std::string>> ReadWholeFile(const std::string& path,
                                                       size_t max_size = 16 * 1024 * 1024);

// ReadFollowingLinks is ReadWholeFile for files cafetch only reads, as
// sshd does (an admin's drop-in, a main sshd_config it never writes): a
// symbolic link is followed; a dangling one is nullopt, like a missing file.
core::Result<std::optional<std::string>> ReadFollowingLinks(const std::string& path,
                                                            size_t max_size = 16 * 1024 * 1024);

// RefuseSymlink returns kIo, saying |path| is a symbolic link cafetch will
// not replace and what to do, when |path| is one; Ok otherwise (missing
// included), or kIo when it cannot be told.
core::Status RefuseSymlink(const std::string& path);

// Unwritable adds to |why|, the failure (kIo) to write a file in |dir|,
// what to do: naming |setting|, the cafetch.yaml setting that put the file
// there. Any other error is returned as it is.
core::Error Unwritable(const core::Error& why, const std::string& dir, std::string_view setting);

// MakeDirectory creates |dir| (0755) unless it exists, and says whether it
// made it. A directory it cannot make (kIo) names |setting|, the
// cafetch.yaml setting that put it there, and what to do.
core::Result<bool> MakeDirectory(const std::string& dir, std::string_view setting);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_ATOMIC_FILE_H_
