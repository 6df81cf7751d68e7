// Fuzzes the sshd_config reader and rewriter: the rewrite must be
// idempotent and keep every line outside cafetch's block. The same input
// also goes through the `sshd -V` and `sshd -T` output parsers and the
// --dry-run diff.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cafetch/diff.h"
#include "cafetch/sshd_check.h"
#include "cafetch/sshd_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)certgate::cafetch::IncludesDropInDirectory(text, "/etc/ssh");
  (void)certgate::cafetch::ParseSshdVersion(text);
  // The same text as sshd -T output and as the configuration's only file.
  const std::vector<certgate::cafetch::ConfigLine> lines = certgate::cafetch::ConfigLines(
      "/etc/ssh/sshd_config", text, [](const std::string&) { return std::vector<certgate::cafetch::ConfigFile>{}; });
  (void)certgate::cafetch::VerifyEffective(certgate::cafetch::ParseEffectiveConfig(text),
                                           {{"AuthorizedPrincipalsCommand", "/x %u"},
                                            {"TrustedUserCAKeys", "/x"},
                                            {"CASignatureAlgorithms", "+ssh-rsa"}},
                                           lines);
  const std::string body = certgate::cafetch::RenderDirectives({"TrustedUserCAKeys /x"});
  auto once = certgate::cafetch::RewriteMainConfig(text, body);
  if (!once) return 0;
  auto twice = certgate::cafetch::RewriteMainConfig(*once, body);
  if (!twice || *twice != *once) __builtin_trap();
  // The diff of a change is never empty, and of no change always is.
  if (certgate::cafetch::UnifiedDiff(*once, *once, "a", "b") != "") __builtin_trap();
  if (text != *once && certgate::cafetch::UnifiedDiff(text, *once, "a", "b").empty()) __builtin_trap();
  if (text.find("# BEGIN certgate") == std::string_view::npos) {
    // No old block: the input's lines all survive, in order.
    std::string without = *once;
    size_t b = without.find("# BEGIN certgate\n");
    size_t e = b == std::string::npos ? b : without.find("# END certgate\n", b);
    if (b == std::string::npos || e == std::string::npos) __builtin_trap();
    without.erase(b, e + sizeof("# END certgate\n") - 1 - b);
    std::string input(text);
    if (!input.empty() && input.back() != '\n' && without.size() == input.size() + 1) {
      input.push_back('\n');
    }
    if (without != input) __builtin_trap();
  }
  return 0;
}
