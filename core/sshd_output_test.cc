#include "core/sshd_output.h"

#include <gtest/gtest.h>

#include "tests/testing.h"

namespace certgate::core {
namespace {

// ZeroEd25519Key is an Ed25519 key of 32 zero bytes, as a CA key to print.
PublicKey ZeroEd25519Key() {
  PublicKey key;
  key.type = KeyType::kEd25519;
  key.blob = {0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 32};
  key.blob.resize(key.blob.size() + 32, 0);
  return key;
}

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

TEST(SshdOutputTest, PrintablePrincipalsAreWellFormedUtf8WithoutControls) {
  EXPECT_TRUE(IsPrintablePrincipal("z\xc3\xbcrich"));           // zürich
  EXPECT_TRUE(IsPrintablePrincipal("\xe9\x81\x8b\xe7\x94\xa8"));  // 運用
  for (std::string bad : {
           "a\xc2\x85" "b",       // U+0085 NEL, a C1 control
           "a\xc2\x9b" "b",       // U+009B CSI
           "ops\xe2\x80\xaeyek",  // U+202E right-to-left override
           "a\xe2\x80\xa8" "b",   // U+2028 line separator
           "a\xe2\x81\xa6" "b",   // U+2066 left-to-right isolate
           "a\x85" "b",           // a lone continuation byte
           "a\xc3",               // a cut-off sequence
           "a\xc0\xaf" "b",       // an overlong '/'
           "a\xed\xa0\x80" "b",   // a surrogate
           "z\xfcrich",           // Latin-1, not UTF-8
       }) {
    EXPECT_FALSE(IsPrintablePrincipal(bad)) << ::testing::PrintToString(bad);
  }
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
  const PublicKey ca = ZeroEd25519Key();
  std::string key = FormatPublicKeyLine(ca);
  EXPECT_EQ(FormatCertAuthorityLines(grants, ca),
            "cert-authority,principals=\"ops,alice\" " + key + "\n" +
                "cert-authority,principals=\"dev\",from=\"10.0.0.0/8\",no-pty " + key + "\n");
}

// sshd applies options left to right ("restrict,pty" allows a pty,
// "pty,restrict" does not): the same options in another order are another
// set, never merged into one line.
TEST(SshdOutputTest, CertAuthorityLinesKeepOptionOrder) {
  Policy policy;
  Rule allows_pty;
  allows_pty.number = 1;
  allows_pty.options = {"restrict", "pty"};
  Rule denies_pty;
  denies_pty.number = 2;
  denies_pty.options = {"pty", "restrict"};
  policy.rules = {allows_pty, denies_pty};
  auto compiled = certgate::testing::Compile(policy);
  const PublicKey ca = ZeroEd25519Key();
  std::string key = FormatPublicKeyLine(ca);
  EXPECT_EQ(FormatCertAuthorityLines({{"ops", compiled->rule(0)}, {"dev", compiled->rule(1)}}, ca),
            "cert-authority,principals=\"ops\",restrict,pty " + key + "\n" +
                "cert-authority,principals=\"dev\",pty,restrict " + key + "\n");
}

}  // namespace
}  // namespace certgate::core
