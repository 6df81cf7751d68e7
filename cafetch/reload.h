// Making a running sshd read a changed sshd_config: systemd's ReloadUnit
// over D-Bus, else SIGHUP to the pid in sshd's PidFile. Only ever called
// after `sshd -t` passed on the installed files (SIGHUP with a bad config
// kills sshd).
#ifndef CERTGATE_CAFETCH_RELOAD_H_
#define CERTGATE_CAFETCH_RELOAD_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "cafetch/config.h"
#include "core/result.h"

namespace certgate::cafetch {

// kBusAddressEnv names the environment variable that points cafetch at a
// D-Bus other than the system bus (tests run a private dbus-daemon with a
// stand-in systemd Manager). Documented in cafetch(8).
inline constexpr char kBusAddressEnv[] = "CERTGATE_SYSTEMD_BUS_ADDRESS";

// kSshdUnits are the unit names tried, in order: Debian/Ubuntu's ssh.service
// (aliased sshd.service when enabled), then RHEL/Fedora's sshd.service.
inline const std::vector<std::string> kSshdUnits = {"ssh.service", "sshd.service"};

// ReloadRequest is what ReloadSshd needs.
struct ReloadRequest {
  ReloadMode mode = ReloadMode::kAuto;
  // sshd_binary: the configured sshd; a pid is signalled only if its
  // /proc/PID/exe is this file (a stale PidFile must not hit another process).
  std::string sshd_binary = "/usr/sbin/sshd";
  // pid_file: sshd's effective PidFile (`sshd -T` pidfile).
  std::string pid_file = "/run/sshd.pid";
  // bus_address: D-Bus address to use instead of the system bus ("" = system).
  std::string bus_address;
  // systemd_running: whether to try systemd in auto mode (normally: the
  // directory /run/systemd/system exists, or bus_address is set).
  bool systemd_running = false;
};

// ReloadHow says what ReloadSshd did.
enum class ReloadHow {
  kSystemd,      // ReloadUnit queued for |unit|
  kInactive,     // |unit| is loaded but not active: left alone
  kSignal,       // SIGHUP sent to |pid|
  kNotRunning,   // no unit and no sshd behind the PidFile: nothing to reload
  kDisabled,     // sshd.reload: none
};

// ReloadOutcome is the result of a successful ReloadSshd.
struct ReloadOutcome {
  ReloadHow how = ReloadHow::kDisabled;
  std::string unit;
  pid_t pid = 0;
  // Describe returns a short phrase for logs, e.g. "reloaded ssh.service".
  std::string Describe() const;
};

// ReloadSshd reloads sshd per |request.mode|: systemd asks the Manager for
// GetUnit of each of kSshdUnits, skips one whose LoadState is not
// "loaded", and calls ReloadUnit(unit, "replace") on the first loaded one
// whose ActiveState is "active" or "reloading"; when no loaded unit is,
// the first loaded one is left alone (kInactive: inactive, failed,
// activating or deactivating); signal sends SIGHUP to the pid in pid_file; auto tries
// systemd when it runs and falls back to the signal when neither unit is
// loaded. Errors: kIo (bus, D-Bus call, kill, unreadable PidFile), kBadFormat
// (PidFile contents, or its pid is not |sshd_binary|); in systemd mode, no
// loaded unit is kIo.
core::Result<ReloadOutcome> ReloadSshd(const ReloadRequest& request);

// ReadPidFile returns the pid in |path| (decimal, optional '\n', > 1), 0 if
// the file does not exist, kBadFormat or kIo otherwise.
core::Result<pid_t> ReadPidFile(const std::string& path);

// SignalSshd sends SIGHUP to the pid in |pid_file| if that process runs
// |sshd_binary|, then waits (up to 10 s) until it listens again on fresh
// sockets, so a login right after cafetch returns is not refused. Returns
// the pid, 0 when there is no PidFile or no such process (sshd not
// running), or an error as ReloadSshd; kIo also when sshd exits after the
// SIGHUP or does not listen again.
core::Result<pid_t> SignalSshd(const std::string& pid_file, const std::string& sshd_binary);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_RELOAD_H_
