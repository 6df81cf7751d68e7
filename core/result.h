// Result<T>: a value or an Error, spelled close to std::expected so that a
// later switch to std::expected only changes these aliases.
#ifndef CERTGATE_CORE_RESULT_H_
#define CERTGATE_CORE_RESULT_H_

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace certgate::core {

// Errc is what callers branch and test on; Error::detail is for logs only.
enum class Errc {
  kTruncated,              // input ended before a field did
  kTrailingData,           // bytes left over after the last field
  kTooLarge,               // a length or count over our limits
  kBadEncoding,            // base64, UTF-8, NUL in a string, bad mpint
  kBadFormat,              // structurally valid bytes with invalid meaning
  kUnsupportedType,        // key or certificate type we do not handle
  kTypeMismatch,           // outer name differs from inner, or from %t
  kBadSignature,           // signature does not verify
  kNotUserCertificate,     // a host certificate, or an unknown cert type
  kUnknownCriticalOption,  // OpenSSH rejects these
  kDuplicateOption,        // option repeated, or out of order
  kIo,                     // a file could not be read or written
  kUnsafePermissions,      // owner or mode fails sshd's StrictModes rule
  kPolicy,                 // the policy is invalid (see Issue list)
  kUsage,                  // bad command line
  kTimeout,                // a bound on run time was reached
  kInternal,               // a library call failed unexpectedly
};

// ErrcName returns a stable lower-case name for |code|, e.g. "truncated".
const char* ErrcName(Errc code);

// Error is the failure half of a Result. |detail| must never hold secrets.
struct Error {
  Errc code;
  std::string detail;
};

// Unexpected wraps an Error so that it converts into any Result<T>.
struct Unexpected {
  Error error;
};

// Fail builds the failure for `return Fail(Errc::kTruncated, "serial");`.
inline Unexpected Fail(Errc code, std::string detail) {
  return Unexpected{Error{code, std::move(detail)}};
}

// Result<T> holds either a T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!has_value()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected u) : error_(std::move(u.error)), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_{Errc::kInternal, ""};
  bool ok_ = true;
};

// Status is a Result with no value.
using Status = Result<void>;

// Ok returns a successful Status.
inline Status Ok() { return Status(); }

}  // namespace certgate::core

#endif  // CERTGATE_CORE_RESULT_H_
