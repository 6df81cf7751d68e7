#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace certgate::core {
namespace {

TEST(Utf8Test, DecodesEachLength) {
  uint32_t cp = 0;
  EXPECT_EQ(DecodeUtf8("a", &cp), 1u);
  EXPECT_EQ(cp, 0x61u);
  EXPECT_EQ(DecodeUtf8("\xc3\xa9x", &cp), 2u);  // é
  EXPECT_EQ(cp, 0xe9u);
  EXPECT_EQ(DecodeUtf8("\xe2\x82\xac", &cp), 3u);  // €
  EXPECT_EQ(cp, 0x20acu);
  EXPECT_EQ(DecodeUtf8("\xf0\x9f\x94\x91", &cp), 4u);  // U+1F511
  EXPECT_EQ(cp, 0x1f511u);
  EXPECT_EQ(DecodeUtf8("\xf4\x8f\xbf\xbf", &cp), 4u);  // U+10FFFF
  EXPECT_EQ(cp, 0x10ffffu);
}

TEST(Utf8Test, RefusesMalformedSequences) {
  uint32_t cp = 0;
  for (const std::string& bad : {
           std::string(),                   // nothing
           std::string("\x80"),             // stray continuation
           std::string("\xc0\xaf"),         // overlong '/'
           std::string("\xc1\xbf"),         // overlong
           std::string("\xe0\x80\xaf"),     // overlong, three bytes
           std::string("\xf0\x80\x80\xaf"), // overlong, four bytes
           std::string("\xed\xa0\x80"),     // surrogate U+D800
           std::string("\xf4\x90\x80\x80"), // above U+10FFFF
           std::string("\xf5\x80\x80\x80"), // lead byte never used
           std::string("\xe2\x82"),         // cut off
           std::string("\xc3" "a"),         // continuation missing
       }) {
    EXPECT_EQ(DecodeUtf8(bad, &cp), 0u) << ::testing::PrintToString(bad);
  }
}

TEST(Utf8Test, EncodesWhatItDecodes) {
  for (uint32_t cp : {0x0u, 0x7fu, 0x80u, 0x7ffu, 0x800u, 0xfffdu, 0x10000u, 0x10ffffu}) {
    std::string s;
    AppendUtf8(cp, &s);
    uint32_t back = 0xffffffff;
    EXPECT_EQ(DecodeUtf8(s, &back), s.size()) << cp;
    EXPECT_EQ(back, cp);
  }
}

TEST(Utf8Test, ControlsAreNotShownSafely) {
  for (uint32_t cp : {0x0u, 0x9u, 0x1bu, 0x7fu, 0x80u, 0x85u, 0x9bu, 0x9fu, 0x61cu, 0x200eu,
                      0x200fu, 0x2028u, 0x2029u, 0x202au, 0x202eu, 0x2066u, 0x2069u}) {
    EXPECT_FALSE(IsShownSafely(cp)) << std::hex << cp;
  }
  for (uint32_t cp : {0x20u, 0x23u, 0x7eu, 0xa0u, 0xe9u, 0x200du, 0x2030u, 0x206au, 0x1f511u}) {
    EXPECT_TRUE(IsShownSafely(cp)) << std::hex << cp;
  }
}

}  // namespace
}  // namespace certgate::core
