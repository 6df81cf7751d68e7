#include "core/signature.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/base64.h"
#include "core/openssl_ptr.h"
#include "core/wire_reader.h"
#include "tests/crypto_testing.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using certgate::testing::DerToSsh;
using certgate::testing::EvpSign;
using certgate::testing::Sha256;
std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

PublicKey MustParse(const std::vector<uint8_t>& blob) {
  Result<PublicKey> k = ParsePublicKeyBlob(blob);
  EXPECT_TRUE(k.has_value()) << (k ? "" : k.error().detail);
  return k ? *k : PublicKey{};
}

struct Ed25519Signer {
  EvpPkeyPtr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")};
  std::vector<uint8_t> Raw() const {
    std::vector<uint8_t> pk(32);
    size_t len = pk.size();
    EXPECT_EQ(EVP_PKEY_get_raw_public_key(key.get(), pk.data(), &len), 1);
    return pk;
  }
};

struct P256Signer {
  EvpPkeyPtr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  std::vector<uint8_t> Point() const {
    std::vector<uint8_t> q(65);
    size_t len = 0;
    EXPECT_EQ(EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, q.data(),
                                              q.size(), &len),
              1);
    q.resize(len);
    return q;
  }
};

// SkMessage is what the authenticator signs (PROTOCOL.u2f).
std::vector<uint8_t> SkMessage(std::string_view application, uint8_t flags, uint32_t counter,
                               std::span<const uint8_t> data) {
  WireWriter w;
  w.PutBytes(Sha256(AsBytes(application)));
  w.PutU8(flags);
  w.PutU32(counter);
  w.PutBytes(Sha256(data));
  return w.Take();
}

TEST(SignatureTest, Ed25519) {
  Ed25519Signer signer;
  WireWriter kw;
  kw.PutString("ssh-ed25519");
  kw.PutString(signer.Raw());
  PublicKey key = MustParse(kw.data());
  std::vector<uint8_t> data = Bytes("hello");
  WireWriter sw;
  sw.PutString("ssh-ed25519");
  sw.PutString(EvpSign(signer.key.get(), nullptr, data));
  Result<SignatureInfo> ok = VerifySignature(key, sw.data(), data);
  ASSERT_TRUE(ok.has_value()) << ok.error().detail;
  EXPECT_EQ(ok->algorithm, "ssh-ed25519");
  EXPECT_EQ(VerifySignature(key, sw.data(), Bytes("hellO")).error().code, Errc::kBadSignature);
  std::vector<uint8_t> trailing = sw.data();
  trailing.push_back(0);
  EXPECT_EQ(VerifySignature(key, trailing, data).error().code, Errc::kTrailingData);
  for (size_t len = 0; len < sw.data().size(); ++len) {
    EXPECT_FALSE(VerifySignature(key, std::span(sw.data()).first(len), data)) << len;
  }
  WireWriter wrong;
  wrong.PutString("ssh-rsa");
  wrong.PutString(EvpSign(signer.key.get(), nullptr, data));
  EXPECT_EQ(VerifySignature(key, wrong.data(), data).error().code, Errc::kTypeMismatch);
  WireWriter short_sig;
  short_sig.PutString("ssh-ed25519");
  short_sig.PutString(std::vector<uint8_t>(63, 1));
  EXPECT_EQ(VerifySignature(key, short_sig.data(), data).error().code, Errc::kBadFormat);
}

TEST(SignatureTest, EcdsaP256) {
  P256Signer signer;
  WireWriter kw;
  kw.PutString("ecdsa-sha2-nistp256");
  kw.PutString("nistp256");
  kw.PutString(signer.Point());
  PublicKey key = MustParse(kw.data());
  std::vector<uint8_t> data = Bytes("certificate bytes");
  std::vector<uint8_t> rs = DerToSsh(EvpSign(signer.key.get(), EVP_sha256(), data));
  WireWriter sw;
  sw.PutString("ecdsa-sha2-nistp256");
  sw.PutString(rs);
  ASSERT_TRUE(VerifySignature(key, sw.data(), data).has_value());
  // Hash must be SHA-256 for P-256: a SHA-512 signature fails.
  WireWriter s512;
  s512.PutString("ecdsa-sha2-nistp256");
  s512.PutString(DerToSsh(EvpSign(signer.key.get(), EVP_sha512(), data)));
  EXPECT_EQ(VerifySignature(key, s512.data(), data).error().code, Errc::kBadSignature);
  // r, s blob must be consumed exactly.
  std::vector<uint8_t> rs_extra = rs;
  rs_extra.push_back(0);
  WireWriter extra;
  extra.PutString("ecdsa-sha2-nistp256");
  extra.PutString(rs_extra);
  EXPECT_EQ(VerifySignature(key, extra.data(), data).error().code, Errc::kTrailingData);
  // Another curve's name.
  WireWriter other;
  other.PutString("ecdsa-sha2-nistp384");
  other.PutString(rs);
  EXPECT_EQ(VerifySignature(key, other.data(), data).error().code, Errc::kTypeMismatch);
  // r or s zero (an empty mpint), or longer than any curve order (66 bytes).
  auto signature_of = [](const std::vector<uint8_t>& r_value, const std::vector<uint8_t>& s_value) {
    WireWriter inner;
    inner.PutString(r_value);
    inner.PutString(s_value);
    WireWriter sig;
    sig.PutString("ecdsa-sha2-nistp256");
    sig.PutString(inner.data());
    return sig.Take();
  };
  const std::vector<uint8_t> one(1, 1), longest(66, 0x7f), too_long(67, 0x7f);
  for (const auto& [r, s_value] : {std::pair{std::vector<uint8_t>{}, one}, std::pair{one, std::vector<uint8_t>{}},
                                   std::pair{too_long, one}, std::pair{one, too_long}}) {
    Result<SignatureInfo> v = VerifySignature(key, signature_of(r, s_value), data);
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().code, Errc::kBadSignature);
    EXPECT_NE(v.error().detail.find("out of range"), std::string::npos) << v.error().detail;
  }
  // 66 bytes is in range, and simply does not verify.
  Result<SignatureInfo> v = VerifySignature(key, signature_of(longest, longest), data);
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().detail.find("out of range"), std::string::npos) << v.error().detail;
}

TEST(SignatureTest, RsaAlgorithmsAndShortSignature) {
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}));
  ASSERT_TRUE(rsa);
  BIGNUM* n_raw = nullptr;
  BIGNUM* e_raw = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(rsa.get(), OSSL_PKEY_PARAM_RSA_N, &n_raw), 1);
  ASSERT_EQ(EVP_PKEY_get_bn_param(rsa.get(), OSSL_PKEY_PARAM_RSA_E, &e_raw), 1);
  BignumPtr n(n_raw);
  BignumPtr e(e_raw);
  std::vector<uint8_t> nb(static_cast<size_t>(BN_num_bytes(n.get())));
  std::vector<uint8_t> eb(static_cast<size_t>(BN_num_bytes(e.get())));
  BN_bn2bin(n.get(), nb.data());
  BN_bn2bin(e.get(), eb.data());
  WireWriter kw;
  kw.PutString("ssh-rsa");
  kw.PutMpint(eb);
  kw.PutMpint(nb);
  PublicKey key = MustParse(kw.data());
  ASSERT_EQ(key.RsaBits(), 1024u);

  struct Alg {
    const char* name;
    const EVP_MD* md;
  };
  const std::vector<Alg> algs = {
      {"ssh-rsa", EVP_sha1()}, {"rsa-sha2-256", EVP_sha256()}, {"rsa-sha2-512", EVP_sha512()}};
  std::vector<uint8_t> data = Bytes("data");
  for (const auto& alg : algs) {
    SCOPED_TRACE(alg.name);
    WireWriter sw;
    sw.PutString(alg.name);
    sw.PutString(EvpSign(rsa.get(), alg.md, data));
    Result<SignatureInfo> ok = VerifySignature(key, sw.data(), data);
    ASSERT_TRUE(ok.has_value()) << ok.error().detail;
    EXPECT_EQ(ok->algorithm, alg.name);
    EXPECT_EQ(IsSha1Rsa(*ok), std::string(alg.name) == "ssh-rsa");
    // Claiming another hash fails.
    WireWriter lie;
    lie.PutString(std::string(alg.name) == "rsa-sha2-512" ? "rsa-sha2-256" : "rsa-sha2-512");
    lie.PutString(EvpSign(rsa.get(), alg.md, data));
    EXPECT_EQ(VerifySignature(key, lie.data(), data).error().code, Errc::kBadSignature);
  }
  WireWriter unknown;
  unknown.PutString("rsa-sha2-384");
  unknown.PutString(EvpSign(rsa.get(), EVP_sha384(), data));
  EXPECT_EQ(VerifySignature(key, unknown.data(), data).error().code, Errc::kTypeMismatch);

  // Find a signature whose first byte is zero (1 in 256), send it without
  // that byte: it must be left-padded and verify, as ssh_rsa_verify does.
  bool found = false;
  for (uint32_t i = 0; i < 20000 && !found; ++i) {
    std::vector<uint8_t> msg = Bytes("message " + std::to_string(i));
    std::vector<uint8_t> sig = EvpSign(rsa.get(), EVP_sha256(), msg);
    if (sig[0] != 0) continue;
    found = true;
    WireWriter sw;
    sw.PutString("rsa-sha2-256");
    sw.PutString(std::span(sig).subspan(1));
    EXPECT_TRUE(VerifySignature(key, sw.data(), msg).has_value());
    // One byte longer than the modulus is refused.
    std::vector<uint8_t> longer = {0};
    longer.insert(longer.end(), sig.begin(), sig.end());
    WireWriter lw;
    lw.PutString("rsa-sha2-256");
    lw.PutString(longer);
    EXPECT_EQ(VerifySignature(key, lw.data(), msg).error().code, Errc::kBadFormat);
  }
  EXPECT_TRUE(found);
}

TEST(SignatureTest, SkEcdsa) {
  P256Signer signer;
  WireWriter kw;
  kw.PutString("sk-ecdsa-sha2-nistp256@openssh.com");
  kw.PutString("nistp256");
  kw.PutString(signer.Point());
  kw.PutString("ssh:");
  PublicKey key = MustParse(kw.data());
  std::vector<uint8_t> data = Bytes("to be signed");
  auto make = [&](uint8_t flags, uint32_t counter, std::string_view app, uint8_t claimed_flags) {
    std::vector<uint8_t> msg = SkMessage(app, flags, counter, data);
    WireWriter sw;
    sw.PutString("sk-ecdsa-sha2-nistp256@openssh.com");
    sw.PutString(DerToSsh(EvpSign(signer.key.get(), EVP_sha256(), msg)));
    sw.PutU8(claimed_flags);
    sw.PutU32(counter);
    return sw.Take();
  };
  Result<SignatureInfo> ok = VerifySignature(key, make(0x05, 42, "ssh:", 0x05), data);
  ASSERT_TRUE(ok.has_value()) << ok.error().detail;
  EXPECT_EQ(ok->sk_flags, 0x05);
  EXPECT_EQ(ok->sk_counter, 42u);
  EXPECT_EQ(VerifySignature(key, make(0x05, 42, "ssh:", 0x01), data).error().code,
            Errc::kBadSignature);
  EXPECT_EQ(VerifySignature(key, make(0x05, 42, "ssh:x", 0x05), data).error().code,
            Errc::kBadSignature);
  std::vector<uint8_t> sig = make(0x01, 7, "ssh:", 0x01);
  for (size_t len = 0; len < sig.size(); ++len) {
    EXPECT_FALSE(VerifySignature(key, std::span(sig).first(len), data)) << len;
  }
  sig.push_back(0);
  EXPECT_EQ(VerifySignature(key, sig, data).error().code, Errc::kTrailingData);
  // A plain ECDSA signature name is not accepted for an sk key.
  WireWriter plain;
  plain.PutString("ecdsa-sha2-nistp256");
  plain.PutString(DerToSsh(EvpSign(signer.key.get(), EVP_sha256(), data)));
  EXPECT_EQ(VerifySignature(key, plain.data(), data).error().code, Errc::kTypeMismatch);
}

TEST(SignatureTest, SkEd25519) {
  Ed25519Signer signer;
  WireWriter kw;
  kw.PutString("sk-ssh-ed25519@openssh.com");
  kw.PutString(signer.Raw());
  kw.PutString("ssh:");
  PublicKey key = MustParse(kw.data());
  std::vector<uint8_t> data = Bytes("to be signed");
  auto make = [&](uint32_t counter, uint32_t claimed_counter) {
    WireWriter sw;
    sw.PutString("sk-ssh-ed25519@openssh.com");
    sw.PutString(EvpSign(signer.key.get(), nullptr, SkMessage("ssh:", 1, counter, data)));
    sw.PutU8(1);
    sw.PutU32(claimed_counter);
    return sw.Take();
  };
  Result<SignatureInfo> ok = VerifySignature(key, make(9, 9), data);
  ASSERT_TRUE(ok.has_value()) << ok.error().detail;
  EXPECT_EQ(ok->algorithm, "sk-ssh-ed25519@openssh.com");
  EXPECT_EQ(ok->sk_flags, 1);
  EXPECT_EQ(ok->sk_counter, 9u);
  EXPECT_EQ(VerifySignature(key, make(9, 10), data).error().code, Errc::kBadSignature);
  // Signing the message directly (no sk framing) does not verify.
  WireWriter direct;
  direct.PutString("sk-ssh-ed25519@openssh.com");
  direct.PutString(EvpSign(signer.key.get(), nullptr, data));
  direct.PutU8(1);
  direct.PutU32(9);
  EXPECT_EQ(VerifySignature(key, direct.data(), data).error().code, Errc::kBadSignature);
  // The inner signature must be 64 bytes, like plain Ed25519.
  for (size_t len : {size_t{0}, size_t{63}, size_t{65}}) {
    WireWriter sized;
    sized.PutString("sk-ssh-ed25519@openssh.com");
    sized.PutString(std::vector<uint8_t>(len, 1));
    sized.PutU8(1);
    sized.PutU32(9);
    Result<SignatureInfo> v = VerifySignature(key, sized.data(), data);
    ASSERT_FALSE(v.has_value()) << len;
    EXPECT_EQ(v.error().code, Errc::kBadFormat) << len;
  }
}

// ---------------------------------------------------------------------------
// SSHSIG (PROTOCOL.sshsig) wraps an ordinary SSH signature; its signed data
// is "SSHSIG" || string namespace || string reserved || string hash_alg ||
// string H(message). Used here to check VerifySignature against signatures
// made by ssh-keygen and by real FIDO authenticators.

struct SshSig {
  std::vector<uint8_t> public_key;
  std::vector<uint8_t> signature;
  std::vector<uint8_t> signed_data;
};

std::optional<SshSig> ParseSshSig(const std::string& armored, std::string_view message) {
  std::string b64;
  std::istringstream in(armored);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("-----", 0) != 0) b64 += line;
  }
  Result<std::vector<uint8_t>> blob = Base64Decode(b64);
  if (!blob) return std::nullopt;
  WireReader r(*blob);
  std::span<const uint8_t> magic, pk, ns, reserved, hash, sig;
  uint32_t version = 0;
  if (!r.ReadBytes(6, &magic) || AsStringView(magic) != "SSHSIG" || !r.ReadU32(&version) ||
      !r.ReadString(&pk) || !r.ReadString(&ns) || !r.ReadString(&reserved) ||
      !r.ReadString(&hash) || !r.ReadString(&sig) || !r.empty()) {
    return std::nullopt;
  }
  const EVP_MD* md = AsStringView(hash) == "sha256" ? EVP_sha256() : EVP_sha512();
  std::vector<uint8_t> h(static_cast<size_t>(EVP_MD_get_size(md)));
  unsigned int len = 0;
  EVP_Digest(message.data(), message.size(), h.data(), &len, md, nullptr);
  WireWriter w;
  w.PutBytes(AsBytes("SSHSIG"));
  w.PutString(ns);
  w.PutString(reserved);
  w.PutString(hash);
  w.PutString(h);
  return SshSig{{pk.begin(), pk.end()}, {sig.begin(), sig.end()}, w.Take()};
}

// Signatures made by real security keys, from OpenSSH's
// regress/unittests/sshsig/testdata (ecdsa_sk.sig, ed25519_sk.sig; BSD
// licence): namespace "unittest", message "This is a test, this is only a
// test", flags 0x01 (user present), counter 0x12345678.
constexpr const char* kOpenSshEcdsaSkSig =
    "-----BEGIN SSH SIGNATURE-----\n"
    "U1NIU0lHAAAAAQAAAH8AAAAic2stZWNkc2Etc2hhMi1uaXN0cDI1NkBvcGVuc3NoLmNvbQ\n"
    "AAAAhuaXN0cDI1NgAAAEEEoNVrmNFxPlXsTrKybBWLsclaHunkP6F5ss9qRBymcPZqMlno\n"
    "b/hbO6GVhadyVZjrcmykOnb31GWGrkBPzr+DwAAAAARzc2g6AAAACHVuaXR0ZXN0AAAAAA\n"
    "AAAAZzaGE1MTIAAAB3AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20A\n"
    "AABIAAAAIHohGwyy8iKT3zwd1TYA9V/Ioo7h/3zCJUtyq/Qigt/HAAAAIGzidTwq7D/kFa\n"
    "7Xjcp/KkdbIs4MfQpfAW/0OciajlpzARI0Vng=\n"
    "-----END SSH SIGNATURE-----\n";
constexpr const char* kOpenSshEd25519SkSig =
    "-----BEGIN SSH SIGNATURE-----\n"
    "U1NIU0lHAAAAAQAAAEoAAAAac2stc3NoLWVkMjU1MTlAb3BlbnNzaC5jb20AAAAgmxoNhd\n"
    "Biu5zpuKUJgMgrhhI54b7OatE7Yz23Tf//sscAAAAEc3NoOgAAAAh1bml0dGVzdAAAAAAA\n"
    "AAAGc2hhNTEyAAAAZwAAABpzay1zc2gtZWQyNTUxOUBvcGVuc3NoLmNvbQAAAEAi+7eTjW\n"
    "/+LQ2M+sCD+KFtH1n7VFFJon/SZFsxODyV8cWTlFKj617Ys1Ur5TV6uaEXQhck8rBA2oQI\n"
    "HTPANLIPARI0Vng=\n"
    "-----END SSH SIGNATURE-----\n";
constexpr std::string_view kOpenSshSignedData = "This is a test, this is only a test";

TEST(SignatureTest, RealSecurityKeySignatures) {
  for (const char* armored : {kOpenSshEcdsaSkSig, kOpenSshEd25519SkSig}) {
    std::optional<SshSig> sig = ParseSshSig(armored, kOpenSshSignedData);
    ASSERT_TRUE(sig.has_value());
    PublicKey key = MustParse(sig->public_key);
    EXPECT_EQ(key.application, "ssh:");
    Result<SignatureInfo> ok = VerifySignature(key, sig->signature, sig->signed_data);
    ASSERT_TRUE(ok.has_value()) << ErrcName(ok.error().code) << ": " << ok.error().detail;
    EXPECT_EQ(ok->algorithm, KeyTypeName(key.type));
    EXPECT_EQ(ok->sk_flags, 0x01);
    EXPECT_EQ(ok->sk_counter, 0x12345678u);
    std::optional<SshSig> other = ParseSshSig(armored, "This is a test, this is only a tesT");
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(VerifySignature(key, other->signature, other->signed_data).error().code,
              Errc::kBadSignature);
  }
}

// ssh-keygen -Y sign with every plain key type.
TEST(SignatureTest, SshKeygenSignatures) {
  certgate::testing::TempDir dir;
  certgate::testing::WriteFile(dir.Path("msg"), "message to sign\n");
  int n = 0;
  for (const auto& [type, bits] : std::vector<std::pair<std::string, int>>{
           {"rsa", 2048}, {"ecdsa", 256}, {"ecdsa", 384}, {"ecdsa", 521}, {"ed25519", 0}}) {
    SCOPED_TRACE(type + std::to_string(bits));
    std::string key = certgate::testing::MakeKey(dir, "k" + std::to_string(n++), type, bits);
    auto r = certgate::testing::Run(
        {"ssh-keygen", "-q", "-Y", "sign", "-f", key, "-n", "file", dir.Path("msg")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::optional<SshSig> sig =
        ParseSshSig(certgate::testing::ReadFile(dir.Path("msg") + ".sig"), "message to sign\n");
    ASSERT_TRUE(sig.has_value());
    PublicKey pk = MustParse(sig->public_key);
    Result<SignatureInfo> ok = VerifySignature(pk, sig->signature, sig->signed_data);
    ASSERT_TRUE(ok.has_value()) << ErrcName(ok.error().code) << ": " << ok.error().detail;
    if (type == "rsa") {
      EXPECT_EQ(ok->algorithm, "rsa-sha2-512");
    }
    std::vector<uint8_t> tampered = sig->signed_data;
    tampered.back() ^= 1;
    EXPECT_EQ(VerifySignature(pk, sig->signature, tampered).error().code, Errc::kBadSignature);
    unlink((dir.Path("msg") + ".sig").c_str());
  }
}

}  // namespace
}  // namespace certgate::core
