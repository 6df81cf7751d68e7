#include "core/wire_reader.h"

#include <gtest/gtest.h>

#include <vector>

namespace certgate::core {
namespace {

TEST(WireReaderTest, Integers) {
  const std::vector<uint8_t> data = {0x01, 0x02, 0x03, 0x04, 0x05, 0xff, 0xfe,
                                     0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0x80};
  WireReader r(data);
  uint8_t u8 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  ASSERT_TRUE(r.ReadU32(&u32));
  EXPECT_EQ(u32, 0x01020304u);
  ASSERT_TRUE(r.ReadU8(&u8));
  EXPECT_EQ(u8, 0x05);
  ASSERT_TRUE(r.ReadU64(&u64));
  EXPECT_EQ(u64, 0xfffefdfcfbfaf9f8u);
  EXPECT_EQ(r.remaining(), 1u);
  EXPECT_FALSE(r.ReadU32(&u32));
  EXPECT_FALSE(r.ReadU64(&u64));
  EXPECT_EQ(r.remaining(), 1u);  // failed reads consume nothing
  ASSERT_TRUE(r.ReadU8(&u8));
  EXPECT_EQ(u8, 0x80);
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.ReadU8(&u8));
}

TEST(WireReaderTest, Strings) {
  WireWriter w;
  w.PutString("abc");
  w.PutString(std::string_view());
  w.PutString(std::string_view("a\0b", 3));
  WireReader r(w.data());
  std::span<const uint8_t> s;
  std::string_view sv;
  ASSERT_TRUE(r.ReadCString(&sv));
  EXPECT_EQ(sv, "abc");
  ASSERT_TRUE(r.ReadString(&s));
  EXPECT_TRUE(s.empty());
  size_t before = r.remaining();
  EXPECT_FALSE(r.ReadCString(&sv));  // NUL inside
  EXPECT_EQ(r.remaining(), before);
  ASSERT_TRUE(r.ReadString(&s));
  EXPECT_EQ(AsStringView(s), std::string_view("a\0b", 3));
  EXPECT_TRUE(r.empty());
}

TEST(WireReaderTest, LengthBounds) {
  // Every length from 0xFFFFFFFF down to one past the data fails cleanly.
  for (uint32_t len : {0xffffffffu, 0x80000000u, 0x7fffffffu, 4u}) {
    WireWriter w;
    w.PutU32(len);
    w.PutBytes(std::vector<uint8_t>{1, 2, 3});
    WireReader r(w.data());
    std::span<const uint8_t> s;
    WireReader sub;
    EXPECT_FALSE(r.ReadString(&s)) << len;
    EXPECT_FALSE(r.ReadSub(&sub)) << len;
    EXPECT_EQ(r.remaining(), 7u);
  }
  std::vector<uint8_t> three = {0, 0, 0};
  WireReader r(three);
  std::span<const uint8_t> s;
  EXPECT_FALSE(r.ReadString(&s));
  EXPECT_FALSE(r.ReadBytes(4, &s));
  EXPECT_TRUE(r.ReadBytes(3, &s));
  EXPECT_TRUE(r.ReadBytes(0, &s));
}

TEST(WireReaderTest, SubReader) {
  WireWriter inner;
  inner.PutString("x");
  inner.PutU32(9);
  WireWriter w;
  w.PutString(inner.data());
  w.PutU8(7);
  WireReader r(w.data());
  WireReader sub;
  ASSERT_TRUE(r.ReadSub(&sub));
  std::string_view x;
  uint32_t nine = 0;
  ASSERT_TRUE(sub.ReadCString(&x));
  ASSERT_TRUE(sub.ReadU32(&nine));
  EXPECT_TRUE(sub.empty());
  EXPECT_EQ(nine, 9u);
  EXPECT_EQ(r.remaining(), 1u);
}

std::vector<uint8_t> Raw(std::vector<uint8_t> body) {
  WireWriter w;
  w.PutString(body);
  return w.Take();
}

TEST(WireReaderTest, Mpint) {
  struct Case {
    std::vector<uint8_t> body;
    bool ok;
    std::vector<uint8_t> magnitude;
  };
  const std::vector<Case> cases = {
      {{}, true, {}},  // zero
      {{0x01}, true, {0x01}},
      {{0x7f, 0xff}, true, {0x7f, 0xff}},
      {{0x00, 0x80}, true, {0x80}},  // zero byte clears the sign bit
      {{0x80}, false, {}},           // negative
      {{0xff, 0x01}, false, {}},     // negative
      {{0x00}, false, {}},           // zero must be empty
      {{0x00, 0x01}, false, {}},     // needless leading zero
      {{0x00, 0x00, 0x80}, false, {}},
  };
  for (const auto& c : cases) {
    std::vector<uint8_t> data = Raw(c.body);
    WireReader r(data);
    std::span<const uint8_t> out;
    EXPECT_EQ(r.ReadMpint(&out), c.ok);
    if (c.ok) {
      EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.end()), c.magnitude);
      EXPECT_TRUE(r.empty());
      WireWriter w;
      w.PutMpint(c.magnitude);
      EXPECT_EQ(w.data(), data);  // re-encodes identically
    } else {
      EXPECT_EQ(r.remaining(), data.size());
    }
  }
  // PutMpint strips leading zeros and adds the sign byte.
  WireWriter w;
  w.PutMpint(std::vector<uint8_t>{0, 0, 0x90, 1});
  EXPECT_EQ(w.data(), (std::vector<uint8_t>{0, 0, 0, 3, 0, 0x90, 1}));
}

TEST(WireWriterTest, Integers) {
  WireWriter w;
  w.PutU8(1);
  w.PutU32(0x02030405);
  w.PutU64(0x060708090a0b0c0d);
  EXPECT_EQ(w.data(), (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}));
  std::vector<uint8_t> taken = w.Take();
  EXPECT_EQ(taken.size(), 13u);
}

}  // namespace
}  // namespace certgate::core
