#include "tests/certificate_testing.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <sstream>

#include "core/wire_reader.h"

namespace certgate::testing {
namespace {

using core::Certificate;
using core::CertOption;
using core::KeyType;
using core::WireReader;
using core::WireWriter;

constexpr uint64_t kForever = ~uint64_t{0};

std::string ShortName(KeyType type) {
  switch (type) {
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEcdsaP256:
    case KeyType::kEcdsaP384:
    case KeyType::kEcdsaP521:
      return "ECDSA";
    case KeyType::kEd25519:
      return "ED25519";
    case KeyType::kSkEcdsaP256:
      return "ECDSA-SK";
    case KeyType::kSkEd25519:
      return "ED25519-SK";
  }
  return "?";
}

// Time follows misc.c format_absolute_time (which clamps to
// SSH_TIME_T_MAX); where the C library cannot convert the time, ssh-keygen
// prints whatever the uninitialised struct tm held, so there is nothing to
// compare: kUnprintableTime.
std::string Time(uint64_t t) {
  constexpr uint64_t kTimeMax = static_cast<uint64_t>(INT64_MAX);
  std::time_t tt = static_cast<std::time_t>(std::min(t, kTimeMax));
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return std::string(kUnprintableTime);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// Validity follows sshkey_format_cert_validity.
std::string Validity(const Certificate& c) {
  if (c.valid_after == 0 && c.valid_before == kForever) return "forever";
  if (c.valid_after == 0) return "before " + Time(c.valid_before);
  if (c.valid_before == kForever) return "after " + Time(c.valid_after);
  return "from " + Time(c.valid_after) + " to " + Time(c.valid_before);
}

bool IsKnownFlagExtension(const std::string& name) {
  return name == "permit-X11-forwarding" || name == "permit-agent-forwarding" ||
         name == "permit-port-forwarding" || name == "permit-pty" || name == "permit-user-rc" ||
         name == "no-touch-required";
}

// RenderOptions follows ssh-keygen.c show_options; |raw| is each option's
// data as it stands in the blob.
void RenderOptions(const char* title, const std::vector<CertOption>& options, const OptionList& raw,
                   bool critical, std::string* out) {
  const std::string indent = "                ";
  *out += std::string("        ") + title + ": " + (options.empty() ? "(none)" : "") + "\n";
  EXPECT_EQ(options.size(), raw.size()) << title;
  for (size_t i = 0; i < options.size(); ++i) {
    const CertOption& o = options[i];
    const Bytes data = i < raw.size() ? raw[i].second : Bytes();
    *out += indent + o.name;
    if (!critical && IsKnownFlagExtension(o.name)) {
    } else if (critical && (o.name == "force-command" || o.name == "source-address")) {
      *out += " " + o.value;
    } else if (critical && o.name == "verify-required") {
    } else if (!data.empty()) {
      EXPECT_FALSE(o.is_flag) << o.name;
      *out += " UNKNOWN OPTION: " + Hex(data) + " (len " + std::to_string(data.size()) + ")";
    } else {
      EXPECT_TRUE(o.is_flag) << o.name;
      *out += " UNKNOWN FLAG OPTION";
    }
    *out += "\n";
  }
}

bool ReadBytesField(WireReader* r, Bytes* out) {
  std::span<const uint8_t> s;
  if (!r->ReadString(&s)) return false;
  out->assign(s.begin(), s.end());
  return true;
}

}  // namespace

std::string Hex(std::span<const uint8_t> bytes) {
  std::string s;
  for (uint8_t x : bytes) {
    s += "0123456789abcdef"[x >> 4];
    s += "0123456789abcdef"[x & 15];
  }
  return s;
}

std::string Describe(const Certificate& c) {
  std::optional<CertFields> fields = SplitCertificate(c.blob);
  EXPECT_TRUE(fields.has_value()) << "blob of a parsed certificate does not split";
  std::optional<OptionList> critical = fields ? SplitOptions(fields->critical) : std::nullopt;
  std::optional<OptionList> extensions = fields ? SplitOptions(fields->extensions) : std::nullopt;
  std::string s;
  s += "        Type: " + c.type_name + (c.cert_type == core::kCertTypeUser ? " user" : " host") +
       " certificate\n";
  s += "        Public key: " + ShortName(c.key.type) + "-CERT " +
       core::Sha256Fingerprint(c.key.blob) + "\n";
  s += "        Signing CA: " + ShortName(c.signature_key.type) + " " +
       core::Sha256Fingerprint(c.signature_key.blob) + " (using " + c.signature.algorithm + ")\n";
  s += "        Key ID: \"" + c.key_id + "\"\n";
  s += "        Serial: " + std::to_string(c.serial) + "\n";
  s += "        Valid: " + Validity(c) + "\n";
  s += std::string("        Principals: ") + (c.principals.empty() ? "(none)" : "") + "\n";
  for (const auto& p : c.principals) s += "                " + p + "\n";
  RenderOptions("Critical Options", c.critical_options, critical.value_or(OptionList()), true, &s);
  RenderOptions("Extensions", c.extensions, extensions.value_or(OptionList()), false, &s);
  return s;
}

std::string KeygenDescribe(const std::string& path) {
  CommandResult r = Run({"env", "TZ=UTC", "ssh-keygen", "-L", "-f", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  size_t nl = r.out.find('\n');
  return nl == std::string::npos ? "" : r.out.substr(nl + 1);
}

std::vector<std::optional<std::string>> KeygenDescribeAll(const TempDir& dir,
                                                          const std::string& tag,
                                                          const std::vector<std::string>& lines) {
  std::vector<std::optional<std::string>> result(lines.size());
  size_t start = 0;
  for (int round = 0; start < lines.size(); ++round) {
    // do_show_cert reads the file line by line and prints "PATH:N:" before
    // each certificate it accepts. Line 1 is a comment, so that every
    // certificate gets a numbered header.
    std::string path = dir.Path(tag + "-" + std::to_string(round) + ".pub");
    std::string text = "# batch\n";
    for (size_t i = start; i < lines.size(); ++i) text += lines[i] + "\n";
    WriteFile(path, text);
    // stdbuf: ssh-keygen's fatal() leaves with _exit, dropping buffered
    // output; line buffering shows which certificate it died on.
    CommandResult r = Run({"env", "TZ=UTC", "stdbuf", "-oL", "ssh-keygen", "-L", "-f", path});
    std::optional<size_t> current;
    std::istringstream out(r.out);
    std::string line;
    const std::string prefix = path + ":";
    while (std::getline(out, line)) {
      size_t index = 0;
      if (line.size() > prefix.size() + 1 && line.compare(0, prefix.size(), prefix) == 0 &&
          line.back() == ':') {
        std::string number = line.substr(prefix.size(), line.size() - prefix.size() - 1);
        bool digits = std::all_of(number.begin(), number.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        });
        if (digits) index = start + std::stoul(number) - 2;
        if (digits && index < lines.size()) {
          current = index;
          result[index] = "";
          continue;
        }
      }
      if (!current) {
        ADD_FAILURE() << "ssh-keygen output before any header: " << line;
        return result;
      }
      *result[*current] += line + "\n";
    }
    unlink(path.c_str());
    if (r.exit_code == 0 || r.exit_code == 1) break;
    // A fatal error (or a crash) while printing the last certificate.
    if (!current || *current < start) {
      ADD_FAILURE() << "ssh-keygen failed before any certificate: " << r.exit_code << " " << r.err;
      return result;
    }
    result[*current].reset();
    start = *current + 1;
  }
  return result;
}

std::optional<OptionList> SplitOptions(std::span<const uint8_t> section) {
  WireReader r(section);
  OptionList list;
  while (!r.empty()) {
    std::span<const uint8_t> name;
    Bytes data;
    if (!r.ReadString(&name) || !ReadBytesField(&r, &data)) return std::nullopt;
    list.emplace_back(std::string(core::AsStringView(name)), std::move(data));
  }
  return list;
}

Bytes JoinOptions(const OptionList& list) {
  WireWriter w;
  for (const auto& [name, data] : list) {
    w.PutString(name);
    w.PutString(data);
  }
  return w.Take();
}

std::optional<std::vector<Bytes>> SplitStrings(std::span<const uint8_t> section) {
  WireReader r(section);
  std::vector<Bytes> items;
  while (!r.empty()) {
    Bytes item;
    if (!ReadBytesField(&r, &item)) return std::nullopt;
    items.push_back(std::move(item));
  }
  return items;
}

Bytes JoinStrings(const std::vector<Bytes>& items) {
  WireWriter w;
  for (const auto& item : items) w.PutString(item);
  return w.Take();
}

Bytes StringBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes WireString(std::span<const uint8_t> bytes) {
  WireWriter w;
  w.PutString(bytes);
  return w.Take();
}

size_t KeyFieldCount(std::string_view type_name) {
  if (type_name == "ssh-rsa-cert-v01@openssh.com" ||
      type_name == "rsa-sha2-256-cert-v01@openssh.com" ||
      type_name == "rsa-sha2-512-cert-v01@openssh.com" ||
      type_name.starts_with("ecdsa-sha2-nistp") ||
      type_name == "sk-ssh-ed25519-cert-v01@openssh.com") {
    return 2;
  }
  if (type_name == "ssh-ed25519-cert-v01@openssh.com") return 1;
  if (type_name == "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com") return 3;
  if (type_name == "ssh-dss-cert-v01@openssh.com") return 4;
  return 0;
}

Bytes CertFields::Tbs() const {
  WireWriter w;
  w.PutString(type_name);
  w.PutString(nonce);
  for (const auto& field : key) w.PutString(field);
  w.PutU64(serial);
  w.PutU32(cert_type);
  w.PutString(key_id);
  w.PutString(principals);
  w.PutU64(valid_after);
  w.PutU64(valid_before);
  w.PutString(critical);
  w.PutString(extensions);
  w.PutString(reserved);
  w.PutString(signature_key);
  return w.Take();
}

Bytes CertFields::Blob() const {
  WireWriter w;
  w.PutBytes(Tbs());
  w.PutString(signature);
  w.PutBytes(trailing);
  return w.Take();
}

std::optional<CertFields> SplitCertificate(std::span<const uint8_t> blob) {
  WireReader r(blob);
  CertFields f;
  std::span<const uint8_t> name;
  if (!r.ReadString(&name)) return std::nullopt;
  f.type_name = std::string(core::AsStringView(name));
  // sshbuf_get_cstring drops one NUL at the very end of a string.
  std::string_view type_name = f.type_name;
  if (type_name.ends_with('\0')) type_name.remove_suffix(1);
  size_t count = KeyFieldCount(type_name);
  if (count == 0 || !ReadBytesField(&r, &f.nonce)) return std::nullopt;
  f.key.resize(count);
  for (auto& field : f.key) {
    if (!ReadBytesField(&r, &field)) return std::nullopt;
  }
  if (!r.ReadU64(&f.serial) || !r.ReadU32(&f.cert_type) || !ReadBytesField(&r, &f.key_id) ||
      !ReadBytesField(&r, &f.principals) || !r.ReadU64(&f.valid_after) ||
      !r.ReadU64(&f.valid_before) || !ReadBytesField(&r, &f.critical) ||
      !ReadBytesField(&r, &f.extensions) || !ReadBytesField(&r, &f.reserved) ||
      !ReadBytesField(&r, &f.signature_key) || !ReadBytesField(&r, &f.signature)) {
    return std::nullopt;
  }
  f.trailing.assign(r.rest().begin(), r.rest().end());
  return f;
}

}  // namespace certgate::testing
