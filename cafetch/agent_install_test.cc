// Tests of the install half of a cafetch round (agent_install.cc) through
// RunOnce: the checks with sshd (sshd_config as it is, or a candidate copy
// in state_dir/candidates) before anything is installed, and --dry-run's.
// Edits made while the round runs, rolling back a failed round, and the
// reload and its mark are agent_install_rollback_test.cc's. The plan is
// agent_test.cc's; the fixture is agent_testing.h's.
#include "cafetch/agent.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cafetch/agent_testing.h"
#include "cafetch/config.h"
#include "cafetch/sshd_check.h"
#include "core/log.h"
#include "core/result.h"
#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::kSshd;
using ::certgate::testing::ReadFile;
using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

TEST_F(AgentTest, AdminsEarlierTrustedUserCAKeysIsReportedAndNothingChanges) {
  const std::string main = BaseConfig() + "TrustedUserCAKeys /etc/ssh/admin_ca\n";
  WriteFile(config_.sshd.config, main);
  const auto before = Watched();
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Errc::kBadFormat);
  EXPECT_NE(r.error().detail.find("/etc/ssh/admin_ca"), std::string::npos) << r.error().detail;
  // The admin's line is named where it is (the candidate's lines are those
  // of the file as it would be installed: the block goes after it).
  const std::string where =
      config_.sshd.config + ":" + std::to_string(std::count(main.begin(), main.end(), '\n'));
  EXPECT_NE(r.error().detail.find("the admin's line " + where + " comes before cafetch's and wins"),
            std::string::npos)
      << r.error().detail;
  EXPECT_EQ(Watched(), before);
}

// An sshd_config that sshd -t refuses as it is: the message names the real
// file and line (not the candidate's, whose lines cafetch's block moves),
// without the CR of a CRLF line, and nothing changes.
TEST_F(AgentTest, AnSshdConfigThatFailsAlreadyIsReportedAsItIs) {
  WriteFile(config_.sshd.config, BaseConfig() + "BogusKeyword yes\r\n");
  const auto before = Watched();
  auto r = Run();
  ASSERT_FALSE(r);
  const std::string& detail = r.error().detail;
  EXPECT_EQ(detail.rfind("the sshd configuration fails already, before any change: sshd -t -f " +
                             config_.sshd.config + " failed (",
                         0),
            0u)
      << detail;
  EXPECT_NE(detail.find(config_.sshd.config + ":6: Bad configuration option: BogusKeyword; fix it first"),
            std::string::npos)
      << detail;
  EXPECT_EQ(detail.find("\\x0d"), std::string::npos) << detail;
  EXPECT_EQ(Watched(), before);
}

// The same when the round changes nothing in sshd_config (cafetch's lines
// are in place, so only sshd -T runs): it is still the admin's line to fix.
TEST_F(AgentTest, AnSshdConfigBrokenAfterTheInstallIsReportedAsItIs) {
  WriteFile(config_.sshd.config, BaseConfig());
  ASSERT_TRUE(Run());
  WriteFile(config_.sshd.config, ReadFile(config_.sshd.config) + "BogusKeyword yes\n");
  const auto before = Watched();
  auto r = Run(2000);
  ASSERT_FALSE(r);
  const std::string& detail = r.error().detail;
  EXPECT_EQ(detail.rfind("the sshd configuration fails already, before any change: sshd -T -f " +
                             config_.sshd.config + " failed (",
                         0),
            0u)
      << detail;
  EXPECT_NE(detail.find(": Bad configuration option: BogusKeyword; fix it first"), std::string::npos) << detail;
  EXPECT_EQ(Watched(), before);
}

// A partial cafetch block (BEGIN without END) is refused at FILE:LINE, as
// sshd's own complaints are given.
TEST_F(AgentTest, APartialBlockIsRefusedAtItsLine) {
  WriteFile(config_.sshd.config, BaseConfig() + "# BEGIN certgate\nTrustedUserCAKeys /x\n");
  const auto before = Watched();
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail.rfind(config_.sshd.config + ":6: \"# BEGIN certgate\" without its END line; ", 0), 0u)
      << r.error().detail;
  EXPECT_EQ(Watched(), before);
}

// The audit's case: a Match block after cafetch's line that selects a root
// login from loopback (what sshd -T -C was asked about) sets
// TrustedUserCAKeys. It is in force only for the connections it selects:
// a match_override warning, and the round goes on, key rotation included.
TEST_F(AgentTest, AMatchBlockThatSelectsRootFromLoopbackDoesNotFailTheRound) {
  const std::string drop_in_main = "Include " + dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig();
  int64_t now = 1000;
  for (const bool drop_in : {false, true}) {
    for (const char* criteria : {"User root", "Address 127.0.0.1", "Host localhost"}) {
      SCOPED_TRACE(std::string(drop_in ? "drop-in, " : "block, ") + criteria);
      WriteFile(config_.sshd.config, (drop_in ? drop_in_main : BaseConfig()) + "Match " + criteria +
                                         "\n\tTrustedUserCAKeys /some/other/file\n");
      log_.records.clear();
      auto r = Run(now++);
      ASSERT_TRUE(r) << r.error().detail;
      EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_a_)});
      EXPECT_EQ(Effective("trustedusercakeys"), config_.trusted_user_ca_keys);
      const std::vector<std::string> said = Logged("match_override");
      ASSERT_EQ(said.size(), 1u);
      EXPECT_NE(said[0].find(": TrustedUserCAKeys /some/other/file in the Match block of " + config_.sshd.config),
                std::string::npos)
          << said[0];
    }
  }
  // The key file still follows the issuer.
  WriteFile(dir_.Path("issuer.pub"), ca_a_ + ca_b_);
  auto rotated = Run(now++);
  ASSERT_TRUE(rotated) << rotated.error().detail;
  EXPECT_EQ(TrustedBlobs(), (std::vector<std::string>{Blob(ca_a_), Blob(ca_b_)}));
}

// "Match all" selects every connection: a line there that sets one of
// cafetch's keywords to another value is a real conflict. The round fails,
// names that line and its Match line, and changes nothing.
TEST_F(AgentTest, AMatchAllBlockThatSetsCafetchsKeywordFailsTheRound) {
  const std::string drop_in_main = "Include " + dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig();
  for (const bool drop_in : {false, true}) {
    SCOPED_TRACE(drop_in ? "drop-in" : "block");
    WriteFile(config_.sshd.config,
              (drop_in ? drop_in_main : BaseConfig()) + "Match all\n\tTrustedUserCAKeys /some/other/file\n");
    const auto before = Watched();
    log_.records.clear();
    auto r = Run();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::Errc::kBadFormat);
    // As installed: the block layout's block (4 lines) comes before it.
    const int match_line = drop_in ? 7 : 10;
    EXPECT_EQ(r.error().detail,
              "candidate sshd_config: the admin's line " + config_.sshd.config + ":" +
                  std::to_string(match_line + 1) + ", in the \"Match all\" block of " + config_.sshd.config + ":" +
                  std::to_string(match_line) +
                  ", sets TrustedUserCAKeys to /some/other/file for every connection, over cafetch's "
                  "\"TrustedUserCAKeys " + config_.trusted_user_ca_keys +
                  "\" (a Match block's values win over the lines before it); remove that line, or set it to "
                  "cafetch's value");
    EXPECT_EQ(Watched(), before);
    EXPECT_TRUE(Logged("match_override").empty());
  }
}

// sshd 7.7 to 8.0 refuse sshd -T without -C when a Match line has a
// criterion (bz#2858): cafetch asks them about a root login from loopback,
// and tells a Match block's value from an admin's global line itself.
TEST_F(AgentTest, AnSshdThatNeedsDashCIsAskedAboutRootFromLoopback) {
  WrapSshd(dir_,
           "case \"$1\" in -V) echo 'OpenSSH_7.9p1 Debian-10+deb10u2, OpenSSL 1.1.1n  15 Mar 2022' >&2; exit 0;; "
           "esac\n"
           "if [ \"$1\" = -T ]; then\n"
           "  c=; f=; prev=; for a; do [ \"$a\" = -C ] && c=1; [ \"$prev\" = -f ] && f=$a; prev=$a; done\n"
           "  if [ -z \"$c\" ] && grep -qiE '^[[:space:]]*match[[:space:]]+(user|host|address)' \"$f\"; then\n"
           "    echo \"'Match User' in configuration but 'user' not in connection test specification.\" >&2\n"
           "    exit 255\n"
           "  fi\n"
           "fi\n",
           &config_);
  WriteFile(config_.sshd.config, BaseConfig() + "Match User root\n\tTrustedUserCAKeys /some/other/file\n");
  auto r = Run();
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_a_)});
  EXPECT_EQ(Logged("match_override").size(), 1u);
  // An admin's line before cafetch's still wins for every connection.
  WriteFile(config_.sshd.config, BaseConfig() + "TrustedUserCAKeys /some/other/file\n" +
                                     "Match User root\n\tTrustedUserCAKeys /some/other/file\n");
  auto earlier = Run(1001);
  ASSERT_FALSE(earlier);
  EXPECT_NE(earlier.error().detail.find("the admin's line " + config_.sshd.config + ":6 comes before cafetch's"),
            std::string::npos)
      << earlier.error().detail;
}

// RefuseCandidate makes sshd -t refuse every candidate (the files in
// state_dir/candidates) with sshd's message for a bad line in |file_in_dir|
// (a path relative to the candidate directory); the current configuration
// is checked by the real sshd.
void RefuseCandidate(const TempDir& dir, const std::string& file_in_dir, Config* config) {
  OnCandidateCheck(dir,
                   "  echo \"${f%/sshd_config}/" + file_in_dir + ": line 2: Bad configuration option: Injected\" >&2\n"
                   "  echo \"$f: terminating, 1 bad configuration options\" >&2; exit 255",
                   config);
}

// The configuration passes as it is, but not with cafetch's lines: the
// message names the files as they would be installed, not the candidate's
// copies in state_dir, and nothing changes.
TEST_F(AgentTest, ACandidateRefusedForCafetchsOwnLinesNamesTheRealFile) {
  WriteFile(config_.sshd.config, BaseConfig());
  const auto before = Watched();
  RefuseCandidate(dir_, "sshd_config", &config_);
  auto r = Run();
  ASSERT_FALSE(r);
  const std::string& detail = r.error().detail;
  EXPECT_NE(detail.find("as cafetch would write it fails sshd -t (the current one passes; nothing was changed)"),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find(config_.sshd.config + ":2: Bad configuration option: Injected"), std::string::npos)
      << detail;
  EXPECT_NE(detail.find("check them against this sshd (" + config_.sshd.binary + " -V)"), std::string::npos)
      << detail;
  EXPECT_EQ(detail.find("/candidates/"), std::string::npos) << detail;
  EXPECT_EQ(Watched(), before);
}

TEST_F(AgentTest, ACandidateDropInRefusedForCafetchsOwnLinesNamesTheRealDropIn) {
  WriteFile(config_.sshd.config, "Include " + dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig());
  ASSERT_EQ(mkdir(dir_.Path("etc/sshd_config.d").c_str(), 0755), 0);
  const auto before = Watched();
  RefuseCandidate(dir_, "sshd_config.d/05-certgate.conf", &config_);
  auto r = Run();
  ASSERT_FALSE(r);
  const std::string& detail = r.error().detail;
  EXPECT_NE(detail.find(dir_.Path("etc/sshd_config.d/05-certgate.conf") +
                        ":2: Bad configuration option: Injected"),
            std::string::npos)
      << detail;
  EXPECT_EQ(detail.find("/candidates/"), std::string::npos) << detail;
  EXPECT_EQ(access(dir_.Path("etc/sshd_config.d/05-certgate.conf").c_str(), F_OK), -1);
  EXPECT_EQ(Watched(), before);
}

TEST_F(AgentTest, AdminsLineBeforeTheIncludeIsFoundBeforeTheDropInIsInstalled) {
  // The admin's line before the Include wins over the drop-in: the
  // candidate check (the drop-ins copied beside a candidate main file)
  // finds it before anything is written.
  const std::string main = "TrustedUserCAKeys /etc/ssh/admin_ca\nInclude " +
                           dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig();
  WriteFile(config_.sshd.config, main);
  mkdir(dir_.Path("etc/sshd_config.d").c_str(), 0755);
  mkdir(dir_.Path("etc/certgate").c_str(), 0755);
  WriteFile(config_.trusted_user_ca_keys, "# old\n" + ca_b_);
  const auto before = Watched();
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("candidate sshd_config"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("/etc/ssh/admin_ca"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("the admin's line " + config_.sshd.config + ":1 comes before"), std::string::npos)
      << r.error().detail;
  EXPECT_EQ(Watched(), before);
}

TEST_F(AgentTest, AnEarlierDropInThatWinsIsFoundBeforeAnythingIsInstalled) {
  const std::string main = "Include " + dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig();
  WriteFile(config_.sshd.config, main);
  mkdir(dir_.Path("etc/sshd_config.d").c_str(), 0755);
  WriteFile(dir_.Path("etc/sshd_config.d/01-admin.conf"), "TrustedUserCAKeys /etc/ssh/admin_ca\n");
  WriteFile(dir_.Path("etc/sshd_config.d/50-later.conf"), "TrustedUserCAKeys /etc/ssh/later_ca\n");
  const auto before = Watched();
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("/etc/ssh/admin_ca"), std::string::npos) << r.error().detail;
  // Named where it is installed, not as the candidate's copy in state_dir.
  EXPECT_NE(r.error().detail.find("the admin's line " + dir_.Path("etc/sshd_config.d/01-admin.conf") +
                                  ":1 comes before cafetch's"),
            std::string::npos)
      << r.error().detail;
  EXPECT_EQ(Watched(), before);
  // Without the admin's early file, ours (05-) beats the later one.
  ASSERT_EQ(unlink(dir_.Path("etc/sshd_config.d/01-admin.conf").c_str()), 0);
  auto ok = Run();
  ASSERT_TRUE(ok) << ok.error().detail;
  EXPECT_EQ(Effective("trustedusercakeys"), config_.trusted_user_ca_keys);
  EXPECT_EQ(ReadFile(dir_.Path("etc/sshd_config.d/50-later.conf")),
            "TrustedUserCAKeys /etc/ssh/later_ca\n");
}

TEST_F(AgentTest, BrokenMainConfigIsNeverTouched) {
  WriteFile(config_.sshd.config, BaseConfig() + "NoSuchKeyword yes\n");
  const auto before = Watched();
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_EQ(Watched(), before);
}

TEST_F(AgentTest, AuthorizedKeysCommandBeforeOursIsDetectedOn92) {
  auto version = DetectSshdVersion(kSshd);
  ASSERT_TRUE(version);
  if (version->major != 9 || version->minor != 2) GTEST_SKIP() << "OpenSSH 9.2 only";
  WriteFile(config_.sshd.config, BaseConfig() + "AuthorizedKeysCommand /bin/true\n"
                                                "AuthorizedKeysCommandUser nobody\n");
  config_.sshd.manage_principals_command = true;
  const auto before = Watched();
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("9.2"), std::string::npos) << r.error().detail;
  EXPECT_EQ(Watched(), before);
}

TEST_F(AgentTest, CandidatesAreCheckedInStateDirAndLeftoversRemovedByTheNextRound) {
  const std::string main = "Include " + dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig();
  WriteFile(config_.sshd.config, main);
  mkdir(dir_.Path("etc/sshd_config.d").c_str(), 0755);
  WriteFile(dir_.Path("etc/sshd_config.d/50-admin.conf"), "PasswordAuthentication no\n");
  auto first = Run();
  ASSERT_TRUE(first) << first.error().detail;
  const std::string candidates = config_.state_dir + "/candidates";
  struct stat st;
  ASSERT_EQ(lstat(candidates.c_str(), &st), 0);  // the check ran there
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(Snapshot(candidates), (std::map<std::string, std::string>{}));  // and cleaned up

  // What a round killed during its candidate check leaves, and a symlink
  // planted beside it.
  const std::string left = candidates + "/cafetch-candidate-K1lled";
  ASSERT_EQ(mkdir(left.c_str(), 0700), 0);
  ASSERT_EQ(mkdir((left + "/sshd_config.d").c_str(), 0700), 0);
  WriteFile(left + "/sshd_config", main, 0600);
  WriteFile(left + "/sshd_config.d/05-certgate.conf", "TrustedUserCAKeys /x\n", 0600);
  WriteFile(left + "/sshd_config.d/50-admin.conf", "PasswordAuthentication no\n", 0600);
  WriteFile(left + "/sshd_config.d/.05-certgate.conf.certgate-0123456789abcdef", "half", 0600);
  mkdir(dir_.Path("target").c_str(), 0755);
  WriteFile(dir_.Path("target/keep"), "keep me\n");
  ASSERT_EQ(symlink(dir_.Path("target").c_str(), (candidates + "/cafetch-candidate-Symlnk").c_str()), 0);
  log_.records.clear();
  auto next = Run(1001);
  ASSERT_TRUE(next) << next.error().detail;
  EXPECT_EQ(next->Summary(), "unchanged");
  EXPECT_EQ(Snapshot(candidates), (std::map<std::string, std::string>{}));
  EXPECT_EQ(Snapshot(dir_.Path("target")), (std::map<std::string, std::string>{{"keep", "keep me\n"}}));
  int lines = 0;
  for (const core::LogRecord& r : log_.records) {
    if (r.message.find("candidate director") == std::string::npos) continue;
    ++lines;
    EXPECT_EQ(r.message, "removed 2 candidate directories an interrupted run left in " + candidates +
                             ": cafetch-candidate-K1lled, cafetch-candidate-Symlnk");
  }
  EXPECT_EQ(lines, 1);

  // A dry run takes no lock and removes nothing.
  ASSERT_EQ(mkdir(left.c_str(), 0700), 0);
  ASSERT_TRUE(Run(1002, true));
  EXPECT_EQ(Snapshot(candidates), (std::map<std::string, std::string>{{"cafetch-candidate-K1lled/", ""}}));
}

// With sshd_config unchanged, --dry-run still makes --once's sshd -T check.
TEST_F(AgentTest, DryRunFailsWhereOnceFailsWithTheConfigUnchanged) {
  WriteFile(config_.sshd.config, BaseConfig());
  auto first = Run();
  ASSERT_TRUE(first) << first.error().detail;
  // An admin's TrustedUserCAKeys before our block wins in sshd.
  WriteFile(config_.sshd.config, "TrustedUserCAKeys /etc/ssh/admin_ca\n" +
                                     ReadFile(config_.sshd.config));
  auto once = Run(1001);
  ASSERT_FALSE(once);
  auto dry = Run(1001, true);
  ASSERT_FALSE(dry) << dry->Summary();
  EXPECT_EQ(dry.error().detail, once.error().detail);
}

// --dry-run changes nothing: not even state_dir or its candidates
// directory is created, though its candidate is checked with sshd -t.
TEST_F(AgentTest, DryRunCreatesNoDirectory) {
  const std::string main = "Include " + dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig();
  WriteFile(config_.sshd.config, main);
  auto r = Run(1000, true);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->changes.size(), 2u);
  struct stat st;
  EXPECT_NE(lstat(config_.state_dir.c_str(), &st), 0);
  EXPECT_NE(lstat(dir_.Path("etc/sshd_config.d").c_str(), &st), 0);
  EXPECT_EQ(Snapshot(dir_.Path("etc")), (std::map<std::string, std::string>{{"sshd_config", main}}));
}

}  // namespace
}  // namespace certgate::cafetch
