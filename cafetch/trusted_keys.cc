#include "cafetch/trusted_keys.h"

#include "core/ssh_key.h"

namespace certgate::cafetch {
namespace {

std::string CleanComment(std::string_view comment) {
  std::string out;
  for (char c : comment) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u >= 0x7f || c == '#' ? '_' : c);
  }
  return out;
}

}  // namespace

core::Result<std::string> RenderTrustedKeys(const std::vector<CaKey>& keys,
                                            std::string_view source) {
  if (keys.empty()) return core::Fail(core::Errc::kBadFormat, "no CA keys to trust");
  std::string text = "# Written by cafetch (certgate) from " + CleanComment(source) +
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
