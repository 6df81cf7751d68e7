// Certificates crafted field by field and signed with keys made here: the
// cases ssh-keygen cannot be asked to produce (sk keys and CAs, NUL bytes,
// 0xFFFFFFFF lengths, wrong types, option encodings, CIDR lists).
// certificate_test.cc compares real ssh-keygen certificates field by field.
#include "core/certificate.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>

#include <optional>
#include <string>
#include <vector>

#include "core/base64.h"
#include "core/openssl_ptr.h"
#include "core/wire_reader.h"
#include "tests/certificate_testing.h"
#include "tests/crypto_testing.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using certgate::testing::DerToSsh;
using certgate::testing::EvpSign;
using certgate::testing::Sha256;

// ---------------------------------------------------------------------------
// Certificates crafted field by field and signed with keys made here.

// TestCa signs like an OpenSSH CA of one of the types below.
class TestCa {
 public:
  enum class Kind { kEd25519, kEcdsaP256, kSkEd25519, kSkEcdsaP256 };
  explicit TestCa(Kind kind) : kind_(kind) {
    bool ed = kind == Kind::kEd25519 || kind == Kind::kSkEd25519;
    key_.reset(ed ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                  : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    WireWriter w;
    if (ed) {
      std::vector<uint8_t> pk(32);
      size_t len = pk.size();
      EXPECT_EQ(EVP_PKEY_get_raw_public_key(key_.get(), pk.data(), &len), 1);
      w.PutString(kind == Kind::kEd25519 ? "ssh-ed25519" : "sk-ssh-ed25519@openssh.com");
      w.PutString(pk);
    } else {
      std::vector<uint8_t> q(65);
      size_t len = 0;
      EXPECT_EQ(EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_PUB_KEY, q.data(),
                                                q.size(), &len),
                1);
      w.PutString(kind == Kind::kEcdsaP256 ? "ecdsa-sha2-nistp256"
                                           : "sk-ecdsa-sha2-nistp256@openssh.com");
      w.PutString("nistp256");
      w.PutString(q);
    }
    if (kind == Kind::kSkEd25519 || kind == Kind::kSkEcdsaP256) w.PutString("ssh:");
    blob_ = w.Take();
  }

  const std::vector<uint8_t>& blob() const { return blob_; }
  std::string_view Algorithm() const {
    switch (kind_) {
      case Kind::kEd25519:
        return "ssh-ed25519";
      case Kind::kEcdsaP256:
        return "ecdsa-sha2-nistp256";
      case Kind::kSkEd25519:
        return "sk-ssh-ed25519@openssh.com";
      case Kind::kSkEcdsaP256:
        return "sk-ecdsa-sha2-nistp256@openssh.com";
    }
    return "";
  }

  std::vector<uint8_t> Sign(std::span<const uint8_t> data) const {
    WireWriter w;
    w.PutString(Algorithm());
    std::vector<uint8_t> msg(data.begin(), data.end());
    bool sk = kind_ == Kind::kSkEd25519 || kind_ == Kind::kSkEcdsaP256;
    if (sk) {
      WireWriter m;
      m.PutBytes(Sha256(AsBytes("ssh:")));
      m.PutU8(kSkFlags);
      m.PutU32(kSkCounter);
      m.PutBytes(Sha256(data));
      msg = m.Take();
    }
    if (kind_ == Kind::kEd25519 || kind_ == Kind::kSkEd25519) {
      w.PutString(EvpSign(key_.get(), nullptr, msg));
    } else {
      w.PutString(DerToSsh(EvpSign(key_.get(), EVP_sha256(), msg)));
    }
    if (sk) {
      w.PutU8(kSkFlags);
      w.PutU32(kSkCounter);
    }
    return w.Take();
  }

  static constexpr uint8_t kSkFlags = 0x01;
  static constexpr uint32_t kSkCounter = 1234;

 private:
  Kind kind_;
  EvpPkeyPtr key_;
  std::vector<uint8_t> blob_;
};

using certgate::testing::OptionList;

std::vector<uint8_t> Options(const OptionList& list) {
  return certgate::testing::JoinOptions(list);
}

std::vector<uint8_t> Str(std::string_view s) {
  return certgate::testing::WireString(AsBytes(s));
}

// Draft holds every field of a certificate; Build signs it.
struct Draft {
  std::string type_name = "ssh-ed25519-cert-v01@openssh.com";
  std::vector<uint8_t> nonce = std::vector<uint8_t>(32, 0x5a);
  std::vector<uint8_t> head = Str(std::string(32, '\x11'));  // key fields after the nonce
  uint64_t serial = 7;
  uint32_t cert_type = kCertTypeUser;
  std::string key_id = "key-id";
  std::vector<std::string> principals = {"alice"};
  std::optional<std::vector<uint8_t>> principals_raw;
  uint64_t valid_after = 100;
  uint64_t valid_before = 200;
  std::vector<uint8_t> critical;
  std::vector<uint8_t> extensions = Options({{"permit-pty", {}}});
  std::optional<std::vector<uint8_t>> signature_key;

  std::vector<uint8_t> Build(const TestCa& ca) const {
    WireWriter w;
    w.PutString(type_name);
    w.PutString(nonce);
    w.PutBytes(head);
    w.PutU64(serial);
    w.PutU32(cert_type);
    w.PutString(key_id);
    if (principals_raw) {
      w.PutString(*principals_raw);
    } else {
      WireWriter p;
      for (const auto& name : principals) p.PutString(name);
      w.PutString(p.data());
    }
    w.PutU64(valid_after);
    w.PutU64(valid_before);
    w.PutString(critical);
    w.PutString(extensions);
    w.PutString(std::string_view());
    w.PutString(signature_key ? *signature_key : ca.blob());
    std::vector<uint8_t> sig = ca.Sign(w.data());
    w.PutString(sig);
    return w.Take();
  }
};

class CertificateCraftedTest : public ::testing::Test {
 protected:
  Errc Code(const Draft& d) {
    Result<Certificate> r = ParseCertificate(d.Build(ca_));
    EXPECT_FALSE(r.has_value());
    return r ? Errc::kInternal : r.error().code;
  }
  TestCa ca_{TestCa::Kind::kEd25519};
};

TEST_F(CertificateCraftedTest, BaselineParses) {
  Draft d;
  Result<Certificate> r = ParseCertificate(d.Build(ca_));
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(r->key_id, "key-id");
  EXPECT_EQ(r->valid_after, 100u);
  EXPECT_FALSE(IsValidAt(*r, 99));
  EXPECT_TRUE(IsValidAt(*r, 100));
  EXPECT_TRUE(IsValidAt(*r, 199));
  EXPECT_FALSE(IsValidAt(*r, 200));
  EXPECT_EQ(r->nonce, d.nonce);
}

TEST_F(CertificateCraftedTest, SecurityKeyAndEcdsaCas) {
  for (auto kind :
       {TestCa::Kind::kSkEd25519, TestCa::Kind::kSkEcdsaP256, TestCa::Kind::kEcdsaP256}) {
    TestCa ca(kind);
    SCOPED_TRACE(std::string(ca.Algorithm()));
    Draft d;
    std::vector<uint8_t> blob = d.Build(ca);
    Result<Certificate> r = ParseCertificate(blob);
    ASSERT_TRUE(r.has_value()) << ErrcName(r.error().code) << ": " << r.error().detail;
    EXPECT_EQ(r->signature.algorithm, ca.Algorithm());
    EXPECT_EQ(r->signature_key.blob, ca.blob());
    if (kind != TestCa::Kind::kEcdsaP256) {
      EXPECT_EQ(r->signature.sk_flags, TestCa::kSkFlags);
      EXPECT_EQ(r->signature.sk_counter, TestCa::kSkCounter);
      EXPECT_EQ(r->signature_key.application, "ssh:");
    }
    for (size_t len = 0; len < blob.size(); ++len) {
      EXPECT_FALSE(ParseCertificate(std::span(blob).first(len)).has_value()) << len;
    }
    // The counter is covered by the signature.
    blob[blob.size() - 1] ^= 1;
    EXPECT_EQ(ParseCertificate(blob).error().code, Errc::kBadSignature);
  }
}

TEST_F(CertificateCraftedTest, SkCertifiedKeys) {
  Draft ed;
  ed.type_name = "sk-ssh-ed25519-cert-v01@openssh.com";
  WireWriter h;
  h.PutString(std::vector<uint8_t>(32, 3));
  h.PutString("ssh:");
  ed.head = h.Take();
  Result<Certificate> r = ParseCertificate(ed.Build(ca_));
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(r->key.type, KeyType::kSkEd25519);
  EXPECT_EQ(r->key.application, "ssh:");
  // The certified key's blob is rebuilt in plain form.
  WireWriter plain;
  plain.PutString("sk-ssh-ed25519@openssh.com");
  plain.PutBytes(ed.head);
  EXPECT_EQ(r->key.blob, plain.data());
}

TEST_F(CertificateCraftedTest, NulInKeyIdOrPrincipal) {
  Draft d;
  d.key_id = std::string("key\0id", 6);
  EXPECT_EQ(Code(d), Errc::kBadEncoding);
  Draft p;
  p.principals = {"alice", std::string("root\0alice", 10)};
  EXPECT_EQ(Code(p), Errc::kBadEncoding);
}

TEST_F(CertificateCraftedTest, PrincipalLimits) {
  Draft d;
  d.principals.clear();
  for (int i = 0; i < 256; ++i) d.principals.push_back("p" + std::to_string(i));
  Result<Certificate> ok = ParseCertificate(d.Build(ca_));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->principals.size(), 256u);
  d.principals.push_back("p256");
  EXPECT_EQ(Code(d), Errc::kTooLarge);

  Draft empty;
  empty.principals.clear();
  Result<Certificate> none = ParseCertificate(empty.Build(ca_));
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->principals.empty());

  Draft truncated;
  WireWriter raw;
  raw.PutU32(5);
  raw.PutBytes(AsBytes("ab"));
  truncated.principals_raw = raw.Take();
  EXPECT_EQ(Code(truncated), Errc::kTruncated);

  Draft long_name;
  long_name.principals = {std::string(kMaxNameLength, 'a')};
  EXPECT_TRUE(ParseCertificate(long_name.Build(ca_)).has_value());
  long_name.principals = {std::string(kMaxNameLength + 1, 'a')};
  EXPECT_EQ(Code(long_name), Errc::kTooLarge);
  Draft long_id;
  long_id.key_id = std::string(kMaxNameLength + 1, 'a');
  EXPECT_EQ(Code(long_id), Errc::kTooLarge);
}

TEST_F(CertificateCraftedTest, LengthAllOnes) {
  Draft d;
  std::vector<uint8_t> blob = d.Build(ca_);
  // The key id's length field sits after name, nonce, key, serial and type.
  size_t key_id_at = 4 + d.type_name.size() + 4 + d.nonce.size() + d.head.size() + 8 + 4;
  ASSERT_EQ(blob[key_id_at + 3], d.key_id.size());
  for (size_t i = 0; i < 4; ++i) blob[key_id_at + i] = 0xff;
  EXPECT_EQ(ParseCertificate(blob).error().code, Errc::kTruncated);
  std::vector<uint8_t> outer = d.Build(ca_);
  for (size_t i = 0; i < 4; ++i) outer[i] = 0xff;
  EXPECT_EQ(ParseCertificate(outer).error().code, Errc::kTruncated);
  Draft p;
  WireWriter raw;
  raw.PutU32(0xffffffff);
  p.principals_raw = raw.Take();
  EXPECT_EQ(Code(p), Errc::kTruncated);
  Draft o;
  WireWriter opt;
  opt.PutString("force-command");
  opt.PutU32(0xffffffff);
  o.critical = opt.Take();
  EXPECT_EQ(Code(o), Errc::kTruncated);
}

TEST_F(CertificateCraftedTest, WrongTypes) {
  Draft plain;
  plain.type_name = "ssh-ed25519";
  EXPECT_EQ(Code(plain), Errc::kUnsupportedType);
  Draft alias;
  alias.type_name = "rsa-sha2-256-cert-v01@openssh.com";
  EXPECT_EQ(Code(alias), Errc::kUnsupportedType);
  Draft unknown;
  unknown.type_name = "ssh-dss-cert-v01@openssh.com";
  EXPECT_EQ(Code(unknown), Errc::kUnsupportedType);
  EXPECT_EQ(ParseCertificate(unknown.Build(ca_)).error().detail,
            "DSA certificates are not supported (OpenSSH disabled DSA in 9.8)");
  EXPECT_EQ(ParseCertificate(plain.Build(ca_)).error().detail,
            "not a certificate: type \"ssh-ed25519\"; sshd passes a certificate only, give the -cert.pub file's key");
  // Outer name says RSA, inner fields are an Ed25519 key.
  Draft mismatch;
  mismatch.type_name = "ssh-rsa-cert-v01@openssh.com";
  EXPECT_FALSE(ParseCertificate(mismatch.Build(ca_)).has_value());
  // Outer P-256 with a P-384 curve name inside.
  Draft curve;
  curve.type_name = "ecdsa-sha2-nistp256-cert-v01@openssh.com";
  WireWriter h;
  h.PutString("nistp384");
  h.PutString(std::vector<uint8_t>(97, 4));
  curve.head = h.Take();
  EXPECT_EQ(Code(curve), Errc::kTypeMismatch);
  Draft type3;
  type3.cert_type = 3;
  EXPECT_EQ(Code(type3), Errc::kNotUserCertificate);
  Draft host;
  host.cert_type = kCertTypeHost;
  std::string b64 = Base64Encode(host.Build(ca_));
  EXPECT_EQ(ParseUserCertificate(b64, "").error().code, Errc::kNotUserCertificate);
}

// The certified key is validated like a plain key (sshkey.c cert_parse
// reads it with the plain key's deserializer).
TEST_F(CertificateCraftedTest, CertifiedKeyValidated) {
  const std::vector<uint8_t> e = {1, 0, 1};
  auto rsa_head = [&](size_t bytes, uint8_t top) {
    std::vector<uint8_t> n(bytes, 0xff);
    n[0] = top;
    WireWriter h;
    h.PutMpint(e);
    h.PutMpint(n);
    return h.Take();
  };
  Draft rsa;
  rsa.type_name = "ssh-rsa-cert-v01@openssh.com";
  rsa.head = rsa_head(128, 0xff);
  Result<Certificate> ok = ParseCertificate(rsa.Build(ca_));
  ASSERT_TRUE(ok.has_value()) << ok.error().detail;
  EXPECT_EQ(ok->key.RsaBits(), 1024u);
  rsa.head = rsa_head(128, 0x7f);  // 1023 bits
  EXPECT_EQ(Code(rsa), Errc::kBadFormat);

  TestCa point_source(TestCa::Kind::kEcdsaP256);
  WireReader pr(point_source.blob());
  std::span<const uint8_t> name, curve, point;
  ASSERT_TRUE(pr.ReadString(&name) && pr.ReadString(&curve) && pr.ReadString(&point));
  Draft ec;
  ec.type_name = "ecdsa-sha2-nistp256-cert-v01@openssh.com";
  WireWriter good;
  good.PutString("nistp256");
  good.PutString(point);
  ec.head = good.Take();
  EXPECT_TRUE(ParseCertificate(ec.Build(ca_)).has_value());
  std::vector<uint8_t> off(point.begin(), point.end());
  off.back() ^= 1;
  WireWriter bad;
  bad.PutString("nistp256");
  bad.PutString(off);
  ec.head = bad.Take();
  EXPECT_EQ(Code(ec), Errc::kBadFormat);

  Draft ed;
  ed.head = Str(std::string(31, 'x'));
  EXPECT_EQ(Code(ed), Errc::kBadFormat);
}

// Regression (differential test): points OpenSSL's public-key check takes
// but sshkey_ec_validate_public refuses, a coordinate of at most half the
// order's bits or not below order - 1, were accepted.
TEST_F(CertificateCraftedTest, EcPointOutsideOpenSshRange) {
  for (const char* curve : {"nistp256", "nistp384", "nistp521"}) {
    for (bool small_x : {true, false}) {
      SCOPED_TRACE(std::string(curve) + (small_x ? " small x" : " x >= order - 1"));
      Draft d;
      d.type_name = std::string("ecdsa-sha2-") + curve + "-cert-v01@openssh.com";
      WireWriter h;
      h.PutString(curve);
      h.PutString(certgate::testing::EcPointOutsideOpenSshRange(curve, small_x));
      d.head = h.Take();
      EXPECT_EQ(Code(d), Errc::kBadFormat);
    }
  }
}

// Regression (differential test): sshkey_verify refuses a signature over
// more than 1 MiB (SSH_KEY_MAX_SIGN_DATA_SIZE); such certificates parsed.
TEST_F(CertificateCraftedTest, SignedPartAtMostOneMebibyte) {
  constexpr size_t kEd25519SignatureField = 4 + 4 + 11 + 4 + 64;
  Draft d;
  d.extensions = Options({{"big@example.com", {}}});
  const size_t fixed = d.Build(ca_).size() - kEd25519SignatureField;
  d.extensions = Options({{"big@example.com", std::vector<uint8_t>(kMaxSignedBytes - fixed)}});
  std::vector<uint8_t> at_limit = d.Build(ca_);
  ASSERT_EQ(at_limit.size() - kEd25519SignatureField, kMaxSignedBytes);
  EXPECT_TRUE(ParseCertificate(at_limit).has_value());
  d.extensions = Options({{"big@example.com", std::vector<uint8_t>(kMaxSignedBytes - fixed + 1)}});
  EXPECT_EQ(Code(d), Errc::kTooLarge);
}

TEST_F(CertificateCraftedTest, SignatureKeyMustBePlain) {
  Draft inner;
  std::vector<uint8_t> cert_blob = inner.Build(ca_);
  Draft d;
  d.signature_key = cert_blob;
  EXPECT_EQ(Code(d), Errc::kUnsupportedType);
  Draft trailing;
  std::vector<uint8_t> key = ca_.blob();
  key.push_back(0);
  trailing.signature_key = key;
  EXPECT_EQ(Code(trailing), Errc::kTrailingData);
  // A different CA key than the one that signed.
  TestCa other(TestCa::Kind::kEd25519);
  Draft wrong;
  wrong.signature_key = other.blob();
  EXPECT_EQ(Code(wrong), Errc::kBadSignature);
  // Signature algorithm of another type than the CA key.
  TestCa ecdsa(TestCa::Kind::kEcdsaP256);
  Draft alg;
  alg.signature_key = ca_.blob();
  EXPECT_EQ(ParseCertificate(alg.Build(ecdsa)).error().code, Errc::kTypeMismatch);
}

TEST_F(CertificateCraftedTest, CriticalOptionRules) {
  struct Case {
    const char* label;
    OptionList list;
    Errc expect;
  };
  const std::vector<Case> cases = {
      {"unknown", {{"foo", Str("bar")}}, Errc::kUnknownCriticalOption},
      {"unknown flag", {{"no-pty", {}}}, Errc::kUnknownCriticalOption},
      {"extension name as critical", {{"permit-pty", {}}}, Errc::kUnknownCriticalOption},
      {"duplicate force-command",
       {{"force-command", Str("a")}, {"force-command", Str("a")}},
       Errc::kDuplicateOption},
      {"duplicate source-address",
       {{"source-address", Str("10.0.0.0/8")}, {"source-address", Str("10.0.0.0/8")}},
       Errc::kDuplicateOption},
      {"duplicate verify-required",
       {{"verify-required", {}}, {"verify-required", {}}},
       Errc::kDuplicateOption},
      {"verify-required with data", {{"verify-required", Str("x")}}, Errc::kBadFormat},
      {"force-command without value", {{"force-command", {}}}, Errc::kBadFormat},
      {"force-command extra data",
       {{"force-command",
         [] {
           std::vector<uint8_t> v = Str("ls");
           v.push_back(0);
           return v;
         }()}},
       Errc::kBadFormat},
      {"force-command with NUL",
       {{"force-command", Str(std::string_view("ls\0x", 4))}},
       Errc::kBadFormat},
      {"source-address not CIDR", {{"source-address", Str("*.example.com")}}, Errc::kBadFormat},
      {"source-address host bits", {{"source-address", Str("10.0.0.1/8")}}, Errc::kBadFormat},
      {"source-address empty", {{"source-address", Str("")}}, Errc::kBadFormat},
  };
  for (const auto& c : cases) {
    Draft d;
    d.critical = Options(c.list);
    EXPECT_EQ(Code(d), c.expect) << c.label;
  }
  // Option name with NUL.
  Draft nul;
  nul.critical = Options({{std::string("force-command\0x", 15), Str("ls")}});
  EXPECT_EQ(Code(nul), Errc::kBadEncoding);
  // Truncated option data.
  Draft cut;
  WireWriter w;
  w.PutString("force-command");
  w.PutU32(10);
  w.PutBytes(AsBytes("ls"));
  cut.critical = w.Take();
  EXPECT_EQ(Code(cut), Errc::kTruncated);
  // Order is not enforced (sshd does not), values are decoded.
  Draft ok;
  ok.critical = Options({{"verify-required", {}},
                         {"source-address", Str("192.168.0.0/16,::1")},
                         {"force-command", Str("internal-sftp")}});
  Result<Certificate> r = ParseCertificate(ok.Build(ca_));
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_TRUE(r->verify_required);
  EXPECT_EQ(r->force_command, "internal-sftp");
  EXPECT_EQ(r->source_address, "192.168.0.0/16,::1");
  ASSERT_EQ(r->critical_options.size(), 3u);
  EXPECT_EQ(r->critical_options[0].name, "verify-required");
  EXPECT_TRUE(r->critical_options[0].is_flag);
}

TEST_F(CertificateCraftedTest, ExtensionRules) {
  Draft dup;
  dup.extensions = Options({{"permit-pty", {}}, {"permit-pty", {}}});
  EXPECT_EQ(Code(dup), Errc::kDuplicateOption);
  Draft dup_unknown;
  dup_unknown.extensions = Options({{"x@y", {}}, {"x@y", Str("1")}});
  EXPECT_EQ(Code(dup_unknown), Errc::kDuplicateOption);
  Draft flag_data;
  flag_data.extensions = Options({{"permit-pty", Str("yes")}});
  EXPECT_EQ(Code(flag_data), Errc::kBadFormat);
  Draft touch_data;
  touch_data.extensions = Options({{"no-touch-required", {0}}});
  EXPECT_EQ(Code(touch_data), Errc::kBadFormat);
  // force-command is not an extension: an unknown extension, kept.
  Draft kept;
  kept.extensions = Options(
      {{"force-command", Str("x")}, {"raw@example.com", {1, 2, 3}}, {"flag@example.com", {}}});
  Result<Certificate> r = ParseCertificate(kept.Build(ca_));
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_FALSE(r->force_command.has_value());
  ASSERT_EQ(r->extensions.size(), 3u);
  EXPECT_EQ(r->extensions[0].value, "x");
  EXPECT_FALSE(r->extensions[1].is_flag);
  EXPECT_EQ(r->extensions[1].value, std::string("\x01\x02\x03"));
  EXPECT_TRUE(r->extensions[2].is_flag);

  OptionList many;
  for (size_t i = 0; i < kMaxOptions; ++i) many.push_back({"e" + std::to_string(i) + "@x", {}});
  Draft max;
  max.extensions = Options(many);
  EXPECT_TRUE(ParseCertificate(max.Build(ca_)).has_value());
  many.push_back({"one-more@x", {}});
  Draft over;
  over.extensions = Options(many);
  EXPECT_EQ(Code(over), Errc::kTooLarge);
  EXPECT_EQ(ParseCertificate(over.Build(ca_)).error().detail, "more than " + std::to_string(kMaxOptions) + " extensions");
}

TEST(CertificateCidrTest, SourceAddressLists) {
  for (const char* good :
       {"10.0.0.0/8", "1.2.3.4", "1.2.3.4/32", "0.0.0.0/0", "::1", "::/0", "2001:db8::/32",
        "10.0.0.0/8,192.168.0.0/16,fe80::/10", "2001:DB8::1/128", "10.0.0.0/08",
        // IPv4 as sshd reads it (getaddrinfo AI_NUMERICHOST, i.e. inet_aton):
        // short forms and octal parts, which ssh-keygen -O source-address
        // writes as given.
        "127.1", "127.0.0.01", "0177.0.0.1", "10.1", "10", "4294967295", "10.0/8", "0.0/0"}) {
    EXPECT_TRUE(ParseCidrList(good).has_value()) << good;
  }
  for (const char* bad : {"",
                          ",",
                          "10.0.0.0/8,",
                          ",10.0.0.0/8",
                          "10.0.0.1/8",
                          "10.0.0.0/33",
                          "::/129",
                          "2001:db8::1/32",
                          "10.0.0.0/",
                          "10.0.0.0/a",
                          "10.0.0.0/8/8",
                          "host.example",
                          "*",
                          "10.*",
                          "!10.0.0.0/8",
                          " 10.0.0.0/8",
                          "10.0.0.0/8 ",
                          "1.2.3.4.5",
                          // inet_aton reads "10" as 0.0.0.10 and "010" as 8:
                          // host bits set for /8 and /4, as sshd finds.
                          "10/8",
                          "010.0.0.0/4",
                          "08.0.0.1",
                          "4294967296",
                          "127.1.",
                          ".127.1",
                          "127..1",
                          "0x7f.1",
                          "fe80::1%eth0",
                          "10.0.0.0/-1",
                          "aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa/128"}) {
    Result<std::vector<std::string>> r = ParseCidrList(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, Errc::kBadFormat) << bad;
  }
  Result<std::vector<std::string>> list = ParseCidrList("10.0.0.0/8,::1");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(*list, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
}

}  // namespace
}  // namespace certgate::core
