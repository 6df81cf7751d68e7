#include "tests/policy_text_testing.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/testing.h"

namespace certgate::testing::policy_text {

std::string Header() {
  return std::string("version: 1\nauthorities:\n  prod:\n    keys: [\"") + kKeyA + "\"]\n";
}

core::LoadResult Parse(const std::string& text, const char* name) {
  core::LoadResult r;
  core::ParsePolicyText(text, name, &r);
  core::FinishPolicy(&r);
  EXPECT_EQ(r.policy.has_value(), r.issues.empty());
  return r;
}

std::string Issues(const core::LoadResult& r) {
  std::string out;
  for (const core::Issue& i : r.issues) out += i.ToString() + "\n";
  return out;
}

std::string FirstIssue(const std::string& text) {
  core::LoadResult r = Parse(text);
  return r.issues.empty() ? "" : r.issues[0].ToString();
}

core::LoadOptions Mine() {
  core::LoadOptions o;
  o.owner_uid = static_cast<unsigned>(getuid());
  o.trusted_root = TempRoot();
  return o;
}

void ExpectIssue(const std::string& text, const std::string& prefix) {
  core::LoadResult r = Parse(text);
  ASSERT_FALSE(r.issues.empty()) << text;
  EXPECT_FALSE(r.policy.has_value());
  EXPECT_EQ(r.issues[0].ToString().substr(0, prefix.size()), prefix) << Issues(r);
}

}  // namespace certgate::testing::policy_text
