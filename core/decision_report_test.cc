// Tests of a decision's log record and --explain text
// (decision_report.cc): what the certificate controls (key id, principals)
// is quoted and escaped, so that a record stays one line and names only
// what was granted. The helpers' records, end to end, are
// helper_command_test.cc's.
#include "core/decision_report.h"

#include <string>

#include <gtest/gtest.h>

#include "core/certificate.h"
#include "core/compiled_policy.h"
#include "core/log.h"
#include "core/policy_eval.h"

namespace certgate::core {
namespace {

// Certificate-controlled key ids and skipped principals are quoted in the
// record, so that "a,b" is one principal, "" an empty one, and a quote in a
// key id cannot close it early; every record stays one line.
TEST(DecisionRecordTest, KeyIdAndUnsafePrincipalsAreQuoted) {
  Certificate cert;
  cert.key_id = "evil\" serial 7 \"";
  cert.serial = 1;
  Decision d;
  d.reason = "no rule grants any principal of the certificate";
  d.ca_fingerprint = "SHA256:x";
  d.unsafe_principals = {"a,b", "", "nl\nx"};
  LogRecord rec = DecisionRecord("principals-cmd", "alice", &cert, d);
  EXPECT_EQ(rec.message,
            "deny alice: no rule grants any principal of the certificate (key id \"evil\\x22 serial 7 \\x22\" "
            "serial 1 CA SHA256:x); unsafe principal(s) never printed: \"a,b\", \"\", \"nl\\x0ax\"");
  EXPECT_EQ(rec.Field("CERTGATE_KEY_ID"), "evil\\x22 serial 7 \\x22");
}

// A granted principal can hold any byte but the few sshd would misread: a
// fullwidth comma (U+FF0C) or an invisible U+200B must not make the record
// read as other principals than were granted, in the record or --explain.
TEST(DecisionRecordTest, GrantedPrincipalsAreEscaped) {
  Certificate cert;
  cert.key_id = "k";
  cert.principals = {"ops\xef\xbc\x8croot", "zw\xe2\x80\x8b"};
  Decision d;
  d.verdict = Verdict::kAllow;
  d.ca_fingerprint = "SHA256:x";
  for (const std::string& p : cert.principals) d.grants.push_back(Grant{p, RuleView{}});
  LogRecord rec = DecisionRecord("principals-cmd", "alice", &cert, d);
  EXPECT_EQ(rec.Field("CERTGATE_PRINCIPALS"), "ops\\xef\\xbc\\x8croot,zw\\xe2\\x80\\x8b");
  EXPECT_EQ(rec.message.find("allow alice: principals ops\\xef\\xbc\\x8croot,zw\\xe2\\x80\\x8b granted"), 0u)
      << rec.message;
  const std::string explain = ExplainDecision("alice", cert, d, 0, /*at_given=*/false);
  EXPECT_NE(explain.find("decision: ALLOW alice as ops\\xef\\xbc\\x8croot,zw\\xe2\\x80\\x8b\n"), std::string::npos)
      << explain;
}

}  // namespace
}  // namespace certgate::core
