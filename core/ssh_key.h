// Public keys in OpenSSH's wire and text forms.
#ifndef CERTGATE_CORE_SSH_KEY_H_
#define CERTGATE_CORE_SSH_KEY_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/wire_reader.h"

namespace certgate::core {

// KeyType is a public-key algorithm OpenSSH makes keys and certificates of.
// DSA is not supported (removed from OpenSSH 10.1).
enum class KeyType {
  kRsa,
  kEcdsaP256,
  kEcdsaP384,
  kEcdsaP521,
  kEd25519,
  kSkEcdsaP256,
  kSkEd25519,
};

// KeyTypeName returns the plain key name, e.g. "ssh-ed25519".
std::string_view KeyTypeName(KeyType type);
// CertTypeName returns the certificate name, e.g.
// "ssh-ed25519-cert-v01@openssh.com".
std::string_view CertTypeName(KeyType type);
// KeyTypeFromName maps a plain key name to its type, or nullopt.
std::optional<KeyType> KeyTypeFromName(std::string_view name);
// KeyTypeFromCertName maps a certificate name to its key type, or nullopt.
// The algorithm aliases "rsa-sha2-256-cert-v01@openssh.com" and
// "rsa-sha2-512-cert-v01@openssh.com" map to kRsa.
std::optional<KeyType> KeyTypeFromCertName(std::string_view name);
// IsCertTypeName returns true for any name KeyTypeFromCertName accepts.
bool IsCertTypeName(std::string_view name);

// kMinRsaBits and kMaxRsaBits are OpenSSH's bounds on RSA modulus size.
inline constexpr unsigned kMinRsaBits = 1024;
inline constexpr unsigned kMaxRsaBits = 16384;

// PublicKey is a validated plain public key. It owns its bytes.
struct PublicKey {
  KeyType type = KeyType::kEd25519;
  // blob is the canonical plain-key wire blob (string name, then fields);
  // for a key taken from a certificate it is rebuilt in plain form.
  std::vector<uint8_t> blob;
  // RSA: magnitudes of e and n, big-endian without leading zeros.
  std::vector<uint8_t> rsa_e;
  std::vector<uint8_t> rsa_n;
  // ECDSA and sk-ECDSA: uncompressed point Q (0x04 || X || Y).
  std::vector<uint8_t> ec_point;
  // Ed25519 and sk-Ed25519: the 32-byte public key.
  std::vector<uint8_t> ed25519;
  // sk-*: the FIDO application string, e.g. "ssh:".
  std::string application;

  // RsaBits returns the modulus size in bits (0 for other types).
  unsigned RsaBits() const;
  // TypeName returns KeyTypeName(type).
  std::string_view TypeName() const { return KeyTypeName(type); }
  bool operator==(const PublicKey& other) const { return blob == other.blob; }
};

// ParseKeyFields reads the fields that follow the algorithm name for |type|
// (also used for a certificate's head, after its nonce) and validates them:
// mpints minimal and non-negative (kBadEncoding), RSA size within
// [kMinRsaBits, kMaxRsaBits] (kBadFormat below, kTooLarge above) and e odd,
// > 1 and no longer than n; the EC curve name matching |type|
// (kTypeMismatch) and Q uncompressed, on its curve, of the right order and
// with both coordinates longer than half the order's bits and below
// order - 1, as sshkey_ec_validate_public wants (kBadFormat); Ed25519
// exactly 32 bytes; an sk application string without NUL and at most
// 1 KiB. Missing bytes give kTruncated. On success |out|
// holds the key with |blob| rebuilt in plain form.
Status ParseKeyFields(KeyType type, WireReader* reader, PublicKey* out);

// ParsePublicKeyBlob parses a whole plain public-key blob. It fails with
// kUnsupportedType for certificates and unknown names, kTrailingData for
// extra bytes, and the ParseKeyFields errors.
Result<PublicKey> ParsePublicKeyBlob(std::span<const uint8_t> blob);

// AuthorizedKey is one `keytype base64 [comment]` text line, parsed.
struct AuthorizedKey {
  PublicKey key;
  std::string comment;
};

// ParsePublicKeyLine parses `keytype base64 [comment]` exactly as sshd reads
// a TrustedUserCAKeys line: no options prefix, the type named on the line
// must equal the type inside the blob, plain keys only. Leading and trailing
// blanks are ignored; the comment may contain spaces but no line break
// (CR or LF) or NUL (kBadFormat).
Result<AuthorizedKey> ParsePublicKeyLine(std::string_view line);

// NextKeyFileLine takes the next line off |text| (without its '\n') and
// counts it in |line_no|; it returns false at the end. Blank lines and '#'
// comments are skipped, and leading blanks removed, as sshd reads key files
// (TrustedUserCAKeys, RevokedKeys key lists).
bool NextKeyFileLine(std::string_view* text, size_t* line_no, std::string_view* line);

// FormatPublicKeyLine returns `keytype base64` (plus " comment" if not empty).
std::string FormatPublicKeyLine(const PublicKey& key, std::string_view comment = {});

// Sha256Fingerprint returns "SHA256:" and the unpadded base64 of the SHA-256
// of |blob|, exactly as `ssh-keygen -l` prints it.
std::string Sha256Fingerprint(std::span<const uint8_t> blob);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_SSH_KEY_H_
