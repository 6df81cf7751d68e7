// cafetch --daemon: a round every interval ± jitter, exponential backoff
// with jitter after failures (never faster than every 30 s), systemd
// Type=notify readiness, status and watchdog, SIGHUP to re-read the
// configuration, SIGTERM/SIGINT to stop between rounds.
#ifndef CERTGATE_CAFETCH_DAEMON_H_
#define CERTGATE_CAFETCH_DAEMON_H_

#include <cstdint>
#include <string>

#include "cafetch/config.h"
#include "core/log.h"

namespace certgate::cafetch {

// kBackoffFloorSeconds is the shortest wait after a failed round.
inline constexpr uint64_t kBackoffFloorSeconds = 30;

// NextDelaySeconds returns how long to wait before the next round. After a
// success (|failures| == 0): interval - jitter + |random| % (2 * jitter + 1),
// at least kMinIntervalSeconds. After |failures| consecutive failures:
// b = min(interval, kBackoffFloorSeconds * 2^(failures - 1)), then
// b + |random| % (b / 2 + 1): never under kBackoffFloorSeconds and never
// much slower than the regular interval.
uint64_t NextDelaySeconds(const Config& config, unsigned failures, uint64_t random);

// DaemonOptions configures RunDaemon.
struct DaemonOptions {
  std::string config_path;
  ConfigLoadOptions load_options;
  std::string bus_address;      // see RunOptions
  bool systemd_running = false;
  // start_errors_to_stderr: a configuration that cannot be loaded at start
  // is also said on stderr (cafetch/main.cc: unless --verbose copies every
  // record there or stderr is the journal, which already has the record).
  bool start_errors_to_stderr = false;
};

// RunDaemon loads the configuration, tells systemd READY=1 and loops until
// SIGTERM or SIGINT. Returns the process exit code: 0 after a clean stop,
// 1 if the configuration could not be loaded at start (a bad configuration
// on SIGHUP is logged and the old one kept).
int RunDaemon(const DaemonOptions& options, core::LogSink* log);

// ReloadingNotification returns the sd_notify text sent on SIGHUP:
// "RELOADING=1" with "MONOTONIC_USEC=" |monotonic_usec| (CLOCK_MONOTONIC
// in microseconds), which systemd 253+ expects for Type=notify-reload.
std::string ReloadingNotification(uint64_t monotonic_usec);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_DAEMON_H_
