#include "core/base64.h"

#include <array>

namespace certgate::core {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// DecodeTable maps a character to its 6-bit value, or 0xff if it is not in
// the alphabet ('=' included: padding is handled separately).
constexpr std::array<uint8_t, 256> DecodeTable() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0xff;
  for (uint8_t i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = i;
  return t;
}

constexpr std::array<uint8_t, 256> kDecode = DecodeTable();

std::string Encode(std::span<const uint8_t> bytes, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  size_t left = bytes.size() - i;
  if (left == 1) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (left == 2) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

}  // namespace

Result<std::vector<uint8_t>> Base64Decode(std::string_view text, size_t max_input) {
  if (text.size() > max_input) return Fail(Errc::kTooLarge, "base64 input too long");
  if (text.size() % 4 != 0) return Fail(Errc::kBadEncoding, "base64 length not a multiple of 4");
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = 1;
    if (text[text.size() - 2] == '=') padding = 2;
  }
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    size_t data_chars = last ? 4 - padding : 4;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      uint8_t d = 0;
      if (j < data_chars) {
        d = kDecode[static_cast<uint8_t>(text[i + j])];
        if (d == 0xff) return Fail(Errc::kBadEncoding, "base64 character outside the alphabet");
      }
      v = (v << 6) | d;
    }
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (data_chars == 2) {
      // Canonical encoding: the 4 unused bits must be zero.
      if ((v & 0xffff) != 0) return Fail(Errc::kBadEncoding, "base64 non-zero trailing bits");
      continue;
    }
    out.push_back(static_cast<uint8_t>(v >> 8));
    if (data_chars == 3) {
      if ((v & 0xff) != 0) return Fail(Errc::kBadEncoding, "base64 non-zero trailing bits");
      continue;
    }
    out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

std::string Base64Encode(std::span<const uint8_t> bytes) { return Encode(bytes, true); }

std::string Base64EncodeUnpadded(std::span<const uint8_t> bytes) { return Encode(bytes, false); }

}  // namespace certgate::core
