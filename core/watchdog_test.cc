#include "core/watchdog.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace certgate::core {
namespace {

TEST(WatchdogTest, FiresAfterTimeout) {
  std::atomic<bool> fired{false};
  Watchdog dog(20, [&] { fired = true; });
  for (int i = 0; i < 500 && !fired; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(fired);
  EXPECT_FALSE(dog.Disarm());  // too late: the caller must not write output
}

TEST(WatchdogTest, DisarmedNeverFires) {
  std::atomic<bool> fired{false};
  {
    Watchdog dog(60'000, [&] { fired = true; });
    EXPECT_TRUE(dog.Disarm());
  }
  EXPECT_FALSE(fired);
}

// 0 is no bound (--compile without --timeout): it never fires, and
// Disarm says so.
TEST(WatchdogTest, ZeroIsNoBound) {
  std::atomic<bool> fired{false};
  {
    Watchdog dog(0, [&] { fired = true; });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(dog.Disarm());
  }
  EXPECT_FALSE(fired);
}

}  // namespace
}  // namespace certgate::core
