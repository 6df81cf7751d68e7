// Reading and rewriting sshd_config the way cafetch.md's "What safely
// means" item 4 requires: cafetch owns either one early drop-in file or one
// marked block placed before the first Match line, and never touches any
// other byte.
#ifndef CERTGATE_CAFETCH_SSHD_CONFIG_H_
#define CERTGATE_CAFETCH_SSHD_CONFIG_H_

#include <functional>
#include <optional>
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
// (tokens end at a blank or '='; one that starts with '"' is unquoted, as
// sshd reads it: "Match" is match), or "" for a blank or comment line.
std::string Keyword(std::string_view line);

// Arguments returns the arguments after the keyword of an sshd_config
// line the way sshd (8.7+, misc.c argv_split) splits them: words separated
// by blanks; '"' or '\'' quote a word (or part of one) that may hold
// blanks; a backslash makes the next quote, backslash or (outside quotes)
// blank literal; a word that starts with '#' ends the line. A quote left
// open makes the line invalid for sshd: nullopt.
std::optional<std::vector<std::string>> Arguments(std::string_view line);

// ConfigLine is one keyword line of an sshd configuration: the |file| it
// is in, its 1-based |line| number, its |keyword| (lower-cased, as
// Keyword returns it) and |args| (as Arguments returns them).
struct ConfigLine {
  std::string file;
  size_t line = 0;
  std::string keyword;
  std::vector<std::string> args;
  // match: for a line inside a Match block (ConfigLines |with_match|), the
  // Where() of its Match line; "" outside one.
  std::string match = {};
  // match_all: that Match line is "Match all", which selects every
  // connection.
  bool match_all = false;
  // Where returns "file:line".
  std::string Where() const { return file + ":" + std::to_string(line); }
};

// ConfigFile is a file an Include names: its path and its text.
struct ConfigFile {
  std::string path;
  std::string text;
};

// IncludeExpander returns the files an absolute Include pattern names, in
// the order sshd reads them (glob(3) order); none for a pattern that
// matches nothing or files that cannot be read.
using IncludeExpander = std::function<std::vector<ConfigFile>(const std::string& pattern)>;

// kMaxIncludeDepth is sshd's limit on nested Include (servconf.c
// SERVCONF_MAX_DEPTH); kMaxIncludedFiles bounds the files ConfigLines
// reads in all (a file that includes itself through a glob).
inline constexpr int kMaxIncludeDepth = 16;
inline constexpr size_t kMaxIncludedFiles = 1024;

// ConfigLines returns the keyword lines sshd reads for every connection
// from the main file |main_path| (text |main_text|), in sshd's order: the
// lines of each file up to its first Match line (a Match block in an
// included file ends with that file), with the files each Include names
// (|expand|; a relative pattern is resolved against /etc/ssh, as sshd
// does) read in place of the Include line. Lines sshd could not split
// (an open quote) are left out. It locates lines for messages and finds
// the Match blocks that set cafetch's keywords; it never fails. With
// |with_match|, the lines of the Match blocks are in it too, in file order
// (their |match| and |match_all| set). An Include inside a Match block is
// followed too: as in sshd, the included lines are in that block until
// the included file's own first Match line.
std::vector<ConfigLine> ConfigLines(const std::string& main_path, std::string_view main_text,
                                    const IncludeExpander& expand, bool with_match = false);

// IncludesDropInDirectory returns true if |text| (a main sshd_config in
// directory |config_dir|, e.g. "/etc/ssh") has, before its first Match
// line, an Include whose arguments name `sshd_config.d/*.conf` relative to
// /etc/ssh (as sshd resolves a relative Include) or |config_dir|, or
// absolutely as |config_dir|/sshd_config.d/*.conf.
bool IncludesDropInDirectory(std::string_view text, std::string_view config_dir);

// RedirectDropInInclude returns |text| with every Include argument that
// IncludesDropInDirectory recognises replaced by |glob| (e.g.
// "/var/lib/certgate/candidates/cafetch-candidate-XXXXXX/sshd_config.d/*.conf");
// only those Include lines are rewritten, every other byte is kept.
// cafetch checks a candidate drop-in with `sshd -t -f` on the result
// before installing it.
std::string RedirectDropInInclude(std::string_view text, std::string_view config_dir,
                                  std::string_view glob);

// RenderDirectives returns |lines| (e.g. "TrustedUserCAKeys /etc/ssh/...")
// with a header comment, as the drop-in's whole text or a block's body.
std::string RenderDirectives(const std::vector<std::string>& lines);

// RewriteMainConfig returns |text| with cafetch's marked block holding
// |body|. A block already before the first Match line is replaced where it
// is (lines an admin wrote after it stay after it); a missing block, or one
// after the first Match, is placed just before the first Match line (at the
// end when there is none). Every byte outside the block is kept. Idempotent: rewriting the result with the same body returns it
// unchanged. Fails with kBadFormat on a BEGIN without END, an END without
// BEGIN, or two blocks (cafetch will not guess what an admin meant).
core::Result<std::string> RewriteMainConfig(std::string_view text, std::string_view body);

// BlockLine returns the line number (from 1) of the first "# BEGIN
// certgate" line in |text|, or 0 when there is none.
size_t BlockLine(std::string_view text);

// ListContains returns true if the comma-separated |list| (an algorithm
// list as sshd_config and sshd -T write it) holds |item|.
bool ListContains(std::string_view list, std::string_view item);

// AcceptsSha1Rsa returns true if cafetch's own lines in |text| (the whole
// text of its drop-in when |drop_in|, else the marked block of a main file)
// tell sshd to accept SHA-1 `ssh-rsa` CA signatures: a CASignatureAlgorithms
// line naming ssh-rsa, which PlanDirectives writes only with accept_sha1_rsa.
bool AcceptsSha1Rsa(std::string_view text, bool drop_in);

// kPrincipalsCommand and kPrincipalsCommandUser are what cafetch writes
// with sshd.manage_principals_command (fixed: the package installs the
// helper there and creates the user); kPrincipalsCommandProgram is the
// command's program.
inline constexpr char kPrincipalsCommandProgram[] = "/usr/libexec/certgate/principals-cmd";
inline constexpr char kPrincipalsCommand[] = "/usr/libexec/certgate/principals-cmd %u %t %k";
inline constexpr char kPrincipalsCommandUser[] = "certgate";

// SshdVersion is an OpenSSH release number, e.g. 9.2.
struct SshdVersion {
  int major = 0;
  int minor = 0;
  // AtLeast returns true if this release is |major|.|minor| or later.
  bool AtLeast(int other_major, int other_minor) const {
    return major > other_major || (major == other_major && minor >= other_minor);
  }
};

// ParseSshdVersion finds "OpenSSH_X.Y" in what `sshd -V` (or an older
// sshd's usage message) prints, e.g. "OpenSSH_9.2p1 Debian-2+deb12u3,
// OpenSSL 3.0.11 19 Sep 2023". Fails with kBadFormat if there is none.
core::Result<SshdVersion> ParseSshdVersion(std::string_view text);

// Directive is one sshd_config line cafetch writes: |keyword| as written
// (e.g. "TrustedUserCAKeys") and its |value|.
struct Directive {
  std::string keyword;
  std::string value;
  // Line returns "keyword value".
  std::string Line() const { return keyword + " " + value; }
};

// DirectivePlan is what decides the lines cafetch writes.
struct DirectivePlan {
  std::string trusted_user_ca_keys;  // absolute path
  bool manage_principals_command = false;
  // accept_sha1_rsa: the trusted CA signs with SHA-1 `ssh-rsa` and sshd must
  // be told to accept it (already resolved from auto/true/false).
  bool accept_sha1_rsa = false;
  SshdVersion version;
};

// PlanDirectives returns the directives for |plan|, in the order they must
// be written: AuthorizedPrincipalsCommand (+User) first, since OpenSSH 9.2
// drops it when an AuthorizedKeysCommand comes before it; then
// TrustedUserCAKeys; then, with accept_sha1_rsa, `CASignatureAlgorithms
// +ssh-rsa` from 8.2 and, from 8.8, `PubkeyAcceptedAlgorithms
// +ssh-rsa-cert-v01@openssh.com` (the keyword's name since 8.5, so no version
// that needs it knows only the old PubkeyAcceptedKeyTypes). Nothing for
// SHA-1 where the version accepts it by default.
std::vector<Directive> PlanDirectives(const DirectivePlan& plan);

// DirectiveLines returns Line() of each directive.
std::vector<std::string> DirectiveLines(const std::vector<Directive>& directives);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_SSHD_CONFIG_H_
