#include "tests/crypto_testing.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include "core/base64.h"
#include "core/openssl_ptr.h"
#include "core/wire_reader.h"
#include "tests/testing.h"

namespace certgate::testing {
namespace {

using core::AsStringView;
using core::Base64Decode;
using core::EvpPkeyPtr;
using core::KeyType;
using core::OpenSslDeleter;
using core::WireReader;
using core::WireWriter;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;

// LoadEd25519 reads an unencrypted openssh-key-v1 file (PROTOCOL.key):
// the private section's second string after the type is seed || pk.
EvpPkeyPtr LoadEd25519(const std::string& text) {
  const std::string begin = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
  const std::string end = "-----END OPENSSH PRIVATE KEY-----";
  size_t from = text.find(begin);
  size_t to = text.find(end);
  EXPECT_TRUE(from != std::string::npos && to != std::string::npos);
  if (from == std::string::npos || to == std::string::npos) return nullptr;
  std::string b64;
  for (char c : text.substr(from + begin.size(), to - from - begin.size())) {
    if (c != '\n') b64 += c;
  }
  core::Result<std::vector<uint8_t>> raw = Base64Decode(b64);
  EXPECT_TRUE(raw.has_value());
  if (!raw) return nullptr;
  WireReader r(*raw);
  std::span<const uint8_t> magic, cipher, kdf, kdf_options, pub, type, pk, sk;
  uint32_t count = 0, check1 = 0, check2 = 0;
  WireReader priv;
  bool ok = r.ReadBytes(15, &magic) && r.ReadString(&cipher) && r.ReadString(&kdf) &&
            r.ReadString(&kdf_options) && r.ReadU32(&count) && r.ReadString(&pub) &&
            r.ReadSub(&priv) && priv.ReadU32(&check1) && priv.ReadU32(&check2) &&
            priv.ReadString(&type) && priv.ReadString(&pk) && priv.ReadString(&sk);
  ok = ok && AsStringView(magic) == std::string_view("openssh-key-v1\0", 15) &&
       AsStringView(cipher) == "none" && sk.size() == 64;
  EXPECT_TRUE(ok) << "not an unencrypted openssh-key-v1 Ed25519 key";
  if (!ok) return nullptr;
  return EvpPkeyPtr(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, sk.data(), 32));
}

}  // namespace

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

std::vector<uint8_t> EcPointOutsideOpenSshRange(std::string_view curve, bool small_x) {
  using EcPointPtr = std::unique_ptr<EC_POINT, core::OpenSslDeleter<EC_POINT, EC_POINT_free>>;
  using BnCtxPtr = std::unique_ptr<BN_CTX, core::OpenSslDeleter<BN_CTX, BN_CTX_free>>;
  int nid = NID_X9_62_prime256v1;
  if (curve == "nistp384") nid = NID_secp384r1;
  if (curve == "nistp521") nid = NID_secp521r1;
  core::EcGroupPtr group(EC_GROUP_new_by_curve_name(nid));
  BnCtxPtr ctx(BN_CTX_new());
  core::BignumPtr x(BN_new());
  EcPointPtr point(EC_POINT_new(group.get()));
  if (small_x) {
    BN_set_word(x.get(), 1);
  } else {
    BN_copy(x.get(), EC_GROUP_get0_order(group.get()));
    BN_sub_word(x.get(), 1);
  }
  // About every other x has a point; the curves' p exceeds their order by
  // far more than the few steps this takes.
  while (EC_POINT_set_compressed_coordinates(group.get(), point.get(), x.get(), 0, ctx.get()) !=
         1) {
    BN_add_word(x.get(), 1);
  }
  size_t len = EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, nullptr,
                                  0, ctx.get());
  std::vector<uint8_t> out(len);
  EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(), len,
                     ctx.get());
  return out;
}

Signer MakeSigner(const TempDir& dir, const std::string& name, const std::string& type, int bits,
                  KeyType key_type) {
  Signer s;
  s.path = dir.Path(name);
  s.type = key_type;
  CommandResult r = Run({"ssh-keygen", "-q", "-N", "", "-t", type, "-b", std::to_string(bits), "-m",
                         "PEM", "-f", s.path, "-C", name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string text = ReadFile(s.path);
  if (key_type == KeyType::kEd25519) {
    s.key = LoadEd25519(text);
  } else {
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    s.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  }
  EXPECT_TRUE(s.key) << name;
  core::Result<std::vector<uint8_t>> blob = Base64Decode(PubBase64(s.path + ".pub"));
  EXPECT_TRUE(blob.has_value()) << name;
  if (blob) s.blob = *blob;
  return s;
}

std::vector<uint8_t> SignatureBlob(std::string_view alg, std::span<const uint8_t> inner) {
  WireWriter w;
  w.PutString(alg);
  w.PutString(inner);
  return w.Take();
}

std::vector<uint8_t> SshSign(const Signer& ca, std::string_view alg, std::span<const uint8_t> tbs) {
  switch (ca.type) {
    case KeyType::kEd25519:
      return SignatureBlob(alg, EvpSign(ca.key.get(), nullptr, tbs));
    case KeyType::kEcdsaP256:
      return SignatureBlob(alg, DerToSsh(EvpSign(ca.key.get(), EVP_sha256(), tbs)));
    case KeyType::kEcdsaP384:
      return SignatureBlob(alg, DerToSsh(EvpSign(ca.key.get(), EVP_sha384(), tbs)));
    case KeyType::kEcdsaP521:
      return SignatureBlob(alg, DerToSsh(EvpSign(ca.key.get(), EVP_sha512(), tbs)));
    default: {
      const EVP_MD* md = alg == "ssh-rsa"        ? EVP_sha1()
                         : alg == "rsa-sha2-256" ? EVP_sha256()
                                                 : EVP_sha512();
      return SignatureBlob(alg, EvpSign(ca.key.get(), md, tbs));
    }
  }
}

std::pair<std::string, std::vector<uint8_t>> SplitSignature(std::span<const uint8_t> sig) {
  WireReader r(sig);
  std::span<const uint8_t> alg, inner;
  if (!r.ReadString(&alg) || !r.ReadString(&inner)) return {};
  return {std::string(AsStringView(alg)), std::vector<uint8_t>(inner.begin(), inner.end())};
}

}  // namespace certgate::testing
