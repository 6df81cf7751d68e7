// UniqueFd owns a file descriptor and closes it on scope exit.
#ifndef CERTGATE_CORE_UNIQUE_FD_H_
#define CERTGATE_CORE_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace certgate::core {

// UniqueFd holds a descriptor (or -1) and closes it when destroyed. Use
// Release() to hand ownership on, or Close() when the close result matters
// (a written file: close can report a deferred write error).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.Release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  // get returns the descriptor, or -1.
  int get() const { return fd_; }
  // valid returns true if a descriptor is held.
  bool valid() const { return fd_ >= 0; }
  // Release returns the descriptor and forgets it.
  int Release() { return std::exchange(fd_, -1); }
  // Reset closes the held descriptor, if any, ignoring errors.
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Close closes the held descriptor and returns close()'s result (0 if none).
  int Close() {
    int fd = Release();
    return fd >= 0 ? ::close(fd) : 0;
  }

 private:
  int fd_ = -1;
};

}  // namespace certgate::core

#endif  // CERTGATE_CORE_UNIQUE_FD_H_
