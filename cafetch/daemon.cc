#include "cafetch/daemon.h"

#include <signal.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "cafetch/agent.h"
#include "core/duration.h"

namespace certgate::cafetch {
namespace {

using core::Priority;

void Log(core::LogSink* log, Priority priority, const std::string& event, const std::string& message) {
  core::LogRecord record;
  record.priority = priority;
  record.message = message;
  record.fields.emplace_back("CERTGATE_EVENT", event);
  log->Write(record);
}

void Notify(const std::string& text) { (void)sd_notify(0, text.c_str()); }

// Load loads the configuration, or logs (and, if |to_stderr|, says on
// stderr) each of its problems.
std::optional<Config> Load(const DaemonOptions& options, core::LogSink* log, bool to_stderr = false) {
  ConfigLoadResult loaded = LoadConfig(options.config_path, options.load_options);
  if (!loaded.config) {
    ReportConfigIssues(loaded.issues, log, to_stderr);
    return std::nullopt;
  }
  return loaded.config;
}

// RoundPinger keeps sending WATCHDOG=1 while a round runs, but only up to a
// bound on how long a healthy round can take (issuer timeout twice, for
// the answer and its signature, plus the sshd checks); a round stuck past
// it stops the pings and lets systemd's watchdog restart cafetch.
class RoundPinger {
 public:
  RoundPinger(uint64_t period_ms, uint64_t bound_ms) {
    if (period_ms == 0) return;
    thread_ = std::thread([this, period_ms, bound_ms] {
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(bound_ms);
      std::unique_lock<std::mutex> lock(mu_);
      while (!done_ && std::chrono::steady_clock::now() < until) {
        Notify("WATCHDOG=1");
        cv_.wait_for(lock, std::chrono::milliseconds(period_ms), [this] { return done_; });
      }
    });
  }
  ~RoundPinger() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  RoundPinger(const RoundPinger&) = delete;
  RoundPinger& operator=(const RoundPinger&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

uint64_t NextDelaySeconds(const Config& config, unsigned failures, uint64_t random) {
  if (failures == 0) {
    uint64_t jitter = config.jitter_seconds <= config.interval_seconds ? config.jitter_seconds
                                                                        : config.interval_seconds;
    uint64_t delay = config.interval_seconds - jitter + random % (2 * jitter + 1);
    return delay < kMinIntervalSeconds ? kMinIntervalSeconds : delay;
  }
  uint64_t base = kBackoffFloorSeconds;
  for (unsigned i = 1; i < failures && base < config.interval_seconds; ++i) base *= 2;
  if (base > config.interval_seconds) base = config.interval_seconds;
  if (base < kBackoffFloorSeconds) base = kBackoffFloorSeconds;
  return base + random % (base / 2 + 1);
}

int RunDaemon(const DaemonOptions& options, core::LogSink* log) {
  // Signals are taken synchronously with sigtimedwait, so a round is never
  // interrupted half-way; children get default dispositions (RunChild).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0) {
    Log(log, Priority::kErr, "daemon", "cannot block signals");
    return 1;
  }
  std::optional<Config> config = Load(options, log, options.start_errors_to_stderr);
  if (!config) return 1;

  uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
  const uint64_t ping_ms = watchdog_usec / 2000;
  Notify("READY=1\nSTATUS=started");
  Log(log, Priority::kInfo, "daemon", "cafetch daemon started");

  std::random_device seed;
  std::mt19937_64 random(seed());
  unsigned failures = 0;
  for (;;) {
    RunOptions run;
    run.now = static_cast<int64_t>(time(nullptr));
    run.bus_address = options.bus_address;
    run.systemd_running = options.systemd_running;
    std::string status;
    {
      RoundPinger pinger(ping_ms, 2 * config->issuer.timeout_seconds * 1000 + 120000);
      core::Result<RunOutcome> outcome = RunOnce(*config, run, log);
      if (outcome) {
        failures = 0;
        status = outcome->Summary();
        Log(log, Priority::kInfo, "round", "round done: " + status);
      } else {
        ++failures;
        status = std::string("failed (") + core::ErrcName(outcome.error().code) + "): " +
                 outcome.error().detail;
        Log(log, Priority::kErr, "round",
            "round failed, " + FailureOutcome(outcome.error()) + ": " + outcome.error().detail);
      }
    }
    uint64_t delay = NextDelaySeconds(*config, failures, random());
    Notify("STATUS=" + status.substr(0, 200) + "; next round in " + core::FormatDuration(delay));

    // Sleep, pinging the watchdog, until the delay passes or a signal comes.
    const auto round_end = std::chrono::steady_clock::now();
    const bool failed = failures > 0;
    auto wake = round_end + std::chrono::seconds(delay);
    bool rerun = false;
    while (!rerun) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          wake - std::chrono::steady_clock::now()).count();
      if (left <= 0) break;
      uint64_t wait_ms = static_cast<uint64_t>(left);
      if (ping_ms != 0 && ping_ms < wait_ms) wait_ms = ping_ms;
      if (ping_ms != 0) Notify("WATCHDOG=1");
      struct timespec ts;
      ts.tv_sec = static_cast<time_t>(wait_ms / 1000);
      ts.tv_nsec = static_cast<long>((wait_ms % 1000) * 1000000);
      int sig = sigtimedwait(&signals, nullptr, &ts);
      if (sig < 0) continue;  // timeout or EINTR
      if (sig == SIGTERM || sig == SIGINT) {
        Notify("STOPPING=1");
        Log(log, Priority::kInfo, "daemon", "cafetch daemon stopping");
        return 0;
      }
      // SIGHUP: re-read the configuration at once; run a round at once
      // unless the last one failed.
      struct timespec mono {};
      clock_gettime(CLOCK_MONOTONIC, &mono);
      Notify(ReloadingNotification(static_cast<uint64_t>(mono.tv_sec) * 1000000u +
                                   static_cast<uint64_t>(mono.tv_nsec) / 1000u));
      std::optional<Config> fresh = Load(options, log);
      if (fresh) {
        config = std::move(fresh);
        failures = 0;
        Log(log, Priority::kInfo, "config", "configuration re-read");
      } else {
        Log(log, Priority::kErr, "config", "configuration not re-read: keeping the old one");
      }
      Notify("READY=1");
      if (!failed) {
        rerun = true;
      } else {
        // After a failed round the next one is never sooner than 30 s
        // (the backoff floor), SIGHUP or not: the new configuration is
        // used from then on.
        wake = std::min(wake, round_end + std::chrono::seconds(kBackoffFloorSeconds));
      }
    }
  }
}

std::string ReloadingNotification(uint64_t monotonic_usec) {
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec);
}

}  // namespace certgate::cafetch
