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
                                  {"PubkeyAcceptedKeyTypes", "+ssh-rsa-cert-v01@openssh.com"}},
                              {}));
  auto other = VerifyEffective(e, {{"TrustedUserCAKeys", "/mine"}}, {});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, core::Errc::kBadFormat);
  EXPECT_EQ(other.error().detail,
            "sshd -T shows trustedusercakeys /etc/ssh/certgate/keys, not /mine (an earlier line in the configuration "
            "wins: the first value is used); remove the TrustedUserCAKeys line that comes before cafetch's, in "
            "sshd_config or an earlier drop-in");
  auto casig = VerifyEffective(e, {{"CASignatureAlgorithms", "+ssh-dss"}}, {});
  ASSERT_FALSE(casig);
  EXPECT_EQ(casig.error().detail,
            "sshd -T shows casignaturealgorithms without ssh-dss (an earlier line in the configuration wins?); "
            "remove or change the admin's own CASignatureAlgorithms line that comes first");
  // sshd -T prints the new name; the admin's file may use the old one.
  auto pubkey = VerifyEffective(e, {{"PubkeyAcceptedAlgorithms", "+ssh-rsa"}}, {});  // whole items only
  ASSERT_FALSE(pubkey);
  EXPECT_EQ(pubkey.error().detail,
            "sshd -T shows pubkeyacceptedalgorithms without ssh-rsa (an earlier line in the configuration wins?); "
            "remove or change the admin's own PubkeyAcceptedAlgorithms (or its old name PubkeyAcceptedKeyTypes) "
            "line that comes first");
  auto dropped = VerifyEffective(ParseEffectiveConfig("authorizedprincipalscommand none\n"),
                                 {{"AuthorizedPrincipalsCommand", kPrincipalsCommand}}, {});
  ASSERT_FALSE(dropped);
  EXPECT_NE(dropped.error().detail.find("9.2"), std::string::npos);
  // Without the configuration's lines, a principals command that is not
  // cafetch's may come from a line before it or, on 9.2, after it.
  auto principals = VerifyEffective(ParseEffectiveConfig("authorizedprincipalscommand /usr/bin/true %u\n"),
                                    {{"AuthorizedPrincipalsCommand", kPrincipalsCommand}}, {});
  ASSERT_FALSE(principals);
  EXPECT_EQ(principals.error().detail,
            "sshd -T shows authorizedprincipalscommand /usr/bin/true %u, not " + std::string(kPrincipalsCommand) +
                " (an admin's AuthorizedPrincipalsCommand line wins: one before cafetch's, or, on OpenSSH 9.2, which "
                "takes the last value of this keyword, one after it); remove the admin's AuthorizedPrincipalsCommand "
                "line, in sshd_config or a drop-in, or set sshd.manage_principals_command: false");
}

// Files for ConfigLines: the main file and the drop-ins Debian's Include
// names, read from a map instead of the disk.
std::vector<ConfigLine> LinesOf(const std::string& main_text, const std::vector<ConfigFile>& drop_ins) {
  return ConfigLines("/etc/ssh/sshd_config", main_text, [&](const std::string& pattern) {
    return pattern == "/etc/ssh/sshd_config.d/*.conf" ? drop_ins : std::vector<ConfigFile>{};
  });
}

// With the configuration's lines, the admin's line that wins is named by
// file and line, for each keyword cafetch writes.
TEST(SshdCheckTest, VerifyEffectiveNamesTheAdminsLineThatWins) {
  const std::vector<Directive> ours = {{"AuthorizedPrincipalsCommand", kPrincipalsCommand},
                                       {"AuthorizedPrincipalsCommandUser", kPrincipalsCommandUser},
                                       {"TrustedUserCAKeys", "/etc/ssh/certgate/keys"},
                                       {"CASignatureAlgorithms", "+ssh-rsa"},
                                       {"PubkeyAcceptedAlgorithms", "+ssh-rsa-cert-v01@openssh.com"}};
  std::string ours_text;
  for (const Directive& d : ours) ours_text += d.Line() + "\n";
  const std::vector<ConfigLine> lines = LinesOf(
      "Include /etc/ssh/sshd_config.d/*.conf\nCASignatureAlgorithms ssh-ed25519\n",
      {{"/etc/ssh/sshd_config.d/01-admin.conf",
        "# the admin's\nTrustedUserCAKeys /etc/ssh/admin_ca\nPubkeyAcceptedKeyTypes ssh-ed25519\n"
        "AuthorizedPrincipalsCommandUser nobody\n"},
       {"/etc/ssh/sshd_config.d/05-certgate.conf", ours_text},
       {"/etc/ssh/sshd_config.d/50-admin.conf", "AuthorizedPrincipalsCommand /usr/bin/true %u\n"}});
  const EffectiveConfig e = ParseEffectiveConfig(
      "authorizedprincipalscommand /usr/bin/true %u\n"
      "authorizedprincipalscommanduser nobody\n"
      "trustedusercakeys /etc/ssh/admin_ca\n"
      "casignaturealgorithms ssh-ed25519\n"
      "pubkeyacceptedalgorithms ssh-ed25519\n");
  struct Case {
    Directive wanted;
    std::string detail;
  };
  const Case cases[] = {
      // OpenSSH 9.2 takes the last AuthorizedPrincipalsCommand: a later
      // drop-in wins.
      {ours[0], "sshd -T shows authorizedprincipalscommand /usr/bin/true %u, not " + std::string(kPrincipalsCommand) +
                    ": the admin's AuthorizedPrincipalsCommand line /etc/ssh/sshd_config.d/50-admin.conf:1 wins (it "
                    "comes after cafetch's; OpenSSH 9.2 takes the last value of this keyword, not the first); remove "
                    "that line or set sshd.manage_principals_command: false"},
      {ours[1], "sshd -T shows authorizedprincipalscommanduser nobody, not certgate: the admin's line "
                "/etc/ssh/sshd_config.d/01-admin.conf:4 comes before cafetch's and wins (the first value is used); "
                "remove that AuthorizedPrincipalsCommandUser line"},
      {ours[2], "sshd -T shows trustedusercakeys /etc/ssh/admin_ca, not /etc/ssh/certgate/keys: the admin's line "
                "/etc/ssh/sshd_config.d/01-admin.conf:2 comes before cafetch's and wins (the first value is used); "
                "remove that TrustedUserCAKeys line"},
      // The admin's line comes after cafetch's: not what sshd -T shows
      // (a -o on sshd's command line, say), so no line is named.
      {ours[3], "sshd -T shows casignaturealgorithms without ssh-rsa (an earlier line in the configuration wins?); "
                "remove or change the admin's own CASignatureAlgorithms line that comes first"},
      // Found by its old name.
      {ours[4], "sshd -T shows pubkeyacceptedalgorithms without ssh-rsa-cert-v01@openssh.com: the admin's line "
                "/etc/ssh/sshd_config.d/01-admin.conf:3 comes before cafetch's and wins (the first value is used); "
                "remove or change that PubkeyAcceptedAlgorithms (or its old name PubkeyAcceptedKeyTypes) line"},
  };
  for (const Case& c : cases) {
    auto r = VerifyEffective(e, {c.wanted}, lines);
    ASSERT_FALSE(r) << c.wanted.keyword;
    EXPECT_EQ(r.error().code, core::Errc::kBadFormat);
    EXPECT_EQ(r.error().detail, c.detail);
  }

  // OpenSSH 9.2's dropped principals command names the AuthorizedKeysCommand.
  auto dropped = VerifyEffective(
      ParseEffectiveConfig("authorizedprincipalscommand none\n"), {ours[0]},
      LinesOf("Port 22\nAuthorizedKeysCommand /bin/true\nInclude sshd_config.d/*.conf\n",
              {{"/etc/ssh/sshd_config.d/05-certgate.conf", ours_text}}));
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().detail,
            "sshd -T shows authorizedprincipalscommand none, not " + std::string(kPrincipalsCommand) +
                " (OpenSSH 9.2 drops AuthorizedPrincipalsCommand when an AuthorizedKeysCommand comes before it: "
                "/etc/ssh/sshd_config:2); remove that AuthorizedKeysCommand line or set "
                "sshd.manage_principals_command: false");
  // Still so with an admin's principals command after cafetch's: sshd -T
  // does not show it either, so it is not blamed.
  auto dropped_too = VerifyEffective(
      ParseEffectiveConfig("authorizedprincipalscommand none\n"), {ours[0]},
      LinesOf("Port 22\nAuthorizedKeysCommand /bin/true\nInclude sshd_config.d/*.conf\n"
              "AuthorizedPrincipalsCommand /usr/bin/true %u\n",
              {{"/etc/ssh/sshd_config.d/05-certgate.conf", ours_text}}));
  ASSERT_FALSE(dropped_too);
  EXPECT_EQ(dropped_too.error().detail, dropped.error().detail);
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
  EXPECT_TRUE(VerifyEffective(*ok, wanted, ReadConfigLines(dir.Path("ok"))));
  EXPECT_EQ(EffectiveValue(*ok, "pidfile"), dir.Path("sshd.pid"));

  // An admin's TrustedUserCAKeys earlier in the file wins: detected.
  WriteFile(dir.Path("admin"), base + "TrustedUserCAKeys /etc/ssh/admin_ca\n" + ours);
  auto admin = DumpEffectiveConfig(kSshd, dir.Path("admin"));
  ASSERT_TRUE(admin);
  auto conflict = VerifyEffective(*admin, wanted, ReadConfigLines(dir.Path("admin")));
  ASSERT_FALSE(conflict);
  EXPECT_NE(conflict.error().detail.find("/etc/ssh/admin_ca"), std::string::npos);
  EXPECT_NE(conflict.error().detail.find("the admin's line " + dir.Path("admin") + ":6 comes before cafetch's"),
            std::string::npos)
      << conflict.error().detail;

  // OpenSSH 9.2 drops the principals command after an AuthorizedKeysCommand.
  auto version = DetectSshdVersion(kSshd);
  ASSERT_TRUE(version);
  if (version->major == 9 && version->minor == 2) {
    WriteFile(dir.Path("akc"), base + "AuthorizedKeysCommand /bin/true\n"
                                      "AuthorizedKeysCommandUser nobody\n" + ours);
    auto akc = DumpEffectiveConfig(kSshd, dir.Path("akc"));
    ASSERT_TRUE(akc);
    EXPECT_EQ(EffectiveValue(*akc, "authorizedprincipalscommand"), "none");
    auto dropped = VerifyEffective(*akc, wanted, ReadConfigLines(dir.Path("akc")));
    ASSERT_FALSE(dropped);
    EXPECT_NE(dropped.error().detail.find("comes before it: " + dir.Path("akc") + ":6)"), std::string::npos)
        << dropped.error().detail;

    // 9.2 takes the last AuthorizedPrincipalsCommand: an admin's in a
    // drop-in after cafetch's wins, and is named.
    ASSERT_EQ(mkdir(dir.Path("d").c_str(), 0755), 0);
    WriteFile(dir.Path("d/05-certgate.conf"), ours);
    WriteFile(dir.Path("d/50-admin.conf"), "AuthorizedPrincipalsCommand /usr/bin/true %u\n");
    WriteFile(dir.Path("later"), base + "Include " + dir.Path("d") + "/*.conf\n");
    auto later = DumpEffectiveConfig(kSshd, dir.Path("later"));
    ASSERT_TRUE(later) << later.error().detail;
    EXPECT_EQ(EffectiveValue(*later, "authorizedprincipalscommand"), "/usr/bin/true %u");
    auto wins = VerifyEffective(*later, wanted, ReadConfigLines(dir.Path("later")));
    ASSERT_FALSE(wins);
    EXPECT_NE(wins.error().detail.find("the admin's AuthorizedPrincipalsCommand line " + dir.Path("d/50-admin.conf") +
                                       ":1 wins (it comes after cafetch's"),
              std::string::npos)
        << wins.error().detail;
  }
}

}  // namespace
}  // namespace certgate::cafetch
