// The snapshot format: EncodeSnapshot writes a compiled policy and where it
// came from; DecodeSnapshot (SnapshotReader) checks every part of untrusted
// bytes before a decision can follow it. Files are policy_snapshot_file.cc's.
#include "core/policy_snapshot.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <utility>

#include "core/digest.h"
#include "core/key_options.h"
#include "core/sshd_output.h"
#include "core/wire_reader.h"

namespace certgate::core {
namespace {

constexpr char kMagic[8] = {'c', 'e', 'r', 't', 'g', 'a', 't', 'e'};
constexpr uint32_t kFormat = 2;  // 2: the header carries a SHA-256 digest
constexpr uint32_t kByteOrderMark = 0x01020304;
constexpr uint32_t kByteOrderSwapped = 0x04030201;

enum Section : size_t { kMeta, kChars, kStringEnds, kLists, kRules, kByName, kSectionCount };
constexpr const char* kSectionNames[kSectionCount] = {"meta", "chars", "string_ends", "lists", "rules",
                                                      "by_name"};

struct SectionRef {
  uint64_t offset = 0;
  uint64_t size = 0;
};

struct Header {
  char magic[8];
  uint32_t format;
  uint32_t byte_order;
  uint64_t file_size;
  SectionRef sections[kSectionCount];
  uint8_t digest[32];  // SHA-256 of the file with these 32 bytes left out
};
static_assert(sizeof(Header) == kSnapshotHeaderSize, "the header's layout is the file format");
constexpr size_t kDigestOffset = offsetof(Header, digest);
static_assert(sizeof(UserIndexEntry) == 8 && sizeof(GenericRule) == 16, "layout is the file format");

constexpr uint32_t kMaxKeyType = static_cast<uint32_t>(KeyType::kSkEd25519);

template <typename T>
std::span<const uint8_t> BytesOf(std::span<const T> items) {
  return {reinterpret_cast<const uint8_t*>(items.data()), items.size_bytes()};
}

size_t Align8(size_t n) { return (n + 7) & ~size_t{7}; }

// Digest returns the SHA-256 of |bytes| (at least a header) without the
// header's digest field, or kInternal if OpenSSL fails. The two ranges are
// hashed in place: a snapshot can be megabytes.
Result<Sha256Digest> Digest(std::span<const uint8_t> bytes) {
  static_assert(sizeof(Header::digest) == std::tuple_size_v<Sha256Digest>);
  const size_t after = kDigestOffset + sizeof(Header::digest);
  return Sha256({bytes.first(kDigestOffset), bytes.subspan(after)});
}

// --- Encoding ---------------------------------------------------------------

void PutStrings(WireWriter& w, std::span<const std::string> strings) {
  w.PutU32(static_cast<uint32_t>(strings.size()));
  for (const std::string& s : strings) w.PutString(s);
}

void PutConstraints(WireWriter& w, const CompiledConstraints& c) {
  w.PutU8(c.has_max_lifetime ? 1 : 0);
  w.PutU64(c.max_lifetime);
  w.PutU32(c.key_id);
  w.PutU32(c.require_extensions);
  w.PutU32(c.forbid_extensions);
  w.PutU32(c.key_types);
  w.PutU8(c.has_min_rsa_bits ? 1 : 0);
  w.PutU32(c.min_rsa_bits);
  w.PutU8(c.source_address ? 1 + static_cast<uint8_t>(*c.source_address) : 0);
}

std::vector<uint8_t> EncodeMeta(const CompiledPolicy& policy, const SnapshotOrigin& origin) {
  WireWriter w;
  w.PutString(origin.version);
  w.PutString(origin.policy_path);
  w.PutU8(origin.check_permissions ? 1 : 0);
  w.PutU32(origin.owner_uid);
  w.PutU64(static_cast<uint64_t>(origin.stamped_at_ns));
  w.PutU32(static_cast<uint32_t>(origin.stamps.size()));
  for (const FileStamp& s : origin.stamps) {
    w.PutString(s.path);
    w.PutU32(static_cast<uint32_t>(s.error));
    w.PutU64(static_cast<uint64_t>(s.dev));
    w.PutU64(static_cast<uint64_t>(s.ino));
    w.PutU64(static_cast<uint64_t>(s.size));
    w.PutU64(static_cast<uint64_t>(s.mtime_ns));
    w.PutU64(static_cast<uint64_t>(s.ctime_ns));
    w.PutU32(static_cast<uint32_t>(s.mode));
    w.PutU32(static_cast<uint32_t>(s.uid));
    w.PutU32(static_cast<uint32_t>(s.gid));
  }
  PutStrings(w, policy.files());
  w.PutU32(static_cast<uint32_t>(policy.authorities().size()));
  for (const Authority& a : policy.authorities()) {
    w.PutString(a.name);
    w.PutU32(static_cast<uint32_t>(a.keys.size()));
    for (const PublicKey& k : a.keys) w.PutString(k.blob);
    PutStrings(w, a.fingerprints);
    w.PutU32(static_cast<uint32_t>(a.revoked_serials.size()));
    for (uint64_t serial : a.revoked_serials) w.PutU64(serial);
    w.PutU8(a.allow_sha1 ? 1 : 0);
    w.PutString(a.where.file);
    w.PutU32(static_cast<uint32_t>(a.where.line));
    w.PutU32(static_cast<uint32_t>(a.where.column));
  }
  PutStrings(w, policy.revoked_key_ids());
  w.PutU8(policy.krl_path() ? 1 : 0);
  w.PutString(policy.krl_path() ? *policy.krl_path() : std::string());
  PutConstraints(w, policy.defaults());
  w.PutU32(static_cast<uint32_t>(policy.all_constraints().size()));
  for (const CompiledConstraints& c : policy.all_constraints()) PutConstraints(w, c);
  w.PutU32(static_cast<uint32_t>(policy.user_keys().size()));
  for (const AuthorizedKeysLine& line : policy.user_keys()) {
    PutStrings(w, line.options);
    w.PutString(line.key.blob);
    w.PutString(line.comment);
  }
  w.PutU32(static_cast<uint32_t>(policy.generic().size()));
  for (const GenericRule& g : policy.generic()) {
    w.PutU32(g.rule);
    w.PutU32(g.groups);
  }
  return w.Take();
}

}  // namespace

std::vector<uint8_t> EncodeSnapshot(const CompiledPolicy& policy, const SnapshotOrigin& origin) {
  const std::vector<uint8_t> meta = EncodeMeta(policy, origin);
  const std::span<const uint8_t> parts[kSectionCount] = {
      meta,
      AsBytes(policy.chars()),
      BytesOf(policy.string_ends()),
      BytesOf(policy.lists()),
      BytesOf(policy.records()),
      BytesOf(policy.by_name()),
  };
  Header header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.format = kFormat;
  header.byte_order = kByteOrderMark;
  size_t offset = Align8(sizeof(Header));
  for (size_t s = 0; s < kSectionCount; ++s) {
    header.sections[s] = SectionRef{offset, parts[s].size()};
    offset = Align8(offset + parts[s].size());
  }
  header.file_size = offset;
  std::vector<uint8_t> out(offset, 0);
  std::memcpy(out.data(), &header, sizeof header);
  for (size_t s = 0; s < kSectionCount; ++s) {
    if (!parts[s].empty()) std::memcpy(out.data() + header.sections[s].offset, parts[s].data(), parts[s].size());
  }
  SealSnapshot(out);
  return out;
}

void SealSnapshot(std::span<uint8_t> bytes) {
  if (bytes.size() < sizeof(Header)) return;
  const Result<Sha256Digest> digest = Digest(bytes);
  // Without a digest (OpenSSL failed) the field stays as it is: the file is
  // then refused when read, never trusted unsealed.
  if (digest) std::memcpy(bytes.data() + kDigestOffset, digest->data(), digest->size());
}

// SnapshotReader (a friend of CompiledPolicy) validates a snapshot and
// builds the policy on it. Every value from the file is checked before it
// is used as an index, a position or a count.
class SnapshotReader {
 public:
  SnapshotReader(std::span<const uint8_t> bytes, std::shared_ptr<const void> backing)
      : bytes_(bytes), backing_(std::move(backing)) {}

  Result<DecodedSnapshot> Read() {
    if (reinterpret_cast<uintptr_t>(bytes_.data()) % 8 != 0) {
      return Fail(Errc::kInternal, "snapshot bytes are not 8-byte aligned");
    }
    if (bytes_.size() < sizeof(Header)) return Fail(Errc::kTruncated, "shorter than a snapshot header");
    Header h;
    std::memcpy(&h, bytes_.data(), sizeof h);
    if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
      return Fail(Errc::kBadFormat, "not a certgate policy snapshot (bad magic)");
    }
    if (h.byte_order == kByteOrderSwapped) {
      return Fail(Errc::kBadFormat, "written on a machine of the other byte order; compile it on this host");
    }
    if (h.byte_order != kByteOrderMark) return Fail(Errc::kBadFormat, "bad byte-order mark");
    if (h.format != kFormat) {
      return Fail(Errc::kBadFormat, "snapshot format " + std::to_string(h.format) + ", this certgate reads " +
                                        std::to_string(kFormat));
    }
    if (h.file_size != bytes_.size()) {
      return Fail(h.file_size > bytes_.size() ? Errc::kTruncated : Errc::kTrailingData,
                  "file is " + std::to_string(bytes_.size()) + " bytes, its header says " +
                      std::to_string(h.file_size));
    }
    const Result<Sha256Digest> digest = Digest(bytes_);
    if (!digest) return Fail(Errc::kInternal, "cannot compute the snapshot's SHA-256 digest");
    if (CRYPTO_memcmp(digest->data(), h.digest, digest->size()) != 0) {
      return Fail(Errc::kBadFormat, "its contents do not match its digest: damaged, or written over in place "
                                    "after --compile wrote it");
    }
    std::span<const uint8_t> section[kSectionCount];
    for (size_t s = 0; s < kSectionCount; ++s) {
      const SectionRef& ref = h.sections[s];
      if (ref.offset % 8 != 0 || ref.offset < sizeof(Header) || ref.offset > bytes_.size() ||
          ref.size > bytes_.size() - ref.offset) {
        return Fail(Errc::kBadFormat, std::string("section ") + kSectionNames[s] + " lies outside the file");
      }
      section[s] = bytes_.subspan(ref.offset, ref.size);
    }

    auto out = std::shared_ptr<CompiledPolicy>(new CompiledPolicy());
    p_ = out.get();
    if (Status st = Arrays(section); !st) return Unexpected{st.error()};
    DecodedSnapshot decoded;
    WireReader meta(section[kMeta]);
    if (Status st = Meta(meta, &decoded.origin); !st) return Unexpected{st.error()};
    if (!meta.empty()) return Fail(Errc::kTrailingData, "bytes after the end of section meta");
    if (Status st = Records(); !st) return Unexpected{st.error()};
    if (Status st = Index(); !st) return Unexpected{st.error()};
    p_->backing_ = backing_;
    decoded.policy = std::move(out);
    return decoded;
  }

 private:
  template <typename T>
  Result<std::span<const T>> ArrayOf(std::span<const uint8_t> bytes, Section s) {
    if (bytes.size() % sizeof(T) != 0) {
      return Fail(Errc::kBadFormat, std::string("section ") + kSectionNames[s] + " is not a whole number of items");
    }
    return std::span<const T>(reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T));
  }

  Status Arrays(const std::span<const uint8_t>* section) {
    if (section[kChars].size() >= UINT32_MAX) return Fail(Errc::kTooLarge, "section chars over 4 GiB");
    p_->chars_ = AsStringView(section[kChars]);
    auto ends = ArrayOf<uint32_t>(section[kStringEnds], kStringEnds);
    auto lists = ArrayOf<uint32_t>(section[kLists], kLists);
    auto rules = ArrayOf<CompiledRule>(section[kRules], kRules);
    auto by_name = ArrayOf<UserIndexEntry>(section[kByName], kByName);
    if (!ends) return Unexpected{ends.error()};
    if (!lists) return Unexpected{lists.error()};
    if (!rules) return Unexpected{rules.error()};
    if (!by_name) return Unexpected{by_name.error()};
    if (ends->empty() || (*ends)[0] != 0) return Fail(Errc::kBadFormat, "string 0 is not the empty string");
    for (size_t i = 1; i < ends->size(); ++i) {
      if ((*ends)[i] < (*ends)[i - 1]) return Fail(Errc::kBadFormat, "string " + std::to_string(i) + " ends before it starts");
    }
    if (ends->back() > p_->chars_.size()) return Fail(Errc::kBadFormat, "strings end past section chars");
    if (lists->size() >= UINT32_MAX || rules->size() >= UINT32_MAX) {
      return Fail(Errc::kTooLarge, "more than 2^32 list items or rules");
    }
    p_->string_ends_ = *ends;
    p_->lists_ = *lists;
    checked_.assign(lists->size(), 0);
    p_->rules_ = *rules;
    p_->by_name_ = *by_name;
    return Ok();
  }

  // Meta reads the origin and the small parts of the policy.
  Status Meta(WireReader& r, SnapshotOrigin* origin) {
    uint8_t flag = 0;
    uint64_t u64 = 0;
    if (!String(r, &origin->version) || !String(r, &origin->policy_path) || !r.ReadU8(&flag) ||
        !r.ReadU32(&origin->owner_uid) || !r.ReadU64(&u64)) {
      return Truncated("origin");
    }
    origin->check_permissions = flag != 0;
    origin->stamped_at_ns = static_cast<int64_t>(u64);
    uint32_t count = 0;
    if (!Count(r, 1, &count)) return Truncated("stamps");
    for (uint32_t i = 0; i < count; ++i) {
      FileStamp s;
      uint64_t dev = 0, ino = 0, size = 0, mtime = 0, ctime = 0;
      uint32_t error = 0, mode = 0, uid = 0, gid = 0;
      if (!String(r, &s.path) || !r.ReadU32(&error) || !r.ReadU64(&dev) || !r.ReadU64(&ino) ||
          !r.ReadU64(&size) || !r.ReadU64(&mtime) || !r.ReadU64(&ctime) || !r.ReadU32(&mode) ||
          !r.ReadU32(&uid) || !r.ReadU32(&gid)) {
        return Truncated("stamps");
      }
      s.error = static_cast<int>(error);
      s.dev = static_cast<dev_t>(dev);
      s.ino = static_cast<ino_t>(ino);
      s.size = static_cast<off_t>(size);
      s.mtime_ns = static_cast<int64_t>(mtime);
      s.ctime_ns = static_cast<int64_t>(ctime);
      s.mode = static_cast<mode_t>(mode);
      s.uid = static_cast<uid_t>(uid);
      s.gid = static_cast<gid_t>(gid);
      origin->stamps.push_back(std::move(s));
    }
    if (!Strings(r, &p_->files_)) return Truncated("files");
    if (!Count(r, 1, &count)) return Truncated("authorities");
    for (uint32_t i = 0; i < count; ++i) {
      Authority a;
      uint32_t n = 0;
      if (!String(r, &a.name) || !Count(r, 4, &n)) return Truncated("authorities");
      for (uint32_t k = 0; k < n; ++k) {
        std::span<const uint8_t> blob;
        if (!r.ReadString(&blob)) return Truncated("authorities");
        Result<PublicKey> key = ParsePublicKeyBlob(blob);
        if (!key) return Fail(Errc::kBadFormat, "authority " + a.name + ": key: " + key.error().detail);
        a.keys.push_back(std::move(*key));
      }
      if (!Strings(r, &a.fingerprints) || !Count(r, 8, &n)) return Truncated("authorities");
      for (uint32_t k = 0; k < n; ++k) {
        if (!r.ReadU64(&u64)) return Truncated("authorities");
        if (!a.revoked_serials.empty() && u64 <= a.revoked_serials.back()) {
          return Fail(Errc::kBadFormat, "authority " + a.name + ": revoked serials not sorted");
        }
        a.revoked_serials.push_back(u64);
      }
      uint32_t line = 0, column = 0;
      if (!r.ReadU8(&flag) || !String(r, &a.where.file) || !r.ReadU32(&line) || !r.ReadU32(&column)) {
        return Truncated("authorities");
      }
      a.allow_sha1 = flag != 0;
      a.where.line = static_cast<int>(line);
      a.where.column = static_cast<int>(column);
      p_->authorities_.push_back(std::move(a));
    }
    if (!Strings(r, &p_->revoked_key_ids_)) return Truncated("revoked key ids");
    std::string krl;
    if (!r.ReadU8(&flag) || !String(r, &krl)) return Truncated("krl");
    if (flag != 0) p_->krl_path_ = std::move(krl);
    if (Status st = Constraints(r, &p_->defaults_); !st) return st;
    if (!Count(r, 1, &count)) return Truncated("constraints");
    for (uint32_t i = 0; i < count; ++i) {
      CompiledConstraints c;
      if (Status st = Constraints(r, &c); !st) return st;
      p_->constraints_.push_back(c);
    }
    if (p_->constraints_.empty()) return Fail(Errc::kBadFormat, "no constraints record 0");
    if (!Count(r, 1, &count)) return Truncated("user_keys");
    for (uint32_t i = 0; i < count; ++i) {
      AuthorizedKeysLine line;
      std::span<const uint8_t> blob;
      if (!Strings(r, &line.options) || !r.ReadString(&blob) || !String(r, &line.comment)) {
        return Truncated("user_keys");
      }
      Result<PublicKey> key = ParsePublicKeyBlob(blob);
      if (!key) return Fail(Errc::kBadFormat, "user_keys: key: " + key.error().detail);
      line.key = std::move(*key);
      // keys-cmd prints these lines for sshd: they must read back as the
      // loader's parser reads a policy's user_keys line, options and all.
      std::string text = FormatAuthorizedKeysLine(line);
      text.pop_back();  // the newline
      Result<AuthorizedKeysLine> reread = ParseAuthorizedKeysLine(text);
      if (!reread || reread->options != line.options || reread->comment != line.comment) {
        return Bad("user_keys line " + std::to_string(i + 1) + " is not an authorized_keys line sshd reads as such");
      }
      p_->user_keys_.push_back(std::move(line));
    }
    if (!Count(r, 8, &count)) return Truncated("generic rules");
    for (uint32_t i = 0; i < count; ++i) {
      GenericRule g;
      if (!r.ReadU32(&g.rule) || !r.ReadU32(&g.groups)) return Truncated("generic rules");
      p_->generic_.push_back(g);
    }
    return Ok();
  }

  Status Constraints(WireReader& r, CompiledConstraints* c) {
    uint8_t has_lifetime = 0, has_rsa = 0, source = 0;
    if (!r.ReadU8(&has_lifetime) || !r.ReadU64(&c->max_lifetime) || !r.ReadU32(&c->key_id) ||
        !r.ReadU32(&c->require_extensions) || !r.ReadU32(&c->forbid_extensions) || !r.ReadU32(&c->key_types) ||
        !r.ReadU8(&has_rsa) || !r.ReadU32(&c->min_rsa_bits) || !r.ReadU8(&source)) {
      return Truncated("constraints");
    }
    if (source > 2) return Fail(Errc::kBadFormat, "constraints: bad source_address value");
    c->has_max_lifetime = has_lifetime != 0;
    c->has_min_rsa_bits = has_rsa != 0;
    if (source != 0) c->source_address = static_cast<SourceAddressRequirement>(source - 1);
    for (uint32_t list : {c->key_id, c->require_extensions, c->forbid_extensions}) {
      if (list != kNoList && !ListOf(list, kStringItems)) return Bad("constraints: bad string list");
    }
    if (c->key_types != kNoList && !ListOf(c->key_types, kKeyTypeItems)) {
      return Bad("constraints: bad key type list");
    }
    return Ok();
  }

  // Records checks every rule's fields.
  Status Records() {
    const size_t strings = StringCount();
    for (size_t i = 0; i < p_->rules_.size(); ++i) {
      const CompiledRule& r = p_->rules_[i];
      const bool ok = r.name < strings && r.file < strings && ListOf(r.users, kStringItems) &&
                      ListOf(r.groups, kStringItems) && ListOf(r.authorities, kAuthorityItems) &&
                      ListOf(r.principals, kStringItems) && ListOf(r.options, kOptionItems) &&
                      ListOf(r.user_keys, kUserKeyItems) && r.constraints < p_->constraints_.size();
      if (!ok) return Bad("rule " + std::to_string(i + 1) + " names a string, list or record that is not there");
    }
    return Ok();
  }

  // Index checks the user index and builds the generic patterns' views.
  Status Index() {
    const size_t strings = StringCount();
    const size_t rules = p_->rules_.size();
    for (size_t i = 0; i < p_->by_name_.size(); ++i) {
      const UserIndexEntry& e = p_->by_name_[i];
      if (e.rule >= rules || e.name >= strings) return Bad("index entry " + std::to_string(i) + " out of range");
      if (i > 0) {
        const UserIndexEntry& prev = p_->by_name_[i - 1];
        if (IndexEntryBefore(p_->String(e.name), e.rule, p_->String(prev.name), prev.rule)) {
          return Bad("index entries out of order at " + std::to_string(i));
        }
      }
    }
    for (size_t i = 0; i < p_->generic_.size(); ++i) {
      GenericRule& g = p_->generic_[i];
      if (g.rule >= rules || (i > 0 && g.rule <= p_->generic_[i - 1].rule) || !ListOf(g.groups, kStringItems)) {
        return Bad("generic rule entry " + std::to_string(i) + " out of range or order");
      }
      // Rules may share one users list, as the loader's rules never do at
      // this scale: the copies are bounded as the loader bounds all lists.
      if (p_->rule(g.rule).users().size() > kMaxPolicyListItems - p_->generic_patterns_.size()) {
        return Fail(Errc::kTooLarge, "the generic rules' users patterns pass " +
                                         std::to_string(kMaxPolicyListItems) + " items");
      }
      g.patterns_first = static_cast<uint32_t>(p_->generic_patterns_.size());
      for (std::string_view pattern : p_->rule(g.rule).users()) p_->generic_patterns_.push_back(pattern);
      g.patterns_count = static_cast<uint32_t>(p_->generic_patterns_.size() - g.patterns_first);
    }
    return Ok();
  }

  size_t StringCount() const { return p_->string_ends_.size(); }

  // ItemKind is what a list's items index; each has its own limit.
  // kOptionItems are strings that are also authorized_keys options, which
  // keys-cmd prints for sshd: checked as the loader checks a rule's options.
  enum ItemKind : uint8_t {
    kStringItems = 1,
    kAuthorityItems = 2,
    kUserKeyItems = 4,
    kKeyTypeItems = 8,
    kOptionItems = 16,
  };

  // ListOf returns true if a list starts at |position| and every item is
  // below the limit of |kind|. Many rules share a list (every rule's
  // `authorities: [prod]`): each list is checked once per kind.
  bool ListOf(uint32_t position, ItemKind kind) {
    const std::span<const uint32_t> lists = p_->lists_;
    if (position >= lists.size() || lists[position] > lists.size() - position - 1) return false;
    if ((checked_[position] & kind) != 0) return true;
    const size_t limit = kind == kAuthorityItems ? p_->authorities_.size()
                         : kind == kUserKeyItems ? p_->user_keys_.size()
                         : kind == kKeyTypeItems ? size_t{kMaxKeyType} + 1
                                                 : StringCount();
    for (uint32_t item : p_->List(position)) {
      if (item >= limit) return false;
    }
    if (kind == kOptionItems) {
      std::vector<std::string> options;
      for (std::string_view option : p_->Strings(position)) {
        if (!CheckKeyOption(option)) return false;
        options.emplace_back(option);
      }
      if (!CheckKeyOptionSet(options) || !CheckGrantOptions(options)) return false;
    }
    checked_[position] |= kind;
    return true;
  }

  // Count reads a count of items of at least |min_item_bytes| each, which
  // the rest of the section must be able to hold.
  static bool Count(WireReader& r, size_t min_item_bytes, uint32_t* out) {
    return r.ReadU32(out) && *out <= r.remaining() / min_item_bytes;
  }
  static bool String(WireReader& r, std::string* out) {
    std::span<const uint8_t> bytes;
    if (!r.ReadString(&bytes)) return false;
    out->assign(AsStringView(bytes));
    return true;
  }
  static bool Strings(WireReader& r, std::vector<std::string>* out) {
    uint32_t n = 0;
    if (!Count(r, 4, &n)) return false;
    for (uint32_t i = 0; i < n; ++i) {
      std::string s;
      if (!String(r, &s)) return false;
      out->push_back(std::move(s));
    }
    return true;
  }
  static Status Truncated(const std::string& what) {
    return Fail(Errc::kTruncated, "section meta ends inside " + what);
  }
  static Status Bad(const std::string& what) { return Fail(Errc::kBadFormat, what); }

  std::span<const uint8_t> bytes_;
  std::shared_ptr<const void> backing_;
  CompiledPolicy* p_ = nullptr;
  std::vector<uint8_t> checked_;  // per list position: the ItemKinds checked
};

Result<DecodedSnapshot> DecodeSnapshot(std::span<const uint8_t> bytes, std::shared_ptr<const void> backing) {
  return SnapshotReader(bytes, std::move(backing)).Read();
}

}  // namespace certgate::core
