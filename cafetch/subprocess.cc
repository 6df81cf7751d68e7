#include "cafetch/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/unique_fd.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;
using core::UniqueFd;

uint64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// SpawnState owns the posix_spawn attribute objects for one spawn.
class SpawnState {
 public:
  SpawnState() {
    actions_ok_ = posix_spawn_file_actions_init(&actions_) == 0;
    attr_ok_ = posix_spawnattr_init(&attr_) == 0;
  }
  ~SpawnState() {
    if (actions_ok_) posix_spawn_file_actions_destroy(&actions_);
    if (attr_ok_) posix_spawnattr_destroy(&attr_);
  }
  SpawnState(const SpawnState&) = delete;
  SpawnState& operator=(const SpawnState&) = delete;
  bool ok() const { return actions_ok_ && attr_ok_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }
  posix_spawnattr_t* attr() { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
  bool actions_ok_ = false;
  bool attr_ok_ = false;
};

// WaitChild reaps |pid|, retrying on EINTR.
bool WaitChild(pid_t pid, int* status) {
  for (;;) {
    if (waitpid(pid, status, 0) == pid) return true;
    if (errno != EINTR) return false;
  }
}

}  // namespace

std::string ChildResult::Describe() const {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

core::Result<ChildResult> RunChild(const std::vector<std::string>& argv, uint64_t timeout_ms) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    return Fail(Errc::kUsage, "a child process needs an absolute path");
  }
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Fail(Errc::kIo, "pipe: " + std::string(std::strerror(errno)));
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return Fail(Errc::kIo, "pipe: " + std::string(std::strerror(errno)));
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);

  SpawnState spawn;
  if (!spawn.ok()) return Fail(Errc::kInternal, "posix_spawn attributes");
  // The child starts with default signal dispositions and an empty mask,
  // whatever the daemon set for itself (SIGHUP, SIGTERM, SIGPIPE).
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  if (posix_spawn_file_actions_addopen(spawn.actions(), 0, "/dev/null", O_RDONLY, 0) != 0 ||
      posix_spawn_file_actions_adddup2(spawn.actions(), out_write.get(), 1) != 0 ||
      posix_spawn_file_actions_adddup2(spawn.actions(), err_write.get(), 2) != 0 ||
      posix_spawnattr_setsigdefault(spawn.attr(), &all) != 0 ||
      posix_spawnattr_setsigmask(spawn.attr(), &none) != 0 ||
      posix_spawnattr_setflags(spawn.attr(), POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) != 0) {
    return Fail(Errc::kInternal, "posix_spawn file actions");
  }

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {env_path, nullptr};

  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0].c_str(), spawn.actions(), spawn.attr(), args.data(), envp);
  if (rc != 0) return Fail(Errc::kIo, "cannot run " + argv[0] + ": " + std::strerror(rc));
  out_write.Reset();
  err_write.Reset();

  ChildResult result;
  const uint64_t deadline = NowMs() + timeout_ms;
  bool timed_out = false;
  UniqueFd* fds[2] = {&out_read, &err_read};
  std::string* sinks[2] = {&result.out, &result.err};
  while (out_read.valid() || err_read.valid()) {
    uint64_t now = NowMs();
    if (now >= deadline) {
      timed_out = true;
      break;
    }
    struct pollfd pfd[2];
    nfds_t n = 0;
    int which[2];
    for (int i = 0; i < 2; ++i) {
      if (!fds[i]->valid()) continue;
      pfd[n].fd = fds[i]->get();
      pfd[n].events = POLLIN;
      pfd[n].revents = 0;
      which[n] = i;
      ++n;
    }
    uint64_t wait_ms = deadline - now;
    int ready = poll(pfd, n, static_cast<int>(wait_ms > 1000 ? 1000 : wait_ms));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      timed_out = true;  // cannot read: treat like a hang, kill and report below
      break;
    }
    for (nfds_t k = 0; k < n; ++k) {
      if (pfd[k].revents == 0) continue;
      char buf[8192];
      ssize_t got = read(pfd[k].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        fds[which[k]]->Reset();
        continue;
      }
      std::string* sink = sinks[which[k]];
      size_t room = kMaxChildOutput - sink->size();
      sink->append(buf, static_cast<size_t>(got) < room ? static_cast<size_t>(got) : room);
    }
  }
  if (timed_out) {
    kill(pid, SIGKILL);
    int ignored = 0;
    (void)WaitChild(pid, &ignored);
    return Fail(Errc::kTimeout, argv[0] + " did not finish within " +
                                    std::to_string(timeout_ms) + " ms");
  }
  if (!WaitChild(pid, &result.status)) return Fail(Errc::kIo, "waitpid: " + std::string(std::strerror(errno)));
  result.exited_cleanly = WIFEXITED(result.status) && WEXITSTATUS(result.status) == 0;
  return result;
}

}  // namespace certgate::cafetch
