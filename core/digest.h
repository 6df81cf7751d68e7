// The one place core (and cafetch) computes SHA-1, SHA-256 and SHA-512 with
// OpenSSL: every other file asks here instead of calling EVP itself.
#ifndef CERTGATE_CORE_DIGEST_H_
#define CERTGATE_CORE_DIGEST_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "core/result.h"

namespace certgate::core {

// Sha1Digest, Sha256Digest and Sha512Digest hold one digest of each size.
using Sha1Digest = std::array<uint8_t, 20>;
using Sha256Digest = std::array<uint8_t, 32>;
using Sha512Digest = std::array<uint8_t, 64>;

// Sha256 returns the SHA-256 digest of |data|, or kInternal if OpenSSL
// fails (callers decide whether that fails closed).
Result<Sha256Digest> Sha256(std::span<const uint8_t> data);

// Sha256 returns the SHA-256 digest of the concatenation of |parts|, hashed
// one after the other without copying them together, or kInternal if
// OpenSSL fails. The spans need only live for the call.
Result<Sha256Digest> Sha256(std::initializer_list<std::span<const uint8_t>> parts);

// Sha512 returns the SHA-512 digest of |data|, or kInternal if OpenSSL
// fails.
Result<Sha512Digest> Sha512(std::span<const uint8_t> data);

// Sha1 returns the SHA-1 digest of |data|, or kInternal if OpenSSL fails.
// It exists only to match OpenSSH's SHA-1 key fingerprints (KRL section 3);
// never use it for anything new.
Result<Sha1Digest> Sha1(std::span<const uint8_t> data);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_DIGEST_H_
