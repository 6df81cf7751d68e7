#include "core/log.h"

#include <gtest/gtest.h>

namespace certgate::core {
namespace {

TEST(LogTest, EscapeForLog) {
  EXPECT_EQ(EscapeForLog("alice@example.com"), "alice@example.com");
  EXPECT_EQ(EscapeForLog("a\nb"), "a\\x0ab");
  EXPECT_EQ(EscapeForLog("\x1b[31m"), "\\x1b[31m");
  EXPECT_EQ(EscapeForLog("back\\slash"), "back\\\\slash");
  EXPECT_EQ(EscapeForLog("\xc3\xa9"), "\\xc3\\xa9");
  EXPECT_EQ(EscapeForLog(std::string("a\0b", 3)), "a\\x00b");
  std::string longer(600, 'x');
  std::string escaped = EscapeForLog(longer);
  EXPECT_EQ(escaped.size(), 512u + 3u);
  EXPECT_EQ(escaped.substr(512), "...");
}

// Quoted text cannot be split or joined: '"' is escaped, empty shows.
TEST(LogTest, QuoteForLog) {
  EXPECT_EQ(QuoteForLog("alice"), "\"alice\"");
  EXPECT_EQ(QuoteForLog(""), "\"\"");
  EXPECT_EQ(QuoteForLog("evil\" serial 1 \"x"), "\"evil\\x22 serial 1 \\x22x\"");
  EXPECT_EQ(QuoteForLog("a,b\n\\"), "\"a,b\\x0a\\\\\"");
  EXPECT_EQ(EscapeQuotesForLog("say \"hi\""), "say \\x22hi\\x22");
  EXPECT_EQ(EscapeForLog("say \"hi\""), "say \"hi\"");
}

// Only control characters: a configured value shown as written otherwise.
TEST(LogTest, EscapeControls) {
  EXPECT_EQ(EscapeControls("a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
  EXPECT_EQ(EscapeControls("caf\xc3\xa9 \\d \"q\""), "caf\xc3\xa9 \\d \"q\"");
  EXPECT_EQ(EscapeControls(std::string(600, 'a')), std::string(512, 'a') + "...");
}

TEST(LogTest, CaptureAndField) {
  CaptureLogSink sink;
  LogRecord rec;
  rec.message = "m";
  rec.fields.emplace_back("CERTGATE_DECISION", "deny");
  sink.Write(rec);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].Field("CERTGATE_DECISION"), "deny");
  EXPECT_EQ(sink.records[0].Field("CERTGATE_MISSING"), "");
}

}  // namespace
}  // namespace certgate::core
