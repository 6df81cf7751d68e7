#include "core/key_options.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>

namespace certgate::core {
namespace {

// kFlags are the options sshd's sshauthopt_parse accepts without a value
// (touch-required and verify-required are negatable too, though sshd(8)
// lists only no-touch-required and verify-required).
constexpr std::array<std::string_view, 15> kFlags = {
    "agent-forwarding", "no-agent-forwarding", "port-forwarding", "no-port-forwarding",
    "pty",              "no-pty",              "user-rc",         "no-user-rc",
    "x11-forwarding",   "no-x11-forwarding",   "restrict",        "no-touch-required",
    "touch-required",   "verify-required",     "no-verify-required",
};

// kValued are the options that take name="value".
constexpr std::array<std::string_view, 7> kValued = {
    "command", "environment", "expiry-time", "from", "permitopen", "permitlisten", "tunnel",
};

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// EqualsIgnoreCase compares ASCII case-insensitively, as sshd's strncasecmp.
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

bool IsKeyOptionName(std::string_view name) {
  for (std::string_view known : kFlags) {
    if (EqualsIgnoreCase(name, known)) return true;
  }
  for (std::string_view known : kValued) {
    if (EqualsIgnoreCase(name, known)) return true;
  }
  return EqualsIgnoreCase(name, "cert-authority") || EqualsIgnoreCase(name, "principals");
}

namespace {

// ParseNumber parses decimal digits up to |max|; false if not digits or over.
bool ParseNumber(std::string_view s, uint64_t max, uint64_t* out) {
  if (!IsDigits(s) || s.size() > 19) return false;
  uint64_t n = 0;
  for (char c : s) n = n * 10 + static_cast<uint64_t>(c - '0');
  if (n > max) return false;
  *out = n;
  return true;
}

constexpr char kUnbalancedQuote[] =
    "unbalanced double quote in options; close the value's quote, and write a quote inside it as \\\"";

// Dequote reads a double-quoted value the way sshd's opt_dequote does: only
// \" is an escape, and the closing quote must end the option.
Result<std::string> Dequote(std::string_view name, std::string_view quoted) {
  if (quoted.empty() || quoted.front() != '"') {
    return Fail(Errc::kBadFormat, "the value of " + std::string(name) + " must be in double quotes, e.g. " +
                                      std::string(name) + "=\"...\"");
  }
  std::string value;
  size_t i = 1;
  for (;;) {
    if (i >= quoted.size()) {
      return Fail(Errc::kBadFormat, "missing closing quote in the value of " + std::string(name));
    }
    if (quoted[i] == '\\' && i + 1 < quoted.size() && quoted[i + 1] == '"') {
      value.push_back('"');
      i += 2;
      continue;
    }
    if (quoted[i] == '"') break;
    value.push_back(quoted[i]);
    ++i;
  }
  if (i + 1 != quoted.size()) {
    return Fail(Errc::kBadFormat, "text after the closing quote of " + std::string(name));
  }
  return value;
}

bool ValidPort(std::string_view port) {
  uint64_t n = 0;
  return port == "*" || (ParseNumber(port, 65535, &n) && n > 0);
}

// ValidHostPort checks sshd's "host:port" (host may be "[v6]").
bool ValidHostPort(std::string_view value) {
  std::string_view host;
  std::string_view port;
  if (!value.empty() && value.front() == '[') {
    size_t close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':') return false;
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else {
    size_t colon = value.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;  // bare IPv6 needs brackets
  }
  if (host.empty()) return false;
  for (char c : host) {
    if (c == ' ' || c == '\t' || c == ',') return false;
  }
  return ValidPort(port);
}

// ValidExpiryTime checks YYYYMMDD[HHMM[SS]][Z] (sshd's parse_absolute_time).
bool ValidExpiryTime(std::string_view value) {
  if (!value.empty() && value.back() == 'Z') value.remove_suffix(1);
  if (!IsDigits(value) || (value.size() != 8 && value.size() != 12 && value.size() != 14)) return false;
  auto field = [&](size_t pos, size_t len) {
    uint64_t n = 0;
    (void)ParseNumber(value.substr(pos, len), 9999, &n);
    return n;
  };
  const uint64_t month = field(4, 2);
  const uint64_t day = field(6, 2);
  if (field(0, 4) < 1970 || month < 1 || month > 12 || day < 1 || day > 31) return false;
  if (value.size() >= 12 && (field(8, 2) > 23 || field(10, 2) > 59)) return false;
  if (value.size() == 14 && field(12, 2) > 60) return false;
  return true;
}

// NumericAddress is an address as getaddrinfo(AI_NUMERICHOST) reads it,
// which is how sshd's addr_pton reads one: the same forms, the same libc.
struct NumericAddress {
  int family = AF_UNSPEC;
  std::array<unsigned char, 16> bytes{};
  size_t size = 0;  // 4 or 16
};

std::optional<NumericAddress> ParseNumericAddress(const std::string& text) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* found = nullptr;
  if (getaddrinfo(text.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return std::nullopt;
  const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, &freeaddrinfo);
  NumericAddress out;
  out.family = found->ai_family;
  if (found->ai_family == AF_INET && found->ai_addrlen >= sizeof(sockaddr_in)) {
    out.size = 4;
    std::memcpy(out.bytes.data(), &reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr, out.size);
  } else if (found->ai_family == AF_INET6 && found->ai_addrlen >= sizeof(sockaddr_in6)) {
    out.size = 16;
    std::memcpy(out.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(found->ai_addr)->sin6_addr, out.size);
  } else {
    return std::nullopt;
  }
  return out;
}

// ParseMaskLength reads the text after '/' as sshd's addr_pton_cidr does
// (digits only, the first one included, at most 128): nullopt where sshd
// gives up on CIDR and matches the entry as a pattern instead.
std::optional<uint64_t> ParseMaskLength(std::string_view text) {
  uint64_t bits = 0;
  if (!ParseNumber(text, 128, &bits)) return std::nullopt;
  return bits;
}

// CidrProblem returns why sshd would refuse the from= entry |entry| (its
// '!' removed), or "" if it would not. sshd's addr_match_list reads an
// entry with a '/' as ADDRESS/BITS when it parses as one, and then refuses
// the whole list (so the login) if BITS is too long for the address family
// or the address has bits set after the first BITS; an entry that does not
// parse is matched as a host name pattern.
std::string CidrProblem(std::string_view entry) {
  const size_t slash = entry.find('/');
  if (slash == std::string_view::npos || entry.size() >= 64) return "";  // sshd: 64-byte buffer
  const std::optional<uint64_t> bits = ParseMaskLength(entry.substr(slash + 1));
  if (!bits) return "";
  const std::optional<NumericAddress> address = ParseNumericAddress(std::string(entry.substr(0, slash)));
  if (!address) return "";
  const uint64_t max = address->size * 8;
  if (*bits > max) {
    return "mask /" + std::to_string(*bits) + " is longer than an " + (max == 32 ? "IPv4" : "IPv6") +
           " address (" + std::to_string(max) + " bits)";
  }
  NumericAddress network = *address;
  for (size_t i = 0; i < network.size; ++i) {
    const uint64_t kept = *bits > i * 8 ? std::min<uint64_t>(*bits - i * 8, 8) : 0;
    network.bytes[i] &= static_cast<unsigned char>(0xff00u >> kept);
  }
  if (network.bytes == address->bytes) return "";
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(network.family, network.bytes.data(), text, sizeof text);
  return "the address has bits set after the first " + std::to_string(*bits) + "; write the network, e.g. " +
         text + "/" + std::to_string(*bits);
}

Status CheckValue(std::string_view name, const std::string& value) {
  const std::string n(name);
  if (name == "command") return Ok();
  if (name == "environment") {
    size_t eq = value.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Fail(Errc::kBadFormat, "environment needs NAME=value, e.g. environment=\"LANG=C\"");
    }
    for (size_t i = 0; i < eq; ++i) {
      char c = value[i];
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      if (!ok) return Fail(Errc::kBadFormat, "environment variable name may hold only letters, digits and _");
    }
    return Ok();
  }
  if (name == "expiry-time") {
    if (!ValidExpiryTime(value)) {
      return Fail(Errc::kBadFormat, "expiry-time must be YYYYMMDD[HHMM[SS]][Z], e.g. expiry-time=\"20270101\"");
    }
    return Ok();
  }
  if (name == "from") {
    if (value.empty()) return Fail(Errc::kBadFormat, "from needs a pattern list, e.g. from=\"10.0.0.0/8\"");
    size_t start = 0;
    for (;;) {
      size_t comma = value.find(',', start);
      std::string_view item = std::string_view(value).substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (item.empty() || item == "!") return Fail(Errc::kBadFormat, "from has an empty pattern; remove the empty entry");
      if (item.find_first_of(" \t") != std::string_view::npos) {
        return Fail(Errc::kBadFormat, "from patterns may not contain blanks");
      }
      if (std::string problem = CidrProblem(item.substr(item.front() == '!' ? 1 : 0)); !problem.empty()) {
        return Fail(Errc::kBadFormat, "from entry \"" + std::string(item) + "\": " + problem +
                                          " (sshd would refuse every login with this key)");
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return Ok();
  }
  if (name == "permitopen") {
    if (!ValidHostPort(value)) {
      return Fail(Errc::kBadFormat, "permitopen needs host:port (port a number or *), e.g. permitopen=\"db:5432\"");
    }
    return Ok();
  }
  if (name == "permitlisten") {
    bool ok = value.find(':') == std::string::npos && value.find('[') == std::string::npos
                  ? ValidPort(value)
                  : ValidHostPort(value);
    if (!ok) return Fail(Errc::kBadFormat, "permitlisten needs [host:]port, e.g. permitlisten=\"8080\"");
    return Ok();
  }
  if (name == "tunnel") {
    // misc.c a2tun: "any" in any case (SSH_TUNID_ANY), or a device number
    // up to SSH_TUNID_MAX.
    uint64_t t = 0;
    if (!EqualsIgnoreCase(value, "any") && !ParseNumber(value, 0x7fffffffULL - 2, &t)) {
      return Fail(Errc::kBadFormat, "tunnel needs a device number or any, e.g. tunnel=\"0\"");
    }
    return Ok();
  }
  return Fail(Errc::kBadFormat, "unknown option " + n);
}

// LowerName returns the option name (before '=') in lower case, for the
// duplicate check.
std::string LowerName(std::string_view option) {
  std::string out;
  for (char c : option.substr(0, option.find('='))) out.push_back(Lower(c));
  return out;
}

}  // namespace

Status CheckKeyOption(std::string_view option) {
  if (option.empty()) return Fail(Errc::kBadFormat, "empty option");
  for (char c : option) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Fail(Errc::kBadFormat, "option contains a control character (a tab, newline or other); remove it");
    }
  }
  const size_t eq = option.find('=');
  const std::string_view name = option.substr(0, eq);
  if (EqualsIgnoreCase(name, "cert-authority") || EqualsIgnoreCase(name, "principals")) {
    return Fail(Errc::kBadFormat, std::string(name) + " is refused: certgate writes it itself");
  }
  if (eq == std::string_view::npos) {
    for (std::string_view flag : kFlags) {
      if (EqualsIgnoreCase(name, flag)) return Ok();
    }
    for (std::string_view valued : kValued) {
      if (EqualsIgnoreCase(name, valued)) {
        return Fail(Errc::kBadFormat, std::string(name) + " needs a value: " + std::string(valued) + "=\"...\"");
      }
    }
    return Fail(Errc::kBadFormat, "unknown option \"" + std::string(name) + "\"; see AUTHORIZED_KEYS FILE FORMAT in sshd(8)");
  }
  for (std::string_view flag : kFlags) {
    if (EqualsIgnoreCase(name, flag)) {
      return Fail(Errc::kBadFormat, std::string(name) + " takes no value");
    }
  }
  for (std::string_view valued : kValued) {
    if (!EqualsIgnoreCase(name, valued)) continue;
    Result<std::string> value = Dequote(valued, option.substr(eq + 1));
    if (!value) return Unexpected{value.error()};
    return CheckValue(valued, *value);
  }
  return Fail(Errc::kBadFormat, "unknown option \"" + std::string(name) + "\"; see AUTHORIZED_KEYS FILE FORMAT in sshd(8)");
}

std::optional<std::string> ForcedCommand(std::string_view option) {
  const size_t eq = option.find('=');
  if (eq == std::string_view::npos || !EqualsIgnoreCase(option.substr(0, eq), "command")) return std::nullopt;
  Result<std::string> value = Dequote("command", option.substr(eq + 1));
  if (!value) return std::nullopt;
  return std::move(*value);
}

Status CheckGrantOptions(const std::vector<std::string>& options) {
  for (const std::string& option : options) {
    if (option.find('#') != std::string::npos) {
      return Fail(Errc::kBadFormat, "option " + option.substr(0, option.find('=')) +
                                        " holds '#', where sshd cuts principals-cmd's lines; "
                                        "write it without '#'");
    }
  }
  return Ok();
}

Status CheckKeyOptionSet(const std::vector<std::string>& options) {
  // sshd refuses a second command, from or tunnel clause (auth-options.c).
  bool seen_command = false;
  bool seen_from = false;
  bool seen_tunnel = false;
  for (const std::string& option : options) {
    const std::string name = LowerName(option);
    bool* seen = name == "command" ? &seen_command : name == "from" ? &seen_from : name == "tunnel" ? &seen_tunnel : nullptr;
    if (seen == nullptr) continue;
    if (*seen) return Fail(Errc::kDuplicateOption, "more than one " + name + " option; sshd refuses that");
    *seen = true;
  }
  return Ok();
}

size_t OptionsFieldLength(std::string_view line) {
  bool quoted = false;
  size_t i = 0;
  for (; i < line.size() && (quoted || (line[i] != ' ' && line[i] != '\t')); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '"') {
      ++i;
    } else if (line[i] == '"') {
      quoted = !quoted;
    }
  }
  return quoted ? std::string_view::npos : i;
}

Result<std::vector<std::string>> SplitOptionsField(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted && c == '\\' && i + 1 < text.size() && text[i + 1] == '"') {
      current.append("\\\"");
      ++i;
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      if (current.empty()) return Fail(Errc::kBadFormat, "empty option between commas");
      out.push_back(std::move(current));
      current.clear();
      continue;
    }
    current.push_back(c);
  }
  if (quoted) return Fail(Errc::kBadFormat, kUnbalancedQuote);
  if (current.empty()) return Fail(Errc::kBadFormat, text.empty() ? "empty options" : "empty option after the last comma");
  out.push_back(std::move(current));
  return out;
}

Result<std::vector<std::string>> SplitKeyOptions(std::string_view text) {
  Result<std::vector<std::string>> split = SplitOptionsField(text);
  if (!split) return split;
  for (const std::string& option : *split) {
    Status s = CheckKeyOption(option);
    if (!s) return Unexpected{s.error()};
  }
  Status set = CheckKeyOptionSet(*split);
  if (!set) return Unexpected{set.error()};
  return split;
}

Result<AuthorizedKeysLine> ParseAuthorizedKeysLine(std::string_view line) {
  size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos || line[start] == '#') {
    return Fail(Errc::kBadFormat, "empty line or comment, not a key");
  }
  line.remove_prefix(start);
  AuthorizedKeysLine out;
  const std::string_view first = line.substr(0, line.find_first_of(" \t"));
  if (!KeyTypeFromName(first) && !IsCertTypeName(first)) {
    // Options come first: skip to the first blank outside quotes, exactly
    // like sshkey_advance_past_options.
    const size_t i = OptionsFieldLength(line);
    if (i == std::string_view::npos) return Fail(Errc::kBadFormat, kUnbalancedQuote);
    Result<std::vector<std::string>> options = SplitKeyOptions(line.substr(0, i));
    if (!options) return Unexpected{options.error()};
    out.options = std::move(*options);
    line.remove_prefix(i);
    size_t key_start = line.find_first_not_of(" \t");
    if (key_start == std::string_view::npos) return Fail(Errc::kBadFormat, "options but no key");
    line.remove_prefix(key_start);
  }
  const std::string_view type = line.substr(0, line.find_first_of(" \t"));
  if (IsCertTypeName(type)) {
    return Fail(Errc::kUnsupportedType, "a certificate is not a user key; give the plain public key");
  }
  if (!KeyTypeFromName(type)) {
    return Fail(Errc::kUnsupportedType, "unknown key type \"" + std::string(type) + "\"");
  }
  Result<AuthorizedKey> key = ParsePublicKeyLine(line);
  if (!key) return Unexpected{key.error()};
  out.key = std::move(key->key);
  out.comment = std::move(key->comment);
  return out;
}

}  // namespace certgate::core
