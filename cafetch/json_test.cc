#include "cafetch/json.h"

#include <gtest/gtest.h>

#include <string>

namespace certgate::cafetch {
namespace {

using core::Errc;

TEST(JsonTest, ParsesNestedValues) {
  auto v = ParseJson(R"( {"a": [1, -2.5e3, true, false, null, "x\u00e9\ud83d\ude00\n"], "b": {}} )");
  ASSERT_TRUE(v) << v.error().detail;
  ASSERT_EQ(v->kind, JsonValue::Kind::kObject);
  const JsonValue* a = v->Find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->items.size(), 6u);
  EXPECT_EQ(a->items[1].text, "-2.5e3");
  EXPECT_TRUE(a->items[2].boolean);
  EXPECT_EQ(a->items[4].kind, JsonValue::Kind::kNull);
  EXPECT_EQ(a->items[5].text, "x\xc3\xa9\xf0\x9f\x98\x80\n");
  EXPECT_EQ(v->Find("b")->kind, JsonValue::Kind::kObject);
  EXPECT_EQ(v->Find("c"), nullptr);
}

TEST(JsonTest, RejectsMalformed) {
  const char* bad[] = {
      "",          "{",          "[1,]",         "{\"a\":1,}",     "{'a':1}",  "[01]",   "[1.]",
      "[.5]",      "[-]",        "\"abc",        "\"\\x\"",        "nul",      "[1] [2]", "{\"a\" 1}",
      "/* c */ 1", "\"\\ud800\"", "\"\\udc00\"",  "\"\\u12\"",      "+1",       "[1e]",
  };
  for (const char* text : bad) EXPECT_FALSE(ParseJson(text)) << text;
}

TEST(JsonTest, RejectsDuplicateKeys) {
  auto v = ParseJson(R"({"a":1,"a":2})");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::kBadFormat);
}

TEST(JsonTest, RejectsBadStrings) {
  auto control = ParseJson(std::string("\"a\nb\""));
  ASSERT_FALSE(control);
  EXPECT_EQ(control.error().code, Errc::kBadEncoding);
  for (std::string s : {std::string("\"\xc3\""), std::string("\"\xc0\xaf\""), std::string("\"\xed\xa0\x80\""),
                        std::string("\"\xf5\x80\x80\x80\""), std::string("\"\xff\""),
                        // overlong 3- and 4-byte forms, above U+10FFFF, cut at the end of the input
                        std::string("\"\xe0\x80\xaf\""), std::string("\"\xf0\x80\x80\xaf\""),
                        std::string("\"\xf4\x90\x80\x80\""), std::string("\"\xe2\x82"),
                        std::string("\"\xf0\x9f\x98")}) {
    auto v = ParseJson(s);
    ASSERT_FALSE(v) << s;
    EXPECT_EQ(v.error().code, Errc::kBadEncoding) << s;
  }
}

TEST(JsonTest, KeepsValidUtf8AsItIs) {
  // Raw UTF-8 of every length (not \u escapes), up to U+10FFFF.
  const std::string text = "x\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";
  auto v = ParseJson("[\"" + text + "\"]");
  ASSERT_TRUE(v) << v.error().detail;
  ASSERT_EQ(v->items.size(), 1u);
  EXPECT_EQ(v->items[0].text, text);
}

TEST(JsonTest, BoundsDepthAndSize) {
  std::string ok(kMaxJsonDepth, '[');
  ok += std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJson(ok));
  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  auto v = ParseJson(deep);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::kTooLarge);
  std::string huge(100000000 / 100, '[');  // unbalanced and deep: must stop early
  EXPECT_FALSE(ParseJson(huge));
  std::string big = "\"" + std::string(kMaxJsonBytes, 'a') + "\"";
  auto b = ParseJson(big);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, Errc::kTooLarge);
}

}  // namespace
}  // namespace certgate::cafetch
