// Tests of KRLs (krl.cc) against the real ssh-keygen: the KRLs it writes
// from specs (serials, key ids, any CA, keys and fingerprints) revoke
// exactly what ssh-keygen -Q says they do; the plain key lists sshd also
// reads; and LoadKrlFile. KRLs crafted byte by byte are
// krl_crafted_test.cc's; the fixture is krl_testing.h's.
#include "core/krl.h"

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/krl_testing.h"
#include "core/result.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using ::certgate::testing::MakeKey;
using ::certgate::testing::ReadFile;
using ::certgate::testing::WriteFile;

TEST_F(KrlTest, SerialsAgreeWithSshKeygen) {
  // Enough serials that ssh-keygen writes lists, ranges and bitmaps.
  std::string spec = "serial: 5\nserial: 10-20\nserial: 1000-1003\nserial: 0x7fffffffffffffff\n";
  for (int s = 100; s < 300; s += 3) spec += "serial: " + std::to_string(s) + "\n";
  spec += "serial: 18446744073709551000-18446744073709551614\n";
  Bytes data = GenKrl(spec, ca_);
  Result<Krl> krl = ParseKrl(data);
  ASSERT_TRUE(krl) << krl.error().detail;
  ASSERT_EQ(krl->sections.size(), 1u);
  EXPECT_FALSE(krl->sections[0].any_ca);
  EXPECT_FALSE(krl->sections[0].serials.empty());
  EXPECT_FALSE(krl->sections[0].bitmaps.empty());

  std::vector<Item> items;
  for (uint64_t serial : {0ull, 1ull, 4ull, 5ull, 6ull, 9ull, 10ull, 15ull, 20ull, 21ull, 99ull,
                          100ull, 101ull, 103ull, 298ull, 299ull, 300ull, 999ull, 1000ull, 1003ull,
                          1004ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
                          18446744073709550999ull, 18446744073709551000ull,
                          18446744073709551614ull}) {
    items.push_back(CertItem(ca_, serial, "id"));
  }
  items.push_back(CertItem(other_ca_, 5, "id"));  // same serial, other CA
  EXPECT_GT(ExpectAgree(data, items, "serials"), 10);
}

TEST_F(KrlTest, RandomSpecsAgreeWithSshKeygen) {
  // A fixed set of certificates from two CAs, checked against KRLs made by
  // ssh-keygen from random specs over the same serials and key ids.
  const std::vector<std::string> ids = {"alice", "bob", "carol", "mallory@example.com"};
  std::mt19937_64 rng(20260522);
  std::vector<Item> items;
  std::set<uint64_t> serials = {0, 1, 2, 63, 64, 65, 4096, 1ull << 32, 0xfffffffffffffffeull};
  while (serials.size() < 32) serials.insert(1 + rng() % 400);
  size_t n = 0;
  for (uint64_t serial : serials) {
    items.push_back(CertItem(n % 3 == 2 ? other_ca_ : ca_, serial, ids[n % ids.size()]));
    ++n;
  }
  items.push_back(KeyItem(user_ + ".pub"));

  for (int round = 0; round < 20; ++round) {
    auto random_spec = [&](bool with_ids) {
      std::string spec;
      const int count = static_cast<int>(rng() % 40);
      for (int i = 0; i < count; ++i) {
        uint64_t lo = 1 + rng() % 400;
        if (rng() % 4 == 0) {
          spec += "serial: " + std::to_string(lo) + "-" + std::to_string(lo + 1 + rng() % 30) + "\n";
        } else {
          spec += "serial: " + std::to_string(lo) + "\n";
        }
      }
      if (rng() % 5 == 0) spec += "serial: 4000-18446744073709551614\n";
      if (with_ids && rng() % 2 == 0) spec += "id: " + ids[rng() % ids.size()] + "\n";
      return spec;
    };
    GenKrl(random_spec(true) + "serial: 1000000\n", ca_);
    GenKrl(random_spec(true) + "serial: 1000000\n", other_ca_, /*update=*/true);
    Bytes data = GenKrl(rng() % 3 == 0 ? random_spec(true) : "\n", "none", /*update=*/true);
    ExpectAgree(data, items, "round " + std::to_string(round));
  }
}

TEST_F(KrlTest, AnyCaSectionAgreesWithSshKeygen) {
  Bytes data = GenKrl("id: mallory@example.com\nserial: 5\n", "none");
  Result<Krl> krl = ParseKrl(data);
  ASSERT_TRUE(krl) << krl.error().detail;
  ASSERT_EQ(krl->sections.size(), 1u);
  EXPECT_TRUE(krl->sections[0].any_ca);
  std::vector<Item> items = {
      CertItem(ca_, 5, "alice"),          CertItem(other_ca_, 5, "alice"),
      CertItem(ca_, 6, "mallory@example.com"), CertItem(other_ca_, 6, "mallory@example.com"),
      CertItem(other_ca_, 6, "mallory"),  CertItem(other_ca_, 0, "alice"),
  };
  EXPECT_EQ(ExpectAgree(data, items, "any CA"), 4);
  EXPECT_TRUE(krl->IsCertificateRevoked(*items[1].cert));
  EXPECT_FALSE(krl->IsCertificateRevoked(*items[4].cert));
}

TEST_F(KrlTest, KeysAndFingerprintsAgreeWithSshKeygen) {
  std::string rsa = MakeKey(dir_, "rsa", "rsa", 2048);
  std::string ecdsa = MakeKey(dir_, "ecdsa", "ecdsa");
  std::string by_sha1 = MakeKey(dir_, "by_sha1", "ed25519");
  std::string by_hash = MakeKey(dir_, "by_hash", "ed25519");
  std::string by_cert = MakeKey(dir_, "by_cert", "ed25519");
  std::string free_key = MakeKey(dir_, "free", "ed25519");
  std::vector<Item> items = {KeyItem(rsa + ".pub"),      KeyItem(ecdsa + ".pub"),
                             KeyItem(by_sha1 + ".pub"),  KeyItem(by_hash + ".pub"),
                             KeyItem(by_cert + ".pub"),  KeyItem(free_key + ".pub"),
                             KeyItem(ca_ + ".pub"),      CertItem(ca_, 7, "x", rsa),
                             CertItem(ca_, 7, "x", by_hash), CertItem(ca_, 8, "x", free_key),
                             CertItem(other_ca_, 7, "x", free_key)};
  // A certificate listed without prefix revokes its serial under its own CA;
  // "key:" with a certificate revokes the certificate's plain key.
  Item listed = CertItem(other_ca_, 9, "listed", by_cert);
  items.push_back(listed);
  items.push_back(CertItem(other_ca_, 10, "x", by_cert));

  std::string fp = ::certgate::testing::Run({"ssh-keygen", "-l", "-E", "sha256", "-f", by_hash + ".pub"}).out;
  fp = fp.substr(fp.find("SHA256:"));
  fp = fp.substr(0, fp.find(' '));
  std::string spec = "key: " + ReadFile(rsa + ".pub") + "sha256: " + ReadFile(ecdsa + ".pub") +
                     "sha1: " + ReadFile(by_sha1 + ".pub") + "hash: " + fp + "\n" +
                     ReadFile(listed.file);
  Bytes data = GenKrl(spec);
  Result<Krl> krl = ParseKrl(data);
  ASSERT_TRUE(krl) << krl.error().detail;
  EXPECT_EQ(krl->revoked_blobs.size(), 1u);
  EXPECT_EQ(krl->revoked_sha1.size(), 1u);
  EXPECT_EQ(krl->revoked_sha256.size(), 2u);
  EXPECT_EQ(ExpectAgree(data, items, "keys"), 7);

  Bytes by_key_of_cert = GenKrl("key: " + ReadFile(listed.file));
  EXPECT_EQ(ExpectAgree(by_key_of_cert, items, "key: cert"), 3);

  // The CA key itself revoked: every certificate it signed is refused.
  Bytes ca_revoked = GenKrl("sha256: " + ReadFile(ca_ + ".pub"));
  EXPECT_EQ(ExpectAgree(ca_revoked, items, "CA by sha256"), 4);
  ca_revoked = GenKrl(ReadFile(ca_ + ".pub"));  // a key without prefix: an explicit key
  EXPECT_EQ(ExpectAgree(ca_revoked, items, "CA explicit"), 4);
}

TEST_F(KrlTest, TextListFallback) {
  Item cert = CertItem(ca_, 3, "x");
  Item other = CertItem(other_ca_, 3, "x", MakeKey(dir_, "other", "ed25519"));
  // A key list revokes the key, and the certificates of that key.
  std::string list = "# revoked keys\n\n  " + ReadFile(user_ + ".pub") + "\t\n";
  Result<Krl> krl = ParseKrl(ToBytes(list));
  ASSERT_TRUE(krl) << krl.error().detail;
  EXPECT_TRUE(krl->IsCertificateRevoked(*cert.cert));
  EXPECT_TRUE(krl->IsKeyRevoked(cert.key));
  EXPECT_FALSE(krl->IsCertificateRevoked(*other.cert));
  // sshd also checks a certificate's CA against the list (sshkey_in_file
  // with check_ca, and user_key_allowed checking the CA key).
  krl = ParseKrl(ToBytes(ReadFile(other_ca_ + ".pub")));
  ASSERT_TRUE(krl) << krl.error().detail;
  EXPECT_TRUE(krl->IsCertificateRevoked(*other.cert));
  EXPECT_FALSE(krl->IsCertificateRevoked(*cert.cert));
  // A certificate line stands for its key (sshd compares public parts).
  krl = ParseKrl(ToBytes(ReadFile(other.file)));
  ASSERT_TRUE(krl) << krl.error().detail;
  EXPECT_TRUE(krl->IsCertificateRevoked(*other.cert));
  EXPECT_TRUE(krl->IsKeyRevoked(other.key));
  EXPECT_FALSE(krl->IsCertificateRevoked(*cert.cert));

  Result<Krl> empty = ParseKrl({});
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->IsCertificateRevoked(*cert.cert));
  const std::vector<std::string> bad_lines = {"not a key\n", "SSHKRL\n", "ssh-ed25519 AAAA\n",
                                              "cert-authority " + ReadFile(ca_ + ".pub")};
  for (const std::string& bad : bad_lines) {
    EXPECT_EQ(ErrcOf(ParseKrl(ToBytes(ReadFile(user_ + ".pub") + bad))), Errc::kBadFormat) << bad;
  }
}

TEST_F(KrlTest, LoadKrlFile) {
  EXPECT_EQ(ErrcOf(LoadKrlFile(dir_.Path("missing"))), Errc::kIo);
  EXPECT_EQ(ErrcOf(LoadKrlFile(dir_.path())), Errc::kIo);
  GenKrl("serial: 1\n", ca_);
  Result<Krl> krl = LoadKrlFile(dir_.Path("krl"));
  ASSERT_TRUE(krl) << krl.error().detail;
  EXPECT_TRUE(krl->IsCertificateRevoked(*CertItem(ca_, 1, "x").cert));
  WriteFile(dir_.Path("bad"), "SSHKRL\n");
  EXPECT_FALSE(LoadKrlFile(dir_.Path("bad")));
  // Larger than 64 MiB (sparse, so cheap to make).
  ASSERT_EQ(::certgate::testing::Run({"truncate", "-s", "65M", dir_.Path("huge")}).exit_code, 0);
  EXPECT_EQ(ErrcOf(LoadKrlFile(dir_.Path("huge"))), Errc::kTooLarge);
  // The audit's case: /dev/null, which sshd reads as an empty list (a
  // common RevokedKeys placeholder), revokes nothing; other devices and
  // FIFOs are refused (they may block or never end).
  Result<Krl> none = LoadKrlFile("/dev/null");
  ASSERT_TRUE(none) << none.error().detail;
  EXPECT_FALSE(none->IsCertificateRevoked(*CertItem(ca_, 1, "x").cert));
  EXPECT_EQ(ErrcOf(LoadKrlFile("/dev/zero")), Errc::kIo);
  ASSERT_EQ(mkfifo(dir_.Path("fifo").c_str(), 0600), 0);
  EXPECT_EQ(ErrcOf(LoadKrlFile(dir_.Path("fifo"))), Errc::kIo);
}

}  // namespace
}  // namespace certgate::core
