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

// Raciness is what the change times of stamps taken at one time say
// about a load (or snapshot) made from what they stamp.
struct Raciness {
  // racy: a change time within the racy window of the time the stamps were
  // taken (before or after it): a later change may leave the same stamps,
  // so the load is good for one request only.
  bool racy = false;
  // racy_from_ns: the stamps hold a change time further ahead of the
  // clock than the window (a clock stepped back, touch -d). A later change
  // gets the time of that change as its ctime, so it cannot repeat such a
  // stamp until the clock nears it: the stamps are trusted until this time
  // (CLOCK_REALTIME ns; the earliest such change time minus the window),
  // when a load must be made again. INT64_MAX if there is none.
  int64_t racy_from_ns = INT64_MAX;
  // ahead_path: the path of the stamp with such a time ahead ("" if none),
  // ahead_ns how far ahead of the time taken it is (for the log).
  std::string ahead_path;
  int64_t ahead_ns = 0;
};

// CheckRaciness returns the Raciness of |stamps| taken at |taken_ns|
// (CLOCK_REALTIME ns) with the window RacyWindowNs(stamps, |racy_seconds|);
// a negative |racy_seconds| (tests) is never racy.
Raciness CheckRaciness(const std::vector<FileStamp>& stamps, int64_t taken_ns, int64_t racy_seconds);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_POLICY_STAMPS_H_
