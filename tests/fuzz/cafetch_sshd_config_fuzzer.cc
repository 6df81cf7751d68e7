// Fuzzes the sshd_config reader and rewriter: the rewrite must be
// idempotent and keep every line outside cafetch's block. The same input
// also goes through the `sshd -V` and `sshd -T` output parsers, the
// --dry-run diff and AcceptsSha1Rsa.
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
  const certgate::cafetch::IncludeExpander none = [](const std::string&) {
    return std::vector<certgate::cafetch::ConfigFile>{};
  };
  const std::vector<certgate::cafetch::ConfigLine> lines =
      certgate::cafetch::ConfigLines("/etc/ssh/sshd_config", text, none);
  // With the Match blocks: the same lines first, then only lines under a
  // Match line, which comes before them.
  const std::vector<certgate::cafetch::ConfigLine> all =
      certgate::cafetch::ConfigLines("/etc/ssh/sshd_config", text, none, /*with_match=*/true);
  if (all.size() < lines.size()) __builtin_trap();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].match_all && all[i].match.empty()) __builtin_trap();  // "Match all" is a Match line
    if (i < lines.size() && (all[i].Where() != lines[i].Where() || !all[i].match.empty())) __builtin_trap();
    if (i < lines.size()) continue;
    const std::string prefix = "/etc/ssh/sshd_config:";
    if (all[i].match.rfind(prefix, 0) != 0) __builtin_trap();
    if (std::stoul(all[i].match.substr(prefix.size())) >= all[i].line) __builtin_trap();
  }
  // Every Include names one file that sets a line, then has its own Match
  // block: its first line is in the Include's block (or none), its last
  // in its own Match block, which never reaches past the file.
  const certgate::cafetch::IncludeExpander one = [](const std::string&) {
    return std::vector<certgate::cafetch::ConfigFile>{
        {"/etc/ssh/inc.conf", "TrustedUserCAKeys /i\nMatch User x\nBanner /j\n"}};
  };
  for (const certgate::cafetch::ConfigLine& line :
       certgate::cafetch::ConfigLines("/etc/ssh/sshd_config", text, one, /*with_match=*/true)) {
    if (line.file != "/etc/ssh/inc.conf") {
      if (line.match.rfind("/etc/ssh/inc.conf", 0) == 0) __builtin_trap();
      continue;
    }
    if (line.line == 1 && line.match.rfind("/etc/ssh/inc.conf", 0) == 0) __builtin_trap();
    if (line.line == 3 && (line.match != "/etc/ssh/inc.conf:2" || line.match_all)) __builtin_trap();
  }
  const std::vector<certgate::cafetch::Directive> wanted = {{"AuthorizedPrincipalsCommand", "/x %u"},
                                                            {"TrustedUserCAKeys", "/x"},
                                                            {"CASignatureAlgorithms", "+ssh-rsa"}};
  const certgate::cafetch::EffectiveConfig effective = certgate::cafetch::ParseEffectiveConfig(text);
  (void)certgate::cafetch::VerifyEffective(effective, wanted, lines);
  // With the Match blocks, in both scopes: a "Match all" line is looked
  // at, and another Match block's value may be taken as that block's.
  (void)certgate::cafetch::VerifyEffective(effective, wanted, all);
  (void)certgate::cafetch::VerifyEffective(effective, wanted, all, certgate::cafetch::DumpScope::kRootFromLoopback);
  // What cafetch's installed lines say about SHA-1: only ever from a line
  // naming ssh-rsa, and never from a block that a rewrite replaced by one
  // without it.
  const bool sha1_drop_in = certgate::cafetch::AcceptsSha1Rsa(text, /*drop_in=*/true);
  const bool sha1_block = certgate::cafetch::AcceptsSha1Rsa(text, /*drop_in=*/false);
  if ((sha1_drop_in || sha1_block) && text.find("ssh-rsa") == std::string_view::npos) __builtin_trap();
  const std::string body = certgate::cafetch::RenderDirectives({"TrustedUserCAKeys /x"});
  auto once = certgate::cafetch::RewriteMainConfig(text, body);
  if (!once) return 0;
  if (certgate::cafetch::AcceptsSha1Rsa(*once, /*drop_in=*/false)) __builtin_trap();
  const std::string sha1_body = certgate::cafetch::RenderDirectives({"CASignatureAlgorithms +ssh-rsa"});
  auto with_sha1 = certgate::cafetch::RewriteMainConfig(text, sha1_body);
  if (!with_sha1 || !certgate::cafetch::AcceptsSha1Rsa(*with_sha1, /*drop_in=*/false)) __builtin_trap();
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
