// "Did you mean" hints for misspelt key and authority names.
#ifndef CERTGATE_CORE_SUGGEST_H_
#define CERTGATE_CORE_SUGGEST_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace certgate::core {

// EditDistance is Levenshtein's distance, for short names only.
size_t EditDistance(std::string_view a, std::string_view b);

// Suggest returns "; did you mean \"NAME\"?" for the one of |names| closest
// to |word| (at most two edits away), or "" if none is (or |word| is over
// 64 bytes).
template <typename Names>
std::string Suggest(std::string_view word, const Names& names) {
  if (word.size() > 64) return "";
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view name : names) {
    const size_t d = EditDistance(word, name);
    if (d < best_distance) {
      best = name;
      best_distance = d;
    }
  }
  if (best.empty()) return "";
  return "; did you mean \"" + std::string(best) + "\"?";
}

// SuggestOrList returns Suggest(|word|, |names|), or, when no name is that
// close, "; use one of: A, B, C" listing every one of |names|: the advice
// for a key that is not one of |names|.
template <typename Names>
std::string SuggestOrList(std::string_view word, const Names& names) {
  std::string hint = Suggest(word, names);
  if (!hint.empty()) return hint;
  hint = "; use one of: ";
  bool first = true;
  for (std::string_view name : names) {
    hint += (first ? "" : ", ") + std::string(name);
    first = false;
  }
  return hint;
}

}  // namespace certgate::core

#endif  // CERTGATE_CORE_SUGGEST_H_
