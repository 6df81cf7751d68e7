#include "decide/service_args.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include "core/policy_loader.h"
#include "core/policy_snapshot.h"
#include "decide/server.h"

namespace certgate::decide {

using core::Errc;
using core::Fail;
using core::Result;
using core::Status;

namespace {

Result<core::HelperKind> RunKind(const std::vector<std::string>& args) {
  if (args.size() < 2) return Fail(Errc::kUsage, "--run needs principals-cmd or keys-cmd");
  if (args[1] == "principals-cmd") return core::HelperKind::kPrincipals;
  if (args[1] == "keys-cmd") return core::HelperKind::kKeys;
  return Fail(Errc::kUsage, "--run needs principals-cmd or keys-cmd, not " + args[1]);
}

}  // namespace

Result<ServiceArgs> ParseServiceArgs(const std::vector<std::string>& args) {
  ServiceArgs out;
  out.policy = core::kDefaultPolicyPath;
  out.snapshot = core::kDefaultSnapshotPath;
  out.max_children = kDefaultMaxChildren;
  if (!args.empty() && args[0] == "--run") {
    Result<core::HelperKind> kind = RunKind(args);
    if (!kind) return core::Unexpected{kind.error()};
    out.action = ServiceArgs::Action::kRun;
    out.run_kind = *kind;
    return out;
  }
  std::vector<std::string_view> given;  // options that took a value so far
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    std::string_view name = arg;
    std::optional<std::string> inline_value;
    if (arg.starts_with("--")) {
      if (size_t eq = arg.find('='); eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        inline_value = std::string(arg.substr(eq + 1));
      }
    }
    // value takes the option's value; |wanted| says what it must be.
    auto value = [&](std::string* to, std::string_view wanted, bool repeatable = false) -> Status {
      if (!repeatable && std::ranges::find(given, name) != given.end()) {
        return Fail(Errc::kUsage, std::string(name) + " is given twice; give it once");
      }
      given.push_back(name);
      if (inline_value) {
        *to = *inline_value;
      } else if (i + 1 < args.size()) {
        *to = args[++i];
      } else {
        return Fail(Errc::kUsage, std::string(name) + " needs " + std::string(wanted));
      }
      return core::Ok();
    };
    auto flag = [&]() -> Status {
      if (inline_value) return Fail(Errc::kUsage, std::string(name) + " takes no value");
      return core::Ok();
    };
    Status st;
    if (name == "--help" || name == "--version") {
      if (st = flag(); !st) return core::Unexpected{st.error()};
      out.action = name == "--help" ? ServiceArgs::Action::kHelp : ServiceArgs::Action::kVersion;
      return out;
    }
    if (name == "--verbose") {
      st = flag();
      out.verbose = true;
    } else if (name == "--policy") {
      constexpr std::string_view kWanted = "an absolute path";
      st = value(&out.policy, kWanted);
      if (st && (out.policy.empty() || out.policy.front() != '/')) {
        return Fail(Errc::kUsage, "--policy needs " + std::string(kWanted));
      }
    } else if (name == "--snapshot") {
      constexpr std::string_view kWanted = "an absolute path, or none";
      st = value(&out.snapshot, kWanted);
      if (st && out.snapshot == "none") {
        out.snapshot.clear();
      } else if (st && (out.snapshot.empty() || out.snapshot.front() != '/')) {
        return Fail(Errc::kUsage, "--snapshot needs " + std::string(kWanted));
      }
    } else if (name == "--socket") {
      constexpr std::string_view kWanted = "an absolute path";
      st = value(&out.socket_path, kWanted);
      if (st && (out.socket_path.empty() || out.socket_path.front() != '/')) {
        return Fail(Errc::kUsage, "--socket needs " + std::string(kWanted));
      }
    } else if (name == "--client-user") {
      constexpr std::string_view kWanted = "a user name or \"any\"";
      std::string user;
      st = value(&user, kWanted, /*repeatable=*/true);
      if (st && user.empty()) return Fail(Errc::kUsage, "--client-user needs " + std::string(kWanted));
      if (st) out.client_users.push_back(user);
    } else if (name == "--max-children") {
      std::string text;
      st = value(&text, "a number, 1 to " + std::to_string(kMaxMaxChildren));
      if (st) {
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out.max_children);
        if (ec != std::errc() || end != text.data() + text.size() || out.max_children == 0 ||
            out.max_children > kMaxMaxChildren) {
          return Fail(Errc::kUsage, "--max-children must be 1 to " + std::to_string(kMaxMaxChildren));
        }
      }
    } else if (name == "--run") {
      return Fail(Errc::kUsage,
                  "--run must come first: certgate-decide --run principals-cmd|keys-cmd [HELPER-ARGS...]");
    } else {
      return Fail(Errc::kUsage, "unknown argument " + std::string(arg));
    }
    if (!st) return core::Unexpected{st.error()};
  }
  return out;
}

}  // namespace certgate::decide
