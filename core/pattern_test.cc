#include "core/pattern.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace certgate::core {
namespace {

struct PatternCase {
  const char* s;
  const char* pattern;
  bool match;
};

TEST(PatternTest, SinglePatternTable) {
  const PatternCase cases[] = {
      {"alice", "alice", true},
      {"alice", "Alice", false},  // case-sensitive
      {"alice", "alic", false},
      {"alic", "alice", false},
      {"alice", "*", true},
      {"", "*", true},
      {"", "", true},
      {"a", "", false},
      {"", "?", false},
      {"a", "?", true},
      {"ab", "?", false},
      {"alice", "a*", true},
      {"alice", "*e", true},
      {"alice", "*l*c*", true},
      {"alice", "a?ice", true},
      {"alice", "a??ce", true},
      {"alice", "a???ce", false},
      {"team-ops", "team-*", true},
      {"team-", "team-*", true},
      {"team", "team-*", false},
      {"session_42", "session_*", true},
      {"abc", "**c", true},
      {"abc", "a**", true},
      {"abcabd", "*abd", true},
      {"abcabc", "*abd", false},
      {"mississippi", "*sip*", true},
      {"mississippi", "m*iss*ppi", true},
      {"mississippi", "m*iss*ppx", false},
      {"a*b", "a*b", true},
      {"axb", "a\\*b", false},  // no escapes: backslash is literal
      {"a\\xb", "a\\*b", true},
      {"!x", "!x", true},  // MatchPattern does no negation
  };
  for (const PatternCase& c : cases) {
    EXPECT_EQ(MatchPattern(c.s, c.pattern), c.match) << c.s << " vs " << c.pattern;
  }
}

TEST(PatternTest, ListSemantics) {
  const std::vector<std::string> list = {"team-*", "ops", "!team-evil"};
  EXPECT_EQ(MatchPatternList("ops", list), ListMatch::kMatch);
  EXPECT_EQ(MatchPatternList("team-a", list), ListMatch::kMatch);
  EXPECT_EQ(MatchPatternList("team-evil", list), ListMatch::kNegated);
  EXPECT_EQ(MatchPatternList("dev", list), ListMatch::kNoMatch);
  // A negated pattern wins wherever it is in the list.
  EXPECT_EQ(MatchPatternList("root", std::vector<std::string>{"!root", "*"}), ListMatch::kNegated);
  EXPECT_EQ(MatchPatternList("root", std::vector<std::string>{"*", "!root"}), ListMatch::kNegated);
  // Only negations: nothing is ever a match.
  EXPECT_EQ(MatchPatternList("alice", std::vector<std::string>{"!root"}), ListMatch::kNoMatch);
  EXPECT_EQ(MatchPatternList("root", std::vector<std::string>{"!r*"}), ListMatch::kNegated);
  EXPECT_EQ(MatchPatternList("alice", std::vector<std::string>{}), ListMatch::kNoMatch);
  EXPECT_EQ(MatchPatternList("", std::vector<std::string>{"*"}), ListMatch::kMatch);
}

// A backtracking matcher would take years on these (2^200 ways to place
// the stars); ctest's per-test TIMEOUT (tests/CMakeLists.txt) fails it.
// How fast the linear matcher is, bench/ measures: tests assert no timings.
TEST(PatternTest, PathologicalPatternsFinish) {
  const std::string s(1000, 'a');
  const std::string long_s(1024 * 16, 'a');
  EXPECT_FALSE(MatchPattern(s, "*a*a*a*a*a*b"));
  EXPECT_TRUE(MatchPattern(s, "*a*a*a*a*a*"));
  EXPECT_FALSE(MatchPattern(long_s, std::string(500, '*') + "b"));
  std::string many;
  for (int i = 0; i < 200; ++i) many += "*a";
  many += "*b";
  EXPECT_FALSE(MatchPattern(long_s, many));
  EXPECT_FALSE(MatchPattern(s, std::string(999, '?') + "?b"));
  EXPECT_TRUE(MatchPattern(s, std::string(1000, '?')));
}

TEST(PatternTest, PatternErrors) {
  EXPECT_EQ(PatternError("alice"), "");
  EXPECT_EQ(PatternError("!root"), "");
  EXPECT_EQ(PatternError("*"), "");
  EXPECT_EQ(PatternError("{user}"), "");
  EXPECT_NE(PatternError(""), "");
  EXPECT_NE(PatternError("!"), "");
  EXPECT_NE(PatternError("a,b"), "");
  EXPECT_NE(PatternError("a\tb"), "");
  EXPECT_NE(PatternError(std::string("a\0b", 3)), "");
  EXPECT_NE(PatternError("a\x7f"), "");
  EXPECT_EQ(PatternError(std::string(1024, 'a')), "");
  EXPECT_NE(PatternError(std::string(1025, 'a')), "");
}

}  // namespace
}  // namespace certgate::core
