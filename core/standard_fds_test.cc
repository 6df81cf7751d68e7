#include "core/standard_fds.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace certgate::core {
namespace {

// InChild runs |body| in a forked child with the fds of |close_mask|
// (1 << fd) closed, and returns its exit status: the standard descriptors
// of the test runner itself are left alone.
template <typename Body>
int InChild(int close_mask, Body body) {
  const pid_t pid = fork();
  if (pid == 0) {
    for (int fd = 0; fd <= 2; ++fd) {
      if ((close_mask & (1 << fd)) != 0) close(fd);
    }
    _exit(body());
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// IsDevNull: |fd| is open on /dev/null.
bool IsDevNull(int fd) {
  struct stat a {}, b {};
  return fstat(fd, &a) == 0 && stat("/dev/null", &b) == 0 && a.st_rdev == b.st_rdev && S_ISCHR(a.st_mode);
}

TEST(StandardFdsTest, NothingClosedNothingChanged) {
  EXPECT_EQ(InChild(0, [] { return OpenStandardFds(); }), 0);
}

TEST(StandardFdsTest, AClosedStdoutBecomesDevNullAndIsReported) {
  EXPECT_EQ(InChild(kStdoutWasClosed, [] { return OpenStandardFds(); }), kStdoutWasClosed);
  // What is opened next does not become fd 1.
  EXPECT_EQ(InChild(kStdoutWasClosed,
                    [] {
                      if (OpenStandardFds() != kStdoutWasClosed || !IsDevNull(STDOUT_FILENO)) return 1;
                      const int fd = open("/proc/self/status", O_RDONLY);
                      return fd > STDERR_FILENO ? 0 : 2;
                    }),
            0);
}

TEST(StandardFdsTest, EveryClosedOneIsOpened) {
  EXPECT_EQ(InChild(7, [] { return OpenStandardFds(); }), 7);
  EXPECT_EQ(InChild(5,
                    [] {
                      struct stat before {}, after {};
                      if (fstat(STDOUT_FILENO, &before) != 0 || OpenStandardFds() != 5) return 1;
                      if (fstat(STDOUT_FILENO, &after) != 0) return 2;
                      // stdout, which was open, is the same file as before.
                      const bool same = before.st_dev == after.st_dev && before.st_ino == after.st_ino;
                      return IsDevNull(STDIN_FILENO) && IsDevNull(STDERR_FILENO) && same ? 0 : 3;
                    }),
            0);
}

}  // namespace
}  // namespace certgate::core
