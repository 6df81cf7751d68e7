// Command lines of the sshd helpers (principals-cmd, keys-cmd): parsed into
// HelperOptions, with usage text kept beside the parser so --help stays true.
#ifndef CERTGATE_CORE_HELPER_ARGS_H_
#define CERTGATE_CORE_HELPER_ARGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace certgate::core {

// HelperKind selects which sshd helper is running.
enum class HelperKind { kPrincipals, kKeys };

// HelperMode is what the command line asks for.
enum class HelperMode { kSshd, kExplain, kCheck, kCompile, kHelp, kVersion };

// kDefaultTimeoutMs bounds one helper run (NSS lookups can hang; sshd has
// no timeout of its own but LoginGraceTime).
inline constexpr uint64_t kDefaultTimeoutMs = 5000;

// HelperOptions is a parsed command line.
struct HelperOptions {
  HelperMode mode = HelperMode::kSshd;
  std::string policy_path;   // default kDefaultPolicyPath
  bool policy_path_given = false;
  // The policy snapshot (policy_snapshot.h) that --compile writes and the
  // in-process decision maps; default kDefaultSnapshotPath.
  std::string snapshot_path;
  bool snapshot_path_given = false;
  bool verbose = false;
  // The bound of the run (--timeout); 0: none, --compile's default, since
  // compiling is what lets a policy too large to read in time be decided.
  uint64_t timeout_ms = kDefaultTimeoutMs;
  // kSshd: sshd's %u %t %k.
  std::string user;
  std::string key_type;
  std::string key_base64;
  // kExplain: --user NAME and the certificate (or key) file; --at TIME
  // evaluates at another moment (seconds since the epoch).
  std::string explain_user;
  std::string explain_file;
  std::optional<uint64_t> explain_at;
};

// ParseHelperArgs parses |args| (without argv[0]). Options start with "--"
// and come before the positional arguments; "--name=value" and
// "--name value" are both accepted; "--" ends options. Returns kUsage with
// a one-line reason for anything unknown, missing or extra.
Result<HelperOptions> ParseHelperArgs(HelperKind kind, const std::vector<std::string>& args);

// LoginNameInArgs returns sshd's %u from |args| that may not parse: the
// first positional argument, with the values of the options that take one
// skipped as ParseHelperArgs (and the client's --socket) would; "" if there
// is none or the run is --explain, --check or --compile. For the log of a
// usage error only.
std::string LoginNameInArgs(const std::vector<std::string>& args);

// HelperName returns "principals-cmd" or "keys-cmd".
const char* HelperName(HelperKind kind);

// HelperUsage returns the --help text.
std::string HelperUsage(HelperKind kind);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_HELPER_ARGS_H_
