// OpenSSL helpers for tests that craft signatures by hand (signature_test,
// certificate_crafted_test, certificate_differential_test): what ssh-keygen
// cannot be asked to produce.
#ifndef CERTGATE_TESTS_CRYPTO_TESTING_H_
#define CERTGATE_TESTS_CRYPTO_TESTING_H_

#include <openssl/evp.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/openssl_ptr.h"
#include "core/ssh_key.h"
#include "tests/testing.h"

namespace certgate::testing {

// Sha256 returns the SHA-256 digest of |data|.
std::vector<uint8_t> Sha256(std::span<const uint8_t> data);

// EvpSign signs |data| with |key| and digest |md| (nullptr for Ed25519),
// as EVP_DigestSign does; a failure fails the calling test.
std::vector<uint8_t> EvpSign(EVP_PKEY* key, const EVP_MD* md, std::span<const uint8_t> data);

// DerToSsh turns an OpenSSL DER ECDSA signature into SSH's
// `mpint r, mpint s` encoding.
std::vector<uint8_t> DerToSsh(const std::vector<uint8_t>& der);

// EcPointOutsideOpenSshRange returns an uncompressed point on the curve
// named |curve| ("nistp256", "nistp384", "nistp521") that OpenSSL's
// public-key check accepts and OpenSSH refuses (sshkey_ec_validate_public):
// with |small_x|, the first x from 1 up (log2(x) <= log2(order)/2);
// otherwise the first x from order - 1 up (x >= order - 1).
std::vector<uint8_t> EcPointOutsideOpenSshRange(std::string_view curve, bool small_x);

// Signer is a CA key made by ssh-keygen and loaded into OpenSSL: the
// private key file's path, the key, its public blob and its type.
struct Signer {
  std::string path;
  core::EvpPkeyPtr key;
  std::vector<uint8_t> blob;
  core::KeyType type = core::KeyType::kEd25519;
};

// MakeSigner makes a CA key with `ssh-keygen -t TYPE -b BITS` as DIR/NAME
// (RSA and ECDSA in PEM form, which OpenSSL reads; Ed25519 in OpenSSH's own
// format, which 9.2 writes for it whatever -m says) and loads it. A failure
// fails the calling test and leaves |key| empty.
Signer MakeSigner(const TempDir& dir, const std::string& name, const std::string& type, int bits,
                  core::KeyType key_type);

// SshSign returns the SSH signature blob (string alg, string data) of
// |ca| over |tbs|, hashed as |alg| names for RSA (SHA-512 for a name that
// is not an RSA algorithm), with the curve's hash for ECDSA.
std::vector<uint8_t> SshSign(const Signer& ca, std::string_view alg, std::span<const uint8_t> tbs);

// SignatureBlob returns string(|alg|) || string(|inner|).
std::vector<uint8_t> SignatureBlob(std::string_view alg, std::span<const uint8_t> inner);

// SplitSignature returns the algorithm and data of a signature blob, or
// two empty values if it does not hold two strings.
std::pair<std::string, std::vector<uint8_t>> SplitSignature(std::span<const uint8_t> sig);

}  // namespace certgate::testing

#endif  // CERTGATE_TESTS_CRYPTO_TESTING_H_
