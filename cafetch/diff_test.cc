#include "cafetch/diff.h"

#include <gtest/gtest.h>

#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::Run;
using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

// GnuDiff returns `diff -u A B` with its two header lines replaced.
std::string GnuDiff(const std::string& a, const std::string& b) {
  TempDir dir;
  WriteFile(dir.Path("a"), a);
  WriteFile(dir.Path("b"), b);
  auto r = Run({"diff", "-u", dir.Path("a"), dir.Path("b")});
  std::string out = r.out;
  if (out.empty()) return out;
  size_t second = out.find('\n', out.find('\n') + 1);
  return "--- a\n+++ b\n" + out.substr(second + 1);
}

TEST(DiffTest, EqualIsEmpty) { EXPECT_EQ(UnifiedDiff("x\n", "x\n", "a", "b"), ""); }

TEST(DiffTest, NewFile) {
  EXPECT_EQ(UnifiedDiff("", "one\ntwo\n", "/dev/null", "f"),
            "--- /dev/null\n+++ f\n@@ -0,0 +1,2 @@\n+one\n+two\n");
}

TEST(DiffTest, MatchesGnuDiff) {
  std::string base;
  for (int i = 1; i <= 30; ++i) base += "line " + std::to_string(i) + "\n";
  std::string inserted = base;
  inserted.insert(inserted.find("line 5\n"), "# BEGIN certgate\nTrustedUserCAKeys /x\n# END certgate\n");
  std::string two_hunks = base;
  two_hunks.replace(two_hunks.find("line 2\n"), 7, "LINE 2\n");
  two_hunks.replace(two_hunks.find("line 25\n"), 8, "");
  std::string close = base;
  close.replace(close.find("line 10\n"), 8, "ten\n");
  close.replace(close.find("line 16\n"), 8, "sixteen\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {base, inserted}, {inserted, base},  {base, two_hunks},     {base, close},
      {"a\nb", "a\nc"}, {"a\n", "a"},      {"x\n", ""},           {"", "y"},
      {"a\nb\nc\n", "c\nb\na\n"},
  };
  for (const auto& [a, b] : cases) {
    EXPECT_EQ(UnifiedDiff(a, b, "a", "b"), GnuDiff(a, b)) << "a=" << a << "\nb=" << b;
  }
}

TEST(DiffTest, HugeInputsFallBackToReplaceAll) {
  std::string a, b;
  for (int i = 0; i < 3000; ++i) {
    a += "a" + std::to_string(i) + "\n";
    b += "b" + std::to_string(i) + "\n";
  }
  std::string d = UnifiedDiff(a, b, "a", "b");
  EXPECT_EQ(d.rfind("--- a\n+++ b\n@@ -1,3000 +1,3000 @@\n-a0\n", 0), 0u);
}

}  // namespace
}  // namespace certgate::cafetch
