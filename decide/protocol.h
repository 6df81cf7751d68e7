// The wire protocol between the clients (principals-cmd, keys-cmd) and the
// certgate-decide service: one request, one answer, then the connection is
// closed. Written against libc only, so the clients need no libstdc++.
//
// Request:  "CGQ1" kind:u8 0:u8 argc:u16 { len:u32 bytes }*argc
// Answer:   "CGA1" exit:u8 flags:u8 0:u8 0:u8 out_len:u32 out err_len:u32 err
//           flags 1 = declined: the service does not serve this request
//           (another --policy than its own, --explain, --check); exit 0 and
//           both parts empty. The client then decides in-process.
//
// Integers are big-endian. Both parsers insist on the exact total length:
// a truncated, padded or oversized message is invalid (the client then
// denies: nothing printed, exit 1).
#ifndef CERTGATE_DECIDE_PROTOCOL_H_
#define CERTGATE_DECIDE_PROTOCOL_H_

#include <cstddef>
#include <cstdint>

namespace certgate::decide {

// kKindPrincipals and kKindKeys name the helper a request is for.
inline constexpr uint8_t kKindPrincipals = 0;
inline constexpr uint8_t kKindKeys = 1;

// Limits. A request carries sshd's argv: %k of an RSA-16384 certificate is
// about 6 KiB of base64, so 256 KiB in all is generous; the answer is what a
// helper prints (principals lines, keys lines, --help text).
inline constexpr size_t kMaxArgs = 64;
inline constexpr size_t kMaxRequestSize = 256 * 1024;
inline constexpr size_t kMaxAnswerOut = 4 * 1024 * 1024;
inline constexpr size_t kMaxAnswerErr = 64 * 1024;
inline constexpr size_t kAnswerOverhead = 4 + 4 + 4 + 4;
inline constexpr size_t kMaxAnswerSize = kAnswerOverhead + kMaxAnswerOut + kMaxAnswerErr;

// EncodeRequest writes a request for |kind| with the |argc| NUL-terminated
// strings |argv| into |buf| (|cap| bytes). Returns the size written, or 0 if
// it does not fit the limits (too many or too long arguments, or |cap|).
size_t EncodeRequest(uint8_t kind, size_t argc, const char* const* argv, uint8_t* buf, size_t cap);

// RequestView is a parsed request; arg[i]/len[i] point into the parsed
// buffer (no NUL terminator; an argument never contains NUL).
struct RequestView {
  uint8_t kind = 0;
  size_t argc = 0;
  const uint8_t* arg[kMaxArgs] = {};
  size_t len[kMaxArgs] = {};
};

// ParseRequest parses exactly |size| bytes at |buf|. Returns true and fills
// |out| for a valid request; false for anything else (bad magic, unknown
// kind, more than kMaxArgs arguments, a NUL inside an argument, truncated,
// trailing bytes, larger than kMaxRequestSize).
bool ParseRequest(const uint8_t* buf, size_t size, RequestView* out);

// AnswerSize returns the encoded size of an answer with |out_len| and
// |err_len| bytes (the caller keeps them within the limits).
size_t AnswerSize(size_t out_len, size_t err_len);

// EncodeAnswer writes an answer into |buf| (|cap| bytes). Returns the size
// written, or 0 if |exit_code| is outside 0..255, a part exceeds its limit,
// or |cap| is too small.
size_t EncodeAnswer(int exit_code, const uint8_t* out, size_t out_len, const uint8_t* err,
                    size_t err_len, uint8_t* buf, size_t cap);

// EncodeDecline writes the "declined" answer into |buf| (|cap| bytes).
// Returns the size written, or 0 if |cap| is too small.
size_t EncodeDecline(uint8_t* buf, size_t cap);

// AnswerView is a parsed answer; out/err point into the parsed buffer.
struct AnswerView {
  bool declined = false;
  int exit_code = 1;
  const uint8_t* out = nullptr;
  size_t out_len = 0;
  const uint8_t* err = nullptr;
  size_t err_len = 0;
};

// ParseAnswer parses exactly |size| bytes at |buf|. Returns true and fills
// |out| for a valid answer; false for anything else (bad magic, unknown
// flags, non-zero reserved bytes, a part over its limit, a declined answer
// with an exit status or text, truncated, trailing bytes).
bool ParseAnswer(const uint8_t* buf, size_t size, AnswerView* out);

}  // namespace certgate::decide

#endif  // CERTGATE_DECIDE_PROTOCOL_H_
