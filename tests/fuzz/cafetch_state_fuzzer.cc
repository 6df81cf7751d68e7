// Fuzzes cafetch's state file parser (state_dir/cafetch.state): key history,
// validators, the sha1_issuer marks, the retired and the bounded times. A
// parsed state serializes to text that parses back to the same text, a
// listed key has no retired time, only a retired key has a bounded one, and
// every key it holds is one sshd could read.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cafetch/state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > certgate::cafetch::kMaxStateFileSize) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto state = certgate::cafetch::ParseState(text);
  if (!state) return 0;
  for (const auto& k : state->keys) {
    if (k.first_seen > k.last_seen || k.first_seen < 0) __builtin_trap();
    if (k.listed && k.retired.has_value()) __builtin_trap();
    if (k.retired.has_value() && *k.retired < 0) __builtin_trap();
    if (k.bounded.has_value() && (!k.retired.has_value() || *k.bounded < 0)) __builtin_trap();
  }
  const std::string once = certgate::cafetch::SerializeState(*state);
  auto again = certgate::cafetch::ParseState(once);
  if (!again) __builtin_trap();
  if (again->keys.size() != state->keys.size()) __builtin_trap();
  for (size_t i = 0; i < state->keys.size(); ++i) {
    if (again->keys[i].sha1_issuer != state->keys[i].sha1_issuer) __builtin_trap();
    if (again->keys[i].retired != state->keys[i].retired) __builtin_trap();
    if (again->keys[i].bounded != state->keys[i].bounded) __builtin_trap();
  }
  if (certgate::cafetch::SerializeState(*again) != once) __builtin_trap();
  return 0;
}
