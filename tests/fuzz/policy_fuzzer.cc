// Fuzzes the policy loader (libyaml events -> Policy + Issues). A loaded
// policy is compiled, and the compiled form must read back exactly what
// was loaded (tests/policy_testing.h), also after a round trip through a
// policy snapshot (EncodeSnapshot, DecodeSnapshot); the user index of both
// must find exactly the rules a linear walk finds, for the login names the
// policy itself mentions and a few others.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/compiled_policy.h"
#include "core/groups.h"
#include "core/pattern.h"
#include "core/policy.h"
#include "core/policy_eval.h"
#include "core/policy_index.h"
#include "core/policy_loader.h"
#include "core/policy_snapshot.h"
#include "tests/policy_testing.h"

namespace {

using certgate::core::CompiledPolicy;
using certgate::core::Policy;

// IndexedRules is RulesForUser (through the index) as rule indices.
std::vector<uint32_t> IndexedRules(const CompiledPolicy& policy, const std::string& user,
                                   certgate::core::GroupResolver& groups, std::vector<std::string>* errors) {
  std::vector<uint32_t> out;
  for (const certgate::core::RuleView& rule : certgate::core::RulesForUser(policy, user, groups, errors)) {
    out.push_back(rule.index());
  }
  return out;
}

// LinearRules walks every rule the way MatchUser does, on the Policy.
std::vector<uint32_t> LinearRules(const Policy& policy, const std::string& user,
                                  certgate::core::GroupResolver& groups, std::vector<std::string>* errors) {
  std::vector<uint32_t> out;
  for (size_t r = 0; r < policy.rules.size(); ++r) {
    const certgate::core::Rule& rule = policy.rules[r];
    certgate::core::ListMatch m = rule.users.empty() ? certgate::core::ListMatch::kNoMatch
                                                     : certgate::core::MatchPatternList(user, rule.users);
    if (m == certgate::core::ListMatch::kNegated) continue;
    bool match = m == certgate::core::ListMatch::kMatch;
    for (size_t g = 0; !match && g < rule.groups.size(); ++g) {
      certgate::core::Result<bool> member = groups.IsMember(user, rule.groups[g]);
      if (!member) {
        errors->push_back(member.error().detail);
        break;
      }
      match = *member;
    }
    if (match) out.push_back(static_cast<uint32_t>(r));
  }
  return out;
}

// RoundTrip returns |compiled| written as a snapshot and read back; the
// snapshot's bytes live as long as the policy.
std::shared_ptr<const CompiledPolicy> RoundTrip(const CompiledPolicy& compiled) {
  certgate::core::SnapshotOrigin origin;
  origin.version = "fuzz";
  origin.policy_path = "fuzz.yaml";
  auto bytes = std::make_shared<const std::vector<uint8_t>>(certgate::core::EncodeSnapshot(compiled, origin));
  certgate::core::Result<certgate::core::DecodedSnapshot> decoded = certgate::core::DecodeSnapshot(*bytes, bytes);
  if (!decoded) __builtin_trap();  // what the writer writes, the reader must accept
  return decoded->policy;
}

void CheckCompiled(const Policy& policy) {
  certgate::core::Result<std::shared_ptr<const CompiledPolicy>> compiled = certgate::core::CompilePolicy(policy);
  if (!compiled) __builtin_trap();  // the loader's limits keep every policy compilable
  if (!certgate::testing::CompileDifference(policy, **compiled).empty()) __builtin_trap();
  const std::shared_ptr<const CompiledPolicy> snapshot = RoundTrip(**compiled);
  if (!certgate::testing::CompileDifference(policy, *snapshot).empty()) __builtin_trap();
  std::vector<std::string> names = {"root", "alice", "", "svc-1"};
  std::vector<std::string> group_names;
  for (const certgate::core::Rule& rule : policy.rules) {
    for (const std::string& u : rule.users) {
      if (names.size() < 64) names.push_back(u[0] == '!' ? u.substr(1) : u);
    }
    for (const std::string& g : rule.groups) {
      if (group_names.size() < 16) group_names.push_back(g);
    }
  }
  // Every other name is in every group: members and non-members both.
  certgate::core::StaticGroupResolver groups;
  for (size_t i = 0; i < names.size(); i += 2) {
    for (const std::string& g : group_names) groups.Add(names[i], g);
  }
  for (const std::string& name : names) {
    std::vector<std::string> errors_linear;
    const std::vector<uint32_t> linear = LinearRules(policy, name, groups, &errors_linear);
    for (const CompiledPolicy* indexed : {compiled->get(), snapshot.get()}) {
      std::vector<std::string> errors;
      if (IndexedRules(*indexed, name, groups, &errors) != linear || errors != errors_linear) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  certgate::core::LoadResult result;
  certgate::core::ParsePolicyText(std::string_view(reinterpret_cast<const char*>(data), size),
                                  "fuzz.yaml", &result);
  certgate::core::FinishPolicy(&result);
  // A loaded policy has no issues, and an issue means no policy.
  if (result.policy.has_value() != result.issues.empty()) __builtin_trap();
  for (const auto& issue : result.issues) {
    if (issue.where.line < 1 || issue.where.column < 1) __builtin_trap();
  }
  if (result.policy.has_value()) CheckCompiled(*result.policy);
  return 0;
}
