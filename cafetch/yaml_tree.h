// A small YAML tree for cafetch.yaml, built from libyaml's event API.
#ifndef CERTGATE_CAFETCH_YAML_TREE_H_
#define CERTGATE_CAFETCH_YAML_TREE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy_loader.h"  // core::Issue

namespace certgate::cafetch {

// YamlNode is one node of a small YAML document: the config grammar is
// small, so the loader builds a tree first (rejecting anchors, aliases, tags
// and duplicate keys) and then checks it against the grammar. Lines and
// columns are 1-based.
struct YamlNode {
  enum class Kind { kScalar, kSequence, kMapping };
  Kind kind = Kind::kScalar;
  int line = 0;
  int column = 0;
  std::string value;  // scalar
  bool plain = false;
  std::vector<YamlNode> items;                          // sequence
  std::vector<YamlNode> keys;                           // mapping keys, in order
  std::vector<YamlNode> values;                         // values, parallel to keys

  bool IsNull() const {
    return kind == Kind::kScalar && plain && (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL");
  }
};

// ParseYamlTree parses |text| (named |file| in issues) as exactly one YAML
// document of at most 16 levels and 10,000 nodes. Anchors, aliases, tags,
// non-scalar keys and duplicate keys are errors. Returns the root, or
// nullopt after appending the first problem to |issues|.
std::optional<YamlNode> ParseYamlTree(std::string_view text, const std::string& file,
                                      std::vector<core::Issue>* issues);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_YAML_TREE_H_
