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

// sshd's "PATH: line N: MESSAGE" in the FILE:LINE form of certgate's own
// messages; anything else is left as it is.
TEST(SshdCheckTest, FileLineForm) {
  EXPECT_EQ(FileLineForm("/etc/ssh/sshd_config: line 10: Bad configuration option: X"),
            "/etc/ssh/sshd_config:10: Bad configuration option: X");
  EXPECT_EQ(FileLineForm("/a b/c: line 2: \"# BEGIN certgate\" without its END line"),
            "/a b/c:2: \"# BEGIN certgate\" without its END line");
  for (const char* same : {"/etc/ssh/sshd_config: terminating, 1 bad configuration options", ": line 1: x",
                           "/p: line : x", "/p: line 12x: y", "/p: line 3", "no line here"}) {
    EXPECT_EQ(FileLineForm(same), same);
  }
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

// A "Match all" block that sets one of cafetch's keywords to another value
// replaces cafetch's for every connection: an error naming its line and
// its Match line, whatever sshd -T shows (sshd before 7.7 does not show
// it). One with cafetch's value, or a list that keeps cafetch's item, is
// no conflict.
TEST(SshdCheckTest, VerifyEffectiveRefusesAMatchAllThatOverridesCafetch) {
  const std::vector<Directive> ours = {{"TrustedUserCAKeys", "/etc/ssh/certgate/keys"},
                                       {"CASignatureAlgorithms", "+ssh-rsa"}};
  auto lines_of = [](const std::string& text) {
    return ConfigLines("/etc/ssh/sshd_config", text, [](const std::string&) { return std::vector<ConfigFile>{}; },
                       /*with_match=*/true);
  };
  const std::string global = "TrustedUserCAKeys /etc/ssh/certgate/keys\nCASignatureAlgorithms +ssh-rsa\n";
  const EffectiveConfig e = ParseEffectiveConfig(
      "trustedusercakeys /etc/ssh/certgate/keys\ncasignaturealgorithms ssh-ed25519,ssh-rsa\n");
  EXPECT_TRUE(VerifyEffective(e, ours, lines_of(global + "Match all\n  TrustedUserCAKeys /etc/ssh/certgate/keys\n"
                                                          "  CASignatureAlgorithms ssh-ed25519,ssh-rsa\n")));
  EXPECT_TRUE(VerifyEffective(e, ours, lines_of(global + "Match all\n  CASignatureAlgorithms +ssh-rsa\n")));
  auto keys = VerifyEffective(e, ours, lines_of(global + "Match User bob\n  Banner none\nMatch all\n"
                                                          "  TrustedUserCAKeys /some/other/file\n"));
  ASSERT_FALSE(keys);
  EXPECT_EQ(keys.error().code, core::Errc::kBadFormat);
  EXPECT_EQ(keys.error().detail,
            "the admin's line /etc/ssh/sshd_config:6, in the \"Match all\" block of /etc/ssh/sshd_config:5, sets "
            "TrustedUserCAKeys to /some/other/file for every connection, over cafetch's \"TrustedUserCAKeys "
            "/etc/ssh/certgate/keys\" (a Match block's values win over the lines before it); remove that line, or "
            "set it to cafetch's value");
  for (const char* list : {"ssh-ed25519", "-ssh-rsa", "^ssh-ed25519"}) {
    auto casig = VerifyEffective(e, ours, lines_of(global + "Match all\n  CASignatureAlgorithms " + list + "\n"));
    ASSERT_FALSE(casig) << list;
    EXPECT_NE(casig.error().detail.find("sets CASignatureAlgorithms to " + std::string(list) + " for every"),
              std::string::npos)
        << casig.error().detail;
  }
}

// A Match block for some connections is not what decides whether
// cafetch's line is in force: sshd -T shows the global value, and the
// admin's line named for an earlier global value is never one in a Match
// block.
TEST(SshdCheckTest, VerifyEffectiveLooksOnlyAtLinesOutsideMatchBlocks) {
  const std::vector<Directive> ours = {{"TrustedUserCAKeys", "/etc/ssh/certgate/keys"}};
  const std::vector<ConfigLine> lines = ConfigLines(
      "/etc/ssh/sshd_config",
      "Port 22\nTrustedUserCAKeys /etc/ssh/admin_ca\nTrustedUserCAKeys /etc/ssh/certgate/keys\n"
      "Match User root\n  TrustedUserCAKeys /some/other/file\n",
      [](const std::string&) { return std::vector<ConfigFile>{}; }, /*with_match=*/true);
  EXPECT_TRUE(VerifyEffective(ParseEffectiveConfig("trustedusercakeys /etc/ssh/certgate/keys\n"), ours, lines));
  auto earlier = VerifyEffective(ParseEffectiveConfig("trustedusercakeys /etc/ssh/admin_ca\n"), ours, lines);
  ASSERT_FALSE(earlier);
  EXPECT_EQ(earlier.error().detail,
            "sshd -T shows trustedusercakeys /etc/ssh/admin_ca, not /etc/ssh/certgate/keys: the admin's line "
            "/etc/ssh/sshd_config:2 comes before cafetch's and wins (the first value is used); remove that "
            "TrustedUserCAKeys line");
  // A Match block in a drop-in that sorts first comes before cafetch's
  // line in the files, but is never the line that wins for everyone.
  const std::vector<ConfigLine> drop_ins = ConfigLines(
      "/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\n",
      [](const std::string&) {
        return std::vector<ConfigFile>{
            {"/etc/ssh/sshd_config.d/01-admin.conf", "Match User root\n  TrustedUserCAKeys /some/other/file\n"},
            {"/etc/ssh/sshd_config.d/05-certgate.conf", "TrustedUserCAKeys /etc/ssh/certgate/keys\n"}};
      },
      /*with_match=*/true);
  ASSERT_EQ(drop_ins.size(), 2u);
  auto unexplained = VerifyEffective(ParseEffectiveConfig("trustedusercakeys /some/other/file\n"), ours, drop_ins);
  ASSERT_FALSE(unexplained);
  EXPECT_EQ(unexplained.error().detail,
            "sshd -T shows trustedusercakeys /some/other/file, not /etc/ssh/certgate/keys (an earlier line in the "
            "configuration wins: the first value is used); remove the TrustedUserCAKeys line that comes before "
            "cafetch's, in sshd_config or an earlier drop-in");
}

// sshd 7.7 to 8.0 are asked for a root login from loopback
// (kRootFromLoopback): a value other than cafetch's that a Match block
// sets, with cafetch's line first outside Match blocks, is that block's
// (a warning, not a failure); an admin's earlier global line still fails.
TEST(SshdCheckTest, VerifyEffectiveForRootFromLoopbackTellsAMatchBlocksValue) {
  EXPECT_EQ(DumpScopeFor({7, 6}), DumpScope::kGlobal);
  EXPECT_EQ(DumpScopeFor({7, 7}), DumpScope::kRootFromLoopback);
  EXPECT_EQ(DumpScopeFor({8, 0}), DumpScope::kRootFromLoopback);
  EXPECT_EQ(DumpScopeFor({8, 1}), DumpScope::kGlobal);
  EXPECT_EQ(DumpScopeFor({9, 2}), DumpScope::kGlobal);
  const std::vector<Directive> ours = {{"TrustedUserCAKeys", "/etc/ssh/certgate/keys"},
                                       {"CASignatureAlgorithms", "+ssh-rsa"}};
  auto lines_of = [](const std::string& text) {
    return ConfigLines("/etc/ssh/sshd_config", text, [](const std::string&) { return std::vector<ConfigFile>{}; },
                       /*with_match=*/true);
  };
  const std::string global = "TrustedUserCAKeys /etc/ssh/certgate/keys\nCASignatureAlgorithms +ssh-rsa\n";
  const EffectiveConfig root = ParseEffectiveConfig(
      "trustedusercakeys /some/other/file\ncasignaturealgorithms ssh-ed25519\n");
  const std::vector<ConfigLine> matched = lines_of(global + "Match User root\n  TrustedUserCAKeys /some/other/file\n"
                                                            "  CASignatureAlgorithms ssh-ed25519\n");
  EXPECT_TRUE(VerifyEffective(root, ours, matched, DumpScope::kRootFromLoopback));
  // In the global scope the same values are not cafetch's: they fail.
  EXPECT_FALSE(VerifyEffective(root, ours, matched, DumpScope::kGlobal));
  // A value no Match block sets is not explained by one.
  EXPECT_FALSE(VerifyEffective(ParseEffectiveConfig("trustedusercakeys /elsewhere\n"), {ours[0]}, matched,
                               DumpScope::kRootFromLoopback));
  // An admin's line before cafetch's wins for everyone, Match block or not.
  auto earlier = VerifyEffective(root, {ours[0]},
                                 lines_of("TrustedUserCAKeys /some/other/file\n" + global +
                                          "Match User root\n  TrustedUserCAKeys /some/other/file\n"),
                                 DumpScope::kRootFromLoopback);
  ASSERT_FALSE(earlier);
  EXPECT_NE(earlier.error().detail.find("the admin's line /etc/ssh/sshd_config:1 comes before cafetch's"),
            std::string::npos)
      << earlier.error().detail;
  // Without cafetch's line in the configuration, nothing is taken as a
  // Match block's value.
  EXPECT_FALSE(VerifyEffective(root, {ours[0]}, lines_of("Match User root\n  TrustedUserCAKeys /some/other/file\n"),
                               DumpScope::kRootFromLoopback));
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

// The audit's case, against the real sshd: a Match block that selects a
// root login from loopback sets TrustedUserCAKeys. sshd -T without -C
// (kGlobal) shows cafetch's value, with -C the Match block's; a "Match
// all" block is shown without -C too, and refused.
TEST(SshdCheckTest, RealSshdGlobalScopeIgnoresMatchBlocksButMatchAll) {
  if (!SshdUsable()) GTEST_SKIP() << "needs root and " << kSshd;
  auto version = DetectSshdVersion(kSshd);
  ASSERT_TRUE(version) << version.error().detail;
  if (DumpScopeFor(*version) != DumpScope::kGlobal) GTEST_SKIP() << "sshd 7.7 to 8.0";
  TempDir dir;
  const std::string base = Base(dir);
  const std::vector<Directive> wanted = {{"TrustedUserCAKeys", dir.Path("keys")}};
  for (const char* criteria : {"User root", "Address 127.0.0.1", "Host localhost", "Group root"}) {
    WriteFile(dir.Path("c"),
              base + wanted[0].Line() + "\nMatch " + criteria + "\n\tTrustedUserCAKeys /some/other/file\n");
    auto global = DumpEffectiveConfig(kSshd, dir.Path("c"));
    ASSERT_TRUE(global) << global.error().detail;
    EXPECT_EQ(EffectiveValue(*global, "trustedusercakeys"), dir.Path("keys")) << criteria;
    EXPECT_TRUE(VerifyEffective(*global, wanted, ReadConfigLines(dir.Path("c"), true))) << criteria;
    auto root = DumpEffectiveConfig(kSshd, dir.Path("c"), DumpScope::kRootFromLoopback);
    ASSERT_TRUE(root) << root.error().detail;
    EXPECT_EQ(EffectiveValue(*root, "trustedusercakeys"), "/some/other/file") << criteria;
    EXPECT_TRUE(VerifyEffective(*root, wanted, ReadConfigLines(dir.Path("c"), true), DumpScope::kRootFromLoopback))
        << criteria;
  }
  WriteFile(dir.Path("all"), base + wanted[0].Line() + "\nMatch all\n\tTrustedUserCAKeys /some/other/file\n");
  auto all = DumpEffectiveConfig(kSshd, dir.Path("all"));
  ASSERT_TRUE(all) << all.error().detail;
  EXPECT_EQ(EffectiveValue(*all, "trustedusercakeys"), "/some/other/file");
  auto refused = VerifyEffective(*all, wanted, ReadConfigLines(dir.Path("all"), true));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().detail.rfind("the admin's line " + dir.Path("all") + ":8, in the \"Match all\" block of " +
                                             dir.Path("all") + ":7, sets TrustedUserCAKeys to /some/other/file",
                                         0),
            0u)
      << refused.error().detail;
  // The same line in a file a "Match all" block includes: sshd reads it
  // in that block, and the message names both.
  WriteFile(dir.Path("inc.conf"), "TrustedUserCAKeys /some/other/file\n");
  WriteFile(dir.Path("all-inc"), base + wanted[0].Line() + "\nMatch all\n\tInclude " + dir.Path("inc.conf") + "\n");
  auto included = DumpEffectiveConfig(kSshd, dir.Path("all-inc"));
  ASSERT_TRUE(included) << included.error().detail;
  EXPECT_EQ(EffectiveValue(*included, "trustedusercakeys"), "/some/other/file");
  auto refused_inc = VerifyEffective(*included, wanted, ReadConfigLines(dir.Path("all-inc"), true));
  ASSERT_FALSE(refused_inc);
  EXPECT_EQ(refused_inc.error().detail.rfind("the admin's line " + dir.Path("inc.conf") +
                                                 ":1, in the \"Match all\" block of " + dir.Path("all-inc") +
                                                 ":7, sets TrustedUserCAKeys to /some/other/file",
                                             0),
            0u)
      << refused_inc.error().detail;
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
