#include "core/groups.h"

#include <gtest/gtest.h>

namespace certgate::core {
namespace {

// Every system has root in group root (gid 0, primary); the answers are
// the same when asked again (the resolver remembers lookups).
TEST(NssGroupResolverTest, AnswersAndRemembers) {
  NssGroupResolver r;
  for (int round = 0; round < 2; ++round) {
    Result<bool> root = r.IsMember("root", "root");
    ASSERT_TRUE(root);
    EXPECT_TRUE(*root);
    Result<bool> no_group = r.IsMember("root", "certgate-no-such-group");
    ASSERT_TRUE(no_group);
    EXPECT_FALSE(*no_group);
    Result<bool> no_user = r.IsMember("certgate-no-such-user", "root");
    ASSERT_TRUE(no_user);
    EXPECT_FALSE(*no_user);
  }
}

TEST(StaticGroupResolverTest, Table) {
  StaticGroupResolver r;
  r.Add("alice", "ops");
  EXPECT_TRUE(*r.IsMember("alice", "ops"));
  EXPECT_FALSE(*r.IsMember("bob", "ops"));
  EXPECT_FALSE(*r.IsMember("alice", "dev"));
}

}  // namespace
}  // namespace certgate::core
