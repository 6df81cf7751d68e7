#include "core/compiled_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/policy_loader.h"
#include "tests/policy_testing.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using certgate::testing::Compile;
using certgate::testing::CompileDifference;
using certgate::testing::kTestKeyA;
using certgate::testing::Parse;
using certgate::testing::PerUserPolicy;
using certgate::testing::ReadFile;
using certgate::testing::SourceDir;

TEST(CompiledPolicyTest, EveryFieldOfTheGoodPolicyReadsBack) {
  Policy p = Parse(ReadFile(SourceDir() + "/tests/data/policies/good.yaml"), "good.yaml");
  ASSERT_EQ(p.rules.size(), 3u);
  auto c = Compile(p);
  EXPECT_EQ(CompileDifference(p, *c), "");
  // A few fields spelled out, so that a wrong CompileDifference cannot hide
  // a wrong compiler.
  EXPECT_EQ(c->rule(0).name(), "ops-on-prod");
  EXPECT_EQ(c->rule(0).users().ToVector(), (std::vector<std::string>{"ubuntu", "root"}));
  EXPECT_EQ(c->rule(0).groups().ToVector(), (std::vector<std::string>{"wheel"}));
  EXPECT_EQ(c->rule(0).principals()[2], "!team-evil");
  EXPECT_EQ(c->rule(0).options().ToVector(),
            (std::vector<std::string>{"from=\"10.0.0.0/8\"", "no-port-forwarding"}));
  const CompiledConstraints& own = c->rule(0).constraints();
  EXPECT_TRUE(own.has_max_lifetime);
  EXPECT_EQ(own.max_lifetime, 600u);
  EXPECT_EQ(c->Strings(own.forbid_extensions).ToVector(),
            (std::vector<std::string>{"permit-port-forwarding", "permit-agent-forwarding"}));
  EXPECT_EQ(c->rule(1).Label(), "rule 2 (good.yaml:" + std::to_string(p.rules[1].where.line) + ")");
  EXPECT_EQ(c->rule(1).constraints().key_id, kNoList);  // unset, not empty
  EXPECT_EQ(c->rule(2).authorities().size(), 2u);
  ASSERT_EQ(c->rule(2).user_keys().size(), 1u);
  EXPECT_EQ(c->rule(2).user_keys()[0]->comment, "oncall-breakglass");
  EXPECT_TRUE(c->rule(2).user_keys()[0]->key == p.rules[2].user_keys[0].key);
  EXPECT_TRUE(c->defaults().has_max_lifetime);
  EXPECT_EQ(c->defaults().max_lifetime, 3600u);
  EXPECT_EQ(c->krl_path(), "/etc/ssh/revoked_keys");
}

TEST(CompiledPolicyTest, RepeatedNamesNameTheFirstRuleWithTheName) {
  const std::string rule = "    authorities: [prod]\n    principals: [ops]\n";
  Policy p = Parse(std::string("version: 1\nauthorities:\n  prod:\n    keys: [\"") + kTestKeyA +
                   "\"]\nrules:\n  - name: a\n    users: [x]\n" + rule + "  - users: [y]\n" + rule +
                   "  - name: b\n    users: [z]\n" + rule + "  - users: [w]\n" + rule +
                   "  - name: b\n    users: [v]\n" + rule + "  - name: a\n    users: [u]\n" + rule);
  auto c = Compile(p);
  std::vector<std::pair<size_t, size_t>> found;
  for (const RepeatedName& r : RepeatedNames(*c)) found.emplace_back(r.rule.number(), r.first.number());
  EXPECT_EQ(found, (std::vector<std::pair<size_t, size_t>>{{5, 3}, {6, 1}}));
  p.rules[4].name = "c";
  p.rules[5].name = "d";
  EXPECT_TRUE(RepeatedNames(*Compile(p)).empty());
}

TEST(CompiledPolicyTest, ConstraintsOfEveryKindAndEmptyLists) {
  Policy p = Parse(std::string("version: 1\nauthorities:\n  prod:\n    keys: [\"") + kTestKeyA +
                   "\"]\ndefaults:\n  key_id: [\"*@corp\"]\n  source_address: optional\n"
                   "  key_types: [ssh-rsa]\n  min_rsa_bits: 2048\n"
                   "rules:\n"
                   "  - users: [\"*\", \"!root\"]\n    authorities: [prod]\n    principals: [ops]\n"
                   "    extensions:\n      require: []\n      forbid: []\n    source_address: required\n"
                   "  - users: [alice, alice]\n    authorities: [prod]\n    principals: [\"{user}\"]\n"
                   "    min_rsa_bits: 4096\n    key_types: [ssh-ed25519, ssh-rsa]\n");
  ASSERT_EQ(p.rules.size(), 2u);
  auto c = Compile(p);
  EXPECT_EQ(CompileDifference(p, *c), "");
  // An empty list is set (it requires nothing), unlike an absent one.
  EXPECT_NE(c->rule(0).constraints().require_extensions, kNoList);
  EXPECT_TRUE(c->Strings(c->rule(0).constraints().require_extensions).empty());
  EXPECT_EQ(c->rule(0).constraints().key_types, kNoList);
  EXPECT_NE(c->defaults().key_types, kNoList);
}

// The point of compiling: lists, strings and constraints are stored once.
TEST(CompiledPolicyTest, SharedContentIsStoredOnce) {
  Policy p = Parse(PerUserPolicy(2000));
  auto c = Compile(p);
  ASSERT_EQ(CompileDifference(p, *c), "");
  EXPECT_EQ(c->rule(0).authorities().data(), c->rule(1999).authorities().data());
  EXPECT_EQ(c->rule(3).principals().begin(), c->rule(3 + 97).principals().begin());
  EXPECT_NE(c->rule(3).principals().begin(), c->rule(4).principals().begin());
  EXPECT_EQ(&c->rule(1).constraints(), &c->rule(2).constraints());    // none set
  EXPECT_NE(&c->rule(0).constraints(), &c->rule(7).constraints());    // two key_ids
  // About 90 bytes per rule: the record (44), the name and login name (two
  // strings of 7 bytes and their 4-byte ends), the users list (8), the index
  // entry (8) and a seventh of a constraints record with its list.
  EXPECT_LT(c->bytes(), 2000u * 100u) << c->bytes();
}

TEST(CompiledPolicyTest, OutlivesItsSourceAndEmptyPolicy) {
  auto c = Compile(Parse(PerUserPolicy(3)));
  EXPECT_EQ(c->rule_count(), 3u);
  EXPECT_EQ(c->rule(2).users()[0], "u100002");
  EXPECT_EQ(c->String(0), "");
  Policy empty;
  auto e = Compile(empty);
  EXPECT_EQ(e->rule_count(), 0u);
  EXPECT_TRUE(e->by_name().empty());
  EXPECT_EQ(CompileDifference(empty, *e), "");
}

TEST(CompiledPolicyTest, LoadCompiledPolicy) {
  certgate::testing::TempDir dir;
  const std::string path = dir.Path("policy.yaml");
  certgate::testing::WriteFile(path, PerUserPolicy(5));
  LoadOptions options;
  options.owner_uid = static_cast<unsigned>(getuid());
  options.trusted_root = certgate::testing::TempRoot();
  chmod(dir.path().c_str(), 0755);
  LoadedPolicy loaded = LoadCompiledPolicy(path, options);
  ASSERT_TRUE(loaded.policy) << (loaded.issues.empty() ? "" : loaded.issues.front().ToString());
  EXPECT_EQ(loaded.policy->rule_count(), 5u);
  EXPECT_EQ(loaded.policy->files(), std::vector<std::string>{path});
  certgate::testing::WriteFile(path, "version: 1\nrules: [\n");
  loaded = LoadCompiledPolicy(path, options);
  EXPECT_FALSE(loaded.policy);
  EXPECT_FALSE(loaded.issues.empty());
}

}  // namespace
}  // namespace certgate::core
