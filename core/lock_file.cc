#include "core/lock_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace certgate::core {

Result<UniqueFd> OpenPrivateLockFile(const std::string& path, std::string_view held_up) {
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600));
  if (!fd.valid()) return Fail(Errc::kIo, "cannot open lock file " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Fail(Errc::kIo, "fstat " + path + ": " + std::strerror(errno));
  const uid_t me = geteuid();
  std::string wrong;
  if (!S_ISREG(st.st_mode)) {
    wrong = "not a regular file";
  } else if (st.st_uid != me) {
    wrong = "owned by uid " + std::to_string(st.st_uid) + ", not " + std::to_string(me);
  } else if ((st.st_mode & 077) != 0) {
    static constexpr char kOctal[] = "01234567";
    const unsigned mode = st.st_mode & 0777;
    wrong = std::string("mode 0") + kOctal[(mode >> 6) & 7] + kOctal[(mode >> 3) & 7] + kOctal[mode & 7] +
            " lets group or others open it";
  }
  if (!wrong.empty()) {
    const std::string owner = me == 0 ? "root:root" : std::to_string(me);
    return Fail(Errc::kUnsafePermissions, "lock file " + path + ": " + wrong +
                                              ": another user could hold the lock and " + std::string(held_up) +
                                              "; chown " + owner + " and chmod 600 it, or remove it");
  }
  return fd;
}

}  // namespace certgate::core
