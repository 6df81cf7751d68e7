#include "core/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace certgate::core {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// RFC 4648 §10 test vectors.
TEST(Base64Test, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(Bytes(plain)), encoded);
    Result<std::vector<uint8_t>> d = Base64Decode(encoded);
    ASSERT_TRUE(d.has_value()) << encoded;
    EXPECT_EQ(*d, Bytes(plain));
  }
  EXPECT_EQ(Base64EncodeUnpadded(Bytes("f")), "Zg");
  EXPECT_EQ(Base64EncodeUnpadded(Bytes("fo")), "Zm8");
  EXPECT_EQ(Base64EncodeUnpadded(Bytes("foo")), "Zm9v");
}

TEST(Base64Test, RoundTripAllByteValues) {
  std::vector<uint8_t> all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<uint8_t>(i));
  for (size_t len = 0; len <= all.size(); len += 1) {
    std::span<const uint8_t> part = std::span(all).first(len);
    Result<std::vector<uint8_t>> d = Base64Decode(Base64Encode(part));
    ASSERT_TRUE(d.has_value()) << len;
    EXPECT_TRUE(std::equal(d->begin(), d->end(), part.begin(), part.end())) << len;
  }
}

TEST(Base64Test, RejectsNonCanonicalInput) {
  for (const char* bad :
       {"Zg", "Zg=", "Zm8", "Z", "Zg==Zg==", "Zm9v\n", " Zm9v", "Zm 9v", "Zm9v\r", "Zg=a",
        "Z===", "====", "Zm-v", "Zm_v", "Zm9v=", "Zh==", "Zm9=", "Zm8=Zm8="}) {
    Result<std::vector<uint8_t>> d = Base64Decode(bad);
    ASSERT_FALSE(d.has_value()) << bad;
    EXPECT_EQ(d.error().code, Errc::kBadEncoding) << bad;
  }
  // A NUL byte inside the text.
  EXPECT_EQ(Base64Decode(std::string_view("Zm\0v", 4)).error().code, Errc::kBadEncoding);
  // Non-ASCII bytes.
  EXPECT_EQ(Base64Decode("Zm9\xc3").error().code, Errc::kBadEncoding);
}

TEST(Base64Test, SizeCap) {
  std::string text(16, 'A');
  EXPECT_TRUE(Base64Decode(text, 16).has_value());
  EXPECT_EQ(Base64Decode(text, 15).error().code, Errc::kTooLarge);
  std::string big(kMaxBase64Input + 4, 'A');
  EXPECT_EQ(Base64Decode(big).error().code, Errc::kTooLarge);
  EXPECT_TRUE(Base64Decode(std::string(kMaxBase64Input, 'A')).has_value());
}

}  // namespace
}  // namespace certgate::core
