// One cafetch round: fetch the issuer's CA keys, work out what sshd must
// trust (listed keys plus recently retired ones), check it, install it
// safely and reload sshd if its configuration changed. Any failure before
// installing changes nothing on disk; any failure after it restores the
// previous files (the state file included). A reload mark in state_dir
// (state.h) is set before sshd_config is installed and cleared after the
// reload, so that a round killed in between is finished by the next one.
#ifndef CERTGATE_CAFETCH_AGENT_H_
#define CERTGATE_CAFETCH_AGENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cafetch/config.h"
#include "cafetch/sshd_config.h"
#include "core/log.h"
#include "core/result.h"
#include "core/safe_directory.h"

namespace certgate::cafetch {

// RunOptions are the knobs of one round that are not in cafetch.yaml.
struct RunOptions {
  // dry_run: fetch and verify, compute the diffs, change nothing (no lock,
  // no state, no reload).
  bool dry_run = false;
  // now: unix seconds, for key history.
  int64_t now = 0;
  // bus_address: D-Bus address for the reload ("" = the system bus).
  std::string bus_address;
  // systemd_running: try systemd first in sshd.reload: auto.
  bool systemd_running = false;
  // directories: the rule for the directories and files cafetch reads
  // trust from or writes it to (trusted_paths.h); tests set a trusted root.
  core::DirectoryRule directories{};
  // principals_command_program and _user: with
  // sshd.manage_principals_command, what sshd would run, checked as sshd
  // checks it before anything is installed (tests name a stand-in).
  std::string principals_command_program = kPrincipalsCommandProgram;
  std::string principals_command_user = kPrincipalsCommandUser;
};

// RunOutcome is a successful round.
struct RunOutcome {
  // changes: one phrase per changed file (or would-change, for a dry run),
  // e.g. "trusted_user_ca_keys (+SHA256:..., -SHA256:...)", and "sshd reload
  // left pending by an interrupted run" when an earlier round installed
  // sshd_config but was stopped before reloading sshd; empty when nothing
  // changed.
  std::vector<std::string> changes;
  // diff: with dry_run, the unified diff of every file that would change.
  std::string diff;
  // reload: what was done to make sshd read its configuration ("" if nothing).
  std::string reload;

  // Summary returns "unchanged" or "changed: " and the changes joined by "; ".
  std::string Summary() const;
};

// RunOnce does one round with |config| and logs what it does to |log| (not
// owned, must outlive the call). Errors: kIo when another cafetch holds the
// lock, the FetchCaKeys errors, kBadFormat when a rendered file or the
// sshd configuration fails its check (sshd -t, sshd -T values), kIo for
// file and reload failures.
core::Result<RunOutcome> RunOnce(const Config& config, const RunOptions& options,
                                 core::LogSink* log);

// kRestoreFailed appears in a failed round's detail when a file it had
// replaced could not be put back: then the round did change something.
inline constexpr char kRestoreFailed[] = "RESTORING ";

// SourceLabel names the issuer in the key file's header (world-readable,
// and shown by --dry-run): "the TYPE issuer URL", the URL without userinfo,
// query or fragment (Redact), which could hold a credential.
std::string SourceLabel(const IssuerConfig& issuer);

// FailureOutcome returns what a failed round left on disk, for its log
// line: "nothing changed", or a warning that some files were not restored.
std::string FailureOutcome(const core::Error& error);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_AGENT_H_
