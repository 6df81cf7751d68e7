#include "core/sshd_output.h"

#include <cstdint>
#include <string>

#include "core/certificate.h"
#include "core/utf8.h"

namespace certgate::core {
namespace {

// JoinOptions joins a rule's or a user_keys line's options with ','.
template <typename Strings>
std::string JoinOptions(const Strings& options) {
  std::string out;
  for (std::string_view option : options) {
    if (!out.empty()) out.push_back(',');
    out.append(option);
  }
  return out;
}

}  // namespace

bool IsPrintablePrincipal(std::string_view principal) {
  if (principal.empty() || principal.size() > kMaxNameLength) return false;
  while (!principal.empty()) {
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(principal, &cp);
    if (len == 0 || !IsShownSafely(cp) || cp == ' ' || cp == '#' || cp == '"' || cp == ',' ||
        cp == '\\') {
      return false;
    }
    principal.remove_prefix(len);
  }
  return true;
}

std::string FormatPrincipalsOutput(const std::vector<Grant>& grants) {
  std::string out;
  for (const Grant& grant : grants) {
    if (!IsPrintablePrincipal(grant.principal)) continue;  // never reached: Evaluate filters
    if (grant.rule.valid() && !grant.rule.options().empty()) {
      out.append(JoinOptions(grant.rule.options()));
      out.push_back(' ');
    }
    out.append(grant.principal);
    out.push_back('\n');
  }
  return out;
}

std::string FormatCertAuthorityLines(const std::vector<Grant>& grants, const PublicKey& ca_key) {
  // Group principals by option set, keeping the order of first appearance.
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  for (const Grant& grant : grants) {
    if (!IsPrintablePrincipal(grant.principal)) continue;
    std::string options = grant.rule.valid() ? JoinOptions(grant.rule.options()) : "";
    auto it = groups.begin();
    while (it != groups.end() && it->first != options) ++it;
    if (it == groups.end()) {
      groups.emplace_back(options, std::vector<std::string>{});
      it = groups.end() - 1;
    }
    it->second.push_back(grant.principal);
  }
  const std::string key = FormatPublicKeyLine(ca_key);
  std::string out;
  for (const auto& [options, principals] : groups) {
    out.append("cert-authority,principals=\"");
    for (size_t i = 0; i < principals.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append(principals[i]);
    }
    out.push_back('"');
    if (!options.empty()) {
      out.push_back(',');
      out.append(options);
    }
    out.push_back(' ');
    out.append(key);
    out.push_back('\n');
  }
  return out;
}

std::string FormatAuthorizedKeysLine(const AuthorizedKeysLine& line) {
  std::string out = JoinOptions(line.options);
  if (!out.empty()) out.push_back(' ');
  out.append(FormatPublicKeyLine(line.key, line.comment));
  out.push_back('\n');
  return out;
}

}  // namespace certgate::core
