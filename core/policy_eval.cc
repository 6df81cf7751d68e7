#include "core/policy_eval.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/duration.h"
#include "core/key_options.h"
#include "core/pattern.h"
#include "core/policy_index.h"
#include "core/sshd_output.h"

namespace certgate::core {
namespace {

constexpr std::string_view kUserToken = "{user}";

// UserMatches tells whether |rule| applies to |user|: a positive pattern or
// a group matches and no negated pattern does. Groups are asked only when
// the patterns did not already decide, since NSS may be slow.
RuleOutcome::Kind MatchUser(const RuleView& rule, const std::string& user, GroupResolver& groups,
                            std::string* error) {
  const StringList users = rule.users();
  ListMatch m = users.empty() ? ListMatch::kNoMatch : MatchPatternList(user, users);
  if (m == ListMatch::kNegated) return RuleOutcome::Kind::kUserNotMatched;
  if (m == ListMatch::kMatch) return RuleOutcome::Kind::kGranted;  // "matched"
  for (std::string_view group : rule.groups()) {
    Result<bool> member = groups.IsMember(user, group);
    if (!member) {
      *error = member.error().detail;
      return RuleOutcome::Kind::kGroupLookupFailed;
    }
    if (*member) return RuleOutcome::Kind::kGranted;
  }
  return RuleOutcome::Kind::kUserNotMatched;
}

// SubstituteUser replaces every "{user}" in |pattern| by |user|. A login
// name holding pattern syntax would turn into a wildcard, so such a name
// makes the pattern unusable (returns false): fail closed.
bool SubstituteUser(std::string_view pattern, const std::string& user, std::string* out) {
  if (pattern.find(kUserToken) == std::string::npos) {
    out->assign(pattern);
    return true;
  }
  if (user.empty() || user.find_first_of("*?!,{}") != std::string::npos) return false;
  out->clear();
  size_t pos = 0;
  for (;;) {
    size_t at = pattern.find(kUserToken, pos);
    if (at == std::string::npos) break;
    out->append(pattern, pos, at - pos);
    out->append(user);
    pos = at + kUserToken.size();
  }
  out->append(pattern.substr(pos));
  return true;
}

std::string Join(const StringList& items, std::string_view sep) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out.append(sep);
    out.append(item);
  }
  return out;
}

// OwnOr returns the rule's list |own| if set, else the default's.
uint32_t OwnOr(uint32_t own, uint32_t defaults) { return own != kNoList ? own : defaults; }

// CheckConstraints returns an empty string if |cert| satisfies the rule's
// constraints (falling back to the policy's defaults), else the first failure.
std::string CheckConstraints(const CompiledPolicy& policy, const CompiledConstraints& own,
                             const Certificate& cert) {
  const CompiledConstraints& defaults = policy.defaults();
  const CompiledConstraints& lifetime_from = own.has_max_lifetime ? own : defaults;
  if (lifetime_from.has_max_lifetime) {
    // valid_before > valid_after here: the time check already passed.
    uint64_t lifetime = cert.valid_before - cert.valid_after;
    if (lifetime > lifetime_from.max_lifetime) {
      std::string life = cert.valid_before == UINT64_MAX ? std::string("forever")
                                                         : FormatDuration(lifetime);
      return "certificate lifetime " + life + " exceeds max_lifetime " +
             FormatDuration(lifetime_from.max_lifetime);
    }
  }
  const uint32_t key_id = OwnOr(own.key_id, defaults.key_id);
  if (key_id != kNoList && MatchPatternList(cert.key_id, policy.Strings(key_id)) != ListMatch::kMatch) {
    return "key id does not match key_id " + Join(policy.Strings(key_id), ",");
  }
  const auto& source = own.source_address ? own.source_address : defaults.source_address;
  if (source == SourceAddressRequirement::kRequired && !cert.source_address) {
    return "certificate has no source-address critical option (source_address: required)";
  }
  const uint32_t require = OwnOr(own.require_extensions, defaults.require_extensions);
  if (require != kNoList) {
    for (std::string_view ext : policy.Strings(require)) {
      if (!cert.HasExtension(ext)) return "required extension " + std::string(ext) + " is missing";
    }
  }
  const uint32_t forbid = OwnOr(own.forbid_extensions, defaults.forbid_extensions);
  if (forbid != kNoList) {
    for (std::string_view ext : policy.Strings(forbid)) {
      if (cert.HasExtension(ext)) return "forbidden extension " + std::string(ext) + " is present";
    }
  }
  const uint32_t key_types = OwnOr(own.key_types, defaults.key_types);
  if (key_types != kNoList) {
    std::span<const uint32_t> types = policy.List(key_types);
    if (std::find(types.begin(), types.end(), static_cast<uint32_t>(cert.key.type)) == types.end()) {
      return "user key type " + std::string(cert.key.TypeName()) + " is not in key_types";
    }
  }
  const CompiledConstraints& rsa_from = own.has_min_rsa_bits ? own : defaults;
  if (rsa_from.has_min_rsa_bits && cert.key.type == KeyType::kRsa &&
      cert.key.RsaBits() < rsa_from.min_rsa_bits) {
    return "RSA key of " + std::to_string(cert.key.RsaBits()) + " bits is below min_rsa_bits " +
           std::to_string(rsa_from.min_rsa_bits);
  }
  return "";
}

// CommandConflict returns why the rule cannot grant a certificate that
// forces |forced| when the rule's options force another command: sshd
// refuses such a login ("forced command options do not match",
// auth-options.c sshauthopt_merge), so the rule's line would only deny.
// Empty if the rule forces no command or the same one.
std::string CommandConflict(const RuleView& rule, const std::string& forced) {
  for (std::string_view option : rule.options()) {
    std::optional<std::string> command = ForcedCommand(option);
    if (command && *command != forced) {
      return "its command= option is not the certificate's force-command, and sshd refuses a login when the "
             "two differ (make them equal, or drop command= from this rule)";
    }
  }
  return "";
}

const Authority* FindAuthority(const CompiledPolicy& policy, const Certificate& cert,
                               const std::string& fingerprint) {
  for (const Authority& authority : policy.authorities()) {
    for (const PublicKey& key : authority.keys) {
      if (key.blob == cert.signature_key.blob) return &authority;
    }
    for (const std::string& fp : authority.fingerprints) {
      if (fp == fingerprint) return &authority;
    }
  }
  return nullptr;
}

std::string TimeReason(const Certificate& cert, uint64_t now) {
  if (now < cert.valid_after) {
    return "certificate not yet valid: valid from " + std::to_string(cert.valid_after) + ", " +
           std::to_string(cert.valid_after - now) +
           "s in the future (check the clocks of the issuer and this host)";
  }
  // It expired at valid_before (the first second it is not valid).
  return "certificate expired " + std::to_string(now - cert.valid_before) +
         "s ago (valid_before " + std::to_string(cert.valid_before) + ")";
}

}  // namespace

std::vector<UserMatch> MatchUsers(const CompiledPolicy& policy, const std::string& user,
                                  GroupResolver& groups, bool every_rule) {
  std::vector<UserMatch> matches;
  std::vector<uint32_t> candidates;
  if (!every_rule) candidates = CandidateRules(policy, user, &groups);
  const size_t visits = every_rule ? policy.rule_count() : candidates.size();
  for (size_t v = 0; v < visits; ++v) {
    UserMatch m;
    m.rule = policy.rule(every_rule ? v : candidates[v]);
    switch (MatchUser(m.rule, user, groups, &m.error)) {
      case RuleOutcome::Kind::kGranted:
        m.kind = UserMatch::Kind::kMatched;
        break;
      case RuleOutcome::Kind::kGroupLookupFailed:
        m.kind = UserMatch::Kind::kGroupLookupFailed;
        break;
      default:
        if (!every_rule) continue;
        m.kind = UserMatch::Kind::kNotMatched;
        break;
    }
    matches.push_back(std::move(m));
  }
  return matches;
}

std::vector<RuleView> RulesForUser(const CompiledPolicy& policy, const std::string& user,
                                   GroupResolver& groups, std::vector<std::string>* errors) {
  std::vector<RuleView> rules;
  for (UserMatch& m : MatchUsers(policy, user, groups, /*every_rule=*/false)) {
    if (m.kind == UserMatch::Kind::kMatched) rules.push_back(m.rule);
    if (m.kind == UserMatch::Kind::kGroupLookupFailed) errors->push_back(std::move(m.error));
  }
  return rules;
}

Decision Evaluate(const CompiledPolicy& policy, const Request& request, const Krl* krl,
                  GroupResolver& groups) {
  Decision d;  // verdict starts as kDeny
  const Certificate& cert = *request.cert;
  d.ca_fingerprint = Sha256Fingerprint(cert.signature_key.blob);

  if (cert.cert_type != kCertTypeUser) {
    d.reason = "not a user certificate";
    return d;
  }
  d.authority = FindAuthority(policy, cert, d.ca_fingerprint);
  if (d.authority == nullptr) {
    d.reason = "certificate signed by an unknown CA";  // the record names its fingerprint
    return d;
  }
  if (IsSha1Rsa(cert.signature) && !d.authority->allow_sha1) {
    d.reason = "CA signed with ssh-rsa (SHA-1) and authority " + d.authority->name +
               " does not set allow_sha1";
    return d;
  }
  if (!IsValidAt(cert, request.now)) {
    d.reason = TimeReason(cert, request.now);
    return d;
  }
  if (std::binary_search(d.authority->revoked_serials.begin(),
                         d.authority->revoked_serials.end(), cert.serial)) {
    d.reason = "serial " + std::to_string(cert.serial) + " is revoked by authority " +
               d.authority->name;
    return d;
  }
  if (!policy.revoked_key_ids().empty() &&
      MatchPatternList(cert.key_id, policy.revoked_key_ids()) == ListMatch::kMatch) {
    d.reason = "key id is revoked (revoked.key_ids)";
    return d;
  }
  if (!request.krl_unusable.empty()) {
    d.reason = request.krl_unusable;
    return d;
  }
  if (krl != nullptr && krl->IsCertificateRevoked(cert)) {
    d.reason = "certificate is revoked by the KRL " + policy.krl_path().value_or("");
    return d;
  }
  if (cert.principals.empty()) {
    d.reason = "certificate has no principals";
    return d;
  }

  const auto authority_index = static_cast<uint32_t>(d.authority - policy.authorities().data());
  // granted: each principal a rule matched, and the first rule that did.
  std::unordered_map<std::string, RuleView> granted;
  std::string pattern_buf;
  std::vector<std::string> patterns;
  std::vector<uint32_t> candidates;
  if (!request.every_rule) candidates = CandidateRules(policy, request.user, &groups);
  const size_t visits = request.every_rule ? policy.rule_count() : candidates.size();
  for (size_t v = 0; v < visits; ++v) {
    const RuleView rule = policy.rule(request.every_rule ? v : candidates[v]);
    RuleOutcome outcome;
    outcome.rule = rule;
    std::string error;
    RuleOutcome::Kind user_match = MatchUser(rule, request.user, groups, &error);
    if (user_match == RuleOutcome::Kind::kUserNotMatched && !request.every_rule) {
      continue;  // reported for --explain only: no reason string per pattern rule
    }
    if (user_match != RuleOutcome::Kind::kGranted) {
      outcome.kind = user_match;
      outcome.reason = user_match == RuleOutcome::Kind::kGroupLookupFailed
                           ? error
                           : "login name " + request.user + " not in users";
      d.rules.push_back(std::move(outcome));
      continue;
    }
    const std::span<const uint32_t> authorities = rule.authorities();
    if (std::find(authorities.begin(), authorities.end(), authority_index) == authorities.end()) {
      outcome.kind = RuleOutcome::Kind::kAuthorityNotListed;
      outcome.reason = "authority " + d.authority->name + " not in authorities";
      d.rules.push_back(std::move(outcome));
      continue;
    }
    std::string failure = CheckConstraints(policy, rule.constraints(), cert);
    if (failure.empty() && cert.force_command) failure = CommandConflict(rule, *cert.force_command);
    if (!failure.empty()) {
      outcome.kind = RuleOutcome::Kind::kConstraintFailed;
      outcome.reason = std::move(failure);
      d.rules.push_back(std::move(outcome));
      continue;
    }
    patterns.clear();
    const StringList principals = rule.principals();
    std::string_view lost_exclusion;
    for (std::string_view p : principals) {
      if (SubstituteUser(p, request.user, &pattern_buf)) {
        patterns.push_back(pattern_buf);
      } else if (p.starts_with('!') && lost_exclusion.empty()) {
        lost_exclusion = p;
      }
    }
    if (!lost_exclusion.empty()) {
      // Dropping a positive {user} pattern only grants less; dropping a
      // negated one would grant what it excludes. Fail closed: nothing.
      outcome.kind = RuleOutcome::Kind::kNoPrincipalMatched;
      outcome.reason = "login name " + request.user + " holds pattern characters, so the exclusion " +
                       std::string(lost_exclusion) + " cannot be applied; the rule grants nothing";
      d.rules.push_back(std::move(outcome));
      continue;
    }
    // not_granted: the principals this rule matched but does not grant,
    // each with the earlier rule that did (none: it is unprintable). Put
    // in words only if the rule grants nothing.
    std::vector<std::pair<const std::string*, RuleView>> not_granted;
    for (const std::string& principal : cert.principals) {
      if (patterns.empty() || MatchPatternList(principal, patterns) != ListMatch::kMatch) continue;
      const auto [first, fresh] = granted.try_emplace(principal, rule);
      if (!IsPrintablePrincipal(principal)) {
        if (fresh) d.unsafe_principals.push_back(principal);
        not_granted.emplace_back(&principal, RuleView());
        continue;
      }
      if (!fresh) {
        not_granted.emplace_back(&principal, first->second);
        continue;
      }
      outcome.principals.push_back(principal);
      d.grants.push_back(Grant{principal, rule});
    }
    if (outcome.principals.empty()) {
      outcome.kind = RuleOutcome::Kind::kNoPrincipalMatched;
      if (principals.empty()) {
        outcome.reason = "the rule has no principals (user_keys only)";
      } else if (!not_granted.empty()) {
        // An unprintable principal is not named here: the reason is escaped
        // as a whole, so it could not be told from the words around it. The
        // decision lists it, quoted (unsafe_principals).
        size_t unprintable = 0;
        for (const auto& [principal, earlier] : not_granted) {
          if (!earlier.valid()) {
            ++unprintable;
            continue;
          }
          if (!outcome.reason.empty()) outcome.reason += "; ";
          outcome.reason += *principal + " already granted by an earlier rule (" + earlier.Label() + ")";
        }
        if (unprintable > 0) {
          if (!outcome.reason.empty()) outcome.reason += "; ";
          outcome.reason += std::to_string(unprintable) +
                            " matched principal(s) never printed (they hold a character sshd would misread)";
        }
      } else {
        outcome.reason = "no certificate principal matches principals " + Join(principals, ",");
      }
    } else {
      outcome.kind = RuleOutcome::Kind::kGranted;
    }
    d.rules.push_back(std::move(outcome));
  }

  if (d.grants.empty()) {
    d.reason = "no rule grants any principal of the certificate";
    return d;
  }
  d.verdict = Verdict::kAllow;
  return d;
}

}  // namespace certgate::core
