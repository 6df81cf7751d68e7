// Fuzzes the KRL parser (binary and text forms) and the lookups on what it
// accepts.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/krl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  certgate::core::Result<certgate::core::Krl> krl = certgate::core::ParseKrl({data, size});
  if (krl) {
    certgate::core::Certificate cert;
    cert.serial = size;
    cert.key_id = "fuzz";
    (void)krl->IsCertificateRevoked(cert);
  }
  return 0;
}
