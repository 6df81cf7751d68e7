// OpenSSH certificates (draft-miller-ssh-cert, formerly PROTOCOL.certkeys).
#ifndef CERTGATE_CORE_CERTIFICATE_H_
#define CERTGATE_CORE_CERTIFICATE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/signature.h"
#include "core/ssh_key.h"

namespace certgate::core {

// Limits, as OpenSSH's (SSHKEY_CERT_MAX_PRINCIPALS) or tighter.
inline constexpr size_t kMaxPrincipals = 256;
inline constexpr size_t kMaxOptions = 64;
inline constexpr size_t kMaxNameLength = 1024;  // key id, principal, option name
// kMaxSignedBytes bounds the signed part of a certificate: sshkey_verify
// refuses to check a signature over more (SSH_KEY_MAX_SIGN_DATA_SIZE).
inline constexpr size_t kMaxSignedBytes = size_t{1} << 20;

// kCertTypeUser and kCertTypeHost are the certificate's `type` field.
inline constexpr uint32_t kCertTypeUser = 1;
inline constexpr uint32_t kCertTypeHost = 2;

// CertOption is one critical option or extension. For a flag |value| is
// empty and |is_flag| true; otherwise |value| is the string inside the data
// (for an unknown extension whose data is not exactly one string, |value|
// holds the raw data bytes).
struct CertOption {
  std::string name;
  std::string value;
  bool is_flag = true;
};

// Certificate is a parsed, structurally valid certificate whose CA signature
// verified. It owns all its data.
struct Certificate {
  // type_name is the outer algorithm name, e.g. "ssh-ed25519-cert-v01@openssh.com".
  std::string type_name;
  std::vector<uint8_t> nonce;
  // key is the certified public key, in plain form.
  PublicKey key;
  uint64_t serial = 0;
  uint32_t cert_type = 0;
  std::string key_id;
  std::vector<std::string> principals;
  uint64_t valid_after = 0;
  uint64_t valid_before = 0;
  std::vector<CertOption> critical_options;  // in wire order
  std::vector<CertOption> extensions;        // in wire order, unknown ones kept
  PublicKey signature_key;                   // the CA key
  SignatureInfo signature;                   // how the CA signed
  std::vector<uint8_t> blob;                 // the whole certificate blob

  // Decoded critical options (each appears at most once).
  std::optional<std::string> force_command;
  std::optional<std::string> source_address;
  bool verify_required = false;

  // HasExtension returns true if an extension named |name| is present.
  bool HasExtension(std::string_view name) const;
};

// ParseCertificate parses a certificate blob with OpenSSH's rules
// (sshkey.c: cert_parse and sshkey_from_blob) and verifies the CA signature
// over every byte before the signature field:
//  - outer name must be a certificate type (the rsa-sha2-*-cert algorithm
//    aliases are not blob names: kUnsupportedType) and match the inner key
//    fields, which are validated as ParseKeyFields does;
//  - cert_type must be user or host (kNotUserCertificate otherwise);
//  - fields in wire order, child readers for principals and options, each
//    of which must end empty, and no trailing bytes;
//  - at most kMaxSignedBytes before the signature (kTooLarge);
//  - key id and principals contain no NUL (kBadEncoding), are at most
//    kMaxNameLength bytes; at most kMaxPrincipals, kMaxOptions per section
//    (kTooLarge);
//  - no option name twice in critical options, nor in extensions
//    (kDuplicateOption; the format forbids it; order is not enforced, as
//    sshd does not);
//  - known extensions are flags (data: kBadFormat); unknown ones are kept;
//  - unknown critical options: kUnknownCriticalOption; a flag with data or
//    a value option without a value: kBadFormat; source-address must parse
//    as a CIDR list;
//  - signature key must be a plain key (a certificate: kUnsupportedType);
//  - signature must verify (kBadSignature otherwise).
// It accepts host and user certificates (cert_type is reported); callers
// that need a user certificate check cert_type.
// With a |memo|, a blob it has seen verify skips only the cryptographic
// check, and a blob that verifies is remembered (SignatureMemo).
Result<Certificate> ParseCertificate(std::span<const uint8_t> blob, SignatureMemo* memo = nullptr);

// CheckUserCertificate checks a parsed certificate for a login: if
// |expected_type| is not empty the certificate's type must match it (the
// sshd %t token; rsa-sha2-*-cert aliases accepted for RSA): kTypeMismatch
// otherwise; and it must be a user certificate (kNotUserCertificate
// otherwise). The caller keeps the certificate for the denial's record.
Status CheckUserCertificate(const Certificate& cert, std::string_view expected_type);

// ParseCertificateBase64 decodes |base64| strictly, then ParseCertificate.
Result<Certificate> ParseCertificateBase64(std::string_view base64, SignatureMemo* memo = nullptr);

// ParseUserCertificate is ParseCertificateBase64, then CheckUserCertificate.
Result<Certificate> ParseUserCertificate(std::string_view base64,
                                         std::string_view expected_type,
                                         SignatureMemo* memo = nullptr);

// IsValidAt returns true if valid_after <= now < valid_before.
inline bool IsValidAt(const Certificate& cert, uint64_t now) {
  return cert.valid_after <= now && now < cert.valid_before;
}

// ParseCidrList checks an OpenSSH source-address value: a comma-separated
// list of IPv4/IPv6 addresses or CIDR blocks (addr_match_cidr_list rules:
// no empty entry, at most INET6_ADDRSTRLEN + 3 characters from
// [0-9a-fA-F.:/], mask within the family, host bits zero). Addresses must
// be what inet_pton accepts, so the short IPv4 forms ("10.1") that sshd's
// getaddrinfo takes are refused. Returns the entries, or kBadFormat.
Result<std::vector<std::string>> ParseCidrList(std::string_view list);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_CERTIFICATE_H_
