// Each issuer's answer shape -> CaKey list; all or nothing.
#include "cafetch/issuers.h"

#include <utility>

#include "cafetch/json.h"
#include "cafetch/sshsig.h"
#include "core/base64.h"
#include "core/key_options.h"
#include "core/wire_reader.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;
using core::Result;
using core::Status;
using core::Unexpected;

// Collector de-duplicates keys by blob and enforces kMaxCaKeys.
class Collector {
 public:
  // |type| is the issuer type the answer is parsed as (for messages).
  explicit Collector(IssuerType type) : type_(type) {}
  IssuerType type() const { return type_; }
  Status Add(core::PublicKey key, std::string comment) {
    for (const CaKey& existing : keys_) {
      if (existing.key == key) return core::Ok();
    }
    if (keys_.size() >= kMaxCaKeys) {
      return Fail(Errc::kTooLarge, "answer lists more than " + std::to_string(kMaxCaKeys) + " keys");
    }
    keys_.push_back(CaKey{std::move(key), std::move(comment)});
    return core::Ok();
  }
  Result<std::vector<CaKey>> Finish() {
    if (keys_.empty()) return Fail(Errc::kBadFormat, "answer holds no key");
    return std::move(keys_);
  }

 private:
  IssuerType type_;
  std::vector<CaKey> keys_;
};

// HasControl is true for any byte sshd or a log would mis-read in a key
// line (tab is a blank and allowed).
bool HasControl(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return true;
  }
  return false;
}

std::string EntryLabel(size_t n) { return "entry " + std::to_string(n); }

Status WithContext(const Status& s, const std::string& where) {
  return Fail(s.error().code, where + ": " + s.error().detail);
}

// Why a line or blob is refused, each ending with what to do about it.
constexpr char kDsaRefused[] =
    "ssh-dss (DSA) keys are not supported (OpenSSH disabled DSA in 7.0 and removed it in 9.8); ask the "
    "issuer for an Ed25519, ECDSA or RSA CA key";
constexpr char kKnownHostsLine[] =
    "a known_hosts line (@cert-authority or @revoked before the key type) is not a CA key line; "
    "that is a host CA export: fetch the user CA key (for teleport, /webapi/auth/export?type=user)";
constexpr char kTeleportLine[] =
    "key options (cert-authority) are not allowed in a CA key answer; \"cert-authority keytype "
    "base64\" is Teleport's export format: set issuer.type: teleport (cafetch then removes the "
    "cert-authority prefix)";
constexpr char kKeyOptions[] =
    "key options before the key type are not allowed in a CA key answer (a line is `keytype base64 "
    "[comment]`, as sshd reads TrustedUserCAKeys); ask the issuer for plain key lines";

// SaysWhatToDo is true for a parse error that already ends with its
// remedy, which the generic "check issuer.url and issuer.type" would only
// blur.
bool SaysWhatToDo(std::string_view detail) {
  for (std::string_view advice : {kDsaRefused, kKnownHostsLine, kTeleportLine, kKeyOptions}) {
    if (detail.ends_with(advice)) return true;
  }
  return false;
}

// IsKeyTypeWord is true for a word sshd could read as a key line's type.
bool IsKeyTypeWord(std::string_view word) {
  return word == "ssh-dss" || core::KeyTypeFromName(word) || core::IsCertTypeName(word);
}

// OptionListLength returns the length of the authorized_keys option list
// |line| starts with (the options field as sshd reads it,
// core::OptionsFieldLength and SplitOptionsField, each item `name` or
// `name="value"` with a name sshd knows), or 0 if it starts with none: an
// HTML page, an error message or another API's answer that names a key
// type is not taken for one.
size_t OptionListLength(std::string_view line) {
  const size_t end = core::OptionsFieldLength(line);
  if (end == std::string_view::npos) return 0;
  core::Result<std::vector<std::string>> options = core::SplitOptionsField(line.substr(0, end));
  if (!options) return 0;
  for (std::string_view option : *options) {
    const size_t eq = option.find('=');
    if (!core::IsKeyOptionName(option.substr(0, eq))) return 0;
    if (eq != std::string_view::npos && (option.size() < eq + 3 || option[eq + 1] != '"' || option.back() != '"')) {
      return 0;  // a value is double-quoted, whole
    }
  }
  return end;
}

// TakeWord removes |rest|'s first blank-separated word (and the blanks
// before it) and returns it; "" if there is none.
std::string_view TakeWord(std::string_view* rest) {
  const size_t start = rest->find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    *rest = {};
    return {};
  }
  rest->remove_prefix(start);
  const std::string_view word = rest->substr(0, rest->find_first_of(" \t"));
  rest->remove_prefix(word.size());
  return word;
}

// WhyNotAKeyLine explains a line whose first word cannot start a CA key
// line in terms the issuer's admin can act on, or returns "" to leave the
// line to ParsePublicKeyLine: a DSA key, a known_hosts marker (and its
// host patterns) or key options before the key type (sshd reads
// TrustedUserCAKeys lines without options).
std::string WhyNotAKeyLine(std::string_view line, IssuerType type) {
  const size_t start = line.find_first_not_of(" \t");  // teleport's lines still hold the blank
  if (start == std::string_view::npos) return "";
  line.remove_prefix(start);
  std::string_view rest = line;
  const std::string_view first = TakeWord(&rest);
  if (first == "ssh-dss") return kDsaRefused;
  if (IsKeyTypeWord(first)) return "";
  if (first == "@cert-authority" || first == "@revoked") {
    // "@marker patterns keytype base64": the key type comes third.
    const bool has_patterns = !TakeWord(&rest).empty();
    return has_patterns && IsKeyTypeWord(TakeWord(&rest)) ? kKnownHostsLine : "";
  }
  const size_t options = OptionListLength(line);
  std::string_view after_options = line.substr(options);
  if (options == 0 || !IsKeyTypeWord(TakeWord(&after_options))) return "";
  if (line.substr(0, options) == "cert-authority" && type != IssuerType::kTeleport) return kTeleportLine;
  return kKeyOptions;
}

// AddKeyLine parses one `keytype base64 [comment]` line (already known to
// be neither blank nor a comment) into |out|.
Status AddKeyLine(std::string_view line, const std::string& where, Collector* out) {
  if (HasControl(line)) return Fail(Errc::kBadFormat, where + ": control character");
  std::string why = WhyNotAKeyLine(line, out->type());
  if (!why.empty()) return Fail(Errc::kUnsupportedType, where + ": " + why);
  Result<core::AuthorizedKey> parsed = core::ParsePublicKeyLine(line);
  if (!parsed) return WithContext(Unexpected{parsed.error()}, where);
  return out->Add(std::move(parsed->key), std::move(parsed->comment));
}

// AddBlob parses a bare base64 key blob (step's userKey entries).
Status AddBlob(std::string_view text, const std::string& where, Collector* out) {
  Result<std::vector<uint8_t>> blob = core::Base64Decode(text);
  if (!blob) return WithContext(Unexpected{blob.error()}, where);
  Result<core::PublicKey> key = core::ParsePublicKeyBlob(*blob);
  // Every ssh-dss blob starts with the string "ssh-dss" (these base64
  // characters): say why it is refused rather than "unknown key type".
  if (!key && text.substr(0, 15) == "AAAAB3NzaC1kc3M") {
    return Fail(Errc::kUnsupportedType, where + ": " + kDsaRefused);
  }
  if (!key) return WithContext(Unexpected{key.error()}, where);
  return out->Add(std::move(*key), "");
}

// AddLineOrBlob accepts a key line, or a bare blob when there is no blank.
Status AddLineOrBlob(std::string_view text, const std::string& where, Collector* out) {
  if (text.empty()) return Fail(Errc::kBadFormat, where + ": empty, no key");
  if (HasControl(text)) return Fail(Errc::kBadFormat, where + ": control character");
  if (text.find_first_of(" \t") == std::string_view::npos) return AddBlob(text, where, out);
  return AddKeyLine(text, where, out);
}

// ForEachLine calls |fn| with each line that is neither blank nor a `#`
// comment, a trailing CR removed, and its 1-based number.
template <typename F>
Status ForEachLine(std::string_view body, F&& fn) {
  size_t number = 0;
  while (!body.empty()) {
    ++number;
    size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    Status s = fn(line.substr(first), "line " + std::to_string(number));
    if (!s) return s;
  }
  return core::Ok();
}

Status ParseKeyLines(std::string_view body, Collector* out) {
  return ForEachLine(body, [&](std::string_view line, const std::string& where) {
    return AddKeyLine(line, where, out);
  });
}

Status ParseTeleport(std::string_view body, Collector* out) {
  constexpr std::string_view kPrefix = "cert-authority";
  return ForEachLine(body, [&](std::string_view line, const std::string& where) -> Status {
    if (line.substr(0, kPrefix.size()) == kPrefix && line.size() > kPrefix.size() &&
        (line[kPrefix.size()] == ' ' || line[kPrefix.size()] == '\t')) {
      line.remove_prefix(kPrefix.size());
    } else if (line.substr(0, kPrefix.size()) == kPrefix) {
      // "cert-authority,opt=..." or a bare "cert-authority": options are
      // not something we can carry into TrustedUserCAKeys.
      return Fail(Errc::kBadFormat, where + ": cert-authority with options or without a key");
    }
    return AddKeyLine(line, where, out);
  });
}

Result<JsonValue> ParseJsonAnswer(std::string_view body) {
  Result<JsonValue> json = ParseJson(body);
  if (!json) return Fail(json.error().code, "answer is not valid JSON: " + json.error().detail);
  return json;
}

Status ParseVault(std::string_view body, Collector* out) {
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || body[first] != '{') return ParseKeyLines(body, out);
  Result<JsonValue> json = ParseJsonAnswer(body);
  if (!json) return Unexpected{json.error()};
  const JsonValue* data = json->Find("data");
  const JsonValue* key = data != nullptr ? data->Find("public_key") : nullptr;
  if (key == nullptr || key->kind != JsonValue::Kind::kString) {
    return Fail(Errc::kBadFormat, "vault JSON answer has no string data.public_key");
  }
  return ParseKeyLines(key->text, out);
}

Status ParseStep(std::string_view body, Collector* out) {
  Result<JsonValue> json = ParseJsonAnswer(body);
  if (!json) return Unexpected{json.error()};
  const JsonValue* user = json->Find("userKey");
  if (user == nullptr || user->kind != JsonValue::Kind::kArray) {
    return Fail(Errc::kBadFormat, "step answer has no userKey array");
  }
  for (size_t i = 0; i < user->items.size(); ++i) {
    const JsonValue& item = user->items[i];
    if (item.kind != JsonValue::Kind::kString) {
      return Fail(Errc::kBadFormat, "userKey " + EntryLabel(i + 1) + " is not a string");
    }
    Status s = AddLineOrBlob(item.text, "userKey " + EntryLabel(i + 1), out);
    if (!s) return s;
  }
  return core::Ok();
}

Status ParseAkeyless(std::string_view body, Collector* out) {
  Result<JsonValue> json = ParseJsonAnswer(body);
  if (!json) return Unexpected{json.error()};
  const JsonValue* ssh = json->Find("ssh");
  if (ssh == nullptr || ssh->kind != JsonValue::Kind::kString) {
    return Fail(Errc::kBadFormat, "akeyless answer has no string \"ssh\"");
  }
  std::string_view text = ssh->text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return AddLineOrBlob(text, "ssh", out);
}

Status AddStringList(const JsonValue& list, const std::string& name, Collector* out) {
  for (size_t i = 0; i < list.items.size(); ++i) {
    const JsonValue& item = list.items[i];
    const std::string where = name + " " + EntryLabel(i + 1);
    if (item.kind != JsonValue::Kind::kString) return Fail(Errc::kBadFormat, where + " is not a string");
    std::string_view text = item.text;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    Status s = AddKeyLine(text, where, out);
    if (!s) return s;
  }
  return core::Ok();
}

Status ParseCyberark(std::string_view body, Collector* out) {
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (body[first] != '{' && body[first] != '[')) {
    return ParseKeyLines(body, out);
  }
  Result<JsonValue> json = ParseJsonAnswer(body);
  if (!json) return Unexpected{json.error()};
  if (json->kind == JsonValue::Kind::kArray) return AddStringList(*json, "array", out);
  const JsonValue* found = nullptr;
  std::string found_name;
  for (std::string_view name : {"publicKeys", "public_keys", "keys", "publicKey", "public_key", "key"}) {
    if (const JsonValue* v = json->Find(name)) {
      if (found != nullptr) return Fail(Errc::kBadFormat, "cyberark answer names its keys twice");
      found = v;
      found_name = name;
    }
  }
  if (found == nullptr) return Fail(Errc::kBadFormat, "cyberark JSON answer has no key list");
  if (found->kind == JsonValue::Kind::kArray) return AddStringList(*found, found_name, out);
  if (found->kind == JsonValue::Kind::kString) return ParseKeyLines(found->text, out);
  return Fail(Errc::kBadFormat, "cyberark " + found_name + " is neither a list nor a string");
}

}  // namespace

Result<std::vector<CaKey>> ParseIssuerAnswer(IssuerType type, std::string_view body) {
  if (body.size() > kMaxAnswerBytes) return Fail(Errc::kTooLarge, "answer larger than 1 MiB");
  if (body.find('\0') != std::string_view::npos) return Fail(Errc::kBadFormat, "answer contains a NUL byte");
  Collector keys(type);
  Status s;
  switch (type) {
    case IssuerType::kVault: s = ParseVault(body, &keys); break;
    case IssuerType::kStep: s = ParseStep(body, &keys); break;
    case IssuerType::kAkeyless: s = ParseAkeyless(body, &keys); break;
    case IssuerType::kCyberark: s = ParseCyberark(body, &keys); break;
    case IssuerType::kTeleport: s = ParseTeleport(body, &keys); break;
    case IssuerType::kUrl:
    case IssuerType::kFile: s = ParseKeyLines(body, &keys); break;
  }
  if (!s) return Unexpected{s.error()};
  return keys.Finish();
}

Result<FetchOutcome> FetchCaKeys(const Config& config, const Validators& previous) {
  Result<FetchResponse> answer = FetchIssuerAnswer(config.issuer, previous);
  if (!answer) return Unexpected{answer.error()};
  FetchOutcome outcome;
  if (answer->status == FetchStatus::kNotModified) {
    outcome.not_modified = true;
    outcome.validators = answer->validators;
    // A 304 without validators echoes back the ones we sent.
    if (outcome.validators.etag.empty() && outcome.validators.last_modified.empty()) {
      outcome.validators = previous;
    }
    return outcome;
  }
  if (config.bundle_signature) {
    Result<std::string> sig = FetchSignature(config.issuer, config.bundle_signature->url);
    if (!sig) return Unexpected{sig.error()};
    Result<core::PublicKey> signer = VerifySshSig(*sig, core::AsBytes(answer->body), kBundleNamespace,
                                                  config.bundle_signature->allowed_signers);
    if (!signer) {
      return Fail(signer.error().code,
                  "bundle signature " + Redact(config.bundle_signature->url) + ": " + signer.error().detail);
    }
  }
  Result<std::vector<CaKey>> keys = ParseIssuerAnswer(config.issuer.type, answer->body);
  if (!keys) {
    // An answer that does not parse is most often the wrong endpoint (an
    // HTML page, another API): name where it came from.
    const std::string& detail = keys.error().detail;
    return Fail(keys.error().code, "the " + std::string(IssuerTypeName(config.issuer.type)) + " issuer's answer from " +
                                       Redact(config.issuer.url) + ": " + detail +
                                       (SaysWhatToDo(detail) ? "" : "; check " + config.issuer.url_key + " and issuer.type"));
  }
  outcome.keys = std::move(*keys);
  outcome.validators = std::move(answer->validators);
  return outcome;
}

}  // namespace certgate::cafetch
