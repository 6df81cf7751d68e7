#include "cafetch/sshd_config.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::MakeKey;
using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

const std::vector<std::string> kLines = {
    "AuthorizedPrincipalsCommand /usr/libexec/certgate/principals-cmd %u %t %k",
    "AuthorizedPrincipalsCommandUser certgate",
    "TrustedUserCAKeys /etc/ssh/certgate/trusted_user_ca_keys",
};

TEST(SshdConfigTest, Keyword) {
  EXPECT_EQ(Keyword("  TrustedUserCAKeys /x"), "trustedusercakeys");
  EXPECT_EQ(Keyword("Match=User bob"), "match");
  EXPECT_EQ(Keyword("# Match all"), "");
  EXPECT_EQ(Keyword("   "), "");
  // sshd unquotes a keyword in double quotes (strdelim): the audit's
  // "Match" User backup is a Match line.
  EXPECT_EQ(Keyword("\"Match\" User backup"), "match");
  EXPECT_EQ(Keyword("\"Match\"User backup"), "match");
  EXPECT_EQ(Arguments("\"Match\" User backup"), (std::vector<std::string>{"User", "backup"}));
  EXPECT_EQ(Arguments("\"Match\"User backup"), (std::vector<std::string>{"User", "backup"}));
  EXPECT_EQ(Keyword("\"Match User backup"), "");  // no closing quote: sshd refuses the line
  EXPECT_EQ(Arguments("Match=User bob"), (std::vector<std::string>{"User", "bob"}));
}

// ConfigLines reads the files in sshd's order: an Include's files in
// place of its line, relative patterns under /etc/ssh, nothing from a
// Match block (which, in an included file, ends with that file).
TEST(SshdConfigTest, ConfigLinesFollowIncludesInSshdOrder) {
  std::vector<std::string> asked;
  IncludeExpander expand = [&](const std::string& pattern) {
    asked.push_back(pattern);
    if (pattern == "/etc/ssh/sshd_config.d/*.conf") {
      return std::vector<ConfigFile>{{"/etc/ssh/sshd_config.d/01-a.conf", "Port 2222\nMatch User bob\nPort 1\n"},
                                     {"/etc/ssh/sshd_config.d/02-b.conf", "  \n# c\nBanner=\"/etc/my banner\"\n"}};
    }
    if (pattern == "/srv/self.conf") return std::vector<ConfigFile>{{"/srv/self.conf", "Include /srv/self.conf\n"}};
    return std::vector<ConfigFile>{};
  };
  const std::vector<ConfigLine> lines = ConfigLines(
      "/srv/sshd_config",
      "# main\nInclude sshd_config.d/*.conf /nothing/*.conf\nUsePAM yes\nBanner \"open\nInclude /srv/self.conf\n"
      "Match User alice\nTrustedUserCAKeys /alice\n",
      expand);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].Where(), "/etc/ssh/sshd_config.d/01-a.conf:1");
  EXPECT_EQ(lines[0].keyword, "port");
  EXPECT_EQ(lines[0].args, std::vector<std::string>{"2222"});
  EXPECT_EQ(lines[1].Where(), "/etc/ssh/sshd_config.d/02-b.conf:3");
  EXPECT_EQ(lines[1].args, std::vector<std::string>{"/etc/my banner"});
  EXPECT_EQ(lines[2].Where(), "/srv/sshd_config:3");
  EXPECT_EQ(lines[2].keyword, "usepam");
  // A file that includes itself stops at sshd's depth limit.
  EXPECT_EQ(asked.size(), 2u + kMaxIncludeDepth);
}

// With Match lines: each file's Match blocks too, each line naming its
// Match line.
TEST(SshdConfigTest, ConfigLinesWithMatchNameTheirMatchLine) {
  std::vector<std::string> asked;
  IncludeExpander expand = [&](const std::string& pattern) {
    asked.push_back(pattern);
    if (pattern != "/etc/ssh/sshd_config.d/*.conf") return std::vector<ConfigFile>{};
    return std::vector<ConfigFile>{{"/etc/ssh/sshd_config.d/01-a.conf", "Match User bob\nPort 1\n"}};
  };
  const std::vector<ConfigLine> lines = ConfigLines(
      "/srv/sshd_config",
      "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\nMatch User alice\n  TrustedUserCAKeys /alice\n"
      "  Include /srv/other/*.conf\nMatch all\nBanner none\n",
      expand, /*with_match=*/true);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].Where(), "/etc/ssh/sshd_config.d/01-a.conf:2");
  EXPECT_EQ(lines[0].match, "/etc/ssh/sshd_config.d/01-a.conf:1");
  EXPECT_EQ(lines[1].Where(), "/srv/sshd_config:2");
  EXPECT_EQ(lines[1].match, "");
  EXPECT_EQ(lines[2].Where(), "/srv/sshd_config:4");
  EXPECT_EQ(lines[2].keyword, "trustedusercakeys");
  EXPECT_EQ(lines[2].match, "/srv/sshd_config:3");
  EXPECT_EQ(lines[3].match, "/srv/sshd_config:6");
  EXPECT_EQ(asked, (std::vector<std::string>{"/etc/ssh/sshd_config.d/*.conf", "/srv/other/*.conf"}));
  // Only the "Match all" block selects every connection.
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(lines[i].match_all) << i;
  EXPECT_TRUE(lines[3].match_all);
}

// An Include inside a Match block is read as sshd reads it: the included
// lines are in that block (servconf.c keeps the Match state across the
// Include) until the included file's own Match line, which lasts to the
// end of that file; after the Include the outer block goes on.
TEST(SshdConfigTest, ConfigLinesFollowAnIncludeInsideAMatchBlock) {
  IncludeExpander expand = [](const std::string& pattern) {
    if (pattern == "/etc/ssh/all.d/*.conf") {
      return std::vector<ConfigFile>{
          {"/etc/ssh/all.d/a.conf", "TrustedUserCAKeys /a\nMatch User bob\nBanner /b\n"}};
    }
    if (pattern == "/etc/ssh/user.conf") return std::vector<ConfigFile>{{"/etc/ssh/user.conf", "Banner /u\n"}};
    return std::vector<ConfigFile>{};
  };
  const std::vector<ConfigLine> lines = ConfigLines(
      "/srv/sshd_config",
      "Port 22\nMatch all\n  Include all.d/*.conf\n  MaxSessions 3\nMatch User alice\n  Include /etc/ssh/user.conf\n",
      expand, /*with_match=*/true);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0].match, "");
  EXPECT_EQ(lines[1].Where(), "/etc/ssh/all.d/a.conf:1");
  EXPECT_EQ(lines[1].match, "/srv/sshd_config:2");
  EXPECT_TRUE(lines[1].match_all);
  EXPECT_EQ(lines[2].Where(), "/etc/ssh/all.d/a.conf:3");
  EXPECT_EQ(lines[2].match, "/etc/ssh/all.d/a.conf:2");
  EXPECT_FALSE(lines[2].match_all);
  EXPECT_EQ(lines[3].Where(), "/srv/sshd_config:4");
  EXPECT_EQ(lines[3].match, "/srv/sshd_config:2");
  EXPECT_TRUE(lines[3].match_all);
  EXPECT_EQ(lines[4].Where(), "/etc/ssh/user.conf:1");
  EXPECT_EQ(lines[4].match, "/srv/sshd_config:5");
  EXPECT_FALSE(lines[4].match_all);
  // Without Match lines, nothing from inside a Match block.
  EXPECT_EQ(ConfigLines("/srv/sshd_config", "Port 22\nMatch all\n  Include all.d/*.conf\n", expand).size(), 1u);
}

// "all" is a Match criterion alone, in any case, a comment after it; as
// the argument of another criterion it is a user or host name.
TEST(SshdConfigTest, ConfigLinesKnowMatchAll) {
  const std::vector<ConfigLine> lines = ConfigLines(
      "/srv/sshd_config",
      "Match ALL # every connection\n Banner a\nMatch User all\n Banner b\nMatch Host x User y\n Banner c\n"
      "Match=all\n Banner d\n",
      [](const std::string&) { return std::vector<ConfigFile>{}; }, /*with_match=*/true);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_TRUE(lines[0].match_all);
  EXPECT_FALSE(lines[1].match_all);
  EXPECT_FALSE(lines[2].match_all);
  EXPECT_TRUE(lines[3].match_all);
  EXPECT_EQ(lines[3].match, "/srv/sshd_config:7");
}

TEST(SshdConfigTest, DetectsDebianInclude) {
  EXPECT_TRUE(IncludesDropInDirectory("Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n", "/etc/ssh"));
  EXPECT_TRUE(IncludesDropInDirectory("include sshd_config.d/*.conf\n", "/etc/ssh"));
  EXPECT_TRUE(IncludesDropInDirectory("Include /srv/s/sshd_config.d/*.conf\n", "/srv/s"));
  // Relative Includes resolve against /etc/ssh, not the -f file's directory.
  EXPECT_FALSE(IncludesDropInDirectory("Include sshd_config.d/*.conf\n", "/srv/s"));
  // An Include inside a Match block applies only there.
  EXPECT_FALSE(IncludesDropInDirectory("Match User x\nInclude /etc/ssh/sshd_config.d/*.conf\n",
                                       "/etc/ssh"));
  EXPECT_FALSE(IncludesDropInDirectory("#Include /etc/ssh/sshd_config.d/*.conf\n", "/etc/ssh"));
}

// sshd (argv_split) accepts quoted arguments, so must we.
TEST(SshdConfigTest, DetectsQuotedInclude) {
  EXPECT_TRUE(IncludesDropInDirectory("Include \"/etc/ssh/sshd_config.d/*.conf\"\n", "/etc/ssh"));
  EXPECT_TRUE(IncludesDropInDirectory("Include '/etc/ssh/sshd_config.d/*.conf'\n", "/etc/ssh"));
  EXPECT_TRUE(IncludesDropInDirectory("Include=\"sshd_config.d/*.conf\"\n", "/etc/ssh"));
  EXPECT_TRUE(IncludesDropInDirectory("Include /etc/ssh/\"sshd_config.d\"/*.conf\n", "/etc/ssh"));
  EXPECT_TRUE(IncludesDropInDirectory("Include \"/srv/my ssh/sshd_config.d/*.conf\"\n",
                                      "/srv/my ssh"));
  EXPECT_TRUE(IncludesDropInDirectory("Include /srv/my\\ ssh/sshd_config.d/*.conf\n", "/srv/my ssh"));
  EXPECT_TRUE(IncludesDropInDirectory("Include /etc/ssh/sshd_config.d/*.conf # Debian\n", "/etc/ssh"));
  // A quote left open is a line sshd refuses: not ours.
  EXPECT_FALSE(IncludesDropInDirectory("Include \"/etc/ssh/sshd_config.d/*.conf\n", "/etc/ssh"));
  // "a b" is one argument, not two.
  EXPECT_FALSE(IncludesDropInDirectory("Include \"/x sshd_config.d/*.conf\"\n", "/etc/ssh"));
  EXPECT_FALSE(IncludesDropInDirectory("Include x # sshd_config.d/*.conf\n", "/etc/ssh"));
  // sshd's escapes: \' \" \\ anywhere, a backslashed blank outside quotes.
  EXPECT_TRUE(IncludesDropInDirectory("Include '/srv/it\\'s/sshd_config.d/*.conf'\n", "/srv/it's"));
  EXPECT_TRUE(IncludesDropInDirectory("Include /srv/a\\\"b/sshd_config.d/*.conf\n", "/srv/a\"b"));
  EXPECT_TRUE(IncludesDropInDirectory("Include /srv/a\\\\b/sshd_config.d/*.conf\n", "/srv/a\\b"));
  EXPECT_FALSE(IncludesDropInDirectory("Include /etc/ssh/sshd_config.d/\\*.conf\n", "/etc/ssh"));
  EXPECT_FALSE(IncludesDropInDirectory("Include\n", "/etc/ssh"));
}

// Only that directory's sshd_config.d/*.conf is ours: names of the same
// length that differ in one place are someone else's.
TEST(SshdConfigTest, LookalikeIncludesAreNotTheDropInDirectory) {
  for (const char* line : {"Include /etc/ssX/sshd_config.d/*.conf\n", "Include /etc/sshXsshd_config.d/*.conf\n",
                           "Include /etc/ssh/sshd_config.d/*.cong\n", "Include /etc/ssh/sshd_config.x/*.conf\n",
                           "Include /etc/ssh/sshd_config.d/*.conf.bak\n",
                           "Include Sshd_config.d/*.conf\n"}) {
    EXPECT_FALSE(IncludesDropInDirectory(line, "/etc/ssh")) << line;
    EXPECT_EQ(RedirectDropInInclude(line, "/etc/ssh", "/tmp/c/sshd_config.d/*.conf"), line);
  }
}

TEST(SshdConfigTest, RedirectDropInIncludeKeepsQuotedArguments) {
  EXPECT_EQ(RedirectDropInInclude(
                "Include \"/etc/ssh/my conf\" \"/etc/ssh/sshd_config.d/*.conf\"\nPort 22\n",
                "/etc/ssh", "/tmp/c/sshd_config.d/*.conf"),
            "Include \"/etc/ssh/my conf\" /tmp/c/sshd_config.d/*.conf\nPort 22\n");
  // The other arguments are written back so that sshd reads them as before.
  EXPECT_EQ(RedirectDropInInclude("Include sshd_config.d/*.conf /srv/a\\\"b\\\\c.conf\n", "/etc/ssh", "/tmp/c/*.conf"),
            "Include /tmp/c/*.conf \"/srv/a\\\"b\\\\c.conf\"\n");
}

TEST(SshdConfigTest, RedirectDropInIncludeRewritesOnlyThatInclude) {
  const std::string text =
      "# Include sshd_config.d/*.conf\n"
      "Include /etc/ssh/other.conf sshd_config.d/*.conf\r\n"
      "Port 22\n"
      "include\t/etc/ssh/sshd_config.d/*.conf\n"
      "Match User x\n"
      "  Include /etc/ssh/sshd_config.d/*.conf\n";
  EXPECT_EQ(RedirectDropInInclude(text, "/etc/ssh", "/tmp/c/sshd_config.d/*.conf"),
            "# Include sshd_config.d/*.conf\n"
            "Include /etc/ssh/other.conf /tmp/c/sshd_config.d/*.conf\n"
            "Port 22\n"
            "Include /tmp/c/sshd_config.d/*.conf\n"
            "Match User x\n"
            "  Include /etc/ssh/sshd_config.d/*.conf\n");
  // Relative Includes name /etc/ssh's directory only.
  EXPECT_EQ(RedirectDropInInclude("Include sshd_config.d/*.conf\n", "/srv/s", "/tmp/x"),
            "Include sshd_config.d/*.conf\n");
}

TEST(SshdConfigTest, BlockGoesBeforeFirstMatchAndKeepsEveryOtherByte) {
  const std::string before = "Port 22\n# a comment   \n\tPasswordAuthentication no\n";
  const std::string after = "Match User backup\n  ForceCommand /bin/false\nMatch all\n";
  auto out = RewriteMainConfig(before + after, RenderDirectives(kLines));
  ASSERT_TRUE(out) << out.error().detail;
  ASSERT_EQ(out->substr(0, before.size()), before);
  ASSERT_EQ(out->substr(out->size() - after.size()), after);
  std::string block = out->substr(before.size(), out->size() - before.size() - after.size());
  EXPECT_EQ(block.rfind("# BEGIN certgate\n", 0), 0u);
  EXPECT_NE(block.find("TrustedUserCAKeys /etc/ssh/certgate/trusted_user_ca_keys\n"), std::string::npos);
  // Idempotent, and a new body replaces the old block in place.
  auto again = RewriteMainConfig(*out, RenderDirectives(kLines));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *out);
  auto changed = RewriteMainConfig(*out, RenderDirectives({"TrustedUserCAKeys /other"}));
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->find("principals-cmd"), std::string::npos);
  EXPECT_EQ(changed->substr(0, before.size()), before);
}

// The audit's case: sshd reads "Match" (quoted) as Match, so the block
// goes before it, not into its block.
TEST(SshdConfigTest, BlockGoesBeforeAQuotedMatch) {
  const std::string before = "Port 22\n";
  const std::string after = "\"Match\" User backup\n  ForceCommand /bin/false\n";
  auto out = RewriteMainConfig(before + after, RenderDirectives(kLines));
  ASSERT_TRUE(out) << out.error().detail;
  EXPECT_EQ(out->substr(0, before.size() + 17), before + "# BEGIN certgate\n");
  EXPECT_EQ(out->substr(out->size() - after.size()), after);
}

TEST(SshdConfigTest, BlockBeforeFirstMatchIsUpdatedInPlace) {
  // An admin's lines after our block (including a TrustedUserCAKeys that
  // ours overrides, the first value winning) must stay after it.
  const std::string head = "Port 22\n";
  const std::string tail =
      "TrustedUserCAKeys /etc/ssh/legacy_ca.pub\nPasswordAuthentication no\n"
      "Match User backup\n  ForceCommand /bin/false\n";
  const std::string text = head + "# BEGIN certgate\n" + RenderDirectives(kLines) +
                           "# END certgate\n" + tail;
  auto same = RewriteMainConfig(text, RenderDirectives(kLines));
  ASSERT_TRUE(same) << same.error().detail;
  EXPECT_EQ(*same, text);  // byte-identical: nothing to change
  auto changed = RewriteMainConfig(text, RenderDirectives({"TrustedUserCAKeys /other"}));
  ASSERT_TRUE(changed) << changed.error().detail;
  EXPECT_EQ(*changed, head + "# BEGIN certgate\n" +
                          RenderDirectives({"TrustedUserCAKeys /other"}) + "# END certgate\n" +
                          tail);
}

TEST(SshdConfigTest, BlockAfterFirstMatchIsMovedBeforeIt) {
  const std::string text =
      "Port 22\nMatch User backup\n# BEGIN certgate\nX y\n# END certgate\n  ForceCommand x\n";
  auto out = RewriteMainConfig(text, "X y\n");
  ASSERT_TRUE(out) << out.error().detail;
  EXPECT_EQ(*out,
            "Port 22\n# BEGIN certgate\nX y\n# END certgate\nMatch User backup\n  ForceCommand x\n");
}

TEST(SshdConfigTest, NoMatchAppendsAtEnd) {
  auto out = RewriteMainConfig("Port 22", "X y\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "Port 22\n# BEGIN certgate\nX y\n# END certgate\n");
  auto empty = RewriteMainConfig("", "X y\n");
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, "# BEGIN certgate\nX y\n# END certgate\n");
}

TEST(SshdConfigTest, BrokenMarkersAreRefused) {
  EXPECT_FALSE(RewriteMainConfig("# BEGIN certgate\nPort 22\n", "X y\n"));
  EXPECT_FALSE(RewriteMainConfig("Port 22\n# END certgate\n", "X y\n"));
  EXPECT_FALSE(RewriteMainConfig(
      "# BEGIN certgate\n# END certgate\n# BEGIN certgate\n# END certgate\n", "X y\n"));
  EXPECT_FALSE(RewriteMainConfig("# BEGIN certgate\nPort 22\n# END certgate\n# END certgate\n", "X y\n"));
  // Each says on which line, and what to do.
  EXPECT_EQ(RewriteMainConfig("Port 22\n# BEGIN certgate\nPort 23\n", "X y\n").error().detail,
            "line 2: \"# BEGIN certgate\" without its END line; delete the partial block, or end it with "
            "\"# END certgate\"");
  EXPECT_EQ(RewriteMainConfig("Port 22\n# END certgate\n", "X y\n").error().detail,
            "line 2: \"# END certgate\" without its BEGIN line; delete it");
  EXPECT_EQ(RewriteMainConfig("# BEGIN certgate\n# END certgate\n# BEGIN certgate\n# END certgate\n", "X y\n")
                .error()
                .detail,
            "line 3: a second certgate block (the first begins on line 1); delete one of them");
}

TEST(SshdConfigTest, RealSshdAcceptsAndAppliesTheBlock) {
  if (access("/usr/sbin/sshd", X_OK) != 0) GTEST_SKIP() << "no /usr/sbin/sshd";
  mkdir("/run/sshd", 0755);
  TempDir dir;
  std::string host = MakeKey(dir, "host", "ed25519");
  std::string ca_file = dir.Path("trusted");
  WriteFile(ca_file, "");
  std::string main =
      "HostKey " + host + "\nPidFile " + dir.Path("pid") + "\nUsePAM no\n"
      "Match User nobody\n  PasswordAuthentication no\n";
  auto out = RewriteMainConfig(main, RenderDirectives({"TrustedUserCAKeys " + ca_file}));
  ASSERT_TRUE(out);
  WriteFile(dir.Path("sshd_config"), *out, 0600);
  auto t = ::certgate::testing::Run({"/usr/sbin/sshd", "-t", "-f", dir.Path("sshd_config")});
  EXPECT_EQ(t.exit_code, 0) << t.err;
  // Placed before Match, the directive is global: sshd -T shows it for a
  // user the Match does not select.
  auto effective = ::certgate::testing::Run({"/usr/sbin/sshd", "-T", "-f", dir.Path("sshd_config"), "-C",
                        "user=root,host=localhost,addr=127.0.0.1"});
  EXPECT_EQ(effective.exit_code, 0) << effective.err;
  EXPECT_NE(effective.out.find("trustedusercakeys " + ca_file), std::string::npos);
}

// What cafetch's installed lines told sshd about SHA-1 ssh-rsa CA
// signatures: only its own lines count (the drop-in, or the marked block).
TEST(SshdConfigTest, AcceptsSha1RsaReadsOnlyCafetchsOwnLines) {
  const std::string lines = RenderDirectives(DirectiveLines(PlanDirectives(
      {.trusted_user_ca_keys = "/k", .accept_sha1_rsa = true, .version = {9, 2}})));
  EXPECT_TRUE(AcceptsSha1Rsa(lines, /*drop_in=*/true));
  EXPECT_FALSE(AcceptsSha1Rsa(RenderDirectives({"TrustedUserCAKeys /k"}), true));
  auto block = RewriteMainConfig("Port 22\nMatch User x\n  X11Forwarding no\n", lines);
  ASSERT_TRUE(block);
  EXPECT_TRUE(AcceptsSha1Rsa(*block, /*drop_in=*/false));
  // An admin's own line outside the block is the admin's, not cafetch's.
  EXPECT_FALSE(AcceptsSha1Rsa("CASignatureAlgorithms +ssh-rsa\n# BEGIN certgate\nTrustedUserCAKeys /k\n"
                              "# END certgate\n",
                              false));
  EXPECT_FALSE(AcceptsSha1Rsa("# BEGIN certgate\n# END certgate\nCASignatureAlgorithms +ssh-rsa\n", false));
  // The forms sshd takes; "-" removes, and a longer name is another one.
  EXPECT_TRUE(AcceptsSha1Rsa("CASignatureAlgorithms=ssh-ed25519,ssh-rsa\n", true));
  EXPECT_TRUE(AcceptsSha1Rsa("casignaturealgorithms ^ssh-rsa\n", true));
  EXPECT_TRUE(AcceptsSha1Rsa("CASignatureAlgorithms \"+ssh-rsa\"\n", true));
  EXPECT_FALSE(AcceptsSha1Rsa("CASignatureAlgorithms -ssh-rsa\n", true));
  EXPECT_FALSE(AcceptsSha1Rsa("CASignatureAlgorithms +ssh-rsa-cert-v01@openssh.com\n", true));
  EXPECT_FALSE(AcceptsSha1Rsa("PubkeyAcceptedAlgorithms +ssh-rsa\n", true));
  EXPECT_FALSE(AcceptsSha1Rsa("# CASignatureAlgorithms +ssh-rsa\n", true));
}

}  // namespace
}  // namespace certgate::cafetch

namespace certgate::cafetch {
namespace {

TEST(SshdConfigTest, ParseSshdVersion) {
  auto v = ParseSshdVersion("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.11 19 Sep 2023\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 9);
  EXPECT_EQ(v->minor, 2);
  auto bare = ParseSshdVersion("OpenSSH_9.2, OpenSSL 3.0.22 25 Aug 2026");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->minor, 2);
  // Older sshd: no -V, the version is in the usage message.
  auto old = ParseSshdVersion("sshd: illegal option -- V\nOpenSSH_7.4p1, OpenSSL 1.0.2k-fips\nusage: sshd");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->major, 7);
  EXPECT_EQ(old->minor, 4);
  EXPECT_FALSE(ParseSshdVersion("OpenSSH_ x"));
  EXPECT_FALSE(ParseSshdVersion("OpenSSH_9"));
  EXPECT_FALSE(ParseSshdVersion(""));
  EXPECT_TRUE((SshdVersion{8, 8}).AtLeast(8, 2));
  EXPECT_FALSE((SshdVersion{8, 1}).AtLeast(8, 2));
  EXPECT_TRUE((SshdVersion{10, 0}).AtLeast(8, 8));
}

std::vector<std::string> Planned(bool principals, bool sha1, int major, int minor) {
  DirectivePlan plan;
  plan.trusted_user_ca_keys = "/k";
  plan.manage_principals_command = principals;
  plan.accept_sha1_rsa = sha1;
  plan.version = SshdVersion{major, minor};
  return DirectiveLines(PlanDirectives(plan));
}

TEST(SshdConfigTest, PlanDirectivesIsVersionAware) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Planned(false, false, 9, 2), V({"TrustedUserCAKeys /k"}));
  EXPECT_EQ(Planned(true, false, 9, 2),
            V({"AuthorizedPrincipalsCommand /usr/libexec/certgate/principals-cmd %u %t %k",
               "AuthorizedPrincipalsCommandUser certgate", "TrustedUserCAKeys /k"}));
  // SHA-1 RSA: nothing before 8.2 (accepted by default) ...
  EXPECT_EQ(Planned(false, true, 8, 1), V({"TrustedUserCAKeys /k"}));
  // ... the CA signature algorithm from 8.2 ...
  EXPECT_EQ(Planned(false, true, 8, 2), V({"TrustedUserCAKeys /k", "CASignatureAlgorithms +ssh-rsa"}));
  EXPECT_EQ(Planned(false, true, 8, 7), V({"TrustedUserCAKeys /k", "CASignatureAlgorithms +ssh-rsa"}));
  // ... and the certificate algorithm from 8.8, under its 8.5+ name.
  const V both = {"TrustedUserCAKeys /k", "CASignatureAlgorithms +ssh-rsa",
                  "PubkeyAcceptedAlgorithms +ssh-rsa-cert-v01@openssh.com"};
  EXPECT_EQ(Planned(false, true, 8, 8), both);
  EXPECT_EQ(Planned(false, true, 9, 2), both);
  EXPECT_EQ(Planned(false, false, 8, 8), V({"TrustedUserCAKeys /k"}));
}

}  // namespace
}  // namespace certgate::cafetch
