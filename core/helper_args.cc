#include "core/helper_args.h"

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/helper_value_options.h"
#include "core/option_reader.h"
#include "core/policy_loader.h"
#include "core/policy_snapshot.h"

namespace certgate::core {
namespace {

// Flag sets *out for a flag option, which takes no "=VALUE".
Status Flag(const OptionReader& reader, bool* out) {
  if (Status st = reader.Flag(); !st) return st;
  *out = true;
  return Ok();
}

}  // namespace

const char* HelperName(HelperKind kind) {
  return kind == HelperKind::kPrincipals ? "principals-cmd" : "keys-cmd";
}

std::string HelperUsage(HelperKind kind) {
  const std::string name = HelperName(kind);
  const bool principals = kind == HelperKind::kPrincipals;
  std::string usage =
      "Usage: " + name + " [--policy PATH] [--verbose] [--timeout SECONDS] [--socket PATH]\n"
      "       " + std::string(name.size(), ' ') + " [--snapshot PATH] USER KEYTYPE KEY\n"
      "       " + name + " --explain --user NAME [--policy PATH] [--at EPOCH] " +
      (principals ? "CERT-FILE\n" : "KEY-OR-CERT-FILE\n") +
      "       " + name + " --check [--policy PATH]\n"
      "       " + name + " --compile [--policy PATH] [--snapshot PATH]\n"
      "       " + name + " --help | --version\n\n";
  if (principals) {
    usage +=
        "sshd's AuthorizedPrincipalsCommand: decide whether the OpenSSH user certificate KEY\n"
        "(base64, of type KEYTYPE) may log in as USER under the certgate policy, and print the\n"
        "granted principals, one per line. sshd_config:\n"
        "  AuthorizedPrincipalsCommand /usr/libexec/certgate/principals-cmd %u %t %k\n"
        "  AuthorizedPrincipalsCommandUser certgate\n\n";
  } else {
    usage +=
        "sshd's AuthorizedKeysCommand: for a certificate, print cert-authority,principals=\"...\"\n"
        "lines naming its CA when the certgate policy grants it for USER; for a plain key, print\n"
        "every user_keys line of the rules for USER (not those the KRL revokes). sshd_config:\n"
        "  AuthorizedKeysCommand /usr/libexec/certgate/keys-cmd %u %t %k\n"
        "  AuthorizedKeysCommandUser certgate\n\n";
  }
  usage +=
      "Options:\n"
      "  --policy PATH     policy file (default " + std::string(kDefaultPolicyPath) + ");\n"
      "                    fragments are read from PATH.d/*.yaml (default /etc/certgate/policy.d)\n"
      "  --verbose         also write the log records to stderr\n"
      "  --timeout SECONDS deny if the decision takes longer (default 5)\n"
      "  --socket PATH     the certgate-decide service (default /run/certgate/decide.sock);\n"
      "                    without a trusted service the decision runs in-process\n"
      "  --explain         explain the decision for --user NAME, rule by rule\n"
      "  --at EPOCH        with --explain: decide as if the time were EPOCH (seconds)\n"
      "  --check           check the policy; print ok or FILE:LINE:COLUMN: message lines\n"
      "  --compile         check and compile the policy into the snapshot (run as root;\n"
      "                    certgate-compile.path does it whenever the policy changes)\n"
      "  --snapshot PATH   policy snapshot (default " + std::string(kDefaultSnapshotPath) + "):\n"
      "                    an in-process decision maps it instead of reading the YAML\n"
      "                    when it is root-owned and every policy file is unchanged;\n"
      "                    none: always the YAML\n"
      "  --help, --version\n\n"
      "Exit status: 0 the policy was read, whatever the decision (nothing printed means\n"
      "denied); 1 usage error, unusable policy, timeout or output error, nothing printed.\n"
      "With --explain: 0 allowed, 1 denied. With --check and --compile: 0 valid (and\n"
      "written), 1 invalid or not written.\n"
      "See " + name + "(8) and certgate-policy(5).\n";
  return usage;
}

namespace {

// SshdTokensAt is where sshd's "%u %t %k" begin when %u looks like an
// option (IsLoginNameLikeAnOption), or args.size() otherwise.
size_t SshdTokensAt(const std::vector<std::string>& args) {
  if (args.size() >= 3 && IsLoginNameLikeAnOption(args[args.size() - 3].c_str(), args[args.size() - 2].c_str())) {
    return args.size() - 3;
  }
  return args.size();
}

}  // namespace

std::string LoginNameInArgs(const std::vector<std::string>& args) {
  const size_t tokens_at = SshdTokensAt(args);
  std::string user;
  bool options = true;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (i == tokens_at) options = false;  // sshd's %u, which looks like an option
    if (options && arg == "--") {
      options = false;
      continue;
    }
    if (!options || !arg.starts_with("--")) {
      if (user.empty()) user = arg;
      options = false;
      continue;
    }
    const std::string_view name = arg.substr(0, arg.find('='));
    if (name == "--explain" || name == "--check" || name == "--compile") return "";
    const bool takes_value = std::ranges::find(kHelperValueOptions, name) != std::end(kHelperValueOptions);
    if (takes_value && name.size() == arg.size()) ++i;
  }
  return user;
}

namespace {

// StrayOption returns the usage error for the first of |positional| that
// looks like an option, when the positional arguments did not add up: an
// option after them, or one with a single dash. After "--" (|after_dash_dash|)
// none is an option.
std::optional<Error> StrayOption(const std::vector<std::string>& positional, bool after_dash_dash) {
  if (after_dash_dash) return std::nullopt;
  for (const std::string& arg : positional) {
    if (arg.size() < 2 || arg[0] != '-') continue;
    if (arg[1] == '-') {
      return Error{Errc::kUsage, "option " + arg + " after a positional argument: options come first"};
    }
    return Error{Errc::kUsage, "unknown option " + arg + " (options start with --; see --help)"};
  }
  return std::nullopt;
}

}  // namespace

Result<HelperOptions> ParseHelperArgs(HelperKind kind, const std::vector<std::string>& args) {
  (void)kind;
  HelperOptions o;
  o.policy_path = kDefaultPolicyPath;
  o.snapshot_path = kDefaultSnapshotPath;
  bool explain = false, check = false, compile = false, help = false, version = false;
  std::optional<uint64_t> timeout_seconds;
  // Options are read up to sshd's tokens when %u looks like one.
  OptionReader reader(std::span<const std::string>(args).first(SshdTokensAt(args)));
  while (reader.Next()) {
    const std::string_view name = reader.name();
    Status st;
    if (name == "--policy") {
      st = reader.Value(&o.policy_path, "a path");
      o.policy_path_given = true;
      if (st && o.policy_path.empty()) return Fail(Errc::kUsage, "--policy needs a path");
    } else if (name == "--snapshot") {
      st = reader.AbsolutePathValue(&o.snapshot_path, /*none_allowed=*/true);  // none: always the YAML
      o.snapshot_path_given = true;
    } else if (name == "--compile") {
      st = Flag(reader, &compile);
    } else if (name == "--verbose") {
      st = Flag(reader, &o.verbose);
    } else if (name == "--timeout") {
      Result<uint64_t> t = reader.UnsignedValue(1, 3600, "seconds");
      if (!t) return Unexpected{t.error()};
      timeout_seconds = *t;
    } else if (name == "--explain") {
      st = Flag(reader, &explain);
    } else if (name == "--check") {
      st = Flag(reader, &check);
    } else if (name == "--user") {
      st = reader.Value(&o.explain_user, "a login name");
      if (st && o.explain_user.empty()) return Fail(Errc::kUsage, "--user needs a login name");
    } else if (name == "--at") {
      std::string text;
      st = reader.Value(&text, "a time in seconds since the epoch");
      if (st) {
        Result<uint64_t> t = ParseUnsigned("--at", text);
        if (!t) return Unexpected{t.error()};
        o.explain_at = *t;
      }
    } else if (name == "--help") {
      st = Flag(reader, &help);
    } else if (name == "--version") {
      st = Flag(reader, &version);
    } else {
      return Fail(Errc::kUsage, "unknown option " + std::string(name) + " (see --help)");
    }
    if (!st) return Unexpected{st.error()};
  }
  size_t i = reader.position();
  // After "--" every argument is positional, whatever it looks like.
  const bool dash_dash = i < args.size() && args[i] == "--";
  if (dash_dash) ++i;
  std::vector<std::string> positional(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (timeout_seconds) o.timeout_ms = *timeout_seconds * 1000;

  if (help || version) {
    if (!positional.empty() || explain || check || compile) {
      return Fail(Errc::kUsage, "--help and --version take no other arguments");
    }
    o.mode = help ? HelperMode::kHelp : HelperMode::kVersion;
    return o;
  }
  if (int{explain} + int{check} + int{compile} > 1) {
    return Fail(Errc::kUsage, "--explain, --check and --compile exclude each other");
  }
  if (!explain && (!o.explain_user.empty() || o.explain_at)) {
    return Fail(Errc::kUsage, "--user and --at go with --explain");
  }
  if (check) {
    if (!positional.empty()) return Fail(Errc::kUsage, "--check takes no positional arguments");
    o.mode = HelperMode::kCheck;
    return o;
  }
  if (compile) {
    if (!positional.empty()) return Fail(Errc::kUsage, "--compile takes no positional arguments");
    if (o.snapshot_path.empty()) return Fail(Errc::kUsage, "--compile needs a --snapshot path, not none");
    if (!timeout_seconds) o.timeout_ms = 0;
    o.mode = HelperMode::kCompile;
    return o;
  }
  if (explain) {
    if (o.explain_user.empty()) return Fail(Errc::kUsage, "--explain needs --user NAME");
    if (positional.size() != 1) {
      if (std::optional<Error> stray = StrayOption(positional, dash_dash)) return Unexpected{*stray};
      return Fail(Errc::kUsage, "--explain needs exactly one certificate file");
    }
    o.explain_file = positional[0];
    o.mode = HelperMode::kExplain;
    return o;
  }
  if (positional.size() != 3) {
    if (std::optional<Error> stray = StrayOption(positional, dash_dash)) return Unexpected{*stray};
    return Fail(Errc::kUsage, "expected 3 arguments USER KEYTYPE KEY (sshd: %u %t %k), got " +
                                  std::to_string(positional.size()));
  }
  o.user = positional[0];
  o.key_type = positional[1];
  o.key_base64 = positional[2];
  if (o.user.empty()) return Fail(Errc::kUsage, "USER is empty");
  o.mode = HelperMode::kSshd;
  return o;
}

}  // namespace certgate::core
