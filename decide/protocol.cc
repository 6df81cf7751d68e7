#include "decide/protocol.h"

#include <cstring>

namespace certgate::decide {
namespace {

constexpr uint8_t kRequestMagic[4] = {'C', 'G', 'Q', '1'};
constexpr uint8_t kAnswerMagic[4] = {'C', 'G', 'A', '1'};
constexpr uint8_t kFlagDeclined = 1;

// Cursor is a bounded reader (the same single bounds check as
// core/wire_reader.h, without libstdc++).
struct Cursor {
  const uint8_t* p;
  size_t left;

  bool Bytes(size_t len, const uint8_t** out) {
    if (len > left) return false;
    *out = p;
    p += len;
    left -= len;
    return true;
  }
  bool U8(uint8_t* out) {
    const uint8_t* b;
    if (!Bytes(1, &b)) return false;
    *out = b[0];
    return true;
  }
  bool U16(uint16_t* out) {
    const uint8_t* b;
    if (!Bytes(2, &b)) return false;
    *out = static_cast<uint16_t>((b[0] << 8) | b[1]);
    return true;
  }
  bool U32(uint32_t* out) {
    const uint8_t* b;
    if (!Bytes(4, &b)) return false;
    *out = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
    return true;
  }
};

// Writer is the matching bounded writer.
struct Writer {
  uint8_t* p;
  size_t left;
  bool ok = true;

  void Bytes(const void* data, size_t len) {
    if (!ok || len > left) {
      ok = false;
      return;
    }
    if (len > 0) std::memcpy(p, data, len);
    p += len;
    left -= len;
  }
  void U8(uint8_t v) { Bytes(&v, 1); }
  void U16(uint16_t v) {
    const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    Bytes(b, 2);
  }
  void U32(uint32_t v) {
    const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    Bytes(b, 4);
  }
};

// EncodeAnswerFrame writes the answer layout; the callers check the values.
size_t EncodeAnswerFrame(uint8_t exit_code, uint8_t flags, const uint8_t* out, size_t out_len,
                         const uint8_t* err, size_t err_len, uint8_t* buf, size_t cap) {
  Writer w{buf, cap};
  w.Bytes(kAnswerMagic, sizeof kAnswerMagic);
  w.U8(exit_code);
  w.U8(flags);
  w.U16(0);
  w.U32(static_cast<uint32_t>(out_len));
  w.Bytes(out, out_len);
  w.U32(static_cast<uint32_t>(err_len));
  w.Bytes(err, err_len);
  return w.ok ? cap - w.left : 0;
}

}  // namespace

size_t EncodeRequest(uint8_t kind, size_t argc, const char* const* argv, uint8_t* buf, size_t cap) {
  if (argc > kMaxArgs || (kind != kKindPrincipals && kind != kKindKeys)) return 0;
  if (cap > kMaxRequestSize) cap = kMaxRequestSize;
  Writer w{buf, cap};
  w.Bytes(kRequestMagic, sizeof kRequestMagic);
  w.U8(kind);
  w.U8(0);
  w.U16(static_cast<uint16_t>(argc));
  for (size_t i = 0; i < argc && w.ok; ++i) {
    const size_t len = std::strlen(argv[i]);
    if (len > kMaxRequestSize) return 0;
    w.U32(static_cast<uint32_t>(len));
    w.Bytes(argv[i], len);
  }
  return w.ok ? cap - w.left : 0;
}

bool ParseRequest(const uint8_t* buf, size_t size, RequestView* out) {
  if (size > kMaxRequestSize) return false;
  Cursor c{buf, size};
  const uint8_t* magic;
  uint8_t kind, reserved;
  uint16_t argc;
  if (!c.Bytes(4, &magic) || std::memcmp(magic, kRequestMagic, 4) != 0) return false;
  if (!c.U8(&kind) || !c.U8(&reserved) || !c.U16(&argc)) return false;
  if ((kind != kKindPrincipals && kind != kKindKeys) || reserved != 0 || argc > kMaxArgs) return false;
  RequestView v;
  v.kind = kind;
  v.argc = argc;
  for (size_t i = 0; i < argc; ++i) {
    uint32_t len;
    if (!c.U32(&len) || !c.Bytes(len, &v.arg[i])) return false;
    if (len > 0 && std::memchr(v.arg[i], 0, len) != nullptr) return false;
    v.len[i] = len;
  }
  if (c.left != 0) return false;
  *out = v;
  return true;
}

size_t AnswerSize(size_t out_len, size_t err_len) { return kAnswerOverhead + out_len + err_len; }

size_t EncodeAnswer(int exit_code, const uint8_t* out, size_t out_len, const uint8_t* err,
                    size_t err_len, uint8_t* buf, size_t cap) {
  if (exit_code < 0 || exit_code > 255 || out_len > kMaxAnswerOut || err_len > kMaxAnswerErr) return 0;
  return EncodeAnswerFrame(static_cast<uint8_t>(exit_code), 0, out, out_len, err, err_len, buf, cap);
}

size_t EncodeDecline(uint8_t* buf, size_t cap) {
  return EncodeAnswerFrame(0, kFlagDeclined, nullptr, 0, nullptr, 0, buf, cap);
}

bool ParseAnswer(const uint8_t* buf, size_t size, AnswerView* out) {
  if (size > kMaxAnswerSize) return false;
  Cursor c{buf, size};
  const uint8_t* magic;
  uint8_t exit_code, r1;
  uint16_t r2;
  uint32_t out_len, err_len;
  AnswerView v;
  if (!c.Bytes(4, &magic) || std::memcmp(magic, kAnswerMagic, 4) != 0) return false;
  if (!c.U8(&exit_code) || !c.U8(&r1) || !c.U16(&r2) || (r1 != 0 && r1 != kFlagDeclined) || r2 != 0) {
    return false;
  }
  if (!c.U32(&out_len) || out_len > kMaxAnswerOut || !c.Bytes(out_len, &v.out)) return false;
  if (!c.U32(&err_len) || err_len > kMaxAnswerErr || !c.Bytes(err_len, &v.err)) return false;
  if (c.left != 0) return false;
  v.declined = r1 == kFlagDeclined;
  if (v.declined && (exit_code != 0 || out_len != 0 || err_len != 0)) return false;
  v.exit_code = exit_code;
  v.out_len = out_len;
  v.err_len = err_len;
  *out = v;
  return true;
}

}  // namespace certgate::decide
