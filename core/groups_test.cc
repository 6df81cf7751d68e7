#include "core/groups.h"

#include <dlfcn.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/policy_eval.h"
#include "core/policy_index.h"
#include "tests/testing.h"

// A failing NSS source (sssd or LDAP offline) on demand: this test binary's
// getgrnam_r and getpwnam_r interpose the C library's, fail with EIO for
// these names and count those calls, and pass every other name on to the
// C library.
namespace {
constexpr char kFailingGroup[] = "certgate-failing-group";
constexpr char kFailingUser[] = "certgate-failing-user";
std::atomic<int> g_group_failures{0};
std::atomic<int> g_user_failures{0};

// FailOrPass is the body of both interposed lookups: |name| == |failing|
// fails with EIO and is counted in |failures|; any other name goes on to
// the C library's |symbol| (found once per Entry type: struct group or
// struct passwd).
template <typename Entry>
int FailOrPass(const char* symbol, const char* failing, std::atomic<int>& failures, const char* name,
               Entry* entry, char* buf, size_t size, Entry** result) {
  if (std::strcmp(name, failing) == 0) {
    ++failures;
    *result = nullptr;
    return EIO;
  }
  using Lookup = int (*)(const char*, Entry*, char*, size_t, Entry**);
  static const Lookup real = reinterpret_cast<Lookup>(dlsym(RTLD_NEXT, symbol));
  return real(name, entry, buf, size, result);
}
}  // namespace

extern "C" int getgrnam_r(const char* name, struct group* grp, char* buf, size_t size, struct group** result) {
  return FailOrPass("getgrnam_r", kFailingGroup, g_group_failures, name, grp, buf, size, result);
}

extern "C" int getpwnam_r(const char* name, struct passwd* pwd, char* buf, size_t size, struct passwd** result) {
  return FailOrPass("getpwnam_r", kFailingUser, g_user_failures, name, pwd, buf, size, result);
}

namespace certgate::core {
namespace {

// A failed lookup is asked once per decision (one resolver), and again by
// the next one; it is never kept in the cache.
TEST(NssGroupResolverTest, AFailedLookupIsAskedOncePerDecision) {
  const int groups_before = g_group_failures, users_before = g_user_failures;
  GroupCache cache;
  {
    NssGroupResolver r(&cache);
    for (int round = 0; round < 3; ++round) {
      Result<bool> group = r.IsMember("root", kFailingGroup);
      ASSERT_FALSE(group);
      EXPECT_EQ(group.error().detail, std::string("group lookup of \"") + kFailingGroup +
                                          "\" failed: Input/output error");
      Result<bool> user = r.IsMember(kFailingUser, "root");
      ASSERT_FALSE(user);
      EXPECT_EQ(user.error().detail, std::string("user lookup of \"") + kFailingUser +
                                         "\" failed: Input/output error");
      Result<bool> root = r.IsMember("root", "root");  // other names still answered
      ASSERT_TRUE(root);
      EXPECT_TRUE(*root);
    }
    EXPECT_EQ(g_group_failures - groups_before, 1);
    EXPECT_EQ(g_user_failures - users_before, 1);
  }
  EXPECT_EQ(cache.answers().group_gids.count(kFailingGroup), 0u);
  EXPECT_EQ(cache.answers().user_gids.count(kFailingUser), 0u);
  NssGroupResolver next(&cache);
  EXPECT_FALSE(next.IsMember("root", kFailingGroup));
  EXPECT_EQ(g_group_failures - groups_before, 2);
}

// In a decision, the index (CandidateRules) and each rule's own match ask
// the same resolver: two rules naming a group whose lookup fails cost one
// lookup, and the failure is reported.
TEST(NssGroupResolverTest, ADecisionWaitsForAFailingGroupOnce) {
  Policy p;
  Rule r;
  r.groups = {kFailingGroup};
  p.rules.push_back(r);
  r.groups = {"root", kFailingGroup};
  p.rules.push_back(r);
  auto c = certgate::testing::Compile(p);
  const int before = g_group_failures;
  NssGroupResolver groups;
  EXPECT_EQ(CandidateRules(*c, "alice", &groups), (std::vector<uint32_t>{0, 1}));
  std::vector<std::string> errors;
  EXPECT_TRUE(RulesForUser(*c, "alice", groups, &errors).empty());
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].find(kFailingGroup), std::string::npos) << errors[0];
  EXPECT_EQ(g_group_failures - before, 1);
}

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
