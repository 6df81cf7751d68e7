// Parsing the rules of a policy file: each rule's name, users (login
// patterns and groups), authorities, principals, options and user_keys, and
// the constraints that a rule or the defaults set (max_lifetime, key_id,
// source_address, extensions, key_types, min_rsa_bits).
#include "core/policy_parser.h"

#include <yaml.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/duration.h"
#include "core/key_options.h"
#include "core/pattern.h"
#include "core/policy.h"
#include "core/result.h"
#include "core/ssh_key.h"
#include "core/yaml_reader.h"

namespace certgate::core::policy_parser_internal {
namespace {

enum ExtensionKey { kExtRequire, kExtForbid };
constexpr KeyTable<2> kExtensionKeys{{"require", "forbid"}};

}  // namespace

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
        AddIssue(mark, DefaultSetEarlier("max_lifetime"));
        return;
      }
      c->max_lifetime = *d;
      return;
    }
    case kRuleKeyId: {
      yaml_mark_t list_mark;
      std::optional<std::vector<std::string>> patterns = ReadPatterns(key_name, true, false, &list_mark);
      if (!patterns) return;
      if (!patterns->empty() &&
          std::all_of(patterns->begin(), patterns->end(), [](const std::string& s) { return s[0] == '!'; })) {
        // As in OpenSSH's pattern lists: a negated pattern only excludes.
        AddIssue(list_mark, "key_id holds only negated patterns, which match no key id; add the key ids to "
                            "allow, e.g. [\"*\", " + QuoteForIssue((*patterns)[0]) + "]");
        return;
      }
      if (in_defaults && c->key_id) {
        AddIssue(Mark(), DefaultSetEarlier("key_id"));
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
        AddIssue(mark, DefaultSetEarlier("source_address"));
        return;
      }
      c->source_address =
          text == "required" ? SourceAddressRequirement::kRequired : SourceAddressRequirement::kOptional;
      return;
    }
    case kRuleExtensions: {
      if (in_defaults && (c->require_extensions || c->forbid_extensions)) {
        AddIssue(Mark(), DefaultSetEarlier("extensions"));
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
        AddIssue(mark, DefaultSetEarlier("key_types"));
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
        AddIssue(mark, DefaultSetEarlier("min_rsa_bits"));
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
          error = "a rule name may not contain control characters; write it on one line without tabs";
        } else if (rule.name.size() > kMaxPolicyNameLength) {
          error = "rule name longer than " + std::to_string(kMaxPolicyNameLength) + " bytes";
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
            if (error.empty() && group.find_first_of(",:") != std::string::npos) {
              error = "no , or : in a group name; give each group its own entry, group:NAME";
            }
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
    DeferIssue(at, "rule has no users; add users: [login patterns or group:NAME]");
  }
  if ((info.seen & (uint64_t{1} << kRuleAuthorities)) == 0) {
    DeferIssue(at, "rule has no authorities; add authorities: [NAME] naming a top-level authority");
  }
  // A break-glass rule may list user_keys only: it then grants no
  // certificate principal.
  if ((info.seen & (uint64_t{1} << kRulePrincipals)) == 0 && rule.user_keys.empty() && !user_keys_reported) {
    DeferIssue(at, "rule has no principals; add principals: [patterns], e.g. [\"{user}\"]");
  }
  ok = result_->issues.size() == issues_before && deferred_.empty();
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

}  // namespace certgate::core::policy_parser_internal
