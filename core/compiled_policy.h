// The form of a policy that decisions read. A loaded Policy (policy.h) is a
// tree of value types: about 520 bytes and a dozen heap blocks per rule. A
// CompiledPolicy holds the same content in a few flat arrays:
//
//   - every distinct string once, in one character pool, named by a 32-bit
//     id (4 bytes per string besides its characters);
//   - every distinct list once, in one array of 32-bit items: a count, then
//     the items (string ids, authority indices or key types); the 100,000
//     rules that say `authorities: [prod]` share one list;
//   - one 44-byte record per rule, of ids and list positions;
//   - every distinct set of constraints once, as a 40-byte record;
//   - the user index (policy_index.h) as two arrays of ids, and the users
//     patterns of the rules it cannot find by name as views, side by side.
//
// A 100,000-rule policy of per-user rules takes about 9 MiB instead of about
// 52 MiB, and a decision touches a few cache lines of it. CompilePolicy
// builds it; it is immutable after, and every view of it (RuleView,
// StringList) stays valid as long as the CompiledPolicy does.
#ifndef CERTGATE_CORE_COMPILED_POLICY_H_
#define CERTGATE_CORE_COMPILED_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/key_options.h"
#include "core/policy.h"
#include "core/result.h"

namespace certgate::core {

class CompiledPolicy;

// StringList is one list of strings of a compiled policy (a rule's users,
// principals, ...), iterated as std::string_view.
class StringList {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::string_view;

    Iterator() = default;
    std::string_view operator*() const;
    Iterator& operator++() {
      ++id_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++id_;
      return before;
    }
    bool operator==(const Iterator& other) const { return id_ == other.id_; }

   private:
    friend class StringList;
    Iterator(const CompiledPolicy* policy, const uint32_t* id) : policy_(policy), id_(id) {}
    const CompiledPolicy* policy_ = nullptr;
    const uint32_t* id_ = nullptr;
  };

  StringList() = default;
  size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  std::string_view operator[](size_t i) const;
  Iterator begin() const { return Iterator(policy_, ids_.data()); }
  Iterator end() const { return Iterator(policy_, ids_.data() + ids_.size()); }
  // ToVector copies the strings (for tests and rare reports).
  std::vector<std::string> ToVector() const;

 private:
  friend class CompiledPolicy;
  StringList(const CompiledPolicy* policy, std::span<const uint32_t> ids) : policy_(policy), ids_(ids) {}
  const CompiledPolicy* policy_ = nullptr;
  std::span<const uint32_t> ids_;
};

// kNoList marks an unset list-valued constraint.
inline constexpr uint32_t kNoList = UINT32_MAX;

// CompiledConstraints is Constraints (policy.h) with its lists in the pool.
// Read through CompiledPolicy's accessors.
struct CompiledConstraints {
  uint64_t max_lifetime = 0;                // seconds, if has_max_lifetime
  uint32_t key_id = kNoList;                // list positions, or kNoList
  uint32_t require_extensions = kNoList;
  uint32_t forbid_extensions = kNoList;
  uint32_t key_types = kNoList;             // items are KeyType values
  uint32_t min_rsa_bits = 0;                // if has_min_rsa_bits
  bool has_max_lifetime = false;
  bool has_min_rsa_bits = false;
  std::optional<SourceAddressRequirement> source_address;

  bool operator==(const CompiledConstraints&) const = default;
};

// CompiledRule is a rule's record: ids into the pools of its policy.
struct CompiledRule {
  uint32_t name = 0;          // string id (the empty string if unnamed)
  uint32_t users = 0;         // list positions (string ids)
  uint32_t groups = 0;
  uint32_t authorities = 0;   // items: indices into authorities()
  uint32_t principals = 0;
  uint32_t options = 0;
  uint32_t user_keys = 0;     // items: indices into the user_keys lines
  uint32_t constraints = 0;   // index of its CompiledConstraints; 0: none
  uint32_t file = 0;          // string id of its file name
  uint32_t line = 0;
  uint32_t column = 0;
};

// RuleView is one rule of a compiled policy, read in place. A
// default-constructed view names no rule (valid() is false).
class RuleView {
 public:
  RuleView() = default;
  RuleView(const CompiledPolicy* policy, uint32_t index) : policy_(policy), index_(index) {}

  bool valid() const { return policy_ != nullptr; }
  uint32_t index() const { return index_; }
  // number is the 1-based position in the policy (certgate-policy(5)).
  size_t number() const { return size_t{index_} + 1; }
  std::string_view name() const;
  StringList users() const;
  StringList groups() const;
  std::span<const uint32_t> authorities() const;
  StringList principals() const;
  StringList options() const;
  // user_keys returns the break-glass keys, in policy order.
  std::vector<const AuthorizedKeysLine*> user_keys() const;
  // constraints returns the rule's own constraints (Policy defaults fill in
  // the rest at evaluation).
  const CompiledConstraints& constraints() const;
  std::string_view file() const;
  int line() const;
  int column() const;
  // Label returns the name, or "rule N (FILE:LINE)" for an unnamed rule.
  std::string Label() const;

  bool operator==(const RuleView& other) const {
    return policy_ == other.policy_ && index_ == other.index_;
  }

 private:
  const CompiledRule& record() const;
  const CompiledPolicy* policy_ = nullptr;
  uint32_t index_ = 0;
};

// UserIndexEntry names one literal login name of a literal rule.
struct UserIndexEntry {
  uint32_t rule = 0;
  uint32_t name = 0;  // string id
};

// IndexEntryBefore is the order of CompiledPolicy::by_name(): by login
// name (bytes), then by rule.
inline bool IndexEntryBefore(std::string_view a_name, uint32_t a_rule, std::string_view b_name,
                             uint32_t b_rule) {
  return a_name != b_name ? a_name < b_name : a_rule < b_rule;
}

// GenericRule is a rule the index cannot find by name (patterns, negations,
// groups). A decision tries the users patterns of all of them, so these are
// kept side by side as views (CompiledPolicy::GenericPatterns), and their
// group: names beside them: one pass over contiguous memory, without
// visiting the rules' records.
struct GenericRule {
  uint32_t rule = 0;
  uint32_t groups = 0;  // list position (the rule's own groups list)
  uint32_t patterns_first = 0;
  uint32_t patterns_count = 0;
};

// CompiledPolicy is a Policy compiled by CompilePolicy.
class CompiledPolicy {
 public:
  CompiledPolicy(const CompiledPolicy&) = delete;
  CompiledPolicy& operator=(const CompiledPolicy&) = delete;

  // Content other than rules, as loaded (few and small).
  const std::vector<Authority>& authorities() const { return authorities_; }
  const std::vector<std::string>& revoked_key_ids() const { return revoked_key_ids_; }
  const std::optional<std::string>& krl_path() const { return krl_path_; }
  const std::vector<std::string>& files() const { return files_; }
  const CompiledConstraints& defaults() const { return defaults_; }

  size_t rule_count() const { return rules_.size(); }
  RuleView rule(size_t i) const { return RuleView(this, static_cast<uint32_t>(i)); }

  // The user index: literal login names sorted by (name, rule), and the
  // other rules in ascending order (see CandidateRules).
  std::span<const UserIndexEntry> by_name() const { return by_name_; }
  std::span<const GenericRule> generic() const { return generic_; }
  std::span<const std::string_view> GenericPatterns(const GenericRule& g) const {
    return std::span<const std::string_view>(generic_patterns_).subspan(g.patterns_first, g.patterns_count);
  }

  // Pools, for views and the index (inline: a decision calls them for
  // every pattern it tries).
  std::string_view String(uint32_t id) const {
    const uint32_t begin = id == 0 ? 0 : string_ends_[id - 1];
    return chars_.substr(begin, string_ends_[id] - begin);
  }
  std::span<const uint32_t> List(uint32_t position) const {
    return lists_.subspan(size_t{position} + 1, lists_[position]);
  }
  StringList Strings(uint32_t position) const { return StringList(this, List(position)); }
  const CompiledRule& record(uint32_t rule) const { return rules_[rule]; }
  const CompiledConstraints& constraints(uint32_t index) const { return constraints_[index]; }
  const AuthorizedKeysLine& user_key(uint32_t index) const { return user_keys_[index]; }

  // Raw arrays, for the snapshot writer (policy_snapshot.h).
  std::string_view chars() const { return chars_; }
  std::span<const uint32_t> string_ends() const { return string_ends_; }
  std::span<const uint32_t> lists() const { return lists_; }
  std::span<const CompiledRule> records() const { return rules_; }
  std::span<const CompiledConstraints> all_constraints() const { return constraints_; }
  std::span<const AuthorizedKeysLine> user_keys() const { return user_keys_; }

  // bytes estimates the memory the pools take (tests bound it).
  size_t bytes() const;

 private:
  friend class PolicyCompiler;
  friend class SnapshotReader;
  CompiledPolicy() = default;

  std::vector<Authority> authorities_;
  std::vector<std::string> revoked_key_ids_;
  std::optional<std::string> krl_path_;
  std::vector<std::string> files_;

  // The large arrays, which a decision reads in place: views into
  // |backing_|, which is either the vectors the compiler filled or a
  // snapshot file mapped read-only (policy_snapshot.h).
  std::shared_ptr<const void> backing_;
  std::string_view chars_;                   // every string's bytes
  std::span<const uint32_t> string_ends_;    // string id i is [ends[i-1], ends[i])
  std::span<const uint32_t> lists_;          // at each list: count, items
  std::span<const CompiledRule> rules_;
  std::span<const UserIndexEntry> by_name_;

  // The small parts, always owned.
  CompiledConstraints defaults_;
  std::vector<CompiledConstraints> constraints_;  // [0]: none set
  std::vector<AuthorizedKeysLine> user_keys_;
  std::vector<GenericRule> generic_;
  std::vector<std::string_view> generic_patterns_;  // into chars_
};

inline std::string_view StringList::Iterator::operator*() const { return policy_->String(*id_); }
inline std::string_view StringList::operator[](size_t i) const { return policy_->String(ids_[i]); }

// RepeatedName is a named rule whose name an earlier rule already has.
struct RepeatedName {
  RuleView rule;
  RuleView first;  // the first rule with that name
};

// RepeatedNames lists them in policy order. A name is only a label
// (certgate-policy(5)), so a policy may repeat one, but its log records and
// --explain output then cannot tell those rules apart: --check warns.
std::vector<RepeatedName> RepeatedNames(const CompiledPolicy& policy);

// CompilePolicy compiles |policy| (a complete, loaded policy). Nothing is
// lost: every rule's view reads back what the Rule held (tests and the
// policy fuzz target check it). It fails (kTooLarge) only for a policy whose
// pools would pass 32-bit positions, which the loader's limits
// (policy_loader.h) never let through.
Result<std::shared_ptr<const CompiledPolicy>> CompilePolicy(const Policy& policy);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_COMPILED_POLICY_H_
