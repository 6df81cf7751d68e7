// Loading one policy file: the top-level document (version, one YAML
// document), authorities, defaults and revoked; then, once every file is
// read, FinishPolicy's checks across files. Rules and constraints are in
// policy_rule_parser.cc, the reading primitives in policy_parser.cc.
#include "core/policy_loader.h"

#include <yaml.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/policy_parser.h"
#include "core/ssh_key.h"
#include "core/suggest.h"
#include "core/yaml_reader.h"

namespace certgate::core {
namespace policy_parser_internal {
namespace {

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

enum TopKey { kTopVersion, kTopAuthorities, kTopDefaults, kTopRevoked, kTopRules };
constexpr KeyTable<5> kTopKeys{{"version", "authorities", "defaults", "revoked", "rules"}};

enum AuthorityKey { kAuthKeys, kAuthRevokedSerials, kAuthAllowSha1 };
constexpr KeyTable<3> kAuthorityKeys{{"keys", "revoked_serials", "allow_sha1"}};

enum RevokedKey { kRevokedKeyIds, kRevokedKrl };
constexpr KeyTable<2> kRevokedKeys{{"key_ids", "krl"}};

}  // namespace

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
    DeferIssue(info.start, context + " has no keys; add keys: [the CA's public key line]");
    return;
  }
  if (keys_ok) policy_->authorities.push_back(std::move(a));
}

namespace {

// DefaultIsSet is whether |d| has the defaults key |key| (a RuleKey).
bool DefaultIsSet(const Constraints& d, int key) {
  switch (key) {
    case kRuleMaxLifetime: return d.max_lifetime.has_value();
    case kRuleKeyId: return d.key_id.has_value();
    case kRuleSourceAddress: return d.source_address.has_value();
    case kRuleExtensions: return d.require_extensions.has_value() || d.forbid_extensions.has_value();
    case kRuleKeyTypes: return d.key_types.has_value();
    case kRuleMinRsaBits: return d.min_rsa_bits.has_value();
    default: return false;
  }
}

}  // namespace

void Parser::ParseDefaults() {
  Constraints& d = policy_->defaults;
  ForEachKey(kDefaultsKeys, "defaults", [&](int key, std::string_view key_name) {
    const SourceLocation at = Where(Mark());
    const bool was_set = DefaultIsSet(d, key);
    ParseConstraint(key, key_name, &d, true);
    if (!was_set && DefaultIsSet(d, key)) result_->defaults_set_at.try_emplace("defaults " + std::string(key_name), at);
  });
}

std::string Parser::EarlierPlace(std::string_view key) const {
  const auto it = result_->defaults_set_at.find(std::string(key));
  if (it == result_->defaults_set_at.end()) return " by an earlier file";
  return " at " + it->second.file + ":" + std::to_string(it->second.line) + ":" + std::to_string(it->second.column);
}

std::string Parser::DefaultSetEarlier(std::string_view key) const {
  const bool plural = key == "extensions";
  return "defaults " + std::string(key) + (plural ? " are" : " is") + " already set" +
         EarlierPlace("defaults " + std::string(key)) + "; set " + (plural ? "them" : "it") + " in one file only";
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
      AddIssue(mark, "krl path contains a control character; remove it");
      return;
    }
    if (policy_->krl_path) {
      AddIssue(mark, "revoked krl is already set to " + *policy_->krl_path + EarlierPlace("revoked krl") +
                         "; set it in one file only");
      return;
    }
    policy_->krl_path = path;
    result_->defaults_set_at.try_emplace("revoked krl", Where(mark));
  });
}

}  // namespace policy_parser_internal

std::string Issue::ToString() const {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " + message;
}

void ParsePolicyText(std::string_view text, std::string_view file_name, LoadResult* result,
                     PolicyFileRole role) {
  policy_parser_internal::Parser parser(text, file_name, result, role);
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
    if (result->issues.size() >= policy_parser_internal::kMaxIssues) {
      if (result->issues.back().message != policy_parser_internal::kTooManyProblems) {
        result->issues.push_back(Issue{issue.where, policy_parser_internal::kTooManyProblems});
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
