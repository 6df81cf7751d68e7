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

}  // namespace
}  // namespace certgate::cafetch
