// OpenSSL helpers for tests that craft signatures by hand (signature_test,
// certificate_crafted_test): what ssh-keygen cannot be asked to produce.
#ifndef CERTGATE_TESTS_CRYPTO_TESTING_H_
#define CERTGATE_TESTS_CRYPTO_TESTING_H_

#include <openssl/evp.h>

#include <cstdint>
#include <span>
#include <vector>

namespace certgate::testing {

// Sha256 returns the SHA-256 digest of |data|.
std::vector<uint8_t> Sha256(std::span<const uint8_t> data);

// EvpSign signs |data| with |key| and digest |md| (nullptr for Ed25519),
// as EVP_DigestSign does; a failure fails the calling test.
std::vector<uint8_t> EvpSign(EVP_PKEY* key, const EVP_MD* md, std::span<const uint8_t> data);

// DerToSsh turns an OpenSSL DER ECDSA signature into SSH's
// `mpint r, mpint s` encoding.
std::vector<uint8_t> DerToSsh(const std::vector<uint8_t>& der);

}  // namespace certgate::testing

#endif  // CERTGATE_TESTS_CRYPTO_TESTING_H_
