#include "core/policy_index.h"

#include <gtest/gtest.h>

#include <memory>

#include <random>
#include <string>
#include <vector>

#include "core/groups.h"
#include "core/policy_eval.h"
#include "tests/policy_testing.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

constexpr uint64_t kNow = 1'800'000'000;

using certgate::testing::Compile;
using certgate::testing::CompileDifference;
using certgate::testing::FakeKey;
using certgate::testing::MutableConstraints;

const std::vector<std::string> kNames = {"alice", "bob", "carol", "dave", "root", "svc-1", "svc-2", "a*"};
const std::vector<std::string> kPrincipals = {"ops", "dev", "alice", "bob", "root", "team-1", "svc-1"};

std::string Pick(std::mt19937& rng, const std::vector<std::string>& from) {
  return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
}

// RandomPolicy mixes literal rules (also naming a user twice), patterns,
// negations and groups, with constraints that fail for some certificates.
Policy RandomPolicy(std::mt19937& rng, size_t rules) {
  Policy p;
  Authority a;
  a.name = "prod";
  a.keys.push_back(FakeKey(9));
  p.authorities.push_back(a);
  Authority b;
  b.name = "other";
  b.keys.push_back(FakeKey(8));
  p.authorities.push_back(b);
  std::uniform_int_distribution<int> die(0, 9);
  for (size_t i = 0; i < rules; ++i) {
    Rule r;
    r.name = "r" + std::to_string(i);
    r.number = i + 1;
    const int shape = die(rng);
    if (shape < 5) {
      r.users = {Pick(rng, kNames), Pick(rng, kNames)};
      if (r.users[0] == "a*") r.users[0] = "alice";
      if (r.users[1] == "a*") r.users[1] = "alice";
    } else if (shape == 5) {
      r.users = {"svc-*"};
    } else if (shape == 6) {
      r.users = {"*", "!" + Pick(rng, kNames)};
    } else if (shape == 7) {
      r.groups = {die(rng) < 5 ? "ops" : "dev"};
    } else if (shape == 8) {
      r.users = {"?ob", Pick(rng, kNames)};
      r.groups = {"dev"};
    } else {
      r.users = {Pick(rng, kNames)};
      r.groups = {"broken"};  // a failing group lookup
    }
    r.authorities = {static_cast<size_t>(die(rng) < 8 ? 0 : 1)};
    r.principals = {die(rng) < 3 ? std::string("{user}") : Pick(rng, kPrincipals)};
    if (die(rng) == 0) r.principals.push_back("!root");
    if (die(rng) == 0) MutableConstraints(r).max_lifetime = 60;  // fails for a 5m certificate
    if (die(rng) == 0) r.options = {"no-pty"};
    p.rules.push_back(r);
  }
  return p;
}

class FailingGroups : public GroupResolver {
 public:
  Result<bool> IsMember(std::string_view user, std::string_view group) override {
    if (group == "broken") return Fail(Errc::kIo, "lookup failed");
    if (group == "ops") return user == "alice" || user == "dave";
    if (group == "dev") return user == "bob";
    return false;
  }
};

Certificate Cert(std::mt19937& rng) {
  Certificate c;
  c.type_name = "ssh-ed25519-cert-v01@openssh.com";
  c.key = FakeKey(1);
  c.cert_type = kCertTypeUser;
  c.key_id = "id";
  c.principals = {Pick(rng, kPrincipals), Pick(rng, kPrincipals), Pick(rng, kPrincipals)};
  c.valid_after = kNow - 60;
  c.valid_before = kNow + 240;
  c.signature_key = FakeKey(9);
  c.signature.algorithm = "ssh-ed25519";
  return c;
}

// Significant drops the outcomes the index never produces: the rules whose
// users do not match (listed only with every_rule, for --explain).
std::vector<std::string> Significant(const Decision& d) {
  std::vector<std::string> out;
  for (const RuleOutcome& r : d.rules) {
    if (r.kind == RuleOutcome::Kind::kUserNotMatched) continue;
    std::string s = std::string(r.rule.name()) + ":" + std::to_string(static_cast<int>(r.kind)) + ":" + r.reason;
    for (const auto& p : r.principals) s += "," + p;
    out.push_back(s);
  }
  return out;
}

TEST(PolicyIndexTest, LiteralRules) {
  Rule r;
  r.users = {"alice", "bob"};
  EXPECT_TRUE(IsLiteralUserRule(r));
  r.users = {"alice", "b*"};
  EXPECT_FALSE(IsLiteralUserRule(r));
  r.users = {"alice", "!bob"};
  EXPECT_FALSE(IsLiteralUserRule(r));
  r.users = {"al?ce"};
  EXPECT_FALSE(IsLiteralUserRule(r));
  r.users = {"alice"};
  r.groups = {"ops"};
  EXPECT_FALSE(IsLiteralUserRule(r));
  r.users.clear();
  r.groups.clear();
  EXPECT_FALSE(IsLiteralUserRule(r));
}

TEST(PolicyIndexTest, CandidatesAscendingWithoutRepeats) {
  Policy p;
  for (int i = 0; i < 5; ++i) {
    Rule r;
    r.users = i == 2 ? std::vector<std::string>{"a*"} : std::vector<std::string>{"alice", "alice"};
    if (i == 4) r.users = {"bob"};
    p.rules.push_back(r);
  }
  auto c = Compile(p);
  EXPECT_EQ(CandidateRules(*c, "alice"), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(CandidateRules(*c, "anna"), (std::vector<uint32_t>{2}));  // "a*"
  EXPECT_EQ(CandidateRules(*c, "bob"), (std::vector<uint32_t>{4}));
  EXPECT_EQ(CandidateRules(*c, "zed"), (std::vector<uint32_t>{}));
  EXPECT_EQ(CandidateRules(*c, ""), (std::vector<uint32_t>{}));
}

// Generic rules are filtered by their patterns as MatchUser decides: a
// rule with group: entries stays a candidate unless a negation excludes
// the name (NSS decides the rest).
TEST(PolicyIndexTest, GenericRulesFilteredByTheirPatterns) {
  Policy p;
  Rule r;
  r.users = {"svc-*", "!svc-test"};
  p.rules.push_back(r);  // 0
  r.users = {"!bob"};
  r.groups = {"ops"};
  p.rules.push_back(r);  // 1
  r.users = {};
  r.groups = {"dev"};
  p.rules.push_back(r);  // 2
  r.users = {"b?b"};
  r.groups = {};
  p.rules.push_back(r);  // 3
  r.users = {"bob"};
  p.rules.push_back(r);  // 4: literal
  auto c = Compile(p);
  ASSERT_EQ(c->generic().size(), 4u);
  std::vector<std::string> generic_users, generic_groups;
  for (const GenericRule& g : c->generic()) {
    for (std::string_view u : c->GenericPatterns(g)) generic_users.emplace_back(u);
    for (std::string_view group : c->Strings(g.groups)) generic_groups.emplace_back(group);
  }
  EXPECT_EQ(generic_users, (std::vector<std::string>{"svc-*", "!svc-test", "!bob", "b?b"}));
  EXPECT_EQ(generic_groups, (std::vector<std::string>{"ops", "dev"}));
  EXPECT_EQ(CandidateRules(*c, "svc-web"), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(CandidateRules(*c, "svc-test"), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(CandidateRules(*c, "bob"), (std::vector<uint32_t>{2, 3, 4}));
  EXPECT_EQ(CandidateRules(*c, "bib"), (std::vector<uint32_t>{1, 2, 3}));
  // With a resolver, group rules are asked there, without visiting them:
  // dave is in ops only, carol in none, and a failed lookup keeps the rule
  // (the decision reports the failure).
  FailingGroups groups;
  EXPECT_EQ(CandidateRules(*c, "dave", &groups), (std::vector<uint32_t>{1}));
  EXPECT_EQ(CandidateRules(*c, "carol", &groups), (std::vector<uint32_t>{}));
  EXPECT_EQ(CandidateRules(*c, "bob", &groups), (std::vector<uint32_t>{2, 3, 4}));
  p.rules[2].groups = {"broken"};
  EXPECT_EQ(CandidateRules(*Compile(p), "carol", &groups), (std::vector<uint32_t>{2}));
  // The compiled policy needs nothing of the Policy it was compiled from.
  p = Policy{};
  EXPECT_EQ(CandidateRules(*c, "svc-web"), (std::vector<uint32_t>{0, 1, 2}));
}

// The index must never change a decision: randomized policies, every user,
// random certificates, compared with the linear evaluation.
TEST(PolicyIndexTest, SameDecisionsAsLinearEvaluation) {
  std::mt19937 rng(20261122);
  FailingGroups groups;
  std::vector<std::string> users = kNames;
  users.push_back("nobody-listed");
  for (int round = 0; round < 200; ++round) {
    Policy policy = RandomPolicy(rng, 1 + static_cast<size_t>(round % 40));
    auto compiled = Compile(policy);
    ASSERT_EQ(CompileDifference(policy, *compiled), "");
    for (int c = 0; c < 5; ++c) {
      Certificate cert = Cert(rng);
      for (const std::string& user : users) {
        // every_rule walks every rule (linear); otherwise the index picks.
        Decision a = Evaluate(*compiled, Request{.user = user, .cert = &cert, .now = kNow, .every_rule = true}, nullptr, groups);
        Decision b = Evaluate(*compiled, Request{.user = user, .cert = &cert, .now = kNow, .every_rule = false}, nullptr, groups);
        ASSERT_EQ(a.verdict, b.verdict) << user;
        ASSERT_EQ(a.reason, b.reason) << user;
        ASSERT_EQ(a.grants.size(), b.grants.size()) << user;
        for (size_t g = 0; g < a.grants.size(); ++g) {
          EXPECT_EQ(a.grants[g].principal, b.grants[g].principal);
          EXPECT_EQ(a.grants[g].rule, b.grants[g].rule);
        }
        EXPECT_EQ(a.unsafe_principals, b.unsafe_principals);
        EXPECT_EQ(Significant(a), Significant(b)) << user;
        // RulesForUser (indexed) against the linear walk's user matches:
        // every certificate here reaches the rules.
        std::vector<RuleView> linear_rules;
        std::vector<std::string> linear_errors, errors;
        for (const RuleOutcome& r : a.rules) {
          if (r.kind == RuleOutcome::Kind::kGroupLookupFailed) linear_errors.push_back(r.reason);
          if (r.kind != RuleOutcome::Kind::kUserNotMatched &&
              r.kind != RuleOutcome::Kind::kGroupLookupFailed) {
            linear_rules.push_back(r.rule);
          }
        }
        EXPECT_EQ(RulesForUser(*compiled, user, groups, &errors), linear_rules) << user;
        EXPECT_EQ(errors, linear_errors) << user;
      }
    }
  }
}

}  // namespace
}  // namespace certgate::core
