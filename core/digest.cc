#include "core/digest.h"

#include <openssl/evp.h>

#include <string>

#include "core/openssl_ptr.h"

namespace certgate::core {
namespace {

// DigestInto hashes the concatenation of |parts| with |md| into |out|.
// Returns false if OpenSSL fails or |out| is not exactly |md|'s size (the
// check keeps EVP_DigestFinal_ex from writing past |out|).
bool DigestInto(const EVP_MD* md, std::initializer_list<std::span<const uint8_t>> parts,
                std::span<uint8_t> out) {
  const int size = md == nullptr ? -1 : EVP_MD_get_size(md);
  if (size < 0 || static_cast<size_t>(size) != out.size()) return false;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) return false;
  for (std::span<const uint8_t> part : parts) {
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) return false;
  }
  unsigned int len = 0;
  return EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1 && len == out.size();
}

template <typename DigestT>
Result<DigestT> Compute(const EVP_MD* md, const char* name,
                        std::initializer_list<std::span<const uint8_t>> parts) {
  DigestT out{};
  if (!DigestInto(md, parts, out)) return Fail(Errc::kInternal, std::string("OpenSSL ") + name + " failed");
  return out;
}

}  // namespace

Result<Sha256Digest> Sha256(std::span<const uint8_t> data) {
  return Compute<Sha256Digest>(EVP_sha256(), "SHA-256", {data});
}

Result<Sha256Digest> Sha256(std::initializer_list<std::span<const uint8_t>> parts) {
  return Compute<Sha256Digest>(EVP_sha256(), "SHA-256", parts);
}

Result<Sha512Digest> Sha512(std::span<const uint8_t> data) {
  return Compute<Sha512Digest>(EVP_sha512(), "SHA-512", {data});
}

Result<Sha1Digest> Sha1(std::span<const uint8_t> data) {
  return Compute<Sha1Digest>(EVP_sha1(), "SHA-1", {data});
}

}  // namespace certgate::core
