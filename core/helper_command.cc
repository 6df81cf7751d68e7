#include "core/helper_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>

#include "core/base64.h"
#include "core/certificate.h"
#include "core/decision_report.h"
#include "core/krl.h"
#include "core/policy_eval.h"
#include "core/policy_snapshot.h"
#include "core/read_file.h"
#include "core/ssh_key.h"
#include "core/sshd_output.h"
#include "core/unique_fd.h"
#include "core/yaml_reader.h"

namespace certgate::core {
namespace {

constexpr size_t kMaxKeyFileSize = 256 * 1024;

// PolicyIssuesRecord logs the first issue of an unusable policy at
// |policy_path| (all of them are printed by --check, which it names with
// the same --policy).
LogRecord PolicyIssuesRecord(const char* program, const std::string& user, const std::string& policy_path,
                             const std::vector<Issue>& issues) {
  LogRecord rec;
  rec.priority = Priority::kErr;
  std::string first = issues.empty() ? "policy could not be loaded" : issues.front().ToString();
  const std::string check = std::string(program) + " --check" +
                            (policy_path == kDefaultPolicyPath ? "" : " --policy " + EscapeForLog(policy_path));
  std::string more = issues.size() > 1
                         ? " (and " + std::to_string(issues.size() - 1) + " more; run " + check + ")"
                         : "";
  rec.message = "deny " + EscapeForLog(user) + ": policy error, every login denied: " +
                EscapeForLog(first) + more;
  rec.fields.emplace_back("CERTGATE_PROGRAM", program);
  rec.fields.emplace_back("CERTGATE_DECISION", "deny");
  rec.fields.emplace_back("CERTGATE_USER", EscapeForLog(user));
  rec.fields.emplace_back("CERTGATE_REASON", "policy error: " + EscapeForLog(first));
  return rec;
}

// DenyRecord is the record of a decision that ended before Evaluate.
LogRecord DenyRecord(const char* program, const std::string& user, const std::string& reason,
                     const Certificate* cert) {
  Decision d;
  d.reason = reason;
  if (cert != nullptr) d.ca_fingerprint = Sha256Fingerprint(cert->signature_key.blob);
  return DecisionRecord(program, user, cert, d);
}

// ReadKeyLine reads a key or certificate file for --explain and returns
// its one line, with blank lines and '#' comments skipped as sshd skips
// them in key files. A second key line is refused: it would be ignored,
// and it may be the one that was meant.
Result<std::string> ReadKeyLine(const std::string& path, size_t* line_number) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Fail(Errc::kIo, path + ": cannot open: " + std::strerror(errno));
  std::string data;
  Status read = ReadBounded(fd.get(), kMaxKeyFileSize, 0, &data);
  if (!read) {
    if (read.error().code == Errc::kTooLarge) return Fail(Errc::kTooLarge, path + ": larger than a key file can be");
    return Fail(Errc::kIo, path + ": " + read.error().detail);
  }
  std::string_view rest = data, line;
  size_t line_no = 0, lines = 0;
  std::string first;
  while (NextKeyFileLine(&rest, &line_no, &line)) {
    if (++lines == 1) {
      first = std::string(line);
      *line_number = line_no;
    }
  }
  if (lines == 0) {
    return Fail(Errc::kBadFormat, path + " holds no key line (only blank lines or # comments); give the "
                                         "certificate's -cert.pub file");
  }
  if (lines > 1) {
    return Fail(Errc::kBadFormat, path + " holds " + std::to_string(lines) +
                                      " key lines; give one certificate (or key) per file, e.g. its -cert.pub file");
  }
  return first;
}

// KeyFileFields splits the line of a .pub / -cert.pub file into its type
// and base64 fields. A line holding only base64 gets an empty type.
void KeyFileFields(const std::string& text, std::string* type, std::string* b64) {
  std::istringstream in(text);
  std::string first, second;
  in >> first >> second;
  if (second.empty()) {
    *b64 = first;
    type->clear();
  } else {
    *type = first;
    *b64 = second;
  }
}

// MaybeLoadKrl loads the policy's KRL, if any. An unreadable KRL denies
// every certificate and plain key, as sshd does for an unreadable
// RevokedKeys.
Result<std::optional<Krl>> MaybeLoadKrl(const CompiledPolicy& policy) {
  if (!policy.krl_path()) return std::optional<Krl>();
  Result<Krl> krl = LoadKrlFile(*policy.krl_path());
  if (!krl) {
    return Fail(krl.error().code, "KRL " + *policy.krl_path() + " unusable, every key and certificate denied: " +
                                      krl.error().detail);
  }
  return std::optional<Krl>(std::move(*krl));
}

// DecideCertificate runs Evaluate with the KRL; a KRL that cannot be used
// denies at the revocation step.
Decision DecideCertificate(const CompiledPolicy& policy, const std::string& user, const Certificate& cert,
                           uint64_t now, GroupResolver& groups, bool every_rule) {
  Result<std::optional<Krl>> krl = MaybeLoadKrl(policy);
  Request request{.user = user,
                  .cert = &cert,
                  .now = now,
                  .every_rule = every_rule,
                  .krl_unusable = krl ? "" : krl.error().detail};
  const Krl* krl_ptr = krl && krl->has_value() ? &krl->value() : nullptr;
  return Evaluate(policy, request, krl_ptr, groups);
}

// GetPolicy returns the policy at |path| from |env|'s source (RunHelper
// always sets one); what follows is the decision.
const LoadedPolicy& GetPolicy(const std::string& path, HelperEnv& env) {
  if (env.stage != nullptr) env.stage->store(HelperStage::kLoadingPolicy);
  const LoadedPolicy& loaded = env.policies->Get(path, env.load);
  if (env.stage != nullptr) env.stage->store(HelperStage::kDeciding);
  return loaded;
}

std::string DecodeFailure(const Error& e) {
  std::string out = std::string("certificate rejected (") + ErrcName(e.code) + "): " + e.detail;
  // The two a person meets most, in words: the field named alone says
  // neither what happened nor what to do.
  if (e.code == Errc::kTruncated) {
    out += " (the certificate data ends inside it: cut or damaged; pass sshd's whole %k, or the whole -cert.pub line)";
  } else if (e.code == Errc::kBadSignature) {
    out += " (the CA's signature does not verify: the certificate was altered or damaged; have it signed again)";
  }
  return out;
}

// PlainKeyAnswer is keys-cmd's answer for a plain key: every user_keys
// line of the rules that apply to the user, in policy order, except lines
// whose key the KRL revokes. sshd matches the offered key against them.
struct PlainKeyAnswer {
  std::string out;
  // allow: the offered key is among the printed lines (the log record's
  // decision; the answer is |out| either way).
  bool allow = false;
  std::string reason;              // why deny
  std::string summary;             // "N user_keys lines printed ...", once the rules were read
  std::vector<std::string> rules;  // rules whose printed lines hold the key
  size_t printed = 0;              // lines in |out|
  size_t revoked = 0;              // lines left out: revoked by the KRL
};

// DescribeKeyLine is one user_keys line in words: options, key type,
// fingerprint and comment (--explain prints fingerprints, not keys).
std::string DescribeKeyLine(const AuthorizedKeysLine& line) {
  std::string out;
  for (const std::string& option : line.options) out += (out.empty() ? "" : ",") + EscapeForLog(option);
  if (!out.empty()) out += " ";
  out += std::string(line.key.TypeName()) + " " + Sha256Fingerprint(line.key.blob);
  if (!line.comment.empty()) out += " " + EscapeForLog(line.comment);
  return out;
}

// AnswerPlainKey answers keys-cmd for a plain key. With |explanation| set
// (--explain) every rule is looked at and what each did is appended to it,
// one line per rule and one per user_keys line of the rules that apply.
PlainKeyAnswer AnswerPlainKey(const CompiledPolicy& policy, const std::string& user, const PublicKey& key,
                              GroupResolver& groups, std::string* explanation = nullptr) {
  PlainKeyAnswer a;
  Result<std::optional<Krl>> krl = MaybeLoadKrl(policy);
  if (!krl) {
    a.reason = krl.error().detail;
    return a;
  }
  const Krl* krl_ptr = krl->has_value() ? &krl->value() : nullptr;
  if (krl_ptr != nullptr && krl_ptr->IsKeyRevoked(key)) {
    a.reason = "key is revoked by the KRL " + *policy.krl_path();
    return a;
  }
  // say: one line of the explanation; nothing is formatted without one.
  std::string rules_text;
  auto say = [&](auto&&... parts) {
    if (explanation != nullptr) (rules_text.append(parts), ...);
  };
  std::string failed_lookup;
  for (const UserMatch& m : MatchUsers(policy, user, groups, explanation != nullptr)) {
    const std::string label = explanation != nullptr ? "  " + EscapeForLog(m.rule.Label()) : "";
    if (m.kind == UserMatch::Kind::kGroupLookupFailed) {
      if (failed_lookup.empty()) failed_lookup = m.error;
      say(label, ": does not apply: group lookup failed: ",
          EscapeForLog(m.error), "\n");
      continue;
    }
    if (m.kind == UserMatch::Kind::kNotMatched) {
      say(label, ": does not apply: login name ", EscapeForLog(user),
          " not in users\n");
      continue;
    }
    const auto lines = m.rule.user_keys();
    if (lines.empty()) {
      say(label, ": applies; no user_keys (it grants certificates only)\n");
    } else {
      say(label, ": applies; ", std::to_string(lines.size()),
          lines.size() == 1 ? " user_keys line:\n" : " user_keys lines:\n");
    }
    bool holds_key = false;
    for (const AuthorizedKeysLine* line : lines) {
      const bool this_key = line->key == key;
      if (krl_ptr != nullptr && krl_ptr->IsKeyRevoked(line->key)) {
        ++a.revoked;  // never print a revoked key
        say("    ", DescribeKeyLine(*line), " (revoked by the KRL, not printed)\n");
        continue;
      }
      say("    ", DescribeKeyLine(*line), this_key ? " (printed; this key)\n" : " (printed)\n");
      a.out += FormatAuthorizedKeysLine(*line);
      ++a.printed;
      if (this_key) holds_key = true;
    }
    if (holds_key) a.rules.push_back(m.rule.Label());
  }
  if (explanation != nullptr) {
    *explanation += "rules:\n" + (rules_text.empty() ? "  (the policy has no rules)\n" : rules_text);
  }
  a.summary = std::to_string(a.printed) + " user_keys line" + (a.printed == 1 ? "" : "s") +
              " printed for sshd to match";
  if (a.revoked > 0) a.summary += ", " + std::to_string(a.revoked) + " revoked by the KRL left out";
  if (!a.rules.empty()) {
    a.allow = true;  // the one place
    return a;
  }
  a.reason = "no user_keys line of a rule for " + EscapeForLog(user) + " holds this key (" + a.summary + ")";
  if (!failed_lookup.empty()) a.reason += " (group lookup failed: " + EscapeForLog(failed_lookup) + ")";
  return a;
}

LogRecord PlainKeyRecord(const std::string& user, const PublicKey& key, const PlainKeyAnswer& a) {
  LogRecord rec;
  rec.priority = a.allow ? Priority::kInfo : Priority::kNotice;
  std::string fp = Sha256Fingerprint(key.blob);
  std::string rules;
  for (const auto& r : a.rules) rules += (rules.empty() ? "" : ",") + EscapeForLog(r);
  rec.fields.emplace_back("CERTGATE_PROGRAM", "keys-cmd");
  rec.fields.emplace_back("CERTGATE_DECISION", a.allow ? "allow" : "deny");
  rec.fields.emplace_back("CERTGATE_USER", EscapeForLog(user));
  rec.fields.emplace_back("CERTGATE_KEY_FP", fp);
  if (a.allow) {
    rec.fields.emplace_back("CERTGATE_RULE", rules);
    rec.message = "allow " + EscapeForLog(user) + ": user key " + fp + " listed by " + rules + " (" +
                  a.summary + ")";
  } else {
    rec.fields.emplace_back("CERTGATE_REASON", a.reason);
    rec.message = "deny " + EscapeForLog(user) + ": plain key " + fp + ": " + a.reason;
  }
  return rec;
}

// AnswerTooLarge is the reason of a denial whose answer of |bytes| bytes
// of |what| would be over kMaxSshdAnswer.
std::string AnswerTooLarge(size_t bytes, const char* what) {
  return "the answer for sshd would be " + std::to_string(bytes) + " bytes, over the limit of " +
         std::to_string(kMaxSshdAnswer) + " bytes (4 MiB); nothing printed: give this user fewer or shorter " +
         what + " (certgate-policy(5), LIMITS)";
}

// Answer formats the sshd answer of a decision for |kind|.
std::string Answer(HelperKind kind, const Decision& d, const Certificate& cert) {
  if (d.verdict != Verdict::kAllow) return "";
  if (kind == HelperKind::kPrincipals) return FormatPrincipalsOutput(d.grants);
  return FormatCertAuthorityLines(d.grants, cert.signature_key);
}

// LimitedAnswer is Answer(), unless it is over kMaxSshdAnswer: sshd is then
// given nothing and |d| becomes a denial that grants nothing (in the
// record and in --explain too).
std::string LimitedAnswer(HelperKind kind, Decision& d, const Certificate& cert) {
  std::string answer = Answer(kind, d, cert);
  if (answer.size() <= kMaxSshdAnswer) return answer;
  d.verdict = Verdict::kDeny;
  d.reason = AnswerTooLarge(answer.size(), kind == HelperKind::kPrincipals ? "principals" : "principals or authorities");
  d.grants.clear();
  return "";
}

// LimitPlainKeyAnswer does the same for a plain key's user_keys lines;
// true if it did.
bool LimitPlainKeyAnswer(PlainKeyAnswer& a) {
  if (a.out.size() <= kMaxSshdAnswer) return false;
  a.allow = false;
  a.rules.clear();
  a.reason = AnswerTooLarge(a.out.size(), "user_keys lines");
  a.out.clear();
  return true;
}

bool SameKeyType(std::string_view offered, KeyType type) {
  if (type == KeyType::kRsa && (offered == "rsa-sha2-256" || offered == "rsa-sha2-512")) return true;
  std::optional<KeyType> t = KeyTypeFromName(offered);
  return t && *t == type;
}

HelperOutput RunCheck(const HelperOptions& o, HelperEnv& env) {
  HelperOutput result;
  const LoadedPolicy& loaded = GetPolicy(o.policy_path, env);
  if (loaded.policy) {
    // The KRL is read at every login, not with the policy; one that cannot
    // be read denies every certificate, so the check reports it too.
    if (const std::optional<std::string>& krl_path = loaded.policy->krl_path()) {
      if (Result<Krl> krl = LoadKrlFile(*krl_path); !krl) {
        std::string why = krl.error().detail;
        if (why.starts_with(*krl_path + ": ")) why.erase(0, krl_path->size() + 2);
        struct stat st {};
        const bool missing = lstat(krl_path->c_str(), &st) != 0 && errno == ENOENT;
        result.out = *krl_path + ":1:1: the KRL named by revoked.krl is unusable (" + why +
                     "), so every certificate would be denied; " +
                     (missing ? "create it with ssh-keygen -k -f " + *krl_path + " (an empty KRL revokes nothing)"
                              : "write it again with ssh-keygen -k -f " + *krl_path + " and what it revokes") +
                     "\n";
        return result;
      }
    }
    for (const RepeatedName& repeated : RepeatedNames(*loaded.policy)) {
      const RuleView& r = repeated.rule;
      result.err += std::string(r.file()) + ":" + std::to_string(r.line()) + ":" + std::to_string(r.column()) +
                    ": warning: rule name " + QuoteForIssue(r.name()) + " is also the name of rule " +
                    std::to_string(repeated.first.number()) + " (" + std::string(repeated.first.file()) + ":" +
                    std::to_string(repeated.first.line()) +
                    "), so logs and --explain cannot tell the two apart; give each rule its own name\n";
    }
    result.out += "ok\n";
    result.exit_code = 0;
    return result;
  }
  for (const Issue& issue : loaded.issues) result.out += issue.ToString() + "\n";
  if (loaded.issues.empty()) result.out = o.policy_path + ":1:1: policy could not be loaded\n";
  return result;
}

HelperOutput RunCompile(const HelperOptions& o, HelperEnv& env) {
  HelperOutput result;
  if (env.stage != nullptr) env.stage->store(HelperStage::kLoadingPolicy);
  Result<CompiledSnapshot> written = WriteSnapshot(o.policy_path, o.snapshot_path, env.load);
  if (!written) {
    result.out = o.snapshot_path + ": not written: " + written.error().detail + "\n";
    return result;
  }
  if (!written->issues.empty()) {
    for (const Issue& issue : written->issues) result.out += issue.ToString() + "\n";
    result.out += o.snapshot_path + ": not written: the policy is invalid\n";
    return result;
  }
  result.out = "compiled " + o.policy_path + " (" + std::to_string(written->rules) +
               (written->rules == 1 ? " rule) into " : " rules) into ") +
               o.snapshot_path + " (" + std::to_string(written->bytes) + " bytes)\n";
  result.exit_code = 0;
  return result;
}

HelperOutput RunExplain(HelperKind kind, const HelperOptions& o, HelperEnv& env) {
  HelperOutput result;  // exit 1 unless allowed
  const uint64_t now = o.explain_at.value_or(env.now);
  const LoadedPolicy& loaded = GetPolicy(o.policy_path, env);
  if (!loaded.policy) {
    result.out = "policy: unusable, every login would be denied:\n";
    for (const Issue& issue : loaded.issues) result.out += "  " + issue.ToString() + "\n";
    result.out += "decision: DENY: policy error\n";
    return result;
  }
  size_t line_number = 0;
  Result<std::string> text = ReadKeyLine(o.explain_file, &line_number);
  if (!text) {
    result.out = "decision: DENY: " + text.error().detail + "\n";
    return result;
  }
  std::string type, b64;
  KeyFileFields(*text, &type, &b64);
  if (type.empty() || IsCertTypeName(type)) {
    Result<Certificate> cert = ParseCertificateBase64(b64);
    const Status user = cert ? CheckUserCertificate(*cert, type) : Status(Unexpected{cert.error()});
    if (!user) {
      // Where, and for a line that is not TYPE BASE64 at all, what one is;
      // for a well-formed certificate of the wrong kind, whose it is.
      result.out = "decision: DENY: " + EscapeForLog(o.explain_file) + ":" + std::to_string(line_number) + ": " +
                   DecodeFailure(user.error()) +
                   (type.empty() ? "; a key line is TYPE BASE64 [COMMENT], as in the certificate's -cert.pub file"
                                 : "") +
                   (cert ? " (key id " + QuoteForLog(cert->key_id) + " serial " + std::to_string(cert->serial) + ")"
                         : "") +
                   "\n";
      return result;
    }
    Decision d = DecideCertificate(*loaded.policy, o.explain_user, *cert, now, *env.groups,
                                   /*every_rule=*/true);
    const std::string answer = LimitedAnswer(kind, d, *cert);
    result.out = ExplainDecision(o.explain_user, *cert, d, now, o.explain_at.has_value());
    if (d.verdict == Verdict::kAllow) {
      result.out += "sshd would read:\n" + answer;
      result.exit_code = 0;
    }
    return result;
  }
  if (kind == HelperKind::kPrincipals) {
    result.out = "decision: DENY: " + o.explain_file + " holds a plain " + EscapeForLog(type) +
                 " key, not a certificate; give its -cert.pub file, or ask keys-cmd --explain about a plain key\n";
    return result;
  }
  Result<std::vector<uint8_t>> blob = Base64Decode(b64);
  Result<PublicKey> key = blob ? ParsePublicKeyBlob(*blob) : Result<PublicKey>(Unexpected{blob.error()});
  if (!key) {
    result.out = "decision: DENY: " + o.explain_file + " does not hold a valid public key (" +
                 EscapeForLog(key.error().detail) + ")\n";
    return result;
  }
  if (!SameKeyType(type, key->type)) {
    result.out = "decision: DENY: " + o.explain_file + " does not hold a valid public key (the line says " +
                 EscapeForLog(type) + " but the key is " + std::string(key->TypeName()) + ")\n";
    return result;
  }
  result.out = "plain key: " + std::string(key->TypeName()) + " " + Sha256Fingerprint(key->blob) +
               "\nlogin name: " + EscapeForLog(o.explain_user) + "\n";
  PlainKeyAnswer a = AnswerPlainKey(*loaded.policy, o.explain_user, *key, *env.groups, &result.out);
  if (LimitPlainKeyAnswer(a)) {
    result.out += "  (none of the lines marked printed is: together they are over sshd's limit)\n";
  }
  if (!a.allow) {
    result.out += "decision: DENY: " + a.reason + "\n";
    return result;
  }
  std::string rules;
  for (const std::string& r : a.rules) rules += (rules.empty() ? "" : ",") + EscapeForLog(r);
  result.out += "decision: ALLOW: a user_keys line of " + rules + " holds this key (" + a.summary + ")\n";
  result.out += "sshd would read:\n" + a.out;
  result.exit_code = 0;
  return result;
}

HelperOutput RunSshd(HelperKind kind, const HelperOptions& o, HelperEnv& env) {
  const char* program = HelperName(kind);
  HelperOutput result;
  const LoadedPolicy& loaded = GetPolicy(o.policy_path, env);
  if (!loaded.policy) {
    env.log->Write(PolicyIssuesRecord(program, o.user, o.policy_path, loaded.issues));
    return result;  // exit 1, nothing printed
  }
  result.exit_code = 0;  // the policy was read: from here on, exit 0

  if (kind == HelperKind::kKeys && !IsCertTypeName(o.key_type)) {
    Result<std::vector<uint8_t>> blob = Base64Decode(o.key_base64);
    Result<PublicKey> key =
        blob ? ParsePublicKeyBlob(*blob) : Result<PublicKey>(Unexpected{blob.error()});
    if (!key) {
      env.log->Write(DenyRecord(program, o.user,
                                std::string("key rejected (") + ErrcName(key.error().code) +
                                    "): " + key.error().detail,
                                nullptr));
      return result;
    }
    if (!SameKeyType(o.key_type, key->type)) {
      env.log->Write(DenyRecord(program, o.user,
                                "key type " + EscapeForLog(o.key_type) + " does not match the key (" +
                                    std::string(key->TypeName()) + ")",
                                nullptr));
      return result;
    }
    PlainKeyAnswer a = AnswerPlainKey(*loaded.policy, o.user, *key, *env.groups);
    LimitPlainKeyAnswer(a);
    env.log->Write(PlainKeyRecord(o.user, *key, a));
    result.out = std::move(a.out);
    return result;
  }

  // The certificate's type must match %t; an empty one matches nothing
  // (CheckUserCertificate skips the check for --explain, which has no %t).
  if (o.key_type.empty()) {
    env.log->Write(DenyRecord(program, o.user, "the key type argument (sshd's %t) is empty", nullptr));
    return result;
  }
  Result<Certificate> cert = ParseCertificateBase64(o.key_base64, env.signatures);
  if (!cert) {
    env.log->Write(DenyRecord(program, o.user, DecodeFailure(cert.error()), nullptr));
    return result;
  }
  // A well-formed certificate of the wrong kind: its record says whose.
  if (Status user = CheckUserCertificate(*cert, o.key_type); !user) {
    env.log->Write(DenyRecord(program, o.user, DecodeFailure(user.error()), &*cert));
    return result;
  }
  Decision d = DecideCertificate(*loaded.policy, o.user, *cert, env.now, *env.groups,
                                 /*every_rule=*/false);
  std::string answer = LimitedAnswer(kind, d, *cert);
  env.log->Write(DecisionRecord(program, o.user, &cert.value(), d));
  result.out = std::move(answer);
  return result;
}

}  // namespace

const LoadedPolicy& FreshPolicySource::Get(const std::string& path, const LoadOptions& options) {
  last_ = LoadedPolicy{};  // free the last policy before loading the next
  OpenedSnapshot snapshot;
  last_ = LoadPolicyOrSnapshot(path, options, snapshot_path_, &snapshot);
  if (log_ == nullptr || snapshot_path_.empty()) return last_;
  LogRecord rec;
  if (snapshot.state == SnapshotState::kUsed) {
    rec.priority = Priority::kDebug;
    rec.message = "policy " + EscapeForLog(path) + " read from its snapshot " + EscapeForLog(snapshot_path_);
    log_->Write(rec);
  } else if (snapshot.state != SnapshotState::kAbsent &&
             (snapshot.state != SnapshotState::kOtherPolicy || snapshot_given_)) {
    rec.priority = Priority::kNotice;
    rec.message = SnapshotNotUsedMessage(path, snapshot);
    log_->Write(rec);
  }
  return last_;
}

HelperOutput RunHelper(HelperKind kind, const HelperOptions& options, HelperEnv& given_env) {
  // --check reads the YAML itself, whatever the snapshot says.
  FreshPolicySource fresh(options.mode == HelperMode::kCheck ? std::string() : options.snapshot_path,
                          options.snapshot_path_given, given_env.log);
  HelperEnv env = given_env;
  if (env.policies == nullptr) env.policies = &fresh;
  switch (options.mode) {
    case HelperMode::kHelp:
      return HelperOutput{0, HelperUsage(kind), ""};
    case HelperMode::kVersion:
      return HelperOutput{0, std::string(HelperName(kind)) + " (certgate) " + CERTGATE_VERSION + "\n", ""};
    case HelperMode::kCheck:
      return RunCheck(options, env);
    case HelperMode::kCompile:
      return RunCompile(options, env);
    case HelperMode::kExplain:
      return RunExplain(kind, options, env);
    case HelperMode::kSshd:
      return RunSshd(kind, options, env);
  }
  return HelperOutput{};
}

}  // namespace certgate::core
