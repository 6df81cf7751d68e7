// Internal to the policy loader, not part of the public API: the Parser that
// turns one policy file's libyaml events into a Policy, and what the files
// implementing it share. Include it only from those files:
//   policy_parser.cc       reading: issues, events, scalars, lists, numbers,
//                          patterns, names
//   policy_loader.cc       the document, authorities, defaults, revoked;
//                          ParsePolicyText and FinishPolicy
//   policy_rule_parser.cc  rules: users, authorities, principals, options,
//                          user_keys, and the constraints rules and defaults set
#ifndef CERTGATE_CORE_POLICY_PARSER_H_
#define CERTGATE_CORE_POLICY_PARSER_H_

#include <yaml.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/policy.h"
#include "core/policy_loader.h"
#include "core/result.h"
#include "core/suggest.h"
#include "core/yaml_reader.h"

namespace certgate::core::policy_parser_internal {

// kMaxIssues caps the issues of one load (parse and FinishPolicy alike).
inline constexpr size_t kMaxIssues = kMaxPolicyIssues;
// kTooManyProblems is the last issue of a load that reached kMaxIssues.
inline constexpr const char kTooManyProblems[] = "too many problems; stopping here";
// kMaxPolicyNameLength caps a name in a policy file (authority, rule,
// group, extension); certificate.h's kMaxNameLength is the certificate's.
inline constexpr size_t kMaxPolicyNameLength = 256;

// NameError checks a name used in logs (authority, rule, group, extension).
// It returns "" for a good name, else why it is bad.
std::string NameError(std::string_view name);

// KeyProblem says why a key line did not parse; a key cut short (a line
// copied in part) names the field its base64 ends in.
std::string KeyProblem(const Error& error);

// KeyTable is the fixed set of keys allowed in one kind of mapping.
template <size_t N>
struct KeyTable {
  std::array<std::string_view, N> names;
  // Find returns the index of |key| in |names|, or -1 if it is not there.
  int Find(std::string_view key) const {
    for (size_t i = 0; i < N; ++i) {
      if (names[i] == key) return static_cast<int>(i);
    }
    return -1;
  }
  // Hint returns the advice for |key|, which is not in the table: the
  // name it is likely a misspelling of, else every name.
  std::string Hint(std::string_view key) const { return SuggestOrList(key, names); }
};

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
// kRuleKeys are the keys of a rule, in RuleKey order; kDefaultsKeys are the
// constraint keys, the prefix of them that defaults may set.
inline constexpr KeyTable<12> kRuleKeys{{"max_lifetime", "key_id", "source_address", "extensions", "key_types",
                                         "min_rsa_bits", "name", "users", "authorities", "principals", "options",
                                         "user_keys"}};
inline constexpr KeyTable<6> kDefaultsKeys{{"max_lifetime", "key_id", "source_address", "extensions", "key_types",
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
// |text| must outlive the Parser; |result| is borrowed, not owned.
class Parser {
 public:
  Parser(std::string_view text, std::string_view file, LoadResult* result, PolicyFileRole role)
      : reader_(text), file_(file), result_(result), role_(role) {
    if (!result_->policy) result_->policy.emplace();
    policy_ = &*result_->policy;
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Run parses the whole file into |result->policy| and |result->issues|.
  void Run();

 private:
  // Next reads the next event and returns true; it returns false, the
  // parse stopped, on a syntax error (reported) or once |stopped_| is set.
  // An alias, anchor or tag is reported, and reading goes on.
  bool Next();
  // Type, Mark and Text are the current event's type, 0-based start and
  // (for a scalar) text.
  yaml_event_type_t Type() const { return reader_.event().type; }
  const yaml_mark_t& Mark() const { return reader_.event().start_mark; }
  std::string_view Text() const {
    return std::string_view(reinterpret_cast<const char*>(reader_.event().data.scalar.value), reader_.event().data.scalar.length);
  }
  // IsPlain: the current scalar is unquoted. IsNull: it is YAML's null.
  bool IsPlain() const { return reader_.event().data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }
  bool IsNull() const {
    std::string_view t = Text();
    return IsPlain() && (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL");
  }
  // KindName names the current node's kind for an issue ("a list").
  const char* KindName() const;

  // AddIssue records |message| at 1-based |line| and |column| (or at
  // libyaml's 0-based |mark|). Past kMaxIssues it records kTooManyProblems
  // once instead and stops the parse.
  void AddIssue(int line, int column, std::string message);
  void AddIssue(const yaml_mark_t& mark, std::string message) {
    AddIssue(static_cast<int>(mark.line) + 1, static_cast<int>(mark.column) + 1, std::move(message));
  }
  // DeferIssue records a key found missing when its mapping ended; the
  // next event read adds it (Next), a syntax error drops it. libyaml ends
  // a mapping at a line indented less than its keys and only then finds
  // that the line fits nowhere: the "missing" key is usually that line,
  // and the syntax error at it says all there is to say.
  void DeferIssue(const yaml_mark_t& mark, std::string message) {
    deferred_.push_back({mark, std::move(message)});
  }
  // Where returns |mark| as a 1-based location in this file.
  SourceLocation Where(const yaml_mark_t& mark) const {
    return SourceLocation{file_, static_cast<int>(mark.line) + 1, static_cast<int>(mark.column) + 1};
  }
  // SkipNode consumes the current node with all it holds and returns true;
  // false if the parse stopped (also when it nests too deeply: reported).
  bool SkipNode();
  // WrongKind reports that |key|'s value is not |expected| (an alias is
  // already reported) and skips the value.
  void WrongKind(std::string_view key, const char* expected);

  // ForEachKey reads a mapping whose keys |table| lists and calls
  // |on_value|(index, name) at each key's value, which |on_value| consumes.
  // Unknown and duplicate keys, and a node that is no mapping, are
  // reported (in |context|) and skipped. Defined below: every Parse* file
  // instantiates it.
  template <size_t N, typename F>
  MappingInfo ForEachKey(const KeyTable<N>& table, std::string_view context, F&& on_value);
  // ReadScalar sets |*out| to the current scalar, |*mark| to where it is,
  // and returns true; a null or a non-scalar is reported: false.
  bool ReadScalar(std::string_view key, std::string* out, yaml_mark_t* mark);
  // ReadList appends a list's items (a single scalar is a list of one) to
  // |*out|, sets |*mark| to where it starts, and returns true; false when
  // an item was no scalar or the parse stopped (each reported).
  bool ReadList(std::string_view key, std::vector<Item>* out, yaml_mark_t* mark);
  // ReadUnsigned reads a plain decimal scalar from |min| to |max|.
  bool ReadUnsigned(std::string_view key, uint64_t min, uint64_t max, uint64_t* out);
  // CountListItem counts the current event as item number |in_list| (1-based)
  // of a list, against kMaxListItems and kMaxPolicyListItems. Over either, it
  // reports the issue, stops the parse and returns false: memory then stays
  // bounded whatever the file holds.
  bool CountListItem(std::string_view key, size_t in_list);

  // ParseAuthorities reads the authorities mapping; one with errors is
  // left out and noted in |result_->left_out_authorities|.
  void ParseAuthorities();
  // ParseAuthority appends authority |name| (at |name_mark|) if it has no
  // errors.
  void ParseAuthority(const std::string& name, const yaml_mark_t& name_mark);
  // ParseDefaults reads defaults into |policy_->defaults|.
  void ParseDefaults();
  // EarlierPlace says where |key| ("defaults max_lifetime", "revoked
  // krl") was set by an earlier file: " at FILE:LINE:COLUMN".
  std::string EarlierPlace(std::string_view key) const;
  // DefaultSetEarlier says that defaults |key| was set by an earlier file,
  // and where.
  std::string DefaultSetEarlier(std::string_view key) const;
  // ParseRevoked reads revoked: key_ids appended, krl set by one file.
  void ParseRevoked();
  // ParseRules reads the rules list, at most kMaxPolicyRules in all files.
  void ParseRules();
  // ParseRule appends one rule if it has no issues, and its authority
  // names for FinishPolicy (dropped_rule_authority_names if left out).
  void ParseRule();
  // ParseUserKeys appends the rule's user_keys lines to |rule|, reporting
  // each bad one.
  void ParseUserKeys(std::string_view key_name, Rule* rule);
  // ParseConstraint reads constraint |key| (a RuleKey before kRuleName)
  // into |*c|; |in_defaults|: one an earlier file set is an issue.
  void ParseConstraint(int key, std::string_view key_name, Constraints* c, bool in_defaults);
  // ParseExtensions reads extensions (require, forbid) into |*c|.
  void ParseExtensions(Constraints* c, bool in_defaults);
  // ReadPatterns reads a pattern list, reporting each bad element.
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
  Policy* policy_ = nullptr;  // &*result_->policy
  bool stopped_ = false;      // set: every loop unwinds, no more issues
  std::vector<std::pair<yaml_mark_t, std::string>> deferred_;  // DeferIssue's, not yet added
};

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

}  // namespace certgate::core::policy_parser_internal

#endif  // CERTGATE_CORE_POLICY_PARSER_H_
