#include "core/certificate.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/base64.h"
#include "tests/certificate_testing.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using certgate::testing::Describe;
using certgate::testing::KeygenDescribe;
using certgate::testing::MakeKey;
using certgate::testing::PubBase64;
using certgate::testing::ReadFile;
using certgate::testing::SharedTestData;
using certgate::testing::WriteSkPublicKey;
using certgate::testing::SignCert;
using certgate::testing::TempDir;
using certgate::testing::WriteFile;

constexpr uint64_t kForever = ~uint64_t{0};

std::vector<uint8_t> Decode(const std::string& b64) {
  Result<std::vector<uint8_t>> r = Base64Decode(b64);
  EXPECT_TRUE(r.has_value()) << b64;
  return r ? *r : std::vector<uint8_t>{};
}

std::string CertPath(const std::string& pub) { return pub.substr(0, pub.size() - 4) + "-cert.pub"; }

// ---------------------------------------------------------------------------
// Certificates made by the real ssh-keygen.

class CertificateKeygenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    rsa_ca_ = MakeKey(*dir_, "ca_rsa", "rsa", 2048);
    ecdsa256_ca_ = MakeKey(*dir_, "ca_ecdsa256", "ecdsa", 256);
    ecdsa384_ca_ = MakeKey(*dir_, "ca_ecdsa384", "ecdsa", 384);
    ecdsa521_ca_ = MakeKey(*dir_, "ca_ecdsa521", "ecdsa", 521);
    ed25519_ca_ = MakeKey(*dir_, "ca_ed25519", "ed25519");
    subjects_.push_back(MakeKey(*dir_, "u_rsa", "rsa", 2048) + ".pub");
    subjects_.push_back(MakeKey(*dir_, "u_ecdsa256", "ecdsa", 256) + ".pub");
    subjects_.push_back(MakeKey(*dir_, "u_ecdsa384", "ecdsa", 384) + ".pub");
    subjects_.push_back(MakeKey(*dir_, "u_ecdsa521", "ecdsa", 521) + ".pub");
    subjects_.push_back(MakeKey(*dir_, "u_ed25519", "ed25519") + ".pub");
    // Security-key subjects: the same key material as sk-* public keys.
    for (const char* base : {"u_ed25519", "u_ecdsa256"}) {
      std::string sk_pub = dir_->Path(std::string(base) + "_sk.pub");
      WriteSkPublicKey(dir_->Path(std::string(base) + ".pub"), sk_pub);
      subjects_.push_back(sk_pub);
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
    subjects_.clear();
  }

  // SignAndCompare signs |pub| and checks our parse against ssh-keygen -L.
  static Result<Certificate> SignAndParse(const std::string& ca, const std::string& pub,
                                          const std::string& id,
                                          const std::vector<std::string>& extra) {
    std::string b64 = SignCert(ca, pub, id, extra);
    std::string type;
    std::istringstream(ReadFile(CertPath(pub))) >> type;
    Result<Certificate> cert = ParseUserCertificate(b64, type);
    if (cert) {
      EXPECT_EQ(Describe(*cert), KeygenDescribe(CertPath(pub)));
      EXPECT_EQ(cert->blob, Decode(b64));
    }
    return cert;
  }

  static TempDir* dir_;
  static std::string rsa_ca_, ecdsa256_ca_, ecdsa384_ca_, ecdsa521_ca_, ed25519_ca_;
  static std::vector<std::string> subjects_;
};

TempDir* CertificateKeygenTest::dir_ = nullptr;
std::string CertificateKeygenTest::rsa_ca_;
std::string CertificateKeygenTest::ecdsa256_ca_;
std::string CertificateKeygenTest::ecdsa384_ca_;
std::string CertificateKeygenTest::ecdsa521_ca_;
std::string CertificateKeygenTest::ed25519_ca_;
std::vector<std::string> CertificateKeygenTest::subjects_;

// Every subject key type with every CA type and RSA signature algorithm.
TEST_F(CertificateKeygenTest, EveryKeyTypeAndCaAgreesWithSshKeygen) {
  struct Ca {
    std::string key;
    std::string alg;  // -t for RSA CAs
    std::string expect_alg;
  };
  const std::vector<Ca> cas = {
      {rsa_ca_, "ssh-rsa", "ssh-rsa"},           {rsa_ca_, "rsa-sha2-256", "rsa-sha2-256"},
      {rsa_ca_, "rsa-sha2-512", "rsa-sha2-512"}, {rsa_ca_, "", "rsa-sha2-512"},
      {ecdsa256_ca_, "", "ecdsa-sha2-nistp256"}, {ecdsa384_ca_, "", "ecdsa-sha2-nistp384"},
      {ecdsa521_ca_, "", "ecdsa-sha2-nistp521"}, {ed25519_ca_, "", "ssh-ed25519"},
  };
  EXPECT_EQ(subjects_.size(), 7u);
  uint64_t serial = 100;
  for (const auto& ca : cas) {
    for (const auto& pub : subjects_) {
      SCOPED_TRACE(ca.key + " " + ca.alg + " signs " + pub);
      std::vector<std::string> extra = {"-n",      "alice,bob", "-V",
                                        "-5m:+1h", "-z",        std::to_string(++serial)};
      if (!ca.alg.empty()) {
        extra.push_back("-t");
        extra.push_back(ca.alg);
      }
      Result<Certificate> cert =
          SignAndParse(ca.key, pub, "key id " + std::to_string(serial), extra);
      ASSERT_TRUE(cert.has_value()) << ErrcName(cert.error().code) << ": " << cert.error().detail;
      EXPECT_EQ(cert->signature.algorithm, ca.expect_alg);
      EXPECT_EQ(cert->serial, serial);
      EXPECT_EQ(cert->cert_type, kCertTypeUser);
      EXPECT_EQ(cert->principals, (std::vector<std::string>{"alice", "bob"}));
      EXPECT_EQ(cert->key.blob, Decode(PubBase64(pub)));
      EXPECT_EQ(FormatPublicKeyLine(cert->signature_key), [&] {
        std::string t;
        std::istringstream(ReadFile(ca.key + ".pub")) >> t;
        return t + " " + PubBase64(ca.key + ".pub");
      }());
      // Defaults of ssh-keygen: the five permit-* extensions, no critical options.
      EXPECT_TRUE(cert->critical_options.empty());
      EXPECT_TRUE(cert->HasExtension("permit-pty"));
      EXPECT_FALSE(cert->verify_required);
    }
  }
}

TEST_F(CertificateKeygenTest, OptionsAgreeWithSshKeygen) {
  const std::string pub = subjects_[4];  // ed25519
  struct Case {
    std::vector<std::string> args;
    std::function<void(const Certificate&)> check;
  };
  const std::vector<Case> cases = {
      {{"-O", "clear"},
       [](const Certificate& c) {
         EXPECT_TRUE(c.extensions.empty());
         EXPECT_TRUE(c.critical_options.empty());
       }},
      {{"-O", "clear", "-O", "force-command=/usr/bin/rsync --server -e x"},
       [](const Certificate& c) {
         ASSERT_TRUE(c.force_command.has_value());
         EXPECT_EQ(*c.force_command, "/usr/bin/rsync --server -e x");
         ASSERT_EQ(c.critical_options.size(), 1u);
         EXPECT_FALSE(c.critical_options[0].is_flag);
       }},
      {{"-O", "source-address=10.0.0.0/8,192.168.1.7,::1,2001:db8::/32"},
       [](const Certificate& c) {
         EXPECT_EQ(c.source_address, "10.0.0.0/8,192.168.1.7,::1,2001:db8::/32");
       }},
      {{"-O", "verify-required"}, [](const Certificate& c) { EXPECT_TRUE(c.verify_required); }},
      {{"-O", "no-touch-required", "-O", "no-pty"},
       [](const Certificate& c) {
         EXPECT_TRUE(c.HasExtension("no-touch-required"));
         EXPECT_FALSE(c.HasExtension("permit-pty"));
       }},
      {{"-O", "clear", "-O", "extension:foo@example.com="},
       [](const Certificate& c) {
         ASSERT_EQ(c.extensions.size(), 1u);
         EXPECT_FALSE(c.extensions[0].is_flag);
         EXPECT_EQ(c.extensions[0].value, "");
       }},
      {{"-O", "extension:foo@example.com=bar", "-O", "extension:flag@example.com"},
       [](const Certificate& c) {
         EXPECT_TRUE(c.HasExtension("flag@example.com"));
         EXPECT_TRUE(c.HasExtension("foo@example.com"));
       }},
      {{"-O", "force-command=ls", "-O", "source-address=127.0.0.1", "-O", "verify-required", "-O",
        "no-x11-forwarding", "-O", "no-agent-forwarding", "-O", "no-port-forwarding", "-O",
        "no-user-rc"},
       [](const Certificate& c) {
         EXPECT_EQ(c.critical_options.size(), 3u);
         EXPECT_EQ(c.extensions.size(), 1u);
       }},
      {{"-z", "18446744073709551615"},
       [](const Certificate& c) { EXPECT_EQ(c.serial, 18446744073709551615u); }},
      {{"-z", "0"}, [](const Certificate& c) { EXPECT_EQ(c.serial, 0u); }},
      {{"-V", "always:forever"},
       [](const Certificate& c) {
         EXPECT_EQ(c.valid_after, 0u);
         EXPECT_EQ(c.valid_before, kForever);
       }},
      {{"-V", "20200101000000Z:20300101000000Z"},
       [](const Certificate& c) {
         EXPECT_EQ(c.valid_after, 1577836800u);
         EXPECT_EQ(c.valid_before, 1893456000u);
         EXPECT_FALSE(IsValidAt(c, 1577836799));
         EXPECT_TRUE(IsValidAt(c, 1577836800));
         EXPECT_TRUE(IsValidAt(c, 1893455999));
         EXPECT_FALSE(IsValidAt(c, 1893456000));
       }},
      {{"-V", "always:20300101"}, [](const Certificate& c) { EXPECT_EQ(c.valid_after, 0u); }},
      {{"-V", "19990101000000:forever"},
       [](const Certificate& c) { EXPECT_EQ(c.valid_before, kForever); }},
      {{"-V", "-1d:+1w"},
       [](const Certificate& c) { EXPECT_EQ(c.valid_before - c.valid_after, 8u * 86400); }},
      {{}, [](const Certificate& c) { EXPECT_TRUE(c.principals.empty()); }},
  };
  for (const auto& c : cases) {
    std::string label;
    for (const auto& a : c.args) label += a + " ";
    SCOPED_TRACE(label);
    Result<Certificate> cert = SignAndParse(ed25519_ca_, pub, "options", c.args);
    ASSERT_TRUE(cert.has_value()) << ErrcName(cert.error().code) << ": " << cert.error().detail;
    c.check(*cert);
  }
}

TEST_F(CertificateKeygenTest, ManyPrincipalsAndOddKeyId) {
  std::string list;
  std::vector<std::string> expect;
  for (int i = 0; i < 256; ++i) {
    expect.push_back("user" + std::to_string(i));
    list += (i ? "," : "") + expect.back();
  }
  Result<Certificate> cert =
      SignAndParse(ed25519_ca_, subjects_[1], "id with \"quotes\" and spaces", {"-n", list});
  ASSERT_TRUE(cert.has_value()) << cert.error().detail;
  EXPECT_EQ(cert->principals, expect);
  EXPECT_EQ(cert->key_id, "id with \"quotes\" and spaces");
}

TEST_F(CertificateKeygenTest, UnknownCriticalOptionRejected) {
  for (const char* opt : {"critical:foo=bar", "critical:foo@example.com"}) {
    std::string b64 = SignCert(ed25519_ca_, subjects_[4], "crit", {"-n", "a", "-O", opt});
    Result<Certificate> cert = ParseUserCertificate(b64, "");
    ASSERT_FALSE(cert.has_value()) << opt;
    EXPECT_EQ(cert.error().code, Errc::kUnknownCriticalOption);
  }
}

TEST_F(CertificateKeygenTest, HostCertificateIsNotUser) {
  std::string b64 = SignCert(ed25519_ca_, subjects_[4], "host", {"-h", "-n", "host.example"});
  Result<Certificate> any = ParseCertificate(Decode(b64));
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->cert_type, kCertTypeHost);
  EXPECT_EQ(Describe(*any), KeygenDescribe(CertPath(subjects_[4])));
  EXPECT_EQ(ParseUserCertificate(b64, "").error().code, Errc::kNotUserCertificate);
  EXPECT_EQ(ParseUserCertificate(b64, "").error().detail,
            "a host certificate; a login needs a user certificate: sign the user's key with "
            "ssh-keygen -s, without -h");
}

TEST_F(CertificateKeygenTest, OfferedTypeMustMatch) {
  std::string ed = SignCert(ed25519_ca_, subjects_[4], "t", {"-n", "a"});
  EXPECT_TRUE(ParseUserCertificate(ed, "ssh-ed25519-cert-v01@openssh.com").has_value());
  EXPECT_TRUE(ParseUserCertificate(ed, "").has_value());
  for (const char* wrong :
       {"ssh-ed25519", "ssh-rsa-cert-v01@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
        "rsa-sha2-512-cert-v01@openssh.com", "garbage"}) {
    EXPECT_EQ(ParseUserCertificate(ed, wrong).error().code, Errc::kTypeMismatch) << wrong;
  }
  std::string rsa = SignCert(ed25519_ca_, subjects_[0], "t", {"-n", "a"});
  for (const char* ok : {"ssh-rsa-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com",
                         "rsa-sha2-512-cert-v01@openssh.com"}) {
    EXPECT_TRUE(ParseUserCertificate(rsa, ok).has_value()) << ok;
  }
  EXPECT_EQ(ParseUserCertificate(rsa, "ecdsa-sha2-nistp256-cert-v01@openssh.com").error().code,
            Errc::kTypeMismatch);
  EXPECT_EQ(ParseUserCertificate(ed, "ssh-ed25519").error().detail,
            "the offered algorithm \"ssh-ed25519\" is not the certificate's type ssh-ed25519-cert-v01@openssh.com; "
            "pass sshd's %t with its %k");
  // Not strict base64: a trailing newline or embedded blank.
  EXPECT_EQ(ParseUserCertificate(ed + "\n", "").error().code, Errc::kBadEncoding);
}

// Hostile variants of real certificates: every strict prefix, one trailing
// byte, every u32 overwritten with 0xFFFFFFFF, every byte flipped.
TEST_F(CertificateKeygenTest, MutationsOfRealCertificatesFail) {
  for (const auto& [ca, pub] : std::vector<std::pair<std::string, std::string>>{
           {ed25519_ca_, subjects_[4]},
           {rsa_ca_, subjects_[0]},
           {ecdsa384_ca_, subjects_[5 % subjects_.size()]}}) {
    SCOPED_TRACE(ca + " " + pub);
    std::vector<uint8_t> blob = Decode(
        SignCert(ca, pub, "mut",
                 {"-n", "alice", "-O", "source-address=10.0.0.0/8", "-O", "force-command=x"}));
    ASSERT_TRUE(ParseCertificate(blob).has_value());
    for (size_t len = 0; len < blob.size(); ++len) {
      EXPECT_FALSE(ParseCertificate(std::span(blob).first(len)).has_value()) << "prefix " << len;
    }
    std::vector<uint8_t> longer = blob;
    longer.push_back(0);
    EXPECT_EQ(ParseCertificate(longer).error().code, Errc::kTrailingData);
    for (size_t i = 0; i + 4 <= blob.size(); ++i) {
      std::vector<uint8_t> m = blob;
      for (size_t j = 0; j < 4; ++j) m[i + j] = 0xff;
      if (m == blob) continue;
      EXPECT_FALSE(ParseCertificate(m).has_value()) << "0xFFFFFFFF at " << i;
    }
    for (size_t i = 0; i < blob.size(); ++i) {
      std::vector<uint8_t> m = blob;
      m[i] ^= 0x01;
      EXPECT_FALSE(ParseCertificate(m).has_value()) << "bit flip at " << i;
    }
    // Tampering with a signed field or with the signature: kBadSignature.
    std::vector<uint8_t> m = blob;
    m.back() ^= 0x40;
    Result<Certificate> r = ParseCertificate(m);
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().code == Errc::kBadSignature || r.error().code == Errc::kBadFormat)
        << ErrcName(r.error().code);
  }
}

TEST_F(CertificateKeygenTest, TamperedSignedFieldIsBadSignature) {
  std::vector<uint8_t> blob =
      Decode(SignCert(ed25519_ca_, subjects_[4], "tamper", {"-n", "alice"}));
  // Change "alice" to "alicf": still well formed, no longer signed.
  for (size_t i = 0; i + 5 <= blob.size(); ++i) {
    if (std::string_view(reinterpret_cast<const char*>(&blob[i]), 5) == "alice") {
      blob[i + 4] = 'f';
      break;
    }
  }
  EXPECT_EQ(ParseCertificate(blob).error().code, Errc::kBadSignature);
  std::vector<uint8_t> sig = Decode(SignCert(ed25519_ca_, subjects_[4], "tamper", {"-n", "alice"}));
  sig[sig.size() - 10] ^= 0x80;
  EXPECT_EQ(ParseCertificate(sig).error().code, Errc::kBadSignature);
}

// SetMemo is a SignatureMemo over a set, counting what it is asked.
class SetMemo : public SignatureMemo {
 public:
  bool Contains(const Digest& d) override {
    ++lookups;
    return digests.count(d) > 0;
  }
  void Remember(const Digest& d) override { digests.insert(d); }
  std::set<Digest> digests;
  int lookups = 0;
};

// A blob that verified is remembered and parses identically without the
// signature check; a blob differing in any byte is checked afresh.
TEST_F(CertificateKeygenTest, SignatureMemoRemembersOnlyWhatVerified) {
  for (const std::string& ca : {ed25519_ca_, ecdsa256_ca_, rsa_ca_}) {
    for (const std::string& subject : {subjects_[4], subjects_[5]}) {  // ed25519, sk-ed25519
      std::vector<uint8_t> blob = Decode(SignCert(ca, subject, "memo", {"-n", "alice"}));
      SetMemo memo;
      Result<Certificate> first = ParseCertificate(blob, &memo);
      ASSERT_TRUE(first) << first.error().detail;
      EXPECT_EQ(memo.digests.size(), 1u);
      Result<Certificate> again = ParseCertificate(blob, &memo);
      ASSERT_TRUE(again) << again.error().detail;
      EXPECT_EQ(memo.lookups, 2);
      EXPECT_EQ(Describe(*again), Describe(*first));
      EXPECT_EQ(again->signature.algorithm, first->signature.algorithm);
      EXPECT_EQ(again->signature.sk_flags, first->signature.sk_flags);
      // One bit of the signature changed: not remembered, refused.
      std::vector<uint8_t> forged = blob;
      forged[forged.size() - 10] ^= 0x80;
      EXPECT_EQ(ParseCertificate(forged, &memo).error().code, Errc::kBadSignature);
      EXPECT_EQ(memo.digests.size(), 1u);  // a failure is never remembered
    }
  }
}

// known_good skips only the cryptographic check: the signature's format is
// checked as always, even if a memo (wrongly) claims the blob.
TEST_F(CertificateKeygenTest, KnownGoodStillChecksTheSignatureFormat) {
  std::vector<uint8_t> blob = Decode(SignCert(ed25519_ca_, subjects_[4], "fmt", {"-n", "alice"}));
  ASSERT_TRUE(ParseCertificate(blob));
  // The signature blob is the last string: cut its inner 64-byte signature
  // to 63 (outer length, inner length, and one byte less).
  std::vector<uint8_t> cut(blob.begin(), blob.end() - 1);
  auto put32 = [&](size_t at, uint32_t v) {
    for (size_t i = 0; i < 4; ++i) cut[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  };
  const size_t sig_len_at = cut.size() - (4 + 11 + 4 + 63) - 4;  // "ssh-ed25519" is 11 bytes
  put32(sig_len_at, 4 + 11 + 4 + 63);
  put32(cut.size() - 63 - 4, 63);
  class LyingMemo : public SignatureMemo {
    bool Contains(const Digest&) override { return true; }
    void Remember(const Digest&) override {}
  } lying;
  Result<Certificate> r = ParseCertificate(cut, &lying);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kBadFormat) << r.error().detail;
}

// ---------------------------------------------------------------------------
// OpenSSH's own vectors.

TEST(CertificateVectorsTest, SharedCertificatesAgreeWithSshKeygen) {
  std::string dir = SharedTestData();
  if (dir.empty()) GTEST_SKIP() << "shared test data not present";
  for (const char* name : {"rsa_1", "ecdsa_1", "ed25519_1", "ecdsa_sk1", "ed25519_sk1"}) {
    SCOPED_TRACE(name);
    std::string path = dir + "/" + name + "-cert.pub";
    Result<Certificate> cert = ParseCertificate(Decode(PubBase64(path)));
    ASSERT_TRUE(cert.has_value()) << ErrcName(cert.error().code) << ": " << cert.error().detail;
    EXPECT_EQ(cert->cert_type, kCertTypeHost);
    EXPECT_EQ(Describe(*cert), KeygenDescribe(path));
    std::string fp = ReadFile(dir + "/" + name + "-cert.fp");
    EXPECT_EQ(Sha256Fingerprint(cert->key.blob), fp.substr(0, fp.find('\n')));
    EXPECT_EQ(ParseUserCertificate(PubBase64(path), "").error().code, Errc::kNotUserCertificate);
  }
  for (const char* name : {"rsa_1_sha1", "rsa_1_sha512"}) {
    SCOPED_TRACE(name);
    std::string path = dir + "/" + name + "-cert.pub";
    Result<Certificate> cert =
        ParseUserCertificate(PubBase64(path), "ssh-rsa-cert-v01@openssh.com");
    ASSERT_TRUE(cert.has_value()) << ErrcName(cert.error().code) << ": " << cert.error().detail;
    EXPECT_EQ(Describe(*cert), KeygenDescribe(path));
    EXPECT_EQ(IsSha1Rsa(cert->signature), std::string(name) == "rsa_1_sha1");
    EXPECT_EQ(cert->force_command, "/bin/ls");
    EXPECT_EQ(cert->source_address, "10.0.0.0/8");
    EXPECT_EQ(cert->key_id, "hugo");
    EXPECT_TRUE(IsValidAt(*cert, 1000000000));   // 2001
    EXPECT_FALSE(IsValidAt(*cert, 1300000000));  // 2011
  }
}

// The vectors committed under tests/data/certs (made by tests/data/gen.sh)
// agree with the `ssh-keygen -L` text saved beside them; bad-* are refused.
TEST(CertificateVectorsTest, CommittedVectors) {
  std::string dir = certgate::testing::SourceDir() + "/tests/data/certs";
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 9 && name.compare(name.size() - 9, 9, "-cert.pub") == 0) {
        names.push_back(name);
      }
    }
    closedir(d);
  }
  if (names.empty()) GTEST_SKIP() << "no committed vectors; run tests/data/gen.sh";
  std::vector<std::vector<uint8_t>> cas;
  for (const char* ca : {"ca_ed25519.pub", "ca_rsa.pub", "ca_ecdsa384.pub"}) {
    cas.push_back(Decode(PubBase64(dir + "/" + ca)));
  }
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    std::string path = dir + "/" + name;
    Result<Certificate> cert = ParseCertificate(Decode(PubBase64(path)));
    if (name.rfind("bad-", 0) == 0) {
      EXPECT_FALSE(cert.has_value());
      continue;
    }
    ASSERT_TRUE(cert.has_value()) << ErrcName(cert.error().code) << ": " << cert.error().detail;
    std::string txt = path.substr(0, path.size() - 4) + ".txt";
    EXPECT_EQ(Describe(*cert), ReadFile(txt));
    EXPECT_NE(std::find(cas.begin(), cas.end(), cert->signature_key.blob), cas.end());
  }
}

}  // namespace
}  // namespace certgate::core
