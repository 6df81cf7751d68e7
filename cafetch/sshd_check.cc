#include "cafetch/sshd_check.h"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "cafetch/atomic_file.h"
#include "cafetch/subprocess.h"
#include "core/log.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// FirstLine returns the first non-empty line of |text|, escaped for a log.
std::string FirstLine(std::string_view text) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // a CRLF file's line, quoted by sshd
    if (!line.empty()) return core::EscapeForLog(FileLineForm(line));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return "(no output)";
}

constexpr uint64_t kSshdTimeoutMs = 30000;

// ConfigName returns how a message names |d|'s keyword: as sshd_config(5)
// spells it, with the old name of a renamed keyword too, so that a grep
// of the admin's files finds either spelling.
std::string ConfigName(const Directive& d) {
  const std::string key = Lower(d.keyword);
  if (key == "pubkeyacceptedalgorithms" || key == "pubkeyacceptedkeytypes") {
    return "PubkeyAcceptedAlgorithms (or its old name PubkeyAcceptedKeyTypes)";
  }
  return d.keyword;
}

// Joined returns |args| separated by single blanks, as sshd -T prints a
// command.
std::string Joined(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

// SameKeyword is true for a line of |d|'s keyword, by either name of a
// renamed keyword.
bool SameKeyword(const ConfigLine& line, const Directive& d) {
  const std::string key = Lower(d.keyword);
  auto renamed = [](std::string_view k) {
    return k == "pubkeyacceptedalgorithms" || k == "pubkeyacceptedkeytypes";
  };
  return line.keyword == key || (renamed(line.keyword) && renamed(key));
}

// Located is where the admin's line that wins over |d| is, whether it
// comes after cafetch's own line, and whether cafetch's line is there.
struct Located {
  const ConfigLine* line = nullptr;
  bool after_ours = false;
  bool ours_found = false;
};

// LocateWinner finds, in |lines|, the line of |d|'s keyword that sshd -T's
// |have| comes from: for AuthorizedPrincipalsCommand (OpenSSH 9.2 takes
// the last value) the last line other than cafetch's whose command is
// |have|, else the last other line unless |have| is "none"; for every
// other keyword the first line, unless it is cafetch's own.
Located LocateWinner(const std::vector<ConfigLine>& lines, const Directive& d, const std::string& have) {
  const std::vector<std::string> ours = Arguments(d.Line()).value_or(std::vector<std::string>{});
  std::optional<size_t> ours_at;
  std::vector<size_t> others;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!SameKeyword(lines[i], d)) continue;
    if (lines[i].args == ours) {
      if (!ours_at) ours_at = i;
    } else {
      others.push_back(i);
    }
  }
  std::optional<size_t> winner;
  if (Lower(d.keyword) == "authorizedprincipalscommand") {
    for (size_t i : others) {
      if (Joined(lines[i].args) == have) winner = i;
    }
    // sshd -T may print a command other than as written (quoting): the
    // last line then, but never for "none", which no admin's command is.
    if (!winner && !others.empty() && have != "none") winner = others.back();
  } else if (!others.empty() && (!ours_at || others.front() < *ours_at)) {
    winner = others.front();
  }
  if (!winner) return Located{nullptr, false, ours_at.has_value()};
  return Located{&lines[*winner], ours_at.has_value() && *winner > *ours_at, ours_at.has_value()};
}

// ProvidesItems is true if the list |value| of an sshd_config line (a
// plain list, or one that adds to the default with '+' or puts first with
// '^') has every item of cafetch's "+item,..." |wanted|; a list that
// removes ('-') is taken as not.
bool ProvidesItems(std::string_view value, std::string_view wanted) {
  if (!value.empty() && value.front() == '-') return false;
  if (!value.empty() && (value.front() == '+' || value.front() == '^')) value.remove_prefix(1);
  wanted.remove_prefix(1);
  while (!wanted.empty()) {
    size_t comma = wanted.find(',');
    if (!ListContains(value, wanted.substr(0, comma))) return false;
    if (comma == std::string_view::npos) break;
    wanted.remove_prefix(comma + 1);
  }
  return true;
}

// SetsOtherValue is true if the sshd_config |line| (of |d|'s keyword) sets
// a value other than cafetch's |d|.
bool SetsOtherValue(const ConfigLine& line, const Directive& d) {
  const std::string value = Joined(line.args);
  if (!d.value.empty() && d.value[0] == '+') return !ProvidesItems(value, d.value);
  return value != d.value;
}

// MatchAllConflict returns the first line of |lines| in a "Match all"
// block that sets |d|'s keyword to another value, or nullptr.
const ConfigLine* MatchAllConflict(const std::vector<ConfigLine>& lines, const Directive& d) {
  for (const ConfigLine& line : lines) {
    if (line.match_all && SameKeyword(line, d) && SetsOtherValue(line, d)) return &line;
  }
  return nullptr;
}

// FromMatchBlock is true if sshd -T's |have| for |d|, shown for a root
// login from loopback, can come from a Match block of |lines| (one that
// sets |d|'s keyword to |have|, or, for a "+item" directive, at all)
// while cafetch's line comes first among the |global| lines (those
// outside Match blocks).
bool FromMatchBlock(const std::vector<ConfigLine>& lines, const std::vector<ConfigLine>& global,
                    const Directive& d, const std::string& have) {
  const bool list = !d.value.empty() && d.value[0] == '+';
  bool found = false;
  for (const ConfigLine& line : lines) {
    if (line.match.empty() || line.match_all || !SameKeyword(line, d)) continue;
    found = found || list || Joined(line.args) == have;
  }
  if (!found) return false;
  const Located at = LocateWinner(global, d, have);
  return at.ours_found && at.line == nullptr;
}

}  // namespace

core::Result<SshdVersion> DetectSshdVersion(const std::string& binary) {
  core::Result<ChildResult> r = RunChild({binary, "-V"}, kSshdTimeoutMs);
  if (!r) return core::Unexpected{r.error()};
  core::Result<SshdVersion> v = ParseSshdVersion(r->err + "\n" + r->out);
  if (!v) return Fail(Errc::kBadFormat, binary + " -V: " + v.error().detail);
  return v;
}

core::Status CheckSshdConfig(const std::string& binary, const std::string& config) {
  core::Result<ChildResult> r = RunChild({binary, "-t", "-f", config}, kSshdTimeoutMs);
  if (!r) return core::Unexpected{r.error()};
  if (!r->exited_cleanly) {
    return Fail(Errc::kBadFormat, "sshd -t -f " + config + " failed (" + r->Describe() +
                                      "): " + FirstLine(r->err));
  }
  return core::Ok();
}

EffectiveConfig ParseEffectiveConfig(std::string_view text) {
  EffectiveConfig out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t sp = line.find(' ');
    if (line.empty() || sp == 0) continue;
    std::string_view value = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    out.emplace_back(Lower(line.substr(0, sp)), std::string(value));
  }
  return out;
}

DumpScope DumpScopeFor(const SshdVersion& version) {
  return version.AtLeast(7, 7) && !version.AtLeast(8, 1) ? DumpScope::kRootFromLoopback : DumpScope::kGlobal;
}

core::Result<EffectiveConfig> DumpEffectiveConfig(const std::string& binary, const std::string& config,
                                                  DumpScope scope) {
  std::vector<std::string> argv = {binary, "-T", "-f", config};
  if (scope == DumpScope::kRootFromLoopback) {
    argv.push_back("-C");
    argv.push_back(kConnectionSpec);
  }
  core::Result<ChildResult> r = RunChild(argv, kSshdTimeoutMs);
  if (!r) return core::Unexpected{r.error()};
  if (!r->exited_cleanly) {
    return Fail(Errc::kBadFormat, "sshd -T -f " + config + " failed (" + r->Describe() +
                                      "): " + FirstLine(r->err));
  }
  return ParseEffectiveConfig(r->out);
}

std::string EffectiveValue(const EffectiveConfig& effective, std::string_view keyword) {
  for (const auto& [key, value] : effective) {
    if (key == keyword) return value;
  }
  return "";
}

std::vector<ConfigLine> ReadConfigLines(const std::string& main_path, bool with_match) {
  core::Result<std::optional<std::string>> main_text = ReadFollowingLinks(main_path);
  if (!main_text || !main_text->has_value()) return {};
  IncludeExpander expand = [](const std::string& pattern) {
    std::vector<ConfigFile> files;
    glob_t found{};
    if (glob(pattern.c_str(), 0, nullptr, &found) == 0) {
      for (size_t i = 0; i < found.gl_pathc; ++i) {
        core::Result<std::optional<std::string>> text = ReadFollowingLinks(found.gl_pathv[i]);
        if (text && text->has_value()) files.push_back(ConfigFile{found.gl_pathv[i], std::move(**text)});
      }
    }
    globfree(&found);
    return files;
  };
  return ConfigLines(main_path, **main_text, expand, with_match);
}

core::Status VerifyEffective(const EffectiveConfig& effective,
                             const std::vector<Directive>& wanted,
                             const std::vector<ConfigLine>& all_lines,
                             DumpScope scope) {
  // Only the lines outside Match blocks decide which line wins for every
  // connection; a Match block's line is in force only for the connections
  // it selects (WarnMatchOverrides, agent.cc), except "Match all".
  std::vector<ConfigLine> lines;
  for (const ConfigLine& line : all_lines) {
    if (line.match.empty()) lines.push_back(line);
  }
  for (const Directive& d : wanted) {
    // sshd 7.7 and later show a Match all block's value in sshd -T, earlier
    // ones do not: found in the lines, for every version alike.
    if (const ConfigLine* all = MatchAllConflict(all_lines, d); all != nullptr) {
      return Fail(Errc::kBadFormat,
                  "the admin's line " + core::EscapeForLog(all->Where()) + ", in the \"Match all\" block of " +
                      core::EscapeForLog(all->match) + ", sets " + ConfigName(d) + " to " +
                      core::EscapeForLog(Joined(all->args)) + " for every connection, over cafetch's \"" +
                      d.Line() + "\" (a Match block's values win over the lines before it); remove that line, "
                      "or set it to cafetch's value");
    }
    std::string key = Lower(d.keyword);
    // sshd -T prints the current name of a renamed keyword.
    if (key == "pubkeyacceptedkeytypes" && EffectiveValue(effective, key).empty()) {
      key = "pubkeyacceptedalgorithms";
    }
    std::string have = EffectiveValue(effective, key);
    if (!d.value.empty() && d.value[0] == '+') {
      std::string_view items(d.value);
      items.remove_prefix(1);
      while (!items.empty()) {
        size_t comma = items.find(',');
        std::string_view item = items.substr(0, comma);
        if (!ListContains(have, item)) {
          if (scope == DumpScope::kRootFromLoopback && FromMatchBlock(all_lines, lines, d, have)) break;
          const std::string shows = "sshd -T shows " + key + " without " + std::string(item);
          const Located at = LocateWinner(lines, d, have);
          if (at.line != nullptr) {
            return Fail(Errc::kBadFormat, shows + ": the admin's line " + core::EscapeForLog(at.line->Where()) +
                                              " comes before cafetch's and wins (the first value is used); "
                                              "remove or change that " + ConfigName(d) + " line");
          }
          return Fail(Errc::kBadFormat, shows + " (an earlier line in the configuration wins?); remove or change the "
                                                "admin's own " + ConfigName(d) + " line that comes first");
        }
        if (comma == std::string_view::npos) break;
        items.remove_prefix(comma + 1);
      }
      continue;
    }
    if (have == d.value) continue;
    if (scope == DumpScope::kRootFromLoopback && FromMatchBlock(all_lines, lines, d, have)) continue;
    const bool principals_command = key == "authorizedprincipalscommand";
    const Located at = LocateWinner(lines, d, have);
    const std::string where = at.line != nullptr ? core::EscapeForLog(at.line->Where()) : "";
    std::string why;
    if (principals_command && have == "none" && at.line == nullptr) {
      const ConfigLine* keys_command = nullptr;
      for (const ConfigLine& line : lines) {
        if (keys_command == nullptr && line.keyword == "authorizedkeyscommand") keys_command = &line;
      }
      why = " (OpenSSH 9.2 drops AuthorizedPrincipalsCommand when an AuthorizedKeysCommand comes before it" +
            (keys_command != nullptr ? ": " + core::EscapeForLog(keys_command->Where()) : std::string()) +
            "); remove that AuthorizedKeysCommand line or set sshd.manage_principals_command: false";
    } else if (principals_command && at.line != nullptr) {
      why = ": the admin's AuthorizedPrincipalsCommand line " + where + " wins (it comes " +
            (at.after_ours ? "after" : "before") +
            " cafetch's; OpenSSH 9.2 takes the last value of this keyword, not the first); remove that line or set "
            "sshd.manage_principals_command: false";
    } else if (principals_command) {
      why = " (an admin's AuthorizedPrincipalsCommand line wins: one before cafetch's, or, on OpenSSH 9.2, which "
            "takes the last value of this keyword, one after it); remove the admin's AuthorizedPrincipalsCommand "
            "line, in sshd_config or a drop-in, or set sshd.manage_principals_command: false";
    } else if (at.line != nullptr) {
      why = ": the admin's line " + where +
            " comes before cafetch's and wins (the first value is used); remove that " + ConfigName(d) + " line";
    } else {
      why = " (an earlier line in the configuration wins: the first value is used); remove the " + ConfigName(d) +
            " line that comes before cafetch's, in sshd_config or an earlier drop-in";
    }
    return Fail(Errc::kBadFormat, "sshd -T shows " + key + " " +
                                      (have.empty() ? std::string("unset") : core::EscapeForLog(have)) +
                                      ", not " + d.value + why);
  }
  return core::Ok();
}

std::string FileLineForm(std::string_view line) {
  constexpr std::string_view kLine = ": line ";
  const size_t at = line.find(kLine);
  if (at == std::string_view::npos || at == 0) return std::string(line);
  const size_t digits = at + kLine.size();
  size_t end = digits;
  while (end < line.size() && line[end] >= '0' && line[end] <= '9') ++end;
  if (end == digits || line.substr(end, 2) != ": ") return std::string(line);
  return std::string(line.substr(0, at)) + ":" + std::string(line.substr(digits, end - digits)) +
         std::string(line.substr(end));
}

}  // namespace certgate::cafetch
