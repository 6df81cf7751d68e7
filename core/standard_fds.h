// OpenStandardFds: what a program does first when a caller may have
// started it with stdin, stdout or stderr closed. Header-only and libc
// only: the static clients (decide/client.cc) use it as well as the
// programs linked to core.
#ifndef CERTGATE_CORE_STANDARD_FDS_H_
#define CERTGATE_CORE_STANDARD_FDS_H_

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace certgate::core {

// kStdoutWasClosed is OpenStandardFds' bit for fd 1.
inline constexpr int kStdoutWasClosed = 1 << STDOUT_FILENO;

// OpenStandardFds points each of fds 0, 1 and 2 that is closed at
// /dev/null, as sshd does for itself (sanitise_stdfd). Otherwise the first
// file or socket the program opens gets that number: the journal socket
// would become stdout and receive the answer, a key file being written
// would receive what is printed. Returns a mask of the fds that were
// closed (1 << fd), or -1 if /dev/null cannot be opened (then a program
// must stop: it cannot tell where its output goes).
inline int OpenStandardFds() {
  int closed = 0;
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free number: |fd|, since the ones below it are open.
    const int null_fd = open("/dev/null", O_RDWR);
    if (null_fd < 0) return -1;
    if (null_fd != fd) {
      const bool moved = dup2(null_fd, fd) == fd;
      close(null_fd);
      if (!moved) return -1;
    }
    closed |= 1 << fd;
  }
  return closed;
}

}  // namespace certgate::core

#endif  // CERTGATE_CORE_STANDARD_FDS_H_
