// What the two halves of a cafetch round (agent.h) share: the plan that
// agent.cc works out without changing anything (the files to write and
// where they go), and the steps of agent_install.cc that check it with
// sshd, install it and reload sshd. Internal to the agent: only agent.cc
// and agent_install.cc include it.
#ifndef CERTGATE_CAFETCH_AGENT_INSTALL_H_
#define CERTGATE_CAFETCH_AGENT_INSTALL_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cafetch/agent.h"
#include "cafetch/config.h"
#include "cafetch/sshd_check.h"
#include "cafetch/sshd_config.h"
#include "cafetch/state.h"
#include "core/log.h"
#include "core/result.h"

namespace certgate::cafetch {

// Log writes one record to |log| (not owned): |message| at |priority|,
// with CERTGATE_EVENT=|event| and then |fields|.
void Log(core::LogSink* log, core::Priority priority, const std::string& event, const std::string& message,
         std::vector<std::pair<std::string, std::string>> fields = {});

// RoundPlan is what a round means to write, worked out (by RunOnce)
// before anything is changed. "The main file" is sshd.config in
// cafetch.yaml.
struct RoundPlan {
  // next: the key history to save.
  State next;
  // keys_text: the TrustedUserCAKeys file; keys_changed: it differs from
  // the file on disk.
  std::string keys_text;
  bool keys_changed = false;
  // directives: the sshd_config lines cafetch manages; version: the
  // installed sshd's (how sshd -T is asked, DumpScopeFor).
  std::vector<Directive> directives;
  SshdVersion version;
  // drop_in: the main file includes sshd_config.d/*.conf, so the lines go
  // to our drop-in there; otherwise into cafetch's block in the main file.
  bool drop_in = false;
  // main_text: the main file as the round read it (through a symbolic link).
  std::string main_text;
  // target: the file the lines go to (our drop-in or the main file);
  // config_text: it as it would be written; target_old: it as the round
  // read it (nullopt: absent); config_changed: the two differ.
  std::string target;
  std::string config_text;
  std::optional<std::string> target_old;
  bool config_changed = false;
  // finish_reload: sshd_config stays as it is, but an interrupted round
  // left a reload of it pending.
  bool finish_reload = false;
};

// CheckRound checks with sshd, before anything is installed, the
// configuration it would read after the round: sshd_config as it is (sshd
// -t only with finish_reload) or, when it changes, a candidate copy in
// state_dir/candidates (with |dry_run|, in /tmp); sshd -T must show
// round.directives. Returns sshd -T's values for sshd_config as it is,
// none for a candidate. Errors: those of the sshd checks (sshd_check.h),
// e.g. kBadFormat when sshd refuses the configuration or an admin's line
// wins over cafetch's, and those of writing the candidate (candidates.h).
core::Result<EffectiveConfig> CheckRound(const Config& config, const RoundPlan& round, bool dry_run);

// InstallRound installs |round| for RunOnce (not for a dry run, and with
// the state_dir lock held): removes the temporary files killed rounds left
// beside the files it writes, checks the round (CheckRound), saves the key
// history, installs the changed files, checks the installed sshd_config and
// reloads sshd if sshd_config changed or a reload was pending. Logs to
// |log| (not owned). Returns how sshd was reloaded (ReloadOutcome::Describe,
// "" when it was not). Errors: CheckRound's, and those of saving the
// state, installing a file, the check of the installed sshd_config and
// the reload (ReloadSshd); a failure after the state is saved restores
// every file the round replaced (kRestoreFailed in the detail when one
// could not be put back).
core::Result<std::string> InstallRound(const Config& config, const RunOptions& options, const RoundPlan& round,
                                       core::LogSink* log);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_AGENT_INSTALL_H_
