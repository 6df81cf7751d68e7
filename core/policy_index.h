// The per-user rule index: which rules can apply to a login name, without
// looking at every rule. A decision with it is identical to the linear one.
// CompilePolicy (compiled_policy.h) builds it: every literal login name of a
// literal rule, sorted by (name, rule), and every other rule (patterns,
// negations, groups) in a generic list, with their users patterns side by
// side as views and their group: lists beside them, so that a login name is
// tried against all of them without visiting the rules themselves (at
// 100,000 rules, ~1% of them patterns, that walk was once the largest cost
// of a decision). It stores 8 bytes per literal name, and 16 per generic
// rule plus 16 per pattern.
#ifndef CERTGATE_CORE_POLICY_INDEX_H_
#define CERTGATE_CORE_POLICY_INDEX_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/compiled_policy.h"
#include "core/groups.h"
#include "core/policy.h"

namespace certgate::core {

// IsLiteralUserRule returns true if |rule| applies exactly to the login names
// listed in its `users` (no group: entry, no '*', '?' or leading '!'), so
// that it can be found by name.
bool IsLiteralUserRule(const Rule& rule);

// CandidateRules returns, in ascending order and without repeats, the index
// of every rule that may apply to |user|: the literal rules naming it, the
// generic rules whose patterns match it, and the rules with group: entries
// whose patterns do not exclude it (a negated pattern matching) and, when
// |groups| is given, of which |user| is in a group or a group lookup
// failed (the decision then reports it). Any rule not returned does not
// apply (its users match would be kUserNotMatched).
std::vector<uint32_t> CandidateRules(const CompiledPolicy& policy, std::string_view user,
                                     GroupResolver* groups = nullptr);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_POLICY_INDEX_H_
