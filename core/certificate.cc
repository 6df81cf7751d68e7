#include "core/certificate.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>

#include "core/base64.h"
#include "core/digest.h"
#include "core/log.h"
#include "core/wire_reader.h"

namespace certgate::core {
namespace {

constexpr std::string_view kForceCommand = "force-command";
constexpr std::string_view kSourceAddress = "source-address";
constexpr std::string_view kVerifyRequired = "verify-required";

// kFlagExtensions are the extensions OpenSSH defines; all are flags.
constexpr std::array<std::string_view, 6> kFlagExtensions = {
    "permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-pty",
    "permit-user-rc",        "no-touch-required",
};

// ReadName reads a string that must hold no NUL and be at most
// kMaxNameLength bytes; the error tells truncation from bad content.
Status ReadName(WireReader* r, const char* what, std::string_view* out) {
  WireReader probe = *r;
  std::span<const uint8_t> raw;
  if (!probe.ReadString(&raw)) return Fail(Errc::kTruncated, what);
  if (!r->ReadCString(out)) return Fail(Errc::kBadEncoding, std::string(what) + ": contains NUL");
  if (out->size() > kMaxNameLength) return Fail(Errc::kTooLarge, std::string(what) + ": too long");
  return Ok();
}

Status ParsePrincipals(WireReader principals, std::vector<std::string>* out) {
  while (!principals.empty()) {
    if (out->size() >= kMaxPrincipals) return Fail(Errc::kTooLarge, "too many principals");
    std::string_view name;
    Status s = ReadName(&principals, "principal", &name);
    if (!s) return s;
    out->emplace_back(name);
  }
  return Ok();
}

// ReadStringValue reads the data of a value option: exactly one string
// without NUL (OpenSSH: sshbuf_get_cstring, then "extra data" check).
Status ReadStringValue(WireReader data, std::string_view name, std::string* out) {
  std::string_view value;
  if (!data.ReadCString(&value)) {
    return Fail(Errc::kBadFormat, "option " + std::string(name) + ": value is not a string");
  }
  if (!data.empty()) {
    return Fail(Errc::kBadFormat, "option " + std::string(name) + ": extra data");
  }
  *out = std::string(value);
  return Ok();
}

// ReadOptionList reads the name/data pairs of one option section, rejecting
// a name seen twice and more than kMaxOptions entries.
Status ReadOptionList(WireReader list, const char* section,
                      std::vector<std::pair<std::string_view, WireReader>>* out) {
  while (!list.empty()) {
    if (out->size() >= kMaxOptions) {
      return Fail(Errc::kTooLarge, "more than " + std::to_string(kMaxOptions) + " " + section + "s");
    }
    std::string_view name;
    WireReader data;
    Status s = ReadName(&list, section, &name);
    if (!s) return s;
    if (!list.ReadSub(&data)) return Fail(Errc::kTruncated, std::string(section) + " data");
    for (const auto& seen : *out) {
      if (seen.first == name) {
        // The name is certificate-controlled: keep it out of the detail.
        return Fail(Errc::kDuplicateOption, std::string(section) + " repeated");
      }
    }
    out->emplace_back(name, data);
  }
  return Ok();
}

Status ParseCriticalOptions(WireReader list, Certificate* cert) {
  std::vector<std::pair<std::string_view, WireReader>> options;
  Status s = ReadOptionList(list, "critical option", &options);
  if (!s) return s;
  for (const auto& [name, data] : options) {
    CertOption option;
    option.name = std::string(name);
    if (name == kForceCommand || name == kSourceAddress) {
      option.is_flag = false;
      s = ReadStringValue(data, name, &option.value);
      if (!s) return s;
      if (name == kForceCommand) {
        cert->force_command = option.value;
      } else {
        Result<std::vector<std::string>> cidrs = ParseCidrList(option.value);
        if (!cidrs) return Unexpected{cidrs.error()};
        cert->source_address = option.value;
      }
    } else if (name == kVerifyRequired) {
      if (!data.empty()) return Fail(Errc::kBadFormat, "verify-required: flag with data");
      cert->verify_required = true;
    } else {
      // sshd refuses any certificate carrying a critical option it does not
      // implement; so do we.
      return Fail(Errc::kUnknownCriticalOption, "unknown critical option");
    }
    cert->critical_options.push_back(std::move(option));
  }
  return Ok();
}

Status ParseExtensions(WireReader list, Certificate* cert) {
  std::vector<std::pair<std::string_view, WireReader>> options;
  Status s = ReadOptionList(list, "extension", &options);
  if (!s) return s;
  for (const auto& [name, data] : options) {
    CertOption option;
    option.name = std::string(name);
    bool known = false;
    for (std::string_view flag : kFlagExtensions) known = known || name == flag;
    if (known) {
      if (!data.empty()) {
        return Fail(Errc::kBadFormat, "extension " + option.name + ": flag with data");
      }
    } else if (!data.empty()) {
      // Unknown extensions are ignored by sshd; keep them for policy. A
      // value that is not exactly one string is kept as its raw bytes.
      option.is_flag = false;
      WireReader value_reader = data;
      std::span<const uint8_t> value;
      if (value_reader.ReadString(&value) && value_reader.empty()) {
        option.value = std::string(AsStringView(value));
      } else {
        option.value = std::string(AsStringView(data.rest()));
      }
    }
    cert->extensions.push_back(std::move(option));
  }
  return Ok();
}

// ParseAddress accepts the numeric forms sshd's addr_pton accepts through
// getaddrinfo(AI_NUMERICHOST): IPv6 as inet_pton reads it, IPv4 as
// inet_aton reads it, so "127.1" and "0177.0.0.1" (octal) are 127.0.0.1
// for us as for sshd. CheckCidr has already limited the characters to
// hex digits, '.' and ':' (no "0x", no space, no scope id), so inet_aton
// reads the whole text.
bool ParseAddress(const std::string& text, std::array<uint8_t, 16>* bytes, unsigned* max_bits) {
  if (text.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, text.c_str(), bytes->data()) != 1) return false;
    *max_bits = 128;
    return true;
  }
  in_addr v4{};
  if (inet_aton(text.c_str(), &v4) == 0) return false;
  std::memcpy(bytes->data(), &v4.s_addr, 4);  // network byte order
  *max_bits = 32;
  return true;
}

Status CheckCidr(std::string_view entry) {
  // addr_match_cidr_list: bounded length and a fixed character set before
  // anything reaches the address parser.
  constexpr size_t kMaxEntry = INET6_ADDRSTRLEN + 3;
  constexpr std::string_view kValidChars = "0123456789abcdefABCDEF.:/";
  if (entry.empty()) return Fail(Errc::kBadFormat, "source-address: empty entry");
  if (entry.size() > kMaxEntry) return Fail(Errc::kBadFormat, "source-address: entry too long");
  if (entry.find_first_not_of(kValidChars) != std::string_view::npos) {
    return Fail(Errc::kBadFormat, "source-address: invalid character");
  }
  std::string_view addr = entry;
  std::optional<unsigned> mask;
  size_t slash = entry.find('/');
  if (slash != std::string_view::npos) {
    addr = entry.substr(0, slash);
    std::string_view digits = entry.substr(slash + 1);
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
      return Fail(Errc::kBadFormat, "source-address: bad mask length");
    }
    mask = value;
  }
  std::array<uint8_t, 16> bytes{};
  unsigned max_bits = 0;
  if (!ParseAddress(std::string(addr), &bytes, &max_bits)) {
    return Fail(Errc::kBadFormat, "source-address: bad address");
  }
  unsigned bits = mask.value_or(max_bits);
  if (bits > max_bits) return Fail(Errc::kBadFormat, "source-address: mask too long");
  // The host part must be zero (addr_host_is_all0s).
  for (unsigned i = bits; i < max_bits; ++i) {
    if ((bytes[i / 8] >> (7 - i % 8)) & 1) {
      return Fail(Errc::kBadFormat, "source-address: host bits set");
    }
  }
  return Ok();
}

}  // namespace

bool Certificate::HasExtension(std::string_view name) const {
  for (const auto& ext : extensions) {
    if (ext.name == name) return true;
  }
  return false;
}

Result<std::vector<std::string>> ParseCidrList(std::string_view list) {
  std::vector<std::string> entries;
  for (;;) {
    size_t comma = list.find(',');
    std::string_view entry = list.substr(0, comma);
    Status s = CheckCidr(entry);
    if (!s) return Unexpected{s.error()};
    entries.emplace_back(entry);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return entries;
}

Result<Certificate> ParseCertificate(std::span<const uint8_t> blob, SignatureMemo* memo) {
  WireReader r(blob);
  Certificate cert;

  // Head: type name, nonce, the certified key's fields.
  std::string_view type_name;
  Status s = ReadName(&r, "certificate type", &type_name);
  if (!s) return Unexpected{s.error()};
  std::optional<KeyType> type = KeyTypeFromCertName(type_name);
  // The rsa-sha2-*-cert names are algorithm names only, never in a blob.
  if (!type || CertTypeName(*type) != type_name) {
    if (type_name == "ssh-dss-cert-v01@openssh.com") {
      return Fail(Errc::kUnsupportedType, "DSA certificates are not supported (OpenSSH disabled DSA in 9.8)");
    }
    return Fail(Errc::kUnsupportedType, "not a certificate: type " + QuoteForLog(type_name) +
                                            "; sshd passes a certificate only, give the -cert.pub file's key");
  }
  cert.type_name = std::string(type_name);
  std::span<const uint8_t> nonce;
  if (!r.ReadString(&nonce)) return Fail(Errc::kTruncated, "nonce");
  cert.nonce.assign(nonce.begin(), nonce.end());
  s = ParseKeyFields(*type, &r, &cert.key);
  if (!s) return Unexpected{s.error()};

  // Tail, in draft-miller-ssh-cert order.
  if (!r.ReadU64(&cert.serial)) return Fail(Errc::kTruncated, "serial");
  if (!r.ReadU32(&cert.cert_type)) return Fail(Errc::kTruncated, "type");
  std::string_view key_id;
  s = ReadName(&r, "key id", &key_id);
  if (!s) return Unexpected{s.error()};
  cert.key_id = std::string(key_id);
  WireReader principals;
  if (!r.ReadSub(&principals)) return Fail(Errc::kTruncated, "principals");
  if (!r.ReadU64(&cert.valid_after)) return Fail(Errc::kTruncated, "valid after");
  if (!r.ReadU64(&cert.valid_before)) return Fail(Errc::kTruncated, "valid before");
  WireReader critical;
  WireReader extensions;
  std::span<const uint8_t> reserved;
  std::span<const uint8_t> signature_key;
  if (!r.ReadSub(&critical)) return Fail(Errc::kTruncated, "critical options");
  if (!r.ReadSub(&extensions)) return Fail(Errc::kTruncated, "extensions");
  if (!r.ReadString(&reserved)) return Fail(Errc::kTruncated, "reserved");
  if (!r.ReadString(&signature_key)) return Fail(Errc::kTruncated, "signature key");
  // The CA signs every byte before the signature field.
  std::span<const uint8_t> signed_part = blob.first(blob.size() - r.remaining());
  std::span<const uint8_t> signature;
  if (!r.ReadString(&signature)) return Fail(Errc::kTruncated, "signature");
  if (!r.empty()) return Fail(Errc::kTrailingData, "bytes after certificate signature");
  if (signed_part.size() > kMaxSignedBytes) {
    return Fail(Errc::kTooLarge, "signed part over 1 MiB");
  }

  s = ParsePrincipals(principals, &cert.principals);
  if (!s) return Unexpected{s.error()};
  s = ParseCriticalOptions(critical, &cert);
  if (!s) return Unexpected{s.error()};
  s = ParseExtensions(extensions, &cert);
  if (!s) return Unexpected{s.error()};
  if (cert.cert_type != kCertTypeUser && cert.cert_type != kCertTypeHost) {
    return Fail(Errc::kNotUserCertificate, "unknown certificate type");
  }

  // The CA key must be a plain key: ParsePublicKeyBlob refuses certificates.
  Result<PublicKey> ca = ParsePublicKeyBlob(signature_key);
  if (!ca) return Unexpected{ca.error()};
  cert.signature_key = std::move(*ca);
  SignatureMemo::Digest digest{};
  if (memo != nullptr) {
    Result<Sha256Digest> d = Sha256(blob);
    if (d) {
      digest = *d;
    } else {
      memo = nullptr;  // then verify as without
    }
  }
  const bool known_good = memo != nullptr && memo->Contains(digest);
  Result<SignatureInfo> info = VerifySignature(cert.signature_key, signature, signed_part, known_good);
  if (!info) return Unexpected{info.error()};
  if (memo != nullptr && !known_good) memo->Remember(digest);
  cert.signature = std::move(*info);
  cert.blob.assign(blob.begin(), blob.end());
  return cert;
}

Status CheckUserCertificate(const Certificate& cert, std::string_view expected_type) {
  if (!expected_type.empty()) {
    // sshd's %t is the algorithm the client offered: the certificate name,
    // or for RSA one of the rsa-sha2-*-cert aliases.
    std::optional<KeyType> expected = KeyTypeFromCertName(expected_type);
    if (!expected || *expected != cert.key.type) {
      return Fail(Errc::kTypeMismatch, "the offered algorithm " + QuoteForLog(expected_type) +
                                           " is not the certificate's type " + cert.type_name +
                                           "; pass sshd's %t with its %k");
    }
  }
  if (cert.cert_type != kCertTypeUser) {
    return Fail(Errc::kNotUserCertificate,
                std::string(cert.cert_type == kCertTypeHost ? "a host certificate" : "not a user certificate") +
                    "; a login needs a user certificate: sign the user's key with ssh-keygen -s, without -h");
  }
  return Ok();
}

Result<Certificate> ParseCertificateBase64(std::string_view base64, SignatureMemo* memo) {
  Result<std::vector<uint8_t>> blob = Base64Decode(base64);
  if (!blob) return Unexpected{blob.error()};
  return ParseCertificate(*blob, memo);
}

Result<Certificate> ParseUserCertificate(std::string_view base64, std::string_view expected_type,
                                         SignatureMemo* memo) {
  Result<Certificate> cert = ParseCertificateBase64(base64, memo);
  if (!cert) return cert;
  if (Status user = CheckUserCertificate(*cert, expected_type); !user) return Unexpected{user.error()};
  return cert;
}

}  // namespace certgate::core
