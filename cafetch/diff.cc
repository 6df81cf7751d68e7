#include "cafetch/diff.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cafetch/lines.h"

namespace certgate::cafetch {
namespace {

constexpr size_t kContext = 3;

struct Op {
  char kind;  // ' ', '-', '+'
  size_t index;  // into the old lines for ' ' and '-', the new ones for '+'
};

// EditScript returns a shortest edit script by longest common subsequence.
std::vector<Op> EditScript(const std::vector<std::string_view>& a,
                           const std::vector<std::string_view>& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<Op> ops;
  if ((n + 1) * (m + 1) > kMaxDiffCells) {
    for (size_t i = 0; i < n; ++i) ops.push_back({'-', i});
    for (size_t j = 0; j < m; ++j) ops.push_back({'+', j});
    return ops;
  }
  // lcs[i][j]: length of the LCS of a[i..] and b[j..].
  std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [m](size_t i, size_t j) { return i * (m + 1) + j; };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[at(i, j)] = a[i] == b[j] ? lcs[at(i + 1, j + 1)] + 1
                                   : std::max(lcs[at(i + 1, j)], lcs[at(i, j + 1)]);
    }
  }
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ops.push_back({' ', i});
      ++i;
      ++j;
    } else if (i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)])) {
      ops.push_back({'-', i++});  // on a tie, remove first, as diff(1) does
    } else {
      ops.push_back({'+', j++});
    }
  }
  // Show removals before additions within a run of changes, as diff does.
  for (size_t k = 0; k < ops.size();) {
    if (ops[k].kind == ' ') {
      ++k;
      continue;
    }
    size_t end = k;
    while (end < ops.size() && ops[end].kind != ' ') ++end;
    std::vector<Op> run;
    for (size_t r = k; r < end; ++r) {
      if (ops[r].kind == '-') run.push_back(ops[r]);
    }
    for (size_t r = k; r < end; ++r) {
      if (ops[r].kind == '+') run.push_back(ops[r]);
    }
    for (size_t r = k; r < end; ++r) ops[r] = run[r - k];
    k = end;
  }
  return ops;
}

std::string Range(size_t start, size_t count) {
  // diff -u numbers lines from 1; an empty range names the line before it.
  if (count == 0) return std::to_string(start) + ",0";
  if (count == 1) return std::to_string(start + 1);
  return std::to_string(start + 1) + "," + std::to_string(count);
}

void AppendLine(char kind, std::string_view line, std::string* out) {
  out->push_back(kind);
  out->append(line);
  if (line.empty() || line.back() != '\n') out->append("\n\\ No newline at end of file\n");
}

}  // namespace

std::string UnifiedDiff(std::string_view before, std::string_view after,
                        std::string_view old_name, std::string_view new_name) {
  if (before == after) return "";
  const std::vector<std::string_view> a = LinesWithEnds(before), b = LinesWithEnds(after);
  const std::vector<Op> ops = EditScript(a, b);
  std::string out = "--- " + std::string(old_name) + "\n+++ " + std::string(new_name) + "\n";
  size_t k = 0;
  while (k < ops.size()) {
    if (ops[k].kind == ' ') {
      ++k;
      continue;
    }
    // ops[k] is the first change of a hunk; extend it while the next change
    // is within 2 * kContext unchanged lines.
    size_t start = k > kContext ? k - kContext : 0;
    size_t last = k;
    for (size_t p = k + 1; p < ops.size(); ++p) {
      if (ops[p].kind == ' ') continue;
      if (p - last - 1 > 2 * kContext) break;
      last = p;
    }
    size_t end = std::min(ops.size(), last + kContext + 1);
    size_t old_start = 0, new_start = 0;
    for (size_t p = 0; p < start; ++p) {
      if (ops[p].kind != '+') ++old_start;
      if (ops[p].kind != '-') ++new_start;
    }
    size_t old_count = 0, new_count = 0;
    for (size_t p = start; p < end; ++p) {
      if (ops[p].kind != '+') ++old_count;
      if (ops[p].kind != '-') ++new_count;
    }
    out += "@@ -" + Range(old_start, old_count) + " +" + Range(new_start, new_count) + " @@\n";
    for (size_t p = start; p < end; ++p) {
      AppendLine(ops[p].kind, ops[p].kind == '+' ? b[ops[p].index] : a[ops[p].index], &out);
    }
    k = end;
  }
  return out;
}

}  // namespace certgate::cafetch
