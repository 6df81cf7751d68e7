// Verifying detached SSH signatures (OpenSSH PROTOCOL.sshsig), as made by
// `ssh-keygen -Y sign -n certgate-ca-bundle -f KEY FILE`.
#ifndef CERTGATE_CAFETCH_SSHSIG_H_
#define CERTGATE_CAFETCH_SSHSIG_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/ssh_key.h"

namespace certgate::cafetch {

// kBundleNamespace is the SSHSIG namespace of a signed CA bundle.
inline constexpr std::string_view kBundleNamespace = "certgate-ca-bundle";
// kMaxArmoredSignature caps the armored text (an RSA-16384 signature fits).
inline constexpr size_t kMaxArmoredSignature = 16 * 1024;

// SshSig is a parsed (not yet verified) SSHSIG blob.
struct SshSig {
  core::PublicKey key;              // the signer's public key
  std::string signature_namespace;  // e.g. "certgate-ca-bundle"
  std::string hash_algorithm;       // "sha256" or "sha512"
  std::vector<uint8_t> signature;   // the SSH signature blob
};

// ParseArmoredSshSig decodes "-----BEGIN SSH SIGNATURE-----" ... "-----END
// SSH SIGNATURE-----" (base64 lines between, CRLF and surrounding blank
// lines accepted, nothing else) and parses the blob: magic "SSHSIG",
// version 1, publickey (a plain key), namespace, reserved (ignored, as
// OpenSSH does), hash_algorithm (sha256 | sha512), signature; no trailing
// bytes. Errors: kBadFormat, kBadEncoding, kTruncated, kTrailingData,
// kTooLarge, kUnsupportedType.
core::Result<SshSig> ParseArmoredSshSig(std::string_view armored);

// VerifySshSig checks that |armored| is a valid signature over |message| in
// namespace |signature_namespace| by a key in |allowed_signers| (compared by
// blob). Signed data: "SSHSIG" || string namespace || string reserved ||
// string hash_alg || string H(message). Returns the signer's key, or
// kBadSignature (wrong namespace, signer not allowed, signature invalid) or
// the ParseArmoredSshSig errors.
core::Result<core::PublicKey> VerifySshSig(std::string_view armored,
                                           std::span<const uint8_t> message,
                                           std::string_view signature_namespace,
                                           const std::vector<core::PublicKey>& allowed_signers);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_SSHSIG_H_
