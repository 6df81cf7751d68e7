#include "cafetch/daemon.h"

#include <gtest/gtest.h>

namespace certgate::cafetch {
namespace {

TEST(DaemonTest, RegularDelayIsIntervalPlusMinusJitter) {
  Config c;
  c.interval_seconds = 300;
  c.jitter_seconds = 60;
  EXPECT_EQ(NextDelaySeconds(c, 0, 0), 240u);
  EXPECT_EQ(NextDelaySeconds(c, 0, 120), 360u);
  EXPECT_EQ(NextDelaySeconds(c, 0, 121), 240u);
  for (uint64_t r = 0; r < 1000; r += 7) {
    uint64_t d = NextDelaySeconds(c, 0, r * 2654435761u);
    EXPECT_GE(d, 240u);
    EXPECT_LE(d, 360u);
  }
  // A short interval (tests) is kept after a success; never 0.
  c.interval_seconds = 2;
  c.jitter_seconds = 0;
  EXPECT_EQ(NextDelaySeconds(c, 0, 12345), 2u);
  c.jitter_seconds = 2;
  EXPECT_EQ(NextDelaySeconds(c, 0, 0), kMinIntervalSeconds);
  // After a failure, 30 s at least, whatever the interval.
  EXPECT_EQ(NextDelaySeconds(c, 1, 0), kBackoffFloorSeconds);
  EXPECT_EQ(NextDelaySeconds(c, 4, 0), kBackoffFloorSeconds);
}

TEST(DaemonTest, BackoffDoublesWithJitterAndNeverUnder30s) {
  Config c;
  c.interval_seconds = 600;
  EXPECT_EQ(NextDelaySeconds(c, 1, 0), 30u);
  EXPECT_EQ(NextDelaySeconds(c, 1, 15), 45u);
  EXPECT_EQ(NextDelaySeconds(c, 1, 16), 30u);
  EXPECT_EQ(NextDelaySeconds(c, 2, 0), 60u);
  EXPECT_EQ(NextDelaySeconds(c, 3, 0), 120u);
  EXPECT_EQ(NextDelaySeconds(c, 5, 0), 480u);
  EXPECT_EQ(NextDelaySeconds(c, 6, 0), 600u);  // capped at the interval
  EXPECT_EQ(NextDelaySeconds(c, 100, 0), 600u);
  for (unsigned f = 1; f < 70; ++f) {
    for (uint64_t r : {0ull, 1ull, 12345ull, ~0ull}) {
      uint64_t d = NextDelaySeconds(c, f, r);
      EXPECT_GE(d, kBackoffFloorSeconds);
      EXPECT_LE(d, 900u);
    }
  }
}

TEST(DaemonTest, ReloadingCarriesMonotonicUsec) {
  EXPECT_EQ(ReloadingNotification(1234567), "RELOADING=1\nMONOTONIC_USEC=1234567");
}

}  // namespace
}  // namespace certgate::cafetch
