// Reading a policy file's events: issues, and the scalars, lists, numbers,
// patterns and names every part of the file is made of, each checked and
// any problem reported at FILE:LINE:COLUMN (the Parser of policy_parser.h).
#include "core/policy_parser.h"

#include <yaml.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/pattern.h"
#include "core/result.h"
#include "core/yaml_reader.h"

namespace certgate::core::policy_parser_internal {
namespace {

// kMaxSkipDepth bounds how deep an unexpected node may nest before we stop:
// the policy grammar itself is never deeper than five levels.
constexpr int kMaxSkipDepth = 32;

}  // namespace

std::string NameError(std::string_view name) {
  if (name.empty()) return "the name is empty; write one";
  if (name.size() > kMaxPolicyNameLength) {
    return "name longer than " + std::to_string(kMaxPolicyNameLength) + " bytes; shorten it";
  }
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return "a name may not contain blanks or control characters; remove them";
  }
  return "";
}

std::string KeyProblem(const Error& error) {
  if (error.code == Errc::kTruncated) return "the key is cut short in its " + error.detail + " field";
  return error.detail;
}

void Parser::AddIssue(int line, int column, std::string message) {
  if (result_->issues.size() >= kMaxIssues) {
    if (!stopped_) {
      result_->issues.push_back(Issue{SourceLocation{file_, line, column}, kTooManyProblems});
    }
    stopped_ = true;
    return;
  }
  result_->issues.push_back(Issue{SourceLocation{file_, line, column}, std::move(message)});
}

bool Parser::Next() {
  if (stopped_) return false;
  if (!reader_.Next()) {
    deferred_.clear();
    const YamlProblem& e = reader_.error();
    AddIssue(e.line, e.column, e.message);
    stopped_ = true;
    return false;
  }
  // An end event may be one of several libyaml reads before the line that
  // fits nowhere (a key under-indented past two levels): wait for another.
  const yaml_event_type_t type = reader_.event().type;
  if (type != YAML_MAPPING_END_EVENT && type != YAML_SEQUENCE_END_EVENT) {
    for (auto& [mark, message] : deferred_) AddIssue(mark, std::move(message));
    deferred_.clear();
  }
  if (!reader_.forbidden().empty()) AddIssue(Mark(), reader_.forbidden());
  return !stopped_;
}

const char* Parser::KindName() const {
  switch (reader_.event().type) {
    case YAML_MAPPING_START_EVENT: return "a mapping";
    case YAML_SEQUENCE_START_EVENT: return "a list";
    case YAML_SCALAR_EVENT: return IsNull() ? "nothing" : "a single value";
    default: return "something else";
  }
}

bool Parser::SkipNode() {
  if (reader_.event().type != YAML_MAPPING_START_EVENT && reader_.event().type != YAML_SEQUENCE_START_EVENT) return !stopped_;
  int depth = 1;
  while (depth > 0) {
    if (!Next()) return false;
    if (reader_.event().type == YAML_MAPPING_START_EVENT || reader_.event().type == YAML_SEQUENCE_START_EVENT) {
      if (++depth > kMaxSkipDepth) {
        AddIssue(Mark(), "nested too deeply; a policy is never more than a few levels deep");
        stopped_ = true;
        return false;
      }
    } else if (reader_.event().type == YAML_MAPPING_END_EVENT || reader_.event().type == YAML_SEQUENCE_END_EVENT) {
      --depth;
    }
  }
  return true;
}

void Parser::WrongKind(std::string_view key, const char* expected) {
  if (reader_.event().type != YAML_ALIAS_EVENT) {  // already reported
    if (reader_.event().type == YAML_SCALAR_EVENT && IsNull()) {
      // A word YAML reads as "no value" (null, ~) may have been meant as
      // text, such as a user named null: say how to write that.
      const std::string_view text = Text();
      AddIssue(Mark(), std::string(key) + " has no value; it needs " + expected +
                           (text.empty() ? std::string()
                                         : " (YAML reads a plain " + std::string(text) +
                                               " as no value; for the text, quote it: \"" + std::string(text) + "\")"));
    } else {
      AddIssue(Mark(), std::string(key) + " must be " + expected + ", not " + KindName());
    }
  }
  SkipNode();
}

bool Parser::ReadScalar(std::string_view key, std::string* out, yaml_mark_t* mark) {
  *mark = Mark();
  if (reader_.event().type != YAML_SCALAR_EVENT || IsNull()) {
    WrongKind(key, "a single value");
    return false;
  }
  out->assign(Text());
  return true;
}

bool Parser::CountListItem(std::string_view key, size_t in_list) {
  if (in_list > kMaxListItems) {
    std::string advice = "split it over several rules";
    if (key == "users") advice += ", or name a unix group (group:NAME)";
    if (key == "revoked_serials") advice = "revoke that many certificates with a KRL (revoked: krl:)";
    if (key == "keys") advice = "an authority has a few keys; split it into several authorities";
    AddIssue(Mark(), std::string(key) + " has more than " + std::to_string(kMaxListItems) + " items; " + advice);
    stopped_ = true;
    return false;
  }
  if (++result_->list_items > kMaxPolicyListItems) {
    AddIssue(Mark(), "the policy has more than " + std::to_string(kMaxPolicyListItems) +
                         " list items in all; a policy this large cannot be loaded in time, "
                         "use group: entries and patterns");
    stopped_ = true;
    return false;
  }
  return true;
}

bool Parser::ReadList(std::string_view key, std::vector<Item>* out, yaml_mark_t* mark) {
  *mark = Mark();
  if (reader_.event().type == YAML_SCALAR_EVENT && !IsNull()) {
    if (!CountListItem(key, 1)) return false;
    out->push_back(Item{std::string(Text()), Mark()});
    return true;
  }
  if (reader_.event().type != YAML_SEQUENCE_START_EVENT) {
    WrongKind(key, "a list or a single value");
    return false;
  }
  bool ok = true;
  for (;;) {
    if (!Next()) return false;
    if (reader_.event().type == YAML_SEQUENCE_END_EVENT) return ok;
    if (reader_.event().type != YAML_SCALAR_EVENT || IsNull()) {
      WrongKind(std::string("an item of ") + std::string(key), "a single value");
      ok = false;
      continue;
    }
    if (!CountListItem(key, out->size() + 1)) return false;
    out->push_back(Item{std::string(Text()), Mark()});
  }
}

bool Parser::ReadUnsigned(std::string_view key, uint64_t min, uint64_t max, uint64_t* out) {
  if (reader_.event().type != YAML_SCALAR_EVENT || IsNull()) {
    WrongKind(key, "a number");
    return false;
  }
  std::string_view t = Text();
  const std::string range = std::string(key) + " must be a whole number from " + std::to_string(min) + " to " +
                            std::to_string(max);
  const bool digits = !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || !IsPlain()) {
    AddIssue(Mark(), range + " written without quotes, not " + QuoteForIssue(t));
    return false;
  }
  uint64_t n = 0;
  bool in_range = true;
  for (char c : t) {
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (max - d) / 10) {
      in_range = false;
      break;
    }
    n = n * 10 + d;
  }
  if (!in_range || n < min) {
    AddIssue(Mark(), range + ", not " + QuoteForIssue(t));
    return false;
  }
  *out = n;
  return true;
}

std::optional<std::vector<std::string>> Parser::ReadPatterns(std::string_view key, bool allow_negation,
                                                             bool allow_user_token, yaml_mark_t* list_mark,
                                                             bool allow_empty) {
  std::vector<Item> items;
  yaml_mark_t mark;
  if (!ReadList(key, &items, &mark)) return std::nullopt;
  if (list_mark != nullptr) *list_mark = mark;
  if (items.empty() && !allow_empty) {
    AddIssue(mark, std::string(key) + " is empty; give at least one pattern");
    return std::nullopt;
  }
  std::vector<std::string> out;
  out.reserve(items.size());
  bool ok = true;
  for (Item& item : items) {
    std::string error = PatternError(item.value);
    if (error.empty() && !allow_negation && item.value.front() == '!') {
      error = "negation (!) means nothing here; list only what to match";
    }
    if (error.empty()) {
      size_t brace = item.value.find_first_of("{}");
      while (brace != std::string::npos) {
        if (!allow_user_token || item.value.compare(brace, 6, "{user}") != 0) {
          error = allow_user_token ? "the only placeholder is {user}" : "{user} is only for principals; remove the braces";
          break;
        }
        brace = item.value.find_first_of("{}", brace + 6);
      }
    }
    if (!error.empty()) {
      AddIssue(item.mark, "bad pattern " + QuoteForIssue(item.value) + " in " + std::string(key) + ": " + error);
      ok = false;
      continue;
    }
    out.push_back(std::move(item.value));
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace certgate::core::policy_parser_internal
