#include "core/yaml_reader.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "core/log.h"

namespace certgate::core {
namespace {

constexpr std::string_view kByteOrderMark = "\xef\xbb\xbf";

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

}  // namespace

std::string QuoteForIssue(std::string_view s) {
  // Control characters as the log escapes them: '?' would read as a
  // pattern's wildcard.
  std::string out = "\"" + EscapeControls(s.substr(0, 80));
  if (s.size() > 80) out += "...";
  out += '"';
  return out;
}

YamlReader::YamlReader(std::string_view text) : text_(text) {
  // YAML allows a byte order mark at the start of the stream (editors on
  // Windows write one); libyaml, told the encoding, would take it for
  // content. Columns on line 1 then count as the editor shows them.
  if (text_.starts_with(kByteOrderMark)) text_.remove_prefix(kByteOrderMark.size());
  // Anywhere else libyaml would skip one at the start of a line and keep
  // one inside a scalar (a user "\ufeffalice" nobody can type): refuse it.
  stray_bom_ = text_.find(kByteOrderMark);
  initialized_ = yaml_parser_initialize(&parser_) != 0;
  if (initialized_) {
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text_.data()),
                                 text_.size());
    yaml_parser_set_encoding(&parser_, YAML_UTF8_ENCODING);
  }
}

YamlReader::~YamlReader() {
  if (have_event_) yaml_event_delete(&event_);
  if (initialized_) yaml_parser_delete(&parser_);
}

// SetPosition sets error_'s line and column to those of byte |offset|,
// counting characters, not bytes.
void YamlReader::SetPosition(size_t offset) {
  const size_t end = std::min(offset, text_.size());
  error_.line = 1;
  error_.column = 1;
  for (size_t i = 0; i < end; ++i) {
    if (text_[i] == '\n') {
      ++error_.line;
      error_.column = 1;
    } else if (!IsContinuation(text_[i])) {
      ++error_.column;
    }
  }
}

// SetReaderError places a reader error (bad UTF-8, control characters),
// which libyaml gives only as a byte offset, at its line and column.
void YamlReader::SetReaderError() {
  size_t end = std::min(parser_.problem_offset, text_.size());
  // A bad continuation byte is reported at its own offset; point at the
  // character it belongs to instead.
  while (end > 0 && end < text_.size() && IsContinuation(text_[end])) --end;
  if (end > 0 && parser_.problem != nullptr && std::strstr(parser_.problem, "trailing") != nullptr) {
    size_t lead = end - 1;
    while (lead > 0 && IsContinuation(text_[lead])) --lead;
    if ((static_cast<unsigned char>(text_[lead]) & 0xc0) == 0xc0) end = lead;
  }
  SetPosition(end);
  if (parser_.problem != nullptr && std::strstr(parser_.problem, "UTF-8") != nullptr) {
    error_.message += "; the file must be UTF-8";
  }
}

// TrackCollections keeps where each open collection started, and which
// block collections the end events just read closed, for errors.
void YamlReader::TrackCollections() {
  switch (event_.type) {
    case YAML_SEQUENCE_START_EVENT:
      just_closed_.clear();
      open_.push_back({event_.start_mark, event_.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE ? '[' : '-'});
      break;
    case YAML_MAPPING_START_EVENT:
      just_closed_.clear();
      open_.push_back({event_.start_mark, event_.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE ? '{' : ':'});
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      if (open_.empty()) break;
      if (open_.back().kind == '-' || open_.back().kind == ':') just_closed_.push_back(open_.back());
      open_.pop_back();
      break;
    default:
      just_closed_.clear();
      break;
  }
}

std::string YamlReader::IndentAdvice(const yaml_mark_t& context, bool mapping) const {
  // The collection libyaml names (the innermost still open), then those
  // just closed, outermost first; at most the three innermost of them.
  std::vector<Collection> candidates = {{context, mapping ? ':' : '-'}};
  const size_t closed = std::min<size_t>(just_closed_.size(), 3);
  for (size_t i = closed; i > 0; --i) candidates.push_back(just_closed_[i - 1]);
  std::string advice = "; line it up with the keys or \"- \" entries it belongs to: ";
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (i > 0) advice += i + 1 == candidates.size() ? ", or " : ", ";
    const Collection& c = candidates[i];
    advice += "column " + std::to_string(c.mark.column + 1) +
              (c.kind == '-' ? " for an entry (\"- \") of the list at line " : " for a key of the mapping at line ") +
              std::to_string(c.mark.line + 1);
  }
  return advice;
}

// SetSyntaxError describes libyaml's error. An unclosed quote or bracket
// is found only where the text runs out (often the end of the file), so
// the error points at where it opened, and says where it was found.
void YamlReader::SetSyntaxError() {
  error_.message = "YAML syntax error: ";
  error_.message += parser_.problem != nullptr ? parser_.problem : "unreadable input";
  if (parser_.context != nullptr) error_.message += std::string(" ") + parser_.context;
  if (parser_.error == YAML_READER_ERROR) {
    SetReaderError();
    return;
  }
  const yaml_mark_t& found = parser_.problem_mark;
  const std::string_view context = parser_.context != nullptr ? parser_.context : "";
  std::optional<yaml_mark_t> opened;
  std::string advice;
  if (context.find("quoted scalar") != std::string_view::npos && parser_.context_mark.index < text_.size()) {
    opened = parser_.context_mark;
    const std::string quote(1, text_[opened->index]);
    advice = "; the " + quote + " opened here is never closed: add the closing " + quote;
  } else if (const auto flow = std::find_if(open_.rbegin(), open_.rend(),
                                            [](const Collection& c) { return c.kind == '[' || c.kind == '{'; });
             context.find("flow") != std::string_view::npos && flow != open_.rend()) {
    opened = flow->mark;
    const char open = flow->kind;
    advice = std::string("; check the ") + open + " opened here: separate its items with , and close it with " +
             (open == '[' ? ']' : '}');
  }
  if (opened) {
    error_.message += " (at line " + std::to_string(found.line + 1) + ", column " +
                      std::to_string(found.column + 1) + ")" + advice;
    error_.line = static_cast<int>(opened->line) + 1;
    error_.column = static_cast<int>(opened->column) + 1;
    return;
  }
  error_.line = static_cast<int>(found.line) + 1;
  error_.column = static_cast<int>(found.column) + 1;
  // The two mistakes behind most other syntax errors, named where seen.
  if (found.index < text_.size() && text_[found.index] == '\t') {
    error_.message += "; indent with spaces, not tabs";
  } else if (parser_.problem != nullptr && std::strstr(parser_.problem, "mapping values are not allowed") != nullptr) {
    error_.message += "; quote a value that holds \": \"";
  } else if (context.starts_with("while parsing a block ") && parser_.context_mark.index < found.index) {
    // A line indented as no key or entry before it: libyaml names the
    // innermost collection still open; the line may be meant for it or
    // for one libyaml has just closed because of it.
    error_.message += IndentAdvice(parser_.context_mark, context == "while parsing a block mapping");
  } else if (parser_.problem != nullptr &&
             std::strstr(parser_.problem, "block sequence entries are not allowed") != nullptr) {
    error_.message += "; a \"- \" list cannot start on its key's line: put its entries on the lines below, or "
                      "write it as [a, b]";
  }
}

bool YamlReader::Next() {
  forbidden_.clear();
  if (have_event_) {
    yaml_event_delete(&event_);
    have_event_ = false;
  }
  if (!initialized_) {
    error_ = YamlProblem{1, 1, "cannot start the YAML parser"};
    return false;
  }
  if (stray_bom_ != std::string_view::npos) {
    SetPosition(stray_bom_);
    error_.message = "stray byte order mark (U+FEFF); only the first bytes of a file may be one: remove it";
    return false;
  }
  if (!yaml_parser_parse(&parser_, &event_)) {
    SetSyntaxError();
    return false;
  }
  have_event_ = true;
  TrackCollections();
  const unsigned char* anchor = nullptr;
  const unsigned char* tag = nullptr;
  switch (event_.type) {
    case YAML_ALIAS_EVENT:
      forbidden_ = "aliases (*name) are not allowed; write the value out in full";
      return true;
    case YAML_SCALAR_EVENT:
      anchor = event_.data.scalar.anchor;
      tag = event_.data.scalar.tag;
      break;
    case YAML_SEQUENCE_START_EVENT:
      anchor = event_.data.sequence_start.anchor;
      tag = event_.data.sequence_start.tag;
      break;
    case YAML_MAPPING_START_EVENT:
      anchor = event_.data.mapping_start.anchor;
      tag = event_.data.mapping_start.tag;
      break;
    default:
      break;
  }
  if (anchor != nullptr) {
    forbidden_ = "anchors (&name) are not allowed; write the value out in full";
  } else if (tag != nullptr) {
    const std::string_view name(reinterpret_cast<const char*>(tag));
    if (event_.type == YAML_SCALAR_EVENT && name.starts_with('!')) {
      // `- !root` in a list of patterns: an exclusion written without
      // quotes. Removing it, as for other tags, would widen the list.
      std::string meant(name);
      if (event_.data.scalar.length > 0) {
        meant += " " + std::string(reinterpret_cast<const char*>(event_.data.scalar.value), event_.data.scalar.length);
      }
      forbidden_ = QuoteForIssue(name) + " is read as a YAML tag, which is not allowed; to write the pattern " +
                   QuoteForIssue(meant) + ", quote it";
    } else {
      // As written (libyaml resolves "!!int" to "tag:yaml.org,2002:int"):
      // the node's properties start where the event does.
      std::string_view written = name;
      const size_t at = event_.start_mark.index;
      if (at < text_.size() && text_[at] == '!') {
        written = text_.substr(at, text_.find_first_of(" \t\r\n", at) - at);
      }
      forbidden_ = "tags (!tag) are not allowed; remove " + QuoteForIssue(written);
    }
  }
  return true;
}

}  // namespace certgate::core
