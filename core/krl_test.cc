#include "core/krl.h"

#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/wire_reader.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using ::certgate::testing::MakeKey;
using ::certgate::testing::PubBase64;
using ::certgate::testing::ReadFile;
using ::certgate::testing::SignCert;
using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

class KrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MakeKey(dir_, "ca", "ed25519");
    other_ca_ = MakeKey(dir_, "other_ca", "ed25519");
    user_ = MakeKey(dir_, "user", "ed25519");
  }

  // MakeKrl runs ssh-keygen -k with |spec| (a KRL spec file's text, or a key
  // file path when |spec| starts with '/') and returns the KRL's bytes.
  std::string MakeKrl(const std::string& spec, bool with_ca = true) {
    std::string spec_path = spec.rfind('/', 0) == 0 ? spec : dir_.Path("spec");
    if (spec_path != spec) WriteFile(spec_path, spec);
    std::vector<std::string> argv = {"ssh-keygen", "-q", "-k", "-f", dir_.Path("krl")};
    if (with_ca) {
      argv.push_back("-s");
      argv.push_back(ca_ + ".pub");
    }
    argv.push_back(spec_path);
    auto r = ::certgate::testing::Run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ReadFile(dir_.Path("krl"));
  }

  // CertFile signs the user key with |ca| and |serial| and returns the
  // certificate's file path (a copy, so later signings do not replace it).
  std::string CertFile(const std::string& ca, uint64_t serial, const std::string& id = "id") {
    SignCert(ca, user_ + ".pub", id, {"-n", "alice", "-z", std::to_string(serial)});
    std::string copy = dir_.Path("cert-" + id + "-" + std::to_string(serial) + ".pub");
    WriteFile(copy, ReadFile(user_ + "-cert.pub"));
    return copy;
  }

  Certificate Parse(const std::string& cert_file) {
    auto blob = Base64Decode(PubBase64(cert_file));
    EXPECT_TRUE(blob);
    auto cert = ParseCertificate(*blob);
    EXPECT_TRUE(cert) << cert.error().detail;
    return *cert;
  }

  // SshKeygenRevoked asks the real ssh-keygen -Q.
  bool SshKeygenRevoked(const std::string& cert_file) {
    auto r = ::certgate::testing::Run({"ssh-keygen", "-Q", "-f", dir_.Path("krl"), cert_file});
    return r.exit_code != 0;
  }

  TempDir dir_;
  std::string ca_, other_ca_, user_;
};

TEST_F(KrlTest, SerialsAgreeWithSshKeygen) {
  // Many serials so that ssh-keygen picks lists, ranges and bitmaps.
  std::string spec = "serial: 5\nserial: 10-20\nserial: 1000-1003\n";
  for (int s = 100; s < 300; s += 3) spec += "serial: " + std::to_string(s) + "\n";
  std::string data = MakeKrl(spec);
  auto krl = ParseKrl(Bytes(data));
  ASSERT_TRUE(krl) << krl.error().detail;
  for (uint64_t serial : {1u, 4u, 5u, 6u, 9u, 10u, 15u, 20u, 21u, 100u, 101u, 103u, 298u, 299u,
                          300u, 999u, 1000u, 1003u, 1004u}) {
    std::string file = CertFile(ca_, serial);
    EXPECT_EQ(krl->IsCertificateRevoked(Parse(file)), SshKeygenRevoked(file)) << "serial " << serial;
  }
  // The same serial from another CA is not revoked.
  std::string other = CertFile(other_ca_, 5);
  EXPECT_FALSE(krl->IsCertificateRevoked(Parse(other)));
}

TEST_F(KrlTest, KeyIdsUnderCaAndWildcard) {
  auto krl = ParseKrl(Bytes(MakeKrl("id: mallory@example.com\n")));
  ASSERT_TRUE(krl);
  EXPECT_TRUE(krl->IsCertificateRevoked(Parse(CertFile(ca_, 1, "mallory@example.com"))));
  EXPECT_FALSE(krl->IsCertificateRevoked(Parse(CertFile(ca_, 1, "alice@example.com"))));
  EXPECT_FALSE(krl->IsCertificateRevoked(Parse(CertFile(other_ca_, 1, "mallory@example.com"))));

  // ssh-keygen only writes key ids under a CA; the format allows an empty CA
  // key meaning any CA, which sshd honours: build one by hand.
  WireWriter ids;
  ids.PutString(std::string_view("mallory@example.com"));
  WireWriter section;
  section.PutString(std::string_view());  // any CA
  section.PutString(std::string_view());  // reserved
  section.PutU8(0x23);
  section.PutString(ids.data());
  WireWriter w;
  w.PutBytes(AsBytes(std::string_view("SSHKRL\n\0", 8)));
  w.PutU32(1);
  w.PutU64(1);
  w.PutU64(0);
  w.PutU64(0);
  w.PutString(std::string_view());
  w.PutString(std::string_view());
  w.PutU8(1);
  w.PutString(section.data());
  auto any = ParseKrl(w.data());
  ASSERT_TRUE(any) << any.error().detail;
  EXPECT_TRUE(any->IsCertificateRevoked(Parse(CertFile(other_ca_, 1, "mallory@example.com"))));
  EXPECT_FALSE(any->IsCertificateRevoked(Parse(CertFile(other_ca_, 1, "alice@example.com"))));
}

TEST_F(KrlTest, ExplicitKeysAndFingerprints) {
  std::string cert = CertFile(ca_, 7);
  auto krl = ParseKrl(Bytes(MakeKrl(user_ + ".pub", false)));
  ASSERT_TRUE(krl) << krl.error().detail;
  EXPECT_TRUE(krl->IsCertificateRevoked(Parse(cert)));
  EXPECT_EQ(krl->IsCertificateRevoked(Parse(cert)), SshKeygenRevoked(cert));

  // The CA key itself revoked: every certificate it signed is refused.
  auto ca_krl = ParseKrl(Bytes(MakeKrl(ca_ + ".pub", false)));
  ASSERT_TRUE(ca_krl);
  EXPECT_TRUE(ca_krl->IsCertificateRevoked(Parse(cert)));

  std::string fp = ::certgate::testing::Run({"ssh-keygen", "-l", "-E", "sha256", "-f", user_ + ".pub"}).out;
  fp = fp.substr(fp.find("SHA256:"));
  fp = fp.substr(0, fp.find(' '));
  auto by_hash = ParseKrl(Bytes(MakeKrl("hash: " + fp + "\n", false)));
  ASSERT_TRUE(by_hash) << by_hash.error().detail;
  EXPECT_TRUE(by_hash->IsCertificateRevoked(Parse(cert)));
  EXPECT_EQ(by_hash->IsCertificateRevoked(Parse(cert)), SshKeygenRevoked(cert));
  PublicKey other = Parse(CertFile(ca_, 9)).signature_key;
  EXPECT_FALSE(by_hash->IsKeyRevoked(other));
}

TEST_F(KrlTest, TextListFallback) {
  std::string cert = CertFile(ca_, 3);
  WriteFile(dir_.Path("list"), "# revoked keys\n\n" + ReadFile(user_ + ".pub"));
  auto krl = ParseKrl(Bytes(ReadFile(dir_.Path("list"))));
  ASSERT_TRUE(krl) << krl.error().detail;
  EXPECT_TRUE(krl->IsCertificateRevoked(Parse(cert)));
  auto empty = ParseKrl({});
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->IsCertificateRevoked(Parse(cert)));
  auto garbage = ParseKrl(Bytes("not a key\n"));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, Errc::kBadFormat);
}

TEST_F(KrlTest, EveryTruncationFailsAndTrailingGarbageFails) {
  std::string data = MakeKrl("serial: 5\nserial: 10-20\nid: x\n");
  ASSERT_TRUE(ParseKrl(Bytes(data)));
  // 44 bytes is the header alone (magic, version, three u64, two empty
  // strings): a valid KRL revoking nothing. Every other prefix is cut short.
  constexpr size_t kHeaderOnly = 44;
  ASSERT_TRUE(ParseKrl(Bytes(data.substr(0, kHeaderOnly))));
  for (size_t n = 1; n < data.size(); ++n) {
    if (n == kHeaderOnly) continue;
    EXPECT_FALSE(ParseKrl(Bytes(data.substr(0, n)))) << "prefix " << n;
  }
  EXPECT_FALSE(ParseKrl(Bytes(data + std::string(1, '\x01'))));
  EXPECT_FALSE(ParseKrl(Bytes(data + std::string("\x09\0\0\0\0", 5))));  // unknown section
}

TEST_F(KrlTest, HeaderChecks) {
  std::string data = MakeKrl("serial: 5\n");
  std::string bad_version = data;
  bad_version[11] = 2;  // uint32 format version follows the 8-byte magic
  auto r = ParseKrl(Bytes(bad_version));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kBadFormat);
  std::string huge = data.substr(0, 36) + std::string("\xff\xff\xff\xff", 4);
  EXPECT_FALSE(ParseKrl(Bytes(huge)));
}

TEST_F(KrlTest, LoadKrlFileErrors) {
  EXPECT_FALSE(LoadKrlFile(dir_.Path("missing")));
  EXPECT_FALSE(LoadKrlFile(dir_.path()));
  MakeKrl("serial: 1\n");
  EXPECT_TRUE(LoadKrlFile(dir_.Path("krl")));
}

}  // namespace
}  // namespace certgate::core
