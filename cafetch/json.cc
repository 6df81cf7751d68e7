// Strict bounded JSON: recursive descent with an explicit depth bound.
#include "cafetch/json.h"

#include <cstdint>
#include <unordered_set>

#include "core/utf8.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;
using core::Result;
using core::Status;

// Parser is a recursive-descent parser whose recursion is bounded by
// kMaxJsonDepth, so hostile nesting cannot exhaust the stack.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Status ParseDocument(JsonValue* out) {
    SkipSpace();
    Status s = ParseValue(out, 0);
    if (!s) return s;
    SkipSpace();
    if (pos_ != text_.size()) return Error(Errc::kBadFormat, "trailing text after the JSON value");
    return core::Ok();
  }

 private:
  core::Unexpected Error(Errc code, const std::string& what) const {
    return Fail(code, "JSON at byte " + std::to_string(pos_) + ": " + what);
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) ++pos_;
  }
  bool Consume(std::string_view literal) {
    if (text_.substr(pos_, literal.size()) != literal) return false;
    pos_ += literal.size();
    return true;
  }

  Status ParseValue(JsonValue* out, int depth) {
    if (AtEnd()) return Error(Errc::kBadFormat, "unexpected end of input");
    const char c = Peek();
    if (c == '{' || c == '[') {
      if (depth + 1 > kMaxJsonDepth) return Error(Errc::kTooLarge, "nested too deeply");
      return c == '{' ? ParseObject(out, depth + 1) : ParseArray(out, depth + 1);
    }
    if (c == '"') {
      out->kind = JsonValue::Kind::kString;
      return ParseString(&out->text);
    }
    if (Consume("true")) {
      out->kind = JsonValue::Kind::kBool;
      out->boolean = true;
      return core::Ok();
    }
    if (Consume("false")) {
      out->kind = JsonValue::Kind::kBool;
      return core::Ok();
    }
    if (Consume("null")) {
      out->kind = JsonValue::Kind::kNull;
      return core::Ok();
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
    return Error(Errc::kBadFormat, "unexpected character");
  }

  Status ParseObject(JsonValue* out, int depth) {
    out->kind = JsonValue::Kind::kObject;
    ++pos_;  // '{'
    std::unordered_set<std::string> names;
    SkipSpace();
    if (!AtEnd() && Peek() == '}') {
      ++pos_;
      return core::Ok();
    }
    for (;;) {
      SkipSpace();
      if (AtEnd() || Peek() != '"') return Error(Errc::kBadFormat, "expected a member name");
      std::string key;
      Status s = ParseString(&key);
      if (!s) return s;
      if (!names.insert(key).second) return Error(Errc::kBadFormat, "duplicate member name");
      SkipSpace();
      if (AtEnd() || Peek() != ':') return Error(Errc::kBadFormat, "expected ':'");
      ++pos_;
      SkipSpace();
      JsonValue value;
      s = ParseValue(&value, depth);
      if (!s) return s;
      out->keys.push_back(std::move(key));
      out->values.push_back(std::move(value));
      SkipSpace();
      if (AtEnd()) return Error(Errc::kBadFormat, "unterminated object");
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == '}') {
        ++pos_;
        return core::Ok();
      }
      return Error(Errc::kBadFormat, "expected ',' or '}'");
    }
  }

  Status ParseArray(JsonValue* out, int depth) {
    out->kind = JsonValue::Kind::kArray;
    ++pos_;  // '['
    SkipSpace();
    if (!AtEnd() && Peek() == ']') {
      ++pos_;
      return core::Ok();
    }
    for (;;) {
      SkipSpace();
      JsonValue value;
      Status s = ParseValue(&value, depth);
      if (!s) return s;
      out->items.push_back(std::move(value));
      SkipSpace();
      if (AtEnd()) return Error(Errc::kBadFormat, "unterminated array");
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == ']') {
        ++pos_;
        return core::Ok();
      }
      return Error(Errc::kBadFormat, "expected ',' or ']'");
    }
  }

  Status ParseNumber(JsonValue* out) {
    const size_t start = pos_;
    auto digit = [&] { return !AtEnd() && Peek() >= '0' && Peek() <= '9'; };
    if (Peek() == '-') ++pos_;
    if (!digit()) return Error(Errc::kBadFormat, "bad number");
    if (Peek() == '0') {
      ++pos_;
    } else {
      while (digit()) ++pos_;
    }
    if (!AtEnd() && Peek() == '.') {
      ++pos_;
      if (!digit()) return Error(Errc::kBadFormat, "bad number");
      while (digit()) ++pos_;
    }
    if (!AtEnd() && (Peek() == 'e' || Peek() == 'E')) {
      ++pos_;
      if (!AtEnd() && (Peek() == '+' || Peek() == '-')) ++pos_;
      if (!digit()) return Error(Errc::kBadFormat, "bad number");
      while (digit()) ++pos_;
    }
    out->kind = JsonValue::Kind::kNumber;
    out->text.assign(text_.substr(start, pos_ - start));
    return core::Ok();
  }

  bool ReadHex4(uint32_t* out) {
    if (text_.size() - pos_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      uint32_t d = 0;
      if (c >= '0' && c <= '9') {
        d = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
      v = (v << 4) | d;
    }
    *out = v;
    return true;
  }

  // ReadUtf8 copies one multi-byte UTF-8 sequence starting at pos_,
  // rejecting overlong forms, surrogates and values above U+10FFFF.
  bool ReadUtf8(std::string* out) {
    uint32_t cp = 0;
    const size_t n = core::DecodeUtf8(text_.substr(pos_), &cp);
    if (n == 0) return false;
    out->append(text_.substr(pos_, n));
    pos_ += n;
    return true;
  }

  Status ParseString(std::string* out) {
    ++pos_;  // '"'
    for (;;) {
      if (AtEnd()) return Error(Errc::kBadFormat, "unterminated string");
      const auto c = static_cast<unsigned char>(Peek());
      if (c == '"') {
        ++pos_;
        return core::Ok();
      }
      if (c < 0x20) return Error(Errc::kBadEncoding, "control character in a string");
      if (c >= 0x80) {
        if (!ReadUtf8(out)) return Error(Errc::kBadEncoding, "invalid UTF-8");
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (AtEnd()) return Error(Errc::kBadFormat, "unterminated string");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!ReadHex4(&cp)) return Error(Errc::kBadEncoding, "bad \\u escape");
          if (cp >= 0xdc00 && cp <= 0xdfff) return Error(Errc::kBadEncoding, "lone low surrogate");
          if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t low = 0;
            if (!Consume("\\u") || !ReadHex4(&low) || low < 0xdc00 || low > 0xdfff) {
              return Error(Errc::kBadEncoding, "lone high surrogate");
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          }
          core::AppendUtf8(cp, out);
          break;
        }
        default:
          return Error(Errc::kBadEncoding, "bad escape");
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::Find(std::string_view key) const {
  if (kind != Kind::kObject) return nullptr;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) return &values[i];
  }
  return nullptr;
}

Result<JsonValue> ParseJson(std::string_view text) {
  if (text.size() > kMaxJsonBytes) return Fail(Errc::kTooLarge, "JSON answer larger than 1 MiB");
  JsonValue value;
  Parser parser(text);
  Status s = parser.ParseDocument(&value);
  if (!s) return core::Unexpected{s.error()};
  return value;
}

}  // namespace certgate::cafetch
