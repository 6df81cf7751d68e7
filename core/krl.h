// OpenSSH Key Revocation Lists (PROTOCOL.krl, krl.c), as sshd's RevokedKeys
// reads them, plus the plain public-key-list form RevokedKeys also accepts.
#ifndef CERTGATE_CORE_KRL_H_
#define CERTGATE_CORE_KRL_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/certificate.h"
#include "core/result.h"
#include "core/ssh_key.h"

namespace certgate::core {

// Krl is a parsed revocation list; it owns its data.
class Krl {
 public:
  // IsCertificateRevoked returns true if |cert| is revoked by serial
  // (single, range or bitmap), by key id, under its CA's section (or the
  // wildcard CA section), or if its certified key or its CA key is revoked
  // as an explicit key, SHA1 or SHA256 fingerprint. This is sshd's check
  // (auth2-pubkey.c checks both the key and its CA against RevokedKeys).
  bool IsCertificateRevoked(const Certificate& cert) const;
  // IsKeyRevoked returns true if the plain |key| is revoked explicitly or
  // by SHA1/SHA256 fingerprint.
  bool IsKeyRevoked(const PublicKey& key) const;

  // SerialRange revokes lo..hi inclusive.
  struct SerialRange {
    uint64_t lo;
    uint64_t hi;
  };
  // SerialBitmap revokes offset + i for every bit i set in |bits|, bit 0
  // being the lowest bit of the last byte (an mpint, as krl.c writes it).
  struct SerialBitmap {
    uint64_t offset = 0;
    std::vector<uint8_t> bits;
  };
  struct CaSection {
    bool any_ca = false;           // empty CA key: applies to every CA
    std::vector<uint8_t> ca_blob;  // plain CA key blob
    std::vector<SerialRange> serials;  // sorted, merged
    std::vector<SerialBitmap> bitmaps;
    std::vector<std::string> key_ids;  // sorted
  };
  std::vector<CaSection> sections;
  std::vector<std::vector<uint8_t>> revoked_blobs;    // sorted
  std::vector<std::vector<uint8_t>> revoked_sha1;     // sorted digests
  std::vector<std::vector<uint8_t>> revoked_sha256;   // sorted digests
};

// ParseKrl parses a binary KRL (magic "SSHKRL\n\0", format version 1) with
// krl.c's rules: sections in any order, every subsection consumed exactly,
// serial 0 and inverted ranges refused, unknown sections refused (unknown
// non-critical extensions skipped), trailing signature sections skipped
// (sshd does not check them) and nothing but signatures after the first.
// If the data does not start with the magic it is read as sshd's fallback:
// a text list of public keys (or certificates, meaning their keys), one per
// line, '#' comments and blank lines ignored; a line that is not a key is an
// error (sshd's sshkey_in_file fails too, which auth_key_is_revoked treats as
// revoked: either way no certificate gets through).
// Errors: kTruncated, kBadFormat, kTrailingData, kTooLarge.
Result<Krl> ParseKrl(std::span<const uint8_t> data);

// LoadKrlFile reads and parses |path| (at most 64 MiB). An unreadable file
// is an error: like sshd, the caller then refuses every login.
Result<Krl> LoadKrlFile(const std::string& path);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_KRL_H_
