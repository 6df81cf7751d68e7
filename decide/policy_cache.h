// The service's resident policy: loaded once with the full loader (or
// read from a current policy snapshot, see UseSnapshot), handed
// to every request, and re-validated before every request by stat()ing
// every file and directory the loader reads.
#ifndef CERTGATE_DECIDE_POLICY_CACHE_H_
#define CERTGATE_DECIDE_POLICY_CACHE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/helper_command.h"
#include "core/policy_loader.h"
#include "core/policy_stamps.h"

namespace certgate::decide {

// PolicyCache keeps LoadCompiledPolicy(path, options)'s result for one path.
class PolicyCache : public core::PolicySource {
 public:
  // |racy_seconds| is kRacySeconds but for tests (negative: never racy).
  PolicyCache(std::string path, core::LoadOptions options, int64_t racy_seconds = core::kRacySeconds);

  // RefreshResult says what Refresh did.
  enum class RefreshResult {
    kCurrent,     // every stamp equal, last load not racy: nothing read
    kReloaded,    // first load, or a stamp differed: reloaded
    kRacyReload,  // stamps equal but the last load was racy: reloaded
  };

  // Refresh makes the cache current: it stats every stamped path and
  // reloads if any stamp differs or the last load was racy (a change time
  // within core::RacyWindowNs of the load, or one ahead of the clock that
  // the clock has come near since). Call it before every request.
  RefreshResult Refresh();

  // UseSnapshot makes every load try the policy snapshot at |snapshot_path|
  // first (policy_snapshot.h: read into the service's own memory when it
  // is current), and
  // read the YAML only if it is not. Empty: always the YAML.
  void UseSnapshot(std::string snapshot_path) { snapshot_path_ = std::move(snapshot_path); }
  // from_snapshot says whether the current policy came from the snapshot.
  bool from_snapshot() const { return from_snapshot_; }
  // snapshot_not_used is, after a load that read the YAML although a
  // snapshot was there, why not and what to do (SnapshotNotUsedMessage);
  // else empty.
  const std::string& snapshot_not_used() const { return snapshot_not_used_; }
  const std::string& snapshot_path() const { return snapshot_path_; }

  // Get returns the cached result for the cached path and options (after a
  // Refresh first if RefreshAtNextGet was called); for any other path it
  // loads that path afresh (like the in-process helper).
  const core::LoadedPolicy& Get(const std::string& path, const core::LoadOptions& options) override;

  // RefreshAtNextGet makes the next Get of the cached path Refresh first: a
  // worker re-validates its policy inside the request's run, so that a
  // reload of a policy that grew too large is bounded by the request's
  // --timeout (stage kLoadingPolicy) like any in-process load.
  void RefreshAtNextGet() { refresh_at_get_ = true; }

  // current returns the cached result (as of the last Refresh).
  const core::LoadedPolicy& current() const { return result_; }
  const std::string& path() const { return path_; }
  // ahead_path returns a policy path whose timestamp was ahead of the clock
  // (by ahead_ns) at the last load (a clock stepped back, touch -d), or "".
  // Such a load is trusted until the clock nears that time.
  const std::string& ahead_path() const { return ahead_path_; }
  int64_t ahead_ns() const { return ahead_ns_; }
  // loads counts the loads done, for tests and logs.
  uint64_t loads() const { return loads_; }

 private:
  void Load();
  // PathIsSafe returns true if every directory from / to the policy's
  // passes the loader's check (core::OpenSafeDirectory).
  bool PathIsSafe() const;

  std::string path_;
  std::string snapshot_path_;
  core::LoadOptions options_;
  core::LoadedPolicy result_;
  std::vector<core::FileStamp> stamps_;
  int64_t racy_seconds_;
  bool racy_ = true;
  // racy_from_ns_: CLOCK_REALTIME ns from which the last load is racy (a
  // timestamp ahead of the clock that it nears), see core::Raciness.
  int64_t racy_from_ns_ = INT64_MAX;
  std::string ahead_path_;
  int64_t ahead_ns_ = 0;
  // path_safe_: PathIsSafe() at the last load. A chmod of a directory above
  // the policy moves no stamp, so Refresh compares this too.
  bool path_safe_ = false;
  bool loaded_ = false;
  bool from_snapshot_ = false;
  std::string snapshot_not_used_;
  bool refresh_at_get_ = false;
  uint64_t loads_ = 0;
  core::FreshPolicySource other_;
};

}  // namespace certgate::decide

#endif  // CERTGATE_DECIDE_POLICY_CACHE_H_
