// Stamps of the files a policy load reads: what tells a kept or compiled
// policy (certgate-decide's cache, a policy snapshot) from a stale one.
#ifndef CERTGATE_CORE_POLICY_STAMPS_H_
#define CERTGATE_CORE_POLICY_STAMPS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace certgate::core {

// FileStamp is what stat() says about one path; two equal stamps mean the
// loader would read the same bytes with the same verdict on permissions.
struct FileStamp {
  std::string path;
  int error = 0;  // errno of the stat, 0 if it succeeded
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;

  bool operator==(const FileStamp&) const = default;
};

// TakeStamps returns the stamps of everything LoadPolicy(|main_path|) reads
// or checks: the main file (lstat: links are not followed), its directory,
// the fragment directory (lstat; "absent" is a stamp too) and every entry
// of it (lstat), sorted by path; with more than kMaxPolicyFragments
// fragments (the loader reads none) one stamp with their count instead of
// the entries. Never fails: an error is part of a stamp.
std::vector<FileStamp> TakeStamps(const std::string& main_path);

// kRacySeconds: a file changed this close to a load may have been changed
// again within the same timestamp tick (1 s on some file systems), so such
// a load is trusted only until the next request (git's "racily clean").
inline constexpr int64_t kRacySeconds = 2;

// kFineRacyNs is kRacySeconds for a file system that keeps sub-second
// timestamps: Linux takes them from its coarse clock, which ticks every 1 to
// 10 ms, so a change 100 ms before the stamps were taken cannot share a
// tick with any later one.
inline constexpr int64_t kFineRacyNs = 100'000'000;

// RacyWindowNs is how close to the newest change stamps must not be taken:
// kFineRacyNs if every stamp's ctime has a sub-second part (ctime cannot
// be set by anyone, so it shows what the file system keeps), else
// |coarse_seconds|.
int64_t RacyWindowNs(const std::vector<FileStamp>& stamps, int64_t coarse_seconds = kRacySeconds);

// NewestChangeNs is the latest mtime or ctime of |stamps| (0 if none).
int64_t NewestChangeNs(const std::vector<FileStamp>& stamps);

// RealtimeNs is CLOCK_REALTIME in nanoseconds, the clock of the stamps.
int64_t RealtimeNs();

// AnyRacy returns true if any of |stamps| was modified or changed at or
// after |start_seconds| - |racy_seconds| (CLOCK_REALTIME seconds).
bool AnyRacy(const std::vector<FileStamp>& stamps, int64_t start_seconds, int64_t racy_seconds);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_POLICY_STAMPS_H_
