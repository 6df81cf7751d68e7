// Issuer answers -> the normalised list of CA keys sshd will trust.
#ifndef CERTGATE_CAFETCH_ISSUERS_H_
#define CERTGATE_CAFETCH_ISSUERS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cafetch/config.h"
#include "cafetch/fetcher.h"
#include "core/result.h"
#include "core/ssh_key.h"

namespace certgate::cafetch {

// kMaxCaKeys caps how many distinct keys one answer may list.
inline constexpr size_t kMaxCaKeys = 64;

// CaKey is one CA public key with its comment. The comment holds only
// printable characters (no control characters), so
// core::FormatPublicKeyLine(key, comment) is a line sshd parses.
struct CaKey {
  core::PublicKey key;
  std::string comment;
};

// ParseIssuerAnswer normalises |body| as |type| answers (see
// man/cafetch.yaml.5, ISSUER ANSWERS):
// - vault: key line(s) (text/plain), or JSON whose data.public_key is a key
//   line;
// - step: JSON object whose "userKey" is an array of base64 key blobs (or
//   whole key lines); other members are ignored;
// - akeyless: JSON object whose "ssh" is a key line or a bare base64 blob;
// - cyberark: key lines, or a JSON array of key-line strings, or a JSON
//   object with exactly one of "publicKeys", "public_keys", "keys" (array of
//   key-line strings) or "publicKey", "public_key", "key" (one key line);
// - teleport: lines "cert-authority keytype base64 [comment]" (the prefix is
//   stripped; no other option is allowed; a line without it is accepted);
//   the `clustername=...` comment is kept;
// - url, file: key lines.
// Key lines: `keytype base64 [comment]`, blank lines and `#` lines ignored,
// CRLF accepted. Any malformed entry, a certificate, an unsupported type
// (ssh-dss, named as DSA), options or a known_hosts marker before the type
// (named as such), a type differing from the blob's, a control character, or more than
// kMaxCaKeys keys rejects the whole answer (kBadFormat, kBadEncoding,
// kUnsupportedType, kTypeMismatch, kTooLarge); no key at all is kBadFormat.
// Duplicates (same blob) are dropped, the first comment kept; order is the
// issuer's.
core::Result<std::vector<CaKey>> ParseIssuerAnswer(IssuerType type, std::string_view body);

// FetchOutcome is one successful round against the issuer.
struct FetchOutcome {
  // not_modified: the issuer answered 304; |keys| is empty and the keys of
  // the last successful answer (kept by the caller) still hold.
  bool not_modified = false;
  std::vector<CaKey> keys;
  // validators to store (in state_dir) and pass back next time.
  Validators validators;
};

// FetchCaKeys fetches the issuer's answer (conditionally on |previous|),
// verifies bundle_signature over the exact body when configured (the
// signature is fetched only when the body is new), and parses it with
// ParseIssuerAnswer. Any failure is an error (nothing partial): the
// FetchIssuerAnswer / HttpsFetch errors, kBadSignature and the
// ParseIssuerAnswer errors.
core::Result<FetchOutcome> FetchCaKeys(const Config& config, const Validators& previous);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_ISSUERS_H_
