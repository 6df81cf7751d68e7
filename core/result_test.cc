#include "core/result.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace certgate::core {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Fail(Errc::kBadFormat, "odd");
  return x / 2;
}

Status Check(bool ok) {
  if (!ok) return Fail(Errc::kIo, "no");
  return Ok();
}

TEST(ResultTest, ValueAndError) {
  Result<int> ok = Half(8);
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(*ok, 4);
  EXPECT_EQ(ok.value(), 4);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::kBadFormat);
  EXPECT_EQ(bad.error().detail, "odd");
}

TEST(ResultTest, PropagatesThroughUnexpected) {
  auto outer = [](int x) -> Result<std::string> {
    Result<int> h = Half(x);
    if (!h) return Unexpected{h.error()};
    return std::to_string(*h);
  };
  EXPECT_EQ(*outer(10), "5");
  EXPECT_EQ(outer(7).error().code, Errc::kBadFormat);
}

TEST(ResultTest, Status) {
  EXPECT_TRUE(Check(true).has_value());
  Status s = Check(false);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::kIo);
}

TEST(ResultTest, MoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(3);
  ASSERT_TRUE(r.has_value());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 3);
}

TEST(ResultTest, ErrcNamesAreDistinct) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(Errc::kInternal); ++i) {
    std::string name = ErrcName(static_cast<Errc>(i));
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_STREQ(ErrcName(Errc::kTruncated), "truncated");
}

}  // namespace
}  // namespace certgate::core
