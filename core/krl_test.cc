#include "core/krl.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

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

using Bytes = std::vector<uint8_t>;

// ErrcOf returns the error code of |r|, or nullopt if it succeeded.
std::optional<Errc> ErrcOf(const Result<Krl>& r) {
  if (r) return std::nullopt;
  return r.error().code;
}

Bytes ToBytes(std::string_view s) { return {s.begin(), s.end()}; }
std::string ToString(const Bytes& b) { return {b.begin(), b.end()}; }

// Answer is what checking one key against one KRL gives: what ssh-keygen -Q
// says (exit 0 ok, 1 revoked, 255 when the KRL does not load) or what
// ParseKrl and the lookups say.
enum class Answer { kOk, kRevoked, kLoadError };

const char* AnswerName(Answer a) {
  switch (a) {
    case Answer::kOk:
      return "ok";
    case Answer::kRevoked:
      return "revoked";
    case Answer::kLoadError:
      return "load error";
  }
  return "?";
}

// Hand-made KRL pieces (PROTOCOL.krl), for what ssh-keygen never writes.
constexpr uint8_t kCerts = 1, kExplicit = 2, kSha1 = 3, kSignature = 4, kSha256 = 5,
                  kExtension = 255;
constexpr uint8_t kList = 0x20, kRange = 0x21, kBitmap = 0x22, kKeyId = 0x23, kCertExt = 0x39;

Bytes Header(std::string_view comment = {}, uint32_t version = 1, uint64_t flags = 0) {
  WireWriter w;
  w.PutBytes(AsBytes(std::string_view("SSHKRL\n\0", 8)));
  w.PutU32(version);
  w.PutU64(42);          // krl_version
  w.PutU64(1700000000);  // generated_date
  w.PutU64(flags);
  w.PutString(std::string_view());  // reserved
  w.PutString(comment);
  return w.Take();
}

// Section returns `byte type, string data`.
Bytes Section(uint8_t type, const Bytes& data) {
  WireWriter w;
  w.PutU8(type);
  w.PutString(data);
  return w.Take();
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes U64s(std::initializer_list<uint64_t> values) {
  WireWriter w;
  for (uint64_t v : values) w.PutU64(v);
  return w.Take();
}

Bytes Strings(std::initializer_list<Bytes> values) {
  WireWriter w;
  for (const Bytes& v : values) w.PutString(v);
  return w.Take();
}

Bytes Bitmap(uint64_t offset, const Bytes& mpint) {
  WireWriter w;
  w.PutU64(offset);
  w.PutString(mpint);
  return w.Take();
}

Bytes Extension(std::string_view name, uint8_t critical) {
  WireWriter w;
  w.PutString(name);
  w.PutU8(critical);
  w.PutString(std::string_view("value"));
  return w.Take();
}

// CertSection returns a certificate section for |ca| (empty: any CA).
Bytes CertSection(const Bytes& ca, std::initializer_list<Bytes> subsections) {
  WireWriter w;
  w.PutString(ca);
  w.PutString(std::string_view());  // reserved
  Bytes out = w.Take();
  for (const Bytes& s : subsections) out.insert(out.end(), s.begin(), s.end());
  return Section(kCerts, out);
}

Bytes Digest(const EVP_MD* md, const Bytes& data) {
  Bytes out(static_cast<size_t>(EVP_MD_get_size(md)));
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr), 1);
  return out;
}

// Item is one file ssh-keygen -Q is asked about: a certificate or a key.
struct Item {
  std::string file;
  std::optional<Certificate> cert;
  PublicKey key;  // the plain key when |cert| is empty
};

class KrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MakeKey(dir_, "ca", "ed25519");
    other_ca_ = MakeKey(dir_, "other_ca", "ecdsa");
    user_ = MakeKey(dir_, "user", "ed25519");
  }

  // Key returns the plain key in |pub_file|.
  PublicKey Key(const std::string& pub_file) {
    Result<Bytes> blob = Base64Decode(PubBase64(pub_file));
    EXPECT_TRUE(blob);
    Result<PublicKey> key = ParsePublicKeyBlob(blob ? *blob : Bytes{});
    EXPECT_TRUE(key) << pub_file;
    return key ? *key : PublicKey{};
  }

  Item KeyItem(const std::string& pub_file) { return {pub_file, std::nullopt, Key(pub_file)}; }

  // CertItem signs |key|.pub with |ca|, |serial| and |id|; the certificate
  // is copied to its own file so that later signings do not replace it.
  Item CertItem(const std::string& ca, uint64_t serial, const std::string& id,
                const std::string& key = {}) {
    const std::string& k = key.empty() ? user_ : key;
    SignCert(ca, k + ".pub", id, {"-n", "alice", "-z", std::to_string(serial)});
    std::string copy = dir_.Path("cert" + std::to_string(++cert_count_) + ".pub");
    WriteFile(copy, ReadFile(k + "-cert.pub"));
    Result<Bytes> blob = Base64Decode(PubBase64(copy));
    EXPECT_TRUE(blob);
    Result<Certificate> cert = ParseCertificate(blob ? *blob : Bytes{});
    EXPECT_TRUE(cert) << cert.error().detail;
    Item item{copy, std::nullopt, {}};
    if (cert) {
      item.key = cert->key;
      item.cert = *cert;
    }
    return item;
  }

  // GenKrl runs `ssh-keygen -k [-u] -f krl [-s CA] spec` (CA may be
  // "none"), |spec| being the text of a KRL spec file, and returns the KRL.
  Bytes GenKrl(const std::string& spec, const std::string& ca = {}, bool update = false) {
    WriteFile(dir_.Path("spec"), spec);
    std::vector<std::string> argv = {"ssh-keygen", "-q", "-k", "-f", dir_.Path("krl")};
    if (update) argv.push_back("-u");
    if (!ca.empty()) {
      argv.push_back("-s");
      argv.push_back(ca == "none" ? ca : ca + ".pub");
    }
    argv.push_back(dir_.Path("spec"));
    auto r = ::certgate::testing::Run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err << "\nspec:\n" << spec;
    return ToBytes(ReadFile(dir_.Path("krl")));
  }

  // SshKeygen asks the real `ssh-keygen -Q` about every item at once.
  std::vector<Answer> SshKeygen(const Bytes& krl, const std::vector<Item>& items) {
    WriteFile(dir_.Path("q.krl"), ToString(krl));
    std::vector<std::string> argv = {"ssh-keygen", "-Q", "-f", dir_.Path("q.krl")};
    for (const Item& item : items) argv.push_back(item.file);
    auto r = ::certgate::testing::Run(argv);
    std::vector<Answer> answers;
    if (r.exit_code != 0 && r.exit_code != 1) {
      answers.assign(items.size(), Answer::kLoadError);
      return answers;
    }
    std::string_view out = r.out;
    while (!out.empty()) {
      std::string_view line = out.substr(0, out.find('\n'));
      out.remove_prefix(std::min(out.size(), line.size() + 1));
      if (line.ends_with(": ok")) answers.push_back(Answer::kOk);
      if (line.ends_with(": REVOKED")) answers.push_back(Answer::kRevoked);
    }
    EXPECT_EQ(answers.size(), items.size()) << r.out << r.err;
    return answers;
  }

  static std::vector<Answer> Ours(const Bytes& krl, const std::vector<Item>& items) {
    Result<Krl> parsed = ParseKrl(krl);
    std::vector<Answer> answers;
    for (const Item& item : items) {
      if (!parsed) {
        answers.push_back(Answer::kLoadError);
      } else if (item.cert ? parsed->IsCertificateRevoked(*item.cert)
                           : parsed->IsKeyRevoked(item.key)) {
        answers.push_back(Answer::kRevoked);
      } else {
        answers.push_back(Answer::kOk);
      }
    }
    return answers;
  }

  // ExpectAgree checks every item against |krl| with ssh-keygen -Q and with
  // our code; it returns how many items ssh-keygen found revoked.
  int ExpectAgree(const Bytes& krl, const std::vector<Item>& items, const std::string& what) {
    std::vector<Answer> theirs = SshKeygen(krl, items);
    std::vector<Answer> ours = Ours(krl, items);
    int revoked = 0;
    for (size_t i = 0; i < items.size() && i < theirs.size(); ++i) {
      std::string desc = items[i].cert ? "serial " + std::to_string(items[i].cert->serial) +
                                             " id " + items[i].cert->key_id
                                       : "plain key";
      EXPECT_EQ(AnswerName(ours[i]), std::string(AnswerName(theirs[i])))
          << what << ": " << items[i].file << " (" << desc << ")";
      if (theirs[i] == Answer::kRevoked) ++revoked;
    }
    return revoked;
  }

  Bytes Blob(const std::string& pub_file) { return Key(pub_file).blob; }

  TempDir dir_;
  std::string ca_, other_ca_, user_;
  int cert_count_ = 0;
};

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

// HandMade is a KRL ssh-keygen would not write, and what it must give.
struct HandMade {
  std::string name;
  Bytes krl;
  // If set, our answer for every item; else it must agree with ssh-keygen.
  std::optional<std::vector<Answer>> expect = std::nullopt;
};

TEST_F(KrlTest, HandMadeKrlsAgreeWithSshKeygen) {
  const std::vector<Item> items = {CertItem(ca_, 1, "mallory"), CertItem(ca_, 9, "alice"),
                                   CertItem(other_ca_, 1, "alice"), KeyItem(user_ + ".pub")};
  const Bytes ca = Blob(ca_ + ".pub");
  const Bytes user = Blob(user_ + ".pub");
  const Bytes h = Header();
  auto serials = [&](std::initializer_list<Bytes> subs) { return Cat({h, CertSection(ca, subs)}); };
  Bytes big(2048, 0);
  big[0] = 0x01;
  big.back() = 0x02;
  Bytes big_zero = Cat({Bytes{0}, big});
  Bytes too_big = big;
  too_big.push_back(0);
  Bytes garbage_ca = CertSection(ToBytes("garbage"), {});
  Bytes subsection_after_ext = serials({Section(kCertExt, Extension("x@example.com", 0))});
  using A = Answer;
  const std::vector<HandMade> cases = {
      {"header only", h},
      {"comment", Header("revoked keys")},
      {"comment with NUL", Header(std::string_view("a\0b", 3))},
      {"format version 2", Header({}, 2)},
      {"flags", Header({}, 1, 1)},
      {"reserved field", Cat({Bytes(h.begin(), h.end() - 8), Strings({ToBytes("x"), {}})})},
      {"serial list", serials({Section(kList, U64s({1, 3}))})},
      {"serial list with 0", serials({Section(kList, U64s({3, 0}))})},
      {"serial list cut", serials({Section(kList, Bytes(7, 1))})},
      {"range", serials({Section(kRange, U64s({9, 9}))})},
      {"range inverted", serials({Section(kRange, U64s({9, 8}))})},
      {"range from 0", serials({Section(kRange, U64s({0, 5}))})},
      {"range trailing", serials({Section(kRange, Cat({U64s({1, 5}), Bytes{0}}))})},
      {"range short", serials({Section(kRange, U64s({1}))})},
      {"ranges overlapping", serials({Section(kRange, U64s({1, 5})), Section(kRange, U64s({3, 9}))})},
      {"ranges adjacent", serials({Section(kRange, U64s({5, 9})), Section(kRange, U64s({1, 4}))})},
      {"range inside a range", serials({Section(kRange, U64s({1, 9})), Section(kRange, U64s({2, 3}))})},
      {"list inside a range", serials({Section(kRange, U64s({1, 8})), Section(kList, U64s({9, 2}))})},
      {"ranges with a gap", serials({Section(kRange, U64s({2, 8})), Section(kRange, U64s({10, 12}))})},
      {"bitmap", serials({Section(kBitmap, Bitmap(1, {0x01}))})},
      {"bitmap leading zeros", serials({Section(kBitmap, Bitmap(9, {0, 0, 1}))})},
      {"bitmap high bit after zero", serials({Section(kBitmap, Bitmap(2, {0, 0x80}))})},
      {"bitmap serial 0", serials({Section(kBitmap, Bitmap(0, {0x03}))})},
      {"bitmap from 0", serials({Section(kBitmap, Bitmap(0, {0x02}))})},
      {"bitmap negative", serials({Section(kBitmap, Bitmap(1, {0x80}))})},
      {"bitmap empty", serials({Section(kBitmap, Bitmap(1, {}))})},
      {"bitmap zero", serials({Section(kBitmap, Bitmap(0, {0, 0}))})},
      {"bitmap 2048 bytes", serials({Section(kBitmap, Bitmap(8, big))})},
      {"bitmap 2049 bytes, leading 0", serials({Section(kBitmap, Bitmap(8, big_zero))})},
      {"bitmap 2049 bytes", serials({Section(kBitmap, Bitmap(8, too_big))})},
      {"bitmap at top", serials({Section(kBitmap, Bitmap(UINT64_MAX, {1}))})},
      {"bitmap wraps", serials({Section(kBitmap, Bitmap(UINT64_MAX, {2}))})},
      {"bitmap to top, zeros", serials({Section(kBitmap, Bitmap(UINT64_MAX - 7, {0, 0, 0x80}))})},
      {"bitmap wraps by one", serials({Section(kBitmap, Bitmap(UINT64_MAX - 6, {0, 0x80}))})},
      {"bitmap trailing", serials({Section(kBitmap, Cat({Bitmap(1, {1}), Bytes{0}}))})},
      {"bitmap cut", serials({Section(kBitmap, U64s({1}))})},
      {"key id", serials({Section(kKeyId, Strings({ToBytes("bob"), ToBytes("mallory")}))})},
      {"key id empty", serials({Section(kKeyId, Strings({{}}))})},
      // sshbuf_get_cstring allows one NUL, at the end, and drops it.
      {"key id ending in NUL",
       serials({Section(kKeyId, Strings({ToBytes(std::string("mallory\0", 8))}))})},
      {"key id with NUL", serials({Section(kKeyId, Strings({ToBytes(std::string("ma\0l", 4))}))})},
      {"key id with two NULs",
       serials({Section(kKeyId, Strings({ToBytes(std::string("mallory\0\0", 9))}))})},
      {"comment ending in NUL", Header(std::string_view("c\0", 2))},
      {"cert extension name ending in NUL",
       serials({Section(kCertExt, Extension(std::string_view("x\0", 2), 1))})},
      {"key id cut", serials({Section(kKeyId, Bytes{0, 0, 0, 9, 'a'})})},
      {"unknown subsection", serials({Section(0x24, {})})},
      {"subsection cut", serials({Bytes{kList, 0, 0}})},
      {"no subsections", serials({})},
      {"two sections for the CA", Cat({serials({Section(kList, U64s({2}))}),
                                       CertSection(ca, {Section(kList, U64s({9}))})})},
      {"any CA", Cat({h, CertSection({}, {Section(kList, U64s({1}))})})},
      {"CA not a key", Cat({h, garbage_ca})},
      {"CA is a key id", Cat({h, CertSection(ToBytes(std::string_view("\0\0\0\x03" "bob", 7)), {})})},
      {"CA header cut", Cat({h, Section(kCerts, Strings({ca}))})},
      {"explicit key", Cat({h, Section(kExplicit, Strings({user}))})},
      {"explicit key not a key", Cat({h, Section(kExplicit, Strings({ToBytes("garbage")}))})},
      {"explicit empty", Cat({h, Section(kExplicit, {})})},
      {"explicit cut", Cat({h, Section(kExplicit, Bytes{0, 0, 1})})},
      {"sha1", Cat({h, Section(kSha1, Strings({Digest(EVP_sha1(), user)}))})},
      {"sha1 short", Cat({h, Section(kSha1, Strings({Bytes(19, 1)}))})},
      {"sha256 of CA, unsorted",
       Cat({h, Section(kSha256, Strings({Bytes(32, 0xff), Digest(EVP_sha256(), ca)}))})},
      {"sha256 long", Cat({h, Section(kSha256, Strings({Bytes(33, 1)}))})},
      {"unknown section", Cat({h, Section(6, {})})},
      {"section 0", Cat({h, Section(0, {})})},
      {"section length 2^32-1", Cat({h, Bytes{kCerts, 0xff, 0xff, 0xff, 0xff}})},
      {"section type alone", Cat({h, Bytes{kExplicit}})},
      {"trailing byte", Cat({h, Section(kExplicit, Strings({user})), Bytes{0}})},
      {"critical extension", Cat({h, Section(kExtension, Extension("x@example.com", 1))})},
      {"critical cert extension", serials({Section(kCertExt, Extension("x@example.com", 1))})},
      {"old cert extension code", serials({Section(0x25, Extension("x@example.com", 0))})},
      {"extension trailing",
       Cat({h, Section(kExtension, Cat({Extension("x@example.com", 0), Bytes{0}}))})},
      {"signature then section", Cat({h, Section(kSignature, user), Strings({Bytes{1}}),
                                      Section(kExplicit, Strings({user}))})},
      {"signature cut", Cat({h, Section(kSignature, user)})},
      // OpenSSH 9.4+ skips non-critical extensions and signatures (9.2 knows
      // no extensions and verifies signatures), so these are ours alone.
      {"extension", Cat({h, Section(kExtension, Extension("x@example.com", 0))}),
       std::vector<A>{A::kOk, A::kOk, A::kOk, A::kOk}},
      {"cert extension", subsection_after_ext, std::vector<A>{A::kOk, A::kOk, A::kOk, A::kOk}},
      {"signatures", Cat({h, Section(kExplicit, Strings({user})), Section(kSignature, ca),
                          Strings({Bytes{1}}), Section(kSignature, user), Strings({{}})}),
       std::vector<A>{A::kRevoked, A::kRevoked, A::kRevoked, A::kRevoked}},
  };
  for (const HandMade& c : cases) {
    if (!c.expect) {
      ExpectAgree(c.krl, items, c.name);
      continue;
    }
    std::vector<Answer> ours = Ours(c.krl, items);
    for (size_t i = 0; i < items.size(); ++i) {
      EXPECT_EQ(AnswerName(ours[i]), std::string(AnswerName((*c.expect)[i]))) << c.name << " " << i;
    }
  }
  // Spot checks that the table exercises both answers.
  EXPECT_EQ(Ours(cases[6].krl, items)[0], Answer::kRevoked);
  EXPECT_EQ(Ours(cases[6].krl, items)[1], Answer::kOk);
  EXPECT_EQ(ErrcOf(ParseKrl(Cat({h, CertSection(ToBytes(std::string_view("\0\0\0\x03" "bob", 7)), {})}))),
            Errc::kUnsupportedType);
  EXPECT_EQ(ErrcOf(ParseKrl(Header(std::string_view("a\0b", 3)))), Errc::kBadEncoding);
  EXPECT_EQ(ErrcOf(ParseKrl(serials({Section(kBitmap, Bitmap(8, too_big))}))), Errc::kTooLarge);
}

// SectionEnds returns the offsets at which a prefix of |krl| is a whole KRL:
// after the header and after each section.
std::set<size_t> SectionEnds(const Bytes& krl) {
  WireReader r(krl);
  std::span<const uint8_t> skip;
  uint64_t u64 = 0;
  uint32_t u32 = 0;
  uint8_t type = 0;
  std::set<size_t> ends;
  EXPECT_TRUE(r.ReadBytes(8, &skip) && r.ReadU32(&u32) && r.ReadU64(&u64) && r.ReadU64(&u64) &&
              r.ReadU64(&u64) && r.ReadString(&skip) && r.ReadString(&skip));
  ends.insert(krl.size() - r.remaining());
  while (r.ReadU8(&type) && r.ReadString(&skip)) ends.insert(krl.size() - r.remaining());
  EXPECT_TRUE(r.empty());
  return ends;
}

TEST_F(KrlTest, EveryTruncationFailsAndTrailingGarbageFails) {
  std::string spec = "serial: 5\nserial: 10-20\nid: x\nkey: " + ReadFile(user_ + ".pub") +
                     "sha1: " + ReadFile(ca_ + ".pub") + "sha256: " + ReadFile(other_ca_ + ".pub");
  for (int s = 100; s < 200; s += 3) spec += "serial: " + std::to_string(s) + "\n";
  Bytes data = GenKrl(spec, ca_);
  GenKrl("id: y\n", "none", /*update=*/true);
  data = GenKrl("serial: 1\n", other_ca_, /*update=*/true);
  ASSERT_TRUE(ParseKrl(data));
  const std::set<size_t> ends = SectionEnds(data);
  EXPECT_GE(ends.size(), 6u);
  for (size_t n = 0; n < data.size(); ++n) {
    Result<Krl> prefix = ParseKrl(Bytes(data.begin(), data.begin() + static_cast<long>(n)));
    if (n == 0) {
      EXPECT_TRUE(prefix);  // an empty file is an empty key list
    } else if (ends.count(n) != 0) {
      EXPECT_TRUE(prefix) << "prefix " << n << " ends at a section";
    } else {
      ASSERT_FALSE(prefix) << "prefix " << n;
      if (n >= 8) {
        EXPECT_EQ(ErrcOf(prefix), Errc::kTruncated) << "prefix " << n;
      }
    }
  }
  EXPECT_FALSE(ParseKrl(Cat({data, Bytes{kCerts}})));
  EXPECT_FALSE(ParseKrl(Cat({data, Section(9, {})})));
}

TEST_F(KrlTest, HugeLengthsFailCleanly) {
  Bytes data = GenKrl("serial: 5\nid: x\n", ca_);
  ASSERT_TRUE(ParseKrl(data));
  // Every uint32 that is a length: reserved and comment in the header, the
  // section, the CA key, reserved, and each subsection.
  // 36 and 40: reserved and comment; 45: the section, after the 44-byte
  // header and the type byte.
  for (size_t offset : {36u, 40u, 45u}) {
    for (uint32_t len : {0xffffffffu, 0x80000000u, static_cast<uint32_t>(data.size())}) {
      Bytes bad = data;
      for (int i = 0; i < 4; ++i) bad[offset + static_cast<size_t>(i)] = static_cast<uint8_t>(len >> (24 - 8 * i));
      EXPECT_EQ(ErrcOf(ParseKrl(bad)), Errc::kTruncated) << "length at " << offset;
    }
  }
  Bytes nested = Cat({Header(), Section(kCerts, Cat({Strings({Blob(ca_ + ".pub"), {}}),
                                                   Bytes{kList, 0xff, 0xff, 0xff, 0xff}}))});
  EXPECT_EQ(ErrcOf(ParseKrl(nested)), Errc::kTruncated);
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
}

}  // namespace
}  // namespace certgate::core
