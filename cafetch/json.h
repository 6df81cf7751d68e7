// A minimal, strict, bounded JSON parser (RFC 8259) for issuer answers:
// no comments, no trailing commas, no duplicate object keys, strings must be
// valid UTF-8 and escapes well-formed, nesting and size bounded.
#ifndef CERTGATE_CAFETCH_JSON_H_
#define CERTGATE_CAFETCH_JSON_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace certgate::cafetch {

// kMaxJsonDepth bounds nesting of arrays and objects.
inline constexpr int kMaxJsonDepth = 16;
// kMaxJsonBytes bounds the input text.
inline constexpr size_t kMaxJsonBytes = 1024 * 1024;

// JsonValue is one parsed JSON value. Numbers are kept as their text.
class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Kind kind = Kind::kNull;
  bool boolean = false;
  // text: the decoded string for kString, the literal for kNumber.
  std::string text;
  std::vector<JsonValue> items;                             // kArray
  // kObject: member names in order, and their values (parallel vectors, as
  // a vector of pairs of an incomplete type is not portable).
  std::vector<std::string> keys;
  std::vector<JsonValue> values;

  // Find returns the member |key| of an object, or nullptr if absent or not
  // an object. The pointer lives as long as this value.
  const JsonValue* Find(std::string_view key) const;
};

// ParseJson parses exactly one JSON value with optional surrounding
// whitespace. Errors: kTooLarge (input or depth), kBadEncoding (invalid
// UTF-8, bad escape, lone surrogate, control character in a string),
// kBadFormat (anything else, including duplicate keys and trailing text).
core::Result<JsonValue> ParseJson(std::string_view text);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_JSON_H_
