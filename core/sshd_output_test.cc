#include "core/sshd_output.h"

#include <gtest/gtest.h>

#include "tests/testing.h"

namespace certgate::core {
namespace {

TEST(SshdOutputTest, PrintablePrincipals) {
  EXPECT_TRUE(IsPrintablePrincipal("ops"));
  EXPECT_TRUE(IsPrintablePrincipal("team-ops@example.com"));
  EXPECT_TRUE(IsPrintablePrincipal("a:b/c=d"));
  EXPECT_TRUE(IsPrintablePrincipal(std::string(kMaxNameLength, 'a')));
  EXPECT_FALSE(IsPrintablePrincipal(std::string(kMaxNameLength + 1, 'a')));
  EXPECT_FALSE(IsPrintablePrincipal(""));
  for (std::string bad : {"a b", "a\tb", "a#b", "a\"b", "a,b", "a\nb", "a\rb", "a\x7f", "a\\", "a\\b"}) {
    EXPECT_FALSE(IsPrintablePrincipal(bad)) << bad;
  }
  EXPECT_FALSE(IsPrintablePrincipal(std::string("a\0b", 3)));
}

TEST(SshdOutputTest, CertAuthorityLinesGroupByOptions) {
  Policy policy;
  Rule plain;
  plain.number = 1;
  Rule from;
  from.number = 2;
  from.options = {"from=\"10.0.0.0/8\"", "no-pty"};
  policy.rules = {plain, from};
  auto compiled = certgate::testing::Compile(policy);
  std::vector<Grant> grants = {{"ops", compiled->rule(0)}, {"dev", compiled->rule(1)},
                               {"alice", compiled->rule(0)}};
  PublicKey ca;
  ca.type = KeyType::kEd25519;
  // "ssh-ed25519" + 32 zero bytes, as a blob.
  ca.blob = {0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 32};
  ca.blob.resize(ca.blob.size() + 32, 0);
  std::string key = FormatPublicKeyLine(ca);
  EXPECT_EQ(FormatCertAuthorityLines(grants, ca),
            "cert-authority,principals=\"ops,alice\" " + key + "\n" +
                "cert-authority,principals=\"dev\",from=\"10.0.0.0/8\",no-pty " + key + "\n");
}

}  // namespace
}  // namespace certgate::core
