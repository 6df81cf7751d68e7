#include "cafetch/issuers.h"

#include <gtest/gtest.h>

#include <string>

#include "core/base64.h"
#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using testing::TempDir;

const std::string kOptionsRefused =
    "key options before the key type are not allowed in a CA key answer (a line is `keytype base64 [comment]`, as "
    "sshd reads TrustedUserCAKeys); ask the issuer for plain key lines";

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Keys made by the real ssh-keygen: two Ed25519 and one RSA.
class IssuersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ed1_ = Trim(testing::ReadFile(testing::MakeKey(dir_, "ca1", "ed25519") + ".pub"));
    ed2_ = Trim(testing::ReadFile(testing::MakeKey(dir_, "ca2", "ed25519") + ".pub"));
    rsa_ = Trim(testing::ReadFile(testing::MakeKey(dir_, "rsa", "rsa", 2048) + ".pub"));
    ASSERT_FALSE(ed1_.empty());
    ASSERT_FALSE(rsa_.empty());
  }
  static std::string Field(const std::string& line, int n) {
    size_t a = 0;
    for (int i = 0; i < n; ++i) a = line.find(' ', a) + 1;
    size_t b = line.find(' ', a);
    return line.substr(a, b == std::string::npos ? std::string::npos : b - a);
  }
  static std::string Bare(const std::string& line) { return Field(line, 0) + " " + Field(line, 1); }

  TempDir dir_;
  std::string ed1_, ed2_, rsa_;
};

TEST_F(IssuersTest, UrlKeyLinesWithCommentsAndDuplicates) {
  const std::string body = "# CA keys\n\n" + ed1_ + "\r\n  " + ed2_ + "\n" + ed1_ + " again\n";
  auto keys = ParseIssuerAnswer(IssuerType::kUrl, body);
  ASSERT_TRUE(keys) << keys.error().detail;
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ(core::FormatPublicKeyLine((*keys)[0].key, (*keys)[0].comment), ed1_);
  EXPECT_EQ(core::FormatPublicKeyLine((*keys)[1].key, (*keys)[1].comment), ed2_);
}

TEST_F(IssuersTest, OneBadLineRejectsAll) {
  auto keys = ParseIssuerAnswer(IssuerType::kUrl, ed1_ + "\nssh-ed25519 AAAAbroken\n");
  ASSERT_FALSE(keys);
  // Type on the line differs from the blob.
  const std::string lie = "ssh-rsa " + Field(ed1_, 1);
  auto mismatch = ParseIssuerAnswer(IssuerType::kFile, ed2_ + "\n" + lie + "\n");
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, Errc::kTypeMismatch);
  // An options prefix is not a TrustedUserCAKeys line.
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kUrl, "cert-authority " + ed1_ + "\n"));
  // A control character in a comment.
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kUrl, ed1_ + "\x1b[31m\n"));
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kUrl, ed1_ + std::string("\0", 1)));
}

TEST_F(IssuersTest, EmptyAnswerIsAnError) {
  for (IssuerType t : {IssuerType::kVault, IssuerType::kUrl, IssuerType::kTeleport, IssuerType::kCyberark}) {
    auto keys = ParseIssuerAnswer(t, "\n# nothing\n\n");
    ASSERT_FALSE(keys);
    EXPECT_EQ(keys.error().code, Errc::kBadFormat);
  }
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kStep, R"({"userKey":[],"hostKey":[]})"));
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kUrl, ""));
}

TEST_F(IssuersTest, Vault) {
  auto text = ParseIssuerAnswer(IssuerType::kVault, rsa_ + "\n");
  ASSERT_TRUE(text) << text.error().detail;
  EXPECT_EQ((*text)[0].key.type, core::KeyType::kRsa);
  auto json = ParseIssuerAnswer(IssuerType::kVault,
                                R"({"request_id":"x","data":{"public_key":")" + ed1_ + R"(\n"},"warnings":null})");
  ASSERT_TRUE(json) << json.error().detail;
  EXPECT_EQ(core::FormatPublicKeyLine((*json)[0].key, (*json)[0].comment), ed1_);
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kVault, R"({"data":{}})"));
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kVault, R"({"data":{"public_key":7}})"));
}

TEST_F(IssuersTest, Step) {
  const std::string body = R"({"userKey":[")" + Field(ed1_, 1) + R"(",")" + Field(rsa_, 1) +
                           R"("],"hostKey":["AAAA"]})";
  auto keys = ParseIssuerAnswer(IssuerType::kStep, body);
  ASSERT_TRUE(keys) << keys.error().detail;
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ(core::FormatPublicKeyLine((*keys)[0].key), Bare(ed1_));
  EXPECT_EQ((*keys)[1].key.type, core::KeyType::kRsa);
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kStep, R"({"userKey":["not base64!"]})"));
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kStep, R"({"userKey":[1]})"));
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kStep, R"({"hostKey":[]})"));
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kStep, ed1_));
}

TEST_F(IssuersTest, Akeyless) {
  auto keys = ParseIssuerAnswer(IssuerType::kAkeyless,
                                R"({"raw":"xx","ssh":")" + Bare(rsa_) + R"(\n","pem":"-----BEGIN..."})");
  ASSERT_TRUE(keys) << keys.error().detail;
  EXPECT_EQ(core::FormatPublicKeyLine((*keys)[0].key), Bare(rsa_));
  auto bare = ParseIssuerAnswer(IssuerType::kAkeyless, R"({"ssh":")" + Field(rsa_, 1) + R"("})");
  ASSERT_TRUE(bare) << bare.error().detail;
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kAkeyless, R"({"raw":"x"})"));
  auto empty = ParseIssuerAnswer(IssuerType::kAkeyless, R"({"raw":"x","ssh":"","pem":"p"})");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().detail, "ssh: empty, no key");
}

TEST_F(IssuersTest, Cyberark) {
  auto lines = ParseIssuerAnswer(IssuerType::kCyberark, ed1_ + "\n" + ed2_ + "\n");
  ASSERT_TRUE(lines);
  EXPECT_EQ(lines->size(), 2u);
  auto array = ParseIssuerAnswer(IssuerType::kCyberark, R"([")" + ed1_ + R"(",")" + ed2_ + R"("])");
  ASSERT_TRUE(array) << array.error().detail;
  EXPECT_EQ(array->size(), 2u);
  auto object = ParseIssuerAnswer(IssuerType::kCyberark, R"({"publicKeys":[")" + ed2_ + R"("]})");
  ASSERT_TRUE(object) << object.error().detail;
  EXPECT_EQ(core::FormatPublicKeyLine((*object)[0].key, (*object)[0].comment), ed2_);
  auto single = ParseIssuerAnswer(IssuerType::kCyberark, R"({"public_key":")" + ed2_ + R"("})");
  ASSERT_TRUE(single) << single.error().detail;
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kCyberark, R"({"keys":[")" + ed1_ + R"("],"key":")" + ed2_ + R"("})"));
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kCyberark, R"({"other":1})"));
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kCyberark, R"([")" + ed1_ + R"(",5])"));
}

TEST_F(IssuersTest, Teleport) {
  const std::string body = "cert-authority " + Bare(rsa_) + " clustername=tele.example.com&type=user\n" +
                           "cert-authority " + Bare(ed1_) + " clustername=tele.example.com&type=user\n";
  auto keys = ParseIssuerAnswer(IssuerType::kTeleport, body);
  ASSERT_TRUE(keys) << keys.error().detail;
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].comment, "clustername=tele.example.com&type=user");
  EXPECT_EQ(core::FormatPublicKeyLine((*keys)[1].key), Bare(ed1_));
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kTeleport, "cert-authority,principals=\"x\" " + Bare(ed1_) + "\n"));
  EXPECT_FALSE(ParseIssuerAnswer(IssuerType::kTeleport, "cert-authority\n"));
}

// A control character anywhere in a key line, raw or decoded from a JSON
// escape, refuses the whole answer; a tab is a blank and is allowed.
TEST_F(IssuersTest, ControlCharactersInKeyLinesAreRefused) {
  struct Case {
    IssuerType type;
    std::string body;
    std::string detail;
  };
  const Case cases[] = {
      {IssuerType::kUrl, ed1_ + "\n" + Bare(ed2_) + " ca\x7f" "2\n", "line 2: control character"},
      {IssuerType::kFile, Bare(ed1_) + " a\rb\n", "line 1: control character"},
      {IssuerType::kVault, R"({"data":{"public_key":")" + Bare(ed1_) + R"( ca\u0007"}})", "line 1: control character"},
      {IssuerType::kStep, R"({"userKey":[")" + Field(ed1_, 1) + R"(\u0000"]})", "userKey entry 1: control character"},
      {IssuerType::kStep, R"({"userKey":[")" + ed1_ + R"(\u001b[2J"]})", "userKey entry 1: control character"},
      {IssuerType::kAkeyless, R"({"ssh":")" + Bare(rsa_) + R"( \u001b]0;x\u0007"})", "ssh: control character"},
      // One array entry holding two lines is not split into two keys.
      {IssuerType::kCyberark, R"([")" + ed1_ + R"(\n)" + ed2_ + R"("])", "array entry 1: control character"},
      {IssuerType::kCyberark, R"({"keys":[")" + ed1_ + R"(\u007f"]})", "keys entry 1: control character"},
      {IssuerType::kTeleport, "cert-authority " + Bare(ed1_) + " clustername=a\x01" "b\n",
       "line 1: control character"},
  };
  for (const Case& c : cases) {
    auto keys = ParseIssuerAnswer(c.type, c.body);
    ASSERT_FALSE(keys) << c.body;
    EXPECT_EQ(keys.error().code, Errc::kBadFormat) << c.body;
    EXPECT_EQ(keys.error().detail, c.detail) << c.body;
  }
  auto tab = ParseIssuerAnswer(IssuerType::kUrl, Field(ed1_, 0) + "\t" + Field(ed1_, 1) + "\tca\tone\n");
  ASSERT_TRUE(tab) << tab.error().detail;
  EXPECT_EQ((*tab)[0].comment, "ca\tone");
}

// Teleport: "cert-authority " is stripped, a bare key line is taken as it
// is, and any other prefix (options, known_hosts' @cert-authority) refuses
// the whole answer.
TEST_F(IssuersTest, TeleportLinesWithoutCertAuthority) {
  auto mixed = ParseIssuerAnswer(IssuerType::kTeleport,
                                 "cert-authority " + ed1_ + "\n" + ed2_ + "\ncert-authority\t" + Bare(rsa_) + "\n");
  ASSERT_TRUE(mixed) << mixed.error().detail;
  ASSERT_EQ(mixed->size(), 3u);
  EXPECT_EQ(core::FormatPublicKeyLine((*mixed)[0].key, (*mixed)[0].comment), ed1_);
  EXPECT_EQ(core::FormatPublicKeyLine((*mixed)[1].key, (*mixed)[1].comment), ed2_);
  EXPECT_EQ(core::FormatPublicKeyLine((*mixed)[2].key), Bare(rsa_));

  struct Case {
    std::string line;
    Errc code;
    std::string detail;
  };
  const Case refused[] = {
      {"@cert-authority *.tele.example.com " + Bare(ed1_), Errc::kUnsupportedType,
       "line 2: a known_hosts line (@cert-authority or @revoked before the key type) is not a CA key line; that is "
       "a host CA export: fetch the user CA key (for teleport, /webapi/auth/export?type=user)"},
      {"principals=\"alice\" " + Bare(ed1_), Errc::kUnsupportedType, "line 2: " + kOptionsRefused},
      {"cert-authority-v2 " + Bare(ed1_), Errc::kBadFormat, "line 2: cert-authority with options or without a key"},
      {"cert-authority ", Errc::kBadFormat, "line 2: empty key line"},
  };
  for (const Case& c : refused) {
    auto keys = ParseIssuerAnswer(IssuerType::kTeleport, "cert-authority " + ed2_ + "\n" + c.line + "\n");
    ASSERT_FALSE(keys) << c.line;
    EXPECT_EQ(keys.error().code, c.code) << c.line;
    EXPECT_EQ(keys.error().detail, c.detail) << c.line;
  }
}

// A DSA key, or key options in front of the key type, say why they are
// refused and what to ask for (was: "unknown key type on line").
TEST_F(IssuersTest, DsaKeysAndKeyOptionsSayWhy) {
  const std::string dsa_refused =
      "ssh-dss (DSA) keys are not supported (OpenSSH disabled DSA in 7.0 and removed it in 9.8); ask the issuer "
      "for an Ed25519, ECDSA or RSA CA key";
  const std::string teleport_format =
      "key options (cert-authority) are not allowed in a CA key answer; \"cert-authority keytype base64\" is "
      "Teleport's export format: set issuer.type: teleport (cafetch then removes the cert-authority prefix)";
  struct Case {
    IssuerType type;
    std::string body;
    std::string detail;
  };
  const Case cases[] = {
      {IssuerType::kUrl, ed1_ + "\nssh-dss AAAAB3NzaC1kc3MAAACBAP8= old-ca\n", "line 2: " + dsa_refused},
      {IssuerType::kVault, "  ssh-dss AAAAB3NzaC1kc3MAAACBAP8=\n", "line 1: " + dsa_refused},
      {IssuerType::kStep, R"({"userKey":["AAAAB3NzaC1kc3MAAACBAP8="]})", "userKey entry 1: " + dsa_refused},
      {IssuerType::kAkeyless, R"({"ssh":"ssh-dss AAAAB3NzaC1kc3MAAACBAP8="})", "ssh: " + dsa_refused},
      {IssuerType::kUrl, "cert-authority " + ed1_ + "\n", "line 1: " + teleport_format},
      {IssuerType::kCyberark, R"({"keys":["cert-authority )" + Bare(ed1_) + R"("]})",
       "keys entry 1: " + teleport_format},
      {IssuerType::kFile, "principals=\"alice\" " + Bare(ed1_) + "\n", "line 1: " + kOptionsRefused},
      {IssuerType::kUrl, "from=\"10.0.0.0/8\",no-pty " + ed1_ + "\n", "line 1: " + kOptionsRefused},
      {IssuerType::kUrl, "cert-authority,principals=\"a b\" " + ed1_ + "\n", "line 1: " + kOptionsRefused},
  };
  for (const Case& c : cases) {
    auto keys = ParseIssuerAnswer(c.type, c.body);
    ASSERT_FALSE(keys) << c.body;
    EXPECT_EQ(keys.error().code, Errc::kUnsupportedType) << c.body;
    EXPECT_EQ(keys.error().detail, c.detail) << c.body;
  }
  // A word that is no key type, with no key type after it, is still just
  // an unknown key type; so is text that names a key type but does not
  // start with key options (an HTML page, an error message): calling it
  // "key options" would send the admin the wrong way.
  for (const std::string& body : {
           std::string("ssh-foo AAAA\n"),
           std::string("<p>Paste your ssh-ed25519 key here</p>\n"),
           std::string("Error: the ssh-rsa key was not found\n"),
           std::string("use ssh-ed25519 keys\n") + ed1_ + "\n",
           "command=\"unclosed " + Bare(ed1_) + "\n",
           "command=\"x\\\\\",no-pty " + Bare(ed1_) + "\n",  // sshd: \" escapes that quote, never closed
           "@cert-authority " + Bare(ed1_) + "\n",
       }) {
    auto unknown = ParseIssuerAnswer(IssuerType::kUrl, body);
    ASSERT_FALSE(unknown) << body;
    EXPECT_EQ(unknown.error().detail, "line 1: unknown key type on line") << body;
  }
  // Option values are read as sshd reads them: quoted, blanks and escaped
  // quotes inside.
  for (std::string_view options : {"command=\"echo a b\"", "command=\"say \\\"hi\\\" now\",no-pty",
                                     "no-pty,no-agent-forwarding", "No-PTY"}) {
    auto keys = ParseIssuerAnswer(IssuerType::kUrl, std::string(options) + " " + ed1_ + "\n");
    ASSERT_FALSE(keys) << options;
    EXPECT_EQ(keys.error().detail, "line 1: " + kOptionsRefused) << options;
  }
}

TEST_F(IssuersTest, CyberarkKeysThatAreNeitherListNorStringAreRefused) {
  for (const char* name : {"publicKeys", "public_keys", "keys", "publicKey", "public_key", "key"}) {
    for (const std::string& value : {std::string("7"), std::string("null"), std::string("true"),
                                     R"({"key":")" + ed1_ + R"("})"}) {
      const std::string body = std::string(R"({")") + name + R"(":)" + value + "}";
      auto keys = ParseIssuerAnswer(IssuerType::kCyberark, body);
      ASSERT_FALSE(keys) << body;
      EXPECT_EQ(keys.error().code, Errc::kBadFormat) << body;
      EXPECT_EQ(keys.error().detail, std::string("cyberark ") + name + " is neither a list nor a string") << body;
    }
  }
}

TEST_F(IssuersTest, CertificatesAreRejected) {
  const std::string user = testing::MakeKey(dir_, "user", "ed25519");
  const std::string cert = testing::SignCert(dir_.Path("ca1"), user + ".pub", "id", {"-n", "alice"});
  auto keys = ParseIssuerAnswer(IssuerType::kUrl, "ssh-ed25519-cert-v01@openssh.com " + cert + "\n");
  ASSERT_FALSE(keys);
  auto step = ParseIssuerAnswer(IssuerType::kStep, R"({"userKey":[")" + cert + R"("]})");
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error().code, Errc::kUnsupportedType);
}

TEST_F(IssuersTest, TooManyKeys) {
  std::string body;
  for (size_t i = 0; i <= kMaxCaKeys; ++i) {
    body += testing::ReadFile(testing::MakeKey(dir_, "k" + std::to_string(i), "ed25519") + ".pub");
  }
  auto keys = ParseIssuerAnswer(IssuerType::kUrl, body);
  ASSERT_FALSE(keys);
  EXPECT_EQ(keys.error().code, Errc::kTooLarge);
}

}  // namespace
}  // namespace certgate::cafetch
