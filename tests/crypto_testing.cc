#include "tests/crypto_testing.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "core/openssl_ptr.h"
#include "core/wire_reader.h"

namespace certgate::testing {

std::vector<uint8_t> Sha256(std::span<const uint8_t> data) {
  std::vector<uint8_t> d(32);
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr), 1);
  return d;
}

std::vector<uint8_t> EvpSign(EVP_PKEY* key, const EVP_MD* md, std::span<const uint8_t> data) {
  core::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key), 1);
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, data.data(), data.size()), 1);
  std::vector<uint8_t> sig(len);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()), 1);
  sig.resize(len);
  return sig;
}

std::vector<uint8_t> DerToSsh(const std::vector<uint8_t>& der) {
  const unsigned char* p = der.data();
  core::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  EXPECT_TRUE(sig);
  if (!sig) return {};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::vector<uint8_t> rb(static_cast<size_t>(BN_num_bytes(r)));
  std::vector<uint8_t> sb(static_cast<size_t>(BN_num_bytes(s)));
  BN_bn2bin(r, rb.data());
  BN_bn2bin(s, sb.data());
  core::WireWriter w;
  w.PutMpint(rb);
  w.PutMpint(sb);
  return w.Take();
}

}  // namespace certgate::testing
