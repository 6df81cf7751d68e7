// OpenSSH pattern lists (match.c semantics): `*` any run of characters, `?`
// exactly one, a leading `!` negates; case-sensitive; no regular expressions.
// Unlike match.c, a character is a UTF-8 sequence (policy.md), not a byte.
#ifndef CERTGATE_CORE_PATTERN_H_
#define CERTGATE_CORE_PATTERN_H_

#include <string>
#include <string_view>
#include <vector>

namespace certgate::core {

// MatchPattern returns true if all of |s| matches the single pattern
// |pattern| (no '!' handling, no commas). It never recurses and runs in
// O(|s| * |pattern|) worst case, O(|s| + |pattern|) typical; callers bound
// both lengths (kMaxNameLength).
bool MatchPattern(std::string_view s, std::string_view pattern);

// ListMatch is the result of matching a pattern list.
enum class ListMatch {
  kNoMatch,   // no positive pattern matched
  kMatch,     // a positive pattern matched and no negated one did
  kNegated,   // a negated pattern matched: never a match, whatever else does
};

// MatchListItem matches |s| against one element of a policy list (already
// split, with an optional leading '!'): kMatch or kNoMatch for a positive
// pattern, kNegated or kNoMatch for a negated one.
ListMatch MatchListItem(std::string_view s, std::string_view item);

// MatchPatternList matches |s| against every element of |patterns| (any
// range of strings or string views), as OpenSSH's match_pattern_list does:
// a negated match decides at once, whatever comes after.
template <typename Patterns>
ListMatch MatchPatternList(std::string_view s, const Patterns& patterns) {
  bool positive = false;
  for (std::string_view item : patterns) {
    ListMatch m = MatchListItem(s, item);
    if (m == ListMatch::kNegated) return m;
    if (m == ListMatch::kMatch) positive = true;
  }
  return positive ? ListMatch::kMatch : ListMatch::kNoMatch;
}

// PatternError returns an empty string if |pattern| is a valid list element,
// else a one-line reason (empty, only "!", contains ',' or a control
// character, longer than 1022 bytes after any '!').
std::string PatternError(std::string_view pattern);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_PATTERN_H_
