#include "cafetch/sshd_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::kSshd;
using ::certgate::testing::SshdUsable;
using ::certgate::testing::MakeKey;
using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

// Base returns a minimal config with a host key in |dir|.
std::string Base(const TempDir& dir) {
  std::string host = MakeKey(dir, "host", "ed25519");
  return "ListenAddress 127.0.0.1\nPort 2299\nHostKey " + host + "\nPidFile " +
         dir.Path("sshd.pid") + "\nUsePAM no\n";
}

TEST(SshdCheckTest, ParseEffectiveConfig) {
  EffectiveConfig e = ParseEffectiveConfig(
      "port 22\nListenAddress 0.0.0.0:22\nlistenaddress [::]:22\ntrustedusercakeys /a b\n\nbanner\n");
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[1].first, "listenaddress");
  EXPECT_EQ(EffectiveValue(e, "listenaddress"), "0.0.0.0:22");  // first wins
  EXPECT_EQ(EffectiveValue(e, "trustedusercakeys"), "/a b");
  EXPECT_EQ(EffectiveValue(e, "banner"), "");
  EXPECT_EQ(EffectiveValue(e, "absent"), "");
}

TEST(SshdCheckTest, VerifyEffective) {
  EffectiveConfig e = ParseEffectiveConfig(
      "trustedusercakeys /etc/ssh/certgate/keys\n"
      "authorizedprincipalscommand /usr/libexec/certgate/principals-cmd %u %t %k\n"
      "casignaturealgorithms ssh-ed25519,rsa-sha2-512,ssh-rsa\n"
      "pubkeyacceptedalgorithms ssh-ed25519,ssh-rsa-cert-v01@openssh.com\n");
  EXPECT_TRUE(VerifyEffective(e, {{"TrustedUserCAKeys", "/etc/ssh/certgate/keys"},
                                  {"AuthorizedPrincipalsCommand", kPrincipalsCommand},
                                  {"CASignatureAlgorithms", "+ssh-rsa"},
                                  {"PubkeyAcceptedKeyTypes", "+ssh-rsa-cert-v01@openssh.com"}}));
  auto other = VerifyEffective(e, {{"TrustedUserCAKeys", "/mine"}});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, core::Errc::kBadFormat);
  EXPECT_EQ(other.error().detail,
            "sshd -T shows trustedusercakeys /etc/ssh/certgate/keys, not /mine (an earlier line in the configuration "
            "wins: the first value is used); remove the TrustedUserCAKeys line that comes before cafetch's, in "
            "sshd_config or an earlier drop-in");
  auto casig = VerifyEffective(e, {{"CASignatureAlgorithms", "+ssh-dss"}});
  ASSERT_FALSE(casig);
  EXPECT_EQ(casig.error().detail,
            "sshd -T shows casignaturealgorithms without ssh-dss (an earlier line in the configuration wins?); "
            "remove or change the admin's own CASignatureAlgorithms line that comes first");
  // sshd -T prints the new name; the admin's file may use the old one.
  auto pubkey = VerifyEffective(e, {{"PubkeyAcceptedAlgorithms", "+ssh-rsa"}});  // whole items only
  ASSERT_FALSE(pubkey);
  EXPECT_EQ(pubkey.error().detail,
            "sshd -T shows pubkeyacceptedalgorithms without ssh-rsa (an earlier line in the configuration wins?); "
            "remove or change the admin's own PubkeyAcceptedAlgorithms (or its old name PubkeyAcceptedKeyTypes) "
            "line that comes first");
  auto dropped = VerifyEffective(ParseEffectiveConfig("authorizedprincipalscommand none\n"),
                                 {{"AuthorizedPrincipalsCommand", kPrincipalsCommand}});
  ASSERT_FALSE(dropped);
  EXPECT_NE(dropped.error().detail.find("9.2"), std::string::npos);
}

TEST(SshdCheckTest, RealSshdVersion) {
  if (access(kSshd, X_OK) != 0) GTEST_SKIP() << "no sshd";
  auto v = DetectSshdVersion(kSshd);
  ASSERT_TRUE(v) << v.error().detail;
  EXPECT_TRUE(v->AtLeast(7, 0));
  EXPECT_FALSE(DetectSshdVersion("/bin/true"));
}

TEST(SshdCheckTest, RealSshdSyntaxCheck) {
  if (!SshdUsable()) GTEST_SKIP() << "needs root and " << kSshd;
  TempDir dir;
  const std::string base = Base(dir);
  WriteFile(dir.Path("good"), base + "TrustedUserCAKeys /nonexistent/is/fine\n");
  EXPECT_TRUE(CheckSshdConfig(kSshd, dir.Path("good")));
  WriteFile(dir.Path("bad"), base + "TrustedUserCAKeyz /x\n");
  auto bad = CheckSshdConfig(kSshd, dir.Path("bad"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, core::Errc::kBadFormat);
  EXPECT_NE(bad.error().detail.find("TrustedUserCAKeyz"), std::string::npos) << bad.error().detail;
  EXPECT_FALSE(DumpEffectiveConfig(kSshd, dir.Path("bad")));
}

TEST(SshdCheckTest, RealSshdShowsAdminsEarlierValueAnd92Drop) {
  if (!SshdUsable()) GTEST_SKIP() << "needs root and " << kSshd;
  TempDir dir;
  const std::string base = Base(dir);
  const std::vector<Directive> wanted = {
      {"AuthorizedPrincipalsCommand", kPrincipalsCommand},
      {"AuthorizedPrincipalsCommandUser", kPrincipalsCommandUser},
      {"TrustedUserCAKeys", dir.Path("keys")}};
  std::string ours;
  for (const Directive& d : wanted) ours += d.Line() + "\n";
  WriteFile(dir.Path("ok"), base + ours);
  auto ok = DumpEffectiveConfig(kSshd, dir.Path("ok"));
  ASSERT_TRUE(ok) << ok.error().detail;
  EXPECT_TRUE(VerifyEffective(*ok, wanted));
  EXPECT_EQ(EffectiveValue(*ok, "pidfile"), dir.Path("sshd.pid"));

  // An admin's TrustedUserCAKeys earlier in the file wins: detected.
  WriteFile(dir.Path("admin"), base + "TrustedUserCAKeys /etc/ssh/admin_ca\n" + ours);
  auto admin = DumpEffectiveConfig(kSshd, dir.Path("admin"));
  ASSERT_TRUE(admin);
  auto conflict = VerifyEffective(*admin, wanted);
  ASSERT_FALSE(conflict);
  EXPECT_NE(conflict.error().detail.find("/etc/ssh/admin_ca"), std::string::npos);

  // OpenSSH 9.2 drops the principals command after an AuthorizedKeysCommand.
  auto version = DetectSshdVersion(kSshd);
  ASSERT_TRUE(version);
  if (version->major == 9 && version->minor == 2) {
    WriteFile(dir.Path("akc"), base + "AuthorizedKeysCommand /bin/true\n"
                                      "AuthorizedKeysCommandUser nobody\n" + ours);
    auto akc = DumpEffectiveConfig(kSshd, dir.Path("akc"));
    ASSERT_TRUE(akc);
    EXPECT_EQ(EffectiveValue(*akc, "authorizedprincipalscommand"), "none");
    EXPECT_FALSE(VerifyEffective(*akc, wanted));
  }
}

}  // namespace
}  // namespace certgate::cafetch
