// Tests of the snapshot format (policy_snapshot.cc): EncodeSnapshot,
// DecodeSnapshot and SealSnapshot on bytes in memory. The files, and the
// helpers' use of them, are policy_snapshot_file_test.cc's.
#include "core/policy_snapshot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "tests/policy_testing.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using certgate::testing::Compile;
using certgate::testing::CompileDifference;
using certgate::testing::kTestKeyA;
using certgate::testing::Parse;
using certgate::testing::PerUserPolicy;
using certgate::testing::ReadFile;
using certgate::testing::SourceDir;

std::string ConstraintsPolicy() {
  return std::string("version: 1\nauthorities:\n  prod:\n    keys: [\"") + kTestKeyA +
         "\"]\n    revoked_serials: [7, 3]\ndefaults:\n  key_id: [\"*@corp\"]\n  source_address: optional\n"
         "  key_types: [ssh-rsa]\n  min_rsa_bits: 2048\n"
         "revoked:\n  key_ids: [\"bad-*\"]\n"
         "rules:\n"
         "  - users: [\"*\", \"!root\"]\n    authorities: [prod]\n    principals: [ops]\n"
         "    extensions:\n      require: []\n      forbid: [permit-pty]\n    source_address: required\n"
         "  - users: [alice, alice, \"group:wheel\"]\n    authorities: [prod]\n    principals: [\"{user}\"]\n"
         "    min_rsa_bits: 4096\n    key_types: [ssh-ed25519, ssh-rsa]\n    max_lifetime: 5m\n"
         "    user_keys: [\"no-pty " + kTestKeyA + " breakglass\"]\n";
}

// Aligned holds snapshot bytes 8-byte aligned, as a mapping is.
struct Aligned {
  explicit Aligned(const std::vector<uint8_t>& bytes) : words((bytes.size() + 7) / 8), size(bytes.size()) {
    if (!bytes.empty()) std::memcpy(words.data(), bytes.data(), bytes.size());
  }
  std::span<const uint8_t> span() const { return {reinterpret_cast<const uint8_t*>(words.data()), size}; }
  std::span<uint8_t> mutable_span() { return {reinterpret_cast<uint8_t*>(words.data()), size}; }
  std::vector<uint64_t> words;
  size_t size;
};

// Sealed holds |bytes| with their digest made to match, aligned: changed
// bytes then reach the checks that come after the digest's.
Aligned Sealed(std::vector<uint8_t> bytes) {
  SealSnapshot(bytes);
  return Aligned(bytes);
}

SnapshotOrigin SomeOrigin() {
  SnapshotOrigin o;
  o.version = CERTGATE_VERSION;
  o.policy_path = "/etc/certgate/policy.yaml";
  o.stamped_at_ns = 1'800'000'000'000'000'000;
  FileStamp s;
  s.path = "/etc/certgate/policy.yaml";
  s.ino = 12;
  s.mtime_ns = 1'700'000'000'000'000'000;
  o.stamps.push_back(s);
  return o;
}

// RoundTrip encodes |policy| compiled, decodes it and compares.
void ExpectRoundTrip(const Policy& policy) {
  auto compiled = Compile(policy);
  const SnapshotOrigin origin = SomeOrigin();
  Aligned bytes(EncodeSnapshot(*compiled, origin));
  Result<DecodedSnapshot> decoded = DecodeSnapshot(bytes.span(), nullptr);
  ASSERT_TRUE(decoded) << decoded.error().detail;
  EXPECT_EQ(CompileDifference(policy, *decoded->policy), "");
  EXPECT_EQ(decoded->origin.policy_path, origin.policy_path);
  EXPECT_EQ(decoded->origin.stamps, origin.stamps);
  EXPECT_EQ(decoded->origin.stamped_at_ns, origin.stamped_at_ns);
  // The arrays are read in place, not copied.
  EXPECT_GE(decoded->policy->chars().data(), reinterpret_cast<const char*>(bytes.span().data()));
  EXPECT_LT(decoded->policy->chars().data(),
            reinterpret_cast<const char*>(bytes.span().data() + bytes.span().size()));
}

TEST(PolicySnapshotTest, RoundTripsEveryField) {
  ExpectRoundTrip(Parse(ReadFile(SourceDir() + "/tests/data/policies/good.yaml"), "good.yaml"));
  ExpectRoundTrip(Parse(ConstraintsPolicy()));
  ExpectRoundTrip(Parse(PerUserPolicy(3000)));
  ExpectRoundTrip(Policy{});
}

// Walk reads everything a decision may read; under ASan an unchecked
// index in a damaged snapshot would show here.
size_t Walk(const CompiledPolicy& p) {
  size_t n = 0;
  for (size_t i = 0; i < p.rule_count(); ++i) {
    RuleView r = p.rule(i);
    n += r.name().size() + r.file().size() + r.Label().size();
    for (std::string_view s : r.users()) n += s.size();
    for (std::string_view s : r.groups()) n += s.size();
    for (std::string_view s : r.principals()) n += s.size();
    for (std::string_view s : r.options()) n += s.size();
    for (uint32_t a : r.authorities()) n += p.authorities()[a].name.size();
    for (const AuthorizedKeysLine* k : r.user_keys()) n += k->comment.size();
    const CompiledConstraints& c = r.constraints();
    for (uint32_t list : {c.key_id, c.require_extensions, c.forbid_extensions}) {
      if (list != kNoList) n += p.Strings(list).size();
    }
    if (c.key_types != kNoList) {
      for (uint32_t t : p.List(c.key_types)) n += KeyTypeName(static_cast<KeyType>(t)).size();
    }
  }
  for (const UserIndexEntry& e : p.by_name()) n += p.String(e.name).size() + p.rule(e.rule).name().size();
  for (const GenericRule& g : p.generic()) {
    for (std::string_view s : p.GenericPatterns(g)) n += s.size();
    n += p.Strings(g.groups).size();
  }
  return n;
}

TEST(PolicySnapshotTest, EveryTruncationFails) {
  Aligned full(EncodeSnapshot(*Compile(Parse(ConstraintsPolicy())), SomeOrigin()));
  for (size_t size = 0; size < full.size; ++size) {
    std::vector<uint8_t> bytes(full.span().begin(), full.span().begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_FALSE(DecodeSnapshot(Aligned(bytes).span(), nullptr)) << size;
    // With the header's file size made to match, the sections are cut.
    if (size < 24) continue;
    const uint64_t file_size = size;
    std::memcpy(bytes.data() + 16, &file_size, sizeof file_size);
    EXPECT_FALSE(DecodeSnapshot(Aligned(bytes).span(), nullptr)) << size;
    EXPECT_FALSE(DecodeSnapshot(Sealed(bytes).span(), nullptr)) << size;
  }
}

// Any changed byte (a flipped bit on disk, a partial copy over the file)
// is refused by the digest, whatever it would have decoded to.
TEST(PolicySnapshotTest, EveryDamagedByteIsRefused) {
  const std::vector<uint8_t> good = EncodeSnapshot(*Compile(Parse(ConstraintsPolicy())), SomeOrigin());
  ASSERT_TRUE(DecodeSnapshot(Aligned(good).span(), nullptr));
  for (size_t i = 0; i < good.size(); ++i) {
    Aligned bad(good);
    bad.mutable_span()[i] ^= 0x01;
    Result<DecodedSnapshot> d = DecodeSnapshot(bad.span(), nullptr);
    ASSERT_FALSE(d) << "byte " << i;
    // Magic, format, byte order and size are checked first and say so
    // (bytes 0-23); everything after them is the digest's.
    if (i >= 24) {
      EXPECT_NE(d.error().detail.find("do not match its digest"), std::string::npos) << d.error().detail;
    }
  }
}

// Behind the digest the decoder still takes the bytes as untrusted: with
// the digest made to match, damage fails or stays in bounds.
TEST(PolicySnapshotTest, SealedDamagedBytesFailOrStayInBounds) {
  const std::vector<uint8_t> good = EncodeSnapshot(*Compile(Parse(ConstraintsPolicy())), SomeOrigin());
  size_t decoded = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (int flip : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> bad = good;
      bad[i] ^= static_cast<uint8_t>(flip);
      Aligned sealed = Sealed(bad);
      Result<DecodedSnapshot> d = DecodeSnapshot(sealed.span(), nullptr);
      if (!d) continue;
      ++decoded;
      (void)Walk(*d->policy);
    }
  }
  // Flips in strings' bytes, line numbers and the like still decode: the
  // walk above is what shows them harmless.
  EXPECT_GT(decoded, 0u);
}

TEST(PolicySnapshotTest, HeaderChecksSayWhatIsWrong) {
  const std::vector<uint8_t> good = EncodeSnapshot(*Compile(Parse(PerUserPolicy(2))), SomeOrigin());
  auto error = [](std::vector<uint8_t> bytes) {
    Aligned a(bytes);
    Result<DecodedSnapshot> d = DecodeSnapshot(a.span(), nullptr);
    return d ? std::string("decoded") : d.error().detail;
  };
  std::vector<uint8_t> bad = good;
  bad[0] = 'C';
  EXPECT_NE(error(bad).find("bad magic"), std::string::npos);
  bad = good;
  std::swap(bad[12], bad[15]);  // the byte-order mark
  std::swap(bad[13], bad[14]);
  EXPECT_NE(error(bad).find("other byte order"), std::string::npos);
  bad = good;
  bad[8] = 9;  // the format
  EXPECT_NE(error(bad).find("snapshot format 9"), std::string::npos);
  bad = good;
  bad.resize(bad.size() + 8);
  EXPECT_NE(error(bad).find("header says"), std::string::npos);
  // Not aligned: refused rather than read.
  Aligned shifted(std::vector<uint8_t>(good.size() + 1));
  EXPECT_FALSE(DecodeSnapshot(shifted.span().subspan(1), nullptr));
}

TEST(PolicySnapshotTest, ChecksListsAndIndexOrder) {
  Policy p = Parse(PerUserPolicy(20));
  auto c = Compile(p);
  std::vector<uint8_t> bytes = EncodeSnapshot(*c, SomeOrigin());
  // Find rule 0's record in the file and point its users list past the end.
  const std::span<const CompiledRule> records = c->records();
  auto find = [&](const void* what, size_t size) {
    auto it = std::search(bytes.begin(), bytes.end(), static_cast<const uint8_t*>(what),
                          static_cast<const uint8_t*>(what) + size);
    EXPECT_NE(it, bytes.end());
    return static_cast<size_t>(it - bytes.begin());
  };
  const size_t at = find(records.data(), records.size_bytes());
  std::vector<uint8_t> bad = bytes;
  CompiledRule rule = records[0];
  rule.users = static_cast<uint32_t>(c->lists().size());
  std::memcpy(bad.data() + at, &rule, sizeof rule);
  Aligned a = Sealed(bad);
  Result<DecodedSnapshot> d = DecodeSnapshot(a.span(), nullptr);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().detail.find("rule 1 names"), std::string::npos) << d.error().detail;
  // Two index entries swapped: out of order.
  const size_t index = find(c->by_name().data(), c->by_name().size_bytes());
  bad = bytes;
  std::swap_ranges(bad.begin() + static_cast<std::ptrdiff_t>(index),
                   bad.begin() + static_cast<std::ptrdiff_t>(index + sizeof(UserIndexEntry)),
                   bad.begin() + static_cast<std::ptrdiff_t>(index + sizeof(UserIndexEntry)));
  Aligned b = Sealed(bad);
  d = DecodeSnapshot(b.span(), nullptr);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().detail.find("out of order"), std::string::npos) << d.error().detail;
}

// keys-cmd prints rule options and user_keys lines for sshd: a snapshot
// whose options would not pass the loader (a newline: another line for
// sshd) is refused, wherever they are.
TEST(PolicySnapshotTest, OptionsAreCheckedAsTheLoaderChecksThem) {
  Policy p = Parse(ConstraintsPolicy() + "    options: [no-x11-forwarding]\n");
  const std::vector<uint8_t> good = EncodeSnapshot(*Compile(p), SomeOrigin());
  ASSERT_TRUE(DecodeSnapshot(Aligned(good).span(), nullptr));
  size_t damaged = 0;
  for (const std::string option : {"no-x11-forwarding", "no-pty"}) {
    for (auto it = std::search(good.begin(), good.end(), option.begin(), option.end()); it != good.end();
         it = std::search(it + 1, good.end(), option.begin(), option.end())) {
      std::vector<uint8_t> bad = good;
      bad[static_cast<size_t>(it - good.begin()) + 2] = '\n';  // "no\n..."
      Result<DecodedSnapshot> d = DecodeSnapshot(Sealed(bad).span(), nullptr);
      ASSERT_FALSE(d) << option;
      EXPECT_EQ(d.error().detail.find("digest"), std::string::npos) << d.error().detail;
      ++damaged;
    }
  }
  EXPECT_EQ(damaged, 2u);  // the rule's option in the pool, the key's in meta
}

// Rules can share one users list in a snapshot as no loaded policy of the
// loader's limits does; the decoder bounds the patterns it copies for them.
TEST(PolicySnapshotTest, SharedPatternListsAreBounded) {
  const Policy one = Parse(PerUserPolicy(1));
  auto policy_of = [&one](size_t rules) {
    Policy p = one;
    Rule r = one.rules[0];
    r.users.assign(kMaxListItems, "p*");
    p.rules.assign(rules, r);
    return p;
  };
  const size_t at_limit = kMaxPolicyListItems / kMaxListItems;
  Result<DecodedSnapshot> d =
      DecodeSnapshot(Aligned(EncodeSnapshot(*Compile(policy_of(at_limit)), SomeOrigin())).span(), nullptr);
  ASSERT_TRUE(d) << d.error().detail;
  d = DecodeSnapshot(Aligned(EncodeSnapshot(*Compile(policy_of(at_limit + 1)), SomeOrigin())).span(), nullptr);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::kTooLarge);
}

}  // namespace
}  // namespace certgate::core
