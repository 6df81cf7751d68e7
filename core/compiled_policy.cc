#include "core/compiled_policy.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/policy_index.h"

namespace certgate::core {

static_assert(sizeof(CompiledRule) == 44, "compiled_policy.h documents 44-byte rule records");
static_assert(sizeof(CompiledConstraints) == 40, "compiled_policy.h documents 40-byte constraints");

std::vector<std::string> StringList::ToVector() const {
  std::vector<std::string> out;
  out.reserve(size());
  for (std::string_view s : *this) out.emplace_back(s);
  return out;
}

const CompiledRule& RuleView::record() const { return policy_->record(index_); }
std::string_view RuleView::name() const { return policy_->String(record().name); }
StringList RuleView::users() const { return policy_->Strings(record().users); }
StringList RuleView::groups() const { return policy_->Strings(record().groups); }
std::span<const uint32_t> RuleView::authorities() const { return policy_->List(record().authorities); }
StringList RuleView::principals() const { return policy_->Strings(record().principals); }
StringList RuleView::options() const { return policy_->Strings(record().options); }
std::string_view RuleView::file() const { return policy_->String(record().file); }
int RuleView::line() const { return static_cast<int>(record().line); }
int RuleView::column() const { return static_cast<int>(record().column); }

const CompiledConstraints& RuleView::constraints() const {
  return policy_->constraints(record().constraints);
}

std::vector<const AuthorizedKeysLine*> RuleView::user_keys() const {
  std::vector<const AuthorizedKeysLine*> out;
  for (uint32_t k : policy_->List(record().user_keys)) out.push_back(&policy_->user_key(k));
  return out;
}

std::string RuleView::Label() const {
  if (!name().empty()) return std::string(name());
  return "rule " + std::to_string(number()) + " (" + std::string(file()) + ":" +
         std::to_string(line()) + ")";
}

std::vector<RepeatedName> RepeatedNames(const CompiledPolicy& policy) {
  std::vector<RepeatedName> out;
  std::unordered_map<std::string_view, uint32_t> first;  // name -> rule index
  for (size_t i = 0; i < policy.rule_count(); i++) {
    const RuleView rule = policy.rule(i);
    if (rule.name().empty()) continue;
    const auto [it, added] = first.try_emplace(rule.name(), rule.index());
    if (!added) out.push_back({rule, policy.rule(it->second)});
  }
  return out;
}

size_t CompiledPolicy::bytes() const {
  return chars_.size() + string_ends_.size_bytes() + lists_.size_bytes() + rules_.size_bytes() +
         by_name_.size_bytes() + constraints_.capacity() * sizeof(CompiledConstraints) +
         generic_.capacity() * sizeof(GenericRule) +
         generic_patterns_.capacity() * sizeof(std::string_view);
}

namespace {

// CompiledArrays owns the large arrays of a policy compiled in memory.
struct CompiledArrays {
  std::string chars;
  std::vector<uint32_t> string_ends;
  std::vector<uint32_t> lists;
  std::vector<CompiledRule> rules;
  std::vector<UserIndexEntry> by_name;

  std::string_view String(uint32_t id) const {
    const uint32_t begin = id == 0 ? 0 : string_ends[id - 1];
    return std::string_view(chars).substr(begin, string_ends[id] - begin);
  }
  std::span<const uint32_t> List(uint32_t position) const {
    return std::span<const uint32_t>(lists).subspan(size_t{position} + 1, lists[position]);
  }
};

// InternTable maps content to the 32-bit value (string id, list position,
// constraints index) it was first stored under. Open addressing over
// (hash, value) slots; the content itself is compared in the pools, so a
// lookup touches one slot and the candidate's bytes, and nothing is
// allocated per entry (std::unordered_map made compiling slower than
// loading).
class InternTable {
 public:
  explicit InternTable(size_t expected) {
    size_t size = 64;
    while (size * 3 < expected * 4) size *= 2;
    slots_.assign(size, Slot{});
  }

  // FindOrAdd returns the value of the entry of |hash| for which |same|
  // holds, or else stores and returns |add|().
  template <typename Same, typename Add>
  uint32_t FindOrAdd(uint32_t hash, Same same, Add add) {
    if ((count_ + 1) * 4 > slots_.size() * 3) Grow();
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.value == kEmpty) {
        slot.hash = hash;
        slot.value = add();
        ++count_;
        return slot.value;
      }
      if (slot.hash == hash && same(slot.value)) return slot.value;
    }
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    uint32_t hash = 0;
    uint32_t value = kEmpty;
  };

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    const size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.value == kEmpty) continue;
      size_t i = slot.hash & mask;
      while (slots_[i].value != kEmpty) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  size_t count_ = 0;
};

// Fnv1a hashes bytes (FNV-1a, 32 bits).
uint32_t Fnv1a(std::string_view bytes, uint32_t h = 2166136261u) {
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

uint32_t HashItems(std::span<const uint32_t> items) {
  uint32_t h = 2166136261u;
  for (uint32_t item : items) {
    for (int shift = 0; shift < 32; shift += 8) h = (h ^ ((item >> shift) & 0xff)) * 16777619u;
  }
  return h;
}

// IndexOrder is by_name()'s order (IndexEntryBefore) on ids of |a|.
bool IndexOrder(const CompiledArrays& a, const UserIndexEntry& x, const UserIndexEntry& y) {
  if (x.name == y.name) return x.rule < y.rule;
  return IndexEntryBefore(a.String(x.name), x.rule, a.String(y.name), y.rule);
}

}  // namespace

// PolicyCompiler (a friend of CompiledPolicy) builds a CompiledPolicy from
// a Policy, storing each distinct string, list and set of constraints once.
class PolicyCompiler {
 public:
  explicit PolicyCompiler(const Policy& policy)
      : policy_(policy),
        strings_(policy.rules.size() * 3 + 64),
        lists_(policy.rules.size() * 2 + 64),
        constraints_(64) {}

  Result<std::shared_ptr<const CompiledPolicy>> Compile() {
    auto out = std::shared_ptr<CompiledPolicy>(new CompiledPolicy());
    auto arrays = std::make_shared<CompiledArrays>();
    c_ = out.get();
    a_ = arrays.get();
    c_->authorities_ = policy_.authorities;
    c_->revoked_key_ids_ = policy_.revoked_key_ids;
    c_->krl_path_ = policy_.krl_path;
    c_->files_ = policy_.files;
    Intern("");                          // string id 0: the empty string
    scratch_.clear();
    List();                              // list position 0: the empty list
    InternConstraints(Constraints{});    // constraints 0: none set
    c_->defaults_ = Compile(policy_.defaults);

    // The patterns and groups of the rules the index cannot find by name
    // first: a decision tries all of them, so they sit side by side.
    std::vector<bool> literal(policy_.rules.size());
    for (size_t r = 0; r < policy_.rules.size(); ++r) {
      const Rule& rule = policy_.rules[r];
      literal[r] = IsLiteralUserRule(rule);
      if (literal[r]) continue;
      for (const std::string& u : rule.users) Intern(u);
      c_->generic_.push_back(GenericRule{Position(r), StringListOf(rule.groups), 0, 0});
    }
    a_->rules.reserve(policy_.rules.size());
    for (size_t r = 0; r < policy_.rules.size(); ++r) {
      const Rule& rule = policy_.rules[r];
      CompiledRule rec;
      rec.name = Intern(rule.name);
      rec.users = StringListOf(rule.users);
      rec.groups = StringListOf(rule.groups);
      scratch_.clear();
      for (size_t a : rule.authorities) scratch_.push_back(Position(a));
      rec.authorities = List();
      rec.principals = StringListOf(rule.principals);
      rec.options = StringListOf(rule.options);
      scratch_.clear();
      for (const AuthorizedKeysLine& line : rule.user_keys) {
        scratch_.push_back(Position(c_->user_keys_.size()));
        c_->user_keys_.push_back(line);
      }
      rec.user_keys = List();
      rec.constraints = InternConstraints(rule.Own());
      rec.file = Intern(rule.where.File());
      rec.line = Position(static_cast<size_t>(std::max(rule.where.line, 0)));
      rec.column = Position(static_cast<size_t>(std::max(rule.where.column, 0)));
      a_->rules.push_back(rec);
      if (!literal[r]) continue;
      for (uint32_t name : a_->List(rec.users)) a_->by_name.push_back(UserIndexEntry{Position(r), name});
    }
    const CompiledArrays& a = *a_;
    std::sort(a_->by_name.begin(), a_->by_name.end(),
              [&a](const UserIndexEntry& x, const UserIndexEntry& y) { return IndexOrder(a, x, y); });
    a_->chars.shrink_to_fit();
    a_->string_ends.shrink_to_fit();
    a_->lists.shrink_to_fit();
    a_->rules.shrink_to_fit();
    a_->by_name.shrink_to_fit();
    c_->constraints_.shrink_to_fit();
    c_->user_keys_.shrink_to_fit();
    c_->generic_.shrink_to_fit();
    c_->chars_ = a_->chars;
    c_->string_ends_ = a_->string_ends;
    c_->lists_ = a_->lists;
    c_->rules_ = a_->rules;
    c_->by_name_ = a_->by_name;
    c_->backing_ = std::move(arrays);
    // Views into chars, which no longer moves.
    for (GenericRule& g : c_->generic_) {
      g.patterns_first = Position(c_->generic_patterns_.size());
      for (std::string_view pattern : c_->rule(g.rule).users()) c_->generic_patterns_.push_back(pattern);
      g.patterns_count = Position(c_->generic_patterns_.size() - g.patterns_first);
    }
    c_->generic_patterns_.shrink_to_fit();
    if (overflow_) return Fail(Errc::kTooLarge, "policy too large to compile (32-bit positions)");
    return std::shared_ptr<const CompiledPolicy>(std::move(out));
  }

 private:
  // Position narrows a count or index to 32 bits, noting any overflow.
  uint32_t Position(size_t n) {
    if (n >= UINT32_MAX) {
      overflow_ = true;
      return 0;
    }
    return static_cast<uint32_t>(n);
  }

  uint32_t Intern(std::string_view s) {
    return strings_.FindOrAdd(
        Fnv1a(s), [this, s](uint32_t id) { return a_->String(id) == s; },
        [this, s] {
          const uint32_t id = Position(a_->string_ends.size());
          a_->chars.append(s);
          a_->string_ends.push_back(Position(a_->chars.size()));
          return id;
        });
  }

  // List stores the items in scratch_ as a list (once) and returns its position.
  uint32_t List() {
    const std::span<const uint32_t> items(scratch_);
    return lists_.FindOrAdd(
        HashItems(items),
        [this, items](uint32_t position) {
          std::span<const uint32_t> stored = a_->List(position);
          return std::equal(stored.begin(), stored.end(), items.begin(), items.end());
        },
        [this, items] {
          const uint32_t position = Position(a_->lists.size());
          a_->lists.push_back(Position(items.size()));
          a_->lists.insert(a_->lists.end(), items.begin(), items.end());
          Position(a_->lists.size());
          return position;
        });
  }

  uint32_t StringListOf(const std::vector<std::string>& strings) {
    scratch_.clear();  // Intern does not use scratch_
    for (const std::string& s : strings) scratch_.push_back(Intern(s));
    return List();
  }

  uint32_t OptionalList(const std::optional<std::vector<std::string>>& strings) {
    return strings ? StringListOf(*strings) : kNoList;
  }

  CompiledConstraints Compile(const Constraints& c) {
    CompiledConstraints out;
    if (c.max_lifetime) {
      out.has_max_lifetime = true;
      out.max_lifetime = *c.max_lifetime;
    }
    out.key_id = OptionalList(c.key_id);
    out.source_address = c.source_address;
    out.require_extensions = OptionalList(c.require_extensions);
    out.forbid_extensions = OptionalList(c.forbid_extensions);
    if (c.key_types) {
      scratch_.clear();
      for (KeyType t : *c.key_types) scratch_.push_back(static_cast<uint32_t>(t));
      out.key_types = List();
    }
    if (c.min_rsa_bits) {
      out.has_min_rsa_bits = true;
      out.min_rsa_bits = *c.min_rsa_bits;
    }
    return out;
  }

  uint32_t InternConstraints(const Constraints& own) {
    const CompiledConstraints compiled = Compile(own);
    const uint32_t items[] = {static_cast<uint32_t>(compiled.max_lifetime >> 32),
                              static_cast<uint32_t>(compiled.max_lifetime),
                              compiled.key_id,
                              compiled.require_extensions,
                              compiled.forbid_extensions,
                              compiled.key_types,
                              compiled.min_rsa_bits,
                              uint32_t{compiled.has_max_lifetime},
                              uint32_t{compiled.has_min_rsa_bits},
                              compiled.source_address ? 1u + static_cast<uint32_t>(*compiled.source_address) : 0u};
    return constraints_.FindOrAdd(
        HashItems(items), [this, &compiled](uint32_t index) { return c_->constraints_[index] == compiled; },
        [this, &compiled] {
          c_->constraints_.push_back(compiled);
          return Position(c_->constraints_.size() - 1);
        });
  }

  const Policy& policy_;
  CompiledPolicy* c_ = nullptr;
  CompiledArrays* a_ = nullptr;
  bool overflow_ = false;
  InternTable strings_;
  InternTable lists_;
  InternTable constraints_;
  std::vector<uint32_t> scratch_;  // the items of the list being stored
};

Result<std::shared_ptr<const CompiledPolicy>> CompilePolicy(const Policy& policy) {
  return PolicyCompiler(policy).Compile();
}

}  // namespace certgate::core
