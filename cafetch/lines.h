// Splitting a file's text into lines without losing a byte.
#ifndef CERTGATE_CAFETCH_LINES_H_
#define CERTGATE_CAFETCH_LINES_H_

#include <string_view>
#include <vector>

namespace certgate::cafetch {

// LinesWithEnds returns the lines of |text|, each with its '\n' (the last
// may lack it): joining them gives back every byte, and "a" and "a\n"
// compare unequal, as they do for diff(1).
inline std::vector<std::string_view> LinesWithEnds(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    size_t len = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(0, len));
    text.remove_prefix(len);
  }
  return lines;
}

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_LINES_H_
