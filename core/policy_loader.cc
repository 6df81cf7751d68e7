#include "core/policy_loader.h"

#include <yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/duration.h"
#include "core/key_options.h"
#include "core/pattern.h"
#include "core/suggest.h"
#include "core/yaml_reader.h"

namespace certgate::core {
namespace {

constexpr size_t kMaxIssues = kMaxPolicyIssues;
constexpr const char kTooManyProblems[] = "too many problems; stopping here";
// kMaxSkipDepth bounds how deep an unexpected node may nest before we stop:
// the policy grammar itself is never deeper than five levels.
constexpr int kMaxSkipDepth = 32;
constexpr size_t kMaxNameLength = 256;

// NameError checks a name used in logs (authority, rule, group, extension).
std::string NameError(std::string_view name) {
  if (name.empty()) return "empty name";
  if (name.size() > kMaxNameLength) return "name longer than " + std::to_string(kMaxNameLength) + " bytes";
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return "a name may not contain blanks or control characters";
  }
  return "";
}

// FingerprintError checks "SHA256:" + 43 characters of unpadded base64,
// whose last character encodes only the 4 remaining bits (so the 2 unused
// bits are zero, as ssh-keygen prints it).
std::string FingerprintError(std::string_view fp) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string_view b64 = fp.substr(7);
  const std::string hint = "; copy it from ssh-keygen -l -f CA.pub (SHA256: and 43 characters)";
  if (b64.size() != 43) return "SHA256 fingerprint has " + std::to_string(b64.size()) + " characters after SHA256:, not 43" + hint;
  for (char c : b64) {
    if (kAlphabet.find(c) == std::string_view::npos) return "SHA256 fingerprint has a character outside base64" + hint;
  }
  if (kAlphabet.find(b64.back()) % 4 != 0) return "SHA256 fingerprint is not a valid encoding of 32 bytes" + hint;
  return "";
}

// KeyTable is the fixed set of keys allowed in one kind of mapping.
template <size_t N>
struct KeyTable {
  std::array<std::string_view, N> names;
  int Find(std::string_view key) const {
    for (size_t i = 0; i < N; ++i) {
      if (names[i] == key) return static_cast<int>(i);
    }
    return -1;
  }
  // Hint returns the advice for |key|, which is not in the table: the
  // name it is likely a misspelling of, else every name.
  std::string Hint(std::string_view key) const {
    std::string hint = Suggest(key, names);
    if (!hint.empty()) return hint;
    hint = "; use one of: ";
    for (size_t i = 0; i < N; ++i) hint += (i == 0 ? "" : ", ") + std::string(names[i]);
    return hint;
  }
};

enum TopKey { kTopVersion, kTopAuthorities, kTopDefaults, kTopRevoked, kTopRules };
constexpr KeyTable<5> kTopKeys{{"version", "authorities", "defaults", "revoked", "rules"}};

enum AuthorityKey { kAuthKeys, kAuthRevokedSerials, kAuthAllowSha1 };
constexpr KeyTable<3> kAuthorityKeys{{"keys", "revoked_serials", "allow_sha1"}};

enum RevokedKey { kRevokedKeyIds, kRevokedKrl };
constexpr KeyTable<2> kRevokedKeys{{"key_ids", "krl"}};

enum ExtensionKey { kExtRequire, kExtForbid };
constexpr KeyTable<2> kExtensionKeys{{"require", "forbid"}};

// Rule keys; the constraint keys come first so defaults can use a prefix.
enum RuleKey {
  kRuleMaxLifetime,
  kRuleKeyId,
  kRuleSourceAddress,
  kRuleExtensions,
  kRuleKeyTypes,
  kRuleMinRsaBits,
  kRuleName,
  kRuleUsers,
  kRuleAuthorities,
  kRulePrincipals,
  kRuleOptions,
  kRuleUserKeys,
};
constexpr KeyTable<12> kRuleKeys{{"max_lifetime", "key_id", "source_address", "extensions", "key_types",
                                  "min_rsa_bits", "name", "users", "authorities", "principals", "options",
                                  "user_keys"}};
constexpr KeyTable<6> kDefaultsKeys{{"max_lifetime", "key_id", "source_address", "extensions", "key_types",
                                     "min_rsa_bits"}};

// Item is one scalar of a list, with where it was written.
struct Item {
  std::string value;
  yaml_mark_t mark;
};

// MappingInfo is what ForEachKey saw: which keys, and where the mapping was.
struct MappingInfo {
  bool is_mapping = false;
  uint64_t seen = 0;
  yaml_mark_t start{};
};

// Parser turns one file's events into |result->policy|. Each Parse* method
// starts with the current event at the first event of its node and returns
// with that node consumed; once |stopped_| is set every loop unwinds.
class Parser {
 public:
  Parser(std::string_view text, std::string_view file, LoadResult* result, PolicyFileRole role)
      : reader_(text), file_(file), result_(result), role_(role) {
    if (!result_->policy) result_->policy.emplace();
    policy_ = &*result_->policy;
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  void Run();

 private:
  bool Next();
  yaml_event_type_t Type() const { return reader_.event().type; }
  const yaml_mark_t& Mark() const { return reader_.event().start_mark; }
  std::string_view Text() const {
    return std::string_view(reinterpret_cast<const char*>(reader_.event().data.scalar.value), reader_.event().data.scalar.length);
  }
  bool IsPlain() const { return reader_.event().data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }
  bool IsNull() const {
    std::string_view t = Text();
    return IsPlain() && (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL");
  }
  const char* KindName() const;

  void AddIssue(int line, int column, std::string message);
  void AddIssue(const yaml_mark_t& mark, std::string message) {
    AddIssue(static_cast<int>(mark.line) + 1, static_cast<int>(mark.column) + 1, std::move(message));
  }
  SourceLocation Where(const yaml_mark_t& mark) const {
    return SourceLocation{file_, static_cast<int>(mark.line) + 1, static_cast<int>(mark.column) + 1};
  }
  bool SkipNode();
  void WrongKind(std::string_view key, const char* expected);

  template <size_t N, typename F>
  MappingInfo ForEachKey(const KeyTable<N>& table, std::string_view context, F&& on_value);
  bool ReadScalar(std::string_view key, std::string* out, yaml_mark_t* mark);
  bool ReadList(std::string_view key, std::vector<Item>* out, yaml_mark_t* mark);
  // ReadUnsigned reads a plain decimal scalar from |min| to |max|.
  bool ReadUnsigned(std::string_view key, uint64_t min, uint64_t max, uint64_t* out);
  bool CountListItem(std::string_view key, size_t in_list);

  void ParseAuthorities();
  void ParseAuthority(const std::string& name, const yaml_mark_t& name_mark);
  void ParseDefaults();
  void ParseRevoked();
  void ParseRules();
  void ParseRule();
  void ParseUserKeys(std::string_view key_name, Rule* rule);
  void ParseConstraint(int key, std::string_view key_name, Constraints* c, bool in_defaults);
  void ParseExtensions(Constraints* c, bool in_defaults);
  // |list_mark|, when given, is set to where the list starts. An empty
  // list is an error unless |allow_empty| (a list of what to refuse).
  std::optional<std::vector<std::string>> ReadPatterns(std::string_view key, bool allow_negation,
                                                       bool allow_user_token, yaml_mark_t* list_mark = nullptr,
                                                       bool allow_empty = false);

  YamlReader reader_;
  std::string file_;
  std::shared_ptr<const std::string> shared_file_;  // file_, for the rules' locations
  LoadResult* result_;
  PolicyFileRole role_;
  Policy* policy_ = nullptr;
  bool stopped_ = false;
};

void Parser::AddIssue(int line, int column, std::string message) {
  if (result_->issues.size() >= kMaxIssues) {
    if (!stopped_) {
      result_->issues.push_back(Issue{SourceLocation{file_, line, column}, kTooManyProblems});
    }
    stopped_ = true;
    return;
  }
  result_->issues.push_back(Issue{SourceLocation{file_, line, column}, std::move(message)});
}

bool Parser::Next() {
  if (stopped_) return false;
  if (!reader_.Next()) {
    const YamlProblem& e = reader_.error();
    AddIssue(e.line, e.column, e.message);
    stopped_ = true;
    return false;
  }
  if (!reader_.forbidden().empty()) AddIssue(Mark(), reader_.forbidden());
  return !stopped_;
}

const char* Parser::KindName() const {
  switch (reader_.event().type) {
    case YAML_MAPPING_START_EVENT: return "a mapping";
    case YAML_SEQUENCE_START_EVENT: return "a list";
    case YAML_SCALAR_EVENT: return IsNull() ? "nothing" : "a single value";
    default: return "something else";
  }
}

bool Parser::SkipNode() {
  if (reader_.event().type != YAML_MAPPING_START_EVENT && reader_.event().type != YAML_SEQUENCE_START_EVENT) return !stopped_;
  int depth = 1;
  while (depth > 0) {
    if (!Next()) return false;
    if (reader_.event().type == YAML_MAPPING_START_EVENT || reader_.event().type == YAML_SEQUENCE_START_EVENT) {
      if (++depth > kMaxSkipDepth) {
        AddIssue(Mark(), "nested too deeply; a policy is never more than a few levels deep");
        stopped_ = true;
        return false;
      }
    } else if (reader_.event().type == YAML_MAPPING_END_EVENT || reader_.event().type == YAML_SEQUENCE_END_EVENT) {
      --depth;
    }
  }
  return true;
}

void Parser::WrongKind(std::string_view key, const char* expected) {
  if (reader_.event().type != YAML_ALIAS_EVENT) {  // already reported
    if (reader_.event().type == YAML_SCALAR_EVENT && IsNull()) {
      AddIssue(Mark(), std::string(key) + " has no value; it needs " + expected);
    } else {
      AddIssue(Mark(), std::string(key) + " must be " + expected + ", not " + KindName());
    }
  }
  SkipNode();
}

template <size_t N, typename F>
MappingInfo Parser::ForEachKey(const KeyTable<N>& table, std::string_view context, F&& on_value) {
  MappingInfo info;
  info.start = Mark();
  if (reader_.event().type != YAML_MAPPING_START_EVENT) {
    WrongKind(context, "a mapping (key: value lines)");
    return info;
  }
  info.is_mapping = true;
  for (;;) {
    if (!Next() || reader_.event().type == YAML_MAPPING_END_EVENT) return info;
    if (reader_.event().type != YAML_SCALAR_EVENT) {
      if (reader_.event().type != YAML_ALIAS_EVENT) AddIssue(Mark(), "a key in " + std::string(context) + " must be a plain name");
      if (!SkipNode() || !Next() || !SkipNode()) return info;
      continue;
    }
    const std::string key(Text());
    const yaml_mark_t key_mark = Mark();
    const int index = table.Find(key);
    if (!Next()) return info;
    if (index < 0) {
      AddIssue(key_mark, "unknown key " + QuoteForIssue(key) + " in " + std::string(context) + table.Hint(key));
      if (!SkipNode()) return info;
      continue;
    }
    const uint64_t bit = uint64_t{1} << index;
    if ((info.seen & bit) != 0) {
      AddIssue(key_mark, "duplicate key " + QuoteForIssue(key) + " in " + std::string(context) + "; keep only one");
      if (!SkipNode()) return info;
      continue;
    }
    info.seen |= bit;
    on_value(index, std::string_view(table.names[static_cast<size_t>(index)]));
    if (stopped_) return info;
  }
}

bool Parser::ReadScalar(std::string_view key, std::string* out, yaml_mark_t* mark) {
  *mark = Mark();
  if (reader_.event().type != YAML_SCALAR_EVENT || IsNull()) {
    WrongKind(key, "a single value");
    return false;
  }
  out->assign(Text());
  return true;
}

// CountListItem counts the current event as item number |in_list| (1-based)
// of a list, against kMaxListItems and kMaxPolicyListItems. Over either, it
// reports the issue, stops the parse and returns false: memory then stays
// bounded whatever the file holds.
bool Parser::CountListItem(std::string_view key, size_t in_list) {
  if (in_list > kMaxListItems) {
    std::string advice = "split it over several rules";
    if (key == "users") advice += ", or name a unix group (group:NAME)";
    if (key == "revoked_serials") advice = "revoke that many certificates with a KRL (revoked: krl:)";
    if (key == "keys") advice = "an authority has a few keys; split it into several authorities";
    AddIssue(Mark(), std::string(key) + " has more than " + std::to_string(kMaxListItems) + " items; " + advice);
    stopped_ = true;
    return false;
  }
  if (++result_->list_items > kMaxPolicyListItems) {
    AddIssue(Mark(), "the policy has more than " + std::to_string(kMaxPolicyListItems) +
                         " list items in all; a policy this large cannot be loaded in time, "
                         "use group: entries and patterns");
    stopped_ = true;
    return false;
  }
  return true;
}

bool Parser::ReadList(std::string_view key, std::vector<Item>* out, yaml_mark_t* mark) {
  *mark = Mark();
  if (reader_.event().type == YAML_SCALAR_EVENT && !IsNull()) {
    if (!CountListItem(key, 1)) return false;
    out->push_back(Item{std::string(Text()), Mark()});
    return true;
  }
  if (reader_.event().type != YAML_SEQUENCE_START_EVENT) {
    WrongKind(key, "a list or a single value");
    return false;
  }
  bool ok = true;
  for (;;) {
    if (!Next()) return false;
    if (reader_.event().type == YAML_SEQUENCE_END_EVENT) return ok;
    if (reader_.event().type != YAML_SCALAR_EVENT || IsNull()) {
      WrongKind(std::string("an item of ") + std::string(key), "a single value");
      ok = false;
      continue;
    }
    if (!CountListItem(key, out->size() + 1)) return false;
    out->push_back(Item{std::string(Text()), Mark()});
  }
}

bool Parser::ReadUnsigned(std::string_view key, uint64_t min, uint64_t max, uint64_t* out) {
  if (reader_.event().type != YAML_SCALAR_EVENT || IsNull()) {
    WrongKind(key, "a number");
    return false;
  }
  std::string_view t = Text();
  const std::string range = std::string(key) + " must be a whole number from " + std::to_string(min) + " to " +
                            std::to_string(max);
  const bool digits = !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || !IsPlain()) {
    AddIssue(Mark(), range + " written without quotes, not " + QuoteForIssue(t));
    return false;
  }
  uint64_t n = 0;
  bool in_range = true;
  for (char c : t) {
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (max - d) / 10) {
      in_range = false;
      break;
    }
    n = n * 10 + d;
  }
  if (!in_range || n < min) {
    AddIssue(Mark(), range + ", not " + QuoteForIssue(t));
    return false;
  }
  *out = n;
  return true;
}

void Parser::Run() {
  policy_->files.push_back(file_);
  if (!Next()) return;  // STREAM-START
  if (!Next()) return;
  if (reader_.event().type == YAML_STREAM_END_EVENT) {
    // An empty fragment is refused too: it may be one cut short by a
    // failed copy, and the revocations it held would silently be gone.
    AddIssue(1, 1, role_ == PolicyFileRole::kMain
                       ? "empty policy file; it must hold at least \"version: 1\""
                       : "empty policy fragment; remove it, or write at least \"version: 1\" in it");
    return;
  }
  if (!Next()) return;  // the root node
  bool version_seen = false;
  const yaml_mark_t root = Mark();
  MappingInfo info = ForEachKey(kTopKeys, "the policy file", [&](int key, std::string_view name) {
    switch (key) {
      case kTopVersion: {
        version_seen = true;
        if (reader_.event().type != YAML_SCALAR_EVENT || IsNull()) {
          WrongKind(name, "the number 1");
          return;
        }
        const std::string_view t = Text();
        if (IsPlain() && t == "1") return;
        if (IsPlain() && !t.empty() && t.size() < 20 &&
            std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          AddIssue(Mark(), "unsupported policy version " + std::string(t) + "; this certgate reads version 1");
          return;
        }
        AddIssue(Mark(), "version must be the number 1, written without quotes, not " + QuoteForIssue(t));
        return;
      }
      case kTopAuthorities: ParseAuthorities(); return;
      case kTopDefaults: ParseDefaults(); return;
      case kTopRevoked: ParseRevoked(); return;
      case kTopRules: ParseRules(); return;
      default: return;
    }
  });
  if (stopped_) return;
  if (info.is_mapping && !version_seen && role_ == PolicyFileRole::kMain) {
    AddIssue(root, "missing \"version: 1\" at the top of the file");
  }
  if (!Next()) return;  // DOCUMENT-END
  if (!Next()) return;
  if (reader_.event().type == YAML_DOCUMENT_START_EVENT) {
    AddIssue(Mark(), "a policy file holds one YAML document; remove this second one (or its \"---\")");
  }
}

namespace {

// KeyProblem says why a key line did not parse; a key cut short (a line
// copied in part) names the field its base64 ends in.
std::string KeyProblem(const Error& error) {
  if (error.code == Errc::kTruncated) return "the key is cut short in its " + error.detail + " field";
  return error.detail;
}

}  // namespace

void Parser::ParseAuthorities() {
  if (reader_.event().type != YAML_MAPPING_START_EVENT) {
    WrongKind("authorities", "a mapping from authority names to their keys");
    return;
  }
  std::unordered_set<std::string> names;
  for (;;) {
    if (!Next() || reader_.event().type == YAML_MAPPING_END_EVENT) return;
    if (reader_.event().type != YAML_SCALAR_EVENT || IsNull()) {
      if (reader_.event().type != YAML_ALIAS_EVENT) AddIssue(Mark(), "an authority name must be a single word");
      if (!SkipNode() || !Next() || !SkipNode()) return;
      continue;
    }
    const std::string name(Text());
    const yaml_mark_t mark = Mark();
    if (!Next()) return;
    std::string error = NameError(name);
    if (!error.empty()) {
      AddIssue(mark, "bad authority name " + QuoteForIssue(name) + ": " + error);
      if (!SkipNode()) return;
      continue;
    }
    if (!names.insert(name).second) {
      AddIssue(mark, "duplicate authority " + QuoteForIssue(name) + "; keep only one");
      if (!SkipNode()) return;
      continue;
    }
    // Authorities with errors are not kept, but each one is an issue, and
    // issues are capped: the count of kept ones bounds them all.
    if (policy_->authorities.size() >= kMaxPolicyAuthorities) {
      AddIssue(mark, "more than " + std::to_string(kMaxPolicyAuthorities) +
                         " authorities (all files together); an authority holds all the keys of one CA");
      stopped_ = true;
      return;
    }
    const size_t before = policy_->authorities.size();
    ParseAuthority(name, mark);
    if (policy_->authorities.size() == before) {
      result_->left_out_authorities.emplace(name, SourceLocation{file_, static_cast<int>(mark.line) + 1,
                                                                 static_cast<int>(mark.column) + 1});
    }
  }
}

void Parser::ParseAuthority(const std::string& name, const yaml_mark_t& name_mark) {
  Authority a;
  a.name = name;
  a.where = Where(name_mark);
  const std::string context = "authority " + QuoteForIssue(name);
  bool keys_ok = true;
  MappingInfo info = ForEachKey(kAuthorityKeys, context, [&](int key, std::string_view key_name) {
    switch (key) {
      case kAuthKeys: {
        std::vector<Item> items;
        yaml_mark_t mark;
        if (!ReadList(key_name, &items, &mark)) {
          keys_ok = false;
          return;
        }
        if (items.empty()) {
          AddIssue(mark, context + " has an empty keys list; add the CA's public key");
          keys_ok = false;
        }
        for (const Item& item : items) {
          if (item.value.rfind("SHA256:", 0) == 0) {
            std::string error = FingerprintError(item.value);
            if (!error.empty()) {
              AddIssue(item.mark, error);
              keys_ok = false;
              continue;
            }
            a.fingerprints.push_back(item.value);
            continue;
          }
          Result<AuthorizedKey> k = ParsePublicKeyLine(item.value);
          if (!k) {
            AddIssue(item.mark, "not a public key in authorized_keys form (" + KeyProblem(k.error()) +
                                    "); copy the CA's .pub line, or write its SHA256:... fingerprint");
            keys_ok = false;
            continue;
          }
          a.keys.push_back(std::move(k->key));
        }
        return;
      }
      case kAuthRevokedSerials: {
        if (reader_.event().type == YAML_SCALAR_EVENT && !IsNull()) {
          uint64_t serial = 0;
          if (ReadUnsigned("a revoked serial", 0, UINT64_MAX, &serial)) a.revoked_serials.push_back(serial);
          return;
        }
        if (reader_.event().type != YAML_SEQUENCE_START_EVENT) {
          WrongKind(key_name, "a list of serial numbers");
          return;
        }
        for (size_t n = 1;; ++n) {
          if (!Next() || reader_.event().type == YAML_SEQUENCE_END_EVENT) break;
          if (!CountListItem(key_name, n)) break;
          uint64_t serial = 0;
          if (ReadUnsigned("a revoked serial", 0, UINT64_MAX, &serial)) a.revoked_serials.push_back(serial);
        }
        std::sort(a.revoked_serials.begin(), a.revoked_serials.end());
        a.revoked_serials.erase(std::unique(a.revoked_serials.begin(), a.revoked_serials.end()),
                                a.revoked_serials.end());
        return;
      }
      case kAuthAllowSha1: {
        if (reader_.event().type == YAML_SCALAR_EVENT && IsPlain() && (Text() == "true" || Text() == "false")) {
          a.allow_sha1 = Text() == "true";
          return;
        }
        if (reader_.event().type == YAML_SCALAR_EVENT && !IsNull()) {
          AddIssue(Mark(), "allow_sha1 must be true or false (without quotes), not " + QuoteForIssue(Text()));
          return;
        }
        WrongKind(key_name, "true or false");
        return;
      }
      default: return;
    }
  });
  if (stopped_ || !info.is_mapping) return;
  if ((info.seen & (uint64_t{1} << kAuthKeys)) == 0) {
    AddIssue(info.start, context + " has no keys; add keys: [the CA's public key line]");
    return;
  }
  if (keys_ok) policy_->authorities.push_back(std::move(a));
}

void Parser::ParseDefaults() {
  Constraints& d = policy_->defaults;
  ForEachKey(kDefaultsKeys, "defaults", [&](int key, std::string_view key_name) {
    ParseConstraint(key, key_name, &d, true);
  });
}

void Parser::ParseRevoked() {
  ForEachKey(kRevokedKeys, "revoked", [&](int key, std::string_view key_name) {
    if (key == kRevokedKeyIds) {
      // Empty: nothing revoked by key id, as an empty revoked_serials.
      std::optional<std::vector<std::string>> ids =
          ReadPatterns("revoked key_ids", false, false, nullptr, /*allow_empty=*/true);
      if (ids) policy_->revoked_key_ids.insert(policy_->revoked_key_ids.end(), ids->begin(), ids->end());
      return;
    }
    std::string path;
    yaml_mark_t mark;
    if (!ReadScalar(key_name, &path, &mark)) return;
    if (path.empty() || path.front() != '/') {
      AddIssue(mark, "krl must be an absolute path (starting with /), not " + QuoteForIssue(path));
      return;
    }
    if (std::any_of(path.begin(), path.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
      AddIssue(mark, "krl path contains a control character");
      return;
    }
    if (policy_->krl_path) {
      AddIssue(mark, "revoked krl is already set to " + *policy_->krl_path +
                         " by an earlier file; set it in one file only");
      return;
    }
    policy_->krl_path = path;
  });
}

// ReadPatterns reads a pattern list, reporting each bad element.
std::optional<std::vector<std::string>> Parser::ReadPatterns(std::string_view key, bool allow_negation,
                                                             bool allow_user_token, yaml_mark_t* list_mark,
                                                             bool allow_empty) {
  std::vector<Item> items;
  yaml_mark_t mark;
  if (!ReadList(key, &items, &mark)) return std::nullopt;
  if (list_mark != nullptr) *list_mark = mark;
  if (items.empty() && !allow_empty) {
    AddIssue(mark, std::string(key) + " is empty; give at least one pattern");
    return std::nullopt;
  }
  std::vector<std::string> out;
  out.reserve(items.size());
  bool ok = true;
  for (Item& item : items) {
    std::string error = PatternError(item.value);
    if (error.empty() && !allow_negation && item.value.front() == '!') {
      error = "negation (!) means nothing here; list only what to match";
    }
    if (error.empty()) {
      size_t brace = item.value.find_first_of("{}");
      while (brace != std::string::npos) {
        if (!allow_user_token || item.value.compare(brace, 6, "{user}") != 0) {
          error = allow_user_token ? "the only placeholder is {user}" : "{user} is only for principals; remove the braces";
          break;
        }
        brace = item.value.find_first_of("{}", brace + 6);
      }
    }
    if (!error.empty()) {
      AddIssue(item.mark, "bad pattern " + QuoteForIssue(item.value) + " in " + std::string(key) + ": " + error);
      ok = false;
      continue;
    }
    out.push_back(std::move(item.value));
  }
  if (!ok) return std::nullopt;
  return out;
}

void Parser::ParseExtensions(Constraints* c, bool in_defaults) {
  const char* context = in_defaults ? "defaults extensions" : "rule extensions";
  std::vector<Item> require;
  std::vector<Item> forbid;
  bool ok = true;
  ForEachKey(kExtensionKeys, context, [&](int key, std::string_view key_name) {
    std::vector<Item>* items = key == kExtRequire ? &require : &forbid;
    yaml_mark_t mark;
    if (!ReadList(key_name, items, &mark)) {
      ok = false;
      return;
    }
    for (const Item& item : *items) {
      std::string error = NameError(item.value);
      if (error.empty() && item.value.find_first_of("*?!,") != std::string::npos) {
        error = "extension names are matched exactly, without patterns";
      }
      if (!error.empty()) {
        AddIssue(item.mark, "bad extension name " + QuoteForIssue(item.value) + ": " + error);
        ok = false;
      }
    }
    std::vector<std::string> names;
    for (const Item& item : *items) names.push_back(item.value);
    if (key == kExtRequire) {
      c->require_extensions = std::move(names);
    } else {
      c->forbid_extensions = std::move(names);
    }
  });
  for (const Item& f : forbid) {
    for (const Item& r : require) {
      if (f.value == r.value) {
        AddIssue(f.mark, "extension " + QuoteForIssue(f.value) + " is both required and forbidden; remove it from require or from forbid");
        ok = false;
      }
    }
  }
  (void)ok;
}

void Parser::ParseConstraint(int key, std::string_view key_name, Constraints* c, bool in_defaults) {
  switch (key) {
    case kRuleMaxLifetime: {
      std::string text;
      yaml_mark_t mark;
      if (!ReadScalar(key_name, &text, &mark)) return;
      Result<uint64_t> d = ParseDuration(text);
      if (!d) {
        AddIssue(mark, d.error().detail);
        return;
      }
      if (*d == 0) {
        AddIssue(mark, "max_lifetime 0 admits no certificate; give a positive duration such as 10m");
        return;
      }
      if (in_defaults && c->max_lifetime) {
        AddIssue(mark, "defaults max_lifetime is already set by an earlier file; set it in one file only");
        return;
      }
      c->max_lifetime = *d;
      return;
    }
    case kRuleKeyId: {
      std::optional<std::vector<std::string>> patterns = ReadPatterns(key_name, true, false);
      if (!patterns) return;
      if (in_defaults && c->key_id) {
        AddIssue(Mark(), "defaults key_id is already set by an earlier file; set it in one file only");
        return;
      }
      c->key_id = std::move(patterns);
      return;
    }
    case kRuleSourceAddress: {
      std::string text;
      yaml_mark_t mark;
      if (!ReadScalar(key_name, &text, &mark)) return;
      if (text != "required" && text != "optional") {
        AddIssue(mark, "source_address must be \"required\" or \"optional\", not " + QuoteForIssue(text));
        return;
      }
      if (in_defaults && c->source_address) {
        AddIssue(mark, "defaults source_address is already set by an earlier file; set it in one file only");
        return;
      }
      c->source_address =
          text == "required" ? SourceAddressRequirement::kRequired : SourceAddressRequirement::kOptional;
      return;
    }
    case kRuleExtensions: {
      if (in_defaults && (c->require_extensions || c->forbid_extensions)) {
        AddIssue(Mark(), "defaults extensions are already set by an earlier file; set them in one file only");
        SkipNode();
        return;
      }
      ParseExtensions(c, in_defaults);
      return;
    }
    case kRuleKeyTypes: {
      std::vector<Item> items;
      yaml_mark_t mark;
      if (!ReadList(key_name, &items, &mark)) return;
      if (items.empty()) {
        AddIssue(mark, "key_types is empty; list key types such as ssh-ed25519, or leave the key out");
        return;
      }
      std::vector<KeyType> types;
      bool ok = true;
      for (const Item& item : items) {
        std::optional<KeyType> t = KeyTypeFromName(item.value);
        if (t) {
          types.push_back(*t);
          continue;
        }
        ok = false;
        std::string hint;
        if (std::optional<KeyType> ct = KeyTypeFromCertName(item.value)) {
          hint = "; write the plain key type " + std::string(KeyTypeName(*ct));
        } else if (item.value.rfind("rsa-sha2-", 0) == 0) {
          hint = "; RSA keys are ssh-rsa (the signature algorithm does not matter here)";
        } else {
          hint = "; known types: ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, "
                 "sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com, ssh-rsa";
        }
        AddIssue(item.mark, "unknown key type " + QuoteForIssue(item.value) + hint);
      }
      if (!ok) return;
      if (in_defaults && c->key_types) {
        AddIssue(mark, "defaults key_types is already set by an earlier file; set it in one file only");
        return;
      }
      c->key_types = std::move(types);
      return;
    }
    case kRuleMinRsaBits: {
      const yaml_mark_t mark = Mark();
      uint64_t bits = 0;
      if (!ReadUnsigned(key_name, kMinRsaBits, kMaxRsaBits, &bits)) return;
      if (in_defaults && c->min_rsa_bits) {
        AddIssue(mark, "defaults min_rsa_bits is already set by an earlier file; set it in one file only");
        return;
      }
      c->min_rsa_bits = static_cast<unsigned>(bits);
      return;
    }
    default:
      return;
  }
}

void Parser::ParseRules() {
  if (reader_.event().type != YAML_SEQUENCE_START_EVENT) {
    WrongKind("rules", "a list of rules (each starting with \"- \")");
    return;
  }
  for (;;) {
    if (!Next() || reader_.event().type == YAML_SEQUENCE_END_EVENT) return;
    if (policy_->rules.size() >= kMaxPolicyRules) {
      AddIssue(Mark(), "more than " + std::to_string(kMaxPolicyRules) +
                           " rules in the policy (all files together); a rule takes lists of "
                           "users and principals, and group: entries: merge rules");
      stopped_ = true;
      return;
    }
    ParseRule();
    if (stopped_) return;
  }
}

// ParseUserKeys appends the rule's user_keys lines to |rule|, reporting
// each bad one.
void Parser::ParseUserKeys(std::string_view key_name, Rule* rule) {
  std::vector<Item> items;
  yaml_mark_t mark;
  if (!ReadList(key_name, &items, &mark)) return;
  for (const Item& item : items) {
    Result<AuthorizedKeysLine> line = ParseAuthorizedKeysLine(item.value);
    if (!line) {
      AddIssue(item.mark, "bad user key: " + KeyProblem(line.error()) +
                              "; write an authorized_keys line: [options] keytype base64 [comment]");
      continue;
    }
    rule->user_keys.push_back(std::move(*line));
  }
}

void Parser::ParseRule() {
  Rule rule;
  Constraints own;  // the rule's constraints, stored only if it sets any
  const SourceLocation start = Where(Mark());
  if (!shared_file_) shared_file_ = std::make_shared<const std::string>(file_);
  rule.where = RuleLocation{shared_file_, start.line, start.column};
  std::vector<PendingName> authority_names;
  bool ok = true;
  bool user_keys_reported = false;  // an issue in user_keys already says what is wrong
  size_t issues_before = result_->issues.size();
  MappingInfo info = ForEachKey(kRuleKeys, "rule", [&](int key, std::string_view key_name) {
    switch (key) {
      case kRuleName: {
        yaml_mark_t mark;
        if (!ReadScalar(key_name, &rule.name, &mark)) return;
        std::string error;
        if (rule.name.empty()) {
          error = "name is empty; give the rule a name or leave the key out";
        } else if (std::any_of(rule.name.begin(), rule.name.end(), [](char c) {
                     return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
                   })) {
          error = "a rule name may not contain control characters";
        } else if (rule.name.size() > kMaxNameLength) {
          error = "rule name longer than " + std::to_string(kMaxNameLength) + " bytes";
        }
        if (!error.empty()) AddIssue(mark, error);
        return;
      }
      case kRuleUsers: {
        std::vector<Item> items;
        yaml_mark_t mark;
        if (!ReadList(key_name, &items, &mark)) return;
        if (items.empty()) {
          AddIssue(mark, "users is empty; list login name patterns or group:NAME");
          return;
        }
        for (Item& item : items) {
          std::string_view v = item.value;
          if (v.rfind("!group:", 0) == 0) {
            AddIssue(item.mark, "a group cannot be negated; negate login names (!name) instead");
            continue;
          }
          if (v.rfind("group:", 0) == 0) {
            std::string group(v.substr(6));
            std::string error = NameError(group);
            if (error.empty() && group.find_first_of(",:") != std::string::npos) error = "no , or : in a group name";
            // No group database holds such a name: a pattern was meant.
            if (error.empty() && group.find_first_of("*?") != std::string::npos) {
              error = "a group name is not a pattern; name each group (group:NAME)";
            }
            if (!error.empty()) {
              AddIssue(item.mark, "bad group in users " + QuoteForIssue(item.value) + ": " + error);
              continue;
            }
            rule.groups.push_back(std::move(group));
            continue;
          }
          std::string error = PatternError(v);
          if (error.empty() && v.find_first_of("{}") != std::string::npos) {
            error = "{user} is for principals only";
          }
          if (!error.empty()) {
            AddIssue(item.mark, "bad pattern " + QuoteForIssue(v) + " in users: " + error);
            continue;
          }
          rule.users.push_back(std::move(item.value));
        }
        if (rule.groups.empty() && !rule.users.empty() &&
            std::all_of(rule.users.begin(), rule.users.end(), [](const std::string& u) { return u[0] == '!'; })) {
          AddIssue(mark, "users holds only negated patterns, which match nobody; add the logins to allow, e.g. \"*\"");
        }
        return;
      }
      case kRuleAuthorities: {
        std::vector<Item> items;
        yaml_mark_t mark;
        if (!ReadList(key_name, &items, &mark)) return;
        if (items.empty()) {
          AddIssue(mark, "authorities is empty; name at least one authority from the top-level authorities");
          return;
        }
        for (Item& item : items) {
          authority_names.push_back(PendingName{std::move(item.value), static_cast<int>(item.mark.line) + 1,
                                                static_cast<int>(item.mark.column) + 1});
        }
        return;
      }
      case kRulePrincipals: {
        yaml_mark_t list_mark;
        std::optional<std::vector<std::string>> p = ReadPatterns(key_name, true, true, &list_mark);
        if (!p) return;
        if (std::all_of(p->begin(), p->end(), [](const std::string& s) { return s[0] == '!'; })) {
          AddIssue(list_mark, "principals holds only negated patterns, which grant nothing; add the principals to grant");
          return;
        }
        rule.principals = std::move(*p);
        return;
      }
      case kRuleOptions: {
        std::vector<Item> items;
        yaml_mark_t mark;
        if (!ReadList(key_name, &items, &mark)) return;
        for (const Item& item : items) {
          Result<std::vector<std::string>> split = SplitKeyOptions(item.value);
          if (!split) {
            AddIssue(item.mark, "bad option " + QuoteForIssue(item.value) + ": " + split.error().detail);
            continue;
          }
          rule.options.insert(rule.options.end(), split->begin(), split->end());
        }
        Status set = CheckKeyOptionSet(rule.options);
        if (set) set = CheckGrantOptions(rule.options);
        if (!set) AddIssue(mark, "bad options: " + set.error().detail);
        return;
      }
      case kRuleUserKeys: {
        const size_t before = result_->issues.size();
        ParseUserKeys(key_name, &rule);
        user_keys_reported = result_->issues.size() > before;
        return;
      }
      default:
        ParseConstraint(key, key_name, &own, false);
        return;
    }
  });
  if (stopped_ || !info.is_mapping) return;
  const yaml_mark_t& at = info.start;
  if ((info.seen & (uint64_t{1} << kRuleUsers)) == 0) {
    AddIssue(at, "rule has no users; add users: [login patterns or group:NAME]");
  }
  if ((info.seen & (uint64_t{1} << kRuleAuthorities)) == 0) {
    AddIssue(at, "rule has no authorities; add authorities: [NAME] naming a top-level authority");
  }
  // A break-glass rule may list user_keys only: it then grants no
  // certificate principal.
  if ((info.seen & (uint64_t{1} << kRulePrincipals)) == 0 && rule.user_keys.empty() && !user_keys_reported) {
    AddIssue(at, "rule has no principals; add principals: [patterns], e.g. [\"{user}\"]");
  }
  ok = result_->issues.size() == issues_before;
  if (!ok) {
    if (!authority_names.empty()) {
      result_->dropped_rule_authority_names.emplace_back(rule.where, std::move(authority_names));
    }
    return;
  }
  if (own != Constraints{}) rule.constraints = std::make_shared<const Constraints>(std::move(own));
  policy_->rules.push_back(std::move(rule));
  policy_->rules.back().number = policy_->rules.size();
  result_->rule_authority_names.resize(policy_->rules.size());
  result_->rule_authority_names.back() = std::move(authority_names);
}

}  // namespace

std::string Issue::ToString() const {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " + message;
}

void ParsePolicyText(std::string_view text, std::string_view file_name, LoadResult* result,
                     PolicyFileRole role) {
  Parser parser(text, file_name, result, role);
  parser.Run();
}

void FinishPolicy(LoadResult* result) {
  if (!result->policy) {
    if (result->issues.empty()) {
      result->issues.push_back(Issue{SourceLocation{"policy", 1, 1}, "no policy file was read"});
    }
    result->rule_authority_names.clear();
    result->dropped_rule_authority_names.clear();
    result->left_out_authorities.clear();
    return;
  }
  Policy& policy = *result->policy;
  // Issues found here are capped like the parser's: false once the cap is
  // reached (the loops then stop; the policy is unusable anyway).
  auto add = [result](Issue issue) {
    if (result->issues.size() >= kMaxIssues) {
      if (result->issues.back().message != kTooManyProblems) {
        result->issues.push_back(Issue{issue.where, kTooManyProblems});
      }
      return false;
    }
    result->issues.push_back(std::move(issue));
    return true;
  };
  std::unordered_map<std::string_view, size_t> by_name;
  std::unordered_map<std::string, size_t> by_fingerprint;
  by_name.reserve(policy.authorities.size());
  for (size_t i = 0; i < policy.authorities.size(); ++i) {
    const Authority& a = policy.authorities[i];
    auto [it, inserted] = by_name.emplace(a.name, i);
    if (!inserted) {
      const Authority& first = policy.authorities[it->second];
      if (!add(Issue{a.where, "authority " + QuoteForIssue(a.name) + " is already defined at " +
                                  first.where.file + ":" + std::to_string(first.where.line) +
                                  "; each authority name may appear only once"})) {
        break;
      }
      continue;
    }
    // A CA key in two authorities would make "which authority" ambiguous.
    std::vector<std::string> fps = a.fingerprints;
    for (const PublicKey& k : a.keys) fps.push_back(Sha256Fingerprint(k.blob));
    std::sort(fps.begin(), fps.end());
    fps.erase(std::unique(fps.begin(), fps.end()), fps.end());
    for (const std::string& fp : fps) {
      auto [fit, fresh] = by_fingerprint.emplace(fp, i);
      if (!fresh) {
        (void)add(Issue{a.where, "authority " + QuoteForIssue(a.name) + " lists key " + fp +
                                     " which already belongs to authority " +
                                     QuoteForIssue(policy.authorities[fit->second].name) +
                                     "; a CA key may belong to one authority only"});
      }
    }
  }
  // Find returns the index of the authority |name| names, or reports it.
  auto find = [&](const RuleLocation& where, const PendingName& name) -> std::optional<size_t> {
    auto it = by_name.find(name.name);
    if (it != by_name.end()) return it->second;
    if (auto left_out = result->left_out_authorities.find(name.name); left_out != result->left_out_authorities.end()) {
      const SourceLocation& at = left_out->second;
      (void)add(Issue{where.At(name.line, name.column),
                      "authority " + QuoteForIssue(name.name) + " is left out for the errors reported at " + at.file +
                          ":" + std::to_string(at.line) + "; fix those"});
      return std::nullopt;
    }
    std::string hint;
    if (policy.authorities.size() <= 1000) {
      std::vector<std::string_view> names;
      for (const Authority& a : policy.authorities) names.push_back(a.name);
      hint = Suggest(name.name, names);
    }
    if (hint.empty()) hint = "; define it under the top-level authorities";
    (void)add(Issue{where.At(name.line, name.column),
                    "unknown authority " + QuoteForIssue(name.name) + " in rule" + hint});
    return std::nullopt;
  };
  const size_t n = std::min(policy.rules.size(), result->rule_authority_names.size());
  for (size_t r = 0; r < n; ++r) {
    Rule& rule = policy.rules[r];
    for (const PendingName& name : result->rule_authority_names[r]) {
      std::optional<size_t> index = find(rule.where, name);
      if (index && std::find(rule.authorities.begin(), rule.authorities.end(), *index) == rule.authorities.end()) {
        rule.authorities.push_back(*index);
      }
    }
  }
  for (const auto& [where, names] : result->dropped_rule_authority_names) {
    for (const PendingName& name : names) (void)find(where, name);
  }
  result->dropped_rule_authority_names.clear();
  result->left_out_authorities.clear();
  for (size_t r = 0; r < policy.rules.size(); ++r) {
    if (policy.rules[r].authorities.empty() && result->issues.empty()) {
      result->issues.push_back(Issue{policy.rules[r].where.Source(), "rule has no authorities"});
    }
  }
  result->rule_authority_names.clear();
  if (!result->issues.empty()) {
    result->policy.reset();
  }
}

}  // namespace certgate::core
