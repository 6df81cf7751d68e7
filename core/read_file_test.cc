#include "core/read_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/unique_fd.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

TEST(ReadFileTest, ReadsUpToTheBoundAndNoFurther) {
  TempDir dir;
  const std::string data(10000, 'x');
  WriteFile(dir.Path("f"), data);
  for (size_t hint : {0u, 5u, 10000u, 20000u}) {
    UniqueFd fd(open(dir.Path("f").c_str(), O_RDONLY | O_CLOEXEC));
    std::string out;
    ASSERT_TRUE(ReadBounded(fd.get(), 10000, hint, &out)) << hint;
    EXPECT_EQ(out, data);
  }
  UniqueFd fd(open(dir.Path("f").c_str(), O_RDONLY | O_CLOEXEC));
  std::string out;
  Status st = ReadBounded(fd.get(), 9999, 0, &out);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kTooLarge);
}

TEST(ReadFileTest, PipeBeyondTheBoundIsRefused) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  UniqueFd rd(fds[0]), wr(fds[1]);
  ASSERT_EQ(write(wr.get(), "abcdef", 6), 6);
  wr.Reset();
  std::string out;
  Status st = ReadBounded(rd.get(), 5, 0, &out);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kTooLarge);
}

TEST(ReadFileTest, ReadErrorIsIo) {
  TempDir dir;
  UniqueFd fd(open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string out;
  Status st = ReadBounded(fd.get(), 100, 0, &out);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kIo);
}

}  // namespace
}  // namespace certgate::core
