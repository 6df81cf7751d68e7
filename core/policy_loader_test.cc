#include "core/policy_loader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/policy_testing.h"
#include "tests/policy_text_testing.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using certgate::testing::ReadFile;
using certgate::testing::SourceDir;
using certgate::testing::policy_text::ExpectIssue;
using certgate::testing::policy_text::FirstIssue;
using certgate::testing::policy_text::Header;
using certgate::testing::policy_text::Issues;
using certgate::testing::policy_text::kFingerprintA;
using certgate::testing::policy_text::kKeyA;
using certgate::testing::policy_text::kKeyB;
using certgate::testing::policy_text::kRuleHead;
using certgate::testing::policy_text::Parse;

// YAML allows a byte order mark at the start of a file (editors on Windows
// write one); columns on line 1 count as the editor shows them. Anywhere
// else it is an error.
TEST(PolicyLoaderTest, AByteOrderMarkAtTheStartIsAllowed) {
  LoadResult r = Parse("\xef\xbb\xbf" "version: 1\nrules: []\n");
  EXPECT_TRUE(r.policy.has_value()) << Issues(r);
  ExpectIssue("\xef\xbb\xbf" "version: 2\n", "p.yaml:1:10: unsupported policy version 2");
  const std::string stray = "stray byte order mark (U+FEFF); only the first bytes of a file may be one: remove it";
  EXPECT_EQ(FirstIssue("version: 1\n\xef\xbb\xbf" "rules: []\n"), "p.yaml:2:1: " + stray);
  EXPECT_EQ(FirstIssue("version: 1\n\xef\xbb\xbf\n"), "p.yaml:2:1: " + stray);
  EXPECT_EQ(FirstIssue("\xef\xbb\xbf\xef\xbb\xbf" "version: 1\n"), "p.yaml:1:1: " + stray);
  // Inside a scalar: columns count characters (\xc3\xa9 is one).
  EXPECT_EQ(FirstIssue("version: 1\nrules:\n  - users: [\xc3\xa9, \xef\xbb\xbf" "alice]\n"), "p.yaml:3:16: " + stray);
}

TEST(PolicyLoaderTest, FullPolicy) {
  std::string text = std::string(
                         "version: 1\n"
                         "authorities:\n"
                         "  prod:\n"
                         "    keys:\n"
                         "      - ") + kKeyA + " prod-ca-2026\n" +
                     "      - " + "SHA256:Kc0JkQ3p0v8u4l9J2m7jW0bqQd0s0eQ0mP0m1b2c3d4\n" +
                     "    revoked_serials: [1202, 1201, 1202]\n"
                     "  legacy:\n"
                     "    keys: \"" + kKeyB + "\"\n"
                     "    allow_sha1: true\n"
                     "defaults:\n"
                     "  max_lifetime: 1h\n"
                     "revoked:\n"
                     "  key_ids: [\"mallory@example.com\"]\n"
                     "  krl: /etc/ssh/revoked_keys\n"
                     "rules:\n"
                     "  - name: ops-on-prod\n"
                     "    users: [ubuntu, root, \"group:wheel\"]\n"
                     "    authorities: [prod]\n"
                     "    principals: [ops, \"team-*\", \"!team-evil\"]\n"
                     "    max_lifetime: 10m\n"
                     "    key_id: \"*@example.com\"\n"
                     "    source_address: required\n"
                     "    extensions:\n"
                     "      require: [permit-pty]\n"
                     "      forbid: [permit-port-forwarding, permit-agent-forwarding]\n"
                     "    key_types: [ssh-ed25519, ecdsa-sha2-nistp256, sk-ssh-ed25519@openssh.com]\n"
                     "    min_rsa_bits: 3072\n"
                     "    options: ['from=\"10.0.0.0/8\"', no-port-forwarding]\n"
                     "  - users: \"session_*\"\n"
                     "    authorities: [legacy, prod]\n"
                     "    principals: \"{user}\"\n"
                     "    max_lifetime: 300\n"
                     "    user_keys:\n"
                     "      - 'restrict,pty " + kKeyB + " oncall-breakglass'\n";
  LoadResult r = Parse(text);
  ASSERT_TRUE(r.policy.has_value()) << Issues(r);
  const Policy& p = *r.policy;
  ASSERT_EQ(p.authorities.size(), 2u);
  EXPECT_EQ(p.authorities[0].name, "prod");
  EXPECT_EQ(p.authorities[0].keys.size(), 1u);
  EXPECT_EQ(p.authorities[0].fingerprints,
            std::vector<std::string>{"SHA256:Kc0JkQ3p0v8u4l9J2m7jW0bqQd0s0eQ0mP0m1b2c3d4"});
  EXPECT_EQ(p.authorities[0].revoked_serials, (std::vector<uint64_t>{1201, 1202}));
  EXPECT_FALSE(p.authorities[0].allow_sha1);
  EXPECT_EQ(p.authorities[0].where.line, 3);
  EXPECT_TRUE(p.authorities[1].allow_sha1);
  EXPECT_EQ(p.defaults.max_lifetime, 3600u);
  EXPECT_EQ(p.revoked_key_ids, std::vector<std::string>{"mallory@example.com"});
  EXPECT_EQ(p.krl_path, "/etc/ssh/revoked_keys");
  ASSERT_EQ(p.rules.size(), 2u);
  const Rule& a = p.rules[0];
  EXPECT_EQ(a.Label(), "ops-on-prod");
  EXPECT_EQ(a.users, (std::vector<std::string>{"ubuntu", "root"}));
  EXPECT_EQ(a.groups, std::vector<std::string>{"wheel"});
  EXPECT_EQ(a.authorities, std::vector<size_t>{0});
  EXPECT_EQ(a.principals, (std::vector<std::string>{"ops", "team-*", "!team-evil"}));
  ASSERT_NE(a.constraints, nullptr);
  EXPECT_EQ(a.constraints->max_lifetime, 600u);
  EXPECT_EQ(a.constraints->key_id, std::vector<std::string>{"*@example.com"});
  EXPECT_EQ(a.constraints->source_address, SourceAddressRequirement::kRequired);
  EXPECT_EQ(a.constraints->require_extensions, std::vector<std::string>{"permit-pty"});
  EXPECT_EQ(a.constraints->forbid_extensions,
            (std::vector<std::string>{"permit-port-forwarding", "permit-agent-forwarding"}));
  EXPECT_EQ(a.constraints->key_types,
            (std::vector<KeyType>{KeyType::kEd25519, KeyType::kEcdsaP256, KeyType::kSkEd25519}));
  EXPECT_EQ(a.constraints->min_rsa_bits, 3072u);
  EXPECT_EQ(a.options, (std::vector<std::string>{"from=\"10.0.0.0/8\"", "no-port-forwarding"}));
  EXPECT_EQ(a.where.line, 17);
  EXPECT_EQ(a.number, 1u);
  const Rule& b = p.rules[1];
  EXPECT_EQ(b.Label(), "rule 2 (p.yaml:30)");
  // One copy of a file's name, shared by its rules.
  EXPECT_EQ(a.where.file.get(), b.where.file.get());
  EXPECT_EQ(b.users, std::vector<std::string>{"session_*"});
  EXPECT_EQ(b.authorities, (std::vector<size_t>{1, 0}));
  EXPECT_EQ(b.principals, std::vector<std::string>{"{user}"});
  ASSERT_NE(b.constraints, nullptr);
  EXPECT_EQ(b.constraints->max_lifetime, 300u);
  EXPECT_FALSE(b.constraints->key_id.has_value());
  ASSERT_EQ(b.user_keys.size(), 1u);
  EXPECT_EQ(b.user_keys[0].options, (std::vector<std::string>{"restrict", "pty"}));
  EXPECT_EQ(b.user_keys[0].comment, "oncall-breakglass");
  EXPECT_EQ(p.files, std::vector<std::string>{"p.yaml"});
}

TEST(PolicyLoaderTest, MinimalPolicyWithoutRules) {
  LoadResult r = Parse(Header());
  ASSERT_TRUE(r.policy.has_value()) << Issues(r);
  EXPECT_TRUE(r.policy->rules.empty());
}

TEST(PolicyLoaderTest, FingerprintOnlyAuthority) {
  LoadResult r = Parse(std::string("version: 1\nauthorities:\n  fp:\n    keys: ") + kFingerprintA + "\n");
  ASSERT_TRUE(r.policy.has_value()) << Issues(r);
  EXPECT_EQ(r.policy->authorities[0].fingerprints, std::vector<std::string>{kFingerprintA});
}

TEST(PolicyLoaderTest, UnknownKeyWithSuggestion) {
  EXPECT_EQ(FirstIssue(Header() + kRuleHead + "    max_lifetme: 5m\n"),
            "p.yaml:9:5: unknown key \"max_lifetme\" in rule; did you mean \"max_lifetime\"?");
  EXPECT_EQ(FirstIssue(Header() + "rulez: []\n"),
            "p.yaml:5:1: unknown key \"rulez\" in the policy file; did you mean \"rules\"?");
  // Without a near name, the advice lists the keys allowed there.
  EXPECT_EQ(FirstIssue(Header() + "wat: 1\n"),
            "p.yaml:5:1: unknown key \"wat\" in the policy file; use one of: version, authorities, defaults, "
            "revoked, rules");
  EXPECT_EQ(FirstIssue(Header() + kRuleHead + "    bogus: 1\n"),
            "p.yaml:9:5: unknown key \"bogus\" in rule; use one of: max_lifetime, key_id, source_address, "
            "extensions, key_types, min_rsa_bits, name, users, authorities, principals, options, user_keys");
  ExpectIssue("version: 1\nauthorities:\n  a:\n    key: [x]\n", "p.yaml:4:5: unknown key \"key\"");
  ExpectIssue(Header() + "defaults:\n  users: [x]\n", "p.yaml:6:3: unknown key \"users\" in defaults");
}

TEST(PolicyLoaderTest, Version) {
  ExpectIssue(std::string("authorities:\n  prod:\n    keys: [\"") + kKeyA + "\"]\n",
              "p.yaml:1:1: missing \"version: 1\"");
  EXPECT_EQ(FirstIssue("version: 2\n"),
            "p.yaml:1:10: unsupported policy version 2; this certgate reads version 1");
  ExpectIssue("version: \"1\"\n", "p.yaml:1:10: version must be the number 1");
  ExpectIssue("version: [1]\n", "p.yaml:1:10: version must be the number 1, not a list");
  ExpectIssue("version:\n", "p.yaml:1:9: version has no value");
}

TEST(PolicyLoaderTest, DuplicateKeys) {
  ExpectIssue("version: 1\nversion: 1\n", "p.yaml:2:1: duplicate key \"version\" in the policy file");
  ExpectIssue(Header() + kRuleHead + "    users: [bob]\n", "p.yaml:9:5: duplicate key \"users\" in rule");
  ExpectIssue(Header() + "  prod:\n    keys: [\"" + kKeyB + "\"]\n", "p.yaml:5:3: duplicate authority \"prod\"");
}

TEST(PolicyLoaderTest, AnchorsAliasesTags) {
  ExpectIssue(Header() + "rules:\n  - &r\n    users: [a]\n    authorities: [prod]\n    principals: [a]\n",
              "p.yaml:6:5: anchors (&name) are not allowed");
  ExpectIssue(Header() + "defaults:\n  max_lifetime: &x 5m\nrevoked:\n  key_ids: *x\n",
              "p.yaml:6:17: anchors (&name) are not allowed");
  ExpectIssue(Header() + "revoked:\n  key_ids: *x\n", "p.yaml");  // libyaml: undefined alias
  // The tag as written, not as libyaml resolves it.
  ExpectIssue(Header() + "defaults:\n  max_lifetime: !!str 5m\n",
              "p.yaml:6:17: tags (!tag) are not allowed; remove \"!!str\"");
  ExpectIssue("--- !policy\nversion: 1\n", "p.yaml:1:5: tags (!tag) are not allowed; remove \"!policy\"");
  ExpectIssue(Header() + "defaults:\n  key_id: !<tag:x> [a]\n",
              "p.yaml:6:11: tags (!tag) are not allowed; remove \"!<tag:x>\"");
  // An exclusion written without quotes is a tag: the advice is to quote
  // it, never to remove it (that would widen the list).
  ExpectIssue(Header() + "rules:\n  - users:\n      - \"*\"\n      - !root\n",
              "p.yaml:8:9: \"!root\" is read as a YAML tag, which is not allowed; to write the pattern \"!root\", quote it");
  ExpectIssue(Header() + "rules:\n  - users: [!root x]\n",
              "p.yaml:6:13: \"!root\" is read as a YAML tag, which is not allowed; to write the pattern \"!root x\", quote it");
}

TEST(PolicyLoaderTest, AliasIsRefused) {
  LoadResult r = Parse(Header() + "defaults:\n  max_lifetime: &x 5m\nrevoked:\n  krl: *x\n");
  ASSERT_GE(r.issues.size(), 2u) << Issues(r);
  EXPECT_EQ(r.issues[1].ToString().substr(0, 16), "p.yaml:8:8: alia");
}

TEST(PolicyLoaderTest, WrongNodeKinds) {
  ExpectIssue("- version: 1\n", "p.yaml:1:1: the policy file must be a mapping");
  ExpectIssue(Header() + "rules:\n  users: [a]\n", "p.yaml:6:3: rules must be a list of rules");
  ExpectIssue(Header() + "rules:\n  - users: {a: b}\n", "p.yaml:6:12: users must be a list or a single value, not a mapping");
  ExpectIssue(Header() + "rules:\n  - users: [[a]]\n", "p.yaml:6:13: an item of users must be a single value, not a list");
  ExpectIssue(Header() + "authorities:\n", "p.yaml:5:1: duplicate key");
  ExpectIssue("version: 1\nauthorities: [a]\n", "p.yaml:2:14: authorities must be a mapping");
  ExpectIssue("version: 1\nauthorities:\n  a: [x]\n", "p.yaml:3:6: authority \"a\" must be a mapping");
  ExpectIssue(Header() + "defaults:\n  max_lifetime: [5m]\n", "p.yaml:6:17: max_lifetime must be a single value, not a list");
  ExpectIssue(Header() + "rules:\n  - [a]\n", "p.yaml:6:5: rule must be a mapping");
  ExpectIssue(Header() + "rules:\n  - users:\n", "p.yaml:6:11: users has no value");
  // A word YAML reads as no value may have been meant as text (a user
  // named null): the issue says how to write that.
  ExpectIssue(Header() + "rules:\n  - users: [Null]\n",
              "p.yaml:6:13: an item of users has no value; it needs a single value (YAML reads a plain Null as no "
              "value; for the text, quote it: \"Null\")");
}

TEST(PolicyLoaderTest, MultipleDocuments) {
  ExpectIssue(Header() + "---\nversion: 1\n", "p.yaml:5:1: a policy file holds one YAML document");
}

TEST(PolicyLoaderTest, EmptyFile) {
  ExpectIssue("", "p.yaml:1:1: empty policy file");
  ExpectIssue("# only a comment\n", "p.yaml:1:1: empty policy file");
}

TEST(PolicyLoaderTest, SyntaxError) {
  ExpectIssue("version: 1\n- x\n", "p.yaml:2:1: YAML syntax error");
  // An unclosed quote or bracket is found only at the end of the file:
  // the error points where it opened and says what to do.
  EXPECT_EQ(FirstIssue("version: 1\nrules: \"open\n"),
            "p.yaml:2:8: YAML syntax error: found unexpected end of stream while scanning a quoted scalar (at line 3, "
            "column 1); the \" opened here is never closed: add the closing \"");
  EXPECT_EQ(FirstIssue("version: 1\nkey: 'unterminated\n\n"),
            "p.yaml:2:6: YAML syntax error: found unexpected end of stream while scanning a quoted scalar (at line 4, "
            "column 1); the ' opened here is never closed: add the closing '");
  EXPECT_EQ(FirstIssue("version: 1\nrules: [\n"),
            "p.yaml:2:8: YAML syntax error: did not find expected node content while parsing a flow node (at line 3, "
            "column 1); check the [ opened here: separate its items with , and close it with ]");
  EXPECT_EQ(FirstIssue("version: 1\ndefaults: {max_lifetime: 1h\n"),
            "p.yaml:2:11: YAML syntax error: did not find expected ',' or '}' while parsing a flow mapping (at line 3, "
            "column 1); check the { opened here: separate its items with , and close it with }");
  // The usual causes are named.
  ExpectIssue("version: 1\nrules:\n\t- users: [a]\n",
              "p.yaml:3:1: YAML syntax error: found character that cannot start any token while scanning for the "
              "next token; indent with spaces, not tabs");
  ExpectIssue("version: 1\nrules:\n  - name: a: b\n",
              "p.yaml:3:12: YAML syntax error: mapping values are not allowed in this context; quote a value that "
              "holds \": \"");
  // A line indented as nothing before it: where the collection it ends
  // starts, and how its keys or entries line up.
  EXPECT_EQ(FirstIssue("version: 1\nrules:\n  - name: a\n  users: [a]\n"),
            "p.yaml:4:3: YAML syntax error: did not find expected '-' indicator while parsing a block collection; "
            "line it up with the keys or \"- \" entries it belongs to: column 3 for an entry (\"- \") of the list at "
            "line 3, or column 5 for a key of the mapping at line 3");
  EXPECT_EQ(FirstIssue("version: 1\nrules:\n  - name: a\n    users:\n      - a\n     - b\n"),
            "p.yaml:6:6: YAML syntax error: did not find expected key while parsing a block mapping; line it up "
            "with the keys or \"- \" entries it belongs to: column 5 for a key of the mapping at line 3, or column 7 "
            "for an entry (\"- \") of the list at line 5");
  EXPECT_EQ(FirstIssue("version: 1\nrules:\n  - name: a\n    users: - a\n"),
            "p.yaml:4:12: YAML syntax error: block sequence entries are not allowed in this context; a \"- \" list "
            "cannot start on its key's line: put its entries on the lines below, or write it as [a, b]");
}

// A key indented less than the rest of its mapping ends the mapping there
// (libyaml), and the line is then a syntax error: the keys it "lacks" are
// not reported, since the syntax error is where they are.
TEST(PolicyLoaderTest, AMisindentedKeyIsOneSyntaxError) {
  LoadResult r = Parse(Header() + "rules:\n  - name: a\n    users: [a]\n   authorities: [prod]\n"
                                  "    principals: [x]\n");
  EXPECT_EQ(Issues(r),
            "p.yaml:8:4: YAML syntax error: did not find expected '-' indicator while parsing a block collection; "
            "line it up with the keys or \"- \" entries it belongs to: column 3 for an entry (\"- \") of the list at "
            "line 6, or column 5 for a key of the mapping at line 6\n");
  // Under-indented past two levels: libyaml ends the rule and the list
  // before the line fails; still one issue, naming every column it may
  // be meant for.
  r = Parse(Header() + "rules:\n  - users: [a]\n    authorities: [prod]\n principals: [x]\n");
  EXPECT_EQ(Issues(r),
            "p.yaml:8:2: YAML syntax error: did not find expected key while parsing a block mapping; line it up "
            "with the keys or \"- \" entries it belongs to: column 1 for a key of the mapping at line 1, column 3 "
            "for an entry (\"- \") of the list at line 6, or column 5 for a key of the mapping at line 6\n");
  r = Parse("version: 1\nauthorities:\n  a:\n    allow_sha1: true\n   keys: [x]\n");
  EXPECT_EQ(Issues(r).find("has no keys"), std::string::npos) << Issues(r);
  // Keys that are missing while the YAML goes on are reported, as before.
  r = Parse(Header() + "rules:\n  - name: a\n    users: [a]\n  - name: b\n    users: [b]\n"
                       "    authorities: [prod]\n    principals: [x]\n");
  EXPECT_EQ(Issues(r),
            "p.yaml:6:5: rule has no authorities; add authorities: [NAME] naming a top-level authority\n"
            "p.yaml:6:5: rule has no principals; add principals: [patterns], e.g. [\"{user}\"]\n");
}

TEST(PolicyLoaderTest, NotUtf8) {
  ExpectIssue("version: 1\nrules:\n  - name: \"caf\xe9\"\n", "p.yaml:3:15: YAML syntax error: invalid");
  // A UTF-16 byte order mark is not UTF-8 either.
  LoadResult r = Parse(std::string("\xff\xfev\0e\0r\0", 8));
  EXPECT_FALSE(r.issues.empty());
}

// Empty lists of what to revoke revoke nothing (key_ids as serials).
TEST(PolicyLoaderTest, EmptyRevocationListsRevokeNothing) {
  LoadResult r = Parse(Header() + "revoked:\n  key_ids: []\nrules:\n  - users: [a]\n    authorities: [prod]\n"
                                  "    principals: [x]\n");
  ASSERT_TRUE(r.policy.has_value()) << Issues(r);
  EXPECT_TRUE(r.policy->revoked_key_ids.empty());
  // A constraint list still may not be empty: it would match nothing.
  ExpectIssue(Header() + "defaults:\n  key_id: []\n", "p.yaml:6:11: key_id is empty; give at least one pattern");
}

TEST(PolicyLoaderTest, UnknownAuthorityName) {
  EXPECT_EQ(FirstIssue(Header() + "rules:\n  - users: [a]\n    authorities: [prd]\n    principals: [x]\n"),
            "p.yaml:7:19: unknown authority \"prd\" in rule; did you mean \"prod\"?");
  EXPECT_EQ(FirstIssue(Header() + "rules:\n  - users: [a]\n    authorities: [staging]\n    principals: [x]\n"),
            "p.yaml:7:19: unknown authority \"staging\" in rule; define it under the top-level authorities");
}

TEST(PolicyLoaderTest, AuthorityErrors) {
  ExpectIssue("version: 1\nauthorities:\n  a:\n    allow_sha1: true\n", "p.yaml:4:5: authority \"a\" has no keys");
  ExpectIssue("version: 1\nauthorities:\n  a:\n    keys: []\n", "p.yaml:4:11: authority \"a\" has an empty keys list");
  ExpectIssue("version: 1\nauthorities:\n  a:\n    keys: [\"SHA256:abc\"]\n",
              "p.yaml:4:12: SHA256 fingerprint has 3 characters after SHA256:, not 43");
  ExpectIssue("version: 1\nauthorities:\n  a:\n    keys: [\"SHA256:L3k/oJubblSY0lB9Ulsl7emDMnRPKm/8udf2ccwk56!\"]\n",
              "p.yaml:4:12: SHA256 fingerprint has a character outside base64");
  ExpectIssue("version: 1\nauthorities:\n  a:\n    keys: [\"SHA256:L3k/oJubblSY0lB9Ulsl7emDMnRPKm/8udf2ccwk561\"]\n",
              "p.yaml:4:12: SHA256 fingerprint is not a valid encoding");
  ExpectIssue("version: 1\nauthorities:\n  a:\n    keys: [\"ssh-ed25519 AAAA\"]\n",
              "p.yaml:4:12: not a public key in authorized_keys form");
  ExpectIssue(std::string("version: 1\nauthorities:\n  a:\n    keys: [\"") + kKeyA + "\"]\n    allow_sha1: yes\n",
              "p.yaml:5:17: allow_sha1 must be true or false");
  ExpectIssue(std::string("version: 1\nauthorities:\n  a:\n    keys: [\"") + kKeyA + "\"]\n    revoked_serials: [1, -2]\n",
              "p.yaml:5:26: a revoked serial must be a whole number");
  ExpectIssue(std::string("version: 1\nauthorities:\n  a:\n    keys: [\"") + kKeyA + "\"]\n    revoked_serials: [18446744073709551616]\n",
              "p.yaml:5:23: a revoked serial must be a whole number");
  ExpectIssue(std::string("version: 1\nauthorities:\n  \"a b\":\n    keys: [\"") + kKeyA + "\"]\n",
              "p.yaml:3:3: bad authority name \"a b\"");
  ExpectIssue(Header() + "  other:\n    keys: [\"" + kFingerprintA + "\"]\n",
              "p.yaml:5:3: authority \"other\" lists key " + std::string(kFingerprintA) +
                  " which already belongs to authority \"prod\"");
}

// A rule naming an authority left out for its own errors is told so, with
// where those errors are, not that the authority is unknown.
TEST(PolicyLoaderTest, ARuleNamingAnAuthorityWithErrorsSaysWhere) {
  LoadResult r = Parse("version: 1\nauthorities:\n  corp:\n    keys: [\"ssh-ed25519 AAAA\"]\n"
                       "rules:\n  - users: [a]\n    authorities: [corp]\n    principals: [x]\n");
  EXPECT_EQ(Issues(r),
            "p.yaml:4:12: not a public key in authorized_keys form (the key is cut short in its key type field); copy "
            "the CA's .pub line, or write its SHA256:... fingerprint\n"
            "p.yaml:7:19: authority \"corp\" is left out for the errors reported at p.yaml:3; fix those\n");
  // A line copied in part names the field it ends in.
  ExpectIssue("version: 1\nauthorities:\n  corp:\n    keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFOG6kY7Rf4UtCFv\"]\n",
              "p.yaml:4:12: not a public key in authorized_keys form (the key is cut short in its ed25519 key field)");
}

TEST(PolicyLoaderTest, CollectsSeveralIssues) {
  LoadResult r = Parse(Header() + "rules:\n  - users: [a]\n    authorities: [nope]\n    principals: [x]\n"
                                  "    max_lifetime: 5x\n  - users: [\"\"]\n    authorities: [prod]\n"
                                  "    principals: [x]\n    colour: red\n");
  EXPECT_EQ(Issues(r),
            "p.yaml:9:19: bad duration \"5x\"; write a whole number with an optional unit s, m, h or d (e.g. 300, 5m, 1h, 2d)\n"
            "p.yaml:10:13: bad pattern \"\" in users: empty pattern; remove the empty item\n"
            "p.yaml:13:5: unknown key \"colour\" in rule; use one of: max_lifetime, key_id, source_address, extensions, "
            "key_types, min_rsa_bits, name, users, authorities, principals, options, user_keys\n"
            // The first rule is left out for its duration; its authority
            // names are still checked, after everything is read.
            "p.yaml:7:19: unknown authority \"nope\" in rule; define it under the top-level authorities\n");
  // Resolution errors come from FinishPolicy, after the parse errors.
  LoadResult two = Parse(Header() + "rules:\n  - users: [a]\n    authorities: [nope, prod, nah]\n    principals: [x]\n");
  EXPECT_EQ(Issues(two),
            "p.yaml:7:19: unknown authority \"nope\" in rule; define it under the top-level authorities\n"
            "p.yaml:7:31: unknown authority \"nah\" in rule; define it under the top-level authorities\n");
}

TEST(PolicyLoaderTest, TooManyIssuesStops) {
  std::string text = Header() + "rules:\n";
  for (int i = 0; i < 500; ++i) text += "  - bogus: 1\n";
  LoadResult r = Parse(text);
  EXPECT_LE(r.issues.size(), 101u);
  EXPECT_EQ(r.issues.back().message, "too many problems; stopping here");
}

TEST(PolicyLoaderTest, NestingTooDeep) {
  ExpectIssue(Header() + "bogus: " + std::string(5000, '[') + std::string(5000, ']') + "\n",
              "p.yaml:5:1: unknown key \"bogus\"");
  LoadResult r = Parse(Header() + "bogus: " + std::string(5000, '[') + std::string(5000, ']') + "\n");
  ASSERT_EQ(r.issues.size(), 2u) << Issues(r);
  EXPECT_EQ(r.issues[1].ToString().substr(0, 25), "p.yaml:5:40: nested too d");
}

TEST(PolicyLoaderTest, DuplicateAuthorityAcrossTexts) {
  LoadResult r;
  ParsePolicyText(Header(), "a.yaml", &r);
  ParsePolicyText(std::string("version: 1\nauthorities:\n  prod:\n    keys: [\"") + kKeyB + "\"]\n", "b.yaml", &r);
  FinishPolicy(&r);
  EXPECT_FALSE(r.policy.has_value());
  EXPECT_EQ(Issues(r),
            "b.yaml:3:3: authority \"prod\" is already defined at a.yaml:3; each authority name may appear only once\n");
}

TEST(PolicyLoaderTest, DefaultsSetTwiceAcrossTexts) {
  LoadResult r;
  ParsePolicyText(Header() + "defaults:\n  max_lifetime: 1h\nrevoked:\n  krl: /a\n", "a.yaml", &r);
  ParsePolicyText("version: 1\ndefaults:\n  max_lifetime: 2h\nrevoked:\n  krl: /b\n", "b.yaml", &r);
  FinishPolicy(&r);
  EXPECT_EQ(Issues(r),
            "b.yaml:3:17: defaults max_lifetime is already set at a.yaml:6:17; set it in one file only\n"
            "b.yaml:5:8: revoked krl is already set to /a at a.yaml:8:8; set it in one file only\n");
}

TEST(PolicyLoaderTest, ExamplePolicies) {
  const std::string base = SourceDir() + "/tests/data/policies/";
  LoadOptions o;
  o.check_permissions = false;
  LoadResult good = LoadPolicy(base + "good.yaml", o);
  EXPECT_TRUE(good.policy.has_value()) << Issues(good);
  LoadResult bad = LoadPolicy(base + "bad.yaml", o);
  EXPECT_FALSE(bad.policy.has_value());
  const std::string expected = ReadFile(base + "bad.expected");
  std::string actual;
  for (const Issue& i : bad.issues) {
    actual += i.ToString().substr(base.size()) + "\n";
  }
  EXPECT_EQ(actual, expected);
}

// Prefixes and byte flips of a good policy never crash, and keep the
// loader's contract: a policy exactly when there is no issue, every issue
// at a 1-based position.
TEST(PolicyLoaderTest, MutatedPoliciesKeepTheContract) {
  const std::string good = ReadFile(SourceDir() + "/tests/data/policies/good.yaml");
  ASSERT_FALSE(good.empty());
  auto check = [](const std::string& text) {
    LoadResult r;
    ParsePolicyText(text, "m.yaml", &r);
    FinishPolicy(&r);
    ASSERT_EQ(r.policy.has_value(), r.issues.empty());
    for (const Issue& i : r.issues) {
      ASSERT_GE(i.where.line, 1);
      ASSERT_GE(i.where.column, 1);
      ASSERT_FALSE(i.message.empty());
    }
  };
  for (size_t n = 0; n < good.size(); n += 7) check(good.substr(0, n));
  uint32_t seed = 12345;
  const char bytes[] = "\0\x01\t\n :-[]{}&*!|>'\"#,%@`?\xc3\xff" "0a";
  for (int i = 0; i < 3000; ++i) {
    std::string text = good;
    for (int k = 0; k < 3; ++k) {
      seed = seed * 1103515245u + 12345u;
      const size_t pos = (seed >> 8) % text.size();
      seed = seed * 1103515245u + 12345u;
      text[pos] = bytes[(seed >> 8) % (sizeof(bytes) - 1)];
    }
    check(text);
  }
}

TEST(PolicyLoaderTest, HundredThousandRulesLoadAndCompile) {
  std::string text = std::string("version: 1\nauthorities:\n  prod:\n    keys: [\"") + kKeyA + "\"]\n  stage:\n    keys: [\"" +
                     kKeyB + "\"]\ndefaults:\n  max_lifetime: 1h\nrules:\n";
  for (int i = 0; i < 100000; ++i) {
    const std::string n = std::to_string(i);
    // Rules alternate between two shapes to cover most keys; about 100
    // bytes each on average, so the file is about 10 MB.
    if (i % 2 == 0) {
      text += "- name: r" + n + "\n  users: [u" + n + ", \"group:g\"]\n  authorities: prod\n  principals: [\"t" + n +
              "-*\", \"{user}\"]\n  max_lifetime: 10m\n";
    } else {
      text += "- users: u" + n + "\n  authorities: [prod, stage]\n  principals: t" + n +
              "\n  key_id: \"*@x\"\n  options: [no-pty, 'from=\"10.0.0.0/8\"']\n";
    }
  }
  ASSERT_GT(text.size(), 9u * 1000 * 1000);
  auto start = std::chrono::steady_clock::now();
  LoadResult r = Parse(text);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.policy.has_value()) << Issues(r);
  EXPECT_EQ(r.policy->rules.size(), 100000u);
  EXPECT_EQ(r.policy->rules.back().number, 100000u);
  // How long it takes is for bench/ (tests assert no timings); printed
  // here to see at a glance.
  std::printf("100,000 rules (%zu bytes) loaded in %lld ms\n", text.size(), static_cast<long long>(ms));
  start = std::chrono::steady_clock::now();
  auto compiled = certgate::testing::Compile(*r.policy);
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  std::printf("compiled in %lld ms into %zu bytes\n", static_cast<long long>(ms), compiled->bytes());
  EXPECT_EQ(certgate::testing::CompileDifference(*r.policy, *compiled), "");
}

}  // namespace
}  // namespace certgate::core
