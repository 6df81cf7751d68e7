// Loading policy files with libyaml's event API into a Policy.
#ifndef CERTGATE_CORE_POLICY_LOADER_H_
#define CERTGATE_CORE_POLICY_LOADER_H_

#include <memory>
#include <optional>
#include <unordered_map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/compiled_policy.h"
#include "core/policy.h"
#include "core/safe_directory.h"

namespace certgate::core {

// kDefaultPolicyPath is where principals-cmd and keys-cmd look by default.
inline constexpr const char kDefaultPolicyPath[] = "/etc/certgate/policy.yaml";
// Limits on a whole policy (the main file and its fragments together), so
// that loading any policy takes bounded memory and time (about 10 s and
// 256 MiB at the worst; a 100,000-rule policy is well inside them). Going
// over one is an issue at the place it happened, and the load stops there.
//
// kMaxPolicyFileSize caps the bytes of all files together (a 100,000-rule
// policy is about 11 MB).
inline constexpr size_t kMaxPolicyFileSize = 64 * 1024 * 1024;
// kMaxPolicyFragments caps the *.yaml files of the fragment directory.
inline constexpr size_t kMaxPolicyFragments = 10000;
// kMaxPolicyRules caps the rules of all files together.
inline constexpr size_t kMaxPolicyRules = 200000;
// kMaxPolicyAuthorities caps the authorities of all files together.
inline constexpr size_t kMaxPolicyAuthorities = 10000;
// kMaxListItems caps one list (users, principals, keys, revoked_serials...).
inline constexpr size_t kMaxListItems = 10000;
// kMaxPolicyListItems caps the items of all lists of all files together.
inline constexpr size_t kMaxPolicyListItems = 1000000;
// kMaxPolicyIssues caps the issues reported for one load: the first ones are
// enough to act on, and a report never grows with the policy.
inline constexpr size_t kMaxPolicyIssues = 100;

// Issue is one problem in a policy file, reported as FILE:LINE:COLUMN.
struct Issue {
  SourceLocation where;
  std::string message;

  // ToString returns "FILE:LINE:COLUMN: message".
  std::string ToString() const;
};

// PendingName is an authority name as written in a rule, kept between
// ParsePolicyText and FinishPolicy (which resolves it to an index).
struct PendingName {
  std::string name;
  int line = 0;
  int column = 0;
};

// LoadResult is a loaded policy, or why there is none. |policy| is set only
// when |issues| is empty: any issue is fatal.
struct LoadResult {
  std::optional<Policy> policy;
  std::vector<Issue> issues;
  // rule_authority_names runs parallel to policy->rules while files are
  // parsed; FinishPolicy resolves and clears it.
  std::vector<std::vector<PendingName>> rule_authority_names;
  // dropped_rule_authority_names: the authority names of rules left out for
  // other errors, so that FinishPolicy reports an unknown one there too.
  std::vector<std::pair<RuleLocation, std::vector<PendingName>>> dropped_rule_authority_names;
  // left_out_authorities: authorities dropped for their errors, and where
  // they are, so that a rule naming one is not told it is unknown.
  std::unordered_map<std::string, SourceLocation> left_out_authorities{};
  // defaults_set_at: where each key of `defaults` ("defaults max_lifetime")
  // and "revoked krl" was set, so that a file that sets one again is told
  // which file has it.
  std::unordered_map<std::string, SourceLocation> defaults_set_at{};
  // list_items and bytes count what the files read so far hold, against
  // kMaxPolicyListItems and kMaxPolicyFileSize.
  size_t list_items = 0;
  size_t bytes = 0;
};

// LoadOptions controls file checks (tests run as non-root users).
struct LoadOptions {
  // check_permissions: every file and directory must be owned by root
  // (uid 0, or |owner_uid| when set for tests) and not group/other-writable.
  // Every directory above them up to / must be owned by root (or
  // |owner_uid|), not writable by group or others, and not a symbolic link.
  bool check_permissions = true;
  unsigned owner_uid = 0;
  // trusted_root: an absolute directory taken as safe with all above it
  // (DirectoryRule); empty in production. Tests set $TMPDIR.
  std::string trusted_root;
};

// DirectoryRuleFor is the rule every directory above the policy (and the
// snapshot) is held to under |options| (OpenSafeDirectory).
inline DirectoryRule DirectoryRuleFor(const LoadOptions& options) {
  return DirectoryRule{options.check_permissions, options.owner_uid, options.trusted_root};
}

// FragmentDirectory returns where |main_path|'s fragments live:
// `policy.d` beside |default_path| (`/etc/certgate/policy.d`) when
// |main_path| names |default_path|, however it is spelled (the same
// directory, by device and inode, and the same file name: `--policy
// /etc/certgate//policy.yaml` or `./policy.yaml` run in /etc/certgate),
// else `<main_path>.d`.
std::string FragmentDirectory(const std::string& main_path, const std::string& default_path = kDefaultPolicyPath);

// IsFragmentName returns true for a directory entry LoadPolicy reads as a
// fragment: `*.yaml`, not starting with '.'.
bool IsFragmentName(std::string_view name);

// LoadPolicy reads |main_path|, then every fragment (IsFragmentName) in
// FragmentDirectory(|main_path|), in byte order of file name. It
// merges them: authorities by name (the same name twice is an issue), rules
// appended in order, defaults and revoked.krl set by at most one file,
// revoked.key_ids appended. Files are opened with O_NOFOLLOW|O_CLOEXEC and
// checked with fstat (regular file, all together at most kMaxPolicyFileSize;
// at most kMaxPolicyFragments fragments, not one is read beyond); the main
// file's parent directory and the fragment directory get the same owner and
// mode check, and every directory above them is checked (OpenSafeDirectory:
// no symbolic link, root-owned, not group/other-writable); the files are
// opened relative to the checked directory. Missing fragment directory:
// fine. Missing main file: an issue.
// Every problem is an Issue (file problems at FILE:1:1); never throws.
LoadResult LoadPolicy(const std::string& main_path, const LoadOptions& options);

// LoadedPolicy is a compiled policy, or why there is none: what the helpers
// and certgate-decide decide with. |policy| is set only when |issues| is
// empty.
struct LoadedPolicy {
  std::shared_ptr<const CompiledPolicy> policy;
  std::vector<Issue> issues;
};

// LoadCompiledPolicy is LoadPolicy followed by CompilePolicy; the loaded
// Policy is freed before it returns.
LoadedPolicy LoadCompiledPolicy(const std::string& main_path, const LoadOptions& options);

// PolicyFileRole: the main file must say "version: 1"; a policy.d
// fragment may leave it out (if it says a version, it must be 1).
enum class PolicyFileRole { kMain, kFragment };

// ParsePolicyText parses one file's |text| (named |file_name| in issues)
// into |result| as LoadPolicy does for each file, without file checks and
// without the final cross-file validation. Exposed for tests and fuzzing.
void ParsePolicyText(std::string_view text, std::string_view file_name,
                     LoadResult* result, PolicyFileRole role = PolicyFileRole::kMain);

// FinishPolicy performs the checks that need every file (rule authority
// names resolved, at least one authority per rule) and clears
// |result->policy| if there are issues.
void FinishPolicy(LoadResult* result);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_POLICY_LOADER_H_
