// Fuzzes DecodeSnapshot (core/policy_snapshot.h), the reader of the policy
// snapshot file. Whatever it accepts is read the way decisions read it:
// every rule's strings, lists, authorities, user_keys and constraints, the
// defaults, the user index and the generic rules' patterns, then
// RulesForUser and Evaluate for the login names the snapshot itself
// mentions and a few others, formatted for sshd; so ASan and UBSan report
// any id, position or count the decoder let through unchecked. The decoded
// policy must encode to a snapshot that decodes and encodes again to the
// same bytes (encode(decode(x)) is a fixed point).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/certificate.h"
#include "core/compiled_policy.h"
#include "core/groups.h"
#include "core/policy.h"
#include "core/policy_eval.h"
#include "core/policy_snapshot.h"
#include "core/ssh_key.h"
#include "core/sshd_output.h"
#include "core/wire_reader.h"
#include "tests/fuzz/fixed_key.h"

namespace {

namespace core = ::certgate::core;
using ::certgate::fuzzing::FixedKey;

// kMaxNames bounds the login names tried, and kNameBudget the patterns all
// of them walk together (none is tried beyond it): each name walks every
// generic pattern and the users of every rule it may match, which a
// snapshot sharing one long list among many rules makes quadratic in its
// size (a 64 KiB input: 4.8 million).
constexpr size_t kMaxNames = 32;
constexpr size_t kMaxGroups = 8;
constexpr size_t kNameBudget = size_t{1} << 20;

// Decode copies |bytes| into a heap block of exactly their size, which
// operator new aligns to 16 (DecodeSnapshot needs 8; libFuzzer's buffer
// promises none), so that ASan also sees a read one byte past the end.
// The copy is sealed first (its digest made to match): a digest mismatch
// is one comparison, and what it guards, every check behind it, is what
// is fuzzed.
core::Result<core::DecodedSnapshot> Decode(std::span<const uint8_t> bytes) {
  auto copy = std::make_shared<std::vector<uint8_t>>(bytes.begin(), bytes.end());
  if (reinterpret_cast<uintptr_t>(copy->data()) % 8 != 0) __builtin_trap();
  core::SealSnapshot(*copy);
  return core::DecodeSnapshot(std::span<const uint8_t>(*copy), copy);
}

// Reader reads every byte and item a decision may touch. Each string's
// bytes are summed once (Chars); each use of a string id reads its view's
// ends only, which keeps a policy of long shared lists linear to read.
class Reader {
 public:
  explicit Reader(const core::CompiledPolicy& policy) : p_(policy) {}

  uint64_t sum() const { return sum_; }
  // patterns counts the users patterns of the rules and the generic rules.
  size_t patterns() const { return patterns_; }
  void AddPatterns(size_t n) { patterns_ += n; }

  void Chars() {
    for (char c : p_.chars()) sum_ += static_cast<unsigned char>(c);
    for (uint32_t end : p_.string_ends()) sum_ += end;
  }

  void View(std::string_view s) {
    sum_ += s.size();
    if (!s.empty()) sum_ += static_cast<unsigned char>(s.front()) + static_cast<unsigned char>(s.back());
  }

  void Strings(const core::StringList& list) {
    sum_ += list.size();
    for (std::string_view s : list) View(s);
  }

  void Constraints(const core::CompiledConstraints& c) {
    for (uint32_t list : {c.key_id, c.require_extensions, c.forbid_extensions}) {
      if (list != core::kNoList) Strings(p_.Strings(list));
    }
    if (c.key_types != core::kNoList) {
      for (uint32_t t : p_.List(c.key_types)) View(core::KeyTypeName(static_cast<core::KeyType>(t)));
    }
    sum_ += c.max_lifetime + c.min_rsa_bits + c.has_max_lifetime + c.has_min_rsa_bits;
    if (c.source_address) sum_ += static_cast<uint64_t>(*c.source_address);
  }

  void Authority(const core::Authority& a) {
    View(a.name);
    for (const core::PublicKey& k : a.keys) sum_ += k.blob.size() + k.RsaBits();
    for (const std::string& fp : a.fingerprints) View(fp);
    for (uint64_t serial : a.revoked_serials) sum_ += serial;
    View(a.where.file);
    sum_ += static_cast<uint64_t>(a.where.line) + static_cast<uint64_t>(a.where.column) + a.allow_sha1;
  }

  void UserKey(const core::AuthorizedKeysLine& line) {
    for (const std::string& o : line.options) View(o);
    View(line.comment);
    sum_ += line.key.blob.size();
    View(core::FormatAuthorizedKeysLine(line));
  }

  void Rule(const core::RuleView& rule) {
    View(rule.name());
    Strings(rule.users());
    patterns_ += rule.users().size();
    Strings(rule.groups());
    for (uint32_t a : rule.authorities()) View(p_.authorities()[a].name);
    Strings(rule.principals());
    Strings(rule.options());
    for (const core::AuthorizedKeysLine* line : rule.user_keys()) UserKey(*line);
    Constraints(rule.constraints());
    View(rule.file());
    sum_ += static_cast<uint64_t>(rule.line()) + static_cast<uint64_t>(rule.column()) + rule.number();
    View(rule.Label());
  }

 private:
  const core::CompiledPolicy& p_;
  uint64_t sum_ = 0;
  size_t patterns_ = 0;
};

// NameOf returns the login name a users pattern is about.
std::string_view NameOf(std::string_view pattern) {
  if (!pattern.empty() && pattern.front() == '!') pattern.remove_prefix(1);
  return pattern;
}

// Decide runs what the helpers run for |names|: RulesForUser (keys-cmd,
// plain keys) and Evaluate (a certificate of the first authority with a
// key), with the index and, for the first name, rule by rule.
uint64_t Decide(const core::CompiledPolicy& policy, const std::vector<std::string>& names,
                const std::vector<std::string>& group_names) {
  uint64_t sum = 0;
  // Every other name is in every group: members and non-members both.
  core::StaticGroupResolver groups;
  for (size_t i = 0; i < names.size(); i += 2) {
    for (const std::string& g : group_names) groups.Add(names[i], g);
  }
  for (const std::string& name : names) {
    std::vector<std::string> errors;
    for (const core::RuleView& rule : core::RulesForUser(policy, name, groups, &errors)) {
      sum += rule.index() + rule.principals().size();
    }
    sum += errors.size();
  }

  const core::PublicKey* ca = nullptr;
  for (const core::Authority& a : policy.authorities()) {
    if (!a.keys.empty()) {
      ca = &a.keys.front();
      break;
    }
  }
  if (ca == nullptr) return sum;
  static const core::PublicKey kUserKey = FixedKey(1);
  core::Certificate cert;
  cert.type_name = "ssh-ed25519-cert-v01@openssh.com";
  cert.key = kUserKey;
  cert.serial = 7;
  cert.cert_type = core::kCertTypeUser;
  cert.key_id = "fuzz@example.com";
  cert.principals = {"ops", "root", "alice", "team-1"};
  for (size_t i = 0; i < names.size() && i < 8; ++i) cert.principals.push_back(names[i]);
  cert.valid_after = 1000;
  cert.valid_before = 1600;
  cert.extensions.push_back(core::CertOption{"permit-pty", "", true});
  cert.source_address = "10.0.0.0/8";
  cert.signature_key = *ca;
  for (size_t i = 0; i < names.size(); ++i) {
    core::Request request;
    request.user = names[i];
    request.cert = &cert;
    request.now = 1300;
    request.every_rule = i == 0;
    core::Decision d = core::Evaluate(policy, request, nullptr, groups);
    sum += d.rules.size() + d.reason.size();
    sum += core::FormatPrincipalsOutput(d.grants).size();
    sum += core::FormatCertAuthorityLines(d.grants, *ca).size();
  }
  return sum;
}

volatile uint64_t g_sink;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  core::Result<core::DecodedSnapshot> decoded = Decode({data, size});
  if (!decoded) return 0;
  const core::CompiledPolicy& policy = *decoded->policy;

  Reader read(policy);
  read.Chars();
  for (const core::Authority& a : policy.authorities()) read.Authority(a);
  for (const std::string& id : policy.revoked_key_ids()) read.View(id);
  if (policy.krl_path()) read.View(*policy.krl_path());
  for (const std::string& file : policy.files()) read.View(file);
  read.Constraints(policy.defaults());
  for (const core::CompiledConstraints& c : policy.all_constraints()) read.Constraints(c);
  for (const core::AuthorizedKeysLine& line : policy.user_keys()) read.UserKey(line);
  for (size_t i = 0; i < policy.rule_count(); ++i) read.Rule(policy.rule(i));

  std::vector<std::string> names = {"root", "alice", ""};
  std::set<std::string, std::less<>> seen(names.begin(), names.end());
  size_t repeats = 0;  // a snapshot may repeat one name millions of times
  auto add_name = [&](std::string_view name) {
    if (names.size() >= kMaxNames || repeats > 16 * kMaxNames) return;
    if (seen.emplace(name).second) {
      names.emplace_back(name);
    } else {
      ++repeats;
    }
  };
  for (const core::UserIndexEntry& e : policy.by_name()) {
    read.View(policy.String(e.name));
    read.View(policy.rule(e.rule).name());
    add_name(policy.String(e.name));
  }
  std::vector<std::string> group_names;
  for (const core::GenericRule& g : policy.generic()) {
    read.View(policy.rule(g.rule).name());
    read.Strings(policy.Strings(g.groups));
    read.AddPatterns(policy.GenericPatterns(g).size());
    for (std::string_view pattern : policy.GenericPatterns(g)) {
      read.View(pattern);
      add_name(NameOf(pattern));
    }
    for (std::string_view group : policy.Strings(g.groups)) {
      if (group_names.size() < kMaxGroups) group_names.emplace_back(group);
    }
  }
  names.resize(std::min(names.size(), kNameBudget / (1 + read.patterns())));
  g_sink = read.sum() + Decide(policy, names, group_names);

  // encode(decode(x)) is a fixed point: what certgate writes, it reads back
  // as the same policy and origin.
  const std::vector<uint8_t> once = core::EncodeSnapshot(policy, decoded->origin);
  core::Result<core::DecodedSnapshot> again = Decode(once);
  if (!again) __builtin_trap();
  if (core::EncodeSnapshot(*again->policy, again->origin) != once) __builtin_trap();
  return 0;
}
