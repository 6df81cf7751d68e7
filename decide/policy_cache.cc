#include "decide/policy_cache.h"

#include <malloc.h>

#include <utility>

#include "core/atomic_file.h"
#include "core/policy_snapshot.h"
#include "core/safe_directory.h"

namespace certgate::decide {

PolicyCache::PolicyCache(std::string path, core::LoadOptions options, int64_t racy_seconds)
    : path_(std::move(path)), options_(options), racy_seconds_(racy_seconds) {}

bool PolicyCache::PathIsSafe() const {
  core::UnsafeDirectory unsafe;
  return core::OpenSafeDirectory(core::ParentDirectory(path_), core::DirectoryRuleFor(options_), &unsafe)
      .valid();
}

void PolicyCache::Load() {
  const int64_t start_ns = core::RealtimeNs();
  path_safe_ = PathIsSafe();
  std::vector<core::FileStamp> before = core::TakeStamps(path_);
  result_ = core::LoadedPolicy{};  // free the old policy before building the new one
  core::OpenedSnapshot snapshot;
  result_ = core::LoadPolicyOrSnapshot(path_, options_, snapshot_path_, &snapshot,
                                       racy_seconds_ < 0 ? -1 : core::kRacySeconds, core::SnapshotMemory::kOwnCopy);
  from_snapshot_ = snapshot.state == core::SnapshotState::kUsed;
  snapshot_not_used_ = from_snapshot_ || snapshot.state == core::SnapshotState::kAbsent
                           ? std::string()
                           : core::SnapshotNotUsedMessage(path_, snapshot);
  std::vector<core::FileStamp> after = core::TakeStamps(path_);
  // A change while we read (before != after), or a timestamp so recent that
  // a later change could leave it equal, makes this load good for the
  // current request only. A timestamp well ahead of the clock cannot be
  // repeated by a change until the clock nears it: good until then.
  const core::Raciness r = core::CheckRaciness(after, start_ns, racy_seconds_);
  racy_ = before != after || r.racy;
  racy_from_ns_ = r.racy_from_ns;
  ahead_path_ = r.ahead_path;
  ahead_ns_ = r.ahead_ns;
  stamps_ = std::move(after);
  loaded_ = true;
  ++loads_;
  // The YAML parse leaves freed heap behind; give it back to the system so
  // the resident service (and each forked request) stays small.
  malloc_trim(0);
}

PolicyCache::RefreshResult PolicyCache::Refresh() {
  const bool same = loaded_ && core::TakeStamps(path_) == stamps_ && PathIsSafe() == path_safe_;
  if (same && !racy_ && core::RealtimeNs() < racy_from_ns_) return RefreshResult::kCurrent;
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
