// Checks of a compiled policy against the Policy it was compiled from,
// shared by the unit tests and the policy fuzz target.
#ifndef CERTGATE_TESTS_POLICY_TESTING_H_
#define CERTGATE_TESTS_POLICY_TESTING_H_

#include <string>

#include "core/compiled_policy.h"
#include "core/policy.h"

namespace certgate::testing {

// CompileDifference returns "" if |compiled| holds exactly the content of
// |policy| (authorities, defaults, revoked key ids, KRL path, files, and
// every field of every rule, read back through RuleView) and its user index
// lists exactly the literal names of the literal rules and every other rule;
// else the first difference, in one line.
std::string CompileDifference(const core::Policy& policy, const core::CompiledPolicy& compiled);

// MutableConstraints gives a test |rule|'s own constraints to set (a copy:
// rules may share theirs).
core::Constraints& MutableConstraints(core::Rule& rule);

}  // namespace certgate::testing

#endif  // CERTGATE_TESTS_POLICY_TESTING_H_
