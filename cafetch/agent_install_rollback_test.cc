// Tests of what the install half of a cafetch round (agent_install.cc)
// does, through RunOnce, when the install fails or is overtaken: an edit of
// sshd_config made while the round runs, rolling back a failed round,
// directories it cannot make or write, and the reload and its mark (what
// the reload itself does is agent_reload_test.cc's). The checks before
// anything is installed are agent_install_test.cc's; the fixture and the
// sshd wrappers are agent_testing.h's.
#include "cafetch/agent.h"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "cafetch/agent_testing.h"
#include "cafetch/config.h"
#include "cafetch/state.h"
#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::kSshd;
using ::certgate::testing::ReadFile;
using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

// RejectInstalled makes the check of the installed |path| fail (the check of
// the candidate, in state_dir, still runs the real sshd).
void RejectInstalled(const TempDir& dir, const std::string& path, Config* config) {
  WrapSshd(dir,
           "for a; do [ \"$a\" = '" + path + "' ] && "
           "{ echo 'injected: the installed file is refused' >&2; exit 255; }; done\n",
           config);
}

// EditDuringTheCheck makes sshd -t of each candidate append |line| to
// |path| once, as an admin or another tool editing it while the round runs.
void EditDuringTheCheck(const TempDir& dir, const std::string& path, const std::string& line, Config* config) {
  const std::string done = dir.Path("edited");
  OnCandidateCheck(dir, "  [ -e '" + done + "' ] || { echo '" + line + "' >> '" + path + "'; : > '" + done + "'; }",
                   config);
}

// The audit's case: an edit of sshd_config made while the round ran was
// lost (renamed over). Now the round is undone, the edit kept, and the
// next round keeps it too.
TEST_F(AgentTest, AnEditOfTheMainFileDuringTheRoundIsKept) {
  WriteFile(config_.sshd.config, BaseConfig());
  EditDuringTheCheck(dir_, config_.sshd.config, "MaxAuthTries 3", &config_);
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail.rfind(config_.sshd.config + " was changed by someone else while cafetch ran", 0), 0u)
      << r.error().detail;
  EXPECT_NE(r.error().detail.find("the round is undone and that change kept: run cafetch again"), std::string::npos)
      << r.error().detail;
  EXPECT_EQ(ReadFile(config_.sshd.config), BaseConfig() + "MaxAuthTries 3\n");
  EXPECT_EQ(access(config_.trusted_user_ca_keys.c_str(), F_OK), -1);  // rolled back too
  auto next = Run(1001);
  ASSERT_TRUE(next) << next.error().detail;
  const std::string now = ReadFile(config_.sshd.config);
  EXPECT_EQ(now.rfind(BaseConfig() + "MaxAuthTries 3\n", 0), 0u) << now;
  EXPECT_NE(now.find("# BEGIN certgate"), std::string::npos) << now;
}

TEST_F(AgentTest, AnEditOfTheMainFileDuringADropInRoundStopsIt) {
  const std::string main = "Include " + dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig();
  WriteFile(config_.sshd.config, main);
  EditDuringTheCheck(dir_, config_.sshd.config, "MaxAuthTries 3", &config_);
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail.rfind(config_.sshd.config + " was changed by someone else while cafetch ran", 0), 0u)
      << r.error().detail;
  EXPECT_EQ(ReadFile(config_.sshd.config), main + "MaxAuthTries 3\n");
  EXPECT_EQ(access(dir_.Path("etc/sshd_config.d/05-certgate.conf").c_str(), F_OK), -1);
  EXPECT_TRUE(Run(1001));
}

TEST_F(AgentTest, AReloadLeftPendingIsSentByTheNextRound) {
  WriteFile(config_.sshd.config, BaseConfig());
  ASSERT_TRUE(Run());
  EXPECT_FALSE(*ReloadPending(config_.state_dir));  // cleared after the reload
  const auto installed = Watched();
  // A round killed after installing sshd_config, before the reload.
  ASSERT_TRUE(MarkReloadPending(config_.state_dir));
  auto r = Run(1001);
  ASSERT_TRUE(r) << r.error().detail;
  ASSERT_EQ(r->changes.size(), 1u);
  EXPECT_EQ(r->changes[0], "sshd reload left pending by an interrupted run");
  EXPECT_EQ(r->reload, "sshd is not running: nothing to reload");
  EXPECT_FALSE(*ReloadPending(config_.state_dir));
  auto again = Run(1002);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->Summary(), "unchanged");
}

// A reload that fails before anything was sent to sshd (here a PidFile
// that cannot be read) left sshd running what it ran: every file is
// restored and so is the mark (agent_reload_test.cc has a reload that was
// sent, which keeps it).
TEST_F(AgentTest, AReloadThatFailsBeforeSendingRestoresEverythingAndTheMark) {
  WriteFile(config_.sshd.config, BaseConfig());
  WriteFile(dir_.Path("sshd.pid"), "not a pid\n");
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("previous files restored"), std::string::npos) << r.error().detail;
  EXPECT_EQ(ReadFile(config_.sshd.config), BaseConfig());
  EXPECT_EQ(access(config_.trusted_user_ca_keys.c_str(), F_OK), -1);
  EXPECT_EQ(access(dir_.Path("state/cafetch.state").c_str(), F_OK), -1);  // restored: none
  EXPECT_FALSE(*ReloadPending(config_.state_dir));
  unlink(dir_.Path("sshd.pid").c_str());
  auto next = Run(1001);
  ASSERT_TRUE(next) << next.error().detail;
  EXPECT_EQ(next->changes.size(), 2u);
  EXPECT_FALSE(*ReloadPending(config_.state_dir));
}

TEST_F(AgentTest, InstalledConfigThatFailsItsCheckIsRolledBack) {
  // The candidate passes, but sshd rejects the installed file (as when
  // something else changed the configuration in between): the wrapper runs
  // the real sshd except for the installed main file.
  WriteFile(config_.sshd.config, BaseConfig());
  WriteFile(config_.sshd.config + ".previous", "# the copy kept the round before\n", 0600);
  // Left by an earlier file of that name: not the copy of the new file.
  ASSERT_EQ(mkdir(dir_.Path("etc/certgate").c_str(), 0755), 0);
  WriteFile(config_.trusted_user_ca_keys + ".previous", "# an earlier file's copy\n", 0600);
  RejectInstalled(dir_, config_.sshd.config, &config_);
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("injected: the installed file is refused"), std::string::npos)
      << r.error().detail;
  EXPECT_NE(r.error().detail.find("previous files restored"), std::string::npos) << r.error().detail;
  EXPECT_EQ(ReadFile(config_.sshd.config), BaseConfig());
  // The copies kept beside the files are as they were too.
  EXPECT_EQ(ReadFile(config_.sshd.config + ".previous"), "# the copy kept the round before\n");
  EXPECT_EQ(access(config_.trusted_user_ca_keys.c_str(), F_OK), -1);
  EXPECT_EQ(ReadFile(config_.trusted_user_ca_keys + ".previous"), "# an earlier file's copy\n");
  EXPECT_EQ(access(dir_.Path("state/cafetch.state").c_str(), F_OK), -1);  // restored: none

  config_.sshd.binary = kSshd;
  auto next = Run(1001);
  ASSERT_TRUE(next) << next.error().detail;
  EXPECT_EQ(next->changes.size(), 2u);
}

TEST_F(AgentTest, ARollbackBeforeTheReloadLeavesNoReloadMarkAndNoNewDirectory) {
  // sshd_config and the keys were installed, their check failed before any
  // reload was tried: sshd still runs what is on disk again, so the next
  // round has nothing to finish.
  const std::string main = "Include " + dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig();
  WriteFile(config_.sshd.config, main);
  RejectInstalled(dir_, config_.sshd.config, &config_);
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("previous files restored"), std::string::npos) << r.error().detail;
  EXPECT_FALSE(*ReloadPending(config_.state_dir));
  // The drop-in directory and the keys directory it created are gone too.
  struct stat st;
  EXPECT_NE(lstat(dir_.Path("etc/sshd_config.d").c_str(), &st), 0);
  EXPECT_NE(lstat(dir_.Path("etc/certgate").c_str(), &st), 0);
  EXPECT_EQ(Snapshot(dir_.Path("etc")), (std::map<std::string, std::string>{{"sshd_config", main}}));

  config_.sshd.binary = kSshd;
  auto next = Run(1001);
  ASSERT_TRUE(next) << next.error().detail;
  EXPECT_EQ(next->changes.size(), 2u);  // the keys and the drop-in, no pending reload
  for (const std::string& c : next->changes) EXPECT_EQ(c.find("pending"), std::string::npos) << c;
}

TEST_F(AgentTest, AKeysDirectoryThatCannotBeMadeLeavesNoReloadMark) {
  // Only the last level of the keys directory is created.
  config_.trusted_user_ca_keys = dir_.Path("etc/missing/certgate/trusted_user_ca_keys");
  WriteFile(config_.sshd.config, BaseConfig());
  const auto before = Watched();
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("cannot create directory " + dir_.Path("etc/missing/certgate") +
                                  ": No such file or directory; create its parent (root, 0755), or correct "
                                  "trusted_user_ca_keys in cafetch.yaml"),
            std::string::npos)
      << r.error().detail;
  EXPECT_FALSE(*ReloadPending(config_.state_dir));
  EXPECT_EQ(Watched(), before);
}

// Immutable makes a directory unwritable even for root (chattr +i, as a
// read-only file system would) while it lives.
class Immutable {
 public:
  explicit Immutable(std::string path) : path_(std::move(path)) {
    set_ = certgate::testing::Run({"chattr", "+i", path_}).exit_code == 0;
  }
  ~Immutable() {
    if (set_) certgate::testing::Run({"chattr", "-i", path_});
  }
  bool set() const { return set_; }

 private:
  std::string path_;
  bool set_ = false;
};

// FrozenDirectoryTest runs a round that has a key to add while a directory
// it writes is frozen (Immutable).
class FrozenDirectoryTest : public AgentTest {
 protected:
  // FailsWith installs the fixture's key, offers another and runs a round
  // with |dir| frozen, which must fail and change nothing. Returns the
  // round's message, or nullopt where chattr +i is not supported.
  std::optional<std::string> FailsWith(const std::string& dir) {
    WriteFile(config_.sshd.config, BaseConfig());
    EXPECT_TRUE(Run());
    WriteFile(dir_.Path("issuer.pub"), ca_b_);
    const auto before = Watched();
    Immutable frozen(dir);
    if (!frozen.set()) return std::nullopt;
    auto r = Run(2000);
    EXPECT_FALSE(r);
    EXPECT_EQ(Watched(), before);
    return r ? std::string() : r.error().detail;
  }
};

// The audit's case: a key directory that exists but cannot be written
// names the file, the setting that put it there and what to do; the round
// changes nothing.
TEST_F(FrozenDirectoryTest, AKeysDirectoryThatCannotBeWrittenNamesTheSetting) {
  const std::string keys_dir = dir_.Path("etc/certgate");
  const std::optional<std::string> detail = FailsWith(keys_dir);
  if (!detail) GTEST_SKIP() << "chattr +i is not supported here";
  EXPECT_NE(detail->find("create " + config_.trusted_user_ca_keys + ".previous (its temporary "), std::string::npos)
      << *detail;
  EXPECT_NE(detail->find("Operation not permitted; " + config_.trusted_user_ca_keys + ".previous is unchanged; " +
                         keys_dir + " must be writable by root on a writable file system, or correct "
                         "trusted_user_ca_keys in cafetch.yaml"),
            std::string::npos)
      << *detail;
}

// The same for state_dir, which the round writes first.
TEST_F(FrozenDirectoryTest, AStateDirThatCannotBeWrittenNamesTheSetting) {
  const std::optional<std::string> detail = FailsWith(config_.state_dir);
  if (!detail) GTEST_SKIP() << "chattr +i is not supported here";
  EXPECT_NE(detail->find("; " + config_.state_dir + " must be writable by root on a writable file system, or "
                         "correct state_dir in cafetch.yaml"),
            std::string::npos)
      << *detail;
}

TEST_F(AgentTest, ARollbackKeepsAReloadMarkAnEarlierRoundLeft) {
  WriteFile(config_.sshd.config, BaseConfig());
  ASSERT_TRUE(MarkReloadPending(config_.state_dir));  // an earlier round was killed
  RejectInstalled(dir_, config_.sshd.config, &config_);
  ASSERT_FALSE(Run());
  EXPECT_TRUE(*ReloadPending(config_.state_dir));
}

// The audit's case: a file that cannot be restored (its directory frozen
// while sshd -T checks the installed files) was reported as "previous
// files restored; RESTORING ... FAILED". The message says which file
// keeps this round's version, and the outcome that files were left changed.
TEST_F(AgentTest, AFileThatCannotBeRestoredIsNotReportedAsRestored) {
  const std::string etc = dir_.Path("etc");
  WriteFile(config_.sshd.config, BaseConfig());
  if (!Immutable(dir_.Path("etc")).set()) GTEST_SKIP() << "chattr +i is not supported here";
  // The check after the install: the keys file is there then.
  WrapSshd(dir_,
           "if [ \"$1\" = -T ] && [ -e " + config_.trusted_user_ca_keys + " ]; then chattr +i " + etc +
               "; echo injected >&2; exit 255; fi\n",
           &config_);
  auto r = Run();
  certgate::testing::Run({"chattr", "-i", etc});
  ASSERT_FALSE(r);
  const std::string& detail = r.error().detail;
  EXPECT_EQ(detail.find("previous files restored"), std::string::npos) << detail;
  EXPECT_NE(detail.find("; the previous files could not all be restored; " + std::string(kRestoreFailed) +
                        config_.sshd.config + " FAILED, so it keeps this round's version: "),
            std::string::npos)
      << detail;
  EXPECT_EQ(detail.find(kRestoreFailed + config_.trusted_user_ca_keys), std::string::npos) << detail;
  EXPECT_NE(FailureOutcome(r.error()).find("SOME FILES WERE LEFT CHANGED"), std::string::npos);
  EXPECT_TRUE(*ReloadPending(config_.state_dir));  // what is on disk is not what sshd runs
}

}  // namespace
}  // namespace certgate::cafetch
