// Asking the installed sshd about a configuration: its version (-V), the
// syntax and host-key check (-t) and the effective values (-T), and the
// check that the values cafetch wrote are the ones sshd will use.
#ifndef CERTGATE_CAFETCH_SSHD_CHECK_H_
#define CERTGATE_CAFETCH_SSHD_CHECK_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cafetch/sshd_config.h"
#include "core/result.h"

namespace certgate::cafetch {

// kConnectionSpec is the -C argument for `sshd -T` in
// DumpScope::kRootFromLoopback: the values a root login from loopback
// would get.
inline constexpr char kConnectionSpec[] = "user=root,host=localhost,addr=127.0.0.1";

// DumpScope is which configuration `sshd -T` is asked to show.
enum class DumpScope {
  // kGlobal: `sshd -T` without -C: what every connection gets before a
  // Match block that selects some connections has its say. sshd 7.7 and
  // later apply "Match all" blocks to it; earlier ones do not.
  kGlobal,
  // kRootFromLoopback: `sshd -T -C kConnectionSpec`, the Match blocks that
  // select a root login from loopback applied too.
  kRootFromLoopback,
};

// DumpScopeFor returns kGlobal, except for sshd 7.7 to 8.0: those refuse
// `sshd -T` without -C when a Match line has a criterion (User, Address,
// ...; fixed in 8.1, bz#2858), so cafetch asks them for kRootFromLoopback.
DumpScope DumpScopeFor(const SshdVersion& version);

// DetectSshdVersion runs `BINARY -V` and parses its stderr (an sshd older
// than -V prints the version in its usage message, so the exit status is
// not checked). Errors: those of RunChild, or kBadFormat.
core::Result<SshdVersion> DetectSshdVersion(const std::string& binary);

// CheckSshdConfig runs `BINARY -t -f CONFIG`. Fails with kBadFormat (detail:
// sshd's first error line) unless sshd exits 0; kIo/kTimeout if it could
// not be run. sshd needs /run/sshd and readable host keys for this.
core::Status CheckSshdConfig(const std::string& binary, const std::string& config);

// EffectiveConfig is `sshd -T` output: lower-cased keyword and the rest of
// the line, in sshd's order (a keyword may repeat, e.g. listenaddress).
using EffectiveConfig = std::vector<std::pair<std::string, std::string>>;

// ParseEffectiveConfig splits `sshd -T` output into keyword/value pairs
// (keywords lower-cased: their case may change in later releases).
EffectiveConfig ParseEffectiveConfig(std::string_view text);

// DumpEffectiveConfig runs `BINARY -T -f CONFIG` (with -C kConnectionSpec
// for kRootFromLoopback) and parses it. Fails with kBadFormat unless sshd
// exits 0.
core::Result<EffectiveConfig> DumpEffectiveConfig(const std::string& binary, const std::string& config,
                                                  DumpScope scope = DumpScope::kGlobal);

// EffectiveValue returns the first value of |keyword| (lower case) in
// |effective|, or "" when absent.
std::string EffectiveValue(const EffectiveConfig& effective, std::string_view keyword);

// ReadConfigLines returns ConfigLines of the configuration whose main
// file is |main_path|, read as sshd reads it: symbolic links followed,
// each Include pattern expanded with glob(3). A file that cannot be read
// is left out (the lines only locate an admin's line in a message).
// |with_match| as for ConfigLines.
std::vector<ConfigLine> ReadConfigLines(const std::string& main_path, bool with_match = false);

// VerifyEffective checks that each of |wanted| is in effect for every
// connection: a path or command equal to what was written; a "+alg" list
// value containing alg. |effective| is `sshd -T` output in |scope|; |lines|
// (ConfigLines of the configuration checked, with or without its Match
// blocks; may be empty) locate the admin's line that wins, named as
// file:line in the message. Fails with kBadFormat naming the first
// directive that is not in effect: a line in a "Match all" block of
// |lines| that sets it to another value (it replaces cafetch's for every
// connection, whatever sshd -T shows), or a value other than cafetch's in
// |effective|, e.g. from an admin's earlier TrustedUserCAKeys (the first
// value wins), an AuthorizedPrincipalsCommand in a later drop-in (OpenSSH
// 9.2 takes its last value) or AuthorizedPrincipalsCommand shown as `none`
// (OpenSSH 9.2 drops it after an AuthorizedKeysCommand). Any other Match
// block is no failure: in kRootFromLoopback, a value that one of them
// sets, with cafetch's line first among the lines outside Match blocks, is
// taken as that block's (the caller warns about such blocks).
core::Status VerifyEffective(const EffectiveConfig& effective,
                             const std::vector<Directive>& wanted,
                             const std::vector<ConfigLine>& lines,
                             DumpScope scope = DumpScope::kGlobal);

// FileLineForm returns sshd's "PATH: line N: MESSAGE" as "PATH:N:
// MESSAGE", the FILE:LINE form of every other certgate message; any other
// text as it is.
std::string FileLineForm(std::string_view line);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_SSHD_CHECK_H_
