// Process plumbing shared by principals-cmd and keys-cmd: argv, clock,
// logging, the run-time bound, one write of the answer, exit status.
#ifndef CERTGATE_HELPER_MAIN_HELPER_MAIN_H_
#define CERTGATE_HELPER_MAIN_HELPER_MAIN_H_

#include "core/helper_args.h"
#include "core/helper_command.h"

namespace certgate {

// HelperMain is the whole main() of a helper; it returns the exit status
// (or _exit(1)s from the watchdog thread when the decision takes too long).
// It is the one code path of every decision: run in-process
// (`certgate-decide --run KIND ARGS`, the clients' fallback) and in each
// request child of the certgate-decide service, which passes |policies|, its
// pre-loaded and re-validated policy. Null |policies|: LoadPolicy as usual.
// argv[0] is ignored; the answer goes to STDOUT_FILENO in one write.
int HelperMain(core::HelperKind kind, int argc, char** argv,
               core::PolicySource* policies = nullptr);

}  // namespace certgate

#endif  // CERTGATE_HELPER_MAIN_HELPER_MAIN_H_
