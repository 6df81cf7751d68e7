// Fuzzes the policy loader (libyaml events -> Policy + Issues).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/policy_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  certgate::core::LoadResult result;
  certgate::core::ParsePolicyText(std::string_view(reinterpret_cast<const char*>(data), size),
                                  "fuzz.yaml", &result);
  certgate::core::FinishPolicy(&result);
  // A loaded policy has no issues, and an issue means no policy.
  if (result.policy.has_value() != result.issues.empty()) __builtin_trap();
  for (const auto& issue : result.issues) {
    if (issue.where.line < 1 || issue.where.column < 1) __builtin_trap();
  }
  return 0;
}
