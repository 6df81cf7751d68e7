#include "core/signature.h"

#include <openssl/ecdsa.h>

#include <array>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/openssl_ptr.h"
#include "core/wire_reader.h"

namespace certgate::core {
namespace {

constexpr size_t kEd25519SignatureBytes = 64;

// EvpVerify checks |sig| over |data| with |md| (nullptr for Ed25519, which
// hashes internally). Returns true only on a valid signature.
bool EvpVerify(EVP_PKEY* pkey, const EVP_MD* md, std::span<const uint8_t> sig,
               std::span<const uint8_t> data) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey) != 1) return false;
  return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), data.data(), data.size()) == 1;
}

const EVP_MD* EcdsaDigest(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP384:
      return EVP_sha384();
    case KeyType::kEcdsaP521:
      return EVP_sha512();
    default:
      return EVP_sha256();
  }
}

// EcdsaBlobToDer turns the SSH form `mpint r, mpint s` (which must be
// consumed exactly) into the DER ECDSA-Sig-Value OpenSSL verifies.
Result<std::vector<uint8_t>> EcdsaBlobToDer(std::span<const uint8_t> blob) {
  WireReader r(blob);
  std::span<const uint8_t> r_bytes;
  std::span<const uint8_t> s_bytes;
  if (!r.ReadMpint(&r_bytes) || !r.ReadMpint(&s_bytes)) {
    return Fail(Errc::kBadFormat, "ecdsa signature r, s");
  }
  if (!r.empty()) return Fail(Errc::kTrailingData, "bytes after ecdsa r, s");
  // A curve order is at most 521 bits; longer integers cannot verify.
  if (r_bytes.empty() || s_bytes.empty() || r_bytes.size() > 66 || s_bytes.size() > 66) {
    return Fail(Errc::kBadSignature, "ecdsa r or s out of range");
  }
  BignumPtr bn_r(BN_bin2bn(r_bytes.data(), static_cast<int>(r_bytes.size()), nullptr));
  BignumPtr bn_s(BN_bin2bn(s_bytes.data(), static_cast<int>(s_bytes.size()), nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!bn_r || !bn_s || !sig || ECDSA_SIG_set0(sig.get(), bn_r.get(), bn_s.get()) != 1) {
    return Fail(Errc::kInternal, "ECDSA_SIG_set0");
  }
  // ECDSA_SIG now owns r and s.
  static_cast<void>(bn_r.release());
  static_cast<void>(bn_s.release());
  int der_len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (der_len <= 0) return Fail(Errc::kInternal, "i2d_ECDSA_SIG");
  std::vector<uint8_t> der(static_cast<size_t>(der_len));
  unsigned char* p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != der_len) return Fail(Errc::kInternal, "i2d_ECDSA_SIG");
  return der;
}

Status VerifyRsa(EVP_PKEY* pkey, const PublicKey& key, std::string_view alg, WireReader* r,
                 std::span<const uint8_t> data) {
  const EVP_MD* md = nullptr;
  if (alg == "ssh-rsa") {
    md = EVP_sha1();
  } else if (alg == "rsa-sha2-256") {
    md = EVP_sha256();
  } else if (alg == "rsa-sha2-512") {
    md = EVP_sha512();
  } else {
    return Fail(Errc::kTypeMismatch, "signature algorithm does not match an RSA key");
  }
  std::span<const uint8_t> s;
  if (!r->ReadString(&s)) return Fail(Errc::kTruncated, "rsa signature");
  size_t modulus_bytes = (key.RsaBits() + 7) / 8;
  if (s.size() > modulus_bytes) return Fail(Errc::kBadFormat, "rsa signature longer than modulus");
  // Some signers drop leading zero bytes (ssh_rsa_verify left-pads too).
  std::vector<uint8_t> padded(modulus_bytes - s.size(), 0);
  padded.insert(padded.end(), s.begin(), s.end());
  if (!r->empty()) return Fail(Errc::kTrailingData, "bytes after rsa signature");
  if (pkey != nullptr && !EvpVerify(pkey, md, padded, data)) {
    return Fail(Errc::kBadSignature, "rsa signature");
  }
  return Ok();
}

Status VerifyEcdsa(EVP_PKEY* pkey, const PublicKey& key, WireReader* r,
                   std::span<const uint8_t> data) {
  std::span<const uint8_t> blob;
  if (!r->ReadString(&blob)) return Fail(Errc::kTruncated, "ecdsa signature");
  if (!r->empty()) return Fail(Errc::kTrailingData, "bytes after ecdsa signature");
  Result<std::vector<uint8_t>> der = EcdsaBlobToDer(blob);
  if (!der) return Unexpected{der.error()};
  if (pkey != nullptr && !EvpVerify(pkey, EcdsaDigest(key.type), *der, data)) {
    return Fail(Errc::kBadSignature, "ecdsa signature");
  }
  return Ok();
}

Status VerifyEd25519(EVP_PKEY* pkey, WireReader* r, std::span<const uint8_t> data) {
  std::span<const uint8_t> sig;
  if (!r->ReadString(&sig)) return Fail(Errc::kTruncated, "ed25519 signature");
  if (sig.size() != kEd25519SignatureBytes) {
    return Fail(Errc::kBadFormat, "ed25519 signature is not 64 bytes");
  }
  if (!r->empty()) return Fail(Errc::kTrailingData, "bytes after ed25519 signature");
  if (pkey != nullptr && !EvpVerify(pkey, nullptr, sig, data)) {
    return Fail(Errc::kBadSignature, "ed25519 signature");
  }
  return Ok();
}

// SkSignedData is what a FIDO authenticator signs (PROTOCOL.u2f):
// SHA256(application) || flags || counter || SHA256(message). kInternal if
// OpenSSL cannot hash: then nothing is verified.
Result<std::vector<uint8_t>> SkSignedData(const PublicKey& key, uint8_t flags, uint32_t counter,
                                          std::span<const uint8_t> data) {
  Result<Sha256Digest> application = Sha256(AsBytes(key.application));
  if (!application) return Unexpected{application.error()};
  Result<Sha256Digest> message = Sha256(data);
  if (!message) return Unexpected{message.error()};
  WireWriter w;
  w.PutBytes(*application);
  w.PutU8(flags);
  w.PutU32(counter);
  w.PutBytes(*message);
  return w.Take();
}

Status VerifySk(EVP_PKEY* pkey, const PublicKey& key, WireReader* r, std::span<const uint8_t> data,
                SignatureInfo* info) {
  std::span<const uint8_t> inner;
  if (!r->ReadString(&inner)) return Fail(Errc::kTruncated, "sk signature");
  if (!r->ReadU8(&info->sk_flags) || !r->ReadU32(&info->sk_counter)) {
    return Fail(Errc::kTruncated, "sk flags and counter");
  }
  if (!r->empty()) return Fail(Errc::kTrailingData, "bytes after sk signature");
  Result<std::vector<uint8_t>> signed_data = SkSignedData(key, info->sk_flags, info->sk_counter, data);
  if (!signed_data) return Unexpected{signed_data.error()};
  bool ok = pkey == nullptr;
  if (key.type == KeyType::kSkEcdsaP256) {
    Result<std::vector<uint8_t>> der = EcdsaBlobToDer(inner);
    if (!der) return Unexpected{der.error()};
    ok = ok || EvpVerify(pkey, EVP_sha256(), *der, *signed_data);
  } else {
    if (inner.size() != kEd25519SignatureBytes) {
      return Fail(Errc::kBadFormat, "sk-ed25519 signature is not 64 bytes");
    }
    ok = ok || EvpVerify(pkey, nullptr, inner, *signed_data);
  }
  if (!ok) return Fail(Errc::kBadSignature, "sk signature");
  return Ok();
}

}  // namespace

// The Verify* functions below make every check of their algorithm's
// signature format; with a null |pkey| (VerifySignature's known_good) they
// skip only the cryptographic check.

Result<SignatureInfo> VerifySignature(const PublicKey& key, std::span<const uint8_t> signature,
                                      std::span<const uint8_t> data, bool known_good) {
  WireReader r(signature);
  std::string_view alg;
  if (!r.ReadCString(&alg)) return Fail(Errc::kTruncated, "signature algorithm");
  SignatureInfo info;
  info.algorithm = std::string(alg);
  if (key.type != KeyType::kRsa && alg != KeyTypeName(key.type)) {
    return Fail(Errc::kTypeMismatch, "signature algorithm does not match the key");
  }
  Result<EvpPkeyPtr> pkey = known_good ? Result<EvpPkeyPtr>(EvpPkeyPtr()) : ToEvpPkey(key);
  if (!pkey) return Unexpected{pkey.error()};
  // A null key means "skip the cryptographic check": only known_good asks.
  if (!known_good && pkey->get() == nullptr) return Fail(Errc::kInternal, "no EVP key");
  Status s = Ok();
  switch (key.type) {
    case KeyType::kRsa:
      s = VerifyRsa(pkey->get(), key, alg, &r, data);
      break;
    case KeyType::kEcdsaP256:
    case KeyType::kEcdsaP384:
    case KeyType::kEcdsaP521:
      s = VerifyEcdsa(pkey->get(), key, &r, data);
      break;
    case KeyType::kEd25519:
      s = VerifyEd25519(pkey->get(), &r, data);
      break;
    case KeyType::kSkEcdsaP256:
    case KeyType::kSkEd25519:
      s = VerifySk(pkey->get(), key, &r, data, &info);
      break;
  }
  if (!s) return Unexpected{s.error()};
  return info;
}

}  // namespace certgate::core
