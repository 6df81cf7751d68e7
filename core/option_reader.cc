#include "core/option_reader.h"

#include <algorithm>
#include <charconv>

namespace certgate::core {
namespace {

enum class Decimal { kOk, kNotANumber, kTooLarge };

// ReadDecimal reads all of |text| as an unsigned decimal number: digits
// only, no sign, no spaces.
Decimal ReadDecimal(std::string_view text, uint64_t* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  if (text.empty() || ptr != end) return Decimal::kNotANumber;
  if (ec == std::errc::result_out_of_range) return Decimal::kTooLarge;
  return ec == std::errc() ? Decimal::kOk : Decimal::kNotANumber;
}

}  // namespace

bool OptionReader::Next() {
  if (started_) ++position_;
  started_ = true;
  if (position_ >= args_.size()) return false;
  const std::string_view arg = args_[position_];
  if (!arg.starts_with("--") || arg == "--") return false;
  name_ = arg;
  inline_value_.reset();
  if (size_t eq = arg.find('='); eq != std::string_view::npos) {
    name_ = arg.substr(0, eq);
    inline_value_ = arg.substr(eq + 1);
  }
  return true;
}

Status OptionReader::Value(std::string* out, std::string_view wanted, bool repeatable) {
  if (!repeatable && std::ranges::find(given_, name_) != given_.end()) {
    return Fail(Errc::kUsage, std::string(name_) + " is given twice; give it once");
  }
  given_.push_back(name_);
  if (inline_value_) {
    *out = std::string(*inline_value_);
    return Ok();
  }
  if (position_ + 1 >= args_.size()) {
    return Fail(Errc::kUsage, std::string(name_) + " needs " + std::string(wanted));
  }
  // "--policy --verbose": the value was forgotten.
  if (std::optional<std::string> forgotten = ForgottenValue(name_, wanted, args_[position_ + 1])) {
    return Fail(Errc::kUsage, *forgotten);
  }
  *out = args_[++position_];
  return Ok();
}

std::optional<std::string> ForgottenValue(std::string_view name, std::string_view wanted, std::string_view next) {
  if (!next.starts_with("--")) return std::nullopt;
  return std::string(name) + " needs " + std::string(wanted) + ", not the option " + std::string(next) + " (write " +
         std::string(name) + "=VALUE for a value that starts with --)";
}

Status OptionReader::AbsolutePathValue(std::string* out, bool none_allowed) {
  const std::string wanted = none_allowed ? "an absolute path, or none" : "an absolute path";
  Status st = Value(out, wanted);
  if (!st) return st;
  if (none_allowed && *out == "none") {
    out->clear();
    return Ok();
  }
  if (out->empty() || out->front() != '/') return Fail(Errc::kUsage, std::string(name_) + " needs " + wanted);
  return Ok();
}

Result<uint64_t> OptionReader::UnsignedValue(uint64_t min, uint64_t max, std::string_view unit) {
  const std::string range = std::to_string(min) + " to " + std::to_string(max) +
                            (unit.empty() ? "" : " " + std::string(unit));
  std::string text;
  if (Status st = Value(&text, "a whole number, " + range); !st) return Unexpected{st.error()};
  uint64_t v = 0;
  switch (ReadDecimal(text, &v)) {
    case Decimal::kNotANumber:
      return Fail(Errc::kUsage, std::string(name_) + " needs a whole number, not \"" + text + "\"");
    case Decimal::kTooLarge:
      return Fail(Errc::kUsage, std::string(name_) + " must be " + range);
    case Decimal::kOk:
      break;
  }
  if (v < min || v > max) return Fail(Errc::kUsage, std::string(name_) + " must be " + range);
  return v;
}

Status OptionReader::Flag() const {
  if (inline_value_) return Fail(Errc::kUsage, std::string(name_) + " takes no value");
  return Ok();
}

Result<uint64_t> ParseUnsigned(std::string_view option, std::string_view text) {
  uint64_t v = 0;
  switch (ReadDecimal(text, &v)) {
    case Decimal::kNotANumber:
      return Fail(Errc::kUsage, std::string(option) + " needs a whole number, not \"" + std::string(text) + "\"");
    case Decimal::kTooLarge:
      return Fail(Errc::kUsage, std::string(option) + " is too large: " + std::string(text));
    case Decimal::kOk:
      break;
  }
  return v;
}

}  // namespace certgate::core
