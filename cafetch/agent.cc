#include "cafetch/agent.h"

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "cafetch/atomic_file.h"
#include "cafetch/candidates.h"
#include "cafetch/diff.h"
#include "cafetch/fetcher.h"
#include "cafetch/issuers.h"
#include "cafetch/reload.h"
#include "cafetch/sshd_check.h"
#include "cafetch/sshd_config.h"
#include "cafetch/state.h"
#include "cafetch/trusted_keys.h"
#include "cafetch/trusted_paths.h"
#include "core/ssh_key.h"
#include "core/unique_fd.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;
using core::LogRecord;
using core::Priority;

void Log(core::LogSink* log, Priority priority, const std::string& event, const std::string& message,
         std::vector<std::pair<std::string, std::string>> fields = {}) {
  LogRecord record;
  record.priority = priority;
  record.message = message;
  record.fields.emplace_back("CERTGATE_EVENT", event);
  for (auto& f : fields) record.fields.push_back(std::move(f));
  log->Write(record);
}

std::string Fingerprint(const CaKey& key) { return core::Sha256Fingerprint(key.key.blob); }

// KeysIn returns the keys a TrustedUserCAKeys text holds (unreadable lines
// are skipped: this only describes a change).
std::vector<core::PublicKey> KeysIn(std::string_view text) {
  std::vector<core::PublicKey> keys;
  size_t line_no = 0;
  std::string_view line;
  while (core::NextKeyFileLine(&text, &line_no, &line)) {
    core::Result<core::AuthorizedKey> k = core::ParsePublicKeyLine(line);
    if (k) keys.push_back(std::move(k->key));
  }
  return keys;
}

// DescribeKeyChange returns "+SHA256:… -SHA256:…" for the keys added and
// removed, or "rewritten" when only comments differ.
std::string DescribeKeyChange(std::string_view old_text, const std::vector<CaKey>& trusted) {
  std::vector<core::PublicKey> old_keys = KeysIn(old_text);
  std::string out;
  for (const CaKey& k : trusted) {
    bool had = false;
    for (const core::PublicKey& o : old_keys) had = had || o == k.key;
    if (!had) out += (out.empty() ? "+" : ", +") + Fingerprint(k);
  }
  for (const core::PublicKey& o : old_keys) {
    bool kept = false;
    for (const CaKey& k : trusted) kept = kept || o == k.key;
    if (!kept) out += (out.empty() ? "-" : ", -") + core::Sha256Fingerprint(o.blob);
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

// ReplaceAll returns |text| with every |from| replaced by |to|.
std::string ReplaceAll(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  for (size_t at = text.find(from); !from.empty() && at != std::string_view::npos; at = text.find(from)) {
    out.append(text.substr(0, at)).append(to);
    text.remove_prefix(at + from.size());
  }
  out.append(text);
  return out;
}

// WarnMatchOverrides logs each line inside a Match block of the
// configuration at |main_path| that sets one of |directives| to another
// value: for the connections that Match selects, sshd uses it instead of
// cafetch's (sshd -T, run for root from loopback, does not show it).
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
    if (line.match.empty()) continue;
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

// ChangedMeanwhile is the error for a file that changed between the
// round's read of it and its install.
core::Status ChangedMeanwhile(const std::string& path) {
  return Fail(Errc::kIo, path + " was changed by someone else while cafetch ran (it differs from what the round "
                                "read and checked); the round is undone and that change kept: run cafetch again");
}

// CheckConfig runs sshd -t (when |syntax|) and -T on |config_path| and
// verifies |wanted|.
core::Result<EffectiveConfig> CheckConfig(const Config& config, const std::string& config_path,
                                          const std::vector<Directive>& wanted, bool syntax) {
  if (syntax) {
    core::Status st = CheckSshdConfig(config.sshd.binary, config_path);
    if (!st) return core::Unexpected{st.error()};
  }
  core::Result<EffectiveConfig> effective = DumpEffectiveConfig(config.sshd.binary, config_path);
  if (!effective) return effective;
  core::Status verified = VerifyEffective(*effective, wanted, ReadConfigLines(config_path));
  if (!verified) return core::Unexpected{verified.error()};
  return effective;
}

// CheckCandidate checks, before anything is installed, the configuration
// sshd would read: |main_text| as the main file and, for the drop-in
// layout, the other drop-ins as they are with |drop_in_text| as ours. The
// files go to a private directory in state_dir/candidates (candidates.h);
// the main file's Include of sshd_config.d/*.conf is pointed at the copy
// there, so the drop-ins keep their order. Runs sshd -t and verifies
// |wanted| in sshd -T.
core::Status CheckCandidate(const Config& config, const std::string& main_text,
                            const std::optional<std::string>& drop_in_text,
                            const std::vector<Directive>& wanted, bool dry_run) {
  // A dry run changes nothing, not even state_dir: its candidate goes to a
  // private directory in /tmp.
  core::Result<std::unique_ptr<CandidateDir>> made =
      dry_run ? CandidateDir::CreateTemporary() : CandidateDir::Create(config.state_dir);
  if (!made) return Fail(made.error().code, "candidate sshd_config: " + made.error().detail);
  CandidateDir& dir = **made;
  std::string candidate_main = main_text;
  core::Status st = core::Ok();
  if (drop_in_text.has_value()) {
    const std::string config_dir = core::ParentDirectory(config.sshd.config);
    const std::string real_glob = config_dir + "/sshd_config.d/*.conf";
    st = dir.MakeSubdirectory(kCandidateDropInDir);
    glob_t found{};
    const int g = st ? glob(real_glob.c_str(), GLOB_NOSORT, nullptr, &found) : GLOB_NOMATCH;
    if (g != 0 && g != GLOB_NOMATCH && st) st = Fail(Errc::kIo, "cannot list " + real_glob);
    for (size_t i = 0; st && g == 0 && i < found.gl_pathc; ++i) {
      const std::string path = found.gl_pathv[i];
      const std::string name = path.substr(path.rfind('/') + 1);
      if (name == kDropInName) continue;
      // Read as sshd reads it: an admin's drop-in may be a symbolic link.
      core::Result<std::optional<std::string>> text = ReadFollowingLinks(path);
      if (!text) {
        st = core::Unexpected{text.error()};
      } else if (text->has_value()) {
        st = dir.Write(std::string(kCandidateDropInDir) + "/" + name, **text);
      }
    }
    globfree(&found);
    if (st) st = dir.Write(std::string(kCandidateDropInDir) + "/" + kDropInName, *drop_in_text);
    candidate_main = RedirectDropInInclude(
        main_text, config_dir, dir.path() + "/" + kCandidateDropInDir + "/*.conf");
  }
  if (st) st = dir.Write("sshd_config", candidate_main);
  // AsInstalled names the files and lines of a message as they would be
  // installed, not the candidate's copies (the line numbers are the same).
  auto as_installed = [&](const std::string& detail) {
    const std::string config_dir = core::ParentDirectory(config.sshd.config);
    std::string out = ReplaceAll(detail, dir.path() + "/" + kCandidateDropInDir + "/",
                                 config_dir + "/sshd_config.d/");
    return ReplaceAll(out, dir.path() + "/sshd_config", config.sshd.config);
  };
  if (st) {
    st = CheckSshdConfig(config.sshd.binary, dir.path() + "/sshd_config");
    // Most often it is the admin's own configuration that does not pass:
    // then say so with its real path and line, not the candidate's.
    if (!st) {
      core::Status current = CheckSshdConfig(config.sshd.binary, config.sshd.config);
      if (!current) {
        return Fail(current.error().code, "the sshd configuration fails sshd -t already, before any change: " +
                                              current.error().detail + "; fix it first");
      }
      // It is what cafetch would write that sshd refuses.
      return Fail(st.error().code,
                  "the sshd configuration as cafetch would write it fails sshd -t (the current one passes; "
                  "nothing was changed): " +
                      as_installed(st.error().detail) +
                      "; the lines cafetch writes follow the sshd settings in cafetch.yaml: check them against "
                      "this sshd (" + config.sshd.binary + " -V)");
    }
  }
  if (st) {
    core::Result<EffectiveConfig> checked =
        CheckConfig(config, dir.path() + "/sshd_config", wanted, false);
    // An admin's line that wins is named where it is, not in the copy.
    if (!checked) st = Fail(checked.error().code, as_installed(checked.error().detail));
  }
  if (!st) return Fail(st.error().code, "candidate sshd_config: " + st.error().detail);
  return core::Ok();
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

// Installed keeps what this round changed, to undo it: the backups of the
// files it replaced, the directories it created and the reload mark it set.
class Installed {
 public:
  explicit Installed(core::LogSink* log) : log_(log) {}
  // Replace replaces |path| with |text|, keeping the previous version. With
  // |read|, what the round read and checked: when the file replaced was
  // not that any more (an admin or another tool changed it meanwhile),
  // fails, and the rollback puts their version back.
  core::Status Replace(const std::string& path, const std::string& text, const FileMode& mode,
                       const std::optional<std::string>* read = nullptr) {
    core::Result<Replaced> replaced = ReplaceKeepingPrevious(path, text, mode);
    if (!replaced) return core::Unexpected{replaced.error()};
    const bool changed_meanwhile = read != nullptr && replaced->file.contents != *read;
    // A rollback puts the file back, then the copy of it kept before.
    if (replaced->previous.has_value()) backups_.push_back(std::move(*replaced->previous));
    backups_.push_back(std::move(replaced->file));
    if (changed_meanwhile) return ChangedMeanwhile(path);
    return core::Ok();
  }
  // Keep adds the backup of a file the caller replaced itself.
  void Keep(FileBackup backup) { backups_.push_back(std::move(backup)); }
  // MakeDirectory creates |dir| (0755) unless it exists; one it created is
  // removed again by a rollback.
  core::Status MakeDirectory(const std::string& dir) {
    if (mkdir(dir.c_str(), 0755) == 0) {
      created_dirs_.push_back(dir);
    } else if (errno != EEXIST) {
      return Fail(Errc::kIo, "mkdir " + dir + ": " + std::strerror(errno));
    }
    return core::Ok();
  }
  // MarkReloadPending sets the mark that makes the next round reload sshd
  // if this one dies between the install and the reload. A rollback puts
  // the mark back as it was, unless a reload was tried (ReloadTried): sshd
  // may have read the new files before the old ones came back.
  core::Status MarkReloadPending(const std::string& state_dir) {
    core::Result<FileBackup> mark = BackUpFile(state_dir + "/" + kReloadPendingFileName);
    if (!mark) return core::Unexpected{mark.error()};
    core::Status marked = cafetch::MarkReloadPending(state_dir);
    if (!marked) return marked;
    mark_ = std::move(*mark);
    return core::Ok();
  }
  void ReloadTried() { mark_.reset(); }
  // RollBack restores every replaced file, newest first, removes the
  // directories it created and returns |why| with what was done. The
  // reload mark stays set when a file could not be restored: what is on
  // disk then is not what sshd runs.
  core::Error RollBack(const core::Error& why) {
    std::string detail = why.detail + "; previous files restored";
    bool all_restored = true;
    for (auto it = backups_.rbegin(); it != backups_.rend(); ++it) {
      core::Status st = RestoreFile(*it);
      if (!st) {
        all_restored = false;
        detail += std::string("; ") + kRestoreFailed + it->path + " FAILED: " + st.error().detail;
        Log(log_, Priority::kErr, "restore_failed", "could not restore " + it->path + ": " +
                                                        st.error().detail);
      }
    }
    if (all_restored && mark_.has_value()) {
      core::Status st = RestoreFile(*mark_);
      if (!st) {
        // A mark left behind costs one more reload next round, nothing else.
        Log(log_, Priority::kWarning, "reload_mark",
            "cannot clear the reload mark: " + st.error().detail);
      }
    }
    for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) {
      if (rmdir(it->c_str()) != 0) {
        Log(log_, Priority::kWarning, "rollback",
            "cannot remove the directory " + *it + " this round created: " + std::strerror(errno));
      }
    }
    backups_.clear();
    created_dirs_.clear();
    mark_.reset();
    return core::Error{why.code, detail};
  }

 private:
  core::LogSink* log_;
  std::vector<FileBackup> backups_;
  std::vector<std::string> created_dirs_;
  std::optional<FileBackup> mark_;  // the reload mark as it was before this round
};

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

  int64_t latest = 0;
  for (const KeyHistory& k : state->keys) latest = std::max(latest, k.last_seen);
  if (options.now < latest) {
    // AdvanceState keeps the recorded times (so no key is retired early);
    // say why key history does not follow the clock.
    Log(log, Priority::kWarning, "clock_behind",
        "the clock (" + std::to_string(options.now) + ") is behind the key history (last seen at " +
            std::to_string(latest) + "): recorded times are kept");
  }

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
  for (const KeyHistory& was : state->keys) {
    const KeyHistory* now_k = nullptr;
    for (const KeyHistory& k : next.keys) {
      if (k.key.key == was.key.key) now_k = &k;
    }
    const std::string fp = Fingerprint(was.key);
    if (now_k == nullptr) {
      Log(log, Priority::kNotice, "key_dropped",
          "CA key " + fp + " is no longer listed and keep_retired has passed: no longer trusted",
          {{"CERTGATE_CA_FP", fp}});
    } else if (was.listed && !now_k->listed) {
      Log(log, Priority::kNotice, "key_retired",
          "CA key " + fp + " is no longer listed by the issuer: still trusted for keep_retired",
          {{"CERTGATE_CA_FP", fp}});
    }
  }
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
  for (const std::string& written : {target, config.trusted_user_ca_keys}) {
    core::Status not_link = RefuseSymlink(written);
    if (!not_link) return core::Unexpected{not_link.error()};
  }
  std::string config_text;
  if (drop_in) {
    config_text = body;
  } else {
    core::Result<std::string> rewritten = RewriteMainConfig(**main_text, body);
    if (!rewritten) return Fail(rewritten.error().code, main_path + ": " + rewritten.error().detail);
    config_text = std::move(*rewritten);
  }
  core::Result<std::optional<std::string>> target_old =
      drop_in ? ReadWholeFile(target) : core::Result<std::optional<std::string>>(*main_text);
  if (!target_old) return core::Unexpected{target_old.error()};
  core::Result<std::optional<std::string>> keys_old = ReadWholeFile(config.trusted_user_ca_keys);
  if (!keys_old) return core::Unexpected{keys_old.error()};

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

  if (options.dry_run) {
    if (keys_changed) {
      outcome.diff += UnifiedDiff(keys_old->value_or(""), *keys_text,
                                  keys_old->has_value() ? config.trusted_user_ca_keys : "/dev/null",
                                  config.trusted_user_ca_keys);
    }
    if (config_changed) {
      outcome.diff += UnifiedDiff(target_old->value_or(""), config_text,
                                  target_old->has_value() ? target : "/dev/null", target);
      core::Status checked = CheckCandidate(config, drop_in ? **main_text : config_text,
                                            drop_in ? std::optional(config_text) : std::nullopt,
                                            directives, true);
      if (!checked) return core::Unexpected{checked.error()};
    } else {
      // The same check --once makes (step 3): an admin's line that wins
      // over ours fails the dry run too.
      core::Result<EffectiveConfig> checked =
          CheckConfig(config, main_path, directives, finish_reload);
      if (!checked) return core::Unexpected{checked.error()};
    }
    return outcome;
  }

  // Temporary files a killed round left beside the files we write: sshd
  // never reads them, but they would pile up. We hold the lock, so no other
  // round is writing them now.
  for (const std::string& path :
       {config.trusted_user_ca_keys, config.trusted_user_ca_keys + kPreviousSuffix, target,
        target + kPreviousSuffix, config.state_dir + "/" + kStateFileName,
        config.state_dir + "/" + kReloadPendingFileName}) {
    core::Result<size_t> removed = RemoveStaleTemporaries(path);
    if (!removed) {
      Log(log, Priority::kWarning, "stale_temporary", removed.error().detail);
    } else if (*removed > 0) {
      Log(log, Priority::kNotice, "stale_temporary",
          "removed " + std::to_string(*removed) +
              " temporary file(s) an interrupted run left beside " + path);
    }
  }

  // 3. Check what can be checked before installing anything.
  core::Result<EffectiveConfig> effective = EffectiveConfig{};
  if (!config_changed) {
    // A pending reload is sent only once sshd -t has passed.
    effective = CheckConfig(config, main_path, directives, finish_reload);
    if (!effective) return core::Unexpected{effective.error()};
  } else {
    core::Status checked = CheckCandidate(config, drop_in ? **main_text : config_text,
                                          drop_in ? std::optional(config_text) : std::nullopt,
                                          directives, false);
    if (!checked) return core::Unexpected{checked.error()};
  }

  // 4. Save the history first, so that a state_dir that cannot be written
  // fails the round before anything sshd reads has changed; it is restored
  // with the other files if the install fails.
  Installed installed(log);
  core::Result<FileBackup> old_state = BackUpFile(config.state_dir + "/" + kStateFileName);
  if (!old_state) return core::Unexpected{old_state.error()};
  core::Status saved = SaveState(config.state_dir, next);
  if (!saved) return core::Unexpected{saved.error()};
  installed.Keep(std::move(*old_state));
  if (config_changed) {
    core::Status marked = installed.MarkReloadPending(config.state_dir);
    if (!marked) return core::Unexpected{installed.RollBack(marked.error())};
  }

  // 5. Install, check the installed files, reload; any failure restores.
  const FileMode root_mode{geteuid(), getegid(), 0644};
  if (keys_changed) {
    core::Status st = installed.MakeDirectory(core::ParentDirectory(config.trusted_user_ca_keys));
    if (st) st = installed.Replace(config.trusted_user_ca_keys, *keys_text, root_mode);
    if (!st) return core::Unexpected{installed.RollBack(st.error())};
  }
  if (config_changed) {
    FileMode mode = root_mode;
    core::Status st = core::Ok();
    if (drop_in) {
      // The drop-in is right only while the main file still includes it.
      core::Result<std::optional<std::string>> main_now = ReadFollowingLinks(main_path);
      if (!main_now) st = core::Unexpected{main_now.error()};
      if (st && *main_now != *main_text) st = ChangedMeanwhile(main_path);
      if (st) st = installed.MakeDirectory(core::ParentDirectory(target));
    } else {
      // The main file keeps its owner and mode.
      struct stat sb;
      if (stat(main_path.c_str(), &sb) == 0) mode = FileMode{sb.st_uid, sb.st_gid, sb.st_mode & 07777};
    }
    // sshd_config has no lock other tools take: a change made while the
    // round ran is noticed (up to the moment of the rename) and kept.
    if (st) st = installed.Replace(target, config_text, mode, &*target_old);
    if (!st) return core::Unexpected{installed.RollBack(st.error())};
    effective = CheckConfig(config, main_path, directives, true);
    if (!effective) return core::Unexpected{installed.RollBack(effective.error())};
  }
  if (config_changed || finish_reload) {
    ReloadRequest request;
    request.mode = config.sshd.reload;
    request.sshd_binary = config.sshd.binary;
    std::string pid_file = EffectiveValue(*effective, "pidfile");
    if (!pid_file.empty() && pid_file != "none") request.pid_file = pid_file;
    request.bus_address = options.bus_address;
    request.systemd_running = options.systemd_running || !options.bus_address.empty();
    installed.ReloadTried();
    core::Result<ReloadOutcome> reloaded = ReloadSshd(request);
    if (!reloaded) return core::Unexpected{installed.RollBack(reloaded.error())};
    outcome.reload = reloaded->Describe();
    Log(log, Priority::kInfo, "reload", outcome.reload);
    core::Status cleared = ClearReloadPending(config.state_dir);
    if (!cleared) {
      // The mark left behind costs one more reload next round, nothing else.
      Log(log, Priority::kWarning, "reload_mark",
          "cannot clear the reload mark: " + cleared.error().detail);
    }
  }

  if (!outcome.changes.empty()) {
    Log(log, Priority::kNotice, "changed", outcome.Summary(),
        {{"CERTGATE_TRUSTED_KEYS", std::to_string(trusted.size())}});
  }
  return outcome;
}

}  // namespace certgate::cafetch
