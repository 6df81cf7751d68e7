#include "cafetch/reload.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::kSshd;
using ::certgate::testing::SshdUsable;
using ::certgate::testing::MakeKey;
using ::certgate::testing::TempDir;
using ::certgate::testing::FreeLoopbackPort;
using ::certgate::testing::WriteFile;

// Background is a child process killed (SIGTERM) and reaped when destroyed.
class Background {
 public:
  // Starts |argv|; with |out_fd| set, the child's stdout is a pipe whose
  // read end is stored there.
  explicit Background(const std::vector<std::string>& argv, int* out_fd = nullptr) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    int fds[2] = {-1, -1};
    if (out_fd != nullptr) {
      EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
      posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    if (out_fd != nullptr) {
      close(fds[1]);
      *out_fd = fds[0];
    }
  }
  ~Background() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status;
      waitpid(pid_, &status, 0);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Banner connects to 127.0.0.1:|port| and returns sshd's first line, or ""
// if nothing accepts within |attempts| tries about 20 ms apart.
std::string Banner(uint16_t port, int attempts = 100) {
  for (int attempt = 0; attempt < attempts; ++attempt) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      std::string line;
      char c;
      while (line.size() < 256 && read(s, &c, 1) == 1 && c != '\n') line.push_back(c);
      close(s);
      if (!line.empty()) return line;
    } else {
      close(s);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "";
}

TEST(ReloadTest, ReadPidFile) {
  TempDir dir;
  auto missing = ReadPidFile(dir.Path("none"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, 0);
  WriteFile(dir.Path("ok"), "1234\n");
  auto ok = ReadPidFile(dir.Path("ok"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 1234);
  for (const char* bad : {"", "\n", "abc\n", "12 34\n", "-5\n", "1\n", "0\n", "99999999999999\n"}) {
    WriteFile(dir.Path("bad"), bad);
    auto r = ReadPidFile(dir.Path("bad"));
    EXPECT_FALSE(r) << bad;
  }
}

// Exe returns what /proc/PID/exe names for |pid|.
std::string Exe(pid_t pid) {
  char exe[PATH_MAX] = {};
  ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), exe, sizeof exe - 1);
  return n > 0 ? std::string(exe, static_cast<size_t>(n)) : "";
}

// The audit's case: sshd died without removing its PidFile and its pid now
// runs another program. That is the usual stale PidFile: sshd is not
// running, nothing to reload, and the other process is never signalled.
TEST(ReloadTest, APidFileWhosePidRunsAnotherProgramIsStale) {
  TempDir dir;
  Background sleeper({"/bin/sleep", "30"});  // posix_spawn returns once it has exec'd
  const std::string sleep_exe = Exe(sleeper.pid());
  ASSERT_NE(sleep_exe.find("sleep"), std::string::npos) << sleep_exe;
  WriteFile(dir.Path("pid"), std::to_string(sleeper.pid()) + "\n");
  int sent = 0;
  auto r = SignalSshd(dir.Path("pid"), kSshd, [&sent] { ++sent; });
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->how, ReloadHow::kNotRunning);
  EXPECT_EQ(r->Describe(), "sshd is not running: nothing to reload");
  EXPECT_EQ(sent, 0);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0].event, "stale_pidfile");
  char resolved[PATH_MAX];
  ASSERT_NE(realpath(kSshd, resolved), nullptr);
  EXPECT_EQ(r->warnings[0].message,
            "PidFile " + dir.Path("pid") + " is stale: its pid " + std::to_string(sleeper.pid()) + " now runs " +
                sleep_exe + ", not " + resolved +
                "; that process was left alone, and sshd is not running: nothing to reload");
  // The sleeper is still running (no SIGHUP reached it).
  EXPECT_EQ(waitpid(sleeper.pid(), nullptr, WNOHANG), 0);
  // The same through ReloadSshd, the warning passed on.
  ReloadRequest request;
  request.mode = ReloadMode::kSignal;
  request.pid_file = dir.Path("pid");
  auto reloaded = ReloadSshd(request);
  ASSERT_TRUE(reloaded) << reloaded.error().detail;
  EXPECT_EQ(reloaded->how, ReloadHow::kNotRunning);
  ASSERT_EQ(reloaded->warnings.size(), 1u);
  EXPECT_EQ(reloaded->warnings[0].event, "stale_pidfile");
  EXPECT_EQ(waitpid(sleeper.pid(), nullptr, WNOHANG), 0);
}

// A process that runs an sshd, but not sshd.binary, is not a stale PidFile:
// an error, and it is never signalled.
TEST(ReloadTest, NeverSignalsAnotherSshd) {
  TempDir dir;
  const std::string other = dir.Path("sshd");  // another program named sshd
  std::filesystem::copy_file("/bin/sleep", other);
  ASSERT_EQ(chmod(other.c_str(), 0755), 0);
  Background sleeper({other, "30"});
  ASSERT_EQ(Exe(sleeper.pid()), other);
  WriteFile(dir.Path("pid"), std::to_string(sleeper.pid()) + "\n");
  int sent = 0;
  auto r = SignalSshd(dir.Path("pid"), kSshd, [&sent] { ++sent; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Errc::kBadFormat);
  char resolved[PATH_MAX];
  ASSERT_NE(realpath(kSshd, resolved), nullptr);
  EXPECT_EQ(r.error().detail, "PidFile " + dir.Path("pid") + " names pid " + std::to_string(sleeper.pid()) +
                                  ", which runs " + other + ", not sshd.binary " + resolved +
                                  ": cafetch signals only that one; set sshd.binary to the sshd that runs, or set "
                                  "sshd.reload: none and reload sshd yourself");
  EXPECT_EQ(sent, 0);
  EXPECT_EQ(waitpid(sleeper.pid(), nullptr, WNOHANG), 0);
  // The audit's case: sshd.binary a wrapper script (as to fake -V), and an
  // sshd running: reported as "sshd is not running", and sshd kept running
  // the old configuration. Any program named sshd is an sshd.
  const std::string wrapper = dir.Path("sshd-wrapper");
  WriteFile(wrapper, "#!/bin/sh\nexec " + std::string(kSshd) + " \"$@\"\n", 0755);
  auto wrapped = SignalSshd(dir.Path("pid"), wrapper, [&sent] { ++sent; });
  ASSERT_FALSE(wrapped);
  EXPECT_EQ(wrapped.error().detail, "PidFile " + dir.Path("pid") + " names pid " + std::to_string(sleeper.pid()) +
                                        ", which runs " + other + ", not sshd.binary " + wrapper +
                                        ": cafetch signals only that one; set sshd.binary to the sshd that runs, "
                                        "or set sshd.reload: none and reload sshd yourself");
  EXPECT_EQ(sent, 0);
  EXPECT_EQ(waitpid(sleeper.pid(), nullptr, WNOHANG), 0);
}

TEST(ReloadTest, NoPidFileOrADeadPidIsNotRunning) {
  TempDir dir;
  // No PidFile, or a stale one: nothing to reload, not an error.
  ReloadRequest request;
  request.mode = ReloadMode::kSignal;
  request.pid_file = dir.Path("absent");
  auto none = ReloadSshd(request);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->how, ReloadHow::kNotRunning);
  EXPECT_TRUE(none->warnings.empty());
  request.pid_file = dir.Path("stale");
  pid_t gone = fork();
  ASSERT_GE(gone, 0);
  if (gone == 0) _exit(0);
  ASSERT_EQ(waitpid(gone, nullptr, 0), gone);
  WriteFile(request.pid_file, std::to_string(gone) + "\n");
  auto stale = ReloadSshd(request);
  ASSERT_TRUE(stale) << stale.error().detail;
  EXPECT_EQ(stale->how, ReloadHow::kNotRunning);
  request.mode = ReloadMode::kNone;
  auto disabled = ReloadSshd(request);
  ASSERT_TRUE(disabled);
  EXPECT_EQ(disabled->how, ReloadHow::kDisabled);
  // A PidFile that cannot be read is an error, before anything is sent.
  request.mode = ReloadMode::kSignal;
  WriteFile(request.pid_file, "not a pid\n");
  int sent = 0;
  request.before_send = [&sent] { ++sent; };
  EXPECT_FALSE(ReloadSshd(request));
  EXPECT_EQ(sent, 0);
}

// SshdConfig is a private sshd's configuration: loopback |port|, |host|
// key, its PidFile sshd.pid in |dir|.
std::string SshdConfig(const TempDir& dir, const std::string& host, uint16_t port) {
  return "ListenAddress 127.0.0.1\nPort " + std::to_string(port) + "\nHostKey " + host + "\nPidFile " +
         dir.Path("sshd.pid") + "\nUsePAM no\n";
}

// WaitForFile waits up to 2 s for |path| to exist (sshd writes its PidFile
// after it listens).
void WaitForFile(const std::string& path) {
  for (int i = 0; i < 100 && access(path.c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST(ReloadTest, SighupMakesARealSshdReadItsConfigAndKeepServing) {
  if (!SshdUsable()) GTEST_SKIP() << "needs root and " << kSshd;
  TempDir dir;
  const std::string host = MakeKey(dir, "host", "ed25519");
  const uint16_t port = FreeLoopbackPort();
  auto config = [&](const std::string& addendum) {
    return SshdConfig(dir, host, port) + "VersionAddendum " + addendum + "\n";
  };
  WriteFile(dir.Path("sshd_config"), config("before"));
  Background sshd({kSshd, "-D", "-E", dir.Path("sshd.log"), "-f", dir.Path("sshd_config")});
  std::string first = Banner(port);
  ASSERT_NE(first.find("before"), std::string::npos) << first;
  WaitForFile(dir.Path("sshd.pid"));

  WriteFile(dir.Path("sshd_config"), config("after"));
  ReloadRequest request;
  request.mode = ReloadMode::kAuto;  // no systemd here: falls back to SIGHUP
  request.pid_file = dir.Path("sshd.pid");
  request.sshd_binary = kSshd;
  int sent = 0;
  request.before_send = [&sent] { ++sent; };
  auto r = ReloadSshd(request);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->how, ReloadHow::kSignal);
  EXPECT_EQ(r->pid, sshd.pid());
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_EQ(sent, 1);
  // ReloadSshd returned only once sshd listened again with the new
  // configuration: the very next connection sees it.
  EXPECT_NE(Banner(port, 1).find("after"), std::string::npos);
  EXPECT_EQ(waitpid(sshd.pid(), nullptr, WNOHANG), 0);  // still running

  // The audit's case: auto, systemd said to run, but its bus cannot be
  // reached. The SIGHUP systemd's units would send is sent instead, and a
  // warning says why.
  WriteFile(dir.Path("sshd_config"), config("again"));
  request.systemd_running = true;
  request.bus_address = "unix:path=" + dir.Path("no-bus");
  auto fallback = ReloadSshd(request);
  ASSERT_TRUE(fallback) << fallback.error().detail;
  EXPECT_EQ(fallback->how, ReloadHow::kSignal);
  EXPECT_EQ(fallback->pid, sshd.pid());
  EXPECT_EQ(sent, 2);
  ASSERT_EQ(fallback->warnings.size(), 1u);
  EXPECT_EQ(fallback->warnings[0].event, "reload_fallback");
  EXPECT_EQ(fallback->warnings[0].message,
            "cannot reach systemd to reload sshd (connect to D-Bus unix:path=" + dir.Path("no-bus") +
                ": No such file or directory): sending SIGHUP to the pid in sshd's PidFile instead, which is what "
                "the ExecReload of ssh.service and sshd.service does; set sshd.reload: signal to skip D-Bus, or "
                "systemd to make this an error");
  EXPECT_NE(Banner(port, 1).find("again"), std::string::npos);
  EXPECT_EQ(waitpid(sshd.pid(), nullptr, WNOHANG), 0);  // still running
}

TEST(ReloadTest, AnSshdThatDiesOnSighupIsReported) {
  if (!SshdUsable()) GTEST_SKIP() << "needs root and " << kSshd;
  TempDir dir;
  const std::string host = MakeKey(dir, "host", "ed25519");
  const uint16_t port = FreeLoopbackPort();
  WriteFile(dir.Path("sshd_config"), SshdConfig(dir, host, port));
  Background sshd({kSshd, "-D", "-E", dir.Path("sshd.log"), "-f", dir.Path("sshd_config")});
  ASSERT_NE(Banner(port), "");
  WaitForFile(dir.Path("sshd.pid"));
  // What cafetch never does (it checks with sshd -t first): a SIGHUP over a
  // configuration sshd refuses. The SIGHUP kills sshd, and that is an error.
  WriteFile(dir.Path("sshd_config"), "NoSuchKeyword yes\n");
  auto r = SignalSshd(dir.Path("sshd.pid"), kSshd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Errc::kIo);
  EXPECT_NE(r.error().detail.find("exited after SIGHUP"), std::string::npos) << r.error().detail;
}

TEST(ReloadTest, AnSshdWhoseBinaryWasUpgradedIsStillReloaded) {
  if (!SshdUsable()) GTEST_SKIP() << "needs root and " << kSshd;
  TempDir dir;
  // A package upgrade renames a new binary over the running one: the
  // running sshd's /proc/PID/exe then reads "PATH (deleted)".
  const std::string binary = dir.Path("sshd");
  std::filesystem::copy_file(kSshd, binary);
  const std::string host = MakeKey(dir, "host", "ed25519");
  const uint16_t port = FreeLoopbackPort();
  WriteFile(dir.Path("sshd_config"), SshdConfig(dir, host, port));
  Background sshd({binary, "-D", "-E", dir.Path("sshd.log"), "-f", dir.Path("sshd_config")});
  ASSERT_NE(Banner(port), "");
  WaitForFile(dir.Path("sshd.pid"));
  std::filesystem::copy_file(kSshd, binary + ".new");
  ASSERT_EQ(rename((binary + ".new").c_str(), binary.c_str()), 0);
  char exe[PATH_MAX] = {};
  ASSERT_GT(readlink(("/proc/" + std::to_string(sshd.pid()) + "/exe").c_str(), exe, sizeof exe - 1), 0);
  ASSERT_EQ(std::string(exe), binary + " (deleted)");
  auto r = SignalSshd(dir.Path("sshd.pid"), binary);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->how, ReloadHow::kSignal);
  EXPECT_EQ(r->pid, sshd.pid());
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_NE(Banner(port, 1), "");
  EXPECT_EQ(waitpid(sshd.pid(), nullptr, WNOHANG), 0);  // still running
}

// FakeSystemd stands in for systemd's Manager on a private bus: GetUnit,
// ReloadUnit and the Unit ActiveState property, recording every call.
struct FakeSystemd {
  std::mutex mu;
  std::vector<std::string> calls;
  std::map<std::string, std::string> active_state;  // known unit -> ActiveState
  std::map<std::string, std::string> load_state;    // known unit -> LoadState ("loaded" if absent)
  bool reload_error = false;                        // ReloadUnit answers with an error

  static std::string PathOf(const std::string& unit) {
    std::string p = "/org/freedesktop/systemd1/unit/";
    for (char c : unit) p += c == '.' ? std::string("_2e") : std::string(1, c);
    return p;
  }

  static int Handle(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* self = static_cast<FakeSystemd*>(userdata);
    std::lock_guard<std::mutex> lock(self->mu);
    if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "GetUnit")) {
      const char* name = nullptr;
      if (sd_bus_message_read(m, "s", &name) < 0) return -EINVAL;
      self->calls.push_back(std::string("GetUnit ") + name);
      if (self->active_state.count(name) == 0) {
        return sd_bus_reply_method_errorf(m, "org.freedesktop.systemd1.NoSuchUnit",
                                          "Unit %s not loaded.", name);
      }
      return sd_bus_reply_method_return(m, "o", PathOf(name).c_str());
    }
    if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "ReloadUnit")) {
      const char* name = nullptr;
      const char* mode = nullptr;
      if (sd_bus_message_read(m, "ss", &name, &mode) < 0) return -EINVAL;
      self->calls.push_back(std::string("ReloadUnit ") + name + " " + mode);
      if (self->reload_error) {
        return sd_bus_reply_method_errorf(m, "org.freedesktop.systemd1.JobTypeNotApplicable",
                                          "Job type reload is not applicable for unit %s.", name);
      }
      return sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/job/42");
    }
    if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Get")) {
      const char* iface = nullptr;
      const char* prop = nullptr;
      if (sd_bus_message_read(m, "ss", &iface, &prop) < 0) return -EINVAL;
      const std::string path = sd_bus_message_get_path(m);
      self->calls.push_back("Get " + path + " " + iface + "." + prop);
      for (const auto& [unit, state] : self->active_state) {
        if (PathOf(unit) != path) continue;
        std::string value = state;
        if (std::string(prop) == "LoadState") {
          value = self->load_state.count(unit) ? self->load_state[unit] : "loaded";
        }
        sd_bus_message* reply = nullptr;
        if (sd_bus_message_new_method_return(m, &reply) < 0) return -ENOMEM;
        int r = sd_bus_message_append(reply, "v", "s", value.c_str());
        if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
        sd_bus_message_unref(reply);
        return r < 0 ? r : 1;
      }
      return sd_bus_reply_method_errorf(m, "org.freedesktop.DBus.Error.UnknownObject", "no unit");
    }
    return 0;
  }
};

// PrivateBus runs dbus-daemon --session and a FakeSystemd on it.
class PrivateBus {
 public:
  PrivateBus() {
    int out = -1;
    daemon_ = std::make_unique<Background>(
        std::vector<std::string>{"/usr/bin/dbus-daemon", "--session", "--nofork", "--nopidfile",
                                 "--print-address=1"},
        &out);
    char buf[512];
    ssize_t n = read(out, buf, sizeof buf - 1);
    close(out);
    if (n <= 0) return;
    address_.assign(buf, static_cast<size_t>(n));
    while (!address_.empty() && address_.back() == '\n') address_.pop_back();

    sd_bus* bus = nullptr;
    if (sd_bus_new(&bus) < 0) return;
    if (sd_bus_set_address(bus, address_.c_str()) < 0 || sd_bus_set_bus_client(bus, 1) < 0 ||
        sd_bus_start(bus) < 0 || sd_bus_request_name(bus, "org.freedesktop.systemd1", 0) < 0 ||
        sd_bus_add_fallback(bus, nullptr, "/org/freedesktop/systemd1", &FakeSystemd::Handle,
                            &fake) < 0) {
      sd_bus_flush_close_unref(bus);
      return;
    }
    server_ = std::thread([this, bus] {
      while (!stop_) {
        int r = sd_bus_process(bus, nullptr);
        if (r > 0) continue;
        if (r < 0) break;
        sd_bus_wait(bus, 50000);
      }
      sd_bus_flush_close_unref(bus);
    });
    ready_ = true;
  }
  ~PrivateBus() {
    stop_ = true;
    if (server_.joinable()) server_.join();
  }
  bool ready() const { return ready_; }
  const std::string& address() const { return address_; }
  FakeSystemd fake;

 private:
  std::unique_ptr<Background> daemon_;
  std::string address_;
  std::thread server_;
  std::atomic<bool> stop_{false};
  bool ready_ = false;
};

std::vector<std::string> Calls(FakeSystemd* fake) {
  std::lock_guard<std::mutex> lock(fake->mu);
  return fake->calls;
}

// SetUnit makes the fake systemd know |unit| as |active| (and |load|).
void SetUnit(FakeSystemd* fake, const std::string& unit, const std::string& active,
             const std::string& load = "") {
  std::lock_guard<std::mutex> lock(fake->mu);
  fake->active_state[unit] = active;
  if (!load.empty()) fake->load_state[unit] = load;
}

// SystemdRequest is a reload request on |bus| with systemd running and no
// PidFile to fall back to.
ReloadRequest SystemdRequest(const PrivateBus& bus, ReloadMode mode) {
  ReloadRequest request;
  request.mode = mode;
  request.bus_address = bus.address();
  request.systemd_running = true;
  request.pid_file = "/nonexistent/pid";
  return request;
}

TEST(ReloadTest, SystemdReloadsTheLoadedActiveUnit) {
  if (access("/usr/bin/dbus-daemon", X_OK) != 0) GTEST_SKIP() << "no dbus-daemon";
  PrivateBus bus;
  ASSERT_TRUE(bus.ready());
  SetUnit(&bus.fake, "sshd.service", "active");  // RHEL naming: ssh.service not loaded
  auto r = ReloadSshd(SystemdRequest(bus, ReloadMode::kAuto));
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->how, ReloadHow::kSystemd);
  EXPECT_EQ(r->unit, "sshd.service");
  EXPECT_EQ(Calls(&bus.fake),
            (std::vector<std::string>{
                "GetUnit ssh.service", "GetUnit sshd.service",
                "Get /org/freedesktop/systemd1/unit/sshd_2eservice org.freedesktop.systemd1.Unit.LoadState",
                "Get /org/freedesktop/systemd1/unit/sshd_2eservice org.freedesktop.systemd1.Unit.ActiveState",
                "ReloadUnit sshd.service replace"}));
}

// ssh.service known but not-found (referenced only), sshd.service
// reloading: the loaded one is reloaded.
TEST(ReloadTest, SystemdSkipsAnUnloadedUnitAndReloadsAReloadingOne) {
  if (access("/usr/bin/dbus-daemon", X_OK) != 0) GTEST_SKIP() << "no dbus-daemon";
  PrivateBus bus;
  ASSERT_TRUE(bus.ready());
  SetUnit(&bus.fake, "ssh.service", "inactive", "not-found");
  SetUnit(&bus.fake, "sshd.service", "reloading");
  auto r = ReloadSshd(SystemdRequest(bus, ReloadMode::kAuto));
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->how, ReloadHow::kSystemd);
  EXPECT_EQ(r->unit, "sshd.service");
  auto calls = Calls(&bus.fake);
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), "ReloadUnit sshd.service replace");
}

TEST(ReloadTest, SystemdLeavesAnInactiveUnitAlone) {
  if (access("/usr/bin/dbus-daemon", X_OK) != 0) GTEST_SKIP() << "no dbus-daemon";
  PrivateBus bus;
  ASSERT_TRUE(bus.ready());
  SetUnit(&bus.fake, "ssh.service", "inactive");  // socket-activated Ubuntu
  auto r = ReloadSshd(SystemdRequest(bus, ReloadMode::kSystemd));
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->how, ReloadHow::kInactive);
  for (const std::string& call : Calls(&bus.fake)) {
    EXPECT_EQ(call.find("ReloadUnit"), std::string::npos) << call;
  }
}

TEST(ReloadTest, SystemdWithoutUnitFallsBackOrFails) {
  if (access("/usr/bin/dbus-daemon", X_OK) != 0) GTEST_SKIP() << "no dbus-daemon";
  PrivateBus bus;
  ASSERT_TRUE(bus.ready());
  ReloadRequest request = SystemdRequest(bus, ReloadMode::kSystemd);
  auto strict = ReloadSshd(request);
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().code, core::Errc::kIo);
  request.mode = ReloadMode::kAuto;  // falls back to the PidFile: none, so nothing to do
  auto fallback = ReloadSshd(request);
  ASSERT_TRUE(fallback) << fallback.error().detail;
  EXPECT_EQ(fallback->how, ReloadHow::kNotRunning);
  EXPECT_TRUE(fallback->warnings.empty());
}

// A bus that cannot be connected to: sshd.reload: systemd fails, before
// anything was sent; auto falls back to the signal, never silently.
TEST(ReloadTest, AnUnreachableBusFailsSystemdAndAutoFallsBackToTheSignal) {
  ReloadRequest request;
  request.mode = ReloadMode::kSystemd;
  request.bus_address = "unix:path=/nonexistent/bus";
  request.systemd_running = true;
  request.pid_file = "/nonexistent/pid";
  int sent = 0;
  request.before_send = [&sent] { ++sent; };
  auto strict = ReloadSshd(request);
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().code, core::Errc::kIo);
  EXPECT_EQ(strict.error().detail,
            "connect to D-Bus unix:path=/nonexistent/bus: No such file or directory; set sshd.reload: signal (or "
            "none) if systemd does not run sshd");
  EXPECT_EQ(sent, 0);
  request.mode = ReloadMode::kAuto;
  auto fallback = ReloadSshd(request);
  ASSERT_TRUE(fallback) << fallback.error().detail;
  EXPECT_EQ(fallback->how, ReloadHow::kNotRunning);  // no PidFile
  ASSERT_EQ(fallback->warnings.size(), 1u);
  EXPECT_EQ(fallback->warnings[0].event, "reload_fallback");
  EXPECT_EQ(fallback->warnings[0].message.rfind(
                "cannot reach systemd to reload sshd (connect to D-Bus unix:path=/nonexistent/bus: No such file or "
                "directory): sending SIGHUP",
                0),
            0u)
      << fallback->warnings[0].message;
  EXPECT_EQ(sent, 0);
  // A bad PidFile behind the fallback is still an error.
  TempDir dir;
  request.pid_file = dir.Path("pid");
  WriteFile(request.pid_file, "not a pid\n");
  EXPECT_FALSE(ReloadSshd(request));
  EXPECT_EQ(sent, 0);
}

// A ReloadUnit that fails was sent: before_send was called (the caller
// keeps its reload mark); a lookup that fails was not.
TEST(ReloadTest, BeforeSendIsCalledOnlyWhenAReloadIsAsked) {
  if (access("/usr/bin/dbus-daemon", X_OK) != 0) GTEST_SKIP() << "no dbus-daemon";
  PrivateBus bus;
  ASSERT_TRUE(bus.ready());
  SetUnit(&bus.fake, "ssh.service", "active");
  {
    std::lock_guard<std::mutex> lock(bus.fake.mu);
    bus.fake.reload_error = true;
  }
  ReloadRequest request = SystemdRequest(bus, ReloadMode::kSystemd);
  int sent = 0;
  request.before_send = [&sent] { ++sent; };
  auto failed = ReloadSshd(request);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().detail.find("ReloadUnit ssh.service"), std::string::npos) << failed.error().detail;
  EXPECT_EQ(sent, 1);
  {
    std::lock_guard<std::mutex> lock(bus.fake.mu);
    bus.fake.reload_error = false;
  }
  auto ok = ReloadSshd(request);
  ASSERT_TRUE(ok) << ok.error().detail;
  EXPECT_EQ(ok->how, ReloadHow::kSystemd);
  EXPECT_EQ(sent, 2);
}

}  // namespace
}  // namespace certgate::cafetch
