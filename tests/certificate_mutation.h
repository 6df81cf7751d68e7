// Mutants of real certificates for the differential test
// (core/certificate_differential_test.cc): changes to a certificate's
// fields that are then signed again with the CA's private key, so that they
// reach past the signature check, and damage to whole blobs.
#ifndef CERTGATE_TESTS_CERTIFICATE_MUTATION_H_
#define CERTGATE_TESTS_CERTIFICATE_MUTATION_H_

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tests/certificate_testing.h"
#include "tests/crypto_testing.h"

namespace certgate::testing {

// Rng drives every choice; a fixed seed gives the same corpus shape.
using Rng = std::mt19937_64;

// Pick returns a number in [0, n).
inline size_t Pick(Rng& rng, size_t n) { return static_cast<size_t>(rng() % n); }

// PickOne returns one of |items| (not empty).
template <typename T>
const T& PickOne(Rng& rng, const std::vector<T>& items) {
  return items[Pick(rng, items.size())];
}

// kYear9999 is the last second ssh-keygen prints as a date like ours.
inline constexpr uint64_t kYear9999 = 253402300799;

// Base is a certificate made by ssh-keygen: its blob, cut into fields, and
// the CA (not owned) and signature algorithm that signed it.
struct Base {
  std::string label;
  CertFields fields;
  const Signer* ca = nullptr;
  std::string alg;
  Bytes blob;
};

// Draft is one mutant being made: fields, how to sign, and edits of the
// signed bytes or the signature made after the fields are joined.
struct Draft {
  CertFields f;
  const Signer* ca = nullptr;
  std::string alg;
  std::function<void(Bytes*)> edit_tbs;
  std::function<void(Bytes*)> edit_signature;
  bool resign = true;
};

// Mutation is one kind of structured change: |apply| changes a draft of a
// certificate that |applies| accepts.
struct Mutation {
  const char* name;
  std::function<bool(const CertFields&)> applies;
  std::function<void(Draft&, Rng&)> apply;
};

// Mutations returns every structured mutation, each of which applies to
// the certificates its |applies| accepts.
std::vector<Mutation> Mutations();

// RawMutant damages |base|'s whole blob (a bit flip, truncation, appended
// bytes, or a changed length field) without signing it again, and names the
// damage in |label|.
Bytes RawMutant(const Base& base, Rng& rng, std::string* label);

// Finish joins and signs a draft: Tbs(), edit_tbs, the signature (made
// again unless |resign| is false), edit_signature, then the trailing bytes.
Bytes Finish(const Draft& d);

// IsRsaCert, IsEcdsaCert, IsEd25519Cert and IsSkCert tell the certified
// key's kind from the certificate name.
bool IsRsaCert(const CertFields& f);
bool IsEcdsaCert(const CertFields& f);
bool IsEd25519Cert(const CertFields& f);
bool IsSkCert(const CertFields& f);

}  // namespace certgate::testing

#endif  // CERTGATE_TESTS_CERTIFICATE_MUTATION_H_
