// Fuzzes the cafetch.yaml loader (libyaml events -> Config + Issues).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cafetch/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto result = certgate::cafetch::ParseConfigText(std::string_view(reinterpret_cast<const char*>(data), size),
                                                   "fuzz.yaml");
  // A loaded config has no issues, and an issue means no config.
  if (result.config.has_value() != result.issues.empty()) __builtin_trap();
  for (const auto& issue : result.issues) {
    if (issue.where.line < 1 || issue.where.column < 1) __builtin_trap();
  }
  return 0;
}
