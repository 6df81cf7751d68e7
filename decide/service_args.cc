#include "decide/service_args.h"

#include <cstdint>
#include <string_view>

#include "core/option_reader.h"
#include "core/policy_loader.h"
#include "core/policy_snapshot.h"
#include "decide/server.h"

namespace certgate::decide {

using core::Errc;
using core::Fail;
using core::Result;
using core::Status;

Result<core::HelperKind> ParseRunKind(const char* kind) {
  if (kind == nullptr) return Fail(Errc::kUsage, "--run needs principals-cmd or keys-cmd");
  const std::string_view k = kind;
  if (k == "principals-cmd") return core::HelperKind::kPrincipals;
  if (k == "keys-cmd") return core::HelperKind::kKeys;
  return Fail(Errc::kUsage, "--run needs principals-cmd or keys-cmd, not " + std::string(k));
}

Result<ServiceArgs> ParseServiceArgs(const std::vector<std::string>& args) {
  ServiceArgs out;
  out.policy = core::kDefaultPolicyPath;
  out.snapshot = core::kDefaultSnapshotPath;
  out.max_children = kDefaultMaxChildren;
  if (!args.empty() && args[0] == "--run") {
    Result<core::HelperKind> kind = ParseRunKind(args.size() > 1 ? args[1].c_str() : nullptr);
    if (!kind) return core::Unexpected{kind.error()};
    out.action = ServiceArgs::Action::kRun;
    out.run_kind = *kind;
    return out;
  }
  core::OptionReader reader(args);
  while (reader.Next()) {
    const std::string_view name = reader.name();
    Status st;
    if (name == "--help" || name == "--version") {
      if (st = reader.Flag(); !st) return core::Unexpected{st.error()};
      out.action = name == "--help" ? ServiceArgs::Action::kHelp : ServiceArgs::Action::kVersion;
      return out;
    }
    if (name == "--verbose") {
      st = reader.Flag();
      out.verbose = true;
    } else if (name == "--policy") {
      st = reader.AbsolutePathValue(&out.policy);
    } else if (name == "--snapshot") {
      st = reader.AbsolutePathValue(&out.snapshot, /*none_allowed=*/true);
    } else if (name == "--socket") {
      st = reader.AbsolutePathValue(&out.socket_path);
    } else if (name == "--client-user") {
      constexpr std::string_view kWanted = "a user name or \"any\"";
      std::string user;
      st = reader.Value(&user, kWanted, /*repeatable=*/true);
      if (st && user.empty()) return Fail(Errc::kUsage, "--client-user needs " + std::string(kWanted));
      if (st) out.client_users.push_back(user);
    } else if (name == "--max-children") {
      Result<uint64_t> n = reader.UnsignedValue(1, kMaxMaxChildren);
      if (!n) return core::Unexpected{n.error()};
      out.max_children = static_cast<size_t>(*n);
    } else if (name == "--run") {
      return Fail(Errc::kUsage,
                  "--run must come first: certgate-decide --run principals-cmd|keys-cmd [HELPER-ARGS...]");
    } else {
      return Fail(Errc::kUsage, "unknown argument " + std::string(reader.word()));
    }
    if (!st) return core::Unexpected{st.error()};
  }
  if (reader.position() < args.size()) return Fail(Errc::kUsage, "unknown argument " + args[reader.position()]);
  return out;
}

}  // namespace certgate::decide
