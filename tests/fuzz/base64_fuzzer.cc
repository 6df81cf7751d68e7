// Fuzzes the strict base64 decoder and the certificate path sshd feeds
// (%t %k as text), and checks that decode(encode(x)) == x.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/base64.h"
#include "core/certificate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = certgate::core::Base64Decode(text);
  if (decoded) {
    if (certgate::core::Base64Encode(*decoded) != text) __builtin_trap();
  }
  (void)certgate::core::ParseUserCertificate(text, "ssh-ed25519-cert-v01@openssh.com");
  auto round = certgate::core::Base64Decode(certgate::core::Base64Encode({data, size}));
  if (!round || round->size() != size) __builtin_trap();
  return 0;
}
