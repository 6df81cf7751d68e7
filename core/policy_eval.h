// The decision: Evaluate(policy, request) -> Decision. Pure: no I/O except
// through the GroupResolver it is given.
#ifndef CERTGATE_CORE_POLICY_EVAL_H_
#define CERTGATE_CORE_POLICY_EVAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/certificate.h"
#include "core/groups.h"
#include "core/krl.h"
#include "core/compiled_policy.h"

namespace certgate::core {

enum class Verdict { kDeny, kAllow };

// Grant is one principal granted, with the options of the rule that granted it.
struct Grant {
  std::string principal;
  RuleView rule;
};

// RuleOutcome is what one rule did, for logs and --explain.
struct RuleOutcome {
  enum class Kind {
    kUserNotMatched,       // login name not in `users` (or negated)
    kAuthorityNotListed,   // certificate's authority not in `authorities`
    kConstraintFailed,     // applied, but a constraint failed: |reason|
    kNoPrincipalMatched,   // applied, constraints passed, nothing granted: |reason|
                           // (no match; or each match granted before, or unprintable)
    kGranted,              // granted |principals| (not already granted)
    kGroupLookupFailed,    // a group lookup failed: treated as not matched
  };
  RuleView rule;
  Kind kind = Kind::kUserNotMatched;
  std::string reason;
  std::vector<std::string> principals;
};

// Request is one login attempt.
struct Request {
  std::string user;                 // sshd's %u
  const Certificate* cert = nullptr;
  uint64_t now = 0;                 // seconds since the epoch
  // every_rule: report every rule in Decision::rules, also those whose users
  // do not match (--explain). Otherwise rules that cannot apply to |user|
  // are skipped through the policy's user index, and no rule whose users do not
  // match |user| is in Decision::rules; verdict, reason, grants and every
  // other outcome are the same.
  bool every_rule = false;
  // krl_unusable: why the policy's KRL cannot be used ("": it can, or there
  // is none). The revocation step then denies every certificate with it,
  // after the steps before have named the authority or denied.
  std::string krl_unusable{};
};

// Decision is the outcome. verdict is kDeny unless every check passed and
// at least one principal was granted; it is set to kAllow in one place.
struct Decision {
  Verdict verdict = Verdict::kDeny;
  // reason: why denied (empty on allow), one line, e.g.
  // "certificate expired 42s ago (valid_before 2026-11-22T10:00:00Z)".
  std::string reason;
  const Authority* authority = nullptr;   // null if the CA is unknown
  std::string ca_fingerprint;             // SHA256 of the CA key
  std::vector<Grant> grants;              // rule order, then principal order
  std::vector<RuleOutcome> rules;         // every rule considered, in order
  std::vector<std::string> unsafe_principals;  // matched but never printed
};

// Evaluate decides |request| against |policy| in the order of
// certgate-policy(5): authority known, signature algorithm acceptable for
// it, time, revocation (authority serials, revoked key ids,
// request.krl_unusable, |krl| if not null), then each rule. |groups|
// answers `group:` entries.
Decision Evaluate(const CompiledPolicy& policy, const Request& request, const Krl* krl,
                  GroupResolver& groups);

// UserMatch is whether one rule's `users` and `groups` take in a login name.
struct UserMatch {
  enum class Kind { kMatched, kNotMatched, kGroupLookupFailed };
  RuleView rule;
  Kind kind = Kind::kNotMatched;
  std::string error;  // kGroupLookupFailed: what failed
};

// MatchUsers returns, in policy order, every rule that matches |user| or
// whose group lookup failed. With |every_rule| (--explain) it also returns
// the rules that do not match; otherwise those are skipped through the
// policy's user index.
std::vector<UserMatch> MatchUsers(const CompiledPolicy& policy, const std::string& user,
                                  GroupResolver& groups, bool every_rule);

// RulesForUser returns the rules whose `users` match |user| (used by
// keys-cmd for plain keys). Group lookup failures count as no match and
// are appended to |errors|.
std::vector<RuleView> RulesForUser(const CompiledPolicy& policy, const std::string& user,
                                   GroupResolver& groups, std::vector<std::string>* errors);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_POLICY_EVAL_H_
