#include "core/result.h"

namespace certgate::core {

const char* ErrcName(Errc code) {
  switch (code) {
    case Errc::kTruncated: return "truncated";
    case Errc::kTrailingData: return "trailing-data";
    case Errc::kTooLarge: return "too-large";
    case Errc::kBadEncoding: return "bad-encoding";
    case Errc::kBadFormat: return "bad-format";
    case Errc::kUnsupportedType: return "unsupported-type";
    case Errc::kTypeMismatch: return "type-mismatch";
    case Errc::kBadSignature: return "bad-signature";
    case Errc::kNotUserCertificate: return "not-user-certificate";
    case Errc::kUnknownCriticalOption: return "unknown-critical-option";
    case Errc::kDuplicateOption: return "duplicate-option";
    case Errc::kIo: return "io";
    case Errc::kUnsafePermissions: return "unsafe-permissions";
    case Errc::kPolicy: return "policy";
    case Errc::kUsage: return "usage";
    case Errc::kTimeout: return "timeout";
    case Errc::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace certgate::core
