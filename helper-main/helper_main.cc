#include "helper-main/helper_main.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "core/groups.h"
#include "core/log.h"
#include "core/standard_fds.h"
#include "core/watchdog.h"

namespace certgate {
namespace {

// WriteAll writes |data| to |fd| in full; false on any error (then sshd
// must not see a partial answer: the exit status says so).
bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// OnTimeout is the watchdog's callback: one log record saying what ran late
// (the policy load, the decision: NSS group lookups, or a --compile given
// a --timeout), and for a person running --check, --explain or --compile
// the same on stderr (and --check's one FILE:LINE:COLUMN line on stdout).
// The caller then _exit()s.
void OnTimeout(core::HelperKind kind, const core::HelperOptions& o, core::HelperStage stage) {
  const char* program = core::HelperName(kind);
  const std::string seconds = std::to_string(o.timeout_ms / 1000) + "s";
  core::LogRecord rec;
  rec.priority = core::Priority::kErr;
  if (o.mode == core::HelperMode::kCompile) {
    rec.message = "the policy " + o.policy_path + " was not compiled within " + seconds +
                  " (--timeout); run --compile without --timeout";
  } else if (stage == core::HelperStage::kLoadingPolicy) {
    rec.message = "deny: loading the policy " + o.policy_path + " took longer than " + seconds +
                  " (--timeout); nothing granted: the policy is too large to decide in time, "
                  "shrink it (see certgate-policy(5), LIMITS)";
  } else {
    rec.message = "deny: decision took longer than " + seconds +
                  " (a hanging NSS/group lookup?); nothing granted";
  }
  rec.fields.emplace_back("CERTGATE_PROGRAM", program);
  if (o.mode != core::HelperMode::kCompile) {  // which decides nothing
    rec.fields.emplace_back("CERTGATE_DECISION", "deny");
    rec.fields.emplace_back("CERTGATE_REASON", "timeout");
  }
  core::SystemLogSink log(program, o.verbose);
  log.Write(rec);
  if (o.mode == core::HelperMode::kCheck) {
    (void)WriteAll(STDOUT_FILENO, o.policy_path + ":1:1: not loaded within " + seconds +
                                      ", the bound of every decision (--timeout): every login "
                                      "would be denied; shrink the policy\n");
  }
  if (!o.verbose && o.mode != core::HelperMode::kSshd) {
    (void)WriteAll(STDERR_FILENO, std::string(program) + ": " + rec.message + "\n");
  }
}

// LogRunError writes the record of a run that failed for a reason of its
// own, which grants nothing: |reason| says what; |user| is the login
// name, or empty when there is none. The same record as the client's
// (decide/client.cc: LogClientDenial).
void LogRunError(core::HelperKind kind, core::LogSink* log, const std::string& user, const std::string& reason) {
  core::LogRecord rec;
  rec.priority = core::Priority::kErr;
  rec.message = "deny" + (user.empty() ? "" : " " + core::EscapeForLog(user)) + ": " + core::EscapeForLog(reason);
  rec.fields.emplace_back("CERTGATE_PROGRAM", core::HelperName(kind));
  rec.fields.emplace_back("CERTGATE_DECISION", "deny");
  if (!user.empty()) rec.fields.emplace_back("CERTGATE_USER", core::EscapeForLog(user));
  rec.fields.emplace_back("CERTGATE_REASON", core::EscapeForLog(reason));
  log->Write(rec);
}

// LogInternalError: out of memory, a bug.
void LogInternalError(core::HelperKind kind, core::LogSink* log) {
  LogRunError(kind, log, "", "internal error, nothing granted");
}

}  // namespace

bool WantsVerbose(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--") break;
    if (a == "--verbose") return true;
  }
  return false;
}

HelperAnswer UsageErrorAnswer(core::HelperKind kind, const std::vector<std::string>& args,
                              const std::string& detail, bool verbose, core::LogSink* log) {
  const char* program = core::HelperName(kind);
  core::LogRecord rec;
  rec.priority = core::Priority::kErr;
  rec.message = "usage error, nothing granted: " + core::EscapeForLog(detail);
  rec.fields.emplace_back("CERTGATE_PROGRAM", program);
  rec.fields.emplace_back("CERTGATE_DECISION", "deny");
  if (const std::string user = core::LoginNameInArgs(args); !user.empty()) {
    rec.fields.emplace_back("CERTGATE_USER", core::EscapeForLog(user));
  }
  rec.fields.emplace_back("CERTGATE_REASON", rec.message);
  log->Write(rec);
  HelperAnswer answer;
  // stderr is /dev/null under sshd; a person running the command sees it.
  // Escaped as the log record is: an argument may hold a line break.
  if (!verbose) answer.err = std::string(program) + ": " + core::EscapeControls(detail) + "\n";
  return answer;
}

HelperAnswer DecideAnswer(core::HelperKind kind, const core::HelperOptions& options,
                          core::PolicySource* policies, core::LogSink* log,
                          std::atomic<core::HelperStage>* stage, core::SignatureMemo* signatures,
                          core::GroupCache* group_cache) {
  try {
    core::NssGroupResolver groups(group_cache);
    core::HelperEnv env;
    env.stage = stage;
    env.now = static_cast<uint64_t>(std::time(nullptr));
    env.log = log;
    env.groups = &groups;
    env.policies = policies;
    env.signatures = signatures;
    core::HelperOutput result = core::RunHelper(kind, options, env);
    HelperAnswer answer;
    answer.exit_code = result.exit_code;
    answer.out = std::move(result.out);
    answer.err = std::move(result.err);
    return answer;
  } catch (...) {
    LogInternalError(kind, log);
    return HelperAnswer{};
  }
}

namespace {

// RunHelperMain is HelperMain without its last-resort handler.
int RunHelperMain(core::HelperKind kind, int argc, char** argv) {
  const char* program = core::HelperName(kind);
  // First: the log's socket must not become a closed stdout.
  const int closed_fds = core::OpenStandardFds();
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  const bool verbose = WantsVerbose(args);
  core::SystemLogSink log(program, verbose);
  if (closed_fds < 0 || (closed_fds & core::kStdoutWasClosed) != 0) {
    const std::string why = closed_fds < 0 ? "cannot open /dev/null for a closed standard descriptor"
                                           : "started with stdout closed: no answer can be printed";
    // Logged as the client logs it (decide/client.cc): deny, login name.
    const std::string user = core::LoginNameInArgs(args);
    LogRunError(kind, &log, user, why + "; nothing granted");
    (void)WriteAll(STDERR_FILENO, std::string(program) + ": " + why + "\n");
    return 1;
  }
  core::Result<core::HelperOptions> options = core::ParseHelperArgs(kind, args);
  if (!options) {
    HelperAnswer answer = UsageErrorAnswer(kind, args, options.error().detail, verbose, &log);
    (void)WriteAll(STDERR_FILENO, answer.err);
    return answer.exit_code;
  }
  // The bound: past it the decision is a denial (exit 1, nothing printed
  // in sshd mode). |stage| outlives the watchdog, which joins its thread.
  std::atomic<core::HelperStage> stage{core::HelperStage::kStarting};
  // (timeout_ms 0, a --compile without --timeout: none.)
  core::Watchdog watchdog(options->timeout_ms, [kind, &options, &stage] {
    OnTimeout(kind, *options, stage.load());
    _exit(1);
  });
  HelperAnswer answer = DecideAnswer(kind, *options, nullptr, &log, &stage);
  if (!watchdog.Disarm()) return 1;  // the watchdog is exiting
  (void)WriteAll(STDERR_FILENO, answer.err);  // best effort, like any stderr
  if (!WriteAll(STDOUT_FILENO, answer.out) || fclose(stdout) != 0) {
    const std::string why = std::string("the answer could not be written to stdout (") + std::strerror(errno) + ")";
    if (options->mode == core::HelperMode::kSshd) {
      // The decision's own record is written: this one says sshd got nothing.
      LogRunError(kind, &log, options->user, why + "; nothing granted");
    } else {
      (void)WriteAll(STDERR_FILENO, std::string(program) + ": " + why + "\n");
    }
    return 1;
  }
  return answer.exit_code;
}

}  // namespace

int HelperMain(core::HelperKind kind, int argc, char** argv) {
  try {
    return RunHelperMain(kind, argc, argv);
  } catch (...) {
    // Out of memory while copying argv, parsing it, or starting the
    // watchdog thread: deny, and say so if the log still can.
    try {
      core::SystemLogSink log(core::HelperName(kind), false);
      LogInternalError(kind, &log);
    } catch (...) {
    }
    return 1;
  }
}

}  // namespace certgate
