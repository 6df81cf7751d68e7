#include "core/duration.h"

#include <gtest/gtest.h>

#include <string>

namespace certgate::core {
namespace {

TEST(DurationTest, GoodTable) {
  const struct {
    const char* text;
    uint64_t seconds;
  } cases[] = {
      {"0", 0},       {"300", 300},     {"300s", 300},         {"5m", 300},        {"1h", 3600},
      {"2d", 172800}, {"007", 7},       {"36500d", 36500 * 86400ULL},             {"90m", 5400},
      {"3153600000", 3153600000ULL},
  };
  for (const auto& c : cases) {
    Result<uint64_t> r = ParseDuration(c.text);
    ASSERT_TRUE(r.has_value()) << c.text;
    EXPECT_EQ(*r, c.seconds) << c.text;
  }
}

TEST(DurationTest, BadTable) {
  const char* cases[] = {
      "",    "s",    "m",   "-5m",  "+5m", " 5m", "5m ", "5 m", "5M",  "5w",  "1.5h", "1h30m",
      "5mm", "0x10", "1e3", "5sec", "h5",  "36501d", "3153600001", "99999999999999999999999",
      "18446744073709551615", "18446744073709551616",
  };
  for (const char* c : cases) {
    Result<uint64_t> r = ParseDuration(c);
    ASSERT_FALSE(r.has_value()) << c;
    EXPECT_EQ(r.error().code, Errc::kBadFormat) << c;
    EXPECT_FALSE(r.error().detail.empty());
  }
}

TEST(DurationTest, Format) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(5), "5s");
  EXPECT_EQ(FormatDuration(90), "1m30s");
  EXPECT_EQ(FormatDuration(300), "5m");
  EXPECT_EQ(FormatDuration(3600), "1h");
  EXPECT_EQ(FormatDuration(5400), "1h30m");
  EXPECT_EQ(FormatDuration(86400 + 1), "1d1s");
  EXPECT_EQ(FormatDuration(2 * 86400 + 3 * 3600 + 4 * 60 + 5), "2d3h4m5s");
}

}  // namespace
}  // namespace certgate::core
