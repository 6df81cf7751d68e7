#include "core/policy_eval.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/sshd_output.h"
#include "tests/policy_testing.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

constexpr uint64_t kNow = 1'800'000'000;

using certgate::testing::FakeKey;
using certgate::testing::MutableConstraints;

Certificate MakeCert() {
  Certificate c;
  c.type_name = "ssh-ed25519-cert-v01@openssh.com";
  c.key = FakeKey(1);
  c.serial = 42;
  c.cert_type = kCertTypeUser;
  c.key_id = "alice@example.com";
  c.principals = {"ops", "alice"};
  c.valid_after = kNow - 60;
  c.valid_before = kNow + 240;  // lifetime 5m
  c.extensions = {{"permit-pty", "", true}, {"permit-port-forwarding", "", true}};
  c.signature_key = FakeKey(9);
  c.signature.algorithm = "ssh-ed25519";
  return c;
}

Policy MakePolicy() {
  Policy p;
  Authority prod;
  prod.name = "prod";
  prod.keys.push_back(FakeKey(9));
  p.authorities.push_back(prod);
  Authority other;
  other.name = "other";
  other.keys.push_back(FakeKey(8));
  p.authorities.push_back(other);
  Rule r;
  r.name = "ops";
  r.number = 1;
  r.users = {"alice", "root"};
  r.authorities = {0};
  r.principals = {"ops"};
  p.rules.push_back(r);
  return p;
}

class EvaluateTest : public ::testing::Test {
 protected:
  Decision Run(const std::string& user = "alice", uint64_t now = kNow) {
    Request req{.user = user, .cert = &cert_, .now = now};
    return Evaluate(Compiled(), req, nullptr, groups_);
  }
  // Compiled compiles policy_ as the test has made it; the result (and the
  // decisions that point into it) lives until the next call.
  const CompiledPolicy& Compiled() {
    compiled_ = certgate::testing::Compile(policy_);
    return *compiled_;
  }
  Policy policy_ = MakePolicy();
  std::shared_ptr<const CompiledPolicy> compiled_;
  Certificate cert_ = MakeCert();
  StaticGroupResolver groups_;
};

TEST_F(EvaluateTest, GrantsMatchingPrincipal) {
  Decision d = Run();
  ASSERT_EQ(d.verdict, Verdict::kAllow) << d.reason;
  ASSERT_EQ(d.grants.size(), 1u);
  EXPECT_EQ(d.grants[0].principal, "ops");
  EXPECT_EQ(d.authority, &compiled_->authorities()[0]);
  EXPECT_EQ(FormatPrincipalsOutput(d.grants), "ops\n");
}

TEST_F(EvaluateTest, UserNotListedIsDenied) {
  Decision d = Run("bob");
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_TRUE(d.rules.empty());  // not reported outside --explain
  Request every{.user = "bob", .cert = &cert_, .now = kNow, .every_rule = true};
  d = Evaluate(Compiled(), every, nullptr, groups_);
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  ASSERT_EQ(d.rules.size(), 1u);
  EXPECT_EQ(d.rules[0].kind, RuleOutcome::Kind::kUserNotMatched);
}

TEST_F(EvaluateTest, UnknownCaIsDenied) {
  cert_.signature_key = FakeKey(7);
  Decision d = Run();
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.authority, nullptr);
  EXPECT_NE(d.reason.find("unknown CA"), std::string::npos);
}

TEST_F(EvaluateTest, AuthorityByFingerprint) {
  policy_.authorities[0].keys.clear();
  policy_.authorities[0].fingerprints.push_back(Sha256Fingerprint(FakeKey(9).blob));
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
}

TEST_F(EvaluateTest, AuthorityNotInRule) {
  policy_.rules[0].authorities = {1};
  Decision d = Run();
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.rules[0].kind, RuleOutcome::Kind::kAuthorityNotListed);
}

TEST_F(EvaluateTest, ValidityBoundariesAreExact) {
  EXPECT_EQ(Run("alice", cert_.valid_after).verdict, Verdict::kAllow);
  Decision early = Run("alice", cert_.valid_after - 1);
  EXPECT_EQ(early.verdict, Verdict::kDeny);
  EXPECT_NE(early.reason.find("1s in the future"), std::string::npos) << early.reason;
  EXPECT_EQ(Run("alice", cert_.valid_before - 1).verdict, Verdict::kAllow);
  Decision late = Run("alice", cert_.valid_before);
  EXPECT_EQ(late.verdict, Verdict::kDeny);
  // valid_before is when it expired.
  EXPECT_NE(late.reason.find("expired 0s ago"), std::string::npos) << late.reason;
  Decision later = Run("alice", cert_.valid_before + 100);
  EXPECT_NE(later.reason.find("expired 100s ago"), std::string::npos) << later.reason;
}

TEST_F(EvaluateTest, Sha1NeedsAllowSha1) {
  cert_.signature.algorithm = "ssh-rsa";
  Decision d = Run();
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_NE(d.reason.find("SHA-1"), std::string::npos);
  policy_.authorities[0].allow_sha1 = true;
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
  cert_.signature.algorithm = "rsa-sha2-512";
  policy_.authorities[0].allow_sha1 = false;
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
}

TEST_F(EvaluateTest, HostCertificateDenied) {
  cert_.cert_type = kCertTypeHost;
  EXPECT_EQ(Run().verdict, Verdict::kDeny);
}

TEST_F(EvaluateTest, RevokedSerial) {
  policy_.authorities[0].revoked_serials = {7, 42, 99};
  Decision d = Run();
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_NE(d.reason.find("serial 42"), std::string::npos);
  policy_.authorities[0].revoked_serials = {7, 43};
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
}

TEST_F(EvaluateTest, RevokedKeyId) {
  policy_.revoked_key_ids = {"mallory@*", "alice@example.com"};
  EXPECT_EQ(Run().verdict, Verdict::kDeny);
  policy_.revoked_key_ids = {"mallory@*"};
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
}

TEST_F(EvaluateTest, EmptyPrincipalsDenied) {
  cert_.principals.clear();
  policy_.rules[0].principals = {"*"};
  Decision d = Run();
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_NE(d.reason.find("no principals"), std::string::npos);
}

TEST_F(EvaluateTest, MaxLifetimeRuleThenDefault) {
  MutableConstraints(policy_.rules[0]).max_lifetime = 299;
  Decision d = Run();
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_EQ(d.rules[0].kind, RuleOutcome::Kind::kConstraintFailed);
  MutableConstraints(policy_.rules[0]).max_lifetime = 300;  // exactly the lifetime: fine
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
  MutableConstraints(policy_.rules[0]).max_lifetime.reset();
  policy_.defaults.max_lifetime = 60;
  EXPECT_EQ(Run().verdict, Verdict::kDeny);
  MutableConstraints(policy_.rules[0]).max_lifetime = 3600;  // rule beats defaults
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
}

TEST_F(EvaluateTest, ForeverCertificateExceedsAnyLifetime) {
  cert_.valid_after = 0;
  cert_.valid_before = UINT64_MAX;
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
  policy_.defaults.max_lifetime = 100ull * 365 * 86400;
  Decision d = Run();
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_NE(d.rules[0].reason.find("forever"), std::string::npos);
}

TEST_F(EvaluateTest, KeyIdPattern) {
  MutableConstraints(policy_.rules[0]).key_id = std::vector<std::string>{"*@example.com"};
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
  MutableConstraints(policy_.rules[0]).key_id = std::vector<std::string>{"*@corp.example"};
  EXPECT_EQ(Run().verdict, Verdict::kDeny);
  MutableConstraints(policy_.rules[0]).key_id = std::vector<std::string>{"*", "!alice@*"};
  EXPECT_EQ(Run().verdict, Verdict::kDeny);
}

TEST_F(EvaluateTest, SourceAddressRequired) {
  MutableConstraints(policy_.rules[0]).source_address = SourceAddressRequirement::kRequired;
  EXPECT_EQ(Run().verdict, Verdict::kDeny);
  cert_.source_address = "10.0.0.0/8";
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
}

TEST_F(EvaluateTest, Extensions) {
  MutableConstraints(policy_.rules[0]).require_extensions = std::vector<std::string>{"permit-pty"};
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
  MutableConstraints(policy_.rules[0]).require_extensions =
      std::vector<std::string>{"permit-pty", "permit-X11-forwarding"};
  EXPECT_EQ(Run().verdict, Verdict::kDeny);
  MutableConstraints(policy_.rules[0]).require_extensions.reset();
  MutableConstraints(policy_.rules[0]).forbid_extensions =
      std::vector<std::string>{"permit-agent-forwarding"};
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
  MutableConstraints(policy_.rules[0]).forbid_extensions =
      std::vector<std::string>{"permit-port-forwarding"};
  EXPECT_EQ(Run().verdict, Verdict::kDeny);
}

TEST_F(EvaluateTest, KeyTypesAndRsaBits) {
  MutableConstraints(policy_.rules[0]).key_types = std::vector<KeyType>{KeyType::kEcdsaP256};
  EXPECT_EQ(Run().verdict, Verdict::kDeny);
  MutableConstraints(policy_.rules[0]).key_types =
      std::vector<KeyType>{KeyType::kEcdsaP256, KeyType::kEd25519};
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
  // min_rsa_bits does not apply to non-RSA keys.
  MutableConstraints(policy_.rules[0]).min_rsa_bits = 3072;
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
}

TEST_F(EvaluateTest, UserSubstitution) {
  policy_.rules[0].principals = {"{user}"};
  Decision d = Run();
  ASSERT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.grants[0].principal, "alice");
  policy_.rules[0].users = {"*"};
  EXPECT_EQ(Run("root").verdict, Verdict::kDeny);
  // A login name holding pattern syntax never widens a {user} pattern.
  cert_.principals = {"a*"};
  EXPECT_EQ(Run("a*").verdict, Verdict::kDeny);
  policy_.rules[0].principals = {"team-{user}-x"};
  cert_.principals = {"team-alice-x"};
  EXPECT_EQ(Run().verdict, Verdict::kAllow);
}

TEST_F(EvaluateTest, NegatedPatterns) {
  policy_.rules[0].users = {"*", "!root"};
  EXPECT_EQ(Run("alice").verdict, Verdict::kAllow);
  EXPECT_EQ(Run("root").verdict, Verdict::kDeny);
  policy_.rules[0].principals = {"*", "!ops"};
  cert_.principals = {"ops", "dev"};
  Decision d = Run("alice");
  ASSERT_EQ(d.verdict, Verdict::kAllow);
  ASSERT_EQ(d.grants.size(), 1u);
  EXPECT_EQ(d.grants[0].principal, "dev");
}

// A negated {user} pattern that cannot take a login name holding pattern
// characters must not fall away (granting what it excludes): the rule
// grants nothing to that name, and still excludes for any other.
TEST_F(EvaluateTest, NegatedUserPatternFailsClosedForPatternLikeNames) {
  policy_.rules[0].users = {"*"};
  policy_.rules[0].principals = {"*", "!{user}-admin"};
  cert_.principals = {"bob-admin", "j*-admin", "ops"};
  Decision d = Run("j*");
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_TRUE(d.grants.empty());
  ASSERT_EQ(d.rules.size(), 1u);
  EXPECT_NE(d.rules[0].reason.find("exclusion !{user}-admin cannot be applied"), std::string::npos)
      << d.rules[0].reason;
  cert_.principals = {"bob-admin", "ops"};
  Decision bob = Run("bob");
  ASSERT_EQ(bob.verdict, Verdict::kAllow);
  ASSERT_EQ(bob.grants.size(), 1u);
  EXPECT_EQ(bob.grants[0].principal, "ops");
}

TEST_F(EvaluateTest, GroupMembership) {
  policy_.rules[0].users.clear();
  policy_.rules[0].groups = {"wheel"};
  EXPECT_EQ(Run("bob").verdict, Verdict::kDeny);
  groups_.Add("bob", "wheel");
  EXPECT_EQ(Run("bob").verdict, Verdict::kAllow);
  // A negated pattern beats group membership.
  policy_.rules[0].users = {"!bob"};
  EXPECT_EQ(Run("bob").verdict, Verdict::kDeny);
}

class FailingGroups : public GroupResolver {
 public:
  Result<bool> IsMember(std::string_view, std::string_view) override {
    return Fail(Errc::kIo, "ldap down");
  }
};

TEST_F(EvaluateTest, GroupLookupFailureGrantsNothing) {
  policy_.rules[0].users.clear();
  policy_.rules[0].groups = {"wheel"};
  FailingGroups failing;
  Request req{.user = "bob", .cert = &cert_, .now = kNow};
  Decision d = Evaluate(Compiled(), req, nullptr, failing);
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  ASSERT_EQ(d.rules.size(), 1u);
  EXPECT_EQ(d.rules[0].kind, RuleOutcome::Kind::kGroupLookupFailed);
}

TEST_F(EvaluateTest, FirstGrantingRuleWinsWithItsOptions) {
  Rule second = policy_.rules[0];
  second.name = "second";
  second.number = 2;
  second.principals = {"*"};
  second.options = {"no-pty"};
  policy_.rules[0].options = {"from=\"10.0.0.0/8\""};
  policy_.rules.push_back(second);
  Decision d = Run();
  ASSERT_EQ(d.verdict, Verdict::kAllow);
  ASSERT_EQ(d.grants.size(), 2u);
  EXPECT_EQ(FormatPrincipalsOutput(d.grants), "from=\"10.0.0.0/8\" ops\nno-pty alice\n");
}

TEST_F(EvaluateTest, FailingRuleDoesNotStopLaterRule) {
  Rule strict = policy_.rules[0];
  strict.name = "strict";
  MutableConstraints(strict).max_lifetime = 1;
  policy_.rules.insert(policy_.rules.begin(), strict);
  Decision d = Run();
  ASSERT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.rules[0].kind, RuleOutcome::Kind::kConstraintFailed);
  EXPECT_EQ(d.grants[0].rule.index(), 1u);
}

// sshd refuses a login whose certificate forces one command and whose
// principals line another (auth-options.c sshauthopt_merge): such a rule
// grants nothing, and the next rule may grant. The same command, a rule
// without command=, or a certificate without force-command are fine.
TEST_F(EvaluateTest, ARuleWhoseCommandIsNotTheCertificatesForceCommandGrantsNothing) {
  Rule forced = policy_.rules[0];
  forced.name = "forced";
  forced.options = {"no-pty", "COMMAND=\"/bin/echo \\\"restricted\\\"\""};
  Rule plain = policy_.rules[0];
  plain.name = "plain";
  plain.options = {"no-pty"};
  policy_.rules = {forced, plain};
  Decision d = Run();  // no force-command
  ASSERT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.grants[0].rule.name(), "forced");

  cert_.force_command = "/bin/true";
  d = Run();
  ASSERT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.rules[0].kind, RuleOutcome::Kind::kConstraintFailed);
  EXPECT_EQ(d.rules[0].reason,
            "its command= option is not the certificate's force-command, and sshd refuses a login when the two "
            "differ (make them equal, or drop command= from this rule)");
  EXPECT_EQ(d.grants[0].rule.name(), "plain");

  // The value as sshd dequotes it: \" is a quote.
  cert_.force_command = "/bin/echo \"restricted\"";
  d = Run();
  ASSERT_EQ(d.verdict, Verdict::kAllow);
  EXPECT_EQ(d.grants[0].rule.name(), "forced");

  cert_.force_command = "/bin/true";
  policy_.rules = {forced};
  d = Run();
  EXPECT_EQ(d.verdict, Verdict::kDeny);
  EXPECT_TRUE(d.grants.empty());
}

TEST_F(EvaluateTest, UnsafePrincipalsAreNeverGranted) {
  policy_.rules[0].principals = {"*"};
  cert_.principals = {"a b", "x#y", "q\"", "c,d", "tab\there", "ctl\x01", "del\x7f", "back\\", "fine"};
  Decision d = Run();
  ASSERT_EQ(d.verdict, Verdict::kAllow);
  ASSERT_EQ(d.grants.size(), 1u);
  EXPECT_EQ(d.grants[0].principal, "fine");
  EXPECT_EQ(d.unsafe_principals.size(), 8u);
  cert_.principals = {"a b"};
  EXPECT_EQ(Run().verdict, Verdict::kDeny);
}

// A rule whose matching principals were all granted before (or can never
// be printed) says so, not that nothing matched (--explain shows it).
TEST_F(EvaluateTest, ARuleMatchingOnlyWhatWasGrantedSaysSo) {
  Rule second = policy_.rules[0];
  second.name = "second";
  second.number = 2;
  second.principals = {"ops", "{user}"};
  Rule third = second;
  third.name = "";
  third.number = 3;
  third.principals = {"ops", "alice"};
  policy_.rules.push_back(second);
  policy_.rules.push_back(third);
  cert_.principals = {"ops", "alice", "a b"};
  Request req{.user = "alice", .cert = &cert_, .now = kNow, .every_rule = true};
  Decision d = Evaluate(Compiled(), req, nullptr, groups_);
  ASSERT_EQ(d.verdict, Verdict::kAllow);
  ASSERT_EQ(d.rules.size(), 3u);
  EXPECT_EQ(d.rules[0].kind, RuleOutcome::Kind::kGranted);
  EXPECT_EQ(d.rules[1].kind, RuleOutcome::Kind::kGranted);  // alice
  EXPECT_EQ(d.rules[1].principals, std::vector<std::string>{"alice"});
  EXPECT_EQ(d.rules[2].kind, RuleOutcome::Kind::kNoPrincipalMatched);
  EXPECT_EQ(d.rules[2].reason,
            "ops already granted by an earlier rule (ops); alice already granted by an earlier rule (second)");
  // Nothing matched at all: as before.
  policy_.rules[2].principals = {"web"};
  d = Evaluate(Compiled(), req, nullptr, groups_);
  EXPECT_EQ(d.rules[2].reason, "no certificate principal matches principals web");
  // Only a principal sshd would misread matched.
  policy_.rules[2].principals = {"a b"};
  d = Evaluate(Compiled(), req, nullptr, groups_);
  EXPECT_EQ(d.rules[2].reason, "1 matched principal(s) never printed (they hold a character sshd would misread)");
  EXPECT_EQ(d.unsafe_principals, std::vector<std::string>{"a b"});
}

TEST_F(EvaluateTest, RulesForUser) {
  std::vector<std::string> errors;
  EXPECT_EQ(RulesForUser(Compiled(), "alice", groups_, &errors).size(), 1u);
  EXPECT_TRUE(RulesForUser(Compiled(), "bob", groups_, &errors).empty());
  EXPECT_TRUE(errors.empty());
}

}  // namespace
}  // namespace certgate::core
