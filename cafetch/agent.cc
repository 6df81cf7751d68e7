// A cafetch round (RunOnce): takes the lock, loads the key history,
// fetches and verifies the issuer's keys, works out what sshd must trust
// and the sshd_config lines that say so and where they go, and reports
// the changes (with their diffs for a dry run). Checking that plan with
// sshd, installing it and reloading sshd is agent_install.cc's.
#include "cafetch/agent.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>

#include "cafetch/agent_install.h"
#include "cafetch/atomic_file.h"
#include "cafetch/candidates.h"
#include "cafetch/diff.h"
#include "cafetch/fetcher.h"
#include "cafetch/issuers.h"
#include "cafetch/sshd_check.h"
#include "cafetch/sshd_config.h"
#include "cafetch/state.h"
#include "cafetch/trusted_keys.h"
#include "cafetch/trusted_paths.h"
#include "core/atomic_file.h"
#include "core/decision_report.h"
#include "core/ssh_key.h"
#include "core/unique_fd.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;
using core::Priority;

std::string Fingerprint(const CaKey& key) { return core::Sha256Fingerprint(key.key.blob); }

// KeysIn returns the keys a TrustedUserCAKeys text holds, with their
// comments (unreadable lines are skipped: this only describes a change or
// finds keys to adopt; the file's own check is CheckTrustedKeys).
std::vector<CaKey> KeysIn(std::string_view text) {
  std::vector<CaKey> keys;
  size_t line_no = 0;
  std::string_view line;
  while (core::NextKeyFileLine(&text, &line_no, &line)) {
    core::Result<core::AuthorizedKey> k = core::ParsePublicKeyLine(line);
    if (k) keys.push_back(CaKey{std::move(k->key), std::move(k->comment)});
  }
  return keys;
}

// DescribeKeyChange returns "+SHA256:… -SHA256:…" for the keys added and
// removed, or "rewritten" when only comments differ.
std::string DescribeKeyChange(std::string_view old_text, const std::vector<CaKey>& trusted) {
  std::vector<CaKey> old_keys = KeysIn(old_text);
  std::string out;
  for (const CaKey& k : trusted) {
    bool had = false;
    for (const CaKey& o : old_keys) had = had || o.key == k.key;
    if (!had) out += (out.empty() ? "+" : ", +") + Fingerprint(k);
  }
  for (const CaKey& o : old_keys) {
    bool kept = false;
    for (const CaKey& k : trusted) kept = kept || o.key == k.key;
    if (!kept) out += (out.empty() ? "-" : ", -") + Fingerprint(o);
  }
  return out.empty() ? "rewritten" : out;
}

// ResolveSha1 says whether sshd must accept SHA-1 ssh-rsa certificates for
// the |trusted| keys (the keys of the round's state: listed and retired).
bool ResolveSha1(const Config& config, const std::vector<KeyHistory>& trusted,
                 const SshdVersion& version, core::LogSink* log) {
  // Only an RSA CA signs with SHA-1 ssh-rsa: without one trusted, nothing is
  // needed, whatever the setting (cafetch.yaml(5)).
  const bool any_rsa = std::any_of(trusted.begin(), trusted.end(),
                                   [](const KeyHistory& h) { return h.key.key.type == core::KeyType::kRsa; });
  switch (config.sshd.accept_sha1_rsa) {
    case AcceptSha1Rsa::kTrue: return any_rsa;
    case AcceptSha1Rsa::kFalse: return false;
    case AcceptSha1Rsa::kAuto: break;
  }
  // An RSA CA last listed by an issuer that signs with SHA-1: listed now,
  // or retired and still trusted after a move to another issuer (its
  // certificates keep working to their end).
  for (const KeyHistory& h : trusted) {
    const CaKey& k = h.key;
    if (k.key.type == core::KeyType::kRsa && h.sha1_issuer) {
      Log(log, Priority::kNotice, "accept_sha1_rsa",
          "accept_sha1_rsa auto: RSA CA " + Fingerprint(k) + " was " + (h.listed ? "" : "last ") + "listed by " +
              (h.listed ? "the " + std::string(IssuerTypeName(config.issuer.type)) + " issuer"
                        : std::string("an issuer")) +
              ", which signs certificates with SHA-1 ssh-rsa" + (h.listed ? "" : " (retired, still trusted)") +
              (version.AtLeast(8, 2)
                   ? ": telling sshd to accept them"
                   : ": sshd " + std::to_string(version.major) + "." +
                         std::to_string(version.minor) +
                         " (before 8.2) accepts them without any setting, none written"),
          {{"CERTGATE_CA_FP", Fingerprint(k)}});
      return true;
    }
  }
  return false;
}

// WarnMatchOverrides logs each line inside a Match block of the
// configuration at |main_path| that sets one of |directives| to another
// value: for the connections that Match selects, sshd uses it instead of
// cafetch's. It is in force only for those connections, and may be meant,
// so it does not fail the round; "Match all", which selects every
// connection, does (VerifyEffective).
void WarnMatchOverrides(const std::string& main_path, const std::vector<Directive>& directives,
                        core::LogSink* log) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  };
  auto same_keyword = [](const std::string& a, const std::string& b) {
    auto name = [](const std::string& k) { return k == "pubkeyacceptedkeytypes" ? "pubkeyacceptedalgorithms" : k; };
    return std::string(name(a)) == name(b);
  };
  for (const ConfigLine& line : ReadConfigLines(main_path, /*with_match=*/true)) {
    if (line.match.empty() || line.match_all) continue;
    for (const Directive& d : directives) {
      if (!same_keyword(lower(d.keyword), line.keyword)) continue;
      std::string value;
      for (const std::string& arg : line.args) value += (value.empty() ? "" : " ") + arg;
      if (value == d.value) continue;
      Log(log, Priority::kWarning, "match_override",
          line.Where() + ": " + d.keyword + " " + core::EscapeForLog(value) + " in the Match block of " +
              line.match + " replaces cafetch's \"" + d.Line() +
              "\" for the connections that Match selects; remove it or set it to the same value, unless those "
              "connections are meant to differ");
    }
  }
}

// KeyEvent is one key_retired, key_dropped or key_adopted record of a
// round, for CERTGATE_CA_FP |fingerprint|.
struct KeyEvent {
  Priority priority;
  std::string event;
  std::string message;
  std::string fingerprint;
};

// Time renders unix seconds for a log message: "2026-12-07T12:00:00Z".
std::string Time(int64_t t) { return t < 0 ? std::to_string(t) : core::FormatTime(static_cast<uint64_t>(t)); }

// Until returns |from| + |seconds| (when a retired key goes), saturated at
// INT64_MAX: a retired time comes from the state file.
int64_t Until(int64_t from, uint64_t seconds) {
  int64_t out = 0;
  if (seconds > static_cast<uint64_t>(INT64_MAX) ||
      __builtin_add_overflow(from, static_cast<int64_t>(seconds), &out)) {
    return INT64_MAX;
  }
  return out;
}

// AdoptInstalledKeys handles the keys of the installed key file |installed|
// (at |path|) that the state |old| does not know and |next| does not hold:
// the state was lost or removed, or state_dir changed. When cafetch wrote
// the file (WrittenByCafetch), it trusted them, possibly as retired keys
// still within keep_retired: each is added to |next| as retired now (kept
// for keep_retired) with a key_adopted event. Any other file is the
// admin's own from before cafetch: its keys are no longer trusted
// (cafetch trusts exactly the issuer's keys), each with a key_dropped
// event, as is every key when keep_retired is 0. With |sha1_installed|
// (cafetch's installed sshd lines accept SHA-1 ssh-rsa signatures), an
// adopted RSA key is marked sha1_issuer, so that accept_sha1_rsa: auto
// keeps accepting them while it is kept: its certificates may be SHA-1
// ones of an issuer that signs so (Akeyless) that the state had recorded.
void AdoptInstalledKeys(const std::string& path, const std::optional<std::string>& installed, const State& old,
                        int64_t now, uint64_t keep_retired_seconds, bool sha1_installed, State* next,
                        std::vector<KeyEvent>* events) {
  if (!installed.has_value()) return;
  const bool ours = WrittenByCafetch(*installed);
  for (const CaKey& key : KeysIn(*installed)) {
    auto same = [&key](const KeyHistory& h) { return h.key.key == key.key; };
    if (std::any_of(old.keys.begin(), old.keys.end(), same) ||
        std::any_of(next->keys.begin(), next->keys.end(), same)) {
      continue;
    }
    const std::string fp = Fingerprint(key);
    if (!ours || keep_retired_seconds == 0) {
      events->push_back({Priority::kNotice, "key_dropped",
                         "CA key " + fp + " in " + path + " is not listed by the issuer and " +
                             (ours ? std::string("keep_retired is 0") : "cafetch did not write that file") +
                             ": no longer trusted (cafetch trusts the issuer's keys, and the keys it retired for "
                             "keep_retired)",
                         fp});
      continue;
    }
    KeyHistory adopted;
    adopted.key = key;
    adopted.first_seen = now;
    adopted.last_seen = now;
    adopted.listed = false;
    adopted.retired = now;
    adopted.sha1_issuer = sha1_installed && key.key.type == core::KeyType::kRsa;
    const bool sha1 = adopted.sha1_issuer;
    next->keys.push_back(std::move(adopted));
    events->push_back({Priority::kWarning, "key_adopted",
                       "CA key " + fp + " is in " + path +
                           ", which cafetch wrote, but not in its state (the state file was lost or removed, or "
                           "state_dir changed) and the issuer does not list it: kept as a retired key, still "
                           "trusted until " +
                           Time(Until(now, keep_retired_seconds)) + " (keep_retired " +
                           std::to_string(keep_retired_seconds) + "s from now)" +
                           (sha1 ? std::string(", and its SHA-1 ssh-rsa certificates stay accepted as the installed "
                                               "sshd configuration accepts them")
                                 : std::string()),
                       fp});
  }
}

// WarnClockBehind logs, when |now| is before a time recorded in |state|,
// that the recorded times are kept (AdvanceState: a clock set back never
// retires a key early), naming each key recorded ahead of the clock: a
// time recorded while the clock was ahead keeps a retired key longer (at
// most 2 x keep_retired after it is retired).
void WarnClockBehind(const State& state, int64_t now, core::LogSink* log) {
  int64_t latest = 0;
  std::string ahead;
  for (const KeyHistory& k : state.keys) {
    std::string times;
    auto note = [&](const char* what, int64_t t) {
      latest = std::max(latest, t);
      if (t > now) times += std::string(times.empty() ? " " : ", ") + what + " " + Time(t);
    };
    note("first seen", k.first_seen);
    note("last seen", k.last_seen);
    if (k.retired) note("retired", *k.retired);
    if (!times.empty()) ahead += (ahead.empty() ? "" : "; ") + Fingerprint(k.key) + times;
  }
  if (ahead.empty()) return;
  Log(log, Priority::kWarning, "clock_behind",
      "the clock (" + Time(now) + ") is behind the key history (latest " + Time(latest) +
          "): recorded times are kept; keys recorded ahead of the clock: " + ahead);
}

// RemoveLeftoverCandidates removes the candidate directories killed rounds
// left in state_dir/candidates and logs it in one line (and what it could
// not remove in another). Only with the lock held.
void RemoveLeftoverCandidates(const std::string& state_dir, core::LogSink* log) {
  const StaleCandidates stale = RemoveStaleCandidates(state_dir);
  const std::string where = state_dir + "/" + kCandidatesDirName;
  if (!stale.removed.empty()) {
    std::string names;
    for (const std::string& name : stale.removed) names += (names.empty() ? "" : ", ") + name;
    Log(log, Priority::kNotice, "stale_candidate",
        "removed " + std::to_string(stale.removed.size()) +
            " candidate director" + (stale.removed.size() == 1 ? "y" : "ies") +
            " an interrupted run left in " + where + ": " + names);
  }
  if (!stale.problems.empty()) {
    std::string problems;
    for (const std::string& p : stale.problems) problems += (problems.empty() ? "" : "; ") + p;
    Log(log, Priority::kWarning, "stale_candidate",
        "cannot remove everything interrupted runs left in " + where + ": " + problems);
  }
}

}  // namespace

std::string SourceLabel(const IssuerConfig& issuer) {
  return "the " + std::string(IssuerTypeName(issuer.type)) + " issuer " + Redact(issuer.url);
}

std::string RunOutcome::Summary() const {
  if (changes.empty()) return "unchanged";
  std::string out = "changed: ";
  for (size_t i = 0; i < changes.size(); ++i) out += (i ? "; " : "") + changes[i];
  return out;
}

std::string FailureOutcome(const core::Error& error) {
  return error.detail.find(kRestoreFailed) == std::string::npos
             ? "nothing changed"
             : "SOME FILES WERE LEFT CHANGED (see the RESTORING lines); fix them by hand";
}

core::Result<RunOutcome> RunOnce(const Config& config, const RunOptions& options,
                                 core::LogSink* log) {
  // Before anything is read from or written to them.
  if (core::Status safe = CheckTrustedPaths(config, options.directories); !safe) {
    return core::Unexpected{safe.error()};
  }
  core::UniqueFd lock;
  if (!options.dry_run) {
    core::Result<core::UniqueFd> locked = LockStateDir(config.state_dir);
    if (!locked) return core::Unexpected{locked.error()};
    lock = std::move(*locked);
    RemoveLeftoverCandidates(config.state_dir, log);
  }
  core::Result<State> state = LoadState(config.state_dir);
  if (!state) return core::Unexpected{state.error()};
  // A round killed between installing sshd_config and reloading sshd left
  // this mark: the file on disk is already what we want, sshd still runs
  // the old one.
  core::Result<bool> reload_pending = ReloadPending(config.state_dir);
  if (!reload_pending) return core::Unexpected{reload_pending.error()};

  WarnClockBehind(*state, options.now, log);

  // 1. Fetch, verify and parse: any failure here changes nothing.
  // The request is conditional only when the last answer was verified
  // under this same configuration (ValidatorsToSend): a 304 reuses those
  // keys without verifying anything again.
  core::Result<FetchOutcome> fetched = FetchCaKeys(config, ValidatorsToSend(*state, config));
  if (!fetched) return core::Unexpected{fetched.error()};
  std::vector<CaKey> listed = fetched->not_modified ? ListedKeys(*state) : fetched->keys;
  if (listed.empty()) return Fail(Errc::kBadFormat, "the issuer listed no CA key");
  State next = AdvanceState(*state, listed, options.now, config.keep_retired_seconds);
  for (KeyHistory& k : next.keys) {
    if (k.listed) k.sha1_issuer = IssuerSignsWithSha1(config.issuer.type);  // a retired key keeps its own
  }
  if (!fetched->not_modified) {
    next.validators = fetched->validators;
    next.validators_for = TrustFingerprint(config);
  }
  // Key events are logged only once this round has committed its state
  // (after InstallRound): a failed round, which changes nothing, or a dry
  // run, whose diff shows them, would report changes that never happen.
  std::vector<KeyEvent> key_events;
  for (const KeyHistory& was : state->keys) {
    const KeyHistory* now_k = nullptr;
    for (const KeyHistory& k : next.keys) {
      if (k.key.key == was.key.key) now_k = &k;
    }
    const std::string fp = Fingerprint(was.key);
    if (now_k == nullptr) {
      // A retirement recorded ahead of the clock was bounded (AdvanceState):
      // keep_retired counted from that bound, not from the time recorded.
      const bool ahead = was.retired && *was.retired > options.now;
      key_events.push_back({Priority::kNotice, "key_dropped",
                            "CA key " + fp + " is no longer listed and keep_retired has passed since it was retired" +
                                (was.retired ? " at " + Time(*was.retired) : std::string()) +
                                (ahead ? ", a time recorded ahead of the clock and bounded by the first round "
                                         "that found it so"
                                       : "") +
                                ": no longer trusted",
                            fp});
    } else if (was.listed && !now_k->listed && now_k->retired) {
      key_events.push_back({Priority::kNotice, "key_retired",
                            "CA key " + fp + " is no longer listed by the issuer: still trusted until " +
                                Time(Until(*now_k->retired, config.keep_retired_seconds)) +
                                " (keep_retired " + std::to_string(config.keep_retired_seconds) + "s from " +
                                Time(*now_k->retired) + ")",
                            fp});
    }
  }
  // The key file as installed: its keys the state does not know were
  // trusted by a cafetch that had another state (AdoptInstalledKeys).
  if (core::Status not_link = RefuseSymlink(config.trusted_user_ca_keys); !not_link) {
    return core::Unexpected{not_link.error()};
  }
  core::Result<std::optional<std::string>> keys_old = ReadWholeFile(config.trusted_user_ca_keys);
  if (!keys_old) return core::Unexpected{keys_old.error()};
  // sshd's configuration as installed: where cafetch's lines go, and what
  // they told sshd.
  const std::string& main_path = config.sshd.config;
  // The main file is read as sshd reads it (through a symbolic link); it
  // is replaced only without the drop-in directory, and then it must not
  // be a link (renaming over it would replace the link, not its target).
  core::Result<std::optional<std::string>> main_text = ReadFollowingLinks(main_path);
  if (!main_text) return core::Unexpected{main_text.error()};
  if (!main_text->has_value()) {
    return Fail(Errc::kIo, main_path + " does not exist; set sshd.config in cafetch.yaml to sshd's main configuration file");
  }
  const std::string config_dir = core::ParentDirectory(main_path);
  const bool drop_in = IncludesDropInDirectory(**main_text, config_dir);
  const std::string target = drop_in ? config_dir + "/sshd_config.d/" + kDropInName : main_path;
  if (core::Status not_link = RefuseSymlink(target); !not_link) return core::Unexpected{not_link.error()};
  core::Result<std::optional<std::string>> target_old =
      drop_in ? ReadWholeFile(target) : core::Result<std::optional<std::string>>(*main_text);
  if (!target_old) return core::Unexpected{target_old.error()};
  // An adopted RSA key keeps the SHA-1 acceptance the installed lines gave
  // it (the state that said which issuer signed with it is gone).
  const bool sha1_installed = AcceptsSha1Rsa(target_old->value_or(""), drop_in) ||
                              (drop_in && AcceptsSha1Rsa(**main_text, /*drop_in=*/false));
  AdoptInstalledKeys(config.trusted_user_ca_keys, *keys_old, *state, options.now, config.keep_retired_seconds,
                     sha1_installed, &next, &key_events);
  // A state the next round's LoadState would refuse would stop every
  // round from now on: refuse it now, before anything is changed.
  if (core::Status fits = CheckStateSize(next); !fits) return core::Unexpected{fits.error()};
  const std::vector<CaKey> trusted = TrustedKeys(next);
  core::Result<std::string> keys_text = RenderTrustedKeys(trusted, SourceLabel(config.issuer));
  if (!keys_text) return core::Unexpected{keys_text.error()};
  core::Result<size_t> key_count = CheckTrustedKeys(*keys_text);
  if (!key_count) return core::Unexpected{key_count.error()};
  if (*key_count != trusted.size()) return Fail(Errc::kInternal, "rendered key count differs");

  // 2. Work out the sshd_config lines and where they go.
  core::Result<SshdVersion> version = DetectSshdVersion(config.sshd.binary);
  if (!version) {
    return Fail(version.error().code, version.error().detail + "; set sshd.binary in cafetch.yaml to the sshd that runs");
  }
  if (config.sshd.manage_principals_command) {
    core::Status runnable = CheckPrincipalsCommand(options.principals_command_program,
                                                   options.principals_command_user, options.directories);
    if (!runnable) return core::Unexpected{runnable.error()};
  }
  DirectivePlan plan;
  plan.trusted_user_ca_keys = config.trusted_user_ca_keys;
  plan.manage_principals_command = config.sshd.manage_principals_command;
  plan.accept_sha1_rsa = ResolveSha1(config, next.keys, *version, log);
  plan.version = *version;
  const std::vector<Directive> directives = PlanDirectives(plan);
  const std::string body = RenderDirectives(DirectiveLines(directives));

  WarnMatchOverrides(main_path, directives, log);
  if (const size_t block = drop_in ? BlockLine(**main_text) : 0; block != 0) {
    // Left from before the main file included the drop-ins: cafetch never
    // edits the main file then, but the old lines are still read by sshd.
    Log(log, Priority::kWarning, "stale_block",
        main_path + " line " + std::to_string(block) +
            " still holds cafetch's block from before the drop-in layout; sshd still reads its lines beside " +
            kDropInName + " (an earlier one wins): delete the lines from \"" + kBlockBegin + "\" to \"" +
            kBlockEnd + "\"");
  }
  std::string config_text;
  if (drop_in) {
    config_text = body;
  } else {
    core::Result<std::string> rewritten = RewriteMainConfig(**main_text, body);
    if (!rewritten) return Fail(rewritten.error().code, FileLineForm(main_path + ": " + rewritten.error().detail));
    config_text = std::move(*rewritten);
  }

  const bool keys_changed = *keys_old != std::optional<std::string>(*keys_text);
  const bool config_changed = *target_old != std::optional<std::string>(config_text);
  RunOutcome outcome;
  if (keys_changed) {
    outcome.changes.push_back(config.trusted_user_ca_keys + " (" +
                              DescribeKeyChange(keys_old->value_or(""), trusted) + ")");
  }
  if (config_changed) outcome.changes.push_back(target);
  const bool finish_reload = *reload_pending && !config_changed;
  if (finish_reload) outcome.changes.push_back("sshd reload left pending by an interrupted run");

  const RoundPlan round{
      .next = std::move(next),
      .keys_text = std::move(*keys_text),
      .keys_changed = keys_changed,
      .directives = directives,
      .version = *version,
      .drop_in = drop_in,
      .main_text = std::move(**main_text),
      .target = target,
      .config_text = std::move(config_text),
      .target_old = std::move(*target_old),
      .config_changed = config_changed,
      .finish_reload = finish_reload,
  };

  if (options.dry_run) {
    if (round.keys_changed) {
      outcome.diff += UnifiedDiff(keys_old->value_or(""), round.keys_text,
                                  keys_old->has_value() ? config.trusted_user_ca_keys : "/dev/null",
                                  config.trusted_user_ca_keys);
    }
    if (round.config_changed) {
      outcome.diff += UnifiedDiff(round.target_old.value_or(""), round.config_text,
                                  round.target_old.has_value() ? round.target : "/dev/null", round.target);
    }
    // The same check --once makes (InstallRound's step 3): an admin's line
    // that wins over ours fails the dry run too.
    core::Result<EffectiveConfig> checked = CheckRound(config, round, true);
    if (!checked) return core::Unexpected{checked.error()};
    return outcome;
  }

  // 3. to 5.: check, save the history, install and reload.
  core::Result<std::string> reload = InstallRound(config, options, round, log);
  if (!reload) return core::Unexpected{reload.error()};
  outcome.reload = std::move(*reload);
  for (const KeyEvent& e : key_events) Log(log, e.priority, e.event, e.message, {{"CERTGATE_CA_FP", e.fingerprint}});
  if (!outcome.changes.empty()) {
    Log(log, Priority::kNotice, "changed", outcome.Summary(),
        {{"CERTGATE_TRUSTED_KEYS", std::to_string(trusted.size())}});
  }
  return outcome;
}

}  // namespace certgate::cafetch
