// Fuzzes ParseKrl (binary KRLs and the key-list fallback) and the lookups on
// what it accepts, and checks that the lookups agree with the parsed lists:
// every serial, key id and key a KRL names must be reported revoked.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/certificate.h"
#include "core/krl.h"
#include "core/ssh_key.h"
#include "core/wire_reader.h"
#include "tests/fuzz/fixed_key.h"

namespace {

namespace core = ::certgate::core;
using ::certgate::fuzzing::FixedKey;

void ExpectRevoked(const core::Krl& krl, const core::Certificate& cert) {
  if (!krl.IsCertificateRevoked(cert)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const core::PublicKey kKey = FixedKey(1);
  static const core::PublicKey kCa = FixedKey(2);
  core::Result<core::Krl> krl = core::ParseKrl({data, size});
  if (!krl) return 0;

  (void)krl->IsKeyRevoked(kKey);
  core::Certificate cert;
  cert.key = kKey;
  cert.signature_key = kCa;
  cert.serial = size;
  cert.key_id = "fuzz";
  (void)krl->IsCertificateRevoked(cert);

  for (const core::Krl::CaSection& section : krl->sections) {
    cert.signature_key = kCa;
    if (!section.any_ca) {
      core::Result<core::PublicKey> ca = core::ParsePublicKeyBlob(section.ca_blob);
      if (!ca) __builtin_trap();  // the parser kept a CA key it cannot read
      cert.signature_key = *ca;
    }
    for (const core::Krl::SerialRange& range : section.serials) {
      if (range.lo == 0 || range.lo > range.hi) __builtin_trap();
      cert.serial = range.lo;
      ExpectRevoked(*krl, cert);
      cert.serial = range.hi;
      ExpectRevoked(*krl, cert);
    }
    for (const core::Krl::SerialBitmap& bitmap : section.bitmaps) {
      const size_t nbits = bitmap.bits.size() * 8;
      for (size_t i = 0; i < nbits && i < 128; ++i) {
        const uint8_t byte = bitmap.bits[bitmap.bits.size() - 1 - i / 8];
        if (((byte >> (i % 8)) & 1) == 0) continue;
        cert.serial = bitmap.offset + i;
        if (cert.serial == 0) __builtin_trap();  // serial 0 is never revoked
        ExpectRevoked(*krl, cert);
      }
    }
    cert.serial = 0;
    for (const std::string& id : section.key_ids) {
      cert.key_id = id;
      ExpectRevoked(*krl, cert);
    }
  }
  for (const std::vector<uint8_t>& blob : krl->revoked_blobs) {
    core::Result<core::PublicKey> key = core::ParsePublicKeyBlob(blob);
    if (key && !krl->IsKeyRevoked(*key)) __builtin_trap();
  }
  return 0;
}
