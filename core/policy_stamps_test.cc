#include "core/policy_stamps.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <string>

namespace certgate::core {
namespace {

// The racy window is kFineRacyNs when every ctime has a sub-second part
// (a file system that keeps them), else kRacySeconds.
TEST(PolicyStampsTest, RacyWindowFollowsWhatCtimesKeep) {
  FileStamp fine;
  fine.ctime_ns = 1'700'000'000'123'456'789;
  FileStamp whole;
  whole.ctime_ns = 1'700'000'000'000'000'000;
  FileStamp missing;
  missing.error = ENOENT;
  EXPECT_EQ(RacyWindowNs({fine, missing}), kFineRacyNs);
  EXPECT_EQ(RacyWindowNs({fine, whole}), kRacySeconds * 1'000'000'000);
  EXPECT_EQ(RacyWindowNs({whole}, 5), 5'000'000'000);
  whole.mtime_ns = 1'800'000'000'000'000'000;  // a future mtime (touch -d)
  EXPECT_EQ(NewestChangeNs({fine, whole, missing}), whole.mtime_ns);
}

// Only change times near the time the stamps were taken are racy; one
// further ahead is trusted until the clock comes within the window of it.
TEST(PolicyStampsTest, OnlyChangeTimesNearTheStampsAreRacy) {
  FileStamp s;
  s.path = "/p";
  s.ctime_ns = 1'700'000'000'123'456'789;
  s.mtime_ns = s.ctime_ns;
  const int64_t window = kFineRacyNs;
  Raciness r = CheckRaciness({s}, s.ctime_ns + window + 1, kRacySeconds);
  EXPECT_FALSE(r.racy);
  EXPECT_EQ(r.racy_from_ns, INT64_MAX);
  EXPECT_EQ(r.ahead_path, "");
  EXPECT_TRUE(CheckRaciness({s}, s.ctime_ns + window, kRacySeconds).racy);
  EXPECT_TRUE(CheckRaciness({s}, s.ctime_ns - window, kRacySeconds).racy);
  EXPECT_FALSE(CheckRaciness({s}, s.ctime_ns, -1).racy);
  // An hour ahead (a clock set back; touch -d sets only the mtime ahead).
  s.mtime_ns = s.ctime_ns + int64_t{3600} * 1'000'000'000;
  r = CheckRaciness({s}, s.ctime_ns + window + 1, kRacySeconds);
  EXPECT_FALSE(r.racy);
  EXPECT_EQ(r.racy_from_ns, s.mtime_ns - window);
  EXPECT_EQ(r.ahead_path, "/p");
  EXPECT_TRUE(CheckRaciness({s}, s.mtime_ns - window, kRacySeconds).racy);
}

}  // namespace
}  // namespace certgate::core
