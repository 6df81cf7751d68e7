// The service's parent (Serve): keeps the policy current, forks the request
// workers and retires them, kills a worker past its request's deadline,
// handles the service's signals and logs for them. What a worker does is
// worker.cc's; the state the two share is worker.h's.
#include "decide/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <new>
#include <optional>
#include <string>

#include <openssl/evp.h>

#include "core/helper_args.h"
#include "core/openssl_ptr.h"
#include "core/unique_fd.h"
#include "decide/protocol.h"
#include "decide/worker.h"

namespace certgate::decide {
namespace {

// SignAndVerify makes a key of |type| and signs and verifies one message.
void SignAndVerify(const char* type, const EVP_MD* md) {
  EVP_PKEY* raw = nullptr;
  if (md == nullptr) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, type, "P-256");
  }
  if (raw == nullptr) return;
  core::EvpPkeyPtr key(raw);
  const unsigned char msg[] = "certgate";
  unsigned char sig[256];
  size_t sig_len = sizeof sig;
  core::EvpMdCtxPtr sign(EVP_MD_CTX_new());
  if (!sign || EVP_DigestSignInit(sign.get(), nullptr, md, nullptr, key.get()) != 1 ||
      EVP_DigestSign(sign.get(), sig, &sig_len, msg, sizeof msg) != 1) {
    return;
  }
  core::EvpMdCtxPtr verify(EVP_MD_CTX_new());
  if (verify && EVP_DigestVerifyInit(verify.get(), nullptr, md, nullptr, key.get()) == 1) {
    (void)EVP_DigestVerify(verify.get(), sig, sig_len, msg, sizeof msg);
  }
}

// PeakRssKib returns this process's VmHWM (KiB, /proc/self/status), or -1.
// Not getrusage's ru_maxrss: that survives execve, so a service started
// from a large process (a test, a benchmark) would report its parent's.
int64_t PeakRssKib() { return SumProcKib("/proc/self/status", {"VmHWM:"}); }

// g_report_stats is set by SIGUSR1: log the counters at the next loop.
volatile sig_atomic_t g_report_stats = 0;
void OnUsr1(int) { g_report_stats = 1; }
// OnChld only interrupts the parent's poll() so that it reaps at once.
void OnChld(int) {}
// g_recheck is set by SIGHUP: say that the policy was re-checked.
volatile sig_atomic_t g_recheck = 0;
void OnHup(int) { g_recheck = 1; }
// g_stop is set by SIGTERM or SIGINT to the parent: stop gracefully.
volatile sig_atomic_t g_stop = 0;
void OnStop(int) { g_stop = 1; }

// OverdueMessage is the parent's log line for a worker killed past its
// request's deadline (its --timeout, once the request was read): the
// in-process helper's watchdog line.
std::string OverdueMessage(const WorkerSlot& slot, int64_t overdue_ms, pid_t pid) {
  const std::string bound = std::to_string(slot.timeout_ms.load(std::memory_order_relaxed) / 1000) + "s (--timeout)";
  const std::string late = " (worker " + std::to_string(pid) + " killed " + std::to_string(overdue_ms) +
                           " ms past the request's deadline)";
  if (slot.stage.load(std::memory_order_relaxed) == core::HelperStage::kLoadingPolicy) {
    return "deny: loading the policy took longer than " + bound + "; nothing granted: the "
           "policy is too large to decide in time, shrink it (see certgate-policy(5), LIMITS)" +
           late;
  }
  return "deny: decision took longer than " + bound + " (a hanging NSS/group lookup?); "
         "nothing granted" +
         late;
}

}  // namespace

void WarmUpCrypto() {
  SignAndVerify("ED25519", nullptr);
  SignAndVerify("EC", EVP_sha256());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const unsigned char msg[] = "certgate";
  (void)EVP_Digest(msg, sizeof msg, digest, &len, EVP_sha512(), nullptr);
  (void)EVP_Digest(msg, sizeof msg, digest, &len, EVP_sha384(), nullptr);
}

core::LogRecord ServiceRecord(core::Priority priority, std::string message) {
  core::LogRecord rec;
  rec.priority = priority;
  rec.message = std::move(message);
  rec.fields.emplace_back("CERTGATE_PROGRAM", "certgate-decide");
  return rec;
}

bool ClientFilter::Allows(uid_t uid) const {
  if (any_ || uid == 0) return true;
  return std::find(uids_.begin(), uids_.end(), uid) != uids_.end();
}

void LogSnapshotNotUsed(const PolicyCache& cache, core::LogSink* log) {
  if (!cache.snapshot_not_used().empty()) {
    log->Write(ServiceRecord(core::Priority::kNotice, cache.snapshot_not_used()));
  }
}

std::string PolicyStatus(const PolicyCache& cache) {
  const core::LoadedPolicy& r = cache.current();
  if (!r.policy) {
    return "policy " + cache.path() + " is unusable, every login is denied: " +
           core::EscapeForLog(r.issues.empty() ? std::string("no policy") : r.issues.front().ToString());
  }
  return "policy " + cache.path() + ": " + std::to_string(r.policy->rule_count()) + " rules" +
         (cache.from_snapshot() ? " (from its snapshot " + cache.snapshot_path() + ")" : "");
}

int Serve(int listen_fd, PolicyCache* cache, size_t max_children, const ClientFilter& clients,
          core::LogSink* log) {
  max_children = std::clamp<size_t>(max_children, 1, kMaxWorkers);
  // Workers block in accept(): the kernel wakes one of them per connection.
  const int fl = fcntl(listen_fd, F_GETFL);
  if (fl < 0 || fcntl(listen_fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    log->Write(ServiceRecord(core::Priority::kErr, std::string("cannot use the listening socket: ") +
                                                       std::strerror(errno) + "; exiting"));
    return 1;
  }
  void* mem = mmap(nullptr, sizeof(SharedState), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    log->Write(ServiceRecord(core::Priority::kErr, std::string("cannot map the workers' shared state: ") +
                                                       std::strerror(errno) + "; exiting"));
    return 1;
  }
  SharedState* shared = new (mem) SharedState();  // zero-filled: every slot free
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = OnUsr1;  // no SA_RESTART: poll() returns EINTR
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = OnHup;
  sigaction(SIGHUP, &sa, nullptr);
  sa.sa_handler = OnStop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = OnChld;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, nullptr);

  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  core::UniqueFd wake_read(wake[0]), wake_write(wake[1]);
  const pid_t self = getpid();

  struct Worker {
    size_t slot;
    uint64_t generation;
    bool killed = false;    // SIGKILLed for its deadline (logged once)
    bool retiring = false;  // SIGTERMed: exits once idle
  };
  std::map<pid_t, Worker> workers;
  uint64_t generation = 0;
  int64_t worker_peak_rss_kib = 0;  // largest ru_maxrss of a reaped worker
  std::string last_issue;  // the unusable policy's first issue, as last logged
  std::string last_ahead;  // the policy path last logged with a timestamp ahead of the clock
  // systemd's watchdog (WatchdogSec= of certgate-decide.service): pinged
  // from this loop only, four times per period, so that a parent stuck in a
  // reload (a hung file system) or anywhere else stops the pings and is
  // restarted; its workers cannot ping for it (NotifyAccess=main).
  uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
  const int64_t ping_every_ms = watchdog_usec == 0 ? 0 : std::max<int64_t>(1, static_cast<int64_t>(watchdog_usec / 4000));
  int64_t last_ping_ms = 0;
  if (!cache->current().policy) {
    // main() has logged the state of the start-up load.
    last_issue = cache->current().issues.empty() ? "no policy" : cache->current().issues.front().ToString();
  }
  bool stopping = false;
  for (;;) {
    for (;;) {
      int status = 0;
      struct rusage ru {};
      pid_t pid = wait4(-1, &status, WNOHANG, &ru);
      if (pid <= 0) break;
      worker_peak_rss_kib = std::max<int64_t>(worker_peak_rss_kib, ru.ru_maxrss);
      auto it = workers.find(pid);
      if (it == workers.end()) continue;
      WorkerSlot& slot = shared->slots[it->second.slot];
      const bool busy = slot.state.load() == kSlotBusy;
      if (busy && !it->second.killed && (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0))) {
        log->Write(ServiceRecord(core::Priority::kErr,
                                 "worker " + std::to_string(pid) + " died while serving a request (" +
                                     (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                          : "exit " + std::to_string(WEXITSTATUS(status))) +
                                     "); its client denied the login; a new worker takes over"));
      } else if (!busy && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        log->Write(ServiceRecord(core::Priority::kErr, "worker " + std::to_string(pid) +
                                                           " could not accept connections (exit " +
                                                           std::to_string(WEXITSTATUS(status)) +
                                                           "); a new worker takes over"));
      }
      slot.state.store(kSlotFree, std::memory_order_release);
      workers.erase(it);
    }
    char drain[64];
    while (read(wake_read.get(), drain, sizeof drain) > 0) {
    }
    // Stopping (systemctl stop or restart): fork no more, let every busy
    // worker finish the request it serves (bounded by that request's
    // deadline, below), and exit once all are gone. SIGTERM is sent again
    // at every turn: it ends an idle worker's accept() (a worker between
    // its check of the flag and accept() would miss the first one).
    if (g_stop != 0 && !stopping) {
      stopping = true;
      size_t busy = 0;
      for (const auto& [pid, w] : workers) {
        if (shared->slots[w.slot].state.load(std::memory_order_acquire) == kSlotBusy) ++busy;
      }
      log->Write(ServiceRecord(core::Priority::kInfo,
                               "stopping: " + std::to_string(busy) + " requests in progress are finished first "
                               "(each within its --timeout), idle workers exit now"));
      (void)sd_notify(0, "STOPPING=1");
    }
    if (stopping) {
      if (workers.empty()) {
        log->Write(ServiceRecord(core::Priority::kInfo, "stopped; " + std::to_string(shared->requests.load()) +
                                                            " requests served"));
        return 0;
      }
      for (auto& [pid, w] : workers) {
        kill(pid, SIGTERM);
        w.retiring = true;
      }
    }
    if (g_report_stats != 0) {
      g_report_stats = 0;
      // The largest worker: of those reaped (ru_maxrss) and those alive
      // (their VmHWM), so that a service whose workers never exited says so.
      int64_t largest_worker_kib = worker_peak_rss_kib;
      for (const auto& [pid, w] : workers) {
        const std::string status = "/proc/" + std::to_string(pid) + "/status";
        largest_worker_kib = std::max(largest_worker_kib, SumProcKib(status.c_str(), {"VmHWM:"}));
      }
      log->Write(ServiceRecord(
          core::Priority::kInfo,
          "stats: " + std::to_string(shared->requests.load()) + " requests; peak RSS " +
              std::to_string(PeakRssKib()) + " KiB (service), " + std::to_string(largest_worker_kib) +
              " KiB (largest worker), " + std::to_string(shared->peak_private_kib.load()) +
              " KiB (largest private memory of a worker); " + std::to_string(workers.size()) + " workers, " +
              std::to_string(CountIdle(*shared)) + " idle"));
    }
    // Keep the workers' policy current: a reload retires every worker of
    // the older policy (SIGTERM: each finishes the request it serves).
    // A reload is logged when the files changed; an unusable policy once
    // per distinct first issue (a racy reload repeats it silently).
    PolicyCache::RefreshResult refreshed =
        stopping ? PolicyCache::RefreshResult::kCurrent : cache->Refresh();
    if (refreshed != PolicyCache::RefreshResult::kCurrent) {
      ++generation;
      for (auto& [pid, w] : workers) {
        if (w.generation < generation && !w.retiring) {
          kill(pid, SIGTERM);
          w.retiring = true;
        }
      }
    }
    // Compared at every turn: the load before Serve() may be the one that
    // found it.
    if (cache->ahead_path() != last_ahead) {
      last_ahead = cache->ahead_path();
      if (!last_ahead.empty()) {
        log->Write(ServiceRecord(
            core::Priority::kWarning,
            "policy file " + core::EscapeForLog(last_ahead) + " has a timestamp " +
                std::to_string(cache->ahead_ns() / 1000000000) +
                " s ahead of the clock (touch -d, or a clock set back); it is trusted until the clock gets "
                "there, then re-read once; touch it to set its time to now"));
      }
    }
    if (g_recheck != 0 && !stopping) {
      // There is nothing to reload on request: the stamps were compared
      // just now (Refresh above) and are compared again at every request.
      g_recheck = 0;
      log->Write(ServiceRecord(core::Priority::kInfo,
                               "SIGHUP: policy re-checked now: " + PolicyStatus(*cache) +
                                   "; no reload is needed: the policy is re-checked at every request"));
    }
    if (refreshed == PolicyCache::RefreshResult::kReloaded) {
      LogSnapshotNotUsed(*cache, log);
      const core::LoadedPolicy& r = cache->current();
      if (r.policy) {
        last_issue.clear();
        log->Write(ServiceRecord(core::Priority::kInfo,
                                 "policy " + cache->path() + " loaded: " + std::to_string(r.policy->rule_count()) +
                                     " rules from " + std::to_string(r.policy->files().size()) + " files"));
        (void)sd_notify(0, ("STATUS=" + PolicyStatus(*cache)).c_str());
      } else {
        std::string issue = r.issues.empty() ? "no policy" : r.issues.front().ToString();
        if (issue != last_issue) {
          log->Write(ServiceRecord(core::Priority::kErr,
                                   "policy " + cache->path() + " is unusable, every login is denied: " +
                                       core::EscapeForLog(issue) + "; fix it and check with principals-cmd --check"));
          last_issue = std::move(issue);
          (void)sd_notify(0, ("STATUS=" + PolicyStatus(*cache)).c_str());
        }
      }
    }
    // Deadlines: a worker whose request outlived it is killed (its client
    // has denied by then); the next wake-up is the nearest deadline.
    const int64_t now = NowMs();
    int64_t next_wake = now + 1000;
    size_t idle_current = 0;
    for (auto& [pid, w] : workers) {
      WorkerSlot& slot = shared->slots[w.slot];
      const int32_t state = slot.state.load(std::memory_order_acquire);
      if (state == kSlotIdle && w.generation == generation && !w.retiring) ++idle_current;
      if (state != kSlotBusy || w.killed) continue;
      const int64_t kill_at = slot.deadline_ms.load(std::memory_order_relaxed) + kKillGraceMs;
      if (now >= kill_at) {
        kill(pid, SIGKILL);
        w.killed = true;
        const int64_t overdue_ms = now - kill_at + kKillGraceMs;
        const std::string killed =
            "worker " + std::to_string(pid) + " killed " + std::to_string(overdue_ms) + " ms past";
        struct ucred peer {};
        peer.pid = slot.peer_pid.load(std::memory_order_relaxed);
        peer.uid = slot.peer_uid.load(std::memory_order_relaxed);
        const bool decided = slot.timeout_ms.load(std::memory_order_acquire) != 0;
        if (!decided && slot.request_read.load(std::memory_order_acquire) == 0) {
          // Still reading the request: no decision was made (the worker
          // gives up by itself at the deadline unless it is stuck).
          log->Write(RequestTimeoutRecord(peer, std::nullopt, "; " + killed + " that deadline"));
          continue;
        }
        if (!decided) {
          // Read, but answered without a decision (a usage error, or
          // declined): stuck sending it or logging it.
          core::LogRecord rec = ServiceRecord(
              core::Priority::kErr, "a request of " + ClientName(peer) +
                                        " answered without a decision (a usage error, or declined) was not "
                                        "answered within " + std::to_string(kRequestReadTimeoutSec) + "s (" +
                                        killed + " it; a stalled journal or client?); the client denies");
          rec.fields.emplace_back("CERTGATE_REASON", "answer-timeout");
          log->Write(rec);
          continue;
        }
        core::LogRecord rec = ServiceRecord(core::Priority::kErr, OverdueMessage(slot, overdue_ms, pid));
        rec.fields[0].second = core::HelperName(slot.kind.load() == kKindKeys ? core::HelperKind::kKeys
                                                                             : core::HelperKind::kPrincipals);
        rec.fields.emplace_back("CERTGATE_DECISION", "deny");
        rec.fields.emplace_back("CERTGATE_REASON", "timeout");
        log->Write(rec);
      } else {
        next_wake = std::min(next_wake, kill_at);
      }
    }
    // Retire idle workers beyond kMaxIdleWorkers (after a burst; a worker
    // also exits by itself when it finds enough others idle).
    for (auto it = workers.begin(); idle_current > kMaxIdleWorkers && it != workers.end(); ++it) {
      Worker& w = it->second;
      if (w.retiring || w.generation != generation ||
          shared->slots[w.slot].state.load(std::memory_order_acquire) != kSlotIdle) {
        continue;
      }
      kill(it->first, SIGTERM);
      w.retiring = true;
      --idle_current;
    }
    // Fork workers until kMinIdleWorkers of the current policy wait. A fork
    // copies the service's page tables (milliseconds at 100,000 rules); it
    // happens at start-up, after a reload, and when the idle ones run low.
    while (!stopping && idle_current < kMinIdleWorkers && workers.size() < max_children) {
      size_t index = 0;
      while (index < kMaxWorkers && shared->slots[index].state.load() != kSlotFree) ++index;
      if (index >= kMaxWorkers) break;
      WorkerSlot& slot = shared->slots[index];
      slot.state.store(kSlotIdle, std::memory_order_release);  // counted as idle from now on
      if (index >= shared->slot_count.load()) shared->slot_count.store(static_cast<uint32_t>(index + 1));
      pid_t pid = fork();
      if (pid == 0) {
        wake_read.Reset();
        RunWorker(listen_fd, wake_write.get(), self, shared, &slot, cache, clients, log);
      }
      if (pid < 0) {
        slot.state.store(kSlotFree, std::memory_order_release);
        log->Write(ServiceRecord(core::Priority::kErr, std::string("fork failed: ") + std::strerror(errno) +
                                                           "; retrying (clients wait, then decide in-process or deny)"));
        break;
      }
      workers.emplace(pid, Worker{index, generation});
      ++idle_current;
    }
    if (ping_every_ms != 0) {
      if (NowMs() - last_ping_ms >= ping_every_ms) {
        (void)sd_notify(0, "WATCHDOG=1");
        last_ping_ms = NowMs();
      }
      next_wake = std::min(next_wake, last_ping_ms + ping_every_ms);
    }
    struct pollfd p {wake_read.get(), POLLIN, 0};
    // Wake for a worker asking for more workers, a worker's exit
    // (SIGCHLD), SIGUSR1, the nearest deadline or watchdog ping, or every
    // second to re-validate the policy.
    (void)poll(&p, 1, static_cast<int>(std::clamp<int64_t>(next_wake - NowMs(), 1, 1000)));
  }
}

}  // namespace certgate::decide
