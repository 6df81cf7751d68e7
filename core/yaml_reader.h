// YamlReader: strict pulling of libyaml events for certgate's YAML files
// (the policy and cafetch.yaml), so that both refuse the same constructs and
// report syntax and encoding errors at the same FILE:LINE:COLUMN.
#ifndef CERTGATE_CORE_YAML_READER_H_
#define CERTGATE_CORE_YAML_READER_H_

#include <yaml.h>

#include <string>
#include <string_view>
#include <vector>

namespace certgate::core {

// YamlProblem is a 1-based position and a one-line message.
struct YamlProblem {
  int line = 1;
  int column = 1;
  std::string message;
};

// YamlReader reads UTF-8 |text| (which must outlive it) event by event.
class YamlReader {
 public:
  explicit YamlReader(std::string_view text);
  ~YamlReader();
  YamlReader(const YamlReader&) = delete;
  YamlReader& operator=(const YamlReader&) = delete;

  // Next reads the next event and returns true, or returns false on a
  // syntax or encoding error (a byte order mark anywhere but at the very
  // start included), described by error(); the reader is then
  // finished. After a true return, forbidden() is non-empty when the event
  // is an alias or carries an anchor or a tag, which certgate's files never
  // use: the caller reports it (and may go on reading).
  bool Next();

  // event returns the current event (valid after Next returned true).
  const yaml_event_t& event() const { return event_; }
  // Line and Column return the 1-based start of the current event.
  int Line() const { return static_cast<int>(event_.start_mark.line) + 1; }
  int Column() const { return static_cast<int>(event_.start_mark.column) + 1; }
  // error returns the problem that made Next fail.
  const YamlProblem& error() const { return error_; }
  // forbidden returns why the current event is not allowed, or "".
  const std::string& forbidden() const { return forbidden_; }

 private:
  // Collection is where an open collection began: kind '[' or '{' for a
  // flow one (its bracket), '-' for a block list, ':' for a block mapping.
  struct Collection {
    yaml_mark_t mark;
    char kind;
  };

  void SetPosition(size_t offset);
  void SetReaderError();
  void SetSyntaxError();
  // IndentAdvice says which columns a line that fits no open block
  // collection could line up with, for SetSyntaxError.
  std::string IndentAdvice(const yaml_mark_t& context, bool mapping) const;
  void TrackCollections();

  std::string_view text_;
  yaml_parser_t parser_{};
  yaml_event_t event_{};
  bool initialized_ = false;
  bool have_event_ = false;
  // stray_bom_: offset in text_ of a byte order mark after the start of the
  // file (npos: none); Next fails on it before reading anything.
  size_t stray_bom_ = std::string_view::npos;
  YamlProblem error_;
  std::vector<Collection> open_;  // innermost last
  // just_closed_: the block collections the end events read since the last
  // other event closed, innermost first. libyaml closes them at a line
  // indented less than their keys or entries, before it finds that the
  // line fits nowhere: the line was most likely meant for one of them.
  std::vector<Collection> just_closed_;
  std::string forbidden_;
};

// QuoteForIssue returns |s| in double quotes for an issue message, control
// characters written as \xHH (as the log escapes them), cut after 80 bytes
// ("..." appended).
std::string QuoteForIssue(std::string_view s);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_YAML_READER_H_
