// End-to-end tests of the helpers' behaviour (helper_command.cc) with real
// ssh-keygen certificates and real policy files: principals-cmd's and
// keys-cmd's answers for a certificate, a bad or unsafe policy, --check,
// --explain, the size limit of an answer and an unusable KRL. keys-cmd with
// a plain key is helper_command_plain_key_test.cc's, a decision's record
// and explanation decision_report_test.cc's, the fixture
// helper_command_testing.h's; the process plumbing is tested by
// tests/integration.
#include "core/helper_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/decision_report.h"
#include "core/helper_args.h"
#include "core/helper_command_testing.h"
#include "core/log.h"
#include "core/result.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using ::certgate::testing::ReadFile;
using ::certgate::testing::WriteFile;

TEST_F(HelperCommandTest, PrincipalsAllow) {
  std::string cert = Cert(ca_, {"-n", "ops,dev", "-V", "-5m:+5m", "-z", "17"});
  HelperOutput out = Sshd(HelperKind::kPrincipals, {"alice", kType, cert});
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.out, "no-pty ops\n");
  ASSERT_EQ(log_.records.size(), 1u);
  const LogRecord& rec = log_.records[0];
  EXPECT_EQ(rec.Field("CERTGATE_DECISION"), "allow");
  EXPECT_EQ(rec.Field("CERTGATE_USER"), "alice");
  EXPECT_EQ(rec.Field("CERTGATE_PRINCIPALS"), "ops");
  EXPECT_EQ(rec.Field("CERTGATE_KEY_ID"), "alice@example.com");
  EXPECT_EQ(rec.Field("CERTGATE_SERIAL"), "17");
  EXPECT_EQ(rec.Field("CERTGATE_AUTHORITY"), "prod");
  EXPECT_EQ(rec.Field("CERTGATE_RULE"), "ops");
  EXPECT_EQ(rec.Field("CERTGATE_CA_FP").substr(0, 7), "SHA256:");
}

TEST_F(HelperCommandTest, PrincipalsDenyIsExitZeroAndEmpty) {
  std::string cert = Cert(other_ca_, {"-n", "ops", "-V", "-5m:+5m"});
  HelperOutput out = Sshd(HelperKind::kPrincipals, {"alice", kType, cert});
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.out, "");
  ASSERT_EQ(log_.records.size(), 1u);
  EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "deny");
  EXPECT_NE(log_.records[0].message.find("unknown CA"), std::string::npos);
}

// A well-formed certificate that cannot be a login's (a host certificate,
// or one that is not the type sshd offered) is denied with the fields that
// say whose it is, as any other denied certificate.
TEST_F(HelperCommandTest, HostOrMistypedCertificateDenialSaysWhose) {
  auto fp = ::certgate::testing::Run({"ssh-keygen", "-l", "-E", "sha256", "-f", ca_ + ".pub"});
  ASSERT_EQ(fp.exit_code, 0) << fp.err;
  const std::string ca_fp = fp.out.substr(fp.out.find(' ') + 1, fp.out.find(' ', fp.out.find(' ') + 1) -
                                                                     fp.out.find(' ') - 1);
  struct Case {
    std::vector<std::string> args;
    std::string type;
    std::string reason;
  };
  for (const Case& c :
       {Case{{"-h", "-n", "ops", "-V", "-5m:+5m", "-z", "9"}, kType,
             "certificate rejected (not-user-certificate): a host certificate; a login needs a user certificate"},
        Case{{"-n", "ops", "-V", "-5m:+5m", "-z", "9"}, "ssh-rsa-cert-v01@openssh.com",
             "certificate rejected (type-mismatch): the offered algorithm \"ssh-rsa-cert-v01@openssh.com\" is "
             "not the certificate's type ssh-ed25519-cert-v01@openssh.com"}}) {
    log_.records.clear();
    const std::string cert = Cert(ca_, c.args);
    HelperOutput out = Sshd(HelperKind::kPrincipals, {"alice", c.type, cert});
    EXPECT_EQ(out.exit_code, 0);
    EXPECT_EQ(out.out, "");
    ASSERT_EQ(log_.records.size(), 1u);
    const LogRecord& rec = log_.records[0];
    EXPECT_EQ(rec.Field("CERTGATE_DECISION"), "deny");
    EXPECT_EQ(rec.Field("CERTGATE_REASON").rfind(c.reason, 0), 0u) << rec.Field("CERTGATE_REASON");
    EXPECT_EQ(rec.Field("CERTGATE_KEY_ID"), "alice@example.com");
    EXPECT_EQ(rec.Field("CERTGATE_SERIAL"), "9");
    EXPECT_EQ(rec.Field("CERTGATE_CA_FP"), ca_fp);
    EXPECT_EQ(rec.Field("CERTGATE_PRINCIPALS"), "");
    EXPECT_NE(rec.message.find(" (key id \"alice@example.com\" serial 9 CA " + ca_fp + ")"), std::string::npos)
        << rec.message;
  }
  // --explain of the host certificate names it too.
  Cert(ca_, {"-h", "-n", "ops", "-V", "-5m:+5m", "-z", "9"});
  Result<HelperOptions> o = ParseHelperArgs(
      HelperKind::kPrincipals, {"--explain", "--user", "alice", "--policy", policy_path_, user_ + "-cert.pub"});
  ASSERT_TRUE(o);
  HelperOutput explained = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(explained.exit_code, 1);
  EXPECT_NE(explained.out.find("(not-user-certificate): a host certificate; "), std::string::npos) << explained.out;
  EXPECT_NE(explained.out.find(" (key id \"alice@example.com\" serial 9)\n"), std::string::npos) << explained.out;
}

TEST_F(HelperCommandTest, ExpiredSaysHowLate) {
  std::string cert = Cert(ca_, {"-n", "ops", "-V", "-2h:-1h"});
  // The decision's clock is read after ssh-keygen's: set up before a slow
  // signing (ASan), it fell a second short of the hour (3599s).
  env_.now = static_cast<uint64_t>(std::time(nullptr));
  HelperOutput out = Sshd(HelperKind::kPrincipals, {"alice", kType, cert});
  EXPECT_EQ(out.out, "");
  EXPECT_NE(log_.records.at(0).message.find("expired 36"), std::string::npos)
      << log_.records[0].message;
}

TEST_F(HelperCommandTest, MalformedInputDeniesQuietly) {
  std::string cert = Cert(ca_, {"-n", "ops", "-V", "-5m:+5m"});
  for (const auto& bad : std::vector<std::pair<std::string, std::string>>{
           {kType, cert.substr(0, cert.size() - 8)},
           {kType, "!!!!"},
           {kType, ""},
           {"ecdsa-sha2-nistp256-cert-v01@openssh.com", cert},
           {"ssh-ed25519", cert},
           {"", cert},  // %t must match; an empty one matches nothing
       }) {
    HelperOutput out = Sshd(HelperKind::kPrincipals, {"alice", bad.first, bad.second});
    EXPECT_EQ(out.exit_code, 0);
    EXPECT_EQ(out.out, "");
    ASSERT_EQ(log_.records.size(), 1u);
    EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "deny");
  }
}

// The two rejections a person meets most say what happened and what to do.
TEST_F(HelperCommandTest, ACutOrAlteredCertificateSaysWhatHappened) {
  // reason() denies |base64| and returns its record's CERTGATE_REASON.
  auto reason = [this](const std::string& base64) {
    log_.records.clear();
    HelperOutput out = Sshd(HelperKind::kPrincipals, {"alice", kType, base64});
    EXPECT_EQ(out.out, "");
    EXPECT_EQ(log_.records.size(), 1u);
    return log_.records.empty() ? std::string() : log_.records[0].Field("CERTGATE_REASON");
  };
  const std::string cert = Cert(ca_, {"-n", "ops", "-V", "-5m:+5m"});
  const std::string truncated = reason(cert.substr(0, 100));
  EXPECT_EQ(truncated.rfind("certificate rejected (truncated): ", 0), 0u) << truncated;
  EXPECT_NE(truncated.find("the certificate data ends inside it: cut or damaged; pass sshd's whole %k"),
            std::string::npos)
      << truncated;
  auto blob = Base64Decode(cert);
  ASSERT_TRUE(blob);
  blob->back() ^= 1;  // the last byte of the signature
  const std::string bad = reason(Base64Encode(*blob));
  EXPECT_EQ(bad.rfind("certificate rejected (bad-signature): ", 0), 0u) << bad;
  EXPECT_NE(bad.find("the CA's signature does not verify: the certificate was altered or damaged"),
            std::string::npos)
      << bad;
}

TEST_F(HelperCommandTest, BadPolicyIsExitOneWithLocation) {
  WritePolicy("version: 1\nrules:\n  - users: [alice]\n    bogus: 1\n");
  std::string cert = Cert(ca_, {"-n", "ops", "-V", "-5m:+5m"});
  HelperOutput out = Sshd(HelperKind::kPrincipals, {"alice", kType, cert});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.out, "");
  ASSERT_EQ(log_.records.size(), 1u);
  EXPECT_NE(log_.records[0].message.find(policy_path_ + ":"), std::string::npos)
      << log_.records[0].message;
  // The other issues: --check with the same --policy lists them.
  EXPECT_NE(log_.records[0].message.find(" more; run principals-cmd --check --policy " + policy_path_ + ")"),
            std::string::npos)
      << log_.records[0].message;
}

TEST_F(HelperCommandTest, UnsafePolicyPermissionsDeny) {
  chmod(policy_path_.c_str(), 0664);
  std::string cert = Cert(ca_, {"-n", "ops", "-V", "-5m:+5m"});
  HelperOutput out = Sshd(HelperKind::kPrincipals, {"alice", kType, cert});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.out, "");
}

TEST_F(HelperCommandTest, CheckPrintsOkOrIssues) {
  Result<HelperOptions> o = ParseHelperArgs(HelperKind::kPrincipals, {"--check", "--policy", policy_path_});
  ASSERT_TRUE(o);
  HelperOutput good = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(good.exit_code, 0);
  EXPECT_EQ(good.out, "ok\n");
  WritePolicy("version: 2\n");
  HelperOutput bad = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.out.rfind(policy_path_ + ":1:", 0), 0u) << bad.out;
}

// A name two rules share loads (it is only a label), but --check warns on
// stderr, at the second rule, naming the first; unnamed rules never collide.
TEST_F(HelperCommandTest, CheckWarnsOfARuleNameUsedTwice) {
  const std::string rule = "    users: [alice]\n    authorities: [prod]\n    principals: [ops]\n";
  WritePolicy(ProdHead(ca_) + "rules:\n  - name: ops\n" + rule + "  - users: [bob]\n" +
              rule.substr(rule.find('\n') + 1) + "  - name: ops\n" + rule + "  - name: ops\n" + rule);
  Result<HelperOptions> o = ParseHelperArgs(HelperKind::kPrincipals, {"--check", "--policy", policy_path_});
  ASSERT_TRUE(o);
  HelperOutput out = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(out.exit_code, 0);
  const std::string warning =
      ": warning: rule name \"ops\" is also the name of rule 1 (" + policy_path_ +
      ":6), so logs and --explain cannot tell the two apart; give each rule its own name\n";
  // On stderr, for the person: stdout is "ok" alone, as for any valid policy.
  EXPECT_EQ(out.out, "ok\n");
  EXPECT_EQ(out.err, policy_path_ + ":13:5" + warning + policy_path_ + ":17:5" + warning);
}

// A KRL that every login would fail to read is a problem --check reports,
// at the KRL; once ssh-keygen writes one, the check passes.
TEST_F(HelperCommandTest, CheckReportsAnUnusableKrl) {
  const std::string krl = dir_.Path("revoked.krl");
  WritePolicy(ProdHead(ca_) + "revoked:\n  krl: " + krl + "\nrules: []\n");
  Result<HelperOptions> o = ParseHelperArgs(HelperKind::kPrincipals, {"--check", "--policy", policy_path_});
  ASSERT_TRUE(o);
  HelperOutput missing = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out, krl + ":1:1: the KRL named by revoked.krl is unusable (cannot open: No such file or "
                               "directory), so every certificate would be denied; create it with ssh-keygen -k -f " +
                             krl + " (an empty KRL revokes nothing)\n");
  WriteFile(krl, "not a KRL");
  HelperOutput garbage = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_EQ(garbage.out.rfind(krl + ":1:1: the KRL named by revoked.krl is unusable (", 0), 0u) << garbage.out;
  EXPECT_NE(garbage.out.find("; write it again with ssh-keygen -k -f " + krl + " and what it revokes\n"),
            std::string::npos)
      << garbage.out;
  unlink(krl.c_str());
  auto made = ::certgate::testing::Run({"ssh-keygen", "-q", "-k", "-f", krl});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  HelperOutput good = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(good.exit_code, 0);
  EXPECT_EQ(good.out, "ok\n");
}

TEST_F(HelperCommandTest, ExplainAllowAndDeny) {
  Cert(ca_, {"-n", "ops", "-V", "-5m:+5m"});
  std::string cert_file = user_ + "-cert.pub";
  Result<HelperOptions> o = ParseHelperArgs(
      HelperKind::kPrincipals, {"--explain", "--user", "alice", "--policy", policy_path_, cert_file});
  ASSERT_TRUE(o);
  HelperOutput allow = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(allow.exit_code, 0) << allow.out;
  EXPECT_NE(allow.out.find("ops: grants ops"), std::string::npos) << allow.out;
  EXPECT_NE(allow.out.find("decision: ALLOW"), std::string::npos);
  EXPECT_NE(allow.out.find("no-pty ops\n"), std::string::npos);
  EXPECT_NE(allow.out.find("\nvalidity: valid now, expires in "), std::string::npos) << allow.out;
  // With --at, the validity is said of that time, not of now.
  o->explain_at = env_.now + 60;
  HelperOutput at = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(at.exit_code, 0) << at.out;
  EXPECT_NE(at.out.find("\ntime: " + FormatTime(env_.now + 60) + " (--at)\n"), std::string::npos) << at.out;
  EXPECT_NE(at.out.find("\nvalidity: valid at that time, expires "), std::string::npos) << at.out;
  EXPECT_NE(at.out.find(" after it\n"), std::string::npos) << at.out;
  EXPECT_EQ(at.out.find("valid now"), std::string::npos) << at.out;
  o->explain_at.reset();

  o->explain_user = "bob";
  HelperOutput deny = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(deny.exit_code, 1);
  EXPECT_NE(deny.out.find("login name bob not in users"), std::string::npos) << deny.out;
  EXPECT_NE(deny.out.find("decision: DENY"), std::string::npos);

  o->explain_user = "alice";
  o->explain_at = env_.now + 3600;
  HelperOutput late = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_NE(late.out.find("expired"), std::string::npos) << late.out;

  // Two certificates in one file: not silently the first.
  const std::string two = dir_.Path("two-cert.pub");
  WriteFile(two, ReadFile(cert_file) + "\n" + ReadFile(cert_file));
  o->explain_file = two;
  o->explain_at.reset();
  HelperOutput both = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_EQ(both.out, "decision: DENY: " + two +
                          " holds 2 key lines; give one certificate (or key) per file, e.g. its -cert.pub file\n");
  // Blank lines and # comments are skipped, as sshd skips them in key files.
  const std::string commented = dir_.Path("commented-cert.pub");
  WriteFile(commented, "# alice's certificate, from the prod CA\n\n  " + ReadFile(cert_file) + "\n# end\n");
  o->explain_file = commented;
  HelperOutput with_comments = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(with_comments.exit_code, 0) << with_comments.out;
  EXPECT_NE(with_comments.out.find("decision: ALLOW"), std::string::npos) << with_comments.out;
  const std::string none = dir_.Path("comments-only.pub");
  WriteFile(none, "# nothing here\n\n");
  o->explain_file = none;
  HelperOutput nothing = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(nothing.exit_code, 1);
  EXPECT_EQ(nothing.out, "decision: DENY: " + none +
                             " holds no key line (only blank lines or # comments); give the certificate's "
                             "-cert.pub file\n");
  // A line that does not decode: where it is, and what a key line is.
  const std::string garbage = dir_.Path("garbage.pub");
  WriteFile(garbage, "# a comment\ngarbage\n");
  o->explain_file = garbage;
  HelperOutput bad = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.out.rfind("decision: DENY: " + garbage + ":2: certificate rejected (bad-encoding): ", 0), 0u)
      << bad.out;
  EXPECT_TRUE(bad.out.ends_with("; a key line is TYPE BASE64 [COMMENT], as in the certificate's -cert.pub file\n"))
      << bad.out;
}

TEST_F(HelperCommandTest, ExplainNamesTheFailingRule) {
  Cert(ca_, {"-n", "ops", "-V", "-5m:+2h"});
  WritePolicy(ReadFile(policy_path_) + "    max_lifetime: 10m\n");
  Result<HelperOptions> o = ParseHelperArgs(
      HelperKind::kPrincipals,
      {"--explain", "--user", "alice", "--policy", policy_path_, user_ + "-cert.pub"});
  ASSERT_TRUE(o);
  HelperOutput out = RunHelper(HelperKind::kPrincipals, *o, env_);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.out.find("decision: DENY: no rule grants any principal of the certificate [ops: "
                         "certificate lifetime 2h5m exceeds max_lifetime 10m]"),
            std::string::npos)
      << out.out;
}

TEST_F(HelperCommandTest, KeysCmdCertificateLines) {
  std::string cert = Cert(ca_, {"-n", "ops,dev", "-V", "-5m:+5m"});
  HelperOutput out = Sshd(HelperKind::kKeys, {"alice", kType, cert});
  EXPECT_EQ(out.exit_code, 0);
  std::string ca_line = FirstLine(ReadFile(ca_ + ".pub"));
  // "ssh-ed25519 BASE64 comment": keys-cmd prints the key without comment.
  std::string ca_key = ca_line.substr(0, ca_line.rfind(' '));
  EXPECT_EQ(out.out, "cert-authority,principals=\"ops\",no-pty " + ca_key + "\n");
}

TEST_F(HelperCommandTest, PrincipalsWithControlsOrMalformedUtf8AreNeverPrinted) {
  WritePolicy(ProdHead(ca_) +
              "rules:\n"
              "  - users: [alice]\n"
              "    authorities: [prod]\n"
              "    principals: ['*']\n");
  const std::string zurich = "z\xc3\xbc" "rich";
  // A C1 control (U+009B CSI), a right-to-left override, Latin-1 bytes.
  const std::string cert =
      Cert(ca_, {"-n", zurich + ",csi\xc2\x9b" "1m,ops\xe2\x80\xae" "toor,l\xe4tin", "-V", "-5m:+5m"});
  HelperOutput principals = Sshd(HelperKind::kPrincipals, {"alice", kType, cert});
  EXPECT_EQ(principals.out, zurich + "\n");
  ASSERT_EQ(log_.records.size(), 1u);
  // The log shows them escaped.
  EXPECT_NE(log_.records[0].message.find(
                "; unsafe principal(s) never printed: \"csi\\xc2\\x9b1m\", \"ops\\xe2\\x80\\xaetoor\", \"l\\xe4tin\""),
            std::string::npos)
      << log_.records[0].message;
  // So is the granted one: printed to sshd as it is, logged escaped.
  EXPECT_NE(log_.records[0].message.find("allow alice: principals z\\xc3\\xbcrich granted by "),
            std::string::npos)
      << log_.records[0].message;
  EXPECT_EQ(log_.records[0].Field("CERTGATE_PRINCIPALS"), "z\\xc3\\xbcrich");
  HelperOutput keys = Sshd(HelperKind::kKeys, {"alice", kType, cert});
  std::string ca_line = FirstLine(ReadFile(ca_ + ".pub"));
  EXPECT_EQ(keys.out,
            "cert-authority,principals=\"" + zurich + "\" " + ca_line.substr(0, ca_line.rfind(' ')) + "\n");

  const std::string only_unsafe = Cert(ca_, {"-n", "csi\xc2\x9b" "1m", "-V", "-5m:+5m"});
  EXPECT_EQ(Sshd(HelperKind::kPrincipals, {"alice", kType, only_unsafe}).out, "");
  EXPECT_EQ(Sshd(HelperKind::kKeys, {"alice", kType, only_unsafe}).out, "");
}

// An answer over kMaxSshdAnswer is a denial with the limit in its one
// record, and nothing is printed (the service could not carry it);
// --explain says the same.
TEST_F(HelperCommandTest, AnAnswerOverTheLimitIsDeniedAndNothingPrinted) {
  const std::string user_key = KeyLine(user_);
  const std::string comment(600, 'c');
  std::string lines = "'" + user_key + " " + comment + "'";
  for (int i = 0; i < 8000; ++i) lines += ", '" + user_key + " " + comment + "'";
  WritePolicy(ProdHead(ca_) +
              "rules:\n"
              "  - name: many\n"
              "    users: [alice]\n"
              "    authorities: [prod]\n"
              "    user_keys: [" + lines + "]\n");
  HelperOutput out = Sshd(HelperKind::kKeys, {"alice", "ssh-ed25519", Pub(user_)});
  ASSERT_NO_FATAL_FAILURE(ExpectDeniedOverTheLimit(out));
  ExpectExplainedOverTheLimit(HelperKind::kKeys, user_ + ".pub");
  // Each line of the explanation is marked printed as it is read; the
  // explanation then says that none is, before its DENY.
  Result<HelperOptions> o =
      ParseHelperArgs(HelperKind::kKeys, {"--explain", "--user", "alice", "--policy", policy_path_, user_ + ".pub"});
  ASSERT_TRUE(o);
  const std::string explained = RunHelper(HelperKind::kKeys, *o, env_).out;
  EXPECT_NE(explained.find("  (none of the lines marked printed is: together they are over sshd's limit)\n"
                           "decision: DENY: the answer for sshd would be "),
            std::string::npos)
      << explained.substr(explained.size() - std::min<size_t>(explained.size(), 2000));
}

// The same for a certificate: keys-cmd prints a cert-authority line per
// set of options, and the denial names no granted principal.
TEST_F(HelperCommandTest, ACertificateAnswerOverTheLimitIsDeniedWithNoPrincipalGranted) {
  std::string rules = "rules:\n";
  std::string principals;
  const std::string command(60000, 'x');
  for (int i = 0; i < 80; ++i) {
    const std::string p = "p" + std::to_string(i);
    principals += (i > 0 ? "," : "") + p;
    rules += "  - name: r" + std::to_string(i) + "\n"
             "    users: [alice]\n"
             "    authorities: [prod]\n"
             "    principals: [" + p + "]\n"
             "    options: ['command=\"" + command + std::to_string(i) + "\"']\n";
  }
  WritePolicy(ProdHead(ca_) + rules);
  HelperOutput out = Sshd(HelperKind::kKeys, {"alice", kType, Cert(ca_, {"-n", principals, "-V", "-5m:+5m"})});
  ASSERT_NO_FATAL_FAILURE(ExpectDeniedOverTheLimit(out));
  EXPECT_EQ(log_.records[0].Field("CERTGATE_PRINCIPALS"), "");
  ExpectExplainedOverTheLimit(HelperKind::kKeys, user_ + "-cert.pub");
}

TEST_F(HelperCommandTest, AnUnusableKrlDeniesAfterTheAuthorityAndTimeChecks) {
  const std::string krl = dir_.Path("missing.krl");
  WritePolicy(ProdHead(ca_) +
              "revoked:\n"
              "  krl: " + krl + "\n"
              "rules:\n"
              "  - name: ops\n"
              "    users: [alice]\n"
              "    authorities: [prod]\n"
              "    principals: [ops]\n");
  for (HelperKind kind : {HelperKind::kPrincipals, HelperKind::kKeys}) {
    SCOPED_TRACE(kind == HelperKind::kPrincipals ? "principals-cmd" : "keys-cmd");
    // A certificate that would be allowed: denied for the KRL, its
    // authority named.
    HelperOutput valid = Sshd(kind, {"alice", kType, Cert(ca_, {"-n", "ops", "-V", "-5m:+5m"})});
    EXPECT_EQ(valid.exit_code, 0);
    EXPECT_EQ(valid.out, "");
    ASSERT_EQ(log_.records.size(), 1u);
    EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "deny");
    EXPECT_EQ(log_.records[0].Field("CERTGATE_AUTHORITY"), "prod");
    EXPECT_NE(log_.records[0].message.find("KRL " + krl + " unusable, every key and certificate denied"),
              std::string::npos)
        << log_.records[0].message;

    // What the steps before the KRL deny is reported as such.
    HelperOutput foreign = Sshd(kind, {"alice", kType, Cert(other_ca_, {"-n", "ops", "-V", "-5m:+5m"})});
    EXPECT_EQ(foreign.out, "");
    ASSERT_EQ(log_.records.size(), 1u);
    EXPECT_NE(log_.records[0].message.find("unknown CA"), std::string::npos) << log_.records[0].message;
    HelperOutput expired = Sshd(kind, {"alice", kType, Cert(ca_, {"-n", "ops", "-V", "-2h:-1h"})});
    EXPECT_EQ(expired.out, "");
    ASSERT_EQ(log_.records.size(), 1u);
    EXPECT_EQ(log_.records[0].Field("CERTGATE_AUTHORITY"), "prod");
    EXPECT_NE(log_.records[0].message.find("certificate expired"), std::string::npos)
        << log_.records[0].message;
  }
}

}  // namespace
}  // namespace certgate::core
