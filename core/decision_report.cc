#include "core/decision_report.h"

#include <ctime>
#include <string>

#include "core/duration.h"

namespace certgate::core {
namespace {

template <typename Strings>
std::string JoinEscaped(const Strings& items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out.push_back(',');
    out.append(EscapeForLog(item));
  }
  return out;
}

// JoinQuoted lists certificate-controlled |items| (which may hold commas,
// quotes or nothing at all) each in quotes: "a,b", "".
std::string JoinQuoted(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out.append(", ");
    out.append(QuoteForLog(item));
  }
  return out;
}

// GrantedPrincipals lists the granted principals, escaped as every other
// certificate text is: a granted principal holds no comma, space or control
// character (those are never printed), but it may hold any other byte the
// CA put in it, e.g. a fullwidth comma or an invisible U+200B that would
// make the log line read as other principals than were granted.
std::string GrantedPrincipals(const Decision& d) {
  std::string out;
  for (const Grant& g : d.grants) {
    if (!out.empty()) out.push_back(',');
    out.append(EscapeForLog(g.principal));
  }
  return out;
}

std::string GrantingRules(const Decision& d) {
  std::string out;
  RuleView last;
  for (const Grant& g : d.grants) {
    if (g.rule == last || !g.rule.valid()) continue;
    if (!out.empty()) out.push_back(',');
    out.append(EscapeForLog(g.rule.Label()));
    last = g.rule;
  }
  return out;
}

// FailingRules lists the reasons of rules that applied but granted nothing.
std::string FailingRules(const Decision& d) {
  std::string out;
  for (const RuleOutcome& r : d.rules) {
    if (r.kind != RuleOutcome::Kind::kConstraintFailed &&
        r.kind != RuleOutcome::Kind::kNoPrincipalMatched &&
        r.kind != RuleOutcome::Kind::kGroupLookupFailed) {
      continue;
    }
    if (!out.empty()) out.append("; ");
    out.append(EscapeForLog(r.rule.Label()) + ": " + EscapeForLog(r.reason));
  }
  return out;
}

}  // namespace

std::string FormatTime(uint64_t t) {
  if (t == UINT64_MAX) return "forever";
  if (t > static_cast<uint64_t>(253402300799)) return std::to_string(t) + " (after year 9999)";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

LogRecord DecisionRecord(const char* program, const std::string& user, const Certificate* cert,
                         const Decision& d) {
  LogRecord rec;
  const bool allow = d.verdict == Verdict::kAllow;
  rec.priority = allow ? Priority::kInfo : Priority::kNotice;
  rec.fields.emplace_back("CERTGATE_PROGRAM", program);
  rec.fields.emplace_back("CERTGATE_DECISION", allow ? "allow" : "deny");
  rec.fields.emplace_back("CERTGATE_USER", EscapeForLog(user));
  std::string subject;
  if (cert != nullptr) {
    rec.fields.emplace_back("CERTGATE_KEY_ID", EscapeQuotesForLog(cert->key_id));
    rec.fields.emplace_back("CERTGATE_SERIAL", std::to_string(cert->serial));
    rec.fields.emplace_back("CERTGATE_CA_FP", d.ca_fingerprint);
    subject = "key id " + QuoteForLog(cert->key_id) + " serial " + std::to_string(cert->serial) +
              " CA " + (d.authority ? EscapeForLog(d.authority->name) + " " : "") +
              d.ca_fingerprint;
  }
  if (d.authority != nullptr) {
    rec.fields.emplace_back("CERTGATE_AUTHORITY", EscapeForLog(d.authority->name));
  }
  std::string principals = GrantedPrincipals(d);
  rec.fields.emplace_back("CERTGATE_PRINCIPALS", principals);
  std::string unsafe;
  if (!d.unsafe_principals.empty()) {
    unsafe = "; unsafe principal(s) never printed: " + JoinQuoted(d.unsafe_principals);
  }
  if (allow) {
    std::string rules = GrantingRules(d);
    rec.fields.emplace_back("CERTGATE_RULE", rules);
    rec.message = std::string("allow ") + EscapeForLog(user) + ": principals " + principals +
                  " granted by " + rules + " (" + subject + ")" + unsafe;
  } else {
    std::string reason = EscapeForLog(d.reason);
    std::string failing = FailingRules(d);
    if (!failing.empty()) reason += " [" + failing + "]";
    rec.fields.emplace_back("CERTGATE_REASON", reason);
    rec.message = std::string("deny ") + EscapeForLog(user) + ": " + reason +
                  (subject.empty() ? "" : " (" + subject + ")") + unsafe;
  }
  return rec;
}

std::string DescribeCertificate(const Certificate& c) {
  std::string out;
  out += "  type: " + c.type_name + " (user key " + std::string(c.key.TypeName());
  if (c.key.type == KeyType::kRsa) out += ", " + std::to_string(c.key.RsaBits()) + " bits";
  out += ", " + Sha256Fingerprint(c.key.blob) + ")\n";
  out += "  key id: " + QuoteForLog(c.key_id) + "\n";
  out += "  serial: " + std::to_string(c.serial) + "\n";
  out += "  principals: " + (c.principals.empty() ? "(none)" : JoinQuoted(c.principals)) + "\n";
  out += "  valid: from " + FormatTime(c.valid_after) + " to " + FormatTime(c.valid_before);
  if (c.valid_before != UINT64_MAX && c.valid_before > c.valid_after) {
    out += " (lifetime " + FormatDuration(c.valid_before - c.valid_after) + ")";
  }
  out += "\n";
  out += "  signed by: " + std::string(c.signature_key.TypeName()) + " " +
         Sha256Fingerprint(c.signature_key.blob) + " using " + c.signature.algorithm + "\n";
  std::string crit;
  for (const auto& o : c.critical_options) {
    if (!crit.empty()) crit += ", ";
    crit += EscapeForLog(o.name) + (o.is_flag ? "" : "=" + QuoteForLog(o.value));
  }
  out += "  critical options: " + (crit.empty() ? "(none)" : crit) + "\n";
  std::string ext;
  for (const auto& o : c.extensions) {
    if (!ext.empty()) ext += ", ";
    ext += EscapeForLog(o.name);
  }
  out += "  extensions: " + (ext.empty() ? "(none)" : ext) + "\n";
  return out;
}

std::string ExplainDecision(const std::string& user, const Certificate& cert, const Decision& d,
                            uint64_t now, bool at_given) {
  std::string out = "certificate:\n" + DescribeCertificate(cert);
  out += "login name: " + EscapeForLog(user) + "\n";
  out += "time: " + FormatTime(now) + (at_given ? " (--at)" : "") + "\n";
  if (d.authority != nullptr) {
    out += "authority: " + EscapeForLog(d.authority->name) + " (CA " + d.ca_fingerprint + ")\n";
  } else {
    out += "authority: none of the policy's authorities has CA " + d.ca_fingerprint + "\n";
  }
  if (d.rules.empty() && d.verdict == Verdict::kDeny) {
    // Denied before the rules were reached.
    out += "decision: DENY: " + EscapeForLog(d.reason) + "\n";
    return out;
  }
  if (IsValidAt(cert, now) && cert.valid_before != UINT64_MAX) {
    out += std::string(at_given ? "validity: valid at that time, expires " : "validity: valid now, expires in ") +
           FormatDuration(cert.valid_before - now) + (at_given ? " after it" : "") + "\n";
  }
  out += "rules:\n";
  for (const RuleOutcome& r : d.rules) {
    out += "  " + EscapeForLog(r.rule.Label()) + ": ";
    switch (r.kind) {
      case RuleOutcome::Kind::kUserNotMatched:
        out += "does not apply: " + EscapeForLog(r.reason);
        break;
      case RuleOutcome::Kind::kAuthorityNotListed:
        out += "does not apply: " + EscapeForLog(r.reason);
        break;
      case RuleOutcome::Kind::kGroupLookupFailed:
        out += "does not apply: group lookup failed: " + EscapeForLog(r.reason);
        break;
      case RuleOutcome::Kind::kConstraintFailed:
        out += "applies but grants nothing: " + EscapeForLog(r.reason);
        break;
      case RuleOutcome::Kind::kNoPrincipalMatched:
        out += "applies but grants nothing: " + EscapeForLog(r.reason);
        break;
      case RuleOutcome::Kind::kGranted:
        out += "grants " + JoinEscaped(r.principals);
        if (!r.rule.options().empty()) out += " with options " + JoinEscaped(r.rule.options());
        break;
    }
    out += "\n";
  }
  for (const auto& p : d.unsafe_principals) {
    out += "  note: principal " + QuoteForLog(p) +
           " matched but is never printed (it holds a character sshd would misread)\n";
  }
  if (d.verdict == Verdict::kAllow) {
    out += "decision: ALLOW " + EscapeForLog(user) + " as " + GrantedPrincipals(d) + "\n";
  } else {
    std::string failing = FailingRules(d);
    out += "decision: DENY: " + EscapeForLog(d.reason) + (failing.empty() ? "" : " [" + failing + "]") +
           "\n";
  }
  return out;
}

}  // namespace certgate::core
