// authorized_keys options (sshd(8) "AUTHORIZED_KEYS FILE FORMAT",
// auth-options.c: sshauthopt_parse), checked before any is printed for sshd.
#ifndef CERTGATE_CORE_KEY_OPTIONS_H_
#define CERTGATE_CORE_KEY_OPTIONS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/ssh_key.h"

namespace certgate::core {

// CheckKeyOption validates one option as sshd would parse it: a known flag
// (agent-forwarding, no-agent-forwarding, port-forwarding,
// no-port-forwarding, pty, no-pty, user-rc, no-user-rc, X11-forwarding,
// no-X11-forwarding, restrict, no-touch-required, touch-required,
// verify-required, no-verify-required) or name="value" for command, environment, expiry-time,
// from, permitopen, permitlisten, tunnel, with a value sshd accepts (quotes
// balanced, only \" escapes, no newline or NUL; expiry-time a valid
// YYYYMMDD[HHMM[SS]][Z]; from a non-empty pattern list, no ADDRESS/BITS
// entry sshd's addr_match_list refuses; tunnel a number or "any").
// `cert-authority` and `principals=` are refused: certgate writes those
// itself. Returns Ok or kBadFormat with a one-line reason.
Status CheckKeyOption(std::string_view option);

// ForcedCommand returns the command |option| forces when it is
// command="..." (the name in any case), dequoted as sshd reads it, else
// nullopt. |option| is one option CheckKeyOption accepted.
std::optional<std::string> ForcedCommand(std::string_view option);

// IsKeyOptionName is true for a name sshd reads as an authorized_keys
// option (a flag or a valued option above, cert-authority or principals),
// compared case-insensitively as sshd does.
bool IsKeyOptionName(std::string_view name);

// CheckKeyOptionSet checks a whole list of already checked options as sshd
// does: at most one command, from and tunnel each. Returns Ok or
// kDuplicateOption.
Status CheckKeyOptionSet(const std::vector<std::string>& options);

// CheckGrantOptions checks a rule's `options`, which principals-cmd prints
// before each principal it grants (AuthorizedPrincipalsFile format): sshd
// cuts every such line at its first '#', so an option holding one would
// turn the rest of the line, the other options and the principal, into a
// comment. Returns Ok or kBadFormat.
Status CheckGrantOptions(const std::vector<std::string>& options);

// OptionsFieldLength returns the length of the options field |line|
// starts with: up to the first blank outside double quotes, as sshd's
// sshkey_advance_past_options reads it (\" is the only escape). npos if a
// quote is never closed.
size_t OptionsFieldLength(std::string_view line);

// SplitOptionsField splits an options field at the commas outside quotes
// and checks nothing else: an empty item or an unbalanced quote is
// kBadFormat.
Result<std::vector<std::string>> SplitOptionsField(std::string_view text);

// SplitKeyOptions splits an options field `a,b="x,y",c` at the commas that
// are outside quotes and checks each with CheckKeyOption, then the list with
// CheckKeyOptionSet. An empty item or an unbalanced quote is kBadFormat.
Result<std::vector<std::string>> SplitKeyOptions(std::string_view text);

// AuthorizedKeysLine is `[options] keytype base64 [comment]`, parsed.
struct AuthorizedKeysLine {
  std::vector<std::string> options;
  PublicKey key;
  std::string comment;
};

// ParseAuthorizedKeysLine parses one authorized_keys line the way sshd does
// (options first unless the line starts with a key type name), checking
// every option and the key. Used for policy `user_keys`.
Result<AuthorizedKeysLine> ParseAuthorizedKeysLine(std::string_view line);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_KEY_OPTIONS_H_
