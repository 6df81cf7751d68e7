// The policy language v1 (man/certgate-policy.5), as value types.
// A Policy exists only if it was loaded without error: see policy_loader.h.
#ifndef CERTGATE_CORE_POLICY_H_
#define CERTGATE_CORE_POLICY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/key_options.h"
#include "core/ssh_key.h"

namespace certgate::core {

// SourceLocation is a 1-based position in a policy file.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

// RuleLocation is where a rule starts. The file name is shared by all the
// rules of a file: a 100,000-rule policy would otherwise hold 100,000 copies
// of its path.
struct RuleLocation {
  std::shared_ptr<const std::string> file;  // never null once loaded
  int line = 0;
  int column = 0;

  const std::string& File() const;
  SourceLocation At(int at_line, int at_column) const { return SourceLocation{File(), at_line, at_column}; }
  SourceLocation Source() const { return At(line, column); }
};

// Authority is one CA this host accepts.
struct Authority {
  std::string name;
  std::vector<PublicKey> keys;            // from authorized_keys-form entries
  std::vector<std::string> fingerprints;  // "SHA256:..." entries
  std::vector<uint64_t> revoked_serials;  // sorted, unique
  bool allow_sha1 = false;
  SourceLocation where;
};

// SourceAddressRequirement is the `source_address` constraint.
enum class SourceAddressRequirement { kOptional, kRequired };

// Constraints are what a certificate must satisfy for a rule to grant. An
// unset field falls back to Policy::defaults, then to "no constraint".
struct Constraints {
  std::optional<uint64_t> max_lifetime;                  // seconds
  std::optional<std::vector<std::string>> key_id;        // pattern list
  std::optional<SourceAddressRequirement> source_address;
  std::optional<std::vector<std::string>> require_extensions;
  std::optional<std::vector<std::string>> forbid_extensions;
  std::optional<std::vector<KeyType>> key_types;          // certified key types
  std::optional<unsigned> min_rsa_bits;

  bool operator==(const Constraints&) const = default;
};

// Rule is one entry of `rules`.
struct Rule {
  std::string name;                     // empty if unnamed
  std::vector<std::string> users;       // login patterns (may start with '!')
  std::vector<std::string> groups;      // from "group:NAME" entries
  std::vector<size_t> authorities;      // indices into Policy::authorities
  std::vector<std::string> principals;  // patterns; may contain "{user}"
  // The rule's own constraints (Policy::defaults fill in the rest): out of
  // line, null when the rule sets none, as most per-user rules do, so that
  // a rule costs 16 bytes for them instead of 160. Read with Own().
  std::shared_ptr<const Constraints> constraints;
  std::vector<std::string> options;     // checked authorized_keys options
  std::vector<AuthorizedKeysLine> user_keys;  // keys-cmd break-glass keys
  RuleLocation where;
  size_t number = 0;                    // 1-based position in Policy::rules

  // Label returns the name, or "rule N (FILE:LINE)" for an unnamed rule.
  std::string Label() const;
  // Own returns the rule's own constraints (empty ones if it has none).
  const Constraints& Own() const;
};

// Policy is the merged content of the main file and its policy.d fragments,
// as the loader builds it. Decisions read its compiled form
// (compiled_policy.h), which takes a sixth of the memory.
struct Policy {
  std::vector<Authority> authorities;
  Constraints defaults;
  std::vector<std::string> revoked_key_ids;  // patterns (no '!')
  std::optional<std::string> krl_path;
  std::vector<Rule> rules;
  std::vector<std::string> files;  // every file read, in order
};

}  // namespace certgate::core

#endif  // CERTGATE_CORE_POLICY_H_
