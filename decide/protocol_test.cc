#include "decide/protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace certgate::decide {
namespace {

std::vector<uint8_t> Answer(int code, const std::string& out, const std::string& err) {
  std::vector<uint8_t> buf(AnswerSize(out.size(), err.size()));
  size_t n = EncodeAnswer(code, reinterpret_cast<const uint8_t*>(out.data()), out.size(),
                          reinterpret_cast<const uint8_t*>(err.data()), err.size(), buf.data(), buf.size());
  EXPECT_EQ(n, buf.size());
  return buf;
}

TEST(ProtocolTest, RequestRoundTrip) {
  const char* argv[] = {"--policy", "/etc/p.yaml", "alice", "", "AAAA"};
  std::vector<uint8_t> buf(1024);
  size_t n = EncodeRequest(kKindKeys, 5, argv, buf.data(), buf.size());
  ASSERT_GT(n, 0u);
  RequestView v;
  ASSERT_TRUE(ParseRequest(buf.data(), n, &v));
  EXPECT_EQ(v.kind, kKindKeys);
  ASSERT_EQ(v.argc, 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(v.arg[i]), v.len[i]), argv[i]);
  }
  for (size_t cut = 0; cut < n; ++cut) EXPECT_FALSE(ParseRequest(buf.data(), cut, &v)) << cut;
  buf[n] = 0;
  EXPECT_FALSE(ParseRequest(buf.data(), n + 1, &v));  // one trailing byte
}

TEST(ProtocolTest, RequestRejects) {
  const char* argv[] = {"a"};
  std::vector<uint8_t> buf(64);
  size_t n = EncodeRequest(kKindPrincipals, 1, argv, buf.data(), buf.size());
  RequestView v;
  ASSERT_TRUE(ParseRequest(buf.data(), n, &v));
  std::vector<uint8_t> bad = buf;
  bad[0] = 'X';
  EXPECT_FALSE(ParseRequest(bad.data(), n, &v));  // magic
  bad = buf;
  bad[4] = 7;
  EXPECT_FALSE(ParseRequest(bad.data(), n, &v));  // kind
  bad = buf;
  bad[5] = 1;
  EXPECT_FALSE(ParseRequest(bad.data(), n, &v));  // reserved
  bad = buf;
  bad[12] = 0;
  EXPECT_FALSE(ParseRequest(bad.data(), n, &v));  // NUL inside an argument
  bad = buf;
  bad[8] = 0xff;
  EXPECT_FALSE(ParseRequest(bad.data(), n, &v));  // length 0xff000001
  bad = buf;
  bad[6] = 0;
  bad[7] = 65;
  EXPECT_FALSE(ParseRequest(bad.data(), n, &v));  // argc over kMaxArgs
  // Encoding refuses what parsing would refuse.
  std::vector<const char*> many(kMaxArgs + 1, "x");
  EXPECT_EQ(EncodeRequest(kKindPrincipals, many.size(), many.data(), buf.data(), buf.size()), 0u);
  std::string huge(kMaxRequestSize, 'k');
  const char* big[] = {huge.c_str()};
  std::vector<uint8_t> large(kMaxRequestSize + 64);
  EXPECT_EQ(EncodeRequest(kKindPrincipals, 1, big, large.data(), large.size()), 0u);
  EXPECT_EQ(EncodeRequest(9, 1, argv, buf.data(), buf.size()), 0u);
}

TEST(ProtocolTest, AnswerRoundTripAndEveryPrefixFails) {
  std::vector<uint8_t> a = Answer(0, "ops\nweb\n", "principals-cmd: allow\n");
  AnswerView v;
  ASSERT_TRUE(ParseAnswer(a.data(), a.size(), &v));
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(v.out), v.out_len), "ops\nweb\n");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(v.err), v.err_len), "principals-cmd: allow\n");
  for (size_t cut = 0; cut < a.size(); ++cut) EXPECT_FALSE(ParseAnswer(a.data(), cut, &v)) << cut;
  a.push_back(0);
  EXPECT_FALSE(ParseAnswer(a.data(), a.size(), &v));
}

TEST(ProtocolTest, AnswerRejects) {
  std::vector<uint8_t> a = Answer(1, "", "");
  AnswerView v;
  ASSERT_TRUE(ParseAnswer(a.data(), a.size(), &v));
  EXPECT_EQ(v.exit_code, 1);
  std::vector<uint8_t> bad = a;
  bad[3] = '2';
  EXPECT_FALSE(ParseAnswer(bad.data(), bad.size(), &v));
  bad = a;
  bad[6] = 1;
  EXPECT_FALSE(ParseAnswer(bad.data(), bad.size(), &v));  // reserved
  bad = a;
  bad[8] = 0xff;  // out_len 0xff000000: over kMaxAnswerOut
  EXPECT_FALSE(ParseAnswer(bad.data(), bad.size(), &v));
  bad = a;
  bad[12] = 0x01;  // err_len 16 MiB: over kMaxAnswerErr
  EXPECT_FALSE(ParseAnswer(bad.data(), bad.size(), &v));
  std::vector<uint8_t> buf(64);
  EXPECT_EQ(EncodeAnswer(256, nullptr, 0, nullptr, 0, buf.data(), buf.size()), 0u);
  EXPECT_EQ(EncodeAnswer(-1, nullptr, 0, nullptr, 0, buf.data(), buf.size()), 0u);
  EXPECT_EQ(EncodeAnswer(0, nullptr, 0, nullptr, 0, buf.data(), 3), 0u);
  std::string over(kMaxAnswerOut + 1, 'x');
  std::vector<uint8_t> large(AnswerSize(over.size(), 0));
  EXPECT_EQ(EncodeAnswer(0, reinterpret_cast<const uint8_t*>(over.data()), over.size(), nullptr, 0,
                         large.data(), large.size()),
            0u);
  EXPECT_FALSE(ParseAnswer(large.data(), kMaxAnswerSize + 1, &v));
}

TEST(ProtocolTest, Declined) {
  std::vector<uint8_t> buf(64);
  size_t n = EncodeDecline(buf.data(), buf.size());
  ASSERT_EQ(n, kAnswerOverhead);
  AnswerView v;
  ASSERT_TRUE(ParseAnswer(buf.data(), n, &v));
  EXPECT_TRUE(v.declined);
  std::vector<uint8_t> bad(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  bad[4] = 1;  // a declined answer carries no exit status
  EXPECT_FALSE(ParseAnswer(bad.data(), bad.size(), &v));
  bad = std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  bad[5] = 2;  // unknown flag
  EXPECT_FALSE(ParseAnswer(bad.data(), bad.size(), &v));
  std::vector<uint8_t> a = Answer(0, "x", "");
  a[5] = 1;  // declined, but with text
  EXPECT_FALSE(ParseAnswer(a.data(), a.size(), &v));
  std::vector<uint8_t> ok = Answer(0, "ops\n", "");
  ASSERT_TRUE(ParseAnswer(ok.data(), ok.size(), &v));
  EXPECT_FALSE(v.declined);
}

}  // namespace
}  // namespace certgate::decide
