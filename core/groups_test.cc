#include "core/groups.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

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

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// A watched file in a fresh directory.
class GroupCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/certgate-groupcache-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    file_ = dir_ + "/group";
    Write("ops:x:1000:alice\n");
  }
  void TearDown() override {
    unlink(file_.c_str());
    unlink((file_ + ".new").c_str());
    rmdir(dir_.c_str());
  }
  void Write(const std::string& text, const std::string& path = "") {
    std::ofstream(path.empty() ? file_ : path) << text;
  }
  static void Remember(GroupCache& cache) { cache.answers().user_gids["alice"] = {1000}; }

  std::string dir_, file_;
};

TEST_F(GroupCacheTest, ForgetsAfterMaxAge) {
  GroupCache cache({file_});
  cache.Validate(5000);
  Remember(cache);
  cache.Validate(5000 + GroupCache::kMaxAgeMs - 1);
  EXPECT_EQ(cache.users_remembered(), 1u);
  cache.Validate(5000 + GroupCache::kMaxAgeMs);
  EXPECT_EQ(cache.users_remembered(), 0u);
  // The clock going back is no reason to trust old answers either.
  Remember(cache);
  cache.Validate(4000);
  EXPECT_EQ(cache.users_remembered(), 0u);
}

TEST_F(GroupCacheTest, ForgetsWhenAWatchedFileChanges) {
  GroupCache cache({file_, dir_ + "/absent"});
  cache.Validate(1);
  Remember(cache);
  cache.Validate(2);
  EXPECT_EQ(cache.users_remembered(), 1u);
  Write("ops:x:1000:\n");  // alice removed: size and mtime change
  cache.Validate(3);
  EXPECT_EQ(cache.users_remembered(), 0u);

  // Replaced by rename, same size: a new inode.
  Remember(cache);
  Write("ops:x:1000:bob\n", file_ + ".new");
  cache.Validate(4);
  ASSERT_EQ(cache.users_remembered(), 1u);
  Write("ops:x:1000:eve\n", file_ + ".new");
  ASSERT_EQ(rename((file_ + ".new").c_str(), file_.c_str()), 0);
  cache.Validate(5);
  EXPECT_EQ(cache.users_remembered(), 0u);

  // A watched file appearing, or disappearing.
  Remember(cache);
  Write("x\n", dir_ + "/absent");
  cache.Validate(6);
  EXPECT_EQ(cache.users_remembered(), 0u);
  Remember(cache);
  unlink((dir_ + "/absent").c_str());
  cache.Validate(7);
  EXPECT_EQ(cache.users_remembered(), 0u);
}

TEST_F(GroupCacheTest, BoundedInSize) {
  GroupCache cache({file_});
  cache.Validate(1);
  for (size_t i = 0; i < GroupCache::kMaxUsers; ++i) {
    cache.answers().user_gids["u" + std::to_string(i)] = {1};
  }
  cache.Validate(2);
  EXPECT_EQ(cache.users_remembered(), 0u);
}

// A resolver with a cache answers from it (NSS knows neither name) and
// keeps what it asks NSS there.
TEST_F(GroupCacheTest, ResolverUsesAndFillsTheCache) {
  GroupCache cache({file_});
  cache.Validate(NowMs());
  cache.answers().group_gids["certgate-cached-group"] = 4242u;
  cache.answers().user_gids["certgate-cached-user"] = {4242};
  {
    NssGroupResolver r(&cache);
    Result<bool> member = r.IsMember("certgate-cached-user", "certgate-cached-group");
    ASSERT_TRUE(member);
    EXPECT_TRUE(*member);
    Result<bool> root = r.IsMember("root", "root");
    ASSERT_TRUE(root);
    EXPECT_TRUE(*root);
  }
  EXPECT_EQ(cache.users_remembered(), 2u);
  // Without the cache, the same question goes to NSS: no such group.
  NssGroupResolver plain;
  Result<bool> member = plain.IsMember("certgate-cached-user", "certgate-cached-group");
  ASSERT_TRUE(member);
  EXPECT_FALSE(*member);
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
