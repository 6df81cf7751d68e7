// Fuzzes the helpers' argument handling: NUL-separated argv for both
// principals-cmd and keys-cmd. A parse that succeeds in sshd mode must have
// exactly the three positional arguments, and the login name a usage error
// would be logged with (LoginNameInArgs) must be that same user.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/helper_args.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args(1);
  for (size_t i = 0; i < size && args.size() < 64; ++i) {
    if (data[i] == 0) {
      args.emplace_back();
    } else {
      args.back().push_back(static_cast<char>(data[i]));
    }
  }
  for (auto kind : {certgate::core::HelperKind::kPrincipals, certgate::core::HelperKind::kKeys}) {
    auto o = certgate::core::ParseHelperArgs(kind, args);
    if (o && o->mode == certgate::core::HelperMode::kSshd && o->user.empty()) __builtin_trap();
    if (o && o->mode == certgate::core::HelperMode::kSshd && certgate::core::LoginNameInArgs(args) != o->user) {
      __builtin_trap();
    }
  }
  return 0;
}
