#include "core/krl.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "core/base64.h"
#include "core/digest.h"
#include "core/read_file.h"
#include "core/unique_fd.h"
#include "core/wire_reader.h"

namespace certgate::core {
namespace {

constexpr uint8_t kMagic[8] = {'S', 'S', 'H', 'K', 'R', 'L', '\n', '\0'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kMaxKrlFileSize = 64 * 1024 * 1024;

// Section types (PROTOCOL.krl).
constexpr uint8_t kSectionCertificates = 1;
constexpr uint8_t kSectionExplicitKey = 2;
constexpr uint8_t kSectionFingerprintSha1 = 3;
constexpr uint8_t kSectionSignature = 4;
constexpr uint8_t kSectionFingerprintSha256 = 5;
constexpr uint8_t kSectionExtension = 255;
// Certificate subsection types.
constexpr uint8_t kCertSerialList = 0x20;
constexpr uint8_t kCertSerialRange = 0x21;
constexpr uint8_t kCertSerialBitmap = 0x22;
constexpr uint8_t kCertKeyId = 0x23;
constexpr uint8_t kCertExtension = 0x39;
// krl.c reads a bitmap as an mpint (sshbuf_get_bignum2_bytes_direct), which
// allows at most SSHBUF_MAX_BIGNUM bytes, plus a leading zero byte.
constexpr size_t kMaxBitmapBytes = 16384 / 8;

using Blob = std::vector<uint8_t>;

bool Contains(const std::vector<Blob>& sorted, const Blob& item) {
  return std::binary_search(sorted.begin(), sorted.end(), item);
}

// ContainsDigest returns true if |digest| is in |sorted|, or could not be
// computed: a key whose revocation cannot be checked is revoked (fail
// closed, as sshd's ssh_krl_check_key fails on a fingerprint error).
template <typename DigestT>
bool ContainsDigest(const std::vector<Blob>& sorted, const Result<DigestT>& digest) {
  return !digest || Contains(sorted, Blob(digest->begin(), digest->end()));
}

void SortUnique(std::vector<Blob>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

// ReadText reads a string as krl.c does with sshbuf_get_cstring: a NUL is
// allowed only as the last byte, and is not part of the text.
Result<std::string_view> ReadText(WireReader* r, const char* what) {
  std::span<const uint8_t> bytes;
  if (!r->ReadString(&bytes)) return Fail(Errc::kTruncated, what);
  if (!bytes.empty() && bytes.back() == 0) bytes = bytes.first(bytes.size() - 1);
  if (std::find(bytes.begin(), bytes.end(), uint8_t{0}) != bytes.end()) {
    return Fail(Errc::kBadEncoding, std::string(what) + " contains NUL");
  }
  return AsStringView(bytes);
}

Status AddRange(uint64_t lo, uint64_t hi, Krl::CaSection* section) {
  if (lo == 0 || lo > hi) {
    return Fail(Errc::kBadFormat, "serial range " + std::to_string(lo) + "-" + std::to_string(hi) +
                                      " is invalid (serial 0 or inverted)");
  }
  section->serials.push_back({lo, hi});
  return Ok();
}

// ReadExtension reads an extension (name, critical flag, data) and refuses
// a critical one: we cannot know what it would revoke.
Status ReadExtension(WireReader* r, const char* where) {
  Result<std::string_view> name = ReadText(r, "extension name");
  if (!name) return Unexpected{name.error()};
  uint8_t critical = 0;
  std::span<const uint8_t> data;
  if (!r->ReadU8(&critical) || !r->ReadString(&data)) {
    return Fail(Errc::kTruncated, std::string(where) + " extension");
  }
  if (!r->empty()) return Fail(Errc::kTrailingData, std::string(where) + " extension");
  if (critical != 0) {
    return Fail(Errc::kBadFormat,
                std::string("unsupported critical ") + where + " extension");
  }
  return Ok();
}

// ParseBitmap reads a serial bitmap: uint64 offset, then an mpint whose bit i
// revokes serial offset + i.
Status ParseBitmap(WireReader data, Krl::CaSection* section) {
  Krl::SerialBitmap bitmap;
  std::span<const uint8_t> bits;
  if (!data.ReadU64(&bitmap.offset) || !data.ReadString(&bits)) {
    return Fail(Errc::kTruncated, "serial bitmap");
  }
  if (!data.empty()) return Fail(Errc::kTrailingData, "serial bitmap");
  // The mpint rules of sshbuf_get_bignum2_bytes_direct: no negative
  // value, bounded size, and extra leading zero bytes are allowed and
  // trimmed (so we cannot use WireReader::ReadMpint, which refuses them).
  if (!bits.empty() && (bits[0] & 0x80) != 0) {
    return Fail(Errc::kBadFormat, "serial bitmap is a negative mpint");
  }
  if (bits.size() > kMaxBitmapBytes + 1 || (bits.size() == kMaxBitmapBytes + 1 && bits[0] != 0)) {
    return Fail(Errc::kTooLarge, "serial bitmap larger than 2048 bytes");
  }
  while (!bits.empty() && bits[0] == 0) bits = bits.subspan(1);
  if (bits.empty()) return Ok();  // revokes nothing
  // krl.c walks bits 0 .. highest set bit and refuses a serial that
  // wraps past 2^64 - 1 to 0, and serial 0 itself.
  unsigned top_bits = 0;
  for (unsigned b = bits[0]; b != 0; b >>= 1) ++top_bits;
  const uint64_t last_bit = static_cast<uint64_t>(bits.size() - 1) * 8 + top_bits - 1;
  if (last_bit > UINT64_MAX - bitmap.offset) {
    return Fail(Errc::kBadFormat, "serial bitmap runs past the largest serial");
  }
  if (bitmap.offset == 0 && (bits.back() & 1) != 0) {
    return Fail(Errc::kBadFormat, "serial bitmap revokes serial 0");
  }
  bitmap.bits.assign(bits.begin(), bits.end());
  section->bitmaps.push_back(std::move(bitmap));
  return Ok();
}

Status ParseCertSubsection(uint8_t type, WireReader data, Krl::CaSection* section) {
  switch (type) {
    case kCertSerialList:
      while (!data.empty()) {
        uint64_t serial = 0;
        if (!data.ReadU64(&serial)) return Fail(Errc::kTruncated, "serial list");
        Status s = AddRange(serial, serial, section);
        if (!s) return s;
      }
      return Ok();
    case kCertSerialRange: {
      uint64_t lo = 0, hi = 0;
      if (!data.ReadU64(&lo) || !data.ReadU64(&hi)) return Fail(Errc::kTruncated, "serial range");
      if (!data.empty()) return Fail(Errc::kTrailingData, "serial range");
      return AddRange(lo, hi, section);
    }
    case kCertSerialBitmap:
      return ParseBitmap(data, section);
    case kCertKeyId:
      while (!data.empty()) {
        Result<std::string_view> id = ReadText(&data, "key id");
        if (!id) return Unexpected{id.error()};
        section->key_ids.emplace_back(*id);
      }
      return Ok();
    case kCertExtension:
      return ReadExtension(&data, "certificate section");
    default:
      return Fail(Errc::kBadFormat, "unknown certificate subsection " + std::to_string(type));
  }
}

Status ParseCertSection(WireReader data, Krl* krl) {
  Krl::CaSection section;
  std::span<const uint8_t> ca, reserved;
  if (!data.ReadString(&ca) || !data.ReadString(&reserved)) {
    return Fail(Errc::kTruncated, "certificate section header");
  }
  if (ca.empty()) {
    section.any_ca = true;
  } else {
    Result<PublicKey> key = ParsePublicKeyBlob(ca);
    if (!key) return Fail(key.error().code, "certificate section CA key: " + key.error().detail);
    section.ca_blob = key->blob;
  }
  while (!data.empty()) {
    uint8_t type = 0;
    WireReader sub;
    if (!data.ReadU8(&type) || !data.ReadSub(&sub)) return Fail(Errc::kTruncated, "certificate subsection");
    Status s = ParseCertSubsection(type, sub, &section);
    if (!s) return s;
  }
  std::sort(section.serials.begin(), section.serials.end(),
            [](const auto& a, const auto& b) { return a.lo < b.lo; });
  std::vector<Krl::SerialRange> merged;
  for (const auto& range : section.serials) {
    if (!merged.empty() && (range.lo <= merged.back().hi ||
                            (merged.back().hi != UINT64_MAX && range.lo == merged.back().hi + 1))) {
      merged.back().hi = std::max(merged.back().hi, range.hi);
    } else {
      merged.push_back(range);
    }
  }
  section.serials = std::move(merged);
  std::sort(section.key_ids.begin(), section.key_ids.end());
  krl->sections.push_back(std::move(section));
  return Ok();
}

// ParseBlobSection reads a list of strings. Like krl.c, explicit key blobs
// are kept as raw bytes, not parsed: sshd compares them byte for byte with
// the plain blob of the key it checks, so a blob of a type we cannot parse
// (a DSA key, say) simply never matches, instead of failing the whole KRL.
Status ParseBlobSection(WireReader data, size_t expected_len, const char* what,
                        std::vector<Blob>* out) {
  while (!data.empty()) {
    std::span<const uint8_t> item;
    if (!data.ReadString(&item)) return Fail(Errc::kTruncated, what);
    if (expected_len != 0 && item.size() != expected_len) {
      return Fail(Errc::kBadFormat, std::string(what) + " of wrong length");
    }
    out->emplace_back(item.begin(), item.end());
  }
  return Ok();
}

Result<Krl> ParseBinaryKrl(WireReader r) {
  Krl krl;
  std::span<const uint8_t> magic, reserved;
  uint32_t version = 0;
  uint64_t krl_version = 0, generated = 0, flags = 0;
  if (!r.ReadBytes(sizeof kMagic, &magic) || !r.ReadU32(&version) || !r.ReadU64(&krl_version) ||
      !r.ReadU64(&generated) || !r.ReadU64(&flags) || !r.ReadString(&reserved)) {
    return Fail(Errc::kTruncated, "KRL header");
  }
  Result<std::string_view> comment = ReadText(&r, "KRL comment");
  if (!comment) return Unexpected{comment.error()};
  if (version != kFormatVersion) {
    return Fail(Errc::kBadFormat, "KRL format version " + std::to_string(version) + " (expected 1)");
  }
  bool signatures = false;
  while (!r.empty()) {
    uint8_t type = 0;
    if (!r.ReadU8(&type)) return Fail(Errc::kTruncated, "section type");
    if (type == kSectionSignature) {
      // string signature_key, string signature: not checked by sshd either.
      std::span<const uint8_t> key, sig;
      if (!r.ReadString(&key) || !r.ReadString(&sig)) return Fail(Errc::kTruncated, "signature section");
      signatures = true;
      continue;
    }
    if (signatures) return Fail(Errc::kBadFormat, "section after a signature");
    WireReader data;
    if (!r.ReadSub(&data)) return Fail(Errc::kTruncated, "section data");
    Status s;
    switch (type) {
      case kSectionCertificates:
        s = ParseCertSection(data, &krl);
        break;
      case kSectionExplicitKey:
        s = ParseBlobSection(data, 0, "explicit key", &krl.revoked_blobs);
        break;
      case kSectionFingerprintSha1:
        s = ParseBlobSection(data, 20, "SHA1 fingerprint", &krl.revoked_sha1);
        break;
      case kSectionFingerprintSha256:
        s = ParseBlobSection(data, 32, "SHA256 fingerprint", &krl.revoked_sha256);
        break;
      case kSectionExtension:
        s = ReadExtension(&data, "KRL");
        break;
      default:
        return Fail(Errc::kBadFormat, "unknown KRL section " + std::to_string(type));
    }
    if (!s) return Unexpected{s.error()};
  }
  SortUnique(&krl.revoked_blobs);
  SortUnique(&krl.revoked_sha1);
  SortUnique(&krl.revoked_sha256);
  return krl;
}

// ParseTextList reads sshd's fallback format: one key (or certificate,
// standing for its key) per line.
Result<Krl> ParseTextList(std::string_view text) {
  Krl krl;
  size_t line_no = 0;
  std::string_view line;
  while (NextKeyFileLine(&text, &line_no, &line)) {
    Result<AuthorizedKey> key = ParsePublicKeyLine(line);
    if (key) {
      krl.revoked_blobs.push_back(key->key.blob);
      continue;
    }
    // A certificate line revokes the certificate's key, as sshd compares
    // public parts only.
    std::string_view type = line.substr(0, line.find_first_of(" \t"));
    if (IsCertTypeName(type)) {
      std::string_view rest = line.substr(type.size());
      rest.remove_prefix(std::min(rest.find_first_not_of(" \t"), rest.size()));
      Result<std::vector<uint8_t>> blob = Base64Decode(rest.substr(0, rest.find_first_of(" \t\r")));
      Result<Certificate> cert =
          blob ? ParseCertificate(*blob) : Result<Certificate>(Unexpected{blob.error()});
      if (cert) {
        krl.revoked_blobs.push_back(cert->key.blob);
        continue;
      }
    }
    return Fail(Errc::kBadFormat, "line " + std::to_string(line_no) + " is not a public key");
  }
  SortUnique(&krl.revoked_blobs);
  return krl;
}

}  // namespace

bool Krl::IsKeyRevoked(const PublicKey& key) const {
  if (Contains(revoked_blobs, key.blob)) return true;
  if (!revoked_sha1.empty() && ContainsDigest(revoked_sha1, Sha1(key.blob))) return true;
  if (!revoked_sha256.empty() && ContainsDigest(revoked_sha256, Sha256(key.blob))) return true;
  return false;
}

bool Krl::IsCertificateRevoked(const Certificate& cert) const {
  for (const CaSection& section : sections) {
    if (!section.any_ca && section.ca_blob != cert.signature_key.blob) continue;
    if (std::binary_search(section.key_ids.begin(), section.key_ids.end(), cert.key_id)) return true;
    auto it = std::upper_bound(section.serials.begin(), section.serials.end(), cert.serial,
                               [](uint64_t s, const SerialRange& r) { return s < r.lo; });
    if (it != section.serials.begin() && cert.serial <= std::prev(it)->hi) return true;
    for (const SerialBitmap& bitmap : section.bitmaps) {
      if (cert.serial < bitmap.offset) continue;
      const uint64_t bit = cert.serial - bitmap.offset;
      if (bit / 8 >= bitmap.bits.size()) continue;
      const size_t byte = bitmap.bits.size() - 1 - static_cast<size_t>(bit / 8);
      if ((bitmap.bits[byte] >> (bit % 8)) & 1) return true;
    }
  }
  // sshd also checks the certified key and the CA key themselves.
  return IsKeyRevoked(cert.key) || IsKeyRevoked(cert.signature_key);
}

Result<Krl> ParseKrl(std::span<const uint8_t> data) {
  if (data.size() >= sizeof kMagic && std::equal(data.begin(), data.begin() + sizeof kMagic, kMagic)) {
    return ParseBinaryKrl(WireReader(data));
  }
  return ParseTextList(AsStringView(data));
}

Result<Krl> LoadKrlFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return Fail(Errc::kIo, path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Fail(Errc::kIo, path + ": cannot stat: " + std::strerror(errno));
  // /dev/null is read by sshd as an empty list (RevokedKeys /dev/null is a
  // common placeholder): it revokes nothing. Any other device, FIFO or
  // directory could block or never end.
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) return ParseKrl({});
  if (!S_ISREG(st.st_mode)) return Fail(Errc::kIo, path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxKrlFileSize) {
    return Fail(Errc::kTooLarge, path + ": larger than 64 MiB");
  }
  std::string data;
  Status read = ReadBounded(fd.get(), kMaxKrlFileSize, static_cast<size_t>(st.st_size), &data);
  if (!read) {
    if (read.error().code == Errc::kTooLarge) return Fail(Errc::kTooLarge, path + ": larger than 64 MiB");
    return Fail(Errc::kIo, path + ": " + read.error().detail);
  }
  Result<Krl> krl = ParseKrl(AsBytes(data));
  if (!krl) return Fail(krl.error().code, path + ": " + krl.error().detail);
  return krl;
}

}  // namespace certgate::core
