// Reading and rewriting sshd_config the way cafetch.md's "What safely
// means" item 4 requires: cafetch owns either one early drop-in file or one
// marked block placed before the first Match line, and never touches any
// other byte.
#ifndef CERTGATE_CAFETCH_SSHD_CONFIG_H_
#define CERTGATE_CAFETCH_SSHD_CONFIG_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace certgate::cafetch {

// kBlockBegin and kBlockEnd delimit cafetch's block in a main sshd_config.
inline constexpr char kBlockBegin[] = "# BEGIN certgate";
inline constexpr char kBlockEnd[] = "# END certgate";
// kDropInName is cafetch's drop-in: early in lexical order, since sshd
// takes the first value of most keywords.
inline constexpr char kDropInName[] = "05-certgate.conf";

// Keyword returns the first token of an sshd_config line, lower-cased
// (tokens end at a blank or '='), or "" for a blank or comment line.
std::string Keyword(std::string_view line);

// IncludesDropInDirectory returns true if |text| (a main sshd_config in
// directory |config_dir|, e.g. "/etc/ssh") has, before its first Match
// line, an Include whose arguments name `sshd_config.d/*.conf` relative to
// /etc/ssh (as sshd resolves a relative Include) or |config_dir|, or
// absolutely as |config_dir|/sshd_config.d/*.conf.
bool IncludesDropInDirectory(std::string_view text, std::string_view config_dir);

// RenderDirectives returns |lines| (e.g. "TrustedUserCAKeys /etc/ssh/...")
// with a header comment, as the drop-in's whole text or a block's body.
std::string RenderDirectives(const std::vector<std::string>& lines);

// RewriteMainConfig returns |text| with cafetch's marked block holding
// |body| placed just before the first Match line (at the end when there is
// none), replacing any block already present; every byte outside the block
// is kept. Idempotent: rewriting the result with the same body returns it
// unchanged. Fails with kBadFormat on a BEGIN without END, an END without
// BEGIN, or two blocks (cafetch will not guess what an admin meant).
core::Result<std::string> RewriteMainConfig(std::string_view text, std::string_view body);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_SSHD_CONFIG_H_
