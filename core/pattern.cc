#include "core/pattern.h"

#include <cstddef>
#include <cstdint>

#include "core/utf8.h"

namespace certgate::core {
namespace {

// OpenSSH's match_pattern_list copies each item, after its '!', into a
// 1024-byte buffer with its NUL, and a list with a longer item matches
// nothing at all: an item that long is refused, not matched otherwise.
constexpr size_t kMaxPatternLength = 1022;

// CharLength is the length of the character at |s[i]|: its UTF-8 sequence
// when one starts there, else the one byte (a byte of no well-formed
// sequence is a character of its own).
size_t CharLength(std::string_view s, size_t i) {
  if (static_cast<unsigned char>(s[i]) < 0x80) return 1;
  uint32_t cp = 0;
  const size_t n = DecodeUtf8(s.substr(i), &cp);
  return n == 0 ? 1 : n;
}

}  // namespace

// MatchPattern is the classic two-cursor glob matcher. A '*' only ever needs
// to remember the most recent star: if a later literal run fails, retrying
// from an earlier star cannot help, because the later star can absorb
// anything the earlier one could. So one backtrack point suffices, there is
// no recursion, and each backtrack advances the star's anchor in |s| by one
// character, which bounds the work by O(|s| * |pattern|).
//
// A character is a UTF-8 sequence (policy.md: "? one character"; OpenSSH's
// match.c counts bytes, so there "?" does not match "é"), or one byte that
// starts none. Both '?' and the star's anchor move by whole characters;
// literals compare bytes, which for a well-formed pattern only match at the
// same character boundaries.
bool MatchPattern(std::string_view s, std::string_view pattern) {
  size_t si = 0;
  size_t pi = 0;
  size_t star_pi = std::string_view::npos;  // position after the last '*'
  size_t star_si = 0;                       // where that star's match ends
  while (si < s.size()) {
    if (pi < pattern.size() && pattern[pi] == '*') {
      while (pi < pattern.size() && pattern[pi] == '*') ++pi;  // "**" is "*"
      if (pi == pattern.size()) return true;  // a trailing star eats the rest
      star_pi = pi;
      star_si = si;
      continue;
    }
    if (pi < pattern.size() && pattern[pi] == '?') {
      ++pi;
      si += CharLength(s, si);
      continue;
    }
    if (pi < pattern.size() && pattern[pi] == s[si]) {
      ++pi;
      ++si;
      continue;
    }
    if (star_pi == std::string_view::npos) return false;
    // Let the last star absorb one more character and retry after it.
    pi = star_pi;
    star_si += CharLength(s, star_si);
    si = star_si;
  }
  while (pi < pattern.size() && pattern[pi] == '*') ++pi;
  return pi == pattern.size();
}

ListMatch MatchListItem(std::string_view s, std::string_view item) {
  const bool negated = !item.empty() && item.front() == '!';
  if (negated) item.remove_prefix(1);
  if (!MatchPattern(s, item)) return ListMatch::kNoMatch;
  return negated ? ListMatch::kNegated : ListMatch::kMatch;
}

std::string PatternError(std::string_view pattern) {
  if (pattern.empty()) return "empty pattern; remove the empty item";
  if (pattern.size() - (pattern.front() == '!' ? 1 : 0) > kMaxPatternLength) {
    return "pattern longer than " + std::to_string(kMaxPatternLength) +
           " bytes (after any '!': OpenSSH's limit, past which a list matches nothing); shorten it (* matches any "
           "run)";
  }
  if (pattern == "!") return "\"!\" alone negates nothing; write !PATTERN";
  for (char c : pattern) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == ',') return "a pattern may not contain ','; write each pattern as its own list item";
    if (u < 0x20 || u == 0x7f) return "a pattern may not contain control characters; remove them";
  }
  return "";
}

}  // namespace certgate::core
