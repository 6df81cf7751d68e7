// Checks of a compiled policy against the Policy it was compiled from,
// shared by the unit tests and the policy and snapshot fuzz targets.
#ifndef CERTGATE_TESTS_POLICY_TESTING_H_
#define CERTGATE_TESTS_POLICY_TESTING_H_

#include <string>

#include "core/compiled_policy.h"
#include "core/policy.h"
#include "core/policy_eval.h"

namespace certgate::testing {

// CompileDifference returns "" if |compiled| holds exactly the content of
// |policy| (authorities, defaults, revoked key ids, KRL path, files, and
// every field of every rule, read back through RuleView) and its user index
// lists exactly the literal names of the literal rules and every other rule;
// else the first difference, in one line.
std::string CompileDifference(const core::Policy& policy, const core::CompiledPolicy& compiled);

// DecisionSummary returns everything |d| says (verdict, reason, grants and
// each rule's outcome, rules by index) in one line, to compare the
// decisions of two forms of one policy.
std::string DecisionSummary(const core::Decision& d);

}  // namespace certgate::testing

#endif  // CERTGATE_TESTS_POLICY_TESTING_H_
