#include "core/duration.h"

#include <charconv>
#include <system_error>

namespace certgate::core {
namespace {

constexpr uint64_t kMaxDuration = 100ULL * 365 * 24 * 3600;  // 100 years

}  // namespace

Result<uint64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return Fail(Errc::kBadFormat, "empty duration; write e.g. 300, 5m, 1h or 2d");
  uint64_t unit = 1;
  std::string_view digits = text;
  switch (text.back()) {
    case 's': unit = 1; digits.remove_suffix(1); break;
    case 'm': unit = 60; digits.remove_suffix(1); break;
    case 'h': unit = 3600; digits.remove_suffix(1); break;
    case 'd': unit = 86400; digits.remove_suffix(1); break;
    default: break;
  }
  const std::string hint = "; write a whole number with an optional unit s, m, h or d (e.g. 300, 5m, 1h, 2d)";
  if (digits.empty()) return Fail(Errc::kBadFormat, "duration \"" + std::string(text) + "\" has no number" + hint);
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return Fail(Errc::kBadFormat, "bad duration \"" + std::string(text) + "\"" + hint);
    }
  }
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || n > kMaxDuration / unit) {
    return Fail(Errc::kBadFormat,
                "duration \"" + std::string(text) + "\" is longer than 100 years (36500d); give a shorter one");
  }
  return n * unit;
}

std::string FormatDuration(uint64_t seconds) {
  if (seconds == 0) return "0s";
  std::string out;
  const uint64_t days = seconds / 86400;
  const uint64_t hours = seconds / 3600 % 24;
  const uint64_t minutes = seconds / 60 % 60;
  const uint64_t secs = seconds % 60;
  if (days > 0) out += std::to_string(days) + "d";
  if (hours > 0) out += std::to_string(hours) + "h";
  if (minutes > 0) out += std::to_string(minutes) + "m";
  if (secs > 0) out += std::to_string(secs) + "s";
  return out;
}

}  // namespace certgate::core
