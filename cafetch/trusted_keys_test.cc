#include "cafetch/trusted_keys.h"

#include <gtest/gtest.h>

#include "core/ssh_key.h"
#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::MakeKey;
using ::certgate::testing::ReadFile;
using ::certgate::testing::TempDir;

CaKey KeyFrom(const std::string& pub_path, const std::string& comment) {
  std::string line = ReadFile(pub_path);
  auto parsed = core::ParsePublicKeyLine(line.substr(0, line.find('\n')));
  EXPECT_TRUE(parsed);
  return CaKey{parsed->key, comment};
}

// ExpectSshKeygenReads writes |text| as a file and expects `ssh-keygen -l`
// to list |keys| keys of it.
void ExpectSshKeygenReads(const TempDir& dir, const std::string& text, long keys) {
  ::certgate::testing::WriteFile(dir.Path("trusted"), text);
  auto r = ::certgate::testing::Run({"ssh-keygen", "-l", "-f", dir.Path("trusted")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), keys) << r.out;
}

TEST(TrustedKeysTest, RenderThenCheckWithSshKeygen) {
  TempDir dir;
  std::vector<CaKey> keys = {KeyFrom(MakeKey(dir, "a", "ed25519") + ".pub", "old ca #1"),
                             KeyFrom(MakeKey(dir, "b", "ecdsa") + ".pub", "new\x01" "ca")};
  auto text = RenderTrustedKeys(keys, "https://vault.example/v1/ssh/public_key");
  ASSERT_TRUE(text) << text.error().detail;
  EXPECT_NE(text->find("old ca _1\n"), std::string::npos);
  EXPECT_NE(text->find("new_ca\n"), std::string::npos);
  auto count = CheckTrustedKeys(*text);
  ASSERT_TRUE(count) << count.error().detail;
  EXPECT_EQ(*count, 2u);
  // ssh-keygen reads every key of the file too.
  ExpectSshKeygenReads(dir, *text, 2);
}

// A comment keeps its printable UTF-8; what a terminal would act on or
// cannot show (C1 controls such as CSI, bidirectional overrides, malformed
// bytes) becomes '_', and sshd's own tools still read every line.
TEST(TrustedKeysTest, CommentsKeepPrintableUtf8Only) {
  TempDir dir;
  std::vector<CaKey> keys = {
      KeyFrom(MakeKey(dir, "a", "ed25519") + ".pub", "Z\xc3\xbcrich CA \xe2\x82\xac"),
      KeyFrom(MakeKey(dir, "b", "ed25519") + ".pub", "csi\xc2\x9b" "2J nel\xc2\x85" "x"),
      KeyFrom(MakeKey(dir, "c", "ed25519") + ".pub", "ab\xe2\x80\xae" "cd\xe2\x81\xa6" "ef"),
      KeyFrom(MakeKey(dir, "d", "ed25519") + ".pub", "bad\xff\xc3(latin1 \xe9)\xe2\x82"),
  };
  auto text = RenderTrustedKeys(keys, "file:/srv/ca\xc2\x9b" "keys");
  ASSERT_TRUE(text) << text.error().detail;
  EXPECT_NE(text->find(" Z\xc3\xbcrich CA \xe2\x82\xac\n"), std::string::npos) << *text;
  EXPECT_NE(text->find(" csi_2J nel_x\n"), std::string::npos) << *text;
  EXPECT_NE(text->find(" ab_cd_ef\n"), std::string::npos) << *text;
  EXPECT_NE(text->find(" bad__(latin1 _)__\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("from file:/srv/ca_keys."), std::string::npos) << *text;
  auto count = CheckTrustedKeys(*text);
  ASSERT_TRUE(count) << count.error().detail;
  EXPECT_EQ(*count, 4u);
  ExpectSshKeygenReads(dir, *text, 4);
}

TEST(TrustedKeysTest, EmptyIsNeverRendered) {
  auto text = RenderTrustedKeys({}, "x");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, core::Errc::kBadFormat);
}

TEST(TrustedKeysTest, LinesSshdCannotReadAreRefused) {
  TempDir dir;
  std::string good = ReadFile(MakeKey(dir, "a", "ed25519") + ".pub");
  EXPECT_TRUE(CheckTrustedKeys("# comment\n\n" + good));
  for (const std::string& bad : {
           std::string("cert-authority ") + good,              // options prefix
           std::string("ssh-rsa ") + good.substr(good.find(' ') + 1),  // type mismatch
           std::string("ssh-ed25519 AAAA!!!!\n"),
           std::string("ssh-dss AAAAB3NzaC1kc3M= x\n"),
       }) {
    auto r = CheckTrustedKeys(good + bad);
    EXPECT_FALSE(r) << bad;
  }
  EXPECT_FALSE(CheckTrustedKeys("# only a comment\n"));
}

// cafetch adopts the unknown keys of a key file only when it wrote it.
TEST(TrustedKeysTest, WrittenByCafetchIsItsOwnHeader) {
  core::PublicKey key = ::certgate::testing::FakeKey(1);
  auto text = RenderTrustedKeys({CaKey{key, "c"}}, "the file issuer /x");
  ASSERT_TRUE(text);
  EXPECT_TRUE(WrittenByCafetch(*text));
  EXPECT_FALSE(WrittenByCafetch("# our CA\n" + *text));
  EXPECT_FALSE(WrittenByCafetch(text->substr(1)));
  EXPECT_FALSE(WrittenByCafetch(""));
}

}  // namespace
}  // namespace certgate::cafetch
