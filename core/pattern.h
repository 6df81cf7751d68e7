// OpenSSH pattern lists (match.c semantics): `*` any run of characters, `?`
// exactly one, a leading `!` negates; case-sensitive; no regular expressions.
#ifndef CERTGATE_CORE_PATTERN_H_
#define CERTGATE_CORE_PATTERN_H_

#include <span>
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

// MatchPatternList matches |s| against every pattern of |patterns| (each an
// element of a policy list, already split, with an optional leading '!').
ListMatch MatchPatternList(std::string_view s, std::span<const std::string> patterns);
inline ListMatch MatchPatternList(std::string_view s, const std::vector<std::string>& patterns) {
  return MatchPatternList(s, std::span<const std::string>(patterns));
}

// PatternError returns an empty string if |pattern| is a valid list element,
// else a one-line reason (empty, only "!", contains ',' or a control
// character, longer than 1024 bytes).
std::string PatternError(std::string_view pattern);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_PATTERN_H_
