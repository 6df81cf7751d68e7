// Tests of a round's reload step (agent_install.cc InstallRound, through
// RunOnce): what a round does when the reload cannot be asked of systemd or
// finds a stale PidFile, and when it leaves the reload mark. The fixture is
// agent_testing.h's; the reload itself is reload_test.cc's.
#include "cafetch/agent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cafetch/agent_testing.h"
#include "cafetch/state.h"
#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::kSshd;
using ::certgate::testing::ReadFile;
using ::certgate::testing::FreeLoopbackPort;
using ::certgate::testing::WriteFile;

// Child is a process started with posix_spawn, killed and reaped when
// destroyed (unless Running already reaped it).
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, argv[0].c_str(), nullptr, nullptr, args.data(), environ), 0);
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  // Running returns true while the process has not exited; once it has,
  // it is reaped (and never signalled again: its pid may be reused).
  bool Running() {
    if (pid_ <= 0) return false;
    if (waitpid(pid_, nullptr, WNOHANG) == 0) return true;
    pid_ = -1;
    return false;
  }

 private:
  pid_t pid_ = -1;
};

// The audit's case: PidFile names a pid that now runs another program (sshd
// died, its pid was reused). That is a stale PidFile: sshd is not running,
// nothing to reload; the round installs its files and succeeds, the other
// process is never signalled, and a warning says what the pid runs.
TEST_F(AgentTest, APidFileWhosePidRunsAnotherProgramIsStale) {
  Child sleeper({"/bin/sleep", "300"});
  WriteFile(dir_.Path("sshd.pid"), std::to_string(sleeper.pid()) + "\n");
  WriteFile(config_.sshd.config, BaseConfig());  // the block: sshd_config changes
  auto r = Run();
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->changes.size(), 2u);
  EXPECT_EQ(r->reload, "sshd is not running: nothing to reload");
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_a_)});
  EXPECT_NE(ReadFile(config_.sshd.config).find("TrustedUserCAKeys " + config_.trusted_user_ca_keys),
            std::string::npos);
  EXPECT_FALSE(*ReloadPending(config_.state_dir));
  const std::vector<std::string> said = Logged("stale_pidfile");
  ASSERT_EQ(said.size(), 1u);
  EXPECT_EQ(said[0].rfind("PidFile " + dir_.Path("sshd.pid") + " is stale: its pid " + std::to_string(sleeper.pid()) +
                              " now runs /",
                          0),
            0u)
      << said[0];
  EXPECT_NE(said[0].find("sleep"), std::string::npos) << said[0];
  EXPECT_TRUE(sleeper.Running());
}

// The audit's case: CERTGATE_SYSTEMD_BUS_ADDRESS set (systemd is tried
// first) but nothing there. auto falls back to the signal (what systemd's
// ExecReload does) with a warning; the round succeeds and clears the mark.
TEST_F(AgentTest, AnUnreachableBusMakesAutoReloadBySignal) {
  config_.sshd.reload = ReloadMode::kAuto;
  bus_address_ = "unix:path=" + dir_.Path("no-bus");
  WriteFile(config_.sshd.config, BaseConfig());
  auto r = Run();
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->changes.size(), 2u);
  EXPECT_EQ(r->reload, "sshd is not running: nothing to reload");  // no PidFile here
  EXPECT_FALSE(*ReloadPending(config_.state_dir));
  const std::vector<std::string> said = Logged("reload_fallback");
  ASSERT_EQ(said.size(), 1u);
  EXPECT_EQ(said[0].rfind("cannot reach systemd to reload sshd (connect to D-Bus " + bus_address_ +
                              ": No such file or directory): sending SIGHUP to the pid in sshd's PidFile instead",
                          0),
            0u)
      << said[0];
}

// sshd.reload: systemd with the bus unreachable still fails the round. No
// reload was sent, so sshd runs what it ran: every file is restored, and
// the mark too (none), so no needless reload is left for the next round.
TEST_F(AgentTest, AnUnreachableBusFailsSystemdReloadAndRestoresTheMark) {
  config_.sshd.reload = ReloadMode::kSystemd;
  bus_address_ = "unix:path=" + dir_.Path("no-bus");
  WriteFile(config_.sshd.config, BaseConfig());
  const auto before = Watched();
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Errc::kIo);
  EXPECT_EQ(r.error().detail, "connect to D-Bus " + bus_address_ +
                                  ": No such file or directory; set sshd.reload: signal (or none) if systemd does "
                                  "not run sshd; previous files restored");
  EXPECT_EQ(Watched(), before);
  EXPECT_FALSE(*ReloadPending(config_.state_dir));
  // A mark an earlier, interrupted round left stays.
  ASSERT_TRUE(MarkReloadPending(config_.state_dir));
  ASSERT_FALSE(Run(1001));
  EXPECT_TRUE(*ReloadPending(config_.state_dir));
}

// A reload that was sent and failed (sshd exited after the SIGHUP): sshd
// may have read the new files, so the mark stays after the rollback and
// the next round reloads again.
TEST_F(AgentTest, AReloadThatWasSentAndFailedKeepsTheMark) {
  // An sshd with its own configuration and the fixture's PidFile; its own
  // file is then made one it refuses, so the SIGHUP kills it.
  const uint16_t port = FreeLoopbackPort();
  const std::string own = dir_.Path("running_sshd_config");
  WriteFile(own, "ListenAddress 127.0.0.1\nPort " + std::to_string(port) + "\nHostKey " + host_ + "\nPidFile " +
                     dir_.Path("sshd.pid") + "\nUsePAM no\n");
  Child sshd({kSshd, "-D", "-E", dir_.Path("sshd.log"), "-f", own});
  // It writes its PidFile once it listens: creates it, then writes the
  // line, so wait for the whole line, not for the file.
  std::string pid_line;
  for (int i = 0; i < 200; ++i) {
    pid_line = ReadFile(dir_.Path("sshd.pid"));  // empty while it does not exist
    if (pid_line.ends_with('\n')) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(pid_line, std::to_string(sshd.pid()) + "\n");
  WriteFile(own, "NoSuchKeyword yes\n");
  WriteFile(config_.sshd.config, BaseConfig());
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("exited after SIGHUP"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("previous files restored"), std::string::npos) << r.error().detail;
  EXPECT_EQ(ReadFile(config_.sshd.config), BaseConfig());
  EXPECT_TRUE(*ReloadPending(config_.state_dir));
  EXPECT_FALSE(sshd.Running());
  unlink(dir_.Path("sshd.pid").c_str());
  auto next = Run(1001);
  ASSERT_TRUE(next) << next.error().detail;
  EXPECT_EQ(next->changes.size(), 2u);
  EXPECT_FALSE(*ReloadPending(config_.state_dir));
}

}  // namespace
}  // namespace certgate::cafetch
