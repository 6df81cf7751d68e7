#include "core/wire_reader.h"

namespace certgate::core {

bool WireReader::ReadU8(uint8_t* out) {
  if (data_.empty()) return false;
  *out = data_[0];
  data_ = data_.subspan(1);
  return true;
}

// The only place that assembles integers from bytes: big-endian, by shifts.
bool WireReader::ReadU32(uint32_t* out) {
  std::span<const uint8_t> b;
  if (!ReadBytes(4, &b)) return false;
  *out = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
  return true;
}

bool WireReader::ReadU64(uint64_t* out) {
  std::span<const uint8_t> b;
  if (!ReadBytes(8, &b)) return false;
  uint64_t v = 0;
  for (uint8_t byte : b) v = (v << 8) | byte;
  *out = v;
  return true;
}

bool WireReader::ReadBytes(size_t n, std::span<const uint8_t>* out) {
  if (n > remaining()) return false;  // the one bounds check
  *out = data_.first(n);
  data_ = data_.subspan(n);
  return true;
}

bool WireReader::ReadString(std::span<const uint8_t>* out) {
  WireReader copy = *this;  // restored on failure: reads are all-or-nothing
  uint32_t len = 0;
  if (!copy.ReadU32(&len) || !copy.ReadBytes(len, out)) return false;
  *this = copy;
  return true;
}

bool WireReader::ReadCString(std::string_view* out) {
  WireReader copy = *this;
  std::span<const uint8_t> bytes;
  if (!copy.ReadString(&bytes)) return false;
  for (uint8_t b : bytes) {
    if (b == 0) return false;
  }
  *out = AsStringView(bytes);
  *this = copy;
  return true;
}

bool WireReader::ReadSub(WireReader* out) {
  std::span<const uint8_t> bytes;
  if (!ReadString(&bytes)) return false;
  *out = WireReader(bytes);
  return true;
}

bool WireReader::ReadMpint(std::span<const uint8_t>* out) {
  WireReader copy = *this;
  std::span<const uint8_t> bytes;
  if (!copy.ReadString(&bytes)) return false;
  if (!bytes.empty()) {
    if ((bytes[0] & 0x80) != 0) return false;  // negative
    if (bytes[0] == 0) {
      // A leading zero is only allowed to clear the sign bit of the next byte.
      if (bytes.size() < 2 || (bytes[1] & 0x80) == 0) return false;
      bytes = bytes.subspan(1);
    }
  }
  *out = bytes;
  *this = copy;
  return true;
}

void WireWriter::PutU8(uint8_t v) { data_.push_back(v); }

void WireWriter::PutU32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) data_.push_back(static_cast<uint8_t>(v >> shift));
}

void WireWriter::PutU64(uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) data_.push_back(static_cast<uint8_t>(v >> shift));
}

void WireWriter::PutBytes(std::span<const uint8_t> bytes) {
  data_.insert(data_.end(), bytes.begin(), bytes.end());
}

void WireWriter::PutString(std::span<const uint8_t> bytes) {
  PutU32(static_cast<uint32_t>(bytes.size()));
  PutBytes(bytes);
}

void WireWriter::PutString(std::string_view s) { PutString(AsBytes(s)); }

void WireWriter::PutMpint(std::span<const uint8_t> bytes) {
  while (!bytes.empty() && bytes[0] == 0) bytes = bytes.subspan(1);
  bool pad = !bytes.empty() && (bytes[0] & 0x80) != 0;
  PutU32(static_cast<uint32_t>(bytes.size() + (pad ? 1 : 0)));
  if (pad) PutU8(0);
  PutBytes(bytes);
}

}  // namespace certgate::core
