#include "core/watchdog.h"

#include <chrono>

namespace certgate::core {

Watchdog::Watchdog(uint64_t timeout_ms, std::function<void()> on_expiry) {
  if (timeout_ms == 0) return;  // no bound: no thread, never fires
  thread_ = std::thread([this, timeout_ms, cb = std::move(on_expiry)] {
    std::unique_lock<std::mutex> lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    if (cv_.wait_until(lock, deadline, [this] { return disarmed_; })) return;
    fired_ = true;
    lock.unlock();
    cb();
  });
}

bool Watchdog::Disarm() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fired_) return false;
  disarmed_ = true;
  cv_.notify_all();
  return true;
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    disarmed_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace certgate::core
