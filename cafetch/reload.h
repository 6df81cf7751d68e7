// Making a running sshd read a changed sshd_config: systemd's ReloadUnit
// over D-Bus, else SIGHUP to the pid in sshd's PidFile. Only ever called
// after `sshd -t` passed on the installed files (SIGHUP with a bad config
// kills sshd).
#ifndef CERTGATE_CAFETCH_RELOAD_H_
#define CERTGATE_CAFETCH_RELOAD_H_

#include <sys/types.h>

#include <functional>
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
  // before_send, if set, is called once just before the first request that
  // may make sshd read its configuration (ReloadUnit, SIGHUP); a reload
  // that fails before that (no bus, no loaded unit, a PidFile that cannot
  // be read or names a process that is not sshd) never calls it, so the
  // caller knows sshd still runs what it ran.
  std::function<void()> before_send;
};

// ReloadHow says what ReloadSshd did.
enum class ReloadHow {
  kSystemd,      // ReloadUnit queued for |unit|
  kInactive,     // |unit| is loaded but not active: left alone
  kSignal,       // SIGHUP sent to |pid|
  kNotRunning,   // no unit and no sshd behind the PidFile: nothing to reload
  kDisabled,     // sshd.reload: none
};

// ReloadWarning is something a successful ReloadSshd did otherwise than
// asked, for the log: its CERTGATE_EVENT and its message.
struct ReloadWarning {
  std::string event;
  std::string message;
};

// ReloadOutcome is the result of a successful ReloadSshd.
struct ReloadOutcome {
  ReloadHow how = ReloadHow::kDisabled;
  std::string unit;
  pid_t pid = 0;
  // warnings: "reload_fallback" (auto could not reach D-Bus and used the
  // signal) and "stale_pidfile" (the PidFile's pid runs another program).
  std::vector<ReloadWarning> warnings;
  // Describe returns a short phrase for logs, e.g. "reloaded ssh.service".
  std::string Describe() const;
};

// ReloadSshd reloads sshd per |request.mode|: systemd asks the Manager for
// GetUnit of each of kSshdUnits, skips one whose LoadState is not
// "loaded", and calls ReloadUnit(unit, "replace") on the first loaded one
// whose ActiveState is "active" or "reloading"; when no loaded unit is,
// the first loaded one is left alone (kInactive: inactive, failed,
// activating or deactivating); signal is SignalSshd; auto tries systemd
// when it runs and falls back to the signal when neither unit is loaded or
// the bus cannot be connected to (a "reload_fallback" warning: the units'
// ExecReload is that same SIGHUP). Errors: kIo (D-Bus call, kill,
// unreadable PidFile), kBadFormat (PidFile contents, or its pid runs
// another sshd than |sshd_binary|); in systemd mode, no bus or no loaded
// unit is kIo.
core::Result<ReloadOutcome> ReloadSshd(const ReloadRequest& request);

// ReadPidFile returns the pid in |path| (decimal, optional '\n', > 1), 0 if
// the file does not exist, kBadFormat or kIo otherwise.
core::Result<pid_t> ReadPidFile(const std::string& path);

// SignalSshd sends SIGHUP to the pid in |pid_file| if that process runs
// |sshd_binary| (calling |before_send| first, if set), then waits (up to
// 10 s) until it listens again on fresh sockets, so a login right after
// cafetch returns is not refused. Returns kSignal with the pid, or
// kNotRunning when there is no PidFile or it is stale: no such process, or
// one that runs a program not named like |sshd_binary| (its pid was reused
// after sshd stopped: never signalled, and a "stale_pidfile" warning names
// it). Errors as ReloadSshd: a process that runs an sshd other than
// |sshd_binary| is kBadFormat; kIo also when sshd exits after the SIGHUP
// or does not listen again.
core::Result<ReloadOutcome> SignalSshd(const std::string& pid_file, const std::string& sshd_binary,
                                       const std::function<void()>& before_send = nullptr);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_RELOAD_H_
