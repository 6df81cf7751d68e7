#include "cafetch/trusted_keys.h"

#include "core/ssh_key.h"
#include "core/utf8.h"

namespace certgate::cafetch {
namespace {

// CleanComment keeps what a person can read of |comment| and shows as
// itself: printable UTF-8 except '#'. Each other character (controls, C1
// and bidirectional controls) and each byte of malformed UTF-8 becomes
// one '_'.
std::string CleanComment(std::string_view comment) {
  std::string out;
  while (!comment.empty()) {
    uint32_t cp = 0;
    const size_t n = core::DecodeUtf8(comment, &cp);
    if (n == 0 || !core::IsShownSafely(cp) || cp == '#') {
      out.push_back('_');
    } else {
      out.append(comment.substr(0, n));
    }
    comment.remove_prefix(n == 0 ? 1 : n);
  }
  return out;
}

}  // namespace

bool WrittenByCafetch(std::string_view text) { return text.starts_with(kTrustedKeysHeader); }

core::Result<std::string> RenderTrustedKeys(const std::vector<CaKey>& keys,
                                            std::string_view source) {
  if (keys.empty()) return core::Fail(core::Errc::kBadFormat, "no CA keys to trust");
  std::string text = std::string(kTrustedKeysHeader) + CleanComment(source) +
                     ". Do not edit: the next run replaces this file.\n";
  for (const CaKey& k : keys) {
    text += core::FormatPublicKeyLine(k.key, CleanComment(k.comment));
    text += '\n';
  }
  return text;
}

core::Result<size_t> CheckTrustedKeys(std::string_view text) {
  size_t keys = 0;
  size_t line_no = 0;
  std::string_view line;
  while (core::NextKeyFileLine(&text, &line_no, &line)) {
    core::Result<core::AuthorizedKey> key = core::ParsePublicKeyLine(line);
    if (!key) {
      return core::Fail(core::Errc::kBadFormat, "line " + std::to_string(line_no) +
                                                    " is not a key sshd can read: " +
                                                    key.error().detail);
    }
    ++keys;
  }
  if (keys == 0) return core::Fail(core::Errc::kBadFormat, "no CA key in the file");
  return keys;
}

}  // namespace certgate::cafetch
