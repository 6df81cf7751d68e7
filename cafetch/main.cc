// cafetch: keeps sshd's trusted user CA keys current. See cafetch(8).
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include "cafetch/agent.h"
#include "cafetch/config.h"
#include "cafetch/daemon.h"
#include "cafetch/reload.h"
#include "core/log.h"
#include "core/option_reader.h"
#include "core/standard_fds.h"

namespace {

using certgate::cafetch::Config;
using certgate::core::LogRecord;
using certgate::core::LogSink;
using certgate::core::Priority;

constexpr char kUsage[] =
    "usage: cafetch [--config PATH] [--verbose] (--once | --dry-run | --daemon)\n"
    "       cafetch --help | --version\n"
    "  --once      fetch and apply once; last line 'unchanged' or 'changed: ...'\n"
    "  --dry-run   fetch and verify, print the diff of every file it would change\n"
    "  --daemon    run every interval +- jitter (systemd Type=notify)\n"
    "  --config    configuration file (default /etc/certgate/cafetch.yaml)\n"
    "  --verbose   also log to stderr, including debug messages\n"
    "Exit status: 0 success, 1 failure (nothing changed unless the message says otherwise),\n"
    "2 usage.\n";

// FilterSink drops debug records unless --verbose.
class FilterSink : public LogSink {
 public:
  FilterSink(LogSink* next, bool verbose) : next_(next), verbose_(verbose) {}
  void Write(const LogRecord& record) override {
    if (record.priority == Priority::kDebug && !verbose_) return;
    next_->Write(record);
  }

 private:
  LogSink* next_;
  bool verbose_;
};

enum class Mode { kNone, kOnce, kDryRun, kDaemon };

bool WriteStdout(const std::string& text) {
  if (fwrite(text.data(), 1, text.size(), stdout) != text.size()) return false;
  return fflush(stdout) == 0;
}

// Fail logs |what| and says it on stderr too, unless |verbose| already
// copied the record there or stderr is the journal itself. Returns 1.
int Fail(LogSink* log, bool verbose, const std::string& what) {
  LogRecord record;
  record.priority = Priority::kErr;
  record.message = what;
  record.fields.emplace_back("CERTGATE_EVENT", "error");
  log->Write(record);
  if (!verbose && !certgate::core::StderrIsJournal()) std::fprintf(stderr, "cafetch: %s\n", what.c_str());
  return 1;
}

// UsageError says what is wrong with the command line in one line on
// stderr and returns 2.
int UsageError(const std::string& what) {
  std::fprintf(stderr, "cafetch: %s (see cafetch --help)\n", what.c_str());
  return 2;
}

int Main(int argc, char** argv) {
  Mode mode = Mode::kNone;
  bool verbose = false;
  bool config_given = false;
  std::string config_path = certgate::cafetch::kDefaultConfigPath;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    Mode next = Mode::kNone;
    if (arg == "--help" || arg == "--version") {
      // Alone, as the helpers take them: "--version --once" is a mistake.
      if (argc != 2) return UsageError(std::string(arg) + " takes no other arguments");
      if (arg == "--version") {
        std::printf("cafetch (certgate) %s\n", CERTGATE_VERSION);
      } else {
        std::fputs(kUsage, stdout);
      }
      return 0;
    } else if (arg == "--verbose") {
      verbose = true;
    } else if (arg == "--config" || arg.substr(0, 9) == "--config=") {
      if (config_given) return UsageError("--config is given twice; give it once");
      config_given = true;
      if (arg == "--config") {
        if (i + 1 >= argc) return UsageError("--config needs a PATH");
        if (std::optional<std::string> forgotten = certgate::core::ForgottenValue("--config", "a PATH", argv[i + 1])) {
          return UsageError(certgate::core::EscapeControls(*forgotten));
        }
        config_path = argv[++i];
      } else {
        config_path = std::string(arg.substr(9));
      }
      if (config_path.empty()) return UsageError("--config needs a PATH");
    } else if (arg == "--once") {
      next = Mode::kOnce;
    } else if (arg == "--dry-run") {
      next = Mode::kDryRun;
    } else if (arg == "--daemon") {
      next = Mode::kDaemon;
    } else if (arg.empty() || arg.front() != '-') {
      return UsageError("unexpected argument '" + certgate::core::EscapeForLog(arg) +
                        "': cafetch takes options only");
    } else if (arg.size() > 1 && arg[1] != '-') {
      // As the helpers say it: no single-dash options, not even -h.
      return UsageError("unknown option '" + certgate::core::EscapeForLog(arg) + "' (options start with --)");
    } else {
      return UsageError("unknown option '" + certgate::core::EscapeForLog(arg) + "'");
    }
    if (next != Mode::kNone) {
      if (mode != Mode::kNone && mode != next) return UsageError("give only one of --once, --dry-run and --daemon");
      mode = next;
    }
  }
  if (mode == Mode::kNone) return UsageError("give one of --once, --dry-run and --daemon");

  // Files cafetch writes are root's and world-readable; keep group/other
  // write off whatever umask we were started with.
  umask(022);
  certgate::core::SystemLogSink system_log("cafetch", verbose);
  FilterSink log(&system_log, verbose);
  const char* bus = std::getenv(certgate::cafetch::kBusAddressEnv);
  struct stat st;
  const bool systemd_running = stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);

  if (mode == Mode::kDaemon) {
    certgate::cafetch::DaemonOptions options;
    options.config_path = config_path;
    options.bus_address = bus != nullptr ? bus : "";
    options.systemd_running = systemd_running;
    // --verbose already copies every record to stderr; a journal stream
    // already has them. Anywhere else (a terminal, a pipe to runit's or
    // docker's log, a file, a system without journal and syslog) the
    // reason cafetch does not start is said there.
    options.start_errors_to_stderr = !verbose && !certgate::core::StderrIsJournal();
    return certgate::cafetch::RunDaemon(options, &log);
  }

  certgate::cafetch::ConfigLoadResult loaded = certgate::cafetch::LoadConfig(config_path);
  if (!loaded.config) {
    // Said on stderr where the log records are not (Fail's rule); --dry-run
    // changes nothing whatever happens, so it does not say so.
    certgate::cafetch::ReportConfigIssues(loaded.issues, &log, !verbose && !certgate::core::StderrIsJournal());
    return Fail(&log, verbose,
                "configuration " + certgate::core::EscapeForLog(config_path) + " not loaded" +
                    (mode == Mode::kDryRun ? "" : ": nothing changed"));
  }
  certgate::cafetch::RunOptions run;
  run.dry_run = mode == Mode::kDryRun;
  run.now = static_cast<int64_t>(time(nullptr));
  run.bus_address = bus != nullptr ? bus : "";
  run.systemd_running = systemd_running;
  certgate::core::Result<certgate::cafetch::RunOutcome> outcome =
      certgate::cafetch::RunOnce(*loaded.config, run, &log);
  if (!outcome) {
    return Fail(&log, verbose, std::string(certgate::core::ErrcName(outcome.error().code)) + ": " +
                          outcome.error().detail +
                          (run.dry_run ? "" : " (" + certgate::cafetch::FailureOutcome(outcome.error()) + ")"));
  }
  std::string text;
  if (run.dry_run) {
    text = outcome->diff;
    std::string summary = outcome->Summary();
    if (summary.rfind("changed: ", 0) == 0) summary = "would change: " + summary.substr(9);
    text += summary + "\n";
  } else {
    if (!outcome->reload.empty()) text += outcome->reload + "\n";
    text += outcome->Summary() + "\n";
  }
  if (!WriteStdout(text)) return Fail(&log, verbose, "cannot write to stdout");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything is opened: a file cafetch writes must not get a closed
  // fd 1 or 2 and receive what is printed or logged to stderr.
  if (certgate::core::OpenStandardFds() < 0) return 1;
  try {
    return Main(argc, argv);
  } catch (...) {
    std::fputs("cafetch: internal error\n", stderr);
    return 1;
  }
}
