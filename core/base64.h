// Strict base64 (RFC 4648 §4) as OpenSSH writes it: no whitespace, no
// line breaks, canonical padding, zero unused bits in the last quantum.
#ifndef CERTGATE_CORE_BASE64_H_
#define CERTGATE_CORE_BASE64_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace certgate::core {

// kMaxBase64Input caps what the helpers decode (a certificate with 256
// principals and an RSA-16384 key fits well below it).
inline constexpr size_t kMaxBase64Input = 64 * 1024;

// Base64Decode returns the bytes of |text|, or kBadEncoding for any
// character outside the alphabet, bad padding or non-zero trailing bits, and
// kTooLarge if |text| is longer than |max_input|.
Result<std::vector<uint8_t>> Base64Decode(std::string_view text,
                                          size_t max_input = kMaxBase64Input);

// Base64Encode returns the padded encoding of |bytes|.
std::string Base64Encode(std::span<const uint8_t> bytes);

// Base64EncodeUnpadded returns the encoding without '=' (as in fingerprints).
std::string Base64EncodeUnpadded(std::span<const uint8_t> bytes);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_BASE64_H_
