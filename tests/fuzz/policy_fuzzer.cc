// Fuzzes the policy loader (libyaml events -> Policy + Issues), and checks
// that a loaded policy's user index finds exactly the rules a linear walk
// finds, for the login names the policy itself mentions and a few others.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/groups.h"
#include "core/policy.h"
#include "core/policy_eval.h"
#include "core/policy_loader.h"

namespace {

using certgate::core::Policy;

// RuleNumbers is RulesForUser as rule numbers, with its lookup errors.
std::vector<size_t> RuleNumbers(const Policy& policy, const std::string& user,
                                certgate::core::GroupResolver& groups, std::vector<std::string>* errors) {
  std::vector<size_t> out;
  for (const certgate::core::Rule* rule : certgate::core::RulesForUser(policy, user, groups, errors)) {
    out.push_back(rule->number);
  }
  return out;
}

void CheckIndex(const Policy& indexed) {
  Policy linear = indexed;
  linear.user_index = certgate::core::UserIndex{};
  std::vector<std::string> names = {"root", "alice", "", "svc-1"};
  std::vector<std::string> group_names;
  for (const certgate::core::Rule& rule : indexed.rules) {
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
    std::vector<std::string> errors_a, errors_b;
    if (RuleNumbers(indexed, name, groups, &errors_a) != RuleNumbers(linear, name, groups, &errors_b) ||
        errors_a != errors_b) {
      __builtin_trap();
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
  if (result.policy.has_value()) CheckIndex(*result.policy);
  return 0;
}
