// Builds a YamlNode tree from libyaml events, failing on the first problem.
#include "cafetch/yaml_tree.h"

#include <yaml.h>

#include <utility>

namespace certgate::cafetch {
namespace {

constexpr int kMaxDepth = 16;
constexpr size_t kMaxNodes = 10000;

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (s.size() > 80) out += "...";
  return out + "\"";
}
class TreeBuilder {
 public:
  TreeBuilder(std::string_view text, std::string file, std::vector<core::Issue>* issues)
      : file_(std::move(file)), issues_(issues) {
    ok_ = yaml_parser_initialize(&parser_) != 0;
    if (ok_) {
      yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()), text.size());
      yaml_parser_set_encoding(&parser_, YAML_UTF8_ENCODING);
    }
  }
  ~TreeBuilder() {
    if (have_event_) yaml_event_delete(&event_);
    if (ok_) yaml_parser_delete(&parser_);
  }
  TreeBuilder(const TreeBuilder&) = delete;
  TreeBuilder& operator=(const TreeBuilder&) = delete;

  // Build returns the root node, or nullopt after adding an issue.
  std::optional<YamlNode> Build() {
    if (!ok_) {
      Issue(1, 1, "cannot start the YAML parser");
      return std::nullopt;
    }
    if (!Next()) return std::nullopt;  // STREAM-START
    if (!Next()) return std::nullopt;
    if (event_.type == YAML_STREAM_END_EVENT) {
      Issue(1, 1, "empty config file; it needs at least an issuer");
      return std::nullopt;
    }
    if (!Next()) return std::nullopt;  // root node
    YamlNode root;
    if (!ReadNode(&root, 0)) return std::nullopt;
    if (!Next()) return std::nullopt;  // DOCUMENT-END
    if (!Next()) return std::nullopt;
    if (event_.type != YAML_STREAM_END_EVENT) {
      Issue(Line(), Column(), "a config file holds one YAML document; remove the second one");
      return std::nullopt;
    }
    return root;
  }

 private:
  void Issue(int line, int column, std::string message) {
    issues_->push_back(core::Issue{core::SourceLocation{file_, line, column}, std::move(message)});
  }
  int Line() const { return static_cast<int>(event_.start_mark.line) + 1; }
  int Column() const { return static_cast<int>(event_.start_mark.column) + 1; }

  bool Next() {
    if (have_event_) {
      yaml_event_delete(&event_);
      have_event_ = false;
    }
    if (!yaml_parser_parse(&parser_, &event_)) {
      std::string message = "YAML syntax error: ";
      message += parser_.problem != nullptr ? parser_.problem : "unreadable input";
      if (parser_.context != nullptr) message += std::string(" ") + parser_.context;
      if (parser_.error == YAML_READER_ERROR) {
        Issue(1, 1, message + " (at byte " + std::to_string(parser_.problem_offset) + "; files must be UTF-8)");
      } else {
        Issue(static_cast<int>(parser_.problem_mark.line) + 1, static_cast<int>(parser_.problem_mark.column) + 1,
              message);
      }
      return false;
    }
    have_event_ = true;
    const unsigned char* anchor = nullptr;
    const unsigned char* tag = nullptr;
    switch (event_.type) {
      case YAML_ALIAS_EVENT:
        Issue(Line(), Column(), "aliases (*name) are not allowed; write the value out in full");
        return false;
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
      Issue(Line(), Column(), "anchors (&name) are not allowed; write the value out in full");
      return false;
    }
    if (tag != nullptr) {
      Issue(Line(), Column(), "tags (!tag) are not allowed");
      return false;
    }
    return true;
  }

  // ReadNode reads the node starting at the current event.
  bool ReadNode(YamlNode* out, int depth) {
    if (++nodes_ > kMaxNodes) {
      Issue(Line(), Column(), "config file too complex");
      return false;
    }
    out->line = Line();
    out->column = Column();
    switch (event_.type) {
      case YAML_SCALAR_EVENT:
        out->kind = YamlNode::Kind::kScalar;
        out->value.assign(reinterpret_cast<const char*>(event_.data.scalar.value), event_.data.scalar.length);
        out->plain = event_.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return true;
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT:
        break;
      default:
        Issue(Line(), Column(), "unexpected YAML event");
        return false;
    }
    if (depth + 1 > kMaxDepth) {
      Issue(Line(), Column(), "nested too deeply");
      return false;
    }
    if (event_.type == YAML_SEQUENCE_START_EVENT) {
      out->kind = YamlNode::Kind::kSequence;
      for (;;) {
        if (!Next()) return false;
        if (event_.type == YAML_SEQUENCE_END_EVENT) return true;
        YamlNode item;
        if (!ReadNode(&item, depth + 1)) return false;
        out->items.push_back(std::move(item));
      }
    }
    out->kind = YamlNode::Kind::kMapping;
    for (;;) {
      if (!Next()) return false;
      if (event_.type == YAML_MAPPING_END_EVENT) return true;
      YamlNode key;
      if (!ReadNode(&key, depth + 1)) return false;
      if (key.kind != YamlNode::Kind::kScalar) {
        Issue(key.line, key.column, "a key must be a plain name");
        return false;
      }
      for (const YamlNode& seen : out->keys) {
        if (seen.value == key.value) {
          Issue(key.line, key.column, "duplicate key " + Quote(key.value) + "; keep only one");
          return false;
        }
      }
      if (!Next()) return false;
      YamlNode value;
      if (!ReadNode(&value, depth + 1)) return false;
      out->keys.push_back(std::move(key));
      out->values.push_back(std::move(value));
    }
  }

  std::string file_;
  std::vector<core::Issue>* issues_;
  yaml_parser_t parser_{};
  yaml_event_t event_{};
  bool ok_ = false;
  bool have_event_ = false;
  size_t nodes_ = 0;
};
}  // namespace

std::optional<YamlNode> ParseYamlTree(std::string_view text, const std::string& file,
                                      std::vector<core::Issue>* issues) {
  TreeBuilder builder(text, file, issues);
  return builder.Build();
}

}  // namespace certgate::cafetch
