#include "core/read_file.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace certgate::core {

Status ReadBounded(int fd, size_t max_bytes, size_t size_hint, std::string* out) {
  // One byte past the bound, so that reading it proves the file too large.
  const size_t limit = max_bytes + 1;
  out->assign(std::min(std::max<size_t>(size_hint + 1, 4096), limit), '\0');
  size_t used = 0;
  for (;;) {
    if (used == out->size()) {
      if (out->size() >= limit) return Fail(Errc::kTooLarge, "larger than " + std::to_string(max_bytes) + " bytes");
      out->resize(std::min(out->size() * 2, limit));
    }
    ssize_t n = read(fd, out->data() + used, out->size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(Errc::kIo, std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > max_bytes) return Fail(Errc::kTooLarge, "larger than " + std::to_string(max_bytes) + " bytes");
  out->resize(used);
  return Ok();
}

}  // namespace certgate::core
