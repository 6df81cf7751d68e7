// Opening a directory the way sshd's StrictModes checks a path: every
// directory from / down, none a symbolic link, none writable by others.
#ifndef CERTGATE_CORE_SAFE_DIRECTORY_H_
#define CERTGATE_CORE_SAFE_DIRECTORY_H_

#include <sys/stat.h>

#include <string>
#include <string_view>

#include "core/unique_fd.h"

namespace certgate::core {

// DirectoryRule says who may own the directories OpenSafeDirectory walks.
struct DirectoryRule {
  // check: false opens the path without any check (tests of other things).
  bool check = true;
  // owner_uid: the directory itself must be owned by it (root in
  // production); a directory above it may be owned by root or by it.
  unsigned owner_uid = 0;
  // trusted_root: an absolute directory taken as safe with everything above
  // it: a path under it is walked from there. Empty (production): every
  // directory from / is checked. Tests set $TMPDIR, which everyone may write.
  std::string trusted_root;
  // sticky_above: a sticky directory owned by root that others may write
  // (/tmp) is accepted above the last directory of the path. In it only
  // root may rename or remove what root owns, and each directory below it
  // is checked in turn, so nobody else can swap the path. The last
  // directory, where files are read or made, never may be one. sshd's
  // StrictModes has no such exception (the policy and the helpers keep
  // it); cafetch's own files use it (cafetch/trusted_paths.h).
  bool sticky_above = false;
};

// UnsafeDirectory names the first directory that failed and why, in words
// that say what to do ("...; run chmod go-w /srv").
struct UnsafeDirectory {
  std::string path;
  std::string message;
  int error = 0;  // errno when a directory could not be opened (ENOTDIR: not one) or stat
};

// OpenSafeDirectory opens |path| (absolute, or relative to the working
// directory) one component at a time from /, with O_NOFOLLOW, and checks
// each directory on the way: not a symbolic link, owned by root (or
// |rule.owner_uid|), not writable by group or others — a sticky directory
// like /tmp included, as sshd's StrictModes has it, unless
// |rule.sticky_above| accepts it above the last directory. There is no window
// between check and use: the caller opens files relative to the returned
// O_PATH descriptor. On failure the descriptor is invalid and |*unsafe| says
// which directory and why.
UniqueFd OpenSafeDirectory(const std::string& path, const DirectoryRule& rule, UnsafeDirectory* unsafe);

// LinkMessage returns why the symbolic link |path| is refused, naming where
// it leads when that resolves, and advising to name the real |what|
// ("file", "directory") instead.
std::string LinkMessage(const std::string& path, std::string_view what);

// OwnerAndModeProblem applies the StrictModes rule to one file or
// directory |path| with |st|, which must be owned by |owner_uid| (or, if
// |root_too|, by root): empty if it passes, else the message.
std::string OwnerAndModeProblem(const struct stat& st, const std::string& path, unsigned owner_uid, bool root_too);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_SAFE_DIRECTORY_H_
