// Running a child process the way style.md §8 requires: posix_spawn of an
// absolute path with an argv vector, a minimal environment and stdin from
// /dev/null, never a shell.
#ifndef CERTGATE_CAFETCH_SUBPROCESS_H_
#define CERTGATE_CAFETCH_SUBPROCESS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace certgate::cafetch {

// kMaxChildOutput caps what is kept of a child's stdout and of its stderr
// (`sshd -T` prints about 8 KiB); the rest is read and dropped.
inline constexpr size_t kMaxChildOutput = 1024 * 1024;

// ChildResult is how a child ended and what it printed.
struct ChildResult {
  // exited_cleanly: WIFEXITED && exit status 0 (OpenSSH's exited_cleanly).
  bool exited_cleanly = false;
  // status: the raw wait status (see waitpid(2)).
  int status = 0;
  std::string out;
  std::string err;

  // Describe returns "exit N" or "signal N" for logs.
  std::string Describe() const;
};

// RunChild runs |argv| (argv[0] an absolute path) with environment
// PATH=/usr/sbin:/usr/bin:/sbin:/bin only, stdin /dev/null and stdout and
// stderr captured, and waits at most |timeout_ms| (then kills it with
// SIGKILL and fails with kTimeout). A child that ran and failed is not an
// error: check exited_cleanly. Errors: kUsage (relative path or empty
// argv), kIo / kInternal (pipe, spawn or wait failed), kTimeout.
core::Result<ChildResult> RunChild(const std::vector<std::string>& argv,
                                   uint64_t timeout_ms = 30000);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_SUBPROCESS_H_
