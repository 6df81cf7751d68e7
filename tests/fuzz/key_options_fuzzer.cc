// Fuzzes the authorized_keys option and line parsers (policy user_keys and
// key options). Whatever they accept must survive certgate's own output
// formatting: the line FormatAuthorizedKeysLine prints for sshd parses back
// to the same options, key and comment, and every accepted option list
// splits back into itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/key_options.h"
#include "core/sshd_output.h"

namespace {

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)certgate::core::CheckKeyOption(text);

  auto options = certgate::core::SplitKeyOptions(text);
  if (options) {
    for (const std::string& o : *options) {
      if (!certgate::core::CheckKeyOption(o)) __builtin_trap();
    }
    auto again = certgate::core::SplitKeyOptions(Join(*options));
    if (!again || *again != *options) __builtin_trap();
  }

  auto line = certgate::core::ParseAuthorizedKeysLine(text);
  if (line) {
    // One line for sshd: exactly one newline, at the end.
    const std::string printed = certgate::core::FormatAuthorizedKeysLine(*line);
    if (printed.empty() || printed.find('\n') != printed.size() - 1) __builtin_trap();
    auto back = certgate::core::ParseAuthorizedKeysLine(
        std::string_view(printed).substr(0, printed.size() - 1));
    if (!back || back->options != line->options || back->key.blob != line->key.blob ||
        back->comment != line->comment) {
      __builtin_trap();
    }
  }
  return 0;
}
