#include "core/option_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace certgate::core {
namespace {

TEST(OptionReaderTest, SplitsNameAndInlineValueAndStopsAtTheFirstArgument) {
  const std::vector<std::string> args = {"--a=1", "--b", "2", "--c", "user", "--d"};
  OptionReader r(args);
  std::string a, b;
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.name(), "--a");
  EXPECT_EQ(r.word(), "--a=1");
  ASSERT_TRUE(r.Value(&a, "a value"));
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.name(), "--b");
  ASSERT_TRUE(r.Value(&b, "a value"));
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.name(), "--c");
  EXPECT_TRUE(r.Flag());
  EXPECT_FALSE(r.Next());
  EXPECT_EQ(r.position(), 4u);  // "user": options end there, "--d" is an argument
  EXPECT_EQ(a, "1");
  EXPECT_EQ(b, "2");
}

TEST(OptionReaderTest, DoubleDashAndTheEndStopIt) {
  const std::vector<std::string> dash = {"--x", "--", "--y"};
  OptionReader r(dash);
  ASSERT_TRUE(r.Next());
  EXPECT_FALSE(r.Next());
  EXPECT_EQ(r.position(), 1u);  // at "--": the caller skips it
  const std::vector<std::string> none;
  OptionReader empty(none);
  EXPECT_FALSE(empty.Next());
  EXPECT_EQ(empty.position(), 0u);
  const std::vector<std::string> single = {"-v"};
  OptionReader one_dash(single);
  EXPECT_FALSE(one_dash.Next());  // a single dash is not an option here
}

TEST(OptionReaderTest, AValueIsTakenOnceUnlessItRepeats) {
  const std::vector<std::string> args = {"--p", "x", "--p=y", "--u", "a", "--u=b"};
  OptionReader r(args);
  std::string v;
  ASSERT_TRUE(r.Next());
  ASSERT_TRUE(r.Value(&v, "a path"));
  ASSERT_TRUE(r.Next());
  Status twice = r.Value(&v, "a path");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::kUsage);
  EXPECT_EQ(twice.error().detail, "--p is given twice; give it once");
  EXPECT_EQ(v, "x");
  ASSERT_TRUE(r.Next());
  ASSERT_TRUE(r.Value(&v, "a user", /*repeatable=*/true));
  EXPECT_EQ(v, "a");
  ASSERT_TRUE(r.Next());
  ASSERT_TRUE(r.Value(&v, "a user", /*repeatable=*/true));
  EXPECT_EQ(v, "b");
}

TEST(OptionReaderTest, AMissingValueSaysWhatIsWanted) {
  const std::vector<std::string> args = {"--policy"};
  OptionReader r(args);
  std::string v;
  ASSERT_TRUE(r.Next());
  Status st = r.Value(&v, "a path");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().detail, "--policy needs a path");
  // An empty inline value is a value: the caller decides whether it may be.
  const std::vector<std::string> empty = {"--policy="};
  OptionReader e(empty);
  ASSERT_TRUE(e.Next());
  ASSERT_TRUE(e.Value(&v, "a path"));
  EXPECT_EQ(v, "");
  // The audit's case: "--policy --verbose alice ..." took --verbose for the
  // path. An option where the value should be is a forgotten value; a value
  // that starts with -- is given inline.
  const std::vector<std::string> forgotten = {"--policy", "--verbose", "alice"};
  OptionReader f(forgotten);
  ASSERT_TRUE(f.Next());
  Status missing = f.Value(&v, "a path");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().detail,
            "--policy needs a path, not the option --verbose (write --policy=VALUE for a value that starts with --)");
  const std::vector<std::string> inline_dashes = {"--policy=--odd"};
  OptionReader i(inline_dashes);
  ASSERT_TRUE(i.Next());
  ASSERT_TRUE(i.Value(&v, "a path"));
  EXPECT_EQ(v, "--odd");
}

TEST(OptionReaderTest, FlagsTakeNoValue) {
  const std::vector<std::string> args = {"--verbose=yes", "--verbose="};
  OptionReader r(args);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.Flag().error().detail, "--verbose takes no value");
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.Flag().error().detail, "--verbose takes no value");
}

// AbsolutePath returns the value AbsolutePathValue takes from |args|, or
// its error.
std::string AbsolutePath(const std::vector<std::string>& args, bool none_allowed) {
  OptionReader r(args);
  if (!r.Next()) return "(no option)";
  std::string v = "(unset)";
  Status st = r.AbsolutePathValue(&v, none_allowed);
  return st ? v : "error: " + st.error().detail;
}

TEST(OptionReaderTest, AbsolutePaths) {
  EXPECT_EQ(AbsolutePath({"--s", "/run/x.sock"}, false), "/run/x.sock");
  EXPECT_EQ(AbsolutePath({"--s=/a"}, false), "/a");
  EXPECT_EQ(AbsolutePath({"--s", "x.sock"}, false), "error: --s needs an absolute path");
  EXPECT_EQ(AbsolutePath({"--s="}, false), "error: --s needs an absolute path");
  EXPECT_EQ(AbsolutePath({"--s"}, false), "error: --s needs an absolute path");
  EXPECT_EQ(AbsolutePath({"--s", "none"}, false), "error: --s needs an absolute path");
  EXPECT_EQ(AbsolutePath({"--s", "none"}, true), "");
  EXPECT_EQ(AbsolutePath({"--s", "/none"}, true), "/none");
  EXPECT_EQ(AbsolutePath({"--s", "rel"}, true), "error: --s needs an absolute path, or none");
}

// Unsigned returns the number UnsignedValue(1, 3600, unit) takes from
// |args|, or its error.
std::string Unsigned(const std::vector<std::string>& args, std::string_view unit = {}) {
  OptionReader r(args);
  if (!r.Next()) return "(no option)";
  Result<uint64_t> v = r.UnsignedValue(1, 3600, unit);
  return v ? std::to_string(*v) : "error: " + v.error().detail;
}

TEST(OptionReaderTest, UnsignedValuesInARange) {
  EXPECT_EQ(Unsigned({"--t", "1"}), "1");
  EXPECT_EQ(Unsigned({"--t=3600"}), "3600");
  EXPECT_EQ(Unsigned({"--t", "0"}, "seconds"), "error: --t must be 1 to 3600 seconds");
  EXPECT_EQ(Unsigned({"--t", "3601"}), "error: --t must be 1 to 3600");
  EXPECT_EQ(Unsigned({"--t", "18446744073709551616"}), "error: --t must be 1 to 3600");
  EXPECT_EQ(Unsigned({"--t"}, "seconds"), "error: --t needs a whole number, 1 to 3600 seconds");
  for (std::string bad : {"", "-1", "+1", " 1", "1 ", "1s", "0x10", "1.5"}) {
    EXPECT_EQ(Unsigned({"--t", bad}), "error: --t needs a whole number, not \"" + bad + "\"") << bad;
  }
}

TEST(OptionReaderTest, ParseUnsigned) {
  EXPECT_EQ(*ParseUnsigned("--at", "0"), 0u);
  EXPECT_EQ(*ParseUnsigned("--at", "18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseUnsigned("--at", "18446744073709551616").error().detail,
            "--at is too large: 18446744073709551616");
  EXPECT_EQ(ParseUnsigned("--at", "-0").error().detail, "--at needs a whole number, not \"-0\"");
  EXPECT_EQ(ParseUnsigned("--at", "").error().code, Errc::kUsage);
}

}  // namespace
}  // namespace certgate::core
