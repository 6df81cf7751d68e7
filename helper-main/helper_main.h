// Process plumbing shared by principals-cmd and keys-cmd: argv, clock,
// logging, the run-time bound, one write of the answer, exit status.
#ifndef CERTGATE_HELPER_MAIN_HELPER_MAIN_H_
#define CERTGATE_HELPER_MAIN_HELPER_MAIN_H_

#include "core/helper_args.h"

namespace certgate {

// HelperMain is the whole main() of a helper; it returns the exit status
// (or _exit(1)s from the watchdog thread when the decision takes too long).
int HelperMain(core::HelperKind kind, int argc, char** argv);

}  // namespace certgate

#endif  // CERTGATE_HELPER_MAIN_HELPER_MAIN_H_
