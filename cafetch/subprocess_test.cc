#include "cafetch/subprocess.h"

#include <sys/wait.h>

#include <gtest/gtest.h>

namespace certgate::cafetch {
namespace {

TEST(SubprocessTest, CapturesOutputAndExitStatus) {
  auto r = RunChild({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_FALSE(r->exited_cleanly);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->Describe(), "exit 3");
  auto ok = RunChild({"/bin/true"});
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->exited_cleanly);
}

TEST(SubprocessTest, KilledBySignalIsNotClean) {
  auto r = RunChild({"/bin/sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->exited_cleanly);
  EXPECT_EQ(r->Describe(), "signal 15");
}

TEST(SubprocessTest, MinimalEnvironmentAndNullStdin) {
  setenv("CERTGATE_SECRET_TEST", "x", 1);
  auto r = RunChild({"/usr/bin/env"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n");
  auto in = RunChild({"/bin/cat"});
  ASSERT_TRUE(in);
  EXPECT_TRUE(in->exited_cleanly);
  EXPECT_EQ(in->out, "");
}

TEST(SubprocessTest, RejectsRelativePathAndMissingBinary) {
  auto rel = RunChild({"sh", "-c", "true"});
  ASSERT_FALSE(rel);
  EXPECT_EQ(rel.error().code, core::Errc::kUsage);
  EXPECT_FALSE(RunChild({}));
  auto missing = RunChild({"/nonexistent/binary"});
  // glibc's posix_spawn reports exec failure as an error (or exit 127).
  EXPECT_TRUE(!missing || !missing->exited_cleanly);
}

TEST(SubprocessTest, TimeoutKillsTheChild) {
  auto r = RunChild({"/bin/sleep", "10"}, 200);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Errc::kTimeout);
}

TEST(SubprocessTest, OutputIsCapped) {
  auto r = RunChild({"/bin/sh", "-c", "head -c 3000000 /dev/zero"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->exited_cleanly);
  EXPECT_EQ(r->out.size(), kMaxChildOutput);
}

}  // namespace
}  // namespace certgate::cafetch
