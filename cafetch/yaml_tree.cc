// Builds a YamlNode tree from libyaml events, failing on the first problem.
#include "cafetch/yaml_tree.h"

#include <yaml.h>

#include <utility>

#include "core/yaml_reader.h"

namespace certgate::cafetch {
namespace {

constexpr int kMaxDepth = 16;
constexpr size_t kMaxNodes = 10000;

class TreeBuilder {
 public:
  TreeBuilder(std::string_view text, std::string file, std::vector<core::Issue>* issues)
      : reader_(text), file_(std::move(file)), issues_(issues) {}
  TreeBuilder(const TreeBuilder&) = delete;
  TreeBuilder& operator=(const TreeBuilder&) = delete;

  // Build returns the root node, or nullopt after adding an issue.
  std::optional<YamlNode> Build() {
    if (!Next()) return std::nullopt;  // STREAM-START
    if (!Next()) return std::nullopt;
    if (reader_.event().type == YAML_STREAM_END_EVENT) {
      Issue(1, 1, "empty config file; it needs at least an issuer");
      return std::nullopt;
    }
    if (!Next()) return std::nullopt;  // root node
    YamlNode root;
    if (!ReadNode(&root, 0)) return std::nullopt;
    if (!Next()) return std::nullopt;  // DOCUMENT-END
    if (!Next()) return std::nullopt;
    if (reader_.event().type != YAML_STREAM_END_EVENT) {
      Issue(Line(), Column(), "a config file holds one YAML document; remove the second one");
      return std::nullopt;
    }
    return root;
  }

 private:
  void Issue(int line, int column, std::string message) {
    issues_->push_back(core::Issue{core::SourceLocation{file_, line, column}, std::move(message)});
  }
  int Line() const { return reader_.Line(); }
  int Column() const { return reader_.Column(); }

  // Next reads the next event; any problem, or a construct certgate's files
  // never use, ends the build with one issue.
  bool Next() {
    if (!reader_.Next()) {
      const core::YamlProblem& e = reader_.error();
      Issue(e.line, e.column, e.message);
      return false;
    }
    if (!reader_.forbidden().empty()) {
      Issue(Line(), Column(), reader_.forbidden());
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
    switch (reader_.event().type) {
      case YAML_SCALAR_EVENT:
        out->kind = YamlNode::Kind::kScalar;
        out->value.assign(reinterpret_cast<const char*>(reader_.event().data.scalar.value), reader_.event().data.scalar.length);
        out->plain = reader_.event().data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
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
    if (reader_.event().type == YAML_SEQUENCE_START_EVENT) {
      out->kind = YamlNode::Kind::kSequence;
      for (;;) {
        if (!Next()) return false;
        if (reader_.event().type == YAML_SEQUENCE_END_EVENT) return true;
        YamlNode item;
        if (!ReadNode(&item, depth + 1)) return false;
        out->items.push_back(std::move(item));
      }
    }
    out->kind = YamlNode::Kind::kMapping;
    for (;;) {
      if (!Next()) return false;
      if (reader_.event().type == YAML_MAPPING_END_EVENT) return true;
      YamlNode key;
      if (!ReadNode(&key, depth + 1)) return false;
      if (key.kind != YamlNode::Kind::kScalar) {
        Issue(key.line, key.column, "a key must be a plain name");
        return false;
      }
      for (const YamlNode& seen : out->keys) {
        if (seen.value == key.value) {
          Issue(key.line, key.column, "duplicate key " + core::QuoteForIssue(key.value) + "; keep only one");
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

  core::YamlReader reader_;
  std::string file_;
  std::vector<core::Issue>* issues_;
  size_t nodes_ = 0;
};
}  // namespace

std::optional<YamlNode> ParseYamlTree(std::string_view text, const std::string& file,
                                      std::vector<core::Issue>* issues) {
  TreeBuilder builder(text, file, issues);
  return builder.Build();
}

}  // namespace certgate::cafetch
