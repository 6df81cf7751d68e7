// Tests of a cafetch round's plan (agent.cc) through RunOnce: the lock
// and the trusted paths, fetching the issuer's keys and the key history,
// which sshd_config lines are written where (and what is refused or
// reported before anything is checked or installed), --dry-run's diffs,
// and SourceLabel and FailureOutcome. The checks with sshd before
// anything is installed are agent_install_test.cc's; a failed or overtaken
// install, rolling back and the reload mark are
// agent_install_rollback_test.cc's; the fixture is agent_testing.h's.
#include "cafetch/agent.h"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cafetch/agent_testing.h"
#include "cafetch/sshd_check.h"
#include "cafetch/state.h"
#include "core/ssh_key.h"
#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::kSshd;
using ::certgate::testing::ReadFile;
using ::certgate::testing::WriteFile;

TEST_F(AgentTest, MainFileBlockIsInstalledCheckedAndIdempotent) {
  const std::string before = BaseConfig() + "Match User nobody\n  PasswordAuthentication no\n";
  WriteFile(config_.sshd.config, before, 0640);
  auto first = Run();
  ASSERT_TRUE(first) << first.error().detail;
  ASSERT_EQ(first->changes.size(), 2u);
  EXPECT_EQ(first->Summary().rfind("changed: " + config_.trusted_user_ca_keys + " (+SHA256:", 0), 0u)
      << first->Summary();
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_a_)});
  const std::string after = ReadFile(config_.sshd.config);
  EXPECT_EQ(after, BaseConfig() + "# BEGIN certgate\n"
                   "# Managed by cafetch (certgate): rewritten on every run; edit cafetch.yaml instead.\n"
                   "TrustedUserCAKeys " + config_.trusted_user_ca_keys + "\n# END certgate\n"
                   "Match User nobody\n  PasswordAuthentication no\n");
  EXPECT_EQ(ReadFile(config_.sshd.config + ".previous"), before);
  struct stat st;
  ASSERT_EQ(stat(config_.sshd.config.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);  // the main file keeps its mode
  ASSERT_EQ(stat(config_.trusted_user_ca_keys.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(Effective("trustedusercakeys"), config_.trusted_user_ca_keys);

  auto second = Run(1010);
  ASSERT_TRUE(second) << second.error().detail;
  EXPECT_EQ(second->Summary(), "unchanged");
  EXPECT_EQ(ReadFile(config_.sshd.config), after);
}

TEST_F(AgentTest, DropInWhenTheMainFileIncludesIt) {
  const std::string main = "Include " + dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig();
  WriteFile(config_.sshd.config, main);
  config_.sshd.manage_principals_command = true;
  auto r = Run();
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(ReadFile(config_.sshd.config), main);  // never edited
  const std::string drop_in = ReadFile(dir_.Path("etc/sshd_config.d/05-certgate.conf"));
  EXPECT_EQ(drop_in,
            "# Managed by cafetch (certgate): rewritten on every run; edit cafetch.yaml instead.\n"
            "AuthorizedPrincipalsCommand /usr/libexec/certgate/principals-cmd %u %t %k\n"
            "AuthorizedPrincipalsCommandUser certgate\n"
            "TrustedUserCAKeys " + config_.trusted_user_ca_keys + "\n");
  EXPECT_EQ(Effective("authorizedprincipalscommand"), kPrincipalsCommand);
  auto again = Run(1001);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->Summary(), "unchanged");
}

// The audit's case: an AuthorizedPrincipalsCommand that is not installed
// (or whose user does not exist) would make sshd refuse every certificate
// login. The round fails before anything is installed, dry run included,
// and says what to install or set.
TEST_F(AgentTest, APrincipalsCommandSshdCouldNotRunIsNeverInstalled) {
  WriteFile(config_.sshd.config, BaseConfig());
  config_.sshd.manage_principals_command = true;
  const auto before = Watched();
  ASSERT_EQ(unlink(principals_cmd_.c_str()), 0);
  for (bool dry_run : {false, true}) {
    auto r = Run(1000, dry_run);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail,
              "sshd.manage_principals_command: AuthorizedPrincipalsCommand " + principals_cmd_ +
                  ": No such file or directory; sshd would refuse every certificate login: install certgate's "
                  "helpers (the certgate package puts principals-cmd there); set "
                  "sshd.manage_principals_command: false to manage those lines yourself");
    EXPECT_EQ(Watched(), before);
  }
  WriteFile(principals_cmd_, "#!/bin/sh\n", 0644);
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find(": not an executable file;"), std::string::npos) << r.error().detail;
  WriteFile(principals_cmd_, "#!/bin/sh\n", 0775);
  r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("run chmod go-w " + principals_cmd_), std::string::npos) << r.error().detail;
  WriteFile(principals_cmd_, "#!/bin/sh\n", 0755);
  principals_user_ = "certgate-no-such-user";
  r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("AuthorizedPrincipalsCommandUser certgate-no-such-user: no such user;"),
            std::string::npos)
      << r.error().detail;
  EXPECT_EQ(Watched(), before);
  principals_user_ = "root";
  auto ok = Run();
  ASSERT_TRUE(ok) << ok.error().detail;
  // Not checked when cafetch does not write the command.
  ASSERT_EQ(unlink(principals_cmd_.c_str()), 0);
  config_.sshd.manage_principals_command = false;
  auto without = Run(1001);
  EXPECT_TRUE(without) << without.error().detail;
}

// The audit's case: the main file kept cafetch's block from before it
// included the drop-ins (with SHA-1 lines, say). cafetch never edits the
// main file in the drop-in layout, so it says where the block is, at every
// round, and what to delete.
TEST_F(AgentTest, AnOldBlockBesideTheDropInIsReported) {
  const std::string main = "Include " + dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig() +
                           "# BEGIN certgate\nCASignatureAlgorithms +ssh-rsa\n# END certgate\n";
  WriteFile(config_.sshd.config, main);
  for (int64_t now : {1000, 1001}) {
    log_.records.clear();
    auto r = Run(now);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(ReadFile(config_.sshd.config), main);  // never edited
    int said = 0;
    for (const core::LogRecord& record : log_.records) {
      if (record.message.find("still holds cafetch's block") == std::string::npos) continue;
      ++said;
      EXPECT_EQ(record.priority, core::Priority::kWarning);
      EXPECT_EQ(record.message,
                config_.sshd.config +
                    " line 7 still holds cafetch's block from before the drop-in layout; sshd still reads its "
                    "lines beside 05-certgate.conf (an earlier one wins): delete the lines from \"# BEGIN "
                    "certgate\" to \"# END certgate\"");
    }
    EXPECT_EQ(said, 1);
  }
}

// The audit's case: a Match block that sets TrustedUserCAKeys (or another
// line cafetch writes) to something else overrides cafetch for the
// connections it selects, which sshd -T for root does not show. Each round
// says where; a Match line with cafetch's own value is no conflict.
TEST_F(AgentTest, AMatchBlockThatOverridesCafetchsLinesIsReported) {
  WriteFile(config_.sshd.config, BaseConfig() + "Match User alice\n  TrustedUserCAKeys /etc/ssh/alice_ca\n"
                                                "Match User bob\n  TrustedUserCAKeys " +
                                                    config_.trusted_user_ca_keys + "\n");
  auto r = Run();
  ASSERT_TRUE(r) << r.error().detail;
  std::vector<std::string> said;
  for (const core::LogRecord& record : log_.records) {
    if (record.message.find("in the Match block") != std::string::npos) said.push_back(record.message);
  }
  ASSERT_EQ(said.size(), 1u);
  EXPECT_EQ(said[0], config_.sshd.config + ":7: TrustedUserCAKeys /etc/ssh/alice_ca in the Match block of " +
                         config_.sshd.config + ":6 replaces cafetch's \"TrustedUserCAKeys " +
                         config_.trusted_user_ca_keys +
                         "\" for the connections that Match selects; remove it or set it to the same value, "
                         "unless those connections are meant to differ");
}

// Files cafetch only reads are read as sshd reads them, through symbolic
// links; a file it replaces must not be one.
TEST_F(AgentTest, SymlinkedFilesItOnlyReadsAreFollowed) {
  mkdir(dir_.Path("admin").c_str(), 0755);
  const std::string main = "Include " + dir_.Path("etc/sshd_config.d/*.conf") + "\n" + BaseConfig();
  WriteFile(dir_.Path("admin/sshd_config"), main);
  ASSERT_EQ(symlink(dir_.Path("admin/sshd_config").c_str(), config_.sshd.config.c_str()), 0);
  mkdir(dir_.Path("etc/sshd_config.d").c_str(), 0755);
  WriteFile(dir_.Path("admin/50-admin.conf"), "PasswordAuthentication no\n");
  ASSERT_EQ(symlink(dir_.Path("admin/50-admin.conf").c_str(),
                    dir_.Path("etc/sshd_config.d/50-admin.conf").c_str()),
            0);
  auto r = Run();
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(Effective("trustedusercakeys"), config_.trusted_user_ca_keys);
  EXPECT_EQ(Effective("passwordauthentication"), "no");
  auto again = Run(1001);
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_EQ(again->Summary(), "unchanged");
  struct stat st;
  ASSERT_EQ(lstat(config_.sshd.config.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(AgentTest, SymlinkedFilesItWouldReplaceAreRefused) {
  // Main-file layout: cafetch would rename over the link.
  mkdir(dir_.Path("admin").c_str(), 0755);
  WriteFile(dir_.Path("admin/sshd_config"), BaseConfig());
  ASSERT_EQ(symlink(dir_.Path("admin/sshd_config").c_str(), config_.sshd.config.c_str()), 0);
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, config_.sshd.config +
                                  " is a symbolic link: cafetch replaces this file by renaming a "
                                  "new one over it and will not replace a link; make it a regular "
                                  "file or configure its real path");
  EXPECT_EQ(ReadFile(dir_.Path("admin/sshd_config")), BaseConfig());
  struct stat st;
  ASSERT_EQ(lstat(config_.sshd.config.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(AgentTest, QuotedIncludeIsTheDropInLayout) {
  const std::string main =
      "Include \"" + dir_.Path("etc/sshd_config.d/*.conf") + "\"\n" + BaseConfig();
  WriteFile(config_.sshd.config, main);
  auto r = Run();
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(ReadFile(config_.sshd.config), main);  // never edited
  EXPECT_NE(ReadFile(dir_.Path("etc/sshd_config.d/05-certgate.conf")).find("TrustedUserCAKeys"),
            std::string::npos);
  EXPECT_EQ(Effective("trustedusercakeys"), config_.trusted_user_ca_keys);
}

TEST_F(AgentTest, RotationKeepsTheOldKeyForKeepRetired) {
  WriteFile(config_.sshd.config, BaseConfig());
  ASSERT_TRUE(Run(1000));
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_a_)});
  WriteFile(dir_.Path("issuer.pub"), ca_a_ + ca_b_);  // issuer lists both
  auto both = Run(1100);
  ASSERT_TRUE(both);
  EXPECT_EQ(TrustedBlobs(), (std::vector<std::string>{Blob(ca_a_), Blob(ca_b_)}));
  EXPECT_EQ(both->changes.size(), 1u);  // only the key file: no sshd reload needed
  WriteFile(dir_.Path("issuer.pub"), ca_b_);  // old key no longer listed
  auto retired = Run(1150);
  ASSERT_TRUE(retired);
  EXPECT_EQ(retired->Summary(), "unchanged");
  // Same keys in the same order (oldest first): the file is not rewritten.
  EXPECT_EQ(TrustedBlobs(), (std::vector<std::string>{Blob(ca_a_), Blob(ca_b_)}));
  ASSERT_TRUE(Run(1249));  // retired at 1150: still trusted until 1250
  EXPECT_EQ(TrustedBlobs().size(), 2u);
  auto dropped = Run(1250);
  ASSERT_TRUE(dropped);
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_b_)});
  EXPECT_NE(dropped->Summary().find("-SHA256:"), std::string::npos) << dropped->Summary();
  auto state = LoadState(config_.state_dir);
  ASSERT_TRUE(state);
  ASSERT_EQ(state->keys.size(), 1u);
  EXPECT_EQ(state->keys[0].first_seen, 1100);
}

TEST_F(AgentTest, BadIssuerAnswersChangeNothing) {
  WriteFile(config_.sshd.config, BaseConfig());
  ASSERT_TRUE(Run(1000));
  const auto before = Watched();
  for (const std::string& answer :
       {std::string(""), std::string("garbage\n"), ca_a_ + "ssh-ed25519 AAAAbroken x\n",
        std::string("# only a comment\n")}) {
    WriteFile(dir_.Path("issuer.pub"), answer);
    auto r = Run(2000);
    EXPECT_FALSE(r) << answer;
    auto now = Watched();
    EXPECT_EQ(now, before) << answer;
  }
  unlink(dir_.Path("issuer.pub").c_str());
  EXPECT_FALSE(Run(2000));
}

// The audit's case: a key put in the state file by another user would be
// trusted as a retired key. A state directory others may write stops the
// round before the state is read, and nothing changes.
TEST_F(AgentTest, AStateDirectoryOthersMayWriteStopsTheRoundBeforeItIsRead) {
  WriteFile(config_.sshd.config, BaseConfig());
  ASSERT_TRUE(Run());
  const auto before = Watched();
  ASSERT_EQ(chmod(config_.state_dir.c_str(), 0777), 0);
  auto r = Run(1001);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Errc::kUnsafePermissions);
  EXPECT_EQ(r.error().detail.rfind("state_dir " + config_.state_dir +
                                       ": another user could change which CA keys sshd trusts: directory " +
                                       config_.state_dir + ": unsafe permissions: writable by group or others",
                                   0),
            0u)
      << r.error().detail;
  EXPECT_EQ(Watched(), before);
  EXPECT_FALSE(Run(1001, /*dry_run=*/true));  // a dry run reads the state too
  ASSERT_EQ(chmod(config_.state_dir.c_str(), 0755), 0);
  EXPECT_TRUE(Run(1002));
}

TEST_F(AgentTest, DryRunShowsDiffsAndChangesNothing) {
  WriteFile(config_.sshd.config, BaseConfig());
  const auto before = Watched();
  auto r = Run(1000, true);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->changes.size(), 2u);
  EXPECT_NE(r->diff.find("--- /dev/null\n+++ " + config_.trusted_user_ca_keys + "\n"), std::string::npos);
  EXPECT_NE(r->diff.find("+TrustedUserCAKeys " + config_.trusted_user_ca_keys + "\n"), std::string::npos)
      << r->diff;
  EXPECT_EQ(Watched(), before);
}

TEST_F(AgentTest, SecondRunnerIsRefused) {
  WriteFile(config_.sshd.config, BaseConfig());
  auto lock = LockStateDir(config_.state_dir);
  ASSERT_TRUE(lock);
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("another cafetch is running"), std::string::npos);
}

TEST_F(AgentTest, Sha1RsaLinesOnlyWhenAskedOrForAkeylessRsa) {
  WriteFile(config_.sshd.config, BaseConfig());
  // Asked for, but no RSA CA is trusted: nothing is needed, nothing written.
  WriteFile(dir_.Path("issuer.pub"), ca_a_);
  config_.sshd.accept_sha1_rsa = AcceptSha1Rsa::kTrue;
  ASSERT_TRUE(Run());
  EXPECT_EQ(ReadFile(config_.sshd.config).find("ssh-rsa"), std::string::npos) << ReadFile(config_.sshd.config);
  WriteFile(dir_.Path("issuer.pub"), ca_rsa_);
  config_.sshd.accept_sha1_rsa = AcceptSha1Rsa::kAuto;  // file issuer: not known to use SHA-1
  ASSERT_TRUE(Run());
  EXPECT_EQ(ReadFile(config_.sshd.config).find("CASignatureAlgorithms"), std::string::npos);
  config_.sshd.accept_sha1_rsa = AcceptSha1Rsa::kTrue;
  auto r = Run(1001);
  ASSERT_TRUE(r) << r.error().detail;
  const std::string text = ReadFile(config_.sshd.config);
  auto version = DetectSshdVersion(kSshd);
  ASSERT_TRUE(version);
  if (version->AtLeast(8, 2)) {
    EXPECT_NE(text.find("CASignatureAlgorithms +ssh-rsa\n"), std::string::npos);
    std::string algs = Effective("casignaturealgorithms");
    EXPECT_NE(("," + algs + ",").find(",ssh-rsa,"), std::string::npos) << algs;
  }
  if (version->AtLeast(8, 8)) {
    EXPECT_NE(text.find("PubkeyAcceptedAlgorithms +ssh-rsa-cert-v01@openssh.com\n"), std::string::npos);
  }
}

// The audit's case: an RSA CA last listed by Akeyless (which signs with
// SHA-1) and retired by a move to another issuer stays trusted for
// keep_retired; with accept_sha1_rsa: auto, sshd keeps accepting its SHA-1
// certificates for that time, and not after.
TEST_F(AgentTest, Sha1StaysAcceptedWhileARetiredAkeylessRsaCaIsTrusted) {
  if (!SshdNeedsSha1Lines()) GTEST_SKIP() << "sshd before 8.2 accepts SHA-1 without any line";
  WriteFile(config_.sshd.config, BaseConfig());
  config_.sshd.accept_sha1_rsa = AcceptSha1Rsa::kAuto;
  ASSERT_NO_FATAL_FAILURE(SaveRetiredSha1RsaState(std::nullopt));  // from before retired lines
  auto r = Run(1000);  // the file issuer lists ca_a_ only
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_NE(ReadFile(config_.sshd.config).find("CASignatureAlgorithms +ssh-rsa\n"), std::string::npos)
      << ReadFile(config_.sshd.config);
  bool said = false;
  for (const core::LogRecord& record : log_.records) {
    said = said || record.message.find("was last listed by an issuer, which signs certificates with SHA-1 "
                                       "ssh-rsa (retired, still trusted): telling sshd to accept them") !=
                       std::string::npos;
  }
  EXPECT_TRUE(said);
  // keep_retired (100 s) after it was last listed, the key and the lines go.
  auto later = Run(1090);
  ASSERT_TRUE(later) << later.error().detail;
  EXPECT_EQ(ReadFile(config_.sshd.config).find("ssh-rsa"), std::string::npos) << ReadFile(config_.sshd.config);
}

TEST(SourceLabelTest, NoCredentialFromTheUrl) {
  IssuerConfig issuer;
  issuer.type = IssuerType::kVault;
  issuer.url = "https://user:s3cr@t@vault.example:8200/v1/ssh/public_key?token=abc#frag";
  EXPECT_EQ(SourceLabel(issuer), "the vault issuer https://vault.example:8200/v1/ssh/public_key");
  issuer.url = "https://vault.example/v1/a@b";  // an '@' in the path is not userinfo
  EXPECT_EQ(SourceLabel(issuer), "the vault issuer https://vault.example/v1/a@b");
  issuer.type = IssuerType::kFile;
  issuer.url = "/srv/ca@keys.pub";
  EXPECT_EQ(SourceLabel(issuer), "the file issuer /srv/ca@keys.pub");
}

TEST(FailureOutcomeTest, SaysWhenARollbackLeftFilesChanged) {
  EXPECT_EQ(FailureOutcome({core::Errc::kIo, "sshd -t failed; previous files restored"}),
            "nothing changed");
  const std::string detail = std::string("reload failed; the previous files could not all be restored; ") +
                             kRestoreFailed + "/etc/ssh/sshd_config FAILED, so it keeps this round's version: "
                             "rename: EROFS";
  EXPECT_NE(FailureOutcome({core::Errc::kIo, detail}).find("LEFT CHANGED"), std::string::npos);
}

}  // namespace
}  // namespace certgate::cafetch
