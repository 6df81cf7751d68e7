// RAII owners for OpenSSL objects: std::unique_ptr with a deleter that calls
// the matching *_free function. No raw OpenSSL pointer outlives its scope.
#ifndef CERTGATE_CORE_OPENSSL_PTR_H_
#define CERTGATE_CORE_OPENSSL_PTR_H_

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <memory>

#include "core/result.h"
#include "core/ssh_key.h"

namespace certgate::core {

// OpenSslDeleter<T, F> frees a T* with F; null is ignored.
template <typename T, void (*F)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const {
    if (p != nullptr) F(p);
  }
};

// EvpPkeyPtr owns an EVP_PKEY (EVP_PKEY_free).
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
// EvpPkeyCtxPtr owns an EVP_PKEY_CTX (EVP_PKEY_CTX_free).
using EvpPkeyCtxPtr =
    std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
// EvpMdCtxPtr owns an EVP_MD_CTX (EVP_MD_CTX_free).
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
// BignumPtr owns a BIGNUM (BN_free).
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_free>>;
// EcGroupPtr owns an EC_GROUP (EC_GROUP_free).
using EcGroupPtr = std::unique_ptr<EC_GROUP, OpenSslDeleter<EC_GROUP, EC_GROUP_free>>;
// EcdsaSigPtr owns an ECDSA_SIG (ECDSA_SIG_free).
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<ECDSA_SIG, ECDSA_SIG_free>>;
// OsslParamBldPtr owns an OSSL_PARAM_BLD (OSSL_PARAM_BLD_free).
using OsslParamBldPtr =
    std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
// OsslParamPtr owns an OSSL_PARAM array built by OSSL_PARAM_BLD_to_param
// (OSSL_PARAM_free).
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM, OSSL_PARAM_free>>;

// ToEvpPkey returns an OpenSSL public key for the validated |key| (for sk-*
// keys, the underlying ECDSA or Ed25519 key), or kBadFormat if OpenSSL
// rejects it (e.g. an EC point not on its curve) and kInternal if OpenSSL
// fails. Implemented in ssh_key.cc.
Result<EvpPkeyPtr> ToEvpPkey(const PublicKey& key);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_OPENSSL_PTR_H_
