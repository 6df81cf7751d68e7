// KRLs crafted byte by byte (PROTOCOL.krl): what ssh-keygen never writes
// (odd serial lists, ranges and bitmaps, key ids with NULs, unknown or
// repeated sections, extensions, signatures), each of which must give what
// ssh-keygen -Q gives, and KRLs that ssh-keygen wrote, cut at every byte or
// with a huge length. The KRLs ssh-keygen writes are krl_test.cc's; the
// fixture is krl_testing.h's.
#include "core/krl.h"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "core/krl_testing.h"
#include "core/result.h"
#include "core/wire_reader.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using ::certgate::testing::ReadFile;

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

}  // namespace
}  // namespace certgate::core
