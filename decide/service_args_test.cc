#include "decide/service_args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/policy_loader.h"
#include "core/policy_snapshot.h"
#include "decide/server.h"

namespace certgate::decide {
namespace {

using Action = ServiceArgs::Action;

// UsageError parses |args|, expects a usage error, and returns its reason.
std::string UsageError(const std::vector<std::string>& args) {
  core::Result<ServiceArgs> r = ParseServiceArgs(args);
  if (r) return "(accepted)";
  EXPECT_EQ(r.error().code, core::Errc::kUsage);
  return r.error().detail;
}

TEST(ServiceArgsTest, NoArgumentsServeWithTheDefaults) {
  core::Result<ServiceArgs> r = ParseServiceArgs({});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->action, Action::kServe);
  EXPECT_EQ(r->policy, core::kDefaultPolicyPath);
  EXPECT_EQ(r->snapshot, core::kDefaultSnapshotPath);
  EXPECT_EQ(r->socket_path, "");
  EXPECT_EQ(r->max_children, kDefaultMaxChildren);
  EXPECT_FALSE(r->verbose);
  EXPECT_TRUE(r->client_users.empty());
}

TEST(ServiceArgsTest, EveryOptionSpaceOrEqualsSeparated) {
  core::Result<ServiceArgs> r =
      ParseServiceArgs({"--policy", "/srv/p.yaml", "--snapshot=/srv/p.snapshot", "--socket", "/run/x.sock",
                        "--client-user", "alice", "--client-user=bob", "--max-children=7", "--verbose"});
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->action, Action::kServe);
  EXPECT_EQ(r->policy, "/srv/p.yaml");
  EXPECT_EQ(r->snapshot, "/srv/p.snapshot");
  EXPECT_EQ(r->socket_path, "/run/x.sock");
  EXPECT_EQ(r->client_users, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(r->max_children, 7u);
  EXPECT_TRUE(r->verbose);
}

TEST(ServiceArgsTest, SnapshotNoneMeansTheYaml) {
  core::Result<ServiceArgs> r = ParseServiceArgs({"--snapshot", "none"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->snapshot, "");
}

TEST(ServiceArgsTest, AnOptionGivenTwiceIsRefused) {
  // Which of the two was meant cannot be told; --client-user alone repeats.
  EXPECT_EQ(UsageError({"--policy", "/a.yaml", "--policy", "/a.yaml"}), "--policy is given twice; give it once");
  EXPECT_EQ(UsageError({"--snapshot=none", "--snapshot", "/s"}), "--snapshot is given twice; give it once");
  EXPECT_EQ(UsageError({"--socket", "/a", "--socket=/b"}), "--socket is given twice; give it once");
  EXPECT_EQ(UsageError({"--max-children", "1", "--max-children", "2"}),
            "--max-children is given twice; give it once");
}

TEST(ServiceArgsTest, BadValuesSayWhatIsWanted) {
  EXPECT_EQ(UsageError({"--policy"}), "--policy needs an absolute path");
  EXPECT_EQ(UsageError({"--policy", "policy.yaml"}), "--policy needs an absolute path");
  EXPECT_EQ(UsageError({"--snapshot", "p.snapshot"}), "--snapshot needs an absolute path, or none");
  EXPECT_EQ(UsageError({"--socket", "decide.sock"}), "--socket needs an absolute path");
  EXPECT_EQ(UsageError({"--socket="}), "--socket needs an absolute path");
  EXPECT_EQ(UsageError({"--client-user"}), "--client-user needs a user name or \"any\"");
  EXPECT_EQ(UsageError({"--client-user", ""}), "--client-user needs a user name or \"any\"");
  EXPECT_EQ(UsageError({"--max-children"}), "--max-children needs a whole number, 1 to 4096");
  for (const char* bad : {"0", "4097", "18446744073709551617"}) {
    EXPECT_EQ(UsageError({"--max-children", bad}), "--max-children must be 1 to 4096") << bad;
  }
  for (const std::string bad : {"-1", "8x", "", " 8"}) {
    EXPECT_EQ(UsageError({"--max-children", bad}), "--max-children needs a whole number, not \"" + bad + "\"");
  }
  EXPECT_EQ(UsageError({"--verbose=yes"}), "--verbose takes no value");
  EXPECT_EQ(UsageError({"--help=1"}), "--help takes no value");
}

TEST(ServiceArgsTest, UnknownArgumentsAreRefused) {
  EXPECT_EQ(UsageError({"--polcy", "/p"}), "unknown argument --polcy");
  EXPECT_EQ(UsageError({"serve"}), "unknown argument serve");
  EXPECT_EQ(UsageError({"--policy=/p", "-v"}), "unknown argument -v");
  EXPECT_EQ(UsageError({"--verbose", "--"}), "unknown argument --");
}

TEST(ServiceArgsTest, RunMustComeFirst) {
  core::Result<ServiceArgs> r = ParseServiceArgs({"--run", "keys-cmd", "--policy", "x", "alice"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->action, Action::kRun);
  EXPECT_EQ(r->run_kind, core::HelperKind::kKeys);
  r = ParseServiceArgs({"--run", "principals-cmd"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->run_kind, core::HelperKind::kPrincipals);

  // main() reads "--run KIND" off argv with ParseRunKind before anything
  // else; ParseServiceArgs gives the same answer.
  EXPECT_EQ(ParseRunKind(nullptr).error().detail, "--run needs principals-cmd or keys-cmd");
  EXPECT_EQ(*ParseRunKind("keys-cmd"), core::HelperKind::kKeys);
  EXPECT_EQ(*ParseRunKind("principals-cmd"), core::HelperKind::kPrincipals);
  EXPECT_EQ(ParseRunKind("principals").error().detail, "--run needs principals-cmd or keys-cmd, not principals");
  EXPECT_EQ(UsageError({"--run"}), "--run needs principals-cmd or keys-cmd");
  EXPECT_EQ(UsageError({"--run", "sshd"}), "--run needs principals-cmd or keys-cmd, not sshd");
  EXPECT_EQ(UsageError({"--socket", "/run/x.sock", "--run", "keys-cmd"}),
            "--run must come first: certgate-decide --run principals-cmd|keys-cmd [HELPER-ARGS...]");
}

TEST(ServiceArgsTest, HelpAndVersionWinFromWhereTheyStand) {
  core::Result<ServiceArgs> r = ParseServiceArgs({"--verbose", "--help", "--bogus"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->action, Action::kHelp);
  r = ParseServiceArgs({"--version"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->action, Action::kVersion);
  // An error before them is still reported.
  EXPECT_EQ(UsageError({"--bogus", "--help"}), "unknown argument --bogus");
}

}  // namespace
}  // namespace certgate::decide
