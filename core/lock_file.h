// Lock files no other user can hold. Anyone who can open a file can
// flock(2) it, and so hold up whoever takes that lock for as long as they
// like: cafetch's rounds, `principals-cmd --compile`, certgate-decide's
// start. So each of them locks a file of its own user's, mode 0600.
#ifndef CERTGATE_CORE_LOCK_FILE_H_
#define CERTGATE_CORE_LOCK_FILE_H_

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/unique_fd.h"

namespace certgate::core {

// OpenPrivateLockFile opens |path| read-write, creating it with mode 0600,
// and checks that no other user can open it: a regular file, not reached
// through a symbolic link (O_NOFOLLOW), owned by this process's effective
// user, with no group or other permission bits. It does not lock it.
// Errors: kIo "cannot open lock file PATH: ERRNO"; kUnsafePermissions
// "lock file PATH: WHAT: another user could hold the lock and |held_up|;
// chown ... and chmod 600 it, or remove it".
Result<UniqueFd> OpenPrivateLockFile(const std::string& path, std::string_view held_up);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_LOCK_FILE_H_
