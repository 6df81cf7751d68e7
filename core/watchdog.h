// Watchdog: runs a callback if a deadline passes before Disarm().
#ifndef CERTGATE_CORE_WATCHDOG_H_
#define CERTGATE_CORE_WATCHDOG_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace certgate::core {

// Watchdog starts a thread that calls |on_expiry| once |timeout_ms| have
// passed, unless Disarm() was called first; with |timeout_ms| 0 there is
// no bound (no thread, and it never fires). The helpers' main() uses it to
// bound a decision that hangs in NSS: its callback logs and _exit()s, which
// core itself never does.
class Watchdog {
 public:
  Watchdog(uint64_t timeout_ms, std::function<void()> on_expiry);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Disarm returns true if the callback has not run and now never will;
  // false if it already started (the caller must then not write output).
  bool Disarm();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  bool fired_ = false;
  std::thread thread_;
};

}  // namespace certgate::core

#endif  // CERTGATE_CORE_WATCHDOG_H_
