// Process plumbing shared by principals-cmd and keys-cmd: argv, clock,
// logging, the run-time bound, one write of the answer, exit status.
#ifndef CERTGATE_HELPER_MAIN_HELPER_MAIN_H_
#define CERTGATE_HELPER_MAIN_HELPER_MAIN_H_

#include <atomic>
#include <string>
#include <vector>

#include "core/groups.h"
#include "core/helper_args.h"
#include "core/helper_command.h"
#include "core/log.h"

namespace certgate {

// HelperAnswer is all a helper run gives its caller: what it writes to
// stdout and to stderr, and its exit status.
struct HelperAnswer {
  int exit_code = 1;
  std::string out;
  std::string err;
};

// WantsVerbose tells whether helper arguments |args| (argv without argv[0])
// ask for --verbose (records copied to stderr), as the options parser would.
bool WantsVerbose(const std::vector<std::string>& args);

// UsageErrorAnswer is a run whose arguments |args| did not parse (|detail|
// says why): one log record to |log| ("usage error, nothing granted", with
// CERTGATE_USER when the login name can be told) and, unless --verbose
// already copies that record to stderr, the detail on stderr.
HelperAnswer UsageErrorAnswer(core::HelperKind kind, const std::vector<std::string>& args,
                              const std::string& detail, bool verbose, core::LogSink* log);

// DecideAnswer runs parsed |options| (core::RunHelper) with the time now,
// NSS groups and |policies| (null: LoadPolicy), logging to |log|; |stage|
// (may be null) follows its progress for a watchdog; |signatures| and
// |groups| (may be null) remember verified certificates and NSS group
// answers across runs (core::GroupCache). It never throws: any
// internal failure is a logged denial. It has no time bound of its own:
// HelperMain runs it under a watchdog thread, the service's parent kills a
// worker whose request outlives its --timeout (decide/server.h).
HelperAnswer DecideAnswer(core::HelperKind kind, const core::HelperOptions& options,
                          core::PolicySource* policies, core::LogSink* log,
                          std::atomic<core::HelperStage>* stage,
                          core::SignatureMemo* signatures = nullptr,
                          core::GroupCache* groups = nullptr);

// HelperMain is the whole main() of a helper run in-process
// (`certgate-decide --run KIND ARGS`, the clients' fallback): parse, then
// UsageErrorAnswer or DecideAnswer under the --timeout watchdog (past it:
// a logged denial and _exit(1)), the answer written to STDOUT_FILENO in one
// write. argv[0] is ignored. It returns the exit status.
int HelperMain(core::HelperKind kind, int argc, char** argv);

}  // namespace certgate

#endif  // CERTGATE_HELPER_MAIN_HELPER_MAIN_H_
