// Fuzzes armored SSHSIG parsing and verification.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "cafetch/sshsig.h"
#include "core/wire_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sig = certgate::cafetch::ParseArmoredSshSig(text);
  if (!sig) return 0;
  // Run the verification path with the signer allowed: it must fail or
  // return that very key, never crash.
  const std::vector<certgate::core::PublicKey> allowed = {sig->key};
  auto signer = certgate::cafetch::VerifySshSig(text, certgate::core::AsBytes("message\n"),
                                                certgate::cafetch::kBundleNamespace, allowed);
  if (signer && !(*signer == sig->key)) __builtin_trap();
  return 0;
}
