#include "core/policy.h"

#include <string>

namespace certgate::core {

const std::string& RuleLocation::File() const {
  static const std::string kUnknown = "policy";
  return file ? *file : kUnknown;
}

const Constraints& Rule::Own() const {
  static const Constraints kNone;
  return constraints ? *constraints : kNone;
}

std::string Rule::Label() const {
  if (!name.empty()) return name;
  return "rule " + std::to_string(number) + " (" + where.File() + ":" + std::to_string(where.line) + ")";
}

}  // namespace certgate::core
