#include "cafetch/sshd_check.h"

#include <algorithm>
#include <cctype>

#include "cafetch/subprocess.h"
#include "core/log.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// FirstLine returns the first non-empty line of |text|, escaped for a log.
std::string FirstLine(std::string_view text) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // a CRLF file's line, quoted by sshd
    if (!line.empty()) return core::EscapeForLog(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return "(no output)";
}

bool ListContains(std::string_view list, std::string_view item) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (list.substr(0, comma) == item) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

constexpr uint64_t kSshdTimeoutMs = 30000;

// ConfigName returns how a message names |d|'s keyword: as sshd_config(5)
// spells it, with the old name of a renamed keyword too, so that a grep
// of the admin's files finds either spelling.
std::string ConfigName(const Directive& d) {
  const std::string key = Lower(d.keyword);
  if (key == "pubkeyacceptedalgorithms" || key == "pubkeyacceptedkeytypes") {
    return "PubkeyAcceptedAlgorithms (or its old name PubkeyAcceptedKeyTypes)";
  }
  return d.keyword;
}

}  // namespace

core::Result<SshdVersion> DetectSshdVersion(const std::string& binary) {
  core::Result<ChildResult> r = RunChild({binary, "-V"}, kSshdTimeoutMs);
  if (!r) return core::Unexpected{r.error()};
  core::Result<SshdVersion> v = ParseSshdVersion(r->err + "\n" + r->out);
  if (!v) return Fail(Errc::kBadFormat, binary + " -V: " + v.error().detail);
  return v;
}

core::Status CheckSshdConfig(const std::string& binary, const std::string& config) {
  core::Result<ChildResult> r = RunChild({binary, "-t", "-f", config}, kSshdTimeoutMs);
  if (!r) return core::Unexpected{r.error()};
  if (!r->exited_cleanly) {
    return Fail(Errc::kBadFormat, "sshd -t -f " + config + " failed (" + r->Describe() +
                                      "): " + FirstLine(r->err));
  }
  return core::Ok();
}

EffectiveConfig ParseEffectiveConfig(std::string_view text) {
  EffectiveConfig out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t sp = line.find(' ');
    if (line.empty() || sp == 0) continue;
    std::string_view value = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    out.emplace_back(Lower(line.substr(0, sp)), std::string(value));
  }
  return out;
}

core::Result<EffectiveConfig> DumpEffectiveConfig(const std::string& binary,
                                                  const std::string& config) {
  core::Result<ChildResult> r =
      RunChild({binary, "-T", "-f", config, "-C", kConnectionSpec}, kSshdTimeoutMs);
  if (!r) return core::Unexpected{r.error()};
  if (!r->exited_cleanly) {
    return Fail(Errc::kBadFormat, "sshd -T -f " + config + " failed (" + r->Describe() +
                                      "): " + FirstLine(r->err));
  }
  return ParseEffectiveConfig(r->out);
}

std::string EffectiveValue(const EffectiveConfig& effective, std::string_view keyword) {
  for (const auto& [key, value] : effective) {
    if (key == keyword) return value;
  }
  return "";
}

core::Status VerifyEffective(const EffectiveConfig& effective,
                             const std::vector<Directive>& wanted) {
  for (const Directive& d : wanted) {
    std::string key = Lower(d.keyword);
    // sshd -T prints the current name of a renamed keyword.
    if (key == "pubkeyacceptedkeytypes" && EffectiveValue(effective, key).empty()) {
      key = "pubkeyacceptedalgorithms";
    }
    std::string have = EffectiveValue(effective, key);
    if (!d.value.empty() && d.value[0] == '+') {
      std::string_view items(d.value);
      items.remove_prefix(1);
      while (!items.empty()) {
        size_t comma = items.find(',');
        std::string_view item = items.substr(0, comma);
        if (!ListContains(have, item)) {
          return Fail(Errc::kBadFormat, "sshd -T shows " + key + " without " + std::string(item) +
                                            " (an earlier line in the configuration wins?); remove or change the "
                                            "admin's own " + ConfigName(d) + " line that comes first");
        }
        if (comma == std::string_view::npos) break;
        items.remove_prefix(comma + 1);
      }
      continue;
    }
    if (have == d.value) continue;
    std::string why = " (an earlier line in the configuration wins: the first value is used); remove the " +
                      ConfigName(d) + " line that comes before cafetch's, in sshd_config or an earlier drop-in";
    if (key == "authorizedprincipalscommand" && have == "none") {
      why = " (OpenSSH 9.2 drops AuthorizedPrincipalsCommand when an AuthorizedKeysCommand "
            "comes before it); remove that AuthorizedKeysCommand line or set sshd.manage_principals_command: false";
    }
    return Fail(Errc::kBadFormat, "sshd -T shows " + key + " " +
                                      (have.empty() ? std::string("unset") : core::EscapeForLog(have)) +
                                      ", not " + d.value + why);
  }
  return core::Ok();
}

}  // namespace certgate::cafetch
