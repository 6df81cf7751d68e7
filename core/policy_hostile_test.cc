// Hostile policy files: deep nesting, alias bombs, bad bytes, overlong
// lines, and policies at and beyond the limits of policy_loader.h. Each one
// is refused with one issue at FILE:LINE:COLUMN (or, within the limits,
// loaded), and the load stops at the first limit it crosses. The same files
// at full size, timed and with their memory measured, run through the real
// binaries in tests/integration/test_stress.py (HostilePolicyTest).
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "core/helper_command.h"
#include "core/log.h"
#include "core/policy_loader.h"
#include "tests/policy_text_testing.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using certgate::testing::TempDir;
using certgate::testing::WriteFile;
using certgate::testing::policy_text::Mine;

constexpr char kKey[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFOG6kY7Rf4UtCFvPwKgo/BztXck2xC4a2WyA34XtIwZ";

std::string Header() { return std::string("version: 1\nauthorities:\n  prod:\n    keys: [\"") + kKey + "\"]\n"; }

LoadResult Parse(const std::string& text) {
  LoadResult r;
  ParsePolicyText(text, "p.yaml", &r);
  FinishPolicy(&r);
  EXPECT_EQ(r.policy.has_value(), r.issues.empty());
  return r;
}

std::string First(const LoadResult& r) { return r.issues.empty() ? "" : r.issues.front().ToString(); }

// Minimal rules, one per line, in flow style: "  - {users: [uN], ...}".
std::string Rules(size_t n) {
  std::string text = "rules:\n";
  for (size_t i = 0; i < n; ++i) {
    text += "  - {users: [u" + std::to_string(i) + "], authorities: [prod], principals: [p]}\n";
  }
  return text;
}

// A list of |n| one-letter items in flow style.
std::string FlowList(size_t n) {
  std::string list = "[";
  for (size_t i = 0; i < n; ++i) list += i == 0 ? "a" : ",a";
  return list + "]";
}

TEST(PolicyHostileTest, DeepFlowNestingStopsAtTheLimit) {
  LoadResult r = Parse(std::string(100000, '['));
  ASSERT_EQ(r.issues.size(), 2u) << First(r);
  EXPECT_EQ(r.issues[0].ToString(), "p.yaml:1:1: the policy file must be a mapping (key: value lines), not a list");
  EXPECT_EQ(r.issues[1].ToString(),
            "p.yaml:1:33: nested too deeply; a policy is never more than a few levels deep");
  r = Parse(std::string(100000, '{'));
  ASSERT_EQ(r.issues.size(), 2u) << First(r);
  EXPECT_EQ(r.issues[1].ToString(),
            "p.yaml:1:34: nested too deeply; a policy is never more than a few levels deep");
  r = Parse(Header() + "rules: " + std::string(100000, '[') + "\n");
  ASSERT_EQ(r.issues.size(), 2u) << First(r);
  EXPECT_EQ(r.issues[0].ToString(), "p.yaml:5:9: rule must be a mapping (key: value lines), not a list");
}

TEST(PolicyHostileTest, DeepBlockNestingStopsAtTheLimit) {
  std::string text = Header() + "rules:\n";
  for (int i = 0; i < 2000; ++i) text += std::string(static_cast<size_t>(2 * i + 2), ' ') + "-\n";
  LoadResult r = Parse(text);
  ASSERT_FALSE(r.issues.empty());
  EXPECT_EQ(r.issues.back().message, "nested too deeply; a policy is never more than a few levels deep");
}

TEST(PolicyHostileTest, AliasBombIsRefusedAtItsFirstAnchor) {
  // "Billion laughs": nine levels of nine aliases each.
  std::string text = Header() + "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    text += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) text += (i == 0 ? "*" : ",*") + prev;
    text += "]\n";
  }
  LoadResult r = Parse(text);
  EXPECT_EQ(First(r), "p.yaml:5:4: anchors (&name) are not allowed; write the value out in full");
  EXPECT_LE(r.issues.size(), kMaxPolicyIssues + 1);
}

TEST(PolicyHostileTest, AnchorsAndAliasesAnywhere) {
  EXPECT_EQ(First(Parse(Header() + "defaults: &d {max_lifetime: 1h}\n")),
            "p.yaml:5:11: anchors (&name) are not allowed; write the value out in full");
  EXPECT_EQ(First(Parse(Header() + "rules:\n  - users: [alice]\n    authorities: *x\n    principals: [p]\n")),
            "p.yaml:7:18: aliases (*name) are not allowed; write the value out in full");
}

TEST(PolicyHostileTest, BadBytes) {
  EXPECT_EQ(First(Parse(Header() + "rules:\n  - users: [\"al\xff" "ice\"]\n")),
            "p.yaml:6:16: YAML syntax error: invalid leading UTF-8 octet; the file must be UTF-8");
  EXPECT_EQ(First(Parse(Header() + std::string("rules:\n  - users: [al\0ice]\n", 26))),
            "p.yaml:6:15: YAML syntax error: control characters are not allowed");
}

TEST(PolicyHostileTest, OverlongLine) {
  LoadResult r = Parse(Header() + "rules:\n  - users: [" + std::string(2 * 1024 * 1024, 'a') +
                       "]\n    authorities: [prod]\n    principals: [p]\n");
  EXPECT_EQ(First(r).substr(0, 27), "p.yaml:6:13: bad pattern \"a");
  EXPECT_NE(First(r).find("pattern longer than 1022 bytes"), std::string::npos) << First(r);
}

TEST(PolicyHostileTest, OneListAtMostTheLimit) {
  const std::string rule = "rules:\n  - authorities: [prod]\n    principals: [p]\n    users: ";
  EXPECT_TRUE(Parse(Header() + rule + FlowList(kMaxListItems) + "\n").policy);
  LoadResult r = Parse(Header() + rule + FlowList(kMaxListItems + 1) + "\n");
  // Column of item kMaxListItems + 1: "    users: [" then "a," per item.
  EXPECT_EQ(First(r), "p.yaml:8:" + std::to_string(12 + 2 * kMaxListItems + 1) +
                          ": users has more than 10000 items; split it over several rules, or name a "
                          "unix group (group:NAME)");
  EXPECT_EQ(r.issues.size(), 1u);
  std::string serials = "[1";
  for (size_t i = 1; i <= kMaxListItems; ++i) serials += ",1";
  r = Parse(Header() + "    revoked_serials: " + serials + "]\nrules: []\n");
  EXPECT_NE(First(r).find("revoked_serials has more than 10000 items; revoke that many certificates "
                          "with a KRL"), std::string::npos) << First(r);
}

TEST(PolicyHostileTest, AllListsTogetherAtMostTheLimit) {
  // 100 rules of kMaxListItems - 1 users, plus authorities and principals:
  // 100 * (kMaxListItems + 1) items > kMaxPolicyListItems.
  std::string text = Header() + "rules:\n";
  const std::string users = FlowList(kMaxListItems - 1);
  for (int i = 0; i < 100; ++i) text += "  - {authorities: [prod], principals: [p], users: " + users + "}\n";
  LoadResult r = Parse(text);
  ASSERT_EQ(r.issues.size(), 1u) << First(r);
  EXPECT_EQ(r.issues[0].where.line, 6 + static_cast<int>(kMaxPolicyListItems / (kMaxListItems + 1)));
  EXPECT_NE(r.issues[0].message.find("more than 1000000 list items in all"), std::string::npos);
}

TEST(PolicyHostileTest, RulesAtMostTheLimit) {
  LoadResult r = Parse(Header() + Rules(kMaxPolicyRules + 1));
  ASSERT_EQ(r.issues.size(), 1u) << First(r);
  EXPECT_EQ(r.issues[0].ToString(), "p.yaml:" + std::to_string(6 + kMaxPolicyRules) +
                                        ":5: more than 200000 rules in the policy (all files together); a rule "
                                        "takes lists of users and principals, and group: entries: merge rules");
}

TEST(PolicyHostileTest, AuthoritiesAtMostTheLimit) {
  // Distinct fingerprints: the last of 43 base64 characters encodes 4 bits.
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text = "version: 1\nauthorities:\n";
  for (size_t i = 0; i <= kMaxPolicyAuthorities; ++i) {
    std::string fp = "SHA256:";
    size_t n = i;
    for (int c = 0; c < 42; ++c, n /= 64) fp += kB64[n % 64];
    fp += 'A';
    text += "  a" + std::to_string(i) + ": {keys: [\"" + fp + "\"]}\n";
  }
  LoadResult r = Parse(text + "rules: []\n");
  ASSERT_EQ(r.issues.size(), 1u) << First(r);
  EXPECT_EQ(r.issues[0].ToString(), "p.yaml:" + std::to_string(3 + kMaxPolicyAuthorities) +
                                        ":3: more than 10000 authorities (all files together); an authority "
                                        "holds all the keys of one CA");
}

TEST(PolicyHostileTest, CrossFileIssuesAreCappedToo) {
  // 300 authorities with one and the same key: one issue each, capped.
  std::string text = "version: 1\nauthorities:\n";
  for (int i = 0; i < 300; ++i) text += "  a" + std::to_string(i) + ": {keys: [\"" + kKey + "\"]}\n";
  LoadResult r = Parse(text + "rules: []\n");
  ASSERT_EQ(r.issues.size(), kMaxPolicyIssues + 1);
  EXPECT_EQ(r.issues.back().message, "too many problems; stopping here");
}

TEST(PolicyHostileTest, FragmentsAtMostTheLimit) {
  TempDir dir;
  const std::string main = dir.Path("p.yaml");
  WriteFile(main, Header() + "rules: []\n");
  ASSERT_EQ(mkdir((main + ".d").c_str(), 0755), 0);
  for (size_t i = 0; i <= kMaxPolicyFragments; ++i) {
    WriteFile(main + ".d/" + std::to_string(100000 + i) + ".yaml", "version: 1\n");
  }
  LoadResult r = LoadPolicy(main, Mine());
  ASSERT_EQ(r.issues.size(), 1u) << First(r);
  EXPECT_EQ(First(r), main + ".d:1:1: holds 10001 *.yaml files, more than 10000; merge them into fewer files");
  ASSERT_EQ(unlink((main + ".d/100000.yaml").c_str()), 0);
  r = LoadPolicy(main, Mine());
  EXPECT_TRUE(r.policy) << First(r);
  EXPECT_EQ(r.policy->files.size(), kMaxPolicyFragments + 1);
}

TEST(PolicyHostileTest, AllFilesTogetherAtMost64MiB) {
  TempDir dir;
  const std::string main = dir.Path("p.yaml");
  const std::string body = Header() + "rules: []\n#";
  WriteFile(main, body + std::string(40 * 1024 * 1024 - body.size() - 1, 'x') + "\n");
  ASSERT_EQ(mkdir((main + ".d").c_str(), 0755), 0);
  WriteFile(main + ".d/10.yaml", "version: 1\n#" + std::string(30 * 1024 * 1024, 'x') + "\n");
  LoadResult r = LoadPolicy(main, Mine());
  ASSERT_EQ(r.issues.size(), 1u) << First(r);
  EXPECT_EQ(First(r), main + ".d/10.yaml:1:1: the policy files together are larger than 67108864 bytes "
                             "(64 MiB); this file goes over it: merge or shrink the files");
}

// The helper's watchdog names what ran late: RunHelper says when it is
// loading the policy and when it is deciding.
class StageRecorder : public PolicySource {
 public:
  explicit StageRecorder(std::atomic<HelperStage>* stage) : stage_(stage) {}
  const LoadedPolicy& Get(const std::string& path, const LoadOptions& options) override {
    seen = stage_->load();
    result_ = LoadCompiledPolicy(path, options);
    return result_;
  }
  HelperStage seen = HelperStage::kStarting;

 private:
  std::atomic<HelperStage>* stage_;
  LoadedPolicy result_;
};

TEST(PolicyHostileTest, RunHelperReportsItsStage) {
  TempDir dir;
  const std::string main = dir.Path("p.yaml");
  WriteFile(main, Header() + "rules: []\n");
  std::atomic<HelperStage> stage{HelperStage::kStarting};
  StageRecorder source(&stage);
  CaptureLogSink log;
  StaticGroupResolver groups;
  HelperEnv env;
  env.log = &log;
  env.groups = &groups;
  env.load = Mine();
  env.policies = &source;
  env.stage = &stage;
  Result<HelperOptions> o = ParseHelperArgs(HelperKind::kPrincipals, {"--policy", main, "alice", "t", "AAAA"});
  ASSERT_TRUE(o);
  (void)RunHelper(HelperKind::kPrincipals, *o, env);
  EXPECT_EQ(source.seen, HelperStage::kLoadingPolicy);
  EXPECT_EQ(stage.load(), HelperStage::kDeciding);
}

}  // namespace
}  // namespace certgate::core
