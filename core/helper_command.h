// The whole behaviour of principals-cmd and keys-cmd, minus the process
// plumbing that stays in each main(): parse, load, decide, format, log.
#ifndef CERTGATE_CORE_HELPER_COMMAND_H_
#define CERTGATE_CORE_HELPER_COMMAND_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/groups.h"
#include "core/helper_args.h"
#include "core/log.h"
#include "core/policy_loader.h"
#include "core/signature.h"

namespace certgate::core {

// PolicySource hands RunHelper the policy of a path. The in-process helper
// loads it (FreshPolicySource); certgate-decide hands out the policy it keeps
// loaded and re-validated (decide/policy_cache.h).
class PolicySource {
 public:
  virtual ~PolicySource() = default;
  // Get returns what LoadCompiledPolicy(|path|, |options|) returns now.
  // The reference stays valid until the next Get or the source's
  // destruction.
  virtual const LoadedPolicy& Get(const std::string& path, const LoadOptions& options) = 0;
};

// FreshPolicySource calls LoadCompiledPolicy at every Get, unless a policy
// snapshot (policy_snapshot.h) may stand in for it: then it maps that.
class FreshPolicySource : public PolicySource {
 public:
  FreshPolicySource() = default;
  // |snapshot_path|: the snapshot to try first (empty: none). A snapshot
  // used is logged to |log| (if set) at debug priority; one that exists but
  // is not used at notice, unless it is the default one and belongs to
  // another policy (|snapshot_given| false).
  FreshPolicySource(std::string snapshot_path, bool snapshot_given, LogSink* log)
      : snapshot_path_(std::move(snapshot_path)), snapshot_given_(snapshot_given), log_(log) {}

  const LoadedPolicy& Get(const std::string& path, const LoadOptions& options) override;

 private:
  std::string snapshot_path_;
  bool snapshot_given_ = false;
  LogSink* log_ = nullptr;
  LoadedPolicy last_;
};

// HelperStage is how far a run got: the watchdog of main() says in its log
// line whether the policy load or the decision (group lookups) ran late.
enum class HelperStage { kStarting, kLoadingPolicy, kDeciding };

// HelperEnv is what the process gives the command: the time, where logs go,
// how groups are resolved and how files are checked.
struct HelperEnv {
  uint64_t now = 0;
  LogSink* log = nullptr;
  GroupResolver* groups = nullptr;
  LoadOptions load;
  // policies: where the policy comes from; null means LoadPolicy each time.
  PolicySource* policies = nullptr;
  // stage, if set, is updated as the run goes (read by another thread).
  std::atomic<HelperStage>* stage = nullptr;
  // signatures, if set, remembers certificates whose signature verified
  // (the service shares one among its workers; see SignatureMemo).
  SignatureMemo* signatures = nullptr;
};

// kMaxSshdAnswer bounds what one sshd-mode run prints (4 MiB: the
// certgate-decide service carries no more, see decide/protocol.h). A run
// whose answer would be larger denies with the limit in its log record and
// prints nothing, in-process and through the service alike.
inline constexpr size_t kMaxSshdAnswer = 4 * 1024 * 1024;

// HelperOutput is what main() writes: |out| to stdout in one write, then
// exits with |exit_code|. On exit_code != 0 in sshd mode |out| is empty.
struct HelperOutput {
  int exit_code = 1;
  std::string out;
  std::string err;  // for a person (--check's warnings), never for sshd
};

// RunHelper runs |options| (already parsed) for |kind|. It never throws on
// bad input; every sshd-mode run writes exactly one log record.
HelperOutput RunHelper(HelperKind kind, const HelperOptions& options, HelperEnv& env);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_HELPER_COMMAND_H_
