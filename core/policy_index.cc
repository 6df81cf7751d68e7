#include "core/policy_index.h"

#include <algorithm>
#include <span>
#include <string>

#include "core/pattern.h"

namespace certgate::core {
namespace {

std::string_view NameOf(const Policy& policy, const UserIndexEntry& e) {
  return policy.rules[e.rule].users[e.user];
}

}  // namespace

bool IsLiteralUserRule(const Rule& rule) {
  if (rule.users.empty() || !rule.groups.empty()) return false;
  for (const std::string& u : rule.users) {
    // MatchPattern of a pattern without '*' or '?' is plain equality, and a
    // leading '!' is a negation: such a rule must be asked for every name.
    if (u.empty() || u.front() == '!' || u.find_first_of("*?") != std::string::npos) return false;
  }
  return true;
}

void BuildUserIndex(Policy* policy) {
  UserIndex index;
  // Rule and name positions are stored as uint32_t: the loader caps a
  // policy at kMaxPolicyRules, far below 2^32; a policy beyond that would
  // stay linear.
  if (policy->rules.size() >= UINT32_MAX) {
    policy->user_index = UserIndex{};
    return;
  }
  for (size_t r = 0; r < policy->rules.size(); ++r) {
    const Rule& rule = policy->rules[r];
    if (!IsLiteralUserRule(rule) || rule.users.size() >= UINT32_MAX) {
      if (index.generic_users.size() + rule.users.size() >= UINT32_MAX ||
          index.generic_groups.size() + rule.groups.size() >= UINT32_MAX) {
        policy->user_index = UserIndex{};  // beyond any real policy: stay linear
        return;
      }
      GenericRule g;
      g.rule = static_cast<uint32_t>(r);
      g.first = static_cast<uint32_t>(index.generic_users.size());
      g.count = static_cast<uint32_t>(rule.users.size());
      g.groups_first = static_cast<uint32_t>(index.generic_groups.size());
      g.groups_count = static_cast<uint32_t>(rule.groups.size());
      index.generic.push_back(g);
      index.generic_users.insert(index.generic_users.end(), rule.users.begin(), rule.users.end());
      index.generic_groups.insert(index.generic_groups.end(), rule.groups.begin(), rule.groups.end());
      continue;
    }
    for (size_t u = 0; u < rule.users.size(); ++u) {
      index.by_name.push_back(UserIndexEntry{static_cast<uint32_t>(r), static_cast<uint32_t>(u)});
    }
  }
  std::sort(index.by_name.begin(), index.by_name.end(),
            [policy](const UserIndexEntry& a, const UserIndexEntry& b) {
              std::string_view na = NameOf(*policy, a), nb = NameOf(*policy, b);
              if (na != nb) return na < nb;
              return a.rule < b.rule;
            });
  index.by_name.shrink_to_fit();
  index.generic.shrink_to_fit();
  index.generic_users.shrink_to_fit();
  index.generic_groups.shrink_to_fit();
  index.built = true;
  policy->user_index = std::move(index);
}

std::vector<uint32_t> CandidateRules(const Policy& policy, std::string_view user,
                                     GroupResolver* groups) {
  std::vector<uint32_t> out;
  const UserIndex& index = policy.user_index;
  if (!index.built) {
    out.reserve(policy.rules.size());
    for (size_t r = 0; r < policy.rules.size(); ++r) out.push_back(static_cast<uint32_t>(r));
    return out;
  }
  auto first = std::lower_bound(index.by_name.begin(), index.by_name.end(), user,
                                [&policy](const UserIndexEntry& e, std::string_view name) {
                                  return NameOf(policy, e) < name;
                                });
  auto last = first;
  while (last != index.by_name.end() && NameOf(policy, *last) == user) ++last;
  const std::span<const std::string> patterns(index.generic_users);
  const std::span<const std::string> group_names(index.generic_groups);
  auto may_apply = [&patterns, &group_names, user, groups](const GenericRule& g) {
    // As MatchUser decides: a pattern match, or else a group: entry
    // unless a negated pattern excluded the name.
    ListMatch m = g.count == 0 ? ListMatch::kNoMatch
                               : MatchPatternList(user, patterns.subspan(g.first, g.count));
    if (m != ListMatch::kNoMatch || g.groups_count == 0) return m == ListMatch::kMatch;
    if (groups == nullptr) return true;
    for (const std::string& group : group_names.subspan(g.groups_first, g.groups_count)) {
      Result<bool> member = groups->IsMember(user, group);
      if (!member || *member) return true;  // a failed lookup: MatchUser reports it
    }
    return false;
  };
  // Merge two ascending lists; a rule naming the user twice appears once.
  auto g = index.generic.begin();
  for (auto it = first; it != last || g != index.generic.end();) {
    uint32_t next;
    if (it == last || (g != index.generic.end() && g->rule < it->rule)) {
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
