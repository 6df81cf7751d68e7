// A fixed Ed25519 public key for the fuzz targets that need one (a
// certificate's key or CA), without a random source.
#ifndef CERTGATE_TESTS_FUZZ_FIXED_KEY_H_
#define CERTGATE_TESTS_FUZZ_FIXED_KEY_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/ssh_key.h"
#include "core/wire_reader.h"

namespace certgate::fuzzing {

// FixedKey returns an Ed25519 key whose 32 bytes are all |fill|.
inline core::PublicKey FixedKey(uint8_t fill) {
  core::WireWriter w;
  w.PutString(std::string_view("ssh-ed25519"));
  w.PutString(std::vector<uint8_t>(32, fill));
  core::Result<core::PublicKey> key = core::ParsePublicKeyBlob(w.data());
  if (!key) __builtin_trap();
  return *key;
}

}  // namespace certgate::fuzzing

#endif  // CERTGATE_TESTS_FUZZ_FIXED_KEY_H_
