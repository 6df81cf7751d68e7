// The only code that formats lines sshd will parse: AuthorizedPrincipals-
// Command output and AuthorizedKeysCommand output.
#ifndef CERTGATE_CORE_SSHD_OUTPUT_H_
#define CERTGATE_CORE_SSHD_OUTPUT_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/policy_eval.h"
#include "core/ssh_key.h"

namespace certgate::core {

// IsPrintablePrincipal returns true if |principal| may be printed for sshd:
// 1 to 1024 bytes of well-formed UTF-8, no space, tab, '#', '"', ',', '\\',
// nor any character IsShownSafely refuses (C0 and C1 controls, DEL,
// bidirectional controls, line and paragraph separators): the principal
// also goes to the log and to the admin's terminal. sshd reads a principals line up to '#' as text, takes
// the principal after the last blank and everything before it as options;
// inside principals="..." a comma separates names, a quote ends the value
// and \" is a quote inside it (so a last principal ending in '\\' would
// swallow the closing quote). Both helpers refuse the same set, so that
// principals-cmd and keys-cmd make the same decision.
bool IsPrintablePrincipal(std::string_view principal);

// FormatPrincipalsOutput returns the AuthorizedPrincipalsCommand answer
// for |grants|: one line per grant, "OPTIONS PRINCIPAL" or "PRINCIPAL",
// options joined with ','. Grants must already be printable.
std::string FormatPrincipalsOutput(const std::vector<Grant>& grants);

// FormatCertAuthorityLines returns the AuthorizedKeysCommand answer for a
// certificate: one `cert-authority,principals="P1,P2"[,OPTIONS] CA-KEY` line
// per distinct option set, in the order the sets first appear in |grants|.
std::string FormatCertAuthorityLines(const std::vector<Grant>& grants, const PublicKey& ca_key);

// FormatAuthorizedKeysLine returns `[OPTIONS ]TYPE BASE64[ COMMENT]` for a
// policy user_keys entry.
std::string FormatAuthorizedKeysLine(const AuthorizedKeysLine& line);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_SSHD_OUTPUT_H_
