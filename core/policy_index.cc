#include "core/policy_index.h"

#include <algorithm>
#include <span>
#include <string>

#include "core/pattern.h"

namespace certgate::core {

bool IsLiteralUserRule(const Rule& rule) {
  if (rule.users.empty() || !rule.groups.empty()) return false;
  for (const std::string& u : rule.users) {
    // MatchPattern of a pattern without '*' or '?' is plain equality, and a
    // leading '!' is a negation: such a rule must be asked for every name.
    if (u.empty() || u.front() == '!' || u.find_first_of("*?") != std::string::npos) return false;
  }
  return true;
}

std::vector<uint32_t> CandidateRules(const CompiledPolicy& policy, std::string_view user,
                                     GroupResolver* groups) {
  std::vector<uint32_t> out;
  const std::span<const UserIndexEntry> by_name = policy.by_name();
  const std::span<const GenericRule> generic = policy.generic();
  auto first = std::lower_bound(by_name.begin(), by_name.end(), user,
                                [&policy](const UserIndexEntry& e, std::string_view name) {
                                  return policy.String(e.name) < name;
                                });
  auto last = first;
  while (last != by_name.end() && policy.String(last->name) == user) ++last;
  auto may_apply = [&policy, user, groups](const GenericRule& g) {
    // As MatchUser decides: a pattern match, or else a group: entry
    // unless a negated pattern excluded the name.
    const std::span<const std::string_view> patterns = policy.GenericPatterns(g);
    const StringList group_names = policy.Strings(g.groups);
    ListMatch m = patterns.empty() ? ListMatch::kNoMatch : MatchPatternList(user, patterns);
    if (m != ListMatch::kNoMatch || group_names.empty()) return m == ListMatch::kMatch;
    if (groups == nullptr) return true;
    for (std::string_view group : group_names) {
      Result<bool> member = groups->IsMember(user, group);
      if (!member || *member) return true;  // a failed lookup: MatchUser reports it
    }
    return false;
  };
  // Merge two ascending lists; a rule naming the user twice appears once.
  auto g = generic.begin();
  for (auto it = first; it != last || g != generic.end();) {
    uint32_t next;
    if (it == last || (g != generic.end() && g->rule < it->rule)) {
      if (!may_apply(*g)) {
        ++g;
        continue;
      }
      next = (g++)->rule;
    } else {
      next = (it++)->rule;
    }
    if (out.empty() || out.back() != next) out.push_back(next);
  }
  return out;
}

}  // namespace certgate::core
