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

// policy.md: "? one character". A character is a UTF-8 sequence (2, 3 or 4
// bytes here), or a byte that starts none.
TEST(PatternTest, QuestionMarkIsOneCharacterNotOneByte) {
  const std::string e_acute = "\xc3\xa9";           // U+00E9
  const std::string han = "\xe9\x81\x8b";             // U+904B
  const std::string emoji = "\xf0\x9f\x98\x80";      // U+1F600
  for (const std::string& c : {e_acute, han, emoji}) {
    EXPECT_TRUE(MatchPattern(c, "?")) << c;
    EXPECT_FALSE(MatchPattern(c, "??")) << c;
    EXPECT_FALSE(MatchPattern(c, "*??")) << c;
    EXPECT_TRUE(MatchPattern(c, "*?")) << c;
    EXPECT_TRUE(MatchPattern("team-" + c, "team-?")) << c;
    EXPECT_TRUE(MatchPattern("a" + c + "c", "a?c")) << c;
    EXPECT_TRUE(MatchPattern(c + "x" + c, "*x?")) << c;
    EXPECT_FALSE(MatchPattern(c + "x" + c, "*x??")) << c;
  }
  // Bytes of no well-formed sequence: each is one character.
  EXPECT_TRUE(MatchPattern("\xff", "?"));
  EXPECT_TRUE(MatchPattern("\xc3", "?"));      // cut off
  EXPECT_TRUE(MatchPattern("\xa9\xa9", "??"));  // stray continuation bytes
  EXPECT_TRUE(MatchPattern("\xc0\xaf", "??"));  // overlong '/'
  EXPECT_FALSE(MatchPattern("\xc0\xaf", "?"));
}

// The matcher against a plain recursive one over characters (exponential,
// fine for these sizes), on every string and pattern of a small alphabet
// that mixes one-byte, multi-byte and invalid characters.
bool ReferenceMatch(const std::vector<std::string>& s, size_t si, const std::vector<std::string>& p, size_t pi) {
  if (pi == p.size()) return si == s.size();
  if (p[pi] == "*") {
    for (size_t k = si; k <= s.size(); ++k) {
      if (ReferenceMatch(s, k, p, pi + 1)) return true;
    }
    return false;
  }
  if (si == s.size()) return false;
  return (p[pi] == "?" || p[pi] == s[si]) && ReferenceMatch(s, si + 1, p, pi + 1);
}

TEST(PatternTest, AgreesWithAReferenceMatcherOverCharacters) {
  const std::vector<std::string> text_chars = {"a", "\xc3\xa9", "\xe9\x81\x8b", "\xff"};
  const std::vector<std::string> pattern_chars = {"a", "\xc3\xa9", "\xe9\x81\x8b", "?", "*"};
  // Every sequence of up to |max_len| items of |alphabet|.
  auto sequences = [](const std::vector<std::string>& alphabet, size_t max_len) {
    std::vector<std::vector<std::string>> out = {{}};
    for (size_t start = 0, len = 0; len < max_len; ++len) {
      const size_t end = out.size();
      for (size_t i = start; i < end; ++i) {
        for (const std::string& c : alphabet) {
          std::vector<std::string> next = out[i];
          next.push_back(c);
          out.push_back(next);
        }
      }
      start = end;
    }
    return out;
  };
  auto join = [](const std::vector<std::string>& chars) {
    std::string out;
    for (const std::string& c : chars) out += c;
    return out;
  };
  size_t matches = 0;
  size_t checked = 0;
  for (const auto& s : sequences(text_chars, 4)) {
    for (const auto& p : sequences(pattern_chars, 4)) {
      const bool want = ReferenceMatch(s, 0, p, 0);
      ASSERT_EQ(MatchPattern(join(s), join(p)), want) << join(s) << " vs " << join(p);
      matches += want ? 1 : 0;
      ++checked;
    }
  }
  EXPECT_GT(matches, 1000u);  // the cases are not all one-sided
  EXPECT_GT(checked - matches, 1000u);
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
  // OpenSSH's limit: 1022 bytes after the '!'; match_pattern_list makes a
  // list with a longer item match nothing (the audit's case: certgate
  // granted with ["*", 1023 bytes], which sshd would match with nothing).
  EXPECT_EQ(PatternError(std::string(1022, 'a')), "");
  EXPECT_EQ(PatternError("!" + std::string(1022, 'a')), "");
  EXPECT_NE(PatternError(std::string(1023, 'a')), "");
  EXPECT_NE(PatternError("!" + std::string(1023, 'a')), "");
  EXPECT_EQ(PatternError(std::string(1023, 'a')),
            "pattern longer than 1022 bytes (after any '!': OpenSSH's limit, past which a list matches nothing); "
            "shorten it (* matches any run)");
}

}  // namespace
}  // namespace certgate::core
