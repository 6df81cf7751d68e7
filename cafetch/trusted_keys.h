// The TrustedUserCAKeys file cafetch writes, and the check of every line
// the way sshd reads it before anything is installed.
#ifndef CERTGATE_CAFETCH_TRUSTED_KEYS_H_
#define CERTGATE_CAFETCH_TRUSTED_KEYS_H_

#include <string>
#include <string_view>
#include <vector>

#include "cafetch/issuers.h"
#include "core/result.h"

namespace certgate::cafetch {

// kTrustedKeysHeader starts the first line of every key file cafetch
// writes (RenderTrustedKeys).
inline constexpr std::string_view kTrustedKeysHeader = "# Written by cafetch (certgate) from ";

// WrittenByCafetch returns whether |text| starts with kTrustedKeysHeader:
// a key file cafetch wrote, whose keys it trusted (not an admin's own file
// from before cafetch took over).
bool WrittenByCafetch(std::string_view text);

// RenderTrustedKeys returns the file's text: a '#' header naming certgate
// and |source|, then one bare `keytype base64 [comment]` line per key, in
// the given order. A comment keeps its printable UTF-8 except '#'; each
// '#', control (C0, DEL, C1, bidirectional) and byte of malformed UTF-8
// becomes one '_' (sshd reads past all of them, but a person reads the
// file).
// Fails with kBadFormat if |keys| is empty: "trust nothing" is never a
// result of a fetch.
core::Result<std::string> RenderTrustedKeys(const std::vector<CaKey>& keys,
                                            std::string_view source);

// CheckTrustedKeys checks |text| line by line as sshd reads
// TrustedUserCAKeys: blank lines and '#' comments are skipped, every other
// line must be a plain public key of a supported type whose named type
// matches its blob (one line sshd cannot parse silently disables every CA
// after it). Returns the number of keys, or kBadFormat naming the line.
core::Result<size_t> CheckTrustedKeys(std::string_view text);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_TRUSTED_KEYS_H_
