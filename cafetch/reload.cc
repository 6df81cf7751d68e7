#include "cafetch/reload.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <system_error>

#include "cafetch/atomic_file.h"
#include "core/log.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;

constexpr char kDest[] = "org.freedesktop.systemd1";
constexpr char kPath[] = "/org/freedesktop/systemd1";
constexpr char kManager[] = "org.freedesktop.systemd1.Manager";
constexpr char kUnitInterface[] = "org.freedesktop.systemd1.Unit";

struct BusUnref {
  void operator()(sd_bus* bus) const { sd_bus_flush_close_unref(bus); }
};
using BusPtr = std::unique_ptr<sd_bus, BusUnref>;
struct MessageUnref {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;

// BusError owns an sd_bus_error.
class BusError {
 public:
  BusError() = default;
  ~BusError() { sd_bus_error_free(&error_); }
  BusError(const BusError&) = delete;
  BusError& operator=(const BusError&) = delete;
  sd_bus_error* get() { return &error_; }
  bool Is(const char* name) const { return sd_bus_error_has_name(&error_, name) != 0; }
  std::string Text(int r) const {
    if (error_.message != nullptr) return error_.message;
    return std::strerror(-r);
  }

 private:
  sd_bus_error error_{nullptr, nullptr, 0};  // SD_BUS_ERROR_NULL is a C compound literal
};

// OpenBus connects to the system bus, or to |address| when it is not "".
// Fails with kIo saying which bus and why.
core::Result<BusPtr> OpenBus(const std::string& address) {
  sd_bus* raw = nullptr;
  if (address.empty()) {
    int r = sd_bus_open_system(&raw);
    if (r < 0) return Fail(Errc::kIo, "connect to the system bus: " + std::string(std::strerror(-r)));
    return BusPtr(raw);
  }
  int r = sd_bus_new(&raw);
  if (r < 0) return Fail(Errc::kInternal, "sd_bus_new: " + std::string(std::strerror(-r)));
  BusPtr bus(raw);
  if ((r = sd_bus_set_address(bus.get(), address.c_str())) < 0 ||
      (r = sd_bus_set_bus_client(bus.get(), 1)) < 0 || (r = sd_bus_start(bus.get())) < 0) {
    return Fail(Errc::kIo, "connect to D-Bus " + address + ": " + std::strerror(-r));
  }
  return bus;
}

// UnitPath returns the object path of |unit| if systemd has it loaded, ""
// if not (NoSuchUnit).
core::Result<std::string> UnitPath(sd_bus* bus, const std::string& unit) {
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = sd_bus_call_method(bus, kDest, kPath, kManager, "GetUnit", error.get(), &raw, "s",
                             unit.c_str());
  MessagePtr reply(raw);
  if (r < 0) {
    if (error.Is("org.freedesktop.systemd1.NoSuchUnit")) return std::string();
    return Fail(Errc::kIo, "GetUnit " + unit + ": " + error.Text(r));
  }
  const char* path = nullptr;
  r = sd_bus_message_read(reply.get(), "o", &path);
  if (r < 0 || path == nullptr) return Fail(Errc::kIo, "GetUnit " + unit + ": bad reply");
  return std::string(path);
}

core::Result<std::string> UnitProperty(sd_bus* bus, const std::string& path, const char* name) {
  BusError error;
  char* raw = nullptr;
  int r = sd_bus_get_property_string(bus, kDest, path.c_str(), kUnitInterface, name,
                                     error.get(), &raw);
  if (r < 0) return Fail(Errc::kIo, std::string(name) + " of " + path + ": " + error.Text(r));
  std::string state(raw);
  free(raw);  // NOLINT: sd-bus hands out malloc'd strings
  return state;
}

core::Result<std::string> ReloadUnit(sd_bus* bus, const std::string& unit) {
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = sd_bus_call_method(bus, kDest, kPath, kManager, "ReloadUnit", error.get(), &raw, "ss",
                             unit.c_str(), "replace");
  MessagePtr reply(raw);
  if (r < 0) return Fail(Errc::kIo, "ReloadUnit " + unit + ": " + error.Text(r));
  const char* job = nullptr;
  if (sd_bus_message_read(reply.get(), "o", &job) < 0 || job == nullptr) return std::string();
  return std::string(job);
}

// ReloadViaSystemd reloads the first unit of kSshdUnits whose LoadState
// is "loaded" and whose ActiveState is "active" or "reloading"; a loaded
// unit in any other state (inactive, failed, activating, deactivating) is
// left alone (kInactive) when no unit is running; kNotRunning when none is
// loaded. |before_send| (may be empty) is called before ReloadUnit.
core::Result<ReloadOutcome> ReloadViaSystemd(sd_bus* bus, const std::function<void()>& before_send) {
  std::optional<ReloadOutcome> idle;
  for (const std::string& unit : kSshdUnits) {
    core::Result<std::string> path = UnitPath(bus, unit);
    if (!path) return core::Unexpected{path.error()};
    if (path->empty()) continue;
    core::Result<std::string> load = UnitProperty(bus, *path, "LoadState");
    if (!load) return core::Unexpected{load.error()};
    if (*load != "loaded") continue;  // e.g. not-found: referenced, not installed
    core::Result<std::string> state = UnitProperty(bus, *path, "ActiveState");
    if (!state) return core::Unexpected{state.error()};
    ReloadOutcome outcome;
    outcome.unit = unit;
    if (*state != "active" && *state != "reloading") {
      // Ubuntu's socket-activated ssh.service is inactive between
      // connections; ReloadUnit would fail, and each connection reads the
      // configuration anew anyway.
      outcome.how = ReloadHow::kInactive;
      if (!idle) idle = outcome;
      continue;
    }
    if (before_send) before_send();
    core::Result<std::string> job = ReloadUnit(bus, unit);
    if (!job) return core::Unexpected{job.error()};
    outcome.how = ReloadHow::kSystemd;
    return outcome;
  }
  if (idle) return *idle;
  ReloadOutcome none;
  none.how = ReloadHow::kNotRunning;
  return none;
}

// ListeningSockets returns the inodes of the TCP sockets |pid| listens on
// (its fds that are sockets, matched against the LISTEN entries of
// /proc/PID/net/tcp and tcp6, the tables of its network namespace), or an
// empty set if they cannot be read.
std::set<uint64_t> ListeningSockets(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::set<uint64_t> listening;
  for (const char* table : {"/net/tcp", "/net/tcp6"}) {
    core::Result<std::optional<std::string>> text = ReadWholeFile(proc + table, 1 << 22);
    if (!text || !text->has_value()) continue;
    std::string_view rest = **text;
    rest.remove_prefix(std::min(rest.size(), rest.find('\n') + 1));  // header
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
      std::vector<std::string_view> fields;
      while (!line.empty() && fields.size() < 10) {
        size_t b = line.find_first_not_of(' ');
        if (b == std::string_view::npos) break;
        line.remove_prefix(b);
        size_t e = line.find(' ');
        fields.push_back(line.substr(0, e));
        line.remove_prefix(e == std::string_view::npos ? line.size() : e);
      }
      if (fields.size() < 10 || fields[3] != "0A") continue;  // 0A: TCP_LISTEN
      uint64_t inode = 0;
      auto r = std::from_chars(fields[9].data(), fields[9].data() + fields[9].size(), inode);
      if (r.ec == std::errc() && inode != 0) listening.insert(inode);
    }
  }
  std::set<uint64_t> mine;
  const std::string fd_dir = proc + "/fd";
  DIR* dir = opendir(fd_dir.c_str());
  if (dir == nullptr) return mine;
  while (struct dirent* e = readdir(dir)) {
    char target[64];
    const std::string link = fd_dir + "/" + e->d_name;
    ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    std::string_view t(target, static_cast<size_t>(n));
    if (t.substr(0, 8) != "socket:[" || t.back() != ']') continue;
    uint64_t inode = 0;
    auto r = std::from_chars(t.data() + 8, t.data() + t.size() - 1, inode);
    if (r.ec == std::errc() && listening.count(inode) != 0) mine.insert(inode);
  }
  closedir(dir);
  return mine;
}

// Exited returns true if |pid| is gone or a zombie.
bool Exited(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  core::Result<std::optional<std::string>> stat =
      ReadWholeFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat || !stat->has_value()) return false;
  // pid (comm) state ...: comm may hold anything, so look after the last ')'.
  size_t paren = (*stat)->rfind(')');
  return paren != std::string::npos && paren + 2 < (*stat)->size() && (**stat)[paren + 2] == 'Z';
}

// WaitUntilListeningAgain waits, up to kRestartWaitMs, for sshd |pid| to
// listen again after SIGHUP: it closes its listening sockets, re-executes
// itself and opens new ones (connections in between are refused). |before|
// are the sockets it had; none (not readable, or not listening on TCP
// itself) means there is nothing to wait for. Fails with kIo if the process
// exits (sshd refused its configuration after all) or does not come back.
core::Status WaitUntilListeningAgain(pid_t pid, const std::set<uint64_t>& before) {
  if (before.empty()) return core::Ok();
  constexpr int kRestartWaitMs = 10000;
  constexpr int kPollMs = 10;
  for (int waited = 0; waited <= kRestartWaitMs; waited += kPollMs) {
    if (Exited(pid)) {
      return Fail(Errc::kIo, "sshd (pid " + std::to_string(pid) +
                                 ") exited after SIGHUP: see its log; start it again");
    }
    std::set<uint64_t> now = ListeningSockets(pid);
    bool fresh = !now.empty();
    for (uint64_t inode : now) fresh = fresh && before.count(inode) == 0;
    if (fresh) return core::Ok();
    struct timespec ts = {0, kPollMs * 1000000L};
    nanosleep(&ts, nullptr);
  }
  return Fail(Errc::kIo, "sshd (pid " + std::to_string(pid) + ") did not listen again within " +
                             std::to_string(kRestartWaitMs / 1000) +
                             " s of SIGHUP: see its log");
}

}  // namespace

std::string ReloadOutcome::Describe() const {
  switch (how) {
    case ReloadHow::kSystemd: return "reloaded " + unit;
    case ReloadHow::kInactive: return unit + " is not active: not reloaded";
    case ReloadHow::kSignal: return "sent SIGHUP to sshd (pid " + std::to_string(pid) + ")";
    case ReloadHow::kNotRunning: return "sshd is not running: nothing to reload";
    case ReloadHow::kDisabled: return "reload disabled (sshd.reload: none)";
  }
  return "";
}

core::Result<pid_t> ReadPidFile(const std::string& path) {
  core::Result<std::optional<std::string>> text = ReadWholeFile(path, 64);
  if (!text) return Fail(text.error().code, "PidFile " + path + ": " + text.error().detail);
  if (!text->has_value()) return pid_t{0};
  std::string_view s = **text;
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  pid_t pid = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), pid);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || pid <= 1) {
    return Fail(Errc::kBadFormat, "PidFile " + path + " does not hold a pid");
  }
  return pid;
}

core::Result<ReloadOutcome> SignalSshd(const std::string& pid_file, const std::string& sshd_binary,
                                       const std::function<void()>& before_send) {
  ReloadOutcome outcome;
  outcome.how = ReloadHow::kNotRunning;
  core::Result<pid_t> pid = ReadPidFile(pid_file);
  if (!pid) return core::Unexpected{pid.error()};
  if (*pid == 0) return outcome;
  char exe[PATH_MAX];
  const std::string proc = "/proc/" + std::to_string(*pid) + "/exe";
  ssize_t n = readlink(proc.c_str(), exe, sizeof exe - 1);
  if (n < 0) {
    if (errno == ENOENT) return outcome;  // stale PidFile: sshd is not running
    if (errno == EACCES || errno == EPERM) {
      // Root with fewer capabilities than sshd (a unit's
      // CapabilityBoundingSet=) may not read another root process's exe.
      return Fail(Errc::kIo, "readlink " + proc + ": " + std::strerror(errno) +
                                 "; cafetch needs CAP_SYS_PTRACE to tell that pid " + std::to_string(*pid) +
                                 " is sshd: add it to the unit's CapabilityBoundingSet=, or set "
                                 "sshd.reload: systemd if systemd runs sshd");
    }
    return Fail(Errc::kIo, "readlink " + proc + ": " + std::strerror(errno));
  }
  std::string running(exe, static_cast<size_t>(n));
  // An upgrade that replaced the binary leaves the old inode " (deleted)".
  static constexpr std::string_view kDeleted = " (deleted)";
  if (running.size() > kDeleted.size() &&
      running.compare(running.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
    running.resize(running.size() - kDeleted.size());
  }
  char resolved[PATH_MAX];
  std::string wanted = realpath(sshd_binary.c_str(), resolved) != nullptr ? resolved : sshd_binary;
  if (running != wanted) {
    auto base_name = [](const std::string& path) { return path.substr(path.rfind('/') + 1); };
    if (base_name(running) == base_name(wanted) || base_name(running) == "sshd") {
      // An sshd, but not the configured one (sshd.binary may be another
      // build, or a wrapper script): its PidFile is not stale, and cafetch
      // will not guess which sshd is meant.
      return Fail(Errc::kBadFormat, "PidFile " + pid_file + " names pid " + std::to_string(*pid) +
                                        ", which runs " + core::EscapeForLog(running) + ", not sshd.binary " +
                                        wanted + ": cafetch signals only that one; set sshd.binary to the sshd "
                                        "that runs, or set sshd.reload: none and reload sshd yourself");
    }
    // sshd stopped without removing its PidFile (a crash, a kill -9) and
    // its pid went to another program: the usual stale PidFile. That
    // process is never signalled.
    outcome.warnings.push_back(
        {"stale_pidfile", "PidFile " + pid_file + " is stale: its pid " + std::to_string(*pid) + " now runs " +
                              core::EscapeForLog(running) + ", not " + wanted +
                              "; that process was left alone, and sshd is not running: nothing to reload"});
    return outcome;
  }
  const std::set<uint64_t> listening = ListeningSockets(*pid);
  if (before_send) before_send();
  if (kill(*pid, SIGHUP) != 0) {
    if (errno == ESRCH) return outcome;
    return Fail(Errc::kIo, "kill -HUP " + std::to_string(*pid) + ": " + std::strerror(errno));
  }
  core::Status back = WaitUntilListeningAgain(*pid, listening);
  if (!back) return core::Unexpected{back.error()};
  outcome.how = ReloadHow::kSignal;
  outcome.pid = *pid;
  return outcome;
}

core::Result<ReloadOutcome> ReloadSshd(const ReloadRequest& request) {
  if (request.mode == ReloadMode::kNone) return ReloadOutcome{};
  std::vector<ReloadWarning> warnings;
  if (request.mode == ReloadMode::kSystemd ||
      (request.mode == ReloadMode::kAuto && request.systemd_running)) {
    core::Result<BusPtr> bus = OpenBus(request.bus_address);
    if (!bus && request.mode == ReloadMode::kSystemd) {
      return Fail(bus.error().code, bus.error().detail +
                                        "; set sshd.reload: signal (or none) if systemd does not run sshd");
    }
    if (!bus) {
      // Nothing was asked of systemd. What its units' ExecReload does is
      // the same SIGHUP to the same sshd, so auto sends it itself.
      warnings.push_back({"reload_fallback",
                          "cannot reach systemd to reload sshd (" + bus.error().detail +
                              "): sending SIGHUP to the pid in sshd's PidFile instead, which is what the "
                              "ExecReload of ssh.service and sshd.service does; set sshd.reload: signal to skip "
                              "D-Bus, or systemd to make this an error"});
    } else {
      core::Result<ReloadOutcome> via = ReloadViaSystemd(bus->get(), request.before_send);
      if (!via) return via;
      if (via->how != ReloadHow::kNotRunning) return via;
      if (request.mode == ReloadMode::kSystemd) {
        return Fail(Errc::kIo, "systemd has neither ssh.service nor sshd.service loaded; "
                               "set sshd.reload: signal (or none) if systemd does not run sshd");
      }
    }
  }
  core::Result<ReloadOutcome> signalled = SignalSshd(request.pid_file, request.sshd_binary, request.before_send);
  if (!signalled) return signalled;
  warnings.insert(warnings.end(), signalled->warnings.begin(), signalled->warnings.end());
  signalled->warnings = std::move(warnings);
  return signalled;
}

}  // namespace certgate::cafetch
