#include "core/ssh_key.h"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>

#include <array>

#include "core/base64.h"
#include "core/digest.h"
#include "core/openssl_ptr.h"

namespace certgate::core {
namespace {

struct TypeEntry {
  KeyType type;
  std::string_view key_name;
  std::string_view cert_name;
};

constexpr std::array<TypeEntry, 7> kTypes = {{
    {KeyType::kRsa, "ssh-rsa", "ssh-rsa-cert-v01@openssh.com"},
    {KeyType::kEcdsaP256, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256-cert-v01@openssh.com"},
    {KeyType::kEcdsaP384, "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384-cert-v01@openssh.com"},
    {KeyType::kEcdsaP521, "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521-cert-v01@openssh.com"},
    {KeyType::kEd25519, "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com"},
    {KeyType::kSkEcdsaP256, "sk-ecdsa-sha2-nistp256@openssh.com",
     "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com"},
    {KeyType::kSkEd25519, "sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com"},
}};

// kMaxApplicationLength bounds an sk key's application string (OpenSSH has
// no bound; FIDO application ids are short).
constexpr size_t kMaxApplicationLength = 1024;

bool IsEcdsa(KeyType type) {
  return type == KeyType::kEcdsaP256 || type == KeyType::kEcdsaP384 ||
         type == KeyType::kEcdsaP521 || type == KeyType::kSkEcdsaP256;
}

bool IsEd25519(KeyType type) { return type == KeyType::kEd25519 || type == KeyType::kSkEd25519; }

bool IsSk(KeyType type) { return type == KeyType::kSkEcdsaP256 || type == KeyType::kSkEd25519; }

// CurveName is the SSH curve identifier inside ECDSA keys.
std::string_view CurveName(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP384:
      return "nistp384";
    case KeyType::kEcdsaP521:
      return "nistp521";
    default:
      return "nistp256";
  }
}

// OpenSslGroupName is the OpenSSL 3 group name for the key's curve.
const char* OpenSslGroupName(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP384:
      return "P-384";
    case KeyType::kEcdsaP521:
      return "P-521";
    default:
      return "P-256";
  }
}

// CoordinateBytes is the field size of the key's curve.
size_t CoordinateBytes(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP384:
      return 48;
    case KeyType::kEcdsaP521:
      return 66;
    default:
      return 32;
  }
}

unsigned BitLength(std::span<const uint8_t> magnitude) {
  if (magnitude.empty()) return 0;
  unsigned bits = static_cast<unsigned>((magnitude.size() - 1) * 8);
  for (uint8_t top = magnitude[0]; top != 0; top = static_cast<uint8_t>(top >> 1)) ++bits;
  return bits;
}

// ReadMpintField tells a truncated field from a badly encoded one.
Status ReadMpintField(WireReader* r, const char* what, std::span<const uint8_t>* out) {
  if (r->ReadMpint(out)) return Ok();
  WireReader probe = *r;
  std::span<const uint8_t> raw;
  if (!probe.ReadString(&raw)) return Fail(Errc::kTruncated, what);
  return Fail(Errc::kBadEncoding, std::string(what) + ": not a minimal non-negative mpint");
}

Status ReadCStringField(WireReader* r, const char* what, std::string_view* out) {
  if (r->ReadCString(out)) return Ok();
  WireReader probe = *r;
  std::span<const uint8_t> raw;
  if (!probe.ReadString(&raw)) return Fail(Errc::kTruncated, what);
  return Fail(Errc::kBadEncoding, std::string(what) + ": contains NUL");
}

Status ParseRsa(WireReader* r, PublicKey* key) {
  std::span<const uint8_t> e;
  std::span<const uint8_t> n;
  Status s = ReadMpintField(r, "rsa e", &e);
  if (!s) return s;
  s = ReadMpintField(r, "rsa n", &n);
  if (!s) return s;
  unsigned bits = BitLength(n);
  if (bits < kMinRsaBits) return Fail(Errc::kBadFormat, "rsa modulus too small");
  if (bits > kMaxRsaBits) return Fail(Errc::kTooLarge, "rsa modulus too large");
  if (e.empty() || (e.back() & 1) == 0 || (e.size() == 1 && e[0] == 1)) {
    return Fail(Errc::kBadFormat, "rsa exponent must be odd and greater than 1");
  }
  if (e.size() > n.size()) return Fail(Errc::kBadFormat, "rsa exponent larger than modulus");
  key->rsa_e.assign(e.begin(), e.end());
  key->rsa_n.assign(n.begin(), n.end());
  return Ok();
}

Status ParseEcdsa(KeyType type, WireReader* r, PublicKey* key) {
  std::span<const uint8_t> curve;
  std::span<const uint8_t> point;
  if (!r->ReadString(&curve)) return Fail(Errc::kTruncated, "ecdsa curve");
  if (AsStringView(curve) != CurveName(type)) {
    return Fail(Errc::kTypeMismatch, "ecdsa curve does not match key type");
  }
  if (!r->ReadString(&point)) return Fail(Errc::kTruncated, "ecdsa point");
  // Like OpenSSH (sshbuf_get_ec), only uncompressed points are accepted.
  if (point.size() != 1 + 2 * CoordinateBytes(type) || point[0] != 0x04) {
    return Fail(Errc::kBadFormat, "ecdsa point not uncompressed or wrong size");
  }
  key->ec_point.assign(point.begin(), point.end());
  return Ok();
}

Status ParseEd25519(WireReader* r, PublicKey* key) {
  std::span<const uint8_t> pk;
  if (!r->ReadString(&pk)) return Fail(Errc::kTruncated, "ed25519 key");
  if (pk.size() != 32) return Fail(Errc::kBadFormat, "ed25519 key is not 32 bytes");
  key->ed25519.assign(pk.begin(), pk.end());
  return Ok();
}

// WriteKeyBlob rebuilds the canonical plain-key blob from the fields.
std::vector<uint8_t> WriteKeyBlob(const PublicKey& key) {
  WireWriter w;
  w.PutString(KeyTypeName(key.type));
  if (key.type == KeyType::kRsa) {
    w.PutMpint(key.rsa_e);
    w.PutMpint(key.rsa_n);
  } else if (IsEcdsa(key.type)) {
    w.PutString(CurveName(key.type));
    w.PutString(key.ec_point);
  } else {
    w.PutString(key.ed25519);
  }
  if (IsSk(key.type)) w.PutString(key.application);
  return w.Take();
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (IsBlank(s.front()) || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// NextToken splits off the text up to the first blank, and skips the blanks.
std::string_view NextToken(std::string_view* s) {
  size_t end = 0;
  while (end < s->size() && !IsBlank((*s)[end])) ++end;
  std::string_view token = s->substr(0, end);
  s->remove_prefix(end);
  while (!s->empty() && IsBlank(s->front())) s->remove_prefix(1);
  return token;
}

Result<EvpPkeyPtr> FromParams(const char* algorithm, OSSL_PARAM_BLD* bld) {
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return Fail(Errc::kInternal, "OSSL_PARAM_BLD_to_param");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, algorithm, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return Fail(Errc::kInternal, "EVP_PKEY_fromdata_init");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Fail(Errc::kBadFormat, "public key rejected by OpenSSL");
  }
  return EvpPkeyPtr(raw);
}

Result<EvpPkeyPtr> RsaToEvp(const PublicKey& key) {
  BignumPtr n(BN_bin2bn(key.rsa_n.data(), static_cast<int>(key.rsa_n.size()), nullptr));
  BignumPtr e(BN_bin2bn(key.rsa_e.data(), static_cast<int>(key.rsa_e.size()), nullptr));
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return Fail(Errc::kInternal, "building RSA parameters");
  }
  return FromParams("RSA", bld.get());
}

// CoordinatesInOpenSshRange applies the checks sshkey_ec_validate_public
// makes beyond OpenSSL's public-key check: each coordinate of Q has more
// bits than half the group order's, and is below order - 1. sshd refuses
// any other point, so a certificate carrying one must not parse.
bool CoordinatesInOpenSshRange(const PublicKey& key) {
  int nid = NID_X9_62_prime256v1;
  if (key.type == KeyType::kEcdsaP384) nid = NID_secp384r1;
  if (key.type == KeyType::kEcdsaP521) nid = NID_secp521r1;
  EcGroupPtr group(EC_GROUP_new_by_curve_name(nid));
  if (!group) return false;
  const BIGNUM* order = EC_GROUP_get0_order(group.get());
  BignumPtr limit(BN_dup(order));
  if (!limit || BN_sub_word(limit.get(), 1) != 1) return false;
  const int half = BN_num_bits(order) / 2;
  const size_t size = CoordinateBytes(key.type);
  std::span<const uint8_t> point(key.ec_point);
  for (std::span<const uint8_t> c : {point.subspan(1, size), point.subspan(1 + size, size)}) {
    BignumPtr v(BN_bin2bn(c.data(), static_cast<int>(c.size()), nullptr));
    if (!v || BN_num_bits(v.get()) <= half || BN_cmp(v.get(), limit.get()) >= 0) return false;
  }
  return true;
}

Result<EvpPkeyPtr> EcToEvp(const PublicKey& key) {
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                      OpenSslGroupName(key.type), 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, key.ec_point.data(),
                                       key.ec_point.size()) != 1) {
    return Fail(Errc::kInternal, "building EC parameters");
  }
  Result<EvpPkeyPtr> pkey = FromParams("EC", bld.get());
  if (!pkey) return pkey;
  // Full public-key check (sshkey_ec_validate_public): not the point at
  // infinity, coordinates in range, on the curve, order * Q = infinity.
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey->get(), nullptr));
  if (!check) return Fail(Errc::kInternal, "EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_public_check(check.get()) != 1) {
    return Fail(Errc::kBadFormat, "ecdsa point is not a valid public key");
  }
  if (!CoordinatesInOpenSshRange(key)) {
    return Fail(Errc::kBadFormat, "ecdsa point coordinate out of OpenSSH's range");
  }
  return pkey;
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return t.key_name;
  }
  return "unknown";
}

std::string_view CertTypeName(KeyType type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return t.cert_name;
  }
  return "unknown";
}

std::optional<KeyType> KeyTypeFromName(std::string_view name) {
  for (const auto& t : kTypes) {
    if (t.key_name == name) return t.type;
  }
  return std::nullopt;
}

std::optional<KeyType> KeyTypeFromCertName(std::string_view name) {
  if (name == "rsa-sha2-256-cert-v01@openssh.com" || name == "rsa-sha2-512-cert-v01@openssh.com") {
    return KeyType::kRsa;
  }
  for (const auto& t : kTypes) {
    if (t.cert_name == name) return t.type;
  }
  return std::nullopt;
}

bool IsCertTypeName(std::string_view name) { return KeyTypeFromCertName(name).has_value(); }

unsigned PublicKey::RsaBits() const { return type == KeyType::kRsa ? BitLength(rsa_n) : 0; }

Result<EvpPkeyPtr> ToEvpPkey(const PublicKey& key) {
  if (key.type == KeyType::kRsa) return RsaToEvp(key);
  if (IsEcdsa(key.type)) return EcToEvp(key);
  if (key.ed25519.size() != 32) return Fail(Errc::kBadFormat, "ed25519 key is not 32 bytes");
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.ed25519.data(),
                                              key.ed25519.size()));
  if (!pkey) return Fail(Errc::kBadFormat, "ed25519 key rejected by OpenSSL");
  return pkey;
}

Status ParseKeyFields(KeyType type, WireReader* reader, PublicKey* out) {
  PublicKey key;
  key.type = type;
  Status s = Ok();
  if (type == KeyType::kRsa) {
    s = ParseRsa(reader, &key);
  } else if (IsEcdsa(type)) {
    s = ParseEcdsa(type, reader, &key);
  } else if (IsEd25519(type)) {
    s = ParseEd25519(reader, &key);
  } else {
    return Fail(Errc::kUnsupportedType, "unknown key type");
  }
  if (!s) return s;
  if (IsSk(type)) {
    std::string_view application;
    s = ReadCStringField(reader, "sk application", &application);
    if (!s) return s;
    if (application.size() > kMaxApplicationLength) {
      return Fail(Errc::kTooLarge, "sk application too long");
    }
    key.application = std::string(application);
  }
  // OpenSSL must accept the key too (EC points are checked on the curve);
  // done here so that every PublicKey is usable for verification.
  Result<EvpPkeyPtr> pkey = ToEvpPkey(key);
  if (!pkey) return Unexpected{pkey.error()};
  key.blob = WriteKeyBlob(key);
  *out = std::move(key);
  return Ok();
}

Result<PublicKey> ParsePublicKeyBlob(std::span<const uint8_t> blob) {
  WireReader r(blob);
  std::string_view name;
  Status s = ReadCStringField(&r, "key type", &name);
  if (!s) return Unexpected{s.error()};
  if (IsCertTypeName(name)) {
    return Fail(Errc::kUnsupportedType, "certificate where a key is expected");
  }
  std::optional<KeyType> type = KeyTypeFromName(name);
  if (!type) return Fail(Errc::kUnsupportedType, "unknown key type");
  PublicKey key;
  s = ParseKeyFields(*type, &r, &key);
  if (!s) return Unexpected{s.error()};
  if (!r.empty()) return Fail(Errc::kTrailingData, "bytes after public key");
  return key;
}

Result<AuthorizedKey> ParsePublicKeyLine(std::string_view line) {
  std::string_view rest = TrimBlanks(line);
  if (rest.empty()) return Fail(Errc::kBadFormat, "empty key line");
  // One line: a line break inside (a comment of a policy's user_keys entry,
  // say) would put a second line before sshd when the line is printed.
  if (rest.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos) {
    return Fail(Errc::kBadFormat, "key line holds a line break or NUL; give one key per line");
  }
  std::string_view type_name = NextToken(&rest);
  std::string_view base64 = NextToken(&rest);
  if (base64.empty()) return Fail(Errc::kBadFormat, "key line has no base64 field");
  if (IsCertTypeName(type_name)) {
    return Fail(Errc::kUnsupportedType, "certificate where a key is expected");
  }
  if (!KeyTypeFromName(type_name)) return Fail(Errc::kUnsupportedType, "unknown key type on line");
  Result<std::vector<uint8_t>> blob = Base64Decode(base64);
  if (!blob) return Unexpected{blob.error()};
  Result<PublicKey> key = ParsePublicKeyBlob(*blob);
  if (!key) return Unexpected{key.error()};
  if (key->TypeName() != type_name) {
    return Fail(Errc::kTypeMismatch, "key line type differs from the type in the blob");
  }
  AuthorizedKey out;
  out.key = std::move(*key);
  out.comment = std::string(rest);
  return out;
}

std::string FormatPublicKeyLine(const PublicKey& key, std::string_view comment) {
  std::string line(key.TypeName());
  line += ' ';
  line += Base64Encode(key.blob);
  if (!comment.empty()) {
    line += ' ';
    line += comment;
  }
  return line;
}

bool NextKeyFileLine(std::string_view* text, size_t* line_no, std::string_view* line) {
  while (!text->empty()) {
    size_t nl = text->find('\n');
    std::string_view raw = text->substr(0, nl);
    *text = nl == std::string_view::npos ? std::string_view() : text->substr(nl + 1);
    ++*line_no;
    size_t start = raw.find_first_not_of(" \t\r");
    if (start == std::string_view::npos || raw[start] == '#') continue;
    *line = raw.substr(start);
    return true;
  }
  return false;
}

std::string Sha256Fingerprint(std::span<const uint8_t> blob) {
  Result<Sha256Digest> digest = Sha256(blob);
  if (!digest) return "SHA256:?";  // matches no real fingerprint
  return "SHA256:" + Base64EncodeUnpadded(*digest);
}

}  // namespace certgate::core
