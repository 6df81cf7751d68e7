// Fuzzes issuer answer parsing (and the JSON parser under it) and the
// TrustedUserCAKeys file rendered from what it accepts. The first byte
// picks the issuer type; the rest is the answer body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cafetch/issuers.h"
#include "cafetch/json.h"
#include "cafetch/trusted_keys.h"
#include "core/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using certgate::cafetch::IssuerType;
  if (size < 1) return 0;
  static constexpr IssuerType kTypes[] = {IssuerType::kVault,    IssuerType::kStep,     IssuerType::kAkeyless,
                                          IssuerType::kCyberark, IssuerType::kTeleport, IssuerType::kUrl,
                                          IssuerType::kFile};
  const IssuerType type = kTypes[data[0] % 7];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)certgate::cafetch::ParseJson(body);
  auto keys = certgate::cafetch::ParseIssuerAnswer(type, body);
  if (!keys) return 0;
  // Success means at least one key, within the cap, each of which formats to
  // a line that parses back to the same key.
  if (keys->empty() || keys->size() > certgate::cafetch::kMaxCaKeys) __builtin_trap();
  for (const auto& k : *keys) {
    auto again = certgate::core::ParsePublicKeyLine(certgate::core::FormatPublicKeyLine(k.key, k.comment));
    if (!again || !(again->key == k.key) || again->comment != k.comment) __builtin_trap();
  }
  // The rendered file holds every key, as lines sshd reads, and nothing a
  // person's terminal would act on: valid UTF-8, no control after the
  // header's end of line but each line's own.
  auto text = certgate::cafetch::RenderTrustedKeys(*keys, body.substr(0, 64));
  if (!text) __builtin_trap();
  auto count = certgate::cafetch::CheckTrustedKeys(*text);
  if (!count || *count != keys->size()) __builtin_trap();
  std::string_view rest = *text;
  while (!rest.empty()) {
    uint32_t cp = 0;
    const size_t n = certgate::core::DecodeUtf8(rest, &cp);
    if (n == 0 || (cp != '\n' && !certgate::core::IsShownSafely(cp))) __builtin_trap();
    rest.remove_prefix(n);
  }
  return 0;
}
