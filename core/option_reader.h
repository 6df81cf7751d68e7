// OptionReader: the one loop that reads "--name", "--name=VALUE" and
// "--name VALUE" words from a command line, shared by the helpers
// (helper_args.cc) and certgate-decide (decide/service_args.cc) so that
// both split, repeat-check and refuse values the same way.
#ifndef CERTGATE_CORE_OPTION_READER_H_
#define CERTGATE_CORE_OPTION_READER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace certgate::core {

// OptionReader walks |args| (argv without argv[0]) one option at a time:
//
//   OptionReader r(args);
//   while (r.Next()) {
//     if (r.name() == "--policy") st = r.Value(&path, "a path");
//     else if (r.name() == "--verbose") st = r.Flag();
//     ...
//   }
//   // r.position(): the first word that is not an option, or args.size()
//
// Next() stops at the first word that does not start with "--" and at "--"
// itself; what that word means is the caller's. An option that takes a
// value may be given once, unless the caller says it repeats: which of two
// would be meant cannot be told (sshd_config keeps the first of a keyword,
// most commands the last), so it is refused.
class OptionReader {
 public:
  // |args| is read in place: it must outlive the reader.
  explicit OptionReader(std::span<const std::string> args) : args_(args) {}

  // Next moves to the next word; false (and position() on that word) when
  // it is not an option or there are no more.
  bool Next();

  // name is the option without its "=VALUE" ("--policy" of
  // "--policy=/p"); word is the whole word as given.
  std::string_view name() const { return name_; }
  std::string_view word() const { return args_[position_]; }

  // position is the index of the current word; after Next() returned
  // false, that of the first word not read as an option.
  size_t position() const { return position_; }

  // Value takes the option's value into |out|: the text after '=', or the
  // next word. kUsage "NAME needs WANTED" if there is none, or if the next
  // word is an option (ForgottenValue), "NAME is given twice; give it once"
  // on a second use unless |repeatable|.
  Status Value(std::string* out, std::string_view wanted, bool repeatable = false);

  // AbsolutePathValue is Value for a path that must be absolute; with
  // |none_allowed|, "none" is accepted and gives "" (no such file: the
  // snapshot options). The reason otherwise is "NAME needs an absolute
  // path" (", or none").
  Status AbsolutePathValue(std::string* out, bool none_allowed = false);

  // UnsignedValue takes a whole number from |min| to |max|: kUsage "NAME
  // needs a whole number, not "TEXT"" or "NAME must be MIN to MAX UNIT".
  Result<uint64_t> UnsignedValue(uint64_t min, uint64_t max, std::string_view unit = {});

  // Flag checks that a flag option has no "=VALUE": "NAME takes no value".
  Status Flag() const;

 private:
  std::span<const std::string> args_;
  size_t position_ = 0;
  bool started_ = false;
  std::string_view name_;
  std::optional<std::string_view> inline_value_;
  std::vector<std::string_view> given_;  // options that took a value so far
};

// ForgottenValue returns, when |next|, the word after the option |name|,
// starts with "--", the usage error "NAME needs WANTED, not the option
// NEXT (...)": its value was forgotten and the next option would be taken
// for it (a value that starts with -- is given as --name=value). nullopt
// otherwise. cafetch's --config says the same.
std::optional<std::string> ForgottenValue(std::string_view name, std::string_view wanted, std::string_view next);

// ParseUnsigned reads |text| as a whole decimal number (no sign, no
// spaces): kUsage "OPTION needs a whole number, not "TEXT"" otherwise.
Result<uint64_t> ParseUnsigned(std::string_view option, std::string_view text);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_OPTION_READER_H_
