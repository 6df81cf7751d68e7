// ParseServiceArgs: certgate-decide's command line (certgate-decide(8)).
#ifndef CERTGATE_DECIDE_SERVICE_ARGS_H_
#define CERTGATE_DECIDE_SERVICE_ARGS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "core/helper_args.h"
#include "core/result.h"

namespace certgate::decide {

// ServiceArgs is what the command line asks certgate-decide to do.
struct ServiceArgs {
  enum class Action { kServe, kHelp, kVersion, kRun };
  Action action = Action::kServe;
  // kRun: the helper to run in this process, with the arguments after
  // "--run KIND" (handed to HelperMain as they are).
  core::HelperKind run_kind = core::HelperKind::kPrincipals;

  std::string policy;
  std::string snapshot;     // empty: always the YAML (--snapshot none)
  std::string socket_path;  // empty: not given (the build's default)
  size_t max_children = 0;
  bool verbose = false;
  std::vector<std::string> client_users;  // empty: not given
};

// ParseServiceArgs parses |args| (argv without argv[0]). The defaults of
// --policy, --snapshot and --max-children are filled in. "--run KIND" must
// come first: what follows it belongs to the helper. An option that takes
// a value may be written "--name VALUE" or "--name=VALUE" and, except the
// repeatable --client-user, given once: which of two would be meant cannot
// be told, as for the helpers. Errors are Errc::kUsage with the reason.
core::Result<ServiceArgs> ParseServiceArgs(const std::vector<std::string>& args);

// ParseRunKind reads the word after --run (null: there is none). main()
// checks "--run KIND" on argv with it before anything else: that is the
// in-process fallback on the login path, which needs no other parsing.
core::Result<core::HelperKind> ParseRunKind(const char* kind);

}  // namespace certgate::decide

#endif  // CERTGATE_DECIDE_SERVICE_ARGS_H_
