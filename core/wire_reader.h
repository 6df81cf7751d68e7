// WireReader: a bounded, non-owning reader over SSH wire data (RFC 4251 §5),
// in the style of BoringSSL's CBS. Every byte certgate parses from a
// certificate, key, signature or KRL goes through it, so that there is one
// bounds check to audit: `if (len > remaining()) return false;`.
#ifndef CERTGATE_CORE_WIRE_READER_H_
#define CERTGATE_CORE_WIRE_READER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace certgate::core {

class WireReader {
 public:
  WireReader() = default;
  explicit WireReader(std::span<const uint8_t> data) : data_(data) {}

  // remaining returns how many unread bytes are left.
  size_t remaining() const { return data_.size(); }
  // empty returns true when every byte has been read.
  bool empty() const { return data_.empty(); }
  // rest returns a view of the unread bytes (valid while the input lives).
  std::span<const uint8_t> rest() const { return data_; }

  // Each Read* returns true and advances on success; on failure it returns
  // false and leaves the reader unchanged. Views point into the input.
  bool ReadU8(uint8_t* out);
  bool ReadU32(uint32_t* out);
  bool ReadU64(uint64_t* out);
  // ReadBytes reads exactly |n| bytes.
  bool ReadBytes(size_t n, std::span<const uint8_t>* out);
  // ReadString reads a uint32 length and that many bytes.
  bool ReadString(std::span<const uint8_t>* out);
  // ReadCString reads a string and fails if it contains a NUL byte.
  bool ReadCString(std::string_view* out);
  // ReadSub reads a string and returns a child reader over its bytes.
  bool ReadSub(WireReader* out);
  // ReadMpint reads an mpint (RFC 4251 §5) that must be non-negative and
  // minimally encoded (a leading zero byte only before a byte with its top
  // bit set). OpenSSH's sshbuf_get_bignum2 also rejects negatives but trims
  // extra leading zeros; we reject them, so that a parsed blob re-encodes to
  // the same bytes. |out| is the magnitude without the leading zero byte
  // (empty for zero).
  bool ReadMpint(std::span<const uint8_t>* out);

 private:
  std::span<const uint8_t> data_;
};

// WireWriter builds SSH wire data; used to reconstruct plain key blobs,
// signed data (SSHSIG, sk signatures) and by tests to craft hostile input.
class WireWriter {
 public:
  void PutU8(uint8_t v);
  void PutU32(uint32_t v);
  void PutU64(uint64_t v);
  void PutBytes(std::span<const uint8_t> bytes);
  void PutString(std::span<const uint8_t> bytes);
  void PutString(std::string_view s);
  // PutMpint writes the magnitude |bytes| (big-endian, leading zeros allowed)
  // as a minimal non-negative mpint.
  void PutMpint(std::span<const uint8_t> bytes);

  const std::vector<uint8_t>& data() const { return data_; }
  std::vector<uint8_t> Take() { return std::move(data_); }

 private:
  std::vector<uint8_t> data_;
};

// AsBytes views the characters of |s| as bytes.
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
// AsStringView views |b| as characters.
inline std::string_view AsStringView(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace certgate::core

#endif  // CERTGATE_CORE_WIRE_READER_H_
