// Reading a whole file descriptor with a bound, for every small file
// certgate reads (policy, KRL, cafetch.yaml, issuer files, --explain input).
#ifndef CERTGATE_CORE_READ_FILE_H_
#define CERTGATE_CORE_READ_FILE_H_

#include <cstddef>
#include <string>

#include "core/result.h"

namespace certgate::core {

// ReadBounded reads |fd| to its end into |out| (replacing its contents),
// retrying on EINTR. |size_hint| (typically st_size) sizes the first buffer.
// Returns Ok; kTooLarge as soon as more than |max_bytes| have been read (a
// file growing while read, or a pipe, cannot exceed the bound); or kIo with
// "cannot read: <reason>".
Status ReadBounded(int fd, size_t max_bytes, size_t size_hint, std::string* out);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_READ_FILE_H_
