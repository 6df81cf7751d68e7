#include "tests/policy_testing.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/policy_index.h"

namespace certgate::testing {
namespace {

using core::CompiledConstraints;
using core::CompiledPolicy;
using core::Constraints;
using core::kNoList;

std::optional<std::vector<std::string>> Strings(const CompiledPolicy& c, uint32_t list) {
  if (list == kNoList) return std::nullopt;
  return c.Strings(list).ToVector();
}

// Decompile turns compiled constraints back into Constraints.
Constraints Decompile(const CompiledPolicy& c, const CompiledConstraints& cc) {
  Constraints out;
  if (cc.has_max_lifetime) out.max_lifetime = cc.max_lifetime;
  out.key_id = Strings(c, cc.key_id);
  out.source_address = cc.source_address;
  out.require_extensions = Strings(c, cc.require_extensions);
  out.forbid_extensions = Strings(c, cc.forbid_extensions);
  if (cc.key_types != kNoList) {
    out.key_types.emplace();
    for (uint32_t t : c.List(cc.key_types)) out.key_types->push_back(static_cast<core::KeyType>(t));
  }
  if (cc.has_min_rsa_bits) out.min_rsa_bits = cc.min_rsa_bits;
  return out;
}

bool SameKeyLine(const core::AuthorizedKeysLine& a, const core::AuthorizedKeysLine& b) {
  return a.options == b.options && a.key == b.key && a.comment == b.comment;
}

std::string RuleDifference(const CompiledPolicy& c, const core::Rule& rule, const core::RuleView& view) {
  const std::string at = "rule " + std::to_string(view.number()) + ": ";
  if (view.name() != rule.name) return at + "name";
  if (view.users().ToVector() != rule.users) return at + "users";
  if (view.groups().ToVector() != rule.groups) return at + "groups";
  std::vector<size_t> authorities(view.authorities().begin(), view.authorities().end());
  if (authorities != rule.authorities) return at + "authorities";
  if (view.principals().ToVector() != rule.principals) return at + "principals";
  if (view.options().ToVector() != rule.options) return at + "options";
  std::vector<const core::AuthorizedKeysLine*> keys = view.user_keys();
  if (keys.size() != rule.user_keys.size()) return at + "user_keys count";
  for (size_t k = 0; k < keys.size(); ++k) {
    if (!SameKeyLine(*keys[k], rule.user_keys[k])) return at + "user_keys " + std::to_string(k);
  }
  if (!(Decompile(c, view.constraints()) == rule.Own())) return at + "constraints";
  if (view.file() != rule.where.File() || view.line() != rule.where.line ||
      view.column() != rule.where.column) {
    return at + "location";
  }
  if (view.number() != rule.number) return at + "number " + std::to_string(rule.number) + " at this position";
  if (view.Label() != rule.Label()) return at + "label";
  return "";
}

std::string IndexDifference(const core::Policy& policy, const CompiledPolicy& c) {
  std::vector<std::tuple<std::string, uint32_t>> names;
  std::vector<core::GenericRule> generic;
  for (size_t r = 0; r < policy.rules.size(); ++r) {
    const core::Rule& rule = policy.rules[r];
    const auto index = static_cast<uint32_t>(r);
    if (core::IsLiteralUserRule(rule)) {
      for (const std::string& u : rule.users) names.emplace_back(u, index);
    } else {
      generic.push_back(core::GenericRule{index, 0, 0, 0});
    }
  }
  std::sort(names.begin(), names.end());
  if (names.size() != c.by_name().size()) return "index: number of literal names";
  for (size_t i = 0; i < names.size(); ++i) {
    const core::UserIndexEntry& e = c.by_name()[i];
    if (c.String(e.name) != std::get<0>(names[i]) || e.rule != std::get<1>(names[i])) {
      return "index: literal name " + std::to_string(i);
    }
  }
  if (generic.size() != c.generic().size()) return "index: number of generic rules";
  for (size_t i = 0; i < generic.size(); ++i) {
    const core::GenericRule& g = c.generic()[i];
    const core::Rule& rule = policy.rules[generic[i].rule];
    std::vector<std::string> patterns(c.GenericPatterns(g).begin(), c.GenericPatterns(g).end());
    if (g.rule != generic[i].rule || patterns != rule.users ||
        c.Strings(g.groups).ToVector() != rule.groups) {
      return "index: generic rule " + std::to_string(i);
    }
  }
  return "";
}

}  // namespace

std::string CompileDifference(const core::Policy& policy, const CompiledPolicy& compiled) {
  if (compiled.authorities().size() != policy.authorities.size()) return "authorities count";
  for (size_t a = 0; a < policy.authorities.size(); ++a) {
    const core::Authority& x = policy.authorities[a];
    const core::Authority& y = compiled.authorities()[a];
    if (x.name != y.name || x.keys != y.keys || x.fingerprints != y.fingerprints ||
        x.revoked_serials != y.revoked_serials || x.allow_sha1 != y.allow_sha1) {
      return "authority " + x.name;
    }
  }
  if (!(Decompile(compiled, compiled.defaults()) == policy.defaults)) return "defaults";
  if (compiled.revoked_key_ids() != policy.revoked_key_ids) return "revoked key ids";
  if (compiled.krl_path() != policy.krl_path) return "krl path";
  if (compiled.files() != policy.files) return "files";
  if (compiled.rule_count() != policy.rules.size()) return "rule count";
  for (size_t r = 0; r < policy.rules.size(); ++r) {
    std::string difference = RuleDifference(compiled, policy.rules[r], compiled.rule(r));
    if (!difference.empty()) return difference;
  }
  return IndexDifference(policy, compiled);
}

core::Constraints& MutableConstraints(core::Rule& rule) {
  auto own = std::make_shared<core::Constraints>(rule.Own());
  rule.constraints = own;
  return *own;
}

}  // namespace certgate::testing
