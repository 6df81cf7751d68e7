// Durations in policy and config files: a number with an optional unit.
#ifndef CERTGATE_CORE_DURATION_H_
#define CERTGATE_CORE_DURATION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace certgate::core {

// ParseDuration parses "300", "300s", "5m", "1h", "2d" into seconds. The
// number is decimal digits only (no sign, no spaces, no fractions) and the
// result must be at most 100 years; anything else is kBadFormat with a
// detail a person can act on.
Result<uint64_t> ParseDuration(std::string_view text);

// FormatDuration renders seconds compactly for messages: "5m", "1h30m",
// "90s" -> "1m30s", "0s".
std::string FormatDuration(uint64_t seconds);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_DURATION_H_
