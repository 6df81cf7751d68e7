// End-to-end tests of keys-cmd with a plain key (helper_command.cc), with
// real ssh-keygen keys and real policy files: the user_keys lines of every
// rule for the login name, printed for sshd to match; a rule with user_keys
// only; keys revoked by the KRL left out; and --explain of a plain key rule
// by rule. Certificates are helper_command_test.cc's; the fixture is
// helper_command_testing.h's.
#include "core/helper_command.h"

#include <unistd.h>

#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/helper_args.h"
#include "core/helper_command_testing.h"
#include "core/result.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using ::certgate::testing::MakeKey;
using ::certgate::testing::ReadFile;
using ::certgate::testing::WriteFile;

TEST_F(HelperCommandTest, KeysCmdPlainKeyBreakGlass) {
  const std::string user_key = KeyLine(user_);
  WritePolicy(
      ProdHead(ca_) +
      "rules:\n"
      "  - users: [alice]\n"
      "    authorities: [prod]\n"
      "    principals: [ops]\n"
      "    user_keys: ['restrict,pty " + user_key + " breakglass']\n");
  std::string b64 = ::certgate::testing::PubBase64(user_ + ".pub");
  HelperOutput out = Sshd(HelperKind::kKeys, {"alice", "ssh-ed25519", b64});
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.out, "restrict,pty " + user_key + " breakglass\n");
  HelperOutput bob = Sshd(HelperKind::kKeys, {"bob", "ssh-ed25519", b64});
  EXPECT_EQ(bob.out, "");
  // Another key: alice's lines are printed all the same (sshd makes the
  // final match), and the record says deny.
  std::string other = ::certgate::testing::PubBase64(ca_ + ".pub");
  HelperOutput unlisted = Sshd(HelperKind::kKeys, {"alice", "ssh-ed25519", other});
  EXPECT_EQ(unlisted.out, "restrict,pty " + user_key + " breakglass\n");
  ASSERT_EQ(log_.records.size(), 1u);
  EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "deny");
  HelperOutput mismatch = Sshd(HelperKind::kKeys, {"alice", "ecdsa-sha2-nistp256", b64});
  EXPECT_EQ(mismatch.out, "");
  // A key sshd could not have sent (cut short, or not base64): nothing
  // printed, exit 0 (the policy was read), and the record says why.
  for (const std::string& bad : {b64.substr(0, b64.size() - 8), std::string("!!!!")}) {
    HelperOutput rejected = Sshd(HelperKind::kKeys, {"alice", "ssh-ed25519", bad});
    EXPECT_EQ(rejected.exit_code, 0) << bad;
    EXPECT_EQ(rejected.out, "") << bad;
    ASSERT_EQ(log_.records.size(), 1u) << bad;
    EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "deny");
    EXPECT_NE(log_.records[0].Field("CERTGATE_REASON").find("key rejected ("), std::string::npos)
        << log_.records[0].Field("CERTGATE_REASON");
  }
}

TEST_F(HelperCommandTest, ARuleWithUserKeysOnlyGrantsNoCertificate) {
  const std::string user_key = KeyLine(user_);
  WritePolicy(
      ProdHead(ca_) +
      "rules:\n"
      "  - name: breakglass\n"
      "    users: [alice]\n"
      "    authorities: [prod]\n"
      "    user_keys: ['" + user_key + " oncall']\n");
  HelperOutput plain =
      Sshd(HelperKind::kKeys, {"alice", "ssh-ed25519", ::certgate::testing::PubBase64(user_ + ".pub")});
  EXPECT_EQ(plain.out, user_key + " oncall\n");
  ASSERT_EQ(log_.records.size(), 1u);
  EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "allow");

  std::string cert = Cert(ca_, {"-n", "ops", "-V", "-5m:+5m"});
  for (HelperKind kind : {HelperKind::kPrincipals, HelperKind::kKeys}) {
    HelperOutput out = Sshd(kind, {"alice", kType, cert});
    EXPECT_EQ(out.exit_code, 0);
    EXPECT_EQ(out.out, "");
    ASSERT_EQ(log_.records.size(), 1u);
    EXPECT_EQ(log_.records[0].Field("CERTGATE_REASON"),
              "no rule grants any principal of the certificate [breakglass: the rule has no principals "
              "(user_keys only)]");
  }
}

// PlainKeyTest has four user keys, a to d, for PlainKeyPolicy: a policy
// with two user_keys lines (keys a and b) for alice in one rule, one (key
// d) for bob in a second rule and one (key c) for everybody in a third,
// with |extra| appended at the top level.
class PlainKeyTest : public HelperCommandTest {
 protected:
  void SetUp() override {
    HelperCommandTest::SetUp();
    a_ = MakeKey(dir_, "a", "ed25519");
    b_ = MakeKey(dir_, "b", "ed25519");
    c_ = MakeKey(dir_, "c", "ed25519");
    d_ = MakeKey(dir_, "d", "ed25519");
  }

  std::string PlainKeyPolicy(const std::string& extra = "") const {
    return ProdHead(ca_) + extra +
           "rules:\n"
           "  - name: breakglass\n"
           "    users: [alice]\n"
           "    authorities: [prod]\n"
           "    principals: [ops]\n"
           "    user_keys: ['restrict,pty " + KeyLine(a_) + " a', '" + KeyLine(b_) + " b']\n"
           "  - name: bob\n"
           "    users: [bob]\n"
           "    authorities: [prod]\n"
           "    principals: [ops]\n"
           "    user_keys: ['" + KeyLine(d_) + " d']\n"
           "  - name: all\n"
           "    users: ['*']\n"
           "    authorities: [prod]\n"
           "    principals: [ops]\n"
           "    user_keys: ['no-pty " + KeyLine(c_) + " c']\n";
  }

  // WriteRevokingB writes PlainKeyPolicy with a KRL that revokes key b,
  // and returns the KRL's path.
  std::string WriteRevokingB() {
    const std::string krl = dir_.Path("revoked.krl");
    auto made = ::certgate::testing::Run({"ssh-keygen", "-q", "-k", "-f", krl, b_ + ".pub"});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    WritePolicy(PlainKeyPolicy("revoked:\n  krl: " + krl + "\n"));
    return krl;
  }

  std::string a_, b_, c_, d_;
};

TEST_F(PlainKeyTest, KeysCmdPlainKeyPrintsEveryLineOfTheRules) {
  WritePolicy(PlainKeyPolicy());
  const std::string alice_lines = "restrict,pty " + KeyLine(a_) + " a\n" + KeyLine(b_) + " b\n" +
                                  "no-pty " + KeyLine(c_) + " c\n";

  // A key in no line: every line of alice's rules, in policy order; deny.
  HelperOutput other = Sshd(HelperKind::kKeys, {"alice", "ssh-ed25519", Pub(user_)});
  EXPECT_EQ(other.exit_code, 0);
  EXPECT_EQ(other.out, alice_lines);
  ASSERT_EQ(log_.records.size(), 1u);
  EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "deny");
  EXPECT_EQ(log_.records[0].Field("CERTGATE_REASON"),
            "no user_keys line of a rule for alice holds this key (3 user_keys lines printed for sshd to match)");

  // The rule's second key: the same lines; allow by that rule.
  HelperOutput second = Sshd(HelperKind::kKeys, {"alice", "ssh-ed25519", Pub(b_)});
  EXPECT_EQ(second.out, alice_lines);
  ASSERT_EQ(log_.records.size(), 1u);
  EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "allow");
  EXPECT_EQ(log_.records[0].Field("CERTGATE_RULE"), "breakglass");

  // bob: his rule's line and the one for everybody; alice's key is denied.
  HelperOutput bob = Sshd(HelperKind::kKeys, {"bob", "ssh-ed25519", Pub(a_)});
  EXPECT_EQ(bob.out, KeyLine(d_) + " d\nno-pty " + KeyLine(c_) + " c\n");
  ASSERT_EQ(log_.records.size(), 1u);
  EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "deny");
}

TEST_F(PlainKeyTest, KeysCmdPlainKeyNeverPrintsARevokedKey) {
  const std::string krl = WriteRevokingB();

  // Key a: its line and c's, not b's (revoked); allow.
  HelperOutput out = Sshd(HelperKind::kKeys, {"alice", "ssh-ed25519", Pub(a_)});
  EXPECT_EQ(out.out, "restrict,pty " + KeyLine(a_) + " a\nno-pty " + KeyLine(c_) + " c\n");
  ASSERT_EQ(log_.records.size(), 1u);
  EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "allow");
  EXPECT_NE(log_.records[0].message.find("2 user_keys lines printed for sshd to match, 1 revoked by the KRL left out"),
            std::string::npos)
      << log_.records[0].message;

  // The revoked key itself: nothing at all.
  HelperOutput revoked = Sshd(HelperKind::kKeys, {"alice", "ssh-ed25519", Pub(b_)});
  EXPECT_EQ(revoked.out, "");
  ASSERT_EQ(log_.records.size(), 1u);
  EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "deny");
  EXPECT_NE(log_.records[0].message.find("revoked by the KRL"), std::string::npos);

  // An unreadable KRL: nothing at all (fail closed).
  unlink(krl.c_str());
  HelperOutput gone = Sshd(HelperKind::kKeys, {"alice", "ssh-ed25519", Pub(a_)});
  EXPECT_EQ(gone.out, "");
  ASSERT_EQ(log_.records.size(), 1u);
  EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "deny");
}

// Fingerprint returns the SHA256 fingerprint ssh-keygen prints for |path|.pub.
std::string Fingerprint(const std::string& path) {
  auto r = ::certgate::testing::Run({"ssh-keygen", "-l", "-E", "sha256", "-f", path + ".pub"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::string bits, fp;
  in >> bits >> fp;
  return fp;
}

TEST_F(PlainKeyTest, KeysCmdExplainsAPlainKeyRuleByRule) {
  const std::string krl = WriteRevokingB();
  auto explain = [&](const std::string& user, const std::string& key) {
    Result<HelperOptions> o = ParseHelperArgs(
        HelperKind::kKeys, {"--explain", "--user", user, "--policy", policy_path_, key + ".pub"});
    EXPECT_TRUE(o);
    return RunHelper(HelperKind::kKeys, *o, env_);
  };

  // Key c for alice: every rule in order, every line of the rules that
  // apply marked, the revoked one said and not printed.
  HelperOutput allow = explain("alice", c_);
  EXPECT_EQ(allow.exit_code, 0) << allow.out;
  EXPECT_EQ(allow.out,
            "plain key: ssh-ed25519 " + Fingerprint(c_) + "\n"
            "login name: alice\n"
            "rules:\n"
            "  breakglass: applies; 2 user_keys lines:\n"
            "    restrict,pty ssh-ed25519 " + Fingerprint(a_) + " a (printed)\n"
            "    ssh-ed25519 " + Fingerprint(b_) + " b (revoked by the KRL, not printed)\n"
            "  bob: does not apply: login name alice not in users\n"
            "  all: applies; 1 user_keys line:\n"
            "    no-pty ssh-ed25519 " + Fingerprint(c_) + " c (printed; this key)\n"
            "decision: ALLOW: a user_keys line of all holds this key (2 user_keys lines printed for "
            "sshd to match, 1 revoked by the KRL left out)\n"
            "sshd would read:\n"
            "restrict,pty " + KeyLine(a_) + " a\nno-pty " + KeyLine(c_) + " c\n");

  // Key a for bob: the lines bob gets, none of them a; deny, exit 1.
  HelperOutput deny = explain("bob", a_);
  EXPECT_EQ(deny.exit_code, 1);
  EXPECT_NE(deny.out.find("  breakglass: does not apply: login name bob not in users\n"
                          "  bob: applies; 1 user_keys line:\n"
                          "    ssh-ed25519 " + Fingerprint(d_) + " d (printed)\n"),
            std::string::npos)
      << deny.out;
  EXPECT_NE(deny.out.find("decision: DENY: no user_keys line of a rule for bob holds this key "
                          "(2 user_keys lines printed for sshd to match)\n"),
            std::string::npos)
      << deny.out;

  // The revoked key: denied before any rule is read.
  HelperOutput revoked = explain("alice", b_);
  EXPECT_EQ(revoked.exit_code, 1);
  EXPECT_NE(revoked.out.find("decision: DENY: key is revoked by the KRL " + krl), std::string::npos)
      << revoked.out;

  // A key line that lies about its type says so.
  const std::string line = ReadFile(a_ + ".pub");
  WriteFile(dir_.Path("mis.pub"), "ssh-rsa" + line.substr(line.find(' ')));
  HelperOutput mismatched = explain("alice", dir_.Path("mis"));
  EXPECT_EQ(mismatched.exit_code, 1);
  EXPECT_EQ(mismatched.out, "decision: DENY: " + dir_.Path("mis.pub") +
                                " does not hold a valid public key (the line says ssh-rsa but the key is ssh-ed25519)\n");
}

}  // namespace
}  // namespace certgate::core
