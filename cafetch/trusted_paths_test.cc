#include "cafetch/trusted_paths.h"

#include <sys/stat.h>
#include <cstdlib>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::TempDir;
using ::certgate::testing::TempRoot;
using ::certgate::testing::WriteFile;

constexpr uid_t kNobody = 65534;

// Fixture: every path cafetch.yaml names, in one temporary directory that
// stands for / (the rule's trusted root is $TMPDIR).
class TrustedPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (files of other owners)";
    ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
    for (const char* d : {"state", "keys", "issuer", "tls", "token"}) ASSERT_EQ(mkdir(dir_.Path(d).c_str(), 0755), 0);
    WriteFile(dir_.Path("state/cafetch.state"), "# state\n", 0644);
    WriteFile(dir_.Path("keys/trusted_user_ca_keys"), "# keys\n", 0644);
    WriteFile(dir_.Path("issuer/ca.pub"), "# issuer\n", 0644);
    WriteFile(dir_.Path("issuer/ca.pub.sig"), "# signature\n", 0644);
    WriteFile(dir_.Path("tls/ca.pem"), "# tls\n", 0644);
    config_.state_dir = dir_.Path("state");
    config_.trusted_user_ca_keys = dir_.Path("keys/trusted_user_ca_keys");
    config_.issuer.type = IssuerType::kFile;
    config_.issuer.url = dir_.Path("issuer/ca.pub");
    config_.bundle_signature.emplace();
    config_.bundle_signature->url = "file://" + dir_.Path("issuer/ca.pub.sig");
    config_.issuer.tls.ca_file = dir_.Path("tls/ca.pem");
    config_.issuer.token_file = dir_.Path("token/token");
    rule_.trusted_root = TempRoot();
  }

  // Refused checks that the paths fail, naming |key| and |needle|.
  void Refused(const std::string& key, const std::string& needle) {
    core::Status st = CheckTrustedPaths(config_, rule_);
    ASSERT_FALSE(st) << key;
    EXPECT_EQ(st.error().code, core::Errc::kUnsafePermissions) << st.error().detail;
    EXPECT_EQ(st.error().detail.rfind(key + " ", 0), 0u) << st.error().detail;
    EXPECT_NE(st.error().detail.find(needle), std::string::npos) << st.error().detail;
  }

  TempDir dir_;
  Config config_;
  core::DirectoryRule rule_;
};

TEST_F(TrustedPathsTest, RootOwnedPathsPass) {
  core::Status st = CheckTrustedPaths(config_, rule_);
  EXPECT_TRUE(st) << st.error().detail;
}

TEST_F(TrustedPathsTest, FilesNotThereYetAreCheckedByTheDirectoryTheyWouldBeMadeIn) {
  config_.state_dir = dir_.Path("state/new/deeper");
  config_.trusted_user_ca_keys = dir_.Path("keys/new/trusted_user_ca_keys");
  config_.issuer.url = dir_.Path("issuer/missing.pub");
  config_.issuer.tls.ca_file.clear();
  core::Status st = CheckTrustedPaths(config_, rule_);
  EXPECT_TRUE(st) << st.error().detail;

  ASSERT_EQ(chmod(dir_.Path("state").c_str(), 0777), 0);
  Refused("state_dir", "directory " + dir_.Path("state") + ": unsafe permissions: writable by group or others; "
                       "run chmod go-w " + dir_.Path("state"));
}

// The audit's case: in a directory others may write, another user could
// put a key in the state file, which cafetch would trust as a retired one.
TEST_F(TrustedPathsTest, AStateDirectoryOthersMayWriteIsRefused) {
  ASSERT_EQ(chmod(dir_.Path("state").c_str(), 0777), 0);
  Refused("state_dir", ": another user could change which CA keys sshd trusts: directory ");
}

TEST_F(TrustedPathsTest, AStateFileOfAnotherOwnerIsRefused) {
  ASSERT_EQ(chown(dir_.Path("state/cafetch.state").c_str(), kNobody, 0), 0);
  Refused("state_dir", dir_.Path("state/cafetch.state") +
                           ": another user could change which CA keys sshd trusts: unsafe permissions: owned by uid 65534, not root; "
                       "run chown root " + dir_.Path("state/cafetch.state"));
}

// A root-owned directory in /tmp (mkdtemp's) is safe: in a sticky
// directory nobody else may rename or remove what root owns.
TEST_F(TrustedPathsTest, ARootOwnedDirectoryInASharedStickyOneIsAcceptedButNotForTheKeyFile) {
  ASSERT_EQ(chmod(dir_.path().c_str(), 01777), 0);
  // The key file is read by sshd with no check at all: were /tmp emptied
  // and the directory made again by another user, sshd would trust what
  // that user put there. It stays under the strict rule.
  Refused("trusted_user_ca_keys", "(a shared directory like /tmp)");
  config_.trusted_user_ca_keys = "/etc/ssh/trusted_user_ca_keys";
  core::Status st = CheckTrustedPaths(config_, rule_);
  EXPECT_TRUE(st) << st.error().detail;
}

// But not the files themselves in it, nor a directory to be made there:
// another user could have made that name first.
TEST_F(TrustedPathsTest, FilesOrNewDirectoriesInASharedStickyDirectoryAreRefused) {
  ASSERT_EQ(chmod(dir_.Path("keys").c_str(), 01777), 0);
  Refused("trusted_user_ca_keys", "move the files to a directory only root can write");
  ASSERT_EQ(chmod(dir_.Path("keys").c_str(), 0755), 0);
  ASSERT_EQ(chmod(dir_.Path("state").c_str(), 01777), 0);
  config_.state_dir = dir_.Path("state/new");
  Refused("state_dir", "directory " + dir_.Path("state") + ": unsafe permissions: writable by group or others "
                       "(a shared directory like /tmp)");
}

// A sticky directory others own does not count: its owner could swap what
// is in it.
TEST_F(TrustedPathsTest, ASharedStickyDirectoryOfAnotherOwnerAboveIsRefused) {
  ASSERT_EQ(chmod(dir_.path().c_str(), 01777), 0);
  ASSERT_EQ(chown(dir_.path().c_str(), kNobody, 0), 0);
  Refused("state_dir", "owned by uid 65534");
}

TEST_F(TrustedPathsTest, ALinkedStateDirectoryIsRefused) {
  ASSERT_EQ(symlink(dir_.Path("state").c_str(), dir_.Path("linked").c_str()), 0);
  config_.state_dir = dir_.Path("linked");
  Refused("state_dir", "is a symbolic link");
}

// The state file's name is cafetch's own: a link there is named, with
// what it leads to, and the remedy is to remove it.
TEST_F(TrustedPathsTest, ALinkedStateFileIsRefusedNamingIt) {
  const std::string state = dir_.Path("state/cafetch.state");
  ASSERT_EQ(rename(state.c_str(), dir_.Path("state/elsewhere").c_str()), 0);
  ASSERT_EQ(symlink(dir_.Path("state/elsewhere").c_str(), state.c_str()), 0);
  char* real = realpath(state.c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  const std::string target = real;
  free(real);
  Refused("state_dir", state + ": is a symbolic link to " + target +
                           "; cafetch does not follow links, remove the link (cafetch writes cafetch.state itself)");
}

TEST_F(TrustedPathsTest, AKeyFileOthersMayWriteIsRefused) {
  ASSERT_EQ(chmod(dir_.Path("keys/trusted_user_ca_keys").c_str(), 0666), 0);
  Refused("trusted_user_ca_keys", "run chmod go-w " + dir_.Path("keys/trusted_user_ca_keys"));
}

TEST_F(TrustedPathsTest, AKeyDirectoryOfAnotherOwnerIsRefused) {
  ASSERT_EQ(chown(dir_.Path("keys").c_str(), kNobody, 0), 0);
  Refused("trusted_user_ca_keys", "owned by uid 65534");
}

TEST_F(TrustedPathsTest, ALocalIssuerFileOfAnotherOwnerIsRefused) {
  ASSERT_EQ(chown(dir_.Path("issuer/ca.pub").c_str(), kNobody, 0), 0);
  Refused("issuer.url", "owned by uid 65534");
  // Named by the key the config used.
  config_.issuer.url_key = "issuer.path";
  Refused("issuer.path", "owned by uid 65534");
  config_.issuer.url_key = "issuer.url";
  // The same file named as a file:/// URL of a url issuer.
  config_.issuer.type = IssuerType::kUrl;
  config_.issuer.url = "file://" + dir_.Path("issuer/ca.pub");
  Refused("issuer.url", "owned by uid 65534");
}

TEST_F(TrustedPathsTest, ALocalSignatureOthersMayWriteIsRefused) {
  ASSERT_EQ(chmod(dir_.Path("issuer/ca.pub.sig").c_str(), 0646), 0);
  Refused("bundle_signature.url", "run chmod go-w");
}

TEST_F(TrustedPathsTest, ATlsCaFileInADirectoryOthersMayWriteIsRefused) {
  ASSERT_EQ(chmod(dir_.Path("tls").c_str(), 0775), 0);
  Refused("issuer.tls.ca_file", "run chmod go-w " + dir_.Path("tls"));
}

// A link is not followed (say, a distribution's CA bundle): the message
// names the file to give instead.
TEST_F(TrustedPathsTest, ALinkedTlsCaFileIsRefusedNamingTheRealFile) {
  ASSERT_EQ(symlink(config_.issuer.tls.ca_file.c_str(), dir_.Path("tls/bundle.pem").c_str()), 0);
  config_.issuer.tls.ca_file = dir_.Path("tls/bundle.pem");
  char* real = realpath(dir_.Path("tls/bundle.pem").c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  const std::string target = real;
  free(real);
  Refused("issuer.tls.ca_file", dir_.Path("tls/bundle.pem") + ": is a symbolic link to " + target +
                                    "; cafetch does not follow links, name the real file");
}

// What cafetch cannot reach is an error, not called a risk.
TEST_F(TrustedPathsTest, AStateDirectoryUnderAFileIsAnErrorNotARisk) {
  config_.state_dir = dir_.Path("issuer/ca.pub/state");
  core::Status st = CheckTrustedPaths(config_, rule_);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, core::Errc::kIo);
  EXPECT_EQ(st.error().detail.find("another user could"), std::string::npos) << st.error().detail;
  EXPECT_NE(st.error().detail.find("state_dir " + config_.state_dir + ": directory "), std::string::npos)
      << st.error().detail;
  EXPECT_TRUE(st.error().detail.ends_with("; fix it or set state_dir in cafetch.yaml to a path root can read"))
      << st.error().detail;
}

TEST_F(TrustedPathsTest, ATokenFileInADirectoryOthersMayWriteIsRefused) {
  ASSERT_EQ(chmod(dir_.Path("token").c_str(), 0757), 0);
  Refused("issuer.token_file", "run chmod go-w " + dir_.Path("token"));
}

TEST_F(TrustedPathsTest, AnHttpsIssuerHasNoLocalFileToCheck) {
  config_.issuer.type = IssuerType::kVault;
  config_.issuer.url = "https://vault.example.com/v1/ssh/public_key";
  config_.bundle_signature.reset();
  ASSERT_EQ(chown(dir_.Path("issuer/ca.pub").c_str(), kNobody, 0), 0);  // not read
  core::Status st = CheckTrustedPaths(config_, rule_);
  EXPECT_TRUE(st) << st.error().detail;
}

}  // namespace
}  // namespace certgate::cafetch
