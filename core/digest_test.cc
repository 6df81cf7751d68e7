#include "core/digest.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace certgate::core {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

template <typename DigestT>
std::string Hex(const Result<DigestT>& digest) {
  if (!digest) return "error: " + digest.error().detail;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : *digest) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

constexpr std::string_view kTwoBlocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

// FIPS 180-2 appendix B (SHA-256) and C (SHA-512), and the empty message.
TEST(DigestTest, Sha256KnownAnswers) {
  EXPECT_EQ(Hex(Sha256(Bytes(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256(std::span<const uint8_t>())),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256(Bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256(Bytes(kTwoBlocks))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(DigestTest, Sha512KnownAnswers) {
  EXPECT_EQ(Hex(Sha512(Bytes(""))),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
            "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
  EXPECT_EQ(Hex(Sha512(Bytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

// FIPS 180-1 appendix A, and the empty message.
TEST(DigestTest, Sha1KnownAnswers) {
  EXPECT_EQ(Hex(Sha1(Bytes(""))), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Hex(Sha1(Bytes("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(DigestTest, Sha256OfPartsIsSha256OfTheirConcatenation) {
  EXPECT_EQ(Hex(Sha256({})), Hex(Sha256(Bytes(""))));
  EXPECT_EQ(Hex(Sha256({Bytes("a"), Bytes("bc")})),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Every split point, with empty parts at either end and in the middle.
  const std::span<const uint8_t> all = Bytes(kTwoBlocks);
  const std::string whole = Hex(Sha256(all));
  for (size_t i = 0; i <= all.size(); ++i) {
    EXPECT_EQ(Hex(Sha256({all.first(i), all.subspan(i)})), whole) << i;
    EXPECT_EQ(Hex(Sha256({std::span<const uint8_t>(), all.first(i), std::span<const uint8_t>(),
                          all.subspan(i), std::span<const uint8_t>()})),
              whole)
        << i;
  }
  // Parts crossing SHA-256's 64-byte blocks, as a snapshot's two ranges do.
  std::vector<uint8_t> big(1000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  const std::span<const uint8_t> b(big);
  EXPECT_EQ(Hex(Sha256({b.first(72), b.subspan(72, 32), b.subspan(104)})), Hex(Sha256(b)));
  EXPECT_NE(Hex(Sha256({b.first(72), b.subspan(104)})), Hex(Sha256(b)));
}

}  // namespace
}  // namespace certgate::core
