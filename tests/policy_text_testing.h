// Policy texts and their issues for the policy parser's unit tests
// (policy_loader_test, policy_rule_parser_test, policy_files_test); uses
// GoogleTest, so it is not linked into the fuzz targets.
#ifndef CERTGATE_TESTS_POLICY_TEXT_TESTING_H_
#define CERTGATE_TESTS_POLICY_TEXT_TESTING_H_

#include <string>

#include "core/policy_loader.h"

namespace certgate::testing::policy_text {

// Public test keys from OpenSSH's regress/unittests/sshkey/testdata, and
// the fingerprint of the first.
inline constexpr char kKeyA[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFOG6kY7Rf4UtCFvPwKgo/BztXck2xC4a2WyA34XtIwZ";
inline constexpr char kKeyB[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM9UrIuebd5kTSWbQh8zdTL0Cx0ZIG2jNygK3bVuVgEL";
inline constexpr char kFingerprintA[] = "SHA256:L3k/oJubblSY0lB9Ulsl7emDMnRPKm/8udf2ccwk560";

// kRuleHead starts a rules list with one complete rule (lines 5-8 after
// Header()).
inline constexpr char kRuleHead[] = "rules:\n  - users: [alice]\n    authorities: [prod]\n    principals: [ops]\n";

// Header returns "version: 1" and the authority prod of kKeyA (4 lines).
std::string Header();

// Parse runs ParsePolicyText and FinishPolicy on one text, and expects a
// policy exactly when there is no issue.
core::LoadResult Parse(const std::string& text, const char* name = "p.yaml");

// Issues returns every issue, one per line.
std::string Issues(const core::LoadResult& r);

// FirstIssue returns the first issue of |text| (or "" if none).
std::string FirstIssue(const std::string& text);

// Mine returns the load options of a test whose files are owned by its
// own user, under testing::TempRoot().
core::LoadOptions Mine();

// ExpectIssue checks that |text| fails and its first issue starts with
// |prefix|.
void ExpectIssue(const std::string& text, const std::string& prefix);

}  // namespace certgate::testing::policy_text

#endif  // CERTGATE_TESTS_POLICY_TEXT_TESTING_H_
