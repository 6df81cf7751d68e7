#include "core/ssh_key.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "core/base64.h"
#include "core/wire_reader.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using certgate::testing::FirstLine;
using certgate::testing::MakeKey;
using certgate::testing::ReadFile;
using certgate::testing::SharedTestData;
using certgate::testing::TempDir;

std::vector<uint8_t> DecodeOrDie(const std::string& b64) {
  Result<std::vector<uint8_t>> r = Base64Decode(b64);
  EXPECT_TRUE(r.has_value());
  return r ? *r : std::vector<uint8_t>{};
}

// FingerprintField returns the second word of `ssh-keygen -l` output.
std::string FingerprintField(const std::string& line) {
  std::istringstream in(line);
  std::string bits, fp;
  in >> bits >> fp;
  return fp;
}

TEST(SshKeyTest, TypeNames) {
  EXPECT_EQ(KeyTypeName(KeyType::kRsa), "ssh-rsa");
  EXPECT_EQ(CertTypeName(KeyType::kSkEd25519), "sk-ssh-ed25519-cert-v01@openssh.com");
  EXPECT_EQ(KeyTypeFromName("ecdsa-sha2-nistp384"), KeyType::kEcdsaP384);
  EXPECT_EQ(KeyTypeFromName("ssh-dss"), std::nullopt);
  EXPECT_EQ(KeyTypeFromName("ssh-rsa-cert-v01@openssh.com"), std::nullopt);
  EXPECT_EQ(KeyTypeFromCertName("rsa-sha2-512-cert-v01@openssh.com"), KeyType::kRsa);
  EXPECT_EQ(KeyTypeFromCertName("sk-ecdsa-sha2-nistp256-cert-v01@openssh.com"),
            KeyType::kSkEcdsaP256);
  EXPECT_EQ(KeyTypeFromCertName("ssh-rsa"), std::nullopt);
  EXPECT_TRUE(IsCertTypeName("ssh-ed25519-cert-v01@openssh.com"));
  EXPECT_FALSE(IsCertTypeName("ssh-ed25519"));
}

// Every shared OpenSSH vector parses and its fingerprint is the .fp file's.
TEST(SshKeyTest, SharedVectorFingerprints) {
  std::string dir = SharedTestData();
  if (dir.empty()) GTEST_SKIP() << "shared test data not present";
  const std::vector<std::string> names = {"rsa_1",       "rsa_2",      "ecdsa_1",   "ecdsa_2",
                                          "ed25519_1",   "ed25519_2",  "ecdsa_sk1", "ecdsa_sk2",
                                          "ed25519_sk1", "ed25519_sk2"};
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    std::string line = FirstLine(ReadFile(dir + "/" + name + ".pub"));
    Result<AuthorizedKey> key = ParsePublicKeyLine(line);
    ASSERT_TRUE(key.has_value()) << ErrcName(key.error().code) << " " << key.error().detail;
    EXPECT_EQ(Sha256Fingerprint(key->key.blob), FirstLine(ReadFile(dir + "/" + name + ".fp")));
    // The blob is kept byte for byte and the line formats back identically.
    std::istringstream in(line);
    std::string type, b64;
    in >> type >> b64;
    EXPECT_EQ(key->key.blob, DecodeOrDie(b64));
    EXPECT_EQ(FormatPublicKeyLine(key->key, key->comment), line);
  }
}

TEST(SshKeyTest, SharedVectorFields) {
  std::string dir = SharedTestData();
  if (dir.empty()) GTEST_SKIP() << "shared test data not present";
  Result<AuthorizedKey> ec = ParsePublicKeyLine(ReadFile(dir + "/ecdsa_1.pub"));
  ASSERT_TRUE(ec.has_value());
  EXPECT_EQ(ec->key.type, KeyType::kEcdsaP256);
  std::string hex;
  for (uint8_t b : ec->key.ec_point) {
    const char* digits = "0123456789abcdef";
    hex += digits[b >> 4];
    hex += digits[b & 15];
  }
  EXPECT_EQ(hex, FirstLine(ReadFile(dir + "/ecdsa_1.param.pub")));
  Result<AuthorizedKey> rsa = ParsePublicKeyLine(ReadFile(dir + "/rsa_1.pub"));
  ASSERT_TRUE(rsa.has_value());
  EXPECT_EQ(rsa->key.RsaBits(), 1024u);
  EXPECT_EQ(rsa->comment, "RSA test key #1");
  Result<AuthorizedKey> sk = ParsePublicKeyLine(ReadFile(dir + "/ed25519_sk1.pub"));
  ASSERT_TRUE(sk.has_value());
  EXPECT_EQ(sk->key.type, KeyType::kSkEd25519);
  EXPECT_EQ(sk->key.application, "ssh:");
  EXPECT_EQ(sk->key.ed25519.size(), 32u);
}

// Keys made now by ssh-keygen, every type: fingerprints agree with -l.
TEST(SshKeyTest, FingerprintsAgreeWithSshKeygen) {
  TempDir dir;
  struct Case {
    std::string type;
    int bits;
    KeyType expect;
  };
  const std::vector<Case> cases = {
      {"rsa", 1024, KeyType::kRsa},        {"rsa", 3072, KeyType::kRsa},
      {"ecdsa", 256, KeyType::kEcdsaP256}, {"ecdsa", 384, KeyType::kEcdsaP384},
      {"ecdsa", 521, KeyType::kEcdsaP521}, {"ed25519", 0, KeyType::kEd25519}};
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type + std::to_string(c.bits));
    std::string key = MakeKey(dir, "k" + std::to_string(n++), c.type, c.bits);
    Result<AuthorizedKey> parsed = ParsePublicKeyLine(ReadFile(key + ".pub"));
    ASSERT_TRUE(parsed.has_value()) << parsed.error().detail;
    EXPECT_EQ(parsed->key.type, c.expect);
    if (c.type == "rsa") {
      EXPECT_EQ(parsed->key.RsaBits(), static_cast<unsigned>(c.bits));
    }
    auto r = certgate::testing::Run({"ssh-keygen", "-l", "-E", "sha256", "-f", key + ".pub"});
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_EQ(Sha256Fingerprint(parsed->key.blob), FingerprintField(r.out));
  }
}

TEST(SshKeyTest, LineSyntax) {
  std::string dir = SharedTestData();
  if (dir.empty()) GTEST_SKIP() << "shared test data not present";
  std::istringstream in(ReadFile(dir + "/ed25519_1.pub"));
  std::string type, b64;
  in >> type >> b64;
  // Blanks around and no comment.
  Result<AuthorizedKey> k = ParsePublicKeyLine(" \t" + type + " \t " + b64 + " \n");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->comment, "");
  // Comment with spaces is kept whole.
  k = ParsePublicKeyLine(type + " " + b64 + " a b  c");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->comment, "a b  c");

  EXPECT_EQ(ParsePublicKeyLine("").error().code, Errc::kBadFormat);
  EXPECT_EQ(ParsePublicKeyLine(type).error().code, Errc::kBadFormat);
  // Options prefix as in authorized_keys: not a key type.
  EXPECT_EQ(ParsePublicKeyLine("cert-authority " + type + " " + b64).error().code,
            Errc::kUnsupportedType);
  // Type on the line must equal the type inside.
  EXPECT_EQ(ParsePublicKeyLine("ssh-rsa " + b64).error().code, Errc::kTypeMismatch);
  // Not strict base64.
  EXPECT_EQ(ParsePublicKeyLine(type + " " + b64.substr(0, b64.size() - 1)).error().code,
            Errc::kBadEncoding);
  // A certificate is not a CA key line.
  std::istringstream cin(ReadFile(dir + "/ed25519_1-cert.pub"));
  std::string ctype, cb64;
  cin >> ctype >> cb64;
  EXPECT_EQ(ParsePublicKeyLine(ctype + " " + cb64).error().code, Errc::kUnsupportedType);
  EXPECT_EQ(ParsePublicKeyLine(type + " " + cb64).error().code, Errc::kUnsupportedType);
  EXPECT_EQ(ParsePublicKeyBlob(DecodeOrDie(cb64)).error().code, Errc::kUnsupportedType);
}

// A key line is one line: sshd would read a second key after a line break
// inside the comment once certgate prints it (keys-cmd, TrustedUserCAKeys).
TEST(SshKeyTest, LineBreakOrNulInsideALineIsRefused) {
  TempDir dir;
  const std::string pub = MakeKey(dir, "k", "ed25519") + ".pub";
  std::istringstream in(ReadFile(pub));
  std::string type, b64;
  in >> type >> b64;
  const std::string line = type + " " + b64;
  ASSERT_TRUE(ParsePublicKeyLine(line + " comment\r\n").has_value());  // CRLF ending: fine
  for (const std::string& inside : {std::string("a\nssh-ed25519 AAAA b"), std::string("a\rb"),
                                    std::string("a\0b", 3)}) {
    Result<AuthorizedKey> k = ParsePublicKeyLine(line + " " + inside);
    ASSERT_FALSE(k.has_value());
    EXPECT_EQ(k.error().code, Errc::kBadFormat);
  }
}

std::vector<uint8_t> Ed25519Blob(size_t key_len) {
  WireWriter w;
  w.PutString("ssh-ed25519");
  w.PutString(std::vector<uint8_t>(key_len, 7));
  return w.Take();
}

TEST(SshKeyTest, BlobStrictness) {
  EXPECT_TRUE(ParsePublicKeyBlob(Ed25519Blob(32)).has_value());
  EXPECT_EQ(ParsePublicKeyBlob(Ed25519Blob(31)).error().code, Errc::kBadFormat);
  EXPECT_EQ(ParsePublicKeyBlob(Ed25519Blob(33)).error().code, Errc::kBadFormat);
  std::vector<uint8_t> blob = Ed25519Blob(32);
  blob.push_back(0);
  EXPECT_EQ(ParsePublicKeyBlob(blob).error().code, Errc::kTrailingData);
  blob = Ed25519Blob(32);
  for (size_t len = 0; len < blob.size(); ++len) {
    EXPECT_FALSE(ParsePublicKeyBlob(std::span(blob).first(len)).has_value()) << len;
  }
  WireWriter dsa;
  dsa.PutString("ssh-dss");
  EXPECT_EQ(ParsePublicKeyBlob(dsa.data()).error().code, Errc::kUnsupportedType);
}

std::vector<uint8_t> RsaBlob(const std::vector<uint8_t>& e, const std::vector<uint8_t>& n) {
  WireWriter w;
  w.PutString("ssh-rsa");
  w.PutMpint(e);
  w.PutMpint(n);
  return w.Take();
}

TEST(SshKeyTest, RsaLimits) {
  const std::vector<uint8_t> e = {1, 0, 1};
  std::vector<uint8_t> n1024(128, 0xff);
  std::vector<uint8_t> n1023(128, 0xff);
  n1023[0] = 0x7f;
  EXPECT_TRUE(ParsePublicKeyBlob(RsaBlob(e, n1024)).has_value());
  EXPECT_EQ(ParsePublicKeyBlob(RsaBlob(e, n1023)).error().code, Errc::kBadFormat);
  std::vector<uint8_t> n16385(2049, 0xff);
  n16385[0] = 1;
  EXPECT_EQ(ParsePublicKeyBlob(RsaBlob(e, n16385)).error().code, Errc::kTooLarge);
  EXPECT_EQ(ParsePublicKeyBlob(RsaBlob({1, 0, 0}, n1024)).error().code, Errc::kBadFormat);
  EXPECT_EQ(ParsePublicKeyBlob(RsaBlob({1}, n1024)).error().code, Errc::kBadFormat);
  // A negative mpint (top bit set, no zero byte) is refused.
  WireWriter w;
  w.PutString("ssh-rsa");
  w.PutString(std::vector<uint8_t>{0x81});
  w.PutMpint(n1024);
  EXPECT_EQ(ParsePublicKeyBlob(w.data()).error().code, Errc::kBadEncoding);
}

std::vector<uint8_t> EcBlob(std::string_view name, std::string_view curve,
                            const std::vector<uint8_t>& point) {
  WireWriter w;
  w.PutString(name);
  w.PutString(curve);
  w.PutString(point);
  return w.Take();
}

TEST(SshKeyTest, EcPointValidation) {
  std::string dir = SharedTestData();
  if (dir.empty()) GTEST_SKIP() << "shared test data not present";
  Result<AuthorizedKey> good = ParsePublicKeyLine(ReadFile(dir + "/ecdsa_1.pub"));
  ASSERT_TRUE(good.has_value());
  std::vector<uint8_t> point = good->key.ec_point;
  EXPECT_TRUE(ParsePublicKeyBlob(EcBlob("ecdsa-sha2-nistp256", "nistp256", point)).has_value());
  // Curve name must match the type.
  EXPECT_EQ(ParsePublicKeyBlob(EcBlob("ecdsa-sha2-nistp256", "nistp384", point)).error().code,
            Errc::kTypeMismatch);
  // Off the curve.
  std::vector<uint8_t> off = point;
  off.back() ^= 1;
  EXPECT_EQ(ParsePublicKeyBlob(EcBlob("ecdsa-sha2-nistp256", "nistp256", off)).error().code,
            Errc::kBadFormat);
  // Compressed form and point at infinity.
  std::vector<uint8_t> compressed(point.begin(), point.begin() + 33);
  compressed[0] = 0x02;
  EXPECT_FALSE(ParsePublicKeyBlob(EcBlob("ecdsa-sha2-nistp256", "nistp256", compressed)));
  EXPECT_FALSE(ParsePublicKeyBlob(EcBlob("ecdsa-sha2-nistp256", "nistp256", {0x00})));
  std::vector<uint8_t> zero(65, 0);
  zero[0] = 4;
  EXPECT_FALSE(ParsePublicKeyBlob(EcBlob("ecdsa-sha2-nistp256", "nistp256", zero)));
  // Right size for P-256 but declared P-384.
  EXPECT_FALSE(ParsePublicKeyBlob(EcBlob("ecdsa-sha2-nistp384", "nistp384", point)));
}

TEST(SshKeyTest, SkApplication) {
  WireWriter w;
  w.PutString("sk-ssh-ed25519@openssh.com");
  w.PutString(std::vector<uint8_t>(32, 9));
  w.PutString(std::string_view("ssh:\0x", 6));
  EXPECT_EQ(ParsePublicKeyBlob(w.data()).error().code, Errc::kBadEncoding);
  WireWriter missing;
  missing.PutString("sk-ssh-ed25519@openssh.com");
  missing.PutString(std::vector<uint8_t>(32, 9));
  EXPECT_EQ(ParsePublicKeyBlob(missing.data()).error().code, Errc::kTruncated);
}

TEST(SshKeyTest, Fingerprint) {
  // SHA-256 of the empty string, base64 without padding.
  EXPECT_EQ(Sha256Fingerprint({}), "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
}

}  // namespace
}  // namespace certgate::core

namespace certgate::core {
namespace {

TEST(SshKeyTest, NextKeyFileLineSkipsBlanksAndComments) {
  std::string_view text = "# header\n\n  ssh-ed25519 AAAA a\n\t# indented comment\r\nlast";
  size_t line_no = 0;
  std::string_view line;
  ASSERT_TRUE(NextKeyFileLine(&text, &line_no, &line));
  EXPECT_EQ(line, "ssh-ed25519 AAAA a");
  EXPECT_EQ(line_no, 3u);
  ASSERT_TRUE(NextKeyFileLine(&text, &line_no, &line));
  EXPECT_EQ(line, "last");
  EXPECT_EQ(line_no, 5u);
  EXPECT_FALSE(NextKeyFileLine(&text, &line_no, &line));
}

}  // namespace
}  // namespace certgate::core
