// UTF-8 decoding for text from outside (issuer answers, JSON strings), and
// the test of what a person may be shown of it.
#ifndef CERTGATE_CORE_UTF8_H_
#define CERTGATE_CORE_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace certgate::core {

// DecodeUtf8 reads the one UTF-8 sequence at the start of |s| into |*cp|
// and returns its length (1 to 4), or 0 if |s| is empty or does not start
// with a well-formed sequence: overlong forms, surrogates, values above
// U+10FFFF, stray continuation bytes and cut-off sequences are all 0.
size_t DecodeUtf8(std::string_view s, uint32_t* cp);

// AppendUtf8 appends the encoding of |cp| (which must be a Unicode scalar
// value: at most U+10FFFF and not a surrogate).
void AppendUtf8(uint32_t cp, std::string* out);

// IsShownSafely is false for a code point that would change what a
// terminal, a log viewer or an editor shows around it instead of showing
// itself: C0 and C1 controls, DEL, the line and paragraph separators and
// the bidirectional formatting controls (U+061C, U+200E-U+200F,
// U+202A-U+202E, U+2066-U+2069).
bool IsShownSafely(uint32_t cp);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_UTF8_H_
