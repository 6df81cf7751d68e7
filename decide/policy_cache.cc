#include "decide/policy_cache.h"

#include <malloc.h>
#include <time.h>

#include <utility>

#include "core/policy_snapshot.h"

namespace certgate::decide {
namespace {

int64_t RealtimeSeconds() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec);
}

}  // namespace

PolicyCache::PolicyCache(std::string path, core::LoadOptions options, int64_t racy_seconds)
    : path_(std::move(path)), options_(options), racy_seconds_(racy_seconds) {}

void PolicyCache::Load() {
  const int64_t start = RealtimeSeconds();
  std::vector<core::FileStamp> before = core::TakeStamps(path_);
  result_ = core::LoadedPolicy{};  // free the old policy before building the new one
  from_snapshot_ = false;
  if (!snapshot_path_.empty()) {
    core::OpenedSnapshot snapshot =
        core::OpenSnapshot(snapshot_path_, path_, options_, racy_seconds_ < 0 ? -1 : core::kRacySeconds);
    if (snapshot.state == core::SnapshotState::kUsed) {
      result_.policy = std::move(snapshot.policy);
      from_snapshot_ = true;
    }
  }
  if (!from_snapshot_) result_ = core::LoadCompiledPolicy(path_, options_);
  std::vector<core::FileStamp> after = core::TakeStamps(path_);
  // A change while we read (before != after), or a timestamp so recent that
  // a later change could leave it equal, makes this load good for the
  // current request only.
  racy_ = before != after || core::AnyRacy(after, start, racy_seconds_);
  stamps_ = std::move(after);
  loaded_ = true;
  ++loads_;
  // The YAML parse leaves freed heap behind; give it back to the system so
  // the resident service (and each forked request) stays small.
  malloc_trim(0);
}

PolicyCache::RefreshResult PolicyCache::Refresh() {
  const bool same = loaded_ && core::TakeStamps(path_) == stamps_;
  if (same && !racy_) return RefreshResult::kCurrent;
  Load();
  return same ? RefreshResult::kRacyReload : RefreshResult::kReloaded;
}

const core::LoadedPolicy& PolicyCache::Get(const std::string& path, const core::LoadOptions& options) {
  if (refresh_at_get_ && path == path_) {
    refresh_at_get_ = false;
    (void)Refresh();
  }
  if (loaded_ && path == path_ && options.check_permissions == options_.check_permissions &&
      options.owner_uid == options_.owner_uid) {
    return result_;
  }
  return other_.Get(path, options);
}

}  // namespace certgate::decide
