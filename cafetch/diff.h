// A small unified diff (diff -u form) for --dry-run: what cafetch would
// change in each file, without changing it.
#ifndef CERTGATE_CAFETCH_DIFF_H_
#define CERTGATE_CAFETCH_DIFF_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace certgate::cafetch {

// kMaxDiffCells bounds the line-matching table (old lines x new lines).
inline constexpr size_t kMaxDiffCells = 4 * 1000 * 1000;

// UnifiedDiff returns the unified diff (3 lines of context) turning |before|
// into |after|, with headers "--- OLD_NAME" and "+++ NEW_NAME", or "" when
// they are equal. A last line without '\n' is marked the way diff(1) marks
// it. Files too large for the quadratic line matcher (line counts whose
// product passes kMaxDiffCells) are shown as one hunk removing every line
// and adding every line.
std::string UnifiedDiff(std::string_view before, std::string_view after,
                        std::string_view old_name, std::string_view new_name);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_DIFF_H_
