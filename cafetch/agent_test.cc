#include "cafetch/agent.h"

#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "cafetch/sshd_check.h"
#include "cafetch/state.h"
#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::kSshd;
using ::certgate::testing::SshdUsable;
using ::certgate::testing::MakeKey;
using ::certgate::testing::ReadFile;
using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

// Snapshot returns every regular file under |dir| (relative path -> bytes).
std::map<std::string, std::string> Snapshot(const std::string& dir, const std::string& prefix = "") {
  std::map<std::string, std::string> files;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return files;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      files[prefix + name + "/"] = "";
      for (auto& [k, v] : Snapshot(path, prefix + name + "/")) files[k] = v;
    } else {
      files[prefix + name] = ReadFile(path);
    }
  }
  closedir(d);
  return files;
}

// Fixture: a host key, CA keys, a file issuer and a private sshd_config,
// all in one temporary directory; the real sshd checks every candidate.
class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!SshdUsable()) GTEST_SKIP() << "needs root and " << kSshd;
    host_ = MakeKey(dir_, "host", "ed25519");
    ca_a_ = ReadFile(MakeKey(dir_, "ca_a", "ed25519") + ".pub");
    ca_b_ = ReadFile(MakeKey(dir_, "ca_b", "ecdsa") + ".pub");
    ca_rsa_ = ReadFile(MakeKey(dir_, "ca_rsa", "rsa", 2048) + ".pub");
    mkdir(dir_.Path("etc").c_str(), 0755);
    WriteFile(dir_.Path("issuer.pub"), ca_a_);
    config_.issuer.type = IssuerType::kFile;
    config_.issuer.url = dir_.Path("issuer.pub");
    config_.keep_retired_seconds = 100;
    config_.trusted_user_ca_keys = dir_.Path("etc/certgate/trusted_user_ca_keys");
    config_.state_dir = dir_.Path("state");
    config_.sshd.config = dir_.Path("etc/sshd_config");
    config_.sshd.binary = kSshd;
    config_.sshd.manage_principals_command = false;
    config_.sshd.reload = ReloadMode::kSignal;  // PidFile absent: nothing to reload
    WriteFile(principals_cmd_, "#!/bin/sh\n", 0755);  // stands in for the installed helper
  }

  std::string BaseConfig() const {
    return "ListenAddress 127.0.0.1\nPort 2299\nHostKey " + host_ + "\nPidFile " +
           dir_.Path("sshd.pid") + "\nUsePAM no\n";
  }

  core::Result<RunOutcome> Run(int64_t now = 1000, bool dry_run = false) {
    RunOptions options;
    options.directories.trusted_root = certgate::testing::TempRoot();
    options.principals_command_program = principals_cmd_;
    options.principals_command_user = principals_user_;
    options.now = now;
    options.dry_run = dry_run;
    return RunOnce(config_, options, &log_);
  }

  // Watched returns what cafetch may change: everything under etc/ and the
  // state file (the lock file and state directory are not state).
  std::map<std::string, std::string> Watched() const {
    auto files = Snapshot(dir_.Path("etc"));
    files["state file"] = ReadFile(dir_.Path("state/cafetch.state"));
    return files;
  }

  std::string Effective(const std::string& keyword) {
    auto e = DumpEffectiveConfig(kSshd, config_.sshd.config);
    EXPECT_TRUE(e) << e.error().detail;
    return e ? EffectiveValue(*e, keyword) : "";
  }

  // TrustedBlobs returns the base64 fields of the installed key file.
  std::vector<std::string> TrustedBlobs() {
    std::vector<std::string> out;
    std::string text = ReadFile(config_.trusted_user_ca_keys);
    size_t at = 0;
    while (at < text.size()) {
      size_t nl = text.find('\n', at);
      std::string line = text.substr(at, nl - at);
      at = nl == std::string::npos ? text.size() : nl + 1;
      if (line.empty() || line[0] == '#') continue;
      size_t sp = line.find(' ');
      out.push_back(line.substr(sp + 1, line.find(' ', sp + 1) - sp - 1));
    }
    return out;
  }
  static std::string Blob(const std::string& pub) {
    size_t sp = pub.find(' ');
    return pub.substr(sp + 1, pub.find(' ', sp + 1) - sp - 1);
  }

  TempDir dir_;
  std::string host_, ca_a_, ca_b_, ca_rsa_;
  Config config_;
  core::CaptureLogSink log_;
  // What sshd.manage_principals_command's check looks at, in place of
  // /usr/libexec/certgate/principals-cmd and the certgate user.
  std::string principals_cmd_ = dir_.Path("principals-cmd");
  std::string principals_user_ = "root";
};

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
  ASSERT_TRUE(Run(1199));  // last seen at 1100: still trusted until 1200
  EXPECT_EQ(TrustedBlobs().size(), 2u);
  auto dropped = Run(1200);
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
  EXPECT_EQ(detail.rfind("the sshd configuration fails sshd -t already, before any change: sshd -t -f " +
                             config_.sshd.config + " failed (",
                         0),
            0u)
      << detail;
  EXPECT_NE(detail.find(config_.sshd.config + ": line 6: Bad configuration option: BogusKeyword; fix it first"),
            std::string::npos)
      << detail;
  EXPECT_EQ(detail.find("\\x0d"), std::string::npos) << detail;
  EXPECT_EQ(Watched(), before);
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

// WrapSshd makes cafetch run the shell |script| before every sshd it runs,
// with sshd's arguments in "$@"; the real sshd runs after it unless the
// script exits.
void WrapSshd(const TempDir& dir, const std::string& script, Config* config) {
  const std::string wrapper = dir.Path("sshd-wrapper");
  WriteFile(wrapper, "#!/bin/sh\n" + script + "exec " + std::string(kSshd) + " \"$@\"\n", 0755);
  config->sshd.binary = wrapper;
}

// RejectInstalled makes the check of the installed |path| fail (the check of
// the candidate, in state_dir, still runs the real sshd).
void RejectInstalled(const TempDir& dir, const std::string& path, Config* config) {
  WrapSshd(dir,
           "for a; do [ \"$a\" = '" + path + "' ] && "
           "{ echo 'injected: the installed file is refused' >&2; exit 255; }; done\n",
           config);
}

// OnCandidateCheck makes sshd -t of each candidate (the files in
// state_dir/candidates; $f is its main file) run the shell |action| first;
// every other run is the real sshd's.
void OnCandidateCheck(const TempDir& dir, const std::string& action, Config* config) {
  WrapSshd(dir,
           "f=; prev=; for a; do [ \"$prev\" = -f ] && f=$a; prev=$a; done\n"
           "case \"$1:$f\" in -t:*/candidates/*/sshd_config)\n" + action + ";;\n"
           "esac\n",
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
  EXPECT_NE(detail.find(config_.sshd.config + ": line 2: Bad configuration option: Injected"), std::string::npos)
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
                        ": line 2: Bad configuration option: Injected"),
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

TEST_F(AgentTest, AFailedReloadRestoresEverythingAndKeepsTheMark) {
  WriteFile(config_.sshd.config, BaseConfig());
  WriteFile(dir_.Path("sshd.pid"), "not a pid\n");
  auto r = Run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("previous files restored"), std::string::npos) << r.error().detail;
  EXPECT_EQ(ReadFile(config_.sshd.config), BaseConfig());
  EXPECT_EQ(access(config_.trusted_user_ca_keys.c_str(), F_OK), -1);
  EXPECT_EQ(access(dir_.Path("state/cafetch.state").c_str(), F_OK), -1);  // restored: none
  EXPECT_TRUE(*ReloadPending(config_.state_dir));
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
  EXPECT_NE(r.error().detail.find("mkdir " + dir_.Path("etc/missing/certgate")), std::string::npos)
      << r.error().detail;
  EXPECT_FALSE(*ReloadPending(config_.state_dir));
  EXPECT_EQ(Watched(), before);
}

TEST_F(AgentTest, ARollbackKeepsAReloadMarkAnEarlierRoundLeft) {
  WriteFile(config_.sshd.config, BaseConfig());
  ASSERT_TRUE(MarkReloadPending(config_.state_dir));  // an earlier round was killed
  RejectInstalled(dir_, config_.sshd.config, &config_);
  ASSERT_FALSE(Run());
  EXPECT_TRUE(*ReloadPending(config_.state_dir));
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
  auto version = DetectSshdVersion(kSshd);
  ASSERT_TRUE(version);
  if (!version->AtLeast(8, 2)) GTEST_SKIP() << "sshd before 8.2 accepts SHA-1 without any line";
  WriteFile(config_.sshd.config, BaseConfig());
  config_.sshd.accept_sha1_rsa = AcceptSha1Rsa::kAuto;
  State was;
  auto rsa = core::ParsePublicKeyLine(ca_rsa_.substr(0, ca_rsa_.find('\n')));
  ASSERT_TRUE(rsa);
  was.keys.push_back({CaKey{rsa->key, rsa->comment}, 900, 990, false});
  was.keys.back().sha1_issuer = true;
  ASSERT_TRUE(SaveState(config_.state_dir, was));
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
  const std::string detail = std::string("reload failed; previous files restored; ") +
                             kRestoreFailed + "/etc/ssh/sshd_config FAILED: rename: EROFS";
  EXPECT_NE(FailureOutcome({core::Errc::kIo, detail}).find("LEFT CHANGED"), std::string::npos);
}

}  // namespace
}  // namespace certgate::cafetch
