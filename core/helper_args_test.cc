#include "core/helper_args.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/helper_value_options.h"

namespace certgate::core {
namespace {

Result<HelperOptions> Parse(std::vector<std::string> args) {
  return ParseHelperArgs(HelperKind::kPrincipals, args);
}

TEST(HelperArgsTest, SshdMode) {
  auto o = Parse({"--policy", "/p.yaml", "--verbose", "alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"});
  ASSERT_TRUE(o) << o.error().detail;
  EXPECT_EQ(o->mode, HelperMode::kSshd);
  EXPECT_EQ(o->policy_path, "/p.yaml");
  EXPECT_TRUE(o->verbose);
  EXPECT_EQ(o->user, "alice");
  EXPECT_EQ(o->key_base64, "AAAA");
  EXPECT_EQ(o->timeout_ms, kDefaultTimeoutMs);
}

// The audit's case: sshd takes any login name NSS gives, also one that
// starts with "--", and passes it as %u before %t %k, where it was read as
// an unknown option and denied, while --explain --user=--a allowed it.
// Followed by a key algorithm and one more word, at the end, it is %u; an
// option's own name stays that option.
TEST(HelperArgsTest, ALoginNameThatLooksLikeAnOption) {
  const std::string type = "ssh-ed25519-cert-v01@openssh.com";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--a", type, "AAAA"},
        std::vector<std::string>{"--policy", "/p", "--timeout=2", "--a", type, "AAAA"},
        std::vector<std::string>{"--a", "rsa-sha2-512", "AAAA"}}) {
    auto o = Parse(args);
    ASSERT_TRUE(o) << args[0] << ": " << o.error().detail;
    EXPECT_EQ(o->mode, HelperMode::kSshd);
    EXPECT_EQ(o->user, "--a");
    EXPECT_EQ(o->key_type, args[args.size() - 2]);
    EXPECT_EQ(LoginNameInArgs(args), "--a");
  }
  EXPECT_EQ(Parse({"--policy", "/p", "--a", type, "AAAA"})->policy_path, "/p");
  // Not that shape: the usage errors they were.
  EXPECT_EQ(Parse({"--verbose", type, "AAAA"}).error().detail,
            "expected 3 arguments USER KEYTYPE KEY (sshd: %u %t %k), got 2");
  EXPECT_EQ(Parse({"--a", "not-a-type", "AAAA"}).error().detail, "unknown option --a (see --help)");
  EXPECT_EQ(Parse({"--polcy", "alice", type, "AAAA"}).error().detail, "unknown option --polcy (see --help)");
  EXPECT_FALSE(Parse({"--", type, "AAAA"}));
  EXPECT_EQ(LoginNameInArgs({"--check", "--a", type, "AAAA"}), "");  // no login: no %u
}

TEST(HelperArgsTest, DefaultsAndEqualsForm) {
  auto o = Parse({"--policy=/x", "--timeout=2", "u", "t", "k"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->policy_path, "/x");
  EXPECT_EQ(o->timeout_ms, 2000u);
  auto d = Parse({"u", "t", "k"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->policy_path, "/etc/certgate/policy.yaml");
}

TEST(HelperArgsTest, UsageErrors) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"alice"},
           {"alice", "type"},
           {"a", "b", "c", "d"},
           {"--bogus", "a", "b", "c"},
           {"--policy"},
           {"--policy", "", "a", "b", "c"},
           {"--timeout", "0", "a", "b", "c"},
           {"--timeout", "5x", "a", "b", "c"},
           {"--timeout", "-1", "a", "b", "c"},
           {"--verbose=yes", "a", "b", "c"},
           {"--explain", "cert.pub"},
           {"--explain", "--user", "a"},
           {"--explain", "--check"},
           {"--user", "a", "x", "y", "z"},
           {"--check", "extra"},
           {"--compile", "extra"},
           {"--compile", "--check"},
           {"--compile", "--explain", "--user", "a", "c.pub"},
           {"--snapshot", "", "a", "b", "c"},
           {"--compile=yes"},
           {"--help", "x"},
           {"", "b", "c"},
           {"--policy", "/a", "--policy=/b", "a", "b", "c"},
           {"--timeout", "5", "--timeout", "5", "a", "b", "c"},
           {"--snapshot=/a", "--snapshot=/a", "a", "b", "c"},
           {"--explain", "--user", "a", "--user", "b", "c.pub"},
           {"--explain", "--user", "a", "--at", "1", "--at", "2", "c.pub"},
       }) {
    auto o = Parse(args);
    ASSERT_FALSE(o) << "accepted: " << ::testing::PrintToString(args);
    EXPECT_EQ(o.error().code, Errc::kUsage);
  }
  EXPECT_EQ(Parse({"--policy", "/a", "--policy", "/a", "a", "b", "c"}).error().detail,
            "--policy is given twice; give it once");
  // A flag twice says the same thing twice.
  EXPECT_TRUE(Parse({"--verbose", "--verbose", "a", "b", "c"}));
}

TEST(HelperArgsTest, OptionsAfterPositionalAreArguments) {
  // sshd passes %k last; a key never starts with "--", but the parser must
  // not read options after the first positional argument.
  auto o = Parse({"alice", "--verbose", "k"});
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->verbose);
  EXPECT_EQ(o->key_type, "--verbose");
  // When the count is wrong, an argument that looks like an option is why.
  EXPECT_EQ(Parse({"--policy", "/p", "alice", "t", "k", "--verbose"}).error().detail,
            "option --verbose after a positional argument: options come first");
  EXPECT_EQ(Parse({"--verbose", "-v", "alice", "t", "k"}).error().detail,
            "unknown option -v (options start with --; see --help)");
  EXPECT_EQ(Parse({"--explain", "--user", "a", "c.pub", "--at", "5"}).error().detail,
            "option --at after a positional argument: options come first");
  EXPECT_EQ(Parse({"a", "b", "c", "d"}).error().detail, "expected 3 arguments USER KEYTYPE KEY (sshd: %u %t %k), got 4");
  // After "--" nothing is an option: a wrong count is said as such (the
  // audit's case said "option --policy after a positional argument").
  EXPECT_EQ(Parse({"--", "--policy", "/p", "alice", "t", "k"}).error().detail,
            "expected 3 arguments USER KEYTYPE KEY (sshd: %u %t %k), got 5");
  EXPECT_EQ(Parse({"--", "a", "--b", "c", "d"}).error().detail,
            "expected 3 arguments USER KEYTYPE KEY (sshd: %u %t %k), got 4");
  auto dashed = Parse({"--", "--alice", "t", "k"});
  ASSERT_TRUE(dashed);
  EXPECT_EQ(dashed->user, "--alice");
}

// kHelperValueOptions, which the client and LoginNameInArgs skip values
// by, is the parser's own list: each asks a value, the flags take none.
TEST(HelperArgsTest, ValueOptionsAreTheParsersOwn) {
  for (const char* option : kHelperValueOptions) {
    if (std::string_view(option) == "--socket") continue;  // the client takes it out
    auto o = Parse({option});
    ASSERT_FALSE(o) << option;
    EXPECT_TRUE(o.error().detail.starts_with(std::string(option) + " needs ")) << o.error().detail;
  }
  const std::vector<std::string> flags(std::begin(kHelperFlags), std::end(kHelperFlags));
  for (const std::string& flag : flags) {
    auto o = Parse({flag + "=x"});
    ASSERT_FALSE(o) << flag;
    EXPECT_EQ(o.error().detail, flag + " takes no value");
  }
  // And the other way: every option --help names is in one of the two
  // lists, so an option added cannot be missing from kHelperValueOptions
  // or kHelperFlags (IsLoginNameLikeAnOption reads both).
  for (HelperKind kind : {HelperKind::kPrincipals, HelperKind::kKeys}) {
    const std::string usage = HelperUsage(kind);
    const std::regex option("--[a-z][a-z-]*");
    std::set<std::string> named;
    for (auto it = std::sregex_iterator(usage.begin(), usage.end(), option); it != std::sregex_iterator(); ++it) {
      named.insert(it->str());
    }
    EXPECT_TRUE(named.count("--policy") && named.count("--verbose")) << usage;  // the words are found
    for (const std::string& name : named) {
      const bool takes_value = std::any_of(std::begin(kHelperValueOptions), std::end(kHelperValueOptions),
                                           [&](const char* v) { return name == v; });
      EXPECT_TRUE(takes_value || std::find(flags.begin(), flags.end(), name) != flags.end())
          << name << " is in --help but in neither list";
    }
  }
}

// The login name a usage error is logged with: sshd's %u, found in
// arguments that do not parse.
TEST(HelperArgsTest, LoginNameInArgsThatDoNotParse) {
  EXPECT_EQ(LoginNameInArgs({"--timeout", "0", "alice", "t", "k"}), "alice");
  EXPECT_EQ(LoginNameInArgs({"--timeout=0", "alice", "t"}), "alice");
  EXPECT_EQ(LoginNameInArgs({"--policy", "/p", "--socket", "rel", "bob", "t", "k"}), "bob");
  EXPECT_EQ(LoginNameInArgs({"--frobnicate", "--", "--carol", "t", "k"}), "--carol");
  EXPECT_EQ(LoginNameInArgs({"--verbose", "dave", "--policy", "x"}), "dave");
  EXPECT_EQ(LoginNameInArgs({"--timeout"}), "");
  EXPECT_EQ(LoginNameInArgs({}), "");
  // --explain names its user with --user; --check and --compile have none.
  EXPECT_EQ(LoginNameInArgs({"--explain", "--user", "alice", "cert.pub"}), "");
  EXPECT_EQ(LoginNameInArgs({"--check", "--bogus", "x"}), "");
}

TEST(HelperArgsTest, ExplainCheckAndCompile) {
  auto e = Parse({"--explain", "--user", "bob", "--at", "100", "c.pub"});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->mode, HelperMode::kExplain);
  EXPECT_EQ(e->explain_user, "bob");
  EXPECT_EQ(e->explain_file, "c.pub");
  EXPECT_EQ(*e->explain_at, 100u);
  auto c = Parse({"--check", "--policy", "/p"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mode, HelperMode::kCheck);
  auto p = Parse({"--compile", "--policy", "/p", "--snapshot=/s"});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, HelperMode::kCompile);
  EXPECT_EQ(p->snapshot_path, "/s");
  EXPECT_TRUE(p->snapshot_path_given);
  // A compile is unbounded unless told: it is what makes a policy too large
  // to read within a login's bound fast to decide. --check is bounded.
  EXPECT_EQ(p->timeout_ms, 0u);
  EXPECT_EQ(Parse({"--compile", "--timeout", "7"})->timeout_ms, 7000u);
  EXPECT_EQ(c->timeout_ms, kDefaultTimeoutMs);
  auto d = Parse({"u", "t", "k"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->snapshot_path, "/var/cache/certgate/policy.snapshot");
  EXPECT_FALSE(d->snapshot_path_given);
  // none: the YAML, as certgate-decide reads it; a relative path would
  // depend on sshd's working directory.
  auto none = Parse({"--snapshot", "none", "u", "t", "k"});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->snapshot_path, "");
  for (std::vector<std::string> args : {std::vector<std::string>{"--snapshot", "cache/p.snap", "u", "t", "k"},
                                        std::vector<std::string>{"--compile", "--snapshot", "none"}}) {
    auto bad = Parse(args);
    ASSERT_FALSE(bad) << args[1];
    EXPECT_EQ(bad.error().code, Errc::kUsage);
  }
  EXPECT_EQ(Parse({"--snapshot=rel", "u", "t", "k"}).error().detail, "--snapshot needs an absolute path, or none");
  EXPECT_EQ(Parse({"--help"})->mode, HelperMode::kHelp);
  EXPECT_EQ(Parse({"--version"})->mode, HelperMode::kVersion);
}

TEST(HelperArgsTest, UsageMentionsEveryOption) {
  std::string usage = HelperUsage(HelperKind::kKeys);
  for (const char* opt : {"--policy", "--verbose", "--timeout", "--explain", "--user", "--at",
                          "--check", "--compile", "--snapshot", "--help", "--version", "%u %t %k"}) {
    EXPECT_NE(usage.find(opt), std::string::npos) << opt;
  }
  // The sshd synopsis names every option the sshd mode takes.
  EXPECT_NE(usage.find("[--socket PATH]\n                [--snapshot PATH] USER KEYTYPE KEY\n"),
            std::string::npos)
      << usage;
}

}  // namespace
}  // namespace certgate::core
