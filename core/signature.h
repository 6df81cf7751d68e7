// Verification of SSH signatures (RFC 4253 §6.6, RFC 8332, RFC 5656, RFC
// 8709, PROTOCOL.u2f) with OpenSSL 3.
#ifndef CERTGATE_CORE_SIGNATURE_H_
#define CERTGATE_CORE_SIGNATURE_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"
#include "core/ssh_key.h"

namespace certgate::core {

// SignatureInfo describes a signature that verified.
struct SignatureInfo {
  // algorithm is the name inside the signature blob: "ssh-rsa" (SHA-1),
  // "rsa-sha2-256", "rsa-sha2-512", "ecdsa-sha2-nistp256", "ssh-ed25519",
  // "sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com", ...
  std::string algorithm;
  // sk_flags and sk_counter are the authenticator's flags and counter for
  // sk-* signatures (0 otherwise).
  uint8_t sk_flags = 0;
  uint32_t sk_counter = 0;
};

// IsSha1Rsa returns true for the "ssh-rsa" signature algorithm (SHA-1).
inline bool IsSha1Rsa(const SignatureInfo& info) { return info.algorithm == "ssh-rsa"; }

// SignatureMemo remembers certificates whose CA signature verified, by the
// SHA-256 digest of the whole certificate blob (which holds the CA key, the
// signed data and the signature). Verification is a pure function of those
// bytes, so a blob seen to verify once verifies again: sshd passes the same
// certificate to the helpers five times per login (principals-cmd twice,
// keys-cmd three times) and the service checks the signature once.
// Implementations must only return true for digests given to Remember.
class SignatureMemo {
 public:
  using Digest = std::array<uint8_t, 32>;
  virtual ~SignatureMemo() = default;
  virtual bool Contains(const Digest& digest) = 0;
  virtual void Remember(const Digest& digest) = 0;
};

// VerifySignature checks that |signature| (an SSH signature blob: string
// algorithm, then the algorithm's data, which must be consumed exactly) is a
// valid signature by |key| over |data|. The algorithm must belong to the
// key's type (any of the three RSA algorithms for an RSA key; the webauthn
// sk variant, which ssh-keygen never makes for a CA, is refused). An RSA
// signature shorter than the modulus is left-padded, a longer one is
// kBadFormat. For sk-* keys the verified message is SHA256(application) ||
// flags || counter || SHA256(data) (PROTOCOL.u2f); flags are reported, not
// enforced. Returns the SignatureInfo, or kBadSignature, kTypeMismatch,
// kBadFormat, kTruncated or kTrailingData. |known_good|: these exact bytes
// verified before (SignatureMemo): every check but the cryptographic one
// is made, with the same SignatureInfo.
Result<SignatureInfo> VerifySignature(const PublicKey& key,
                                      std::span<const uint8_t> signature,
                                      std::span<const uint8_t> data, bool known_good = false);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_SIGNATURE_H_
