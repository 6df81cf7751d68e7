// The install half of a cafetch round (RunOnce, agent.h): checks the
// planned configuration with sshd before anything is installed
// (CheckRound: sshd_config as it is, or a candidate copy), then saves the
// key history, installs the changed files, checks the installed
// sshd_config and reloads sshd, undoing the round's changes if any step
// fails (Installed). Fetching the keys and working out what to write is
// agent.cc's; the plan the two share is agent_install.h's.
#include "cafetch/agent_install.h"

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

#include "cafetch/atomic_file.h"
#include "cafetch/candidates.h"
#include "cafetch/reload.h"
#include "core/atomic_file.h"

namespace certgate::cafetch {

using core::Errc;
using core::Fail;
using core::LogRecord;
using core::Priority;

void Log(core::LogSink* log, Priority priority, const std::string& event, const std::string& message,
         std::vector<std::pair<std::string, std::string>> fields) {
  LogRecord record;
  record.priority = priority;
  record.message = message;
  record.fields.emplace_back("CERTGATE_EVENT", event);
  for (auto& f : fields) record.fields.push_back(std::move(f));
  log->Write(record);
}

namespace {

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

// ChangedMeanwhile is the error for a file that changed between the
// round's read of it and its install.
core::Status ChangedMeanwhile(const std::string& path) {
  return Fail(Errc::kIo, path + " was changed by someone else while cafetch ran (it differs from what the round "
                                "read and checked); the round is undone and that change kept: run cafetch again");
}

// Checked says which configuration CheckConfig checks: the one installed,
// which this round leaves as it is, or one this round wrote.
enum class Checked { kAsItIs, kChanged };

// FailsAlready is sshd's refusal (|why|) of a configuration this round did
// not change: it is the admin's to fix, and cafetch says so.
core::Error FailsAlready(const core::Error& why) {
  return core::Error{why.code, "the sshd configuration fails already, before any change: " + why.detail +
                                   "; fix it first"};
}

// CheckConfig runs sshd -t (when |syntax|) and -T on |config_path| and
// verifies |wanted|: sshd -T shows what every connection gets (or, for
// sshd 7.7 to 8.0, a root login from loopback; DumpScopeFor |version|),
// and the Match blocks are read to tell a "Match all" that overrides
// cafetch (an error) from one that selects some connections (a warning,
// WarnMatchOverrides in agent.cc).
core::Result<EffectiveConfig> CheckConfig(const Config& config, const std::string& config_path,
                                          const std::vector<Directive>& wanted, const SshdVersion& version,
                                          bool syntax, Checked checked) {
  // sshd ran and refused the file (kBadFormat), as opposed to not running.
  auto refused = [&](const core::Error& why) {
    return core::Unexpected{checked == Checked::kAsItIs && why.code == Errc::kBadFormat ? FailsAlready(why) : why};
  };
  if (syntax) {
    core::Status st = CheckSshdConfig(config.sshd.binary, config_path);
    if (!st) return refused(st.error());
  }
  const DumpScope scope = DumpScopeFor(version);
  core::Result<EffectiveConfig> effective = DumpEffectiveConfig(config.sshd.binary, config_path, scope);
  if (!effective) return refused(effective.error());
  core::Status verified =
      VerifyEffective(*effective, wanted, ReadConfigLines(config_path, /*with_match=*/true), scope);
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
                            const std::vector<Directive>& wanted, const SshdVersion& version, bool dry_run) {
  // A dry run changes nothing, not even state_dir: its candidate goes to a
  // private directory in /tmp.
  core::Result<std::unique_ptr<CandidateDir>> made =
      dry_run ? CandidateDir::CreateTemporary() : CandidateDir::Create(config.state_dir);
  if (!made) {
    const core::Error why = dry_run ? made.error() : Unwritable(made.error(), config.state_dir, "state_dir");
    return Fail(why.code, "candidate sshd_config: " + why.detail);
  }
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
      if (!current) return core::Unexpected{FailsAlready(current.error())};
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
        CheckConfig(config, dir.path() + "/sshd_config", wanted, version, false, Checked::kChanged);
    // An admin's line that wins is named where it is, not in the copy.
    if (!checked) st = Fail(checked.error().code, as_installed(checked.error().detail));
  }
  if (!st) return Fail(st.error().code, "candidate sshd_config: " + st.error().detail);
  return core::Ok();
}

// Installed keeps what this round changed, to undo it: the backups of the
// files it replaced, the directories it created and the reload mark it set.
class Installed {
 public:
  explicit Installed(core::LogSink* log) : log_(log) {}
  // Replace replaces |path|, which cafetch.yaml's |setting| names, with
  // |text|, keeping the previous version. With |read|, what the round read
  // and checked: when the file replaced was not that any more (an admin or
  // another tool changed it meanwhile), fails, and the rollback puts their
  // version back.
  core::Status Replace(const std::string& path, std::string_view setting, const std::string& text,
                       const FileMode& mode, const std::optional<std::string>* read = nullptr) {
    core::Result<Replaced> replaced = ReplaceKeepingPrevious(path, text, mode);
    if (!replaced) return core::Unexpected{Unwritable(replaced.error(), core::ParentDirectory(path), setting)};
    const bool changed_meanwhile = read != nullptr && replaced->file.contents != *read;
    // A rollback puts the file back, then the copy of it kept before.
    if (replaced->previous.has_value()) backups_.push_back(std::move(*replaced->previous));
    backups_.push_back(std::move(replaced->file));
    if (changed_meanwhile) return ChangedMeanwhile(path);
    return core::Ok();
  }
  // Keep adds the backup of a file the caller replaced itself.
  void Keep(FileBackup backup) { backups_.push_back(std::move(backup)); }
  // MakeDirectory creates |dir| (0755), which cafetch.yaml's |setting|
  // names, unless it exists; one it created is removed again by a rollback.
  core::Status MakeDirectory(const std::string& dir, std::string_view setting) {
    core::Result<bool> made = cafetch::MakeDirectory(dir, setting);
    if (!made) return core::Unexpected{made.error()};
    if (*made) created_dirs_.push_back(dir);
    return core::Ok();
  }
  // MarkReloadPending sets the mark that makes the next round reload sshd
  // if this one dies between the install and the reload. A rollback puts
  // the mark back as it was, unless a reload was sent (ReloadTried): sshd
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
    std::string failed;
    for (auto it = backups_.rbegin(); it != backups_.rend(); ++it) {
      core::Status st = RestoreFile(*it);
      if (!st) {
        failed += std::string("; ") + kRestoreFailed + it->path + " FAILED, so it keeps this round's version: " +
                  st.error().detail;
        Log(log_, Priority::kErr, "restore_failed", "could not restore " + it->path + ": " +
                                                        st.error().detail);
      }
    }
    const bool all_restored = failed.empty();
    std::string detail = why.detail + (all_restored ? "; previous files restored"
                                                    : "; the previous files could not all be restored" + failed);
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

core::Result<EffectiveConfig> CheckRound(const Config& config, const RoundPlan& round, bool dry_run) {
  if (!round.config_changed) {
    // A pending reload is sent only once sshd -t has passed.
    return CheckConfig(config, config.sshd.config, round.directives, round.version, round.finish_reload,
                       Checked::kAsItIs);
  }
  core::Status checked = CheckCandidate(config, round.drop_in ? round.main_text : round.config_text,
                                        round.drop_in ? std::optional(round.config_text) : std::nullopt,
                                        round.directives, round.version, dry_run);
  if (!checked) return core::Unexpected{checked.error()};
  return EffectiveConfig{};
}

core::Result<std::string> InstallRound(const Config& config, const RunOptions& options, const RoundPlan& round,
                                       core::LogSink* log) {
  const std::string& main_path = config.sshd.config;
  // Temporary files a killed round left beside the files we write: sshd
  // never reads them, but they would pile up. We hold the lock, so no other
  // round is writing them now.
  for (const std::string& path :
       {config.trusted_user_ca_keys, config.trusted_user_ca_keys + kPreviousSuffix, round.target,
        round.target + kPreviousSuffix, config.state_dir + "/" + kStateFileName,
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
  core::Result<EffectiveConfig> effective = CheckRound(config, round, false);
  if (!effective) return core::Unexpected{effective.error()};

  // 4. Save the history first, so that a state_dir that cannot be written
  // fails the round before anything sshd reads has changed; it is restored
  // with the other files if the install fails.
  Installed installed(log);
  core::Result<FileBackup> old_state = BackUpFile(config.state_dir + "/" + kStateFileName);
  if (!old_state) return core::Unexpected{old_state.error()};
  core::Status saved = SaveState(config.state_dir, round.next);
  if (!saved) return core::Unexpected{saved.error()};
  installed.Keep(std::move(*old_state));
  if (round.config_changed) {
    core::Status marked = installed.MarkReloadPending(config.state_dir);
    if (!marked) return core::Unexpected{installed.RollBack(marked.error())};
  }

  // 5. Install, check the installed files, reload; any failure restores.
  std::string reload;
  const FileMode root_mode{geteuid(), getegid(), 0644};
  if (round.keys_changed) {
    core::Status st =
        installed.MakeDirectory(core::ParentDirectory(config.trusted_user_ca_keys), "trusted_user_ca_keys");
    if (st) st = installed.Replace(config.trusted_user_ca_keys, "trusted_user_ca_keys", round.keys_text, root_mode);
    if (!st) return core::Unexpected{installed.RollBack(st.error())};
  }
  if (round.config_changed) {
    FileMode mode = root_mode;
    core::Status st = core::Ok();
    if (round.drop_in) {
      // The drop-in is right only while the main file still includes it.
      core::Result<std::optional<std::string>> main_now = ReadFollowingLinks(main_path);
      if (!main_now) st = core::Unexpected{main_now.error()};
      if (st && *main_now != round.main_text) st = ChangedMeanwhile(main_path);
      if (st) st = installed.MakeDirectory(core::ParentDirectory(round.target), "sshd.config");
    } else {
      // The main file keeps its owner and mode.
      struct stat sb;
      if (stat(main_path.c_str(), &sb) == 0) mode = FileMode{sb.st_uid, sb.st_gid, sb.st_mode & 07777};
    }
    // sshd_config has no lock other tools take: a change made while the
    // round ran is noticed (up to the moment of the rename) and kept.
    if (st) st = installed.Replace(round.target, "sshd.config", round.config_text, mode, &round.target_old);
    if (!st) return core::Unexpected{installed.RollBack(st.error())};
    effective = CheckConfig(config, main_path, round.directives, round.version, true, Checked::kChanged);
    if (!effective) return core::Unexpected{installed.RollBack(effective.error())};
  }
  if (round.config_changed || round.finish_reload) {
    ReloadRequest request;
    request.mode = config.sshd.reload;
    request.sshd_binary = config.sshd.binary;
    std::string pid_file = EffectiveValue(*effective, "pidfile");
    if (!pid_file.empty() && pid_file != "none") request.pid_file = pid_file;
    request.bus_address = options.bus_address;
    request.systemd_running = options.systemd_running || !options.bus_address.empty();
    // Once a reload was sent, sshd may have read the new files: a rollback
    // then leaves the mark, so that the next round reloads it again. A
    // reload that failed before sending anything (no bus, a bad PidFile)
    // left sshd as it was: the mark goes back to what it was.
    request.before_send = [&installed] { installed.ReloadTried(); };
    core::Result<ReloadOutcome> reloaded = ReloadSshd(request);
    if (!reloaded) return core::Unexpected{installed.RollBack(reloaded.error())};
    for (const ReloadWarning& warning : reloaded->warnings) {
      Log(log, Priority::kWarning, warning.event, warning.message);
    }
    reload = reloaded->Describe();
    Log(log, Priority::kInfo, "reload", reload);
    core::Status cleared = ClearReloadPending(config.state_dir);
    if (!cleared) {
      // The mark left behind costs one more reload next round, nothing else.
      Log(log, Priority::kWarning, "reload_mark",
          "cannot clear the reload mark: " + cleared.error().detail);
    }
  }
  return reload;
}

}  // namespace certgate::cafetch
