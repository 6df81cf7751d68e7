// SSHSIG (PROTOCOL.sshsig) parsing and verification via core::VerifySignature.
#include "cafetch/sshsig.h"

#include "core/base64.h"
#include "core/digest.h"
#include "core/log.h"
#include "core/signature.h"
#include "core/wire_reader.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;
using core::Result;
using core::Unexpected;

constexpr std::string_view kBegin = "-----BEGIN SSH SIGNATURE-----";
constexpr std::string_view kEnd = "-----END SSH SIGNATURE-----";
constexpr std::string_view kMagic = "SSHSIG";
constexpr uint32_t kVersion = 1;
constexpr size_t kMaxFieldLength = 1024;

// Dearmor returns the base64 text between the armor lines, joined.
Result<std::string> Dearmor(std::string_view armored) {
  if (armored.size() > kMaxArmoredSignature) return Fail(Errc::kTooLarge, "signature file too large");
  std::vector<std::string_view> lines;
  while (!armored.empty()) {
    size_t nl = armored.find('\n');
    std::string_view line = armored.substr(0, nl);
    armored = nl == std::string_view::npos ? std::string_view() : armored.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
  }
  size_t begin = 0;
  while (begin < lines.size() && lines[begin].empty()) ++begin;
  size_t end = lines.size();
  while (end > begin && lines[end - 1].empty()) --end;
  if (end - begin < 3 || lines[begin] != kBegin || lines[end - 1] != kEnd) {
    return Fail(Errc::kBadFormat, "not an armored SSH signature (-----BEGIN SSH SIGNATURE-----)");
  }
  std::string base64;
  for (size_t i = begin + 1; i + 1 < end; ++i) base64.append(lines[i]);
  return base64;
}

bool ReadShortCString(core::WireReader* r, std::string* out) {
  std::string_view s;
  if (!r->ReadCString(&s) || s.size() > kMaxFieldLength) return false;
  out->assign(s);
  return true;
}

// AsVector copies a fixed-size digest out of |d|, or passes its error on.
template <typename FixedDigest>
Result<std::vector<uint8_t>> AsVector(Result<FixedDigest> d) {
  if (!d) return Unexpected{d.error()};
  return std::vector<uint8_t>(d->begin(), d->end());
}

// Digest returns SHA-256 (|algorithm| "sha256") or SHA-512 (anything else;
// the parser allows only "sha512") of |message|, or kInternal.
Result<std::vector<uint8_t>> Digest(std::string_view algorithm, std::span<const uint8_t> message) {
  return algorithm == "sha256" ? AsVector(core::Sha256(message)) : AsVector(core::Sha512(message));
}

}  // namespace

Result<SshSig> ParseArmoredSshSig(std::string_view armored) {
  Result<std::string> base64 = Dearmor(armored);
  if (!base64) return Unexpected{base64.error()};
  Result<std::vector<uint8_t>> blob = core::Base64Decode(*base64);
  if (!blob) return Unexpected{blob.error()};

  core::WireReader r(*blob);
  std::span<const uint8_t> magic;
  if (!r.ReadBytes(kMagic.size(), &magic)) return Fail(Errc::kTruncated, "SSHSIG magic");
  if (core::AsStringView(magic) != kMagic) return Fail(Errc::kBadFormat, "not an SSHSIG blob");
  uint32_t version = 0;
  if (!r.ReadU32(&version)) return Fail(Errc::kTruncated, "SSHSIG version");
  if (version != kVersion) return Fail(Errc::kBadFormat, "unsupported SSHSIG version " + std::to_string(version));
  std::span<const uint8_t> key_blob;
  if (!r.ReadString(&key_blob)) return Fail(Errc::kTruncated, "SSHSIG public key");
  SshSig sig;
  Result<core::PublicKey> key = core::ParsePublicKeyBlob(key_blob);
  if (!key) return Fail(key.error().code, "SSHSIG public key: " + key.error().detail);
  sig.key = std::move(*key);
  if (!ReadShortCString(&r, &sig.signature_namespace)) return Fail(Errc::kTruncated, "SSHSIG namespace");
  std::span<const uint8_t> reserved;
  if (!r.ReadString(&reserved)) return Fail(Errc::kTruncated, "SSHSIG reserved");
  if (!ReadShortCString(&r, &sig.hash_algorithm)) return Fail(Errc::kTruncated, "SSHSIG hash algorithm");
  if (sig.hash_algorithm != "sha256" && sig.hash_algorithm != "sha512") {
    return Fail(Errc::kUnsupportedType, "SSHSIG hash algorithm must be sha256 or sha512");
  }
  std::span<const uint8_t> signature;
  if (!r.ReadString(&signature)) return Fail(Errc::kTruncated, "SSHSIG signature");
  if (!r.empty()) return Fail(Errc::kTrailingData, "bytes after the SSHSIG signature");
  sig.signature.assign(signature.begin(), signature.end());
  return sig;
}

Result<core::PublicKey> VerifySshSig(std::string_view armored, std::span<const uint8_t> message,
                                     std::string_view signature_namespace,
                                     const std::vector<core::PublicKey>& allowed_signers) {
  Result<SshSig> sig = ParseArmoredSshSig(armored);
  if (!sig) return Unexpected{sig.error()};
  if (sig->signature_namespace != signature_namespace) {
    return Fail(Errc::kBadSignature, "signature namespace is " + core::EscapeForLog(sig->signature_namespace) +
                                         ", not " + std::string(signature_namespace) + "; sign with ssh-keygen -Y sign -n " +
                                         std::string(signature_namespace));
  }
  bool allowed = false;
  for (const core::PublicKey& signer : allowed_signers) {
    if (signer == sig->key) allowed = true;
  }
  if (!allowed) {
    return Fail(Errc::kBadSignature, "signer " + core::Sha256Fingerprint(sig->key.blob) + " is not an allowed signer");
  }
  Result<std::vector<uint8_t>> hash = Digest(sig->hash_algorithm, message);
  if (!hash) return Unexpected{hash.error()};
  // The signed data: PROTOCOL.sshsig; reserved is always empty when signing.
  core::WireWriter w;
  w.PutBytes(core::AsBytes(kMagic));
  w.PutString(signature_namespace);
  w.PutString(std::string_view());
  w.PutString(std::string_view(sig->hash_algorithm));
  w.PutString(std::span<const uint8_t>(*hash));
  Result<core::SignatureInfo> info = core::VerifySignature(sig->key, sig->signature, w.data());
  if (!info) {
    // A valid signature by an allowed signer over other bytes: most often
    // the answer was changed (keys rotated) and not signed again.
    const std::string sign = "re-sign the current answer with ssh-keygen -Y sign -n " +
                             std::string(signature_namespace) + " -f KEY ANSWER";
    return Fail(Errc::kBadSignature,
                "signature does not verify (" + info.error().detail + "): " +
                    (info.error().code == Errc::kBadSignature
                         ? "the answer changed after it was signed, or the signature is for another answer; "
                         : "the signature is damaged; ") +
                    sign);
  }
  if (core::IsSha1Rsa(*info)) return Fail(Errc::kBadSignature, "SHA-1 ssh-rsa signatures are not accepted");
  return std::move(sig->key);
}

}  // namespace certgate::cafetch
