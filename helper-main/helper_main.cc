#include "helper-main/helper_main.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "core/groups.h"
#include "core/log.h"
#include "core/watchdog.h"

namespace certgate {
namespace {

// WriteAnswer writes |data| to stdout in full; false on any error (then
// sshd must not see a partial answer: the exit status says so).
bool WriteAnswer(const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(STDOUT_FILENO, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool WantsVerbose(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--") break;
    if (a == "--verbose") return true;
  }
  return false;
}

}  // namespace

int HelperMain(core::HelperKind kind, int argc, char** argv, core::PolicySource* policies) {
  const char* program = core::HelperName(kind);
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  core::SystemLogSink log(program, WantsVerbose(args));
  try {
    core::Result<core::HelperOptions> options = core::ParseHelperArgs(kind, args);
    if (!options) {
      core::LogRecord rec;
      rec.priority = core::Priority::kErr;
      rec.message = "usage error, nothing granted: " + core::EscapeForLog(options.error().detail);
      rec.fields.emplace_back("CERTGATE_PROGRAM", program);
      rec.fields.emplace_back("CERTGATE_DECISION", "deny");
      rec.fields.emplace_back("CERTGATE_REASON", rec.message);
      log.Write(rec);
      // stderr is /dev/null under sshd; a person running the command sees it.
      if (!WantsVerbose(args)) {
        std::fprintf(stderr, "%s: %s\n", program, options.error().detail.c_str());
      }
      return 1;
    }
    // The bound: past it the decision is a denial (exit 1, nothing printed).
    core::Watchdog watchdog(options->timeout_ms, [program, verbose = options->verbose,
                                                  ms = options->timeout_ms] {
      core::SystemLogSink timeout_log(program, verbose);
      core::LogRecord rec;
      rec.priority = core::Priority::kErr;
      rec.message = "deny: decision took longer than " + std::to_string(ms / 1000) +
                    "s (a hanging NSS/group lookup?); nothing granted";
      rec.fields.emplace_back("CERTGATE_PROGRAM", program);
      rec.fields.emplace_back("CERTGATE_DECISION", "deny");
      rec.fields.emplace_back("CERTGATE_REASON", "timeout");
      timeout_log.Write(rec);
      _exit(1);
    });
    core::NssGroupResolver groups;
    core::HelperEnv env;
    env.now = static_cast<uint64_t>(std::time(nullptr));
    env.log = &log;
    env.groups = &groups;
    env.policies = policies;
    core::HelperOutput result = core::RunHelper(kind, *options, env);
    if (!watchdog.Disarm()) return 1;  // the watchdog is exiting
    if (!WriteAnswer(result.out) || fclose(stdout) != 0) return 1;
    return result.exit_code;
  } catch (...) {
    core::LogRecord rec;
    rec.priority = core::Priority::kErr;
    rec.message = "internal error, nothing granted";
    rec.fields.emplace_back("CERTGATE_PROGRAM", program);
    rec.fields.emplace_back("CERTGATE_DECISION", "deny");
    log.Write(rec);
    return 1;
  }
}

}  // namespace certgate
