#include "core/policy.h"

#include <string>

namespace certgate::core {

std::string Rule::Label() const {
  if (!name.empty()) return name;
  return "rule " + std::to_string(number) + " (" + where.file + ":" + std::to_string(where.line) + ")";
}

}  // namespace certgate::core
