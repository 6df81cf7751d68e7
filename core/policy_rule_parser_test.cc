// Tests of rule parsing (policy_rule_parser.cc): users and groups,
// authorities, principals, options, user_keys, and the constraints a rule or
// the defaults set, each refused with its issue at FILE:LINE:COLUMN.
#include <gtest/gtest.h>

#include <string>

#include "core/policy_loader.h"
#include "tests/policy_text_testing.h"

namespace certgate::core {
namespace {

using certgate::testing::policy_text::ExpectIssue;
using certgate::testing::policy_text::FirstIssue;
using certgate::testing::policy_text::Header;
using certgate::testing::policy_text::Issues;
using certgate::testing::policy_text::kKeyB;
using certgate::testing::policy_text::kRuleHead;
using certgate::testing::policy_text::Parse;

TEST(PolicyRuleParserTest, BadPatterns) {
  ExpectIssue(Header() + "rules:\n  - users: [\"a,b\"]\n    authorities: [prod]\n    principals: [x]\n",
              "p.yaml:6:13: bad pattern \"a,b\" in users");
  ExpectIssue(Header() + "rules:\n  - users: [a]\n    authorities: [prod]\n    principals: [\"!\"]\n",
              "p.yaml:8:18: bad pattern \"!\" in principals");
  ExpectIssue(Header() + "rules:\n  - users: [a]\n    authorities: [prod]\n    principals: [\"{usr}\"]\n",
              "p.yaml:8:18: bad pattern \"{usr}\" in principals: the only placeholder is {user}");
  // A control character is shown as the log shows it: '?' would read as
  // the pattern's wildcard.
  ExpectIssue(Header() + "rules:\n  - users: [\"a\\nfake\"]\n    authorities: [prod]\n    principals: [\"x\\ty\"]\n",
              "p.yaml:6:13: bad pattern \"a\\x0afake\" in users: a pattern may not contain control characters; "
              "remove them");
  ExpectIssue(Header() + "rules:\n  - users: [\"!group:x\"]\n    authorities: [prod]\n    principals: [x]\n",
              "p.yaml:6:13: a group cannot be negated");
  ExpectIssue(Header() + "rules:\n  - users: [\"group:\"]\n    authorities: [prod]\n    principals: [x]\n",
              "p.yaml:6:13: bad group in users");
  ExpectIssue(Header() + "rules:\n  - users: [\"group:dev*\"]\n    authorities: [prod]\n    principals: [x]\n",
              "p.yaml:6:13: bad group in users \"group:dev*\": a group name is not a pattern; name each group "
              "(group:NAME)");
  ExpectIssue(Header() + "revoked:\n  key_ids: [\"!x\"]\n", "p.yaml:6:13: bad pattern \"!x\" in revoked key_ids");
  ExpectIssue(Header() + "defaults:\n  key_id: [\"\"]\n", "p.yaml:6:12: bad pattern \"\" in key_id: empty pattern; remove the empty item");
}

TEST(PolicyRuleParserTest, OnlyNegatedPatterns) {
  ExpectIssue(Header() + "rules:\n  - users: [\"!root\"]\n    authorities: [prod]\n    principals: [x]\n",
              "p.yaml:6:12: users holds only negated patterns");
  ExpectIssue(Header() + "rules:\n  - users: [root]\n    authorities: [prod]\n    principals: [\"!evil\", \"!*-admin\"]\n",
              "p.yaml:8:17: principals holds only negated patterns, which grant nothing; add the principals to grant");
  // The audit's case: key_id ["!bad"] passed --check, and the rule never
  // granted (OpenSSH's lists: a negated pattern only excludes).
  ExpectIssue(Header() + kRuleHead + "    key_id: [\"!bad\"]\n",
              "p.yaml:9:13: key_id holds only negated patterns, which match no key id; add the key ids to allow, "
              "e.g. [\"*\", \"!bad\"]");
  ExpectIssue(Header() + "defaults:\n  key_id: \"!bad\"\n", "p.yaml:6:11: key_id holds only negated patterns");
  EXPECT_EQ(FirstIssue(Header() + kRuleHead + "    key_id: [\"*\", \"!bad\"]\n"), "");
}

TEST(PolicyRuleParserTest, BadDurations) {
  EXPECT_EQ(FirstIssue(Header() + "defaults:\n  max_lifetime: 5 minutes\n"),
            "p.yaml:6:17: bad duration \"5 minutes\"; write a whole number with an optional unit s, m, h or d "
            "(e.g. 300, 5m, 1h, 2d)");
  ExpectIssue(Header() + kRuleHead + "    max_lifetime: 0\n", "p.yaml:9:19: max_lifetime 0 admits no certificate");
  ExpectIssue(Header() + kRuleHead + "    max_lifetime: 99999d\n", "p.yaml:9:19: duration \"99999d\" is longer");
}

TEST(PolicyRuleParserTest, RuleMissingPieces) {
  ExpectIssue(Header() + "rules:\n  - users: [a]\n    principals: [x]\n", "p.yaml:6:5: rule has no authorities");
  ExpectIssue(Header() + "rules:\n  - users: [a]\n    authorities: []\n    principals: [x]\n",
              "p.yaml:7:18: authorities is empty");
  ExpectIssue(Header() + "rules:\n  - authorities: [prod]\n    principals: [x]\n", "p.yaml:6:5: rule has no users");
  ExpectIssue(Header() + "rules:\n  - users: []\n    authorities: [prod]\n    principals: [x]\n",
              "p.yaml:6:12: users is empty");
  ExpectIssue(Header() + "rules:\n  - users: [a]\n    authorities: [prod]\n", "p.yaml:6:5: rule has no principals");
  ExpectIssue(Header() + "rules:\n  - users: [a]\n    authorities: [prod]\n    principals: []\n",
              "p.yaml:8:17: principals is empty");
  // A break-glass rule may hold user_keys only (it grants no certificate).
  LoadResult keys_only = Parse(Header() + "rules:\n  - users: [a]\n    authorities: [prod]\n"
                               "    user_keys: ['" + kKeyB + " oncall']\n");
  ASSERT_TRUE(keys_only.policy) << Issues(keys_only);
  EXPECT_TRUE(keys_only.policy->rules[0].principals.empty());
  // A bad user key in such a rule is the only issue: the rule is not also
  // told it has no principals.
  LoadResult bad_key = Parse(Header() + "rules:\n  - users: [a]\n    authorities: [prod]\n"
                             "    user_keys: ['ssh-ed25519 AAAA']\n");
  ASSERT_EQ(bad_key.issues.size(), 1u) << Issues(bad_key);
  EXPECT_EQ(bad_key.issues[0].ToString().substr(0, 29), "p.yaml:8:17: bad user key: th") << Issues(bad_key);
  EXPECT_EQ(keys_only.policy->rules[0].user_keys.size(), 1u);
  ExpectIssue(Header() + "rules:\n  - users: [a]\n    authorities: [prod]\n    user_keys: []\n",
              "p.yaml:6:5: rule has no principals");
}

TEST(PolicyRuleParserTest, ConstraintErrors) {
  ExpectIssue(Header() + kRuleHead + "    source_address: maybe\n",
              "p.yaml:9:21: source_address must be \"required\" or \"optional\"");
  ExpectIssue(Header() + kRuleHead + "    key_types: [ssh-ed25519-cert-v01@openssh.com]\n",
              "p.yaml:9:17: unknown key type \"ssh-ed25519-cert-v01@openssh.com\"; write the plain key type ssh-ed25519");
  ExpectIssue(Header() + kRuleHead + "    key_types: [rsa-sha2-512]\n", "p.yaml:9:17: unknown key type \"rsa-sha2-512\"; RSA");
  ExpectIssue(Header() + kRuleHead + "    key_types: [ssh-dss]\n", "p.yaml:9:17: unknown key type \"ssh-dss\"; known types");
  ExpectIssue(Header() + kRuleHead + "    min_rsa_bits: 512\n",
              "p.yaml:9:19: min_rsa_bits must be a whole number from 1024 to 16384, not \"512\"");
  ExpectIssue(Header() + kRuleHead + "    min_rsa_bits: 16385\n",
              "p.yaml:9:19: min_rsa_bits must be a whole number from 1024 to 16384, not \"16385\"");
  ExpectIssue(Header() + kRuleHead + "    min_rsa_bits: 99999999999999999999999\n",
              "p.yaml:9:19: min_rsa_bits must be a whole number from 1024 to 16384, not \"99999999999999999999999\"");
  ExpectIssue(Header() + kRuleHead + "    min_rsa_bits: \"3072\"\n",
              "p.yaml:9:19: min_rsa_bits must be a whole number from 1024 to 16384 written without quotes, not \"3072\"");
  EXPECT_EQ(FirstIssue(Header() + kRuleHead + "    extensions:\n      require: [permit-pty]\n      forbid: [permit-pty]\n"),
              "p.yaml:11:16: extension \"permit-pty\" is both required and forbidden; remove it from require or from "
              "forbid");
  EXPECT_EQ(FirstIssue(Header() + kRuleHead + "    key_id: [\"{user}@example.com\"]\n"),
            "p.yaml:9:14: bad pattern \"{user}@example.com\" in key_id: {user} is only for principals; remove the braces");
  ExpectIssue(Header() + kRuleHead + "    extensions:\n      require: [\"permit-*\"]\n",
              "p.yaml:10:17: bad extension name \"permit-*\"");
  ExpectIssue(Header() + kRuleHead + "    extensions:\n      allow: [x]\n", "p.yaml:10:7: unknown key \"allow\" in rule extensions");
  ExpectIssue(Header() + "revoked:\n  krl: revoked_keys\n", "p.yaml:6:8: krl must be an absolute path");
  ExpectIssue(Header() + "revoked:\n  krl: \"\"\n", "p.yaml:6:8: krl must be an absolute path");
  ExpectIssue(Header() + "rules:\n  - name: \"\"\n", "p.yaml:6:11: name is empty");
}

TEST(PolicyRuleParserTest, OptionAndUserKeyErrors) {
  ExpectIssue(Header() + kRuleHead + "    options: [cert-authority]\n",
              "p.yaml:9:15: bad option \"cert-authority\": cert-authority is refused");
  ExpectIssue(Header() + kRuleHead + "    options: ['command=\"x']\n", "p.yaml:9:15: bad option");
  ExpectIssue(Header() + kRuleHead + "    options: [frobnicate]\n", "p.yaml:9:15: bad option \"frobnicate\": unknown option");
  // '#' is refused in options (sshd cuts principals lines at it), not in
  // user_keys options: sshd keeps it inside a quoted authorized_keys value.
  LoadResult hash = Parse(Header() + kRuleHead + "    user_keys: ['command=\"a#b\" " + kKeyB + "']\n");
  EXPECT_TRUE(hash.policy.has_value()) << Issues(hash);
  // A CIDR sshd refuses at login (addr_match_list) is refused here too.
  ExpectIssue(Header() + kRuleHead + "    options: ['from=\"10.0.0.0/33\"']\n",
              "p.yaml:9:15: bad option \"from=\"10.0.0.0/33\"\": from entry \"10.0.0.0/33\": mask /33");
  ExpectIssue(Header() + kRuleHead + "    user_keys: ['from=\"10.0.0.1/8\" " + kKeyB + "']\n",
              "p.yaml:9:17: bad user key: from entry \"10.0.0.1/8\": the address has bits set");
  ExpectIssue(Header() + kRuleHead + "    options: ['command=\"a\"', 'command=\"b\"']\n",
              "p.yaml:9:14: bad options: more than one command option");
  // sshd cuts principals-cmd's lines at '#': the principal would be lost
  // and the text before it read as the principal, the options dropped.
  ExpectIssue(Header() + kRuleHead + "    options: ['command=\"true#forced\"', no-pty]\n",
              "p.yaml:9:14: bad options: option command holds '#'");
  ExpectIssue(Header() + kRuleHead + "    user_keys: ['no-pty ssh-ed25519 AAAA']\n", "p.yaml:9:17: bad user key");
  ExpectIssue(Header() + kRuleHead + "    user_keys: ['principals=\"x\" " + kKeyB + "']\n", "p.yaml:9:17: bad user key");
}

}  // namespace
}  // namespace certgate::core
