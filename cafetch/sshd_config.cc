#include "cafetch/sshd_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <system_error>
#include <utility>

#include "cafetch/lines.h"

namespace certgate::cafetch {
namespace {

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// KeywordAndRest splits a trimmed sshd_config line as sshd's strdelim
// does: a keyword that starts with '"' is the text up to the next '"'
// ("Match" is Match; none: no keyword), and the rest starts after it;
// otherwise the keyword ends at a blank or '=', and the blanks and at most
// one '=' after it are skipped.
std::pair<std::string_view, std::string_view> KeywordAndRest(std::string_view line) {
  if (!line.empty() && line.front() == '"') {
    const size_t close = line.find('"', 1);
    if (close == std::string_view::npos) return {{}, {}};
    return {line.substr(1, close - 1), line.substr(close + 1)};
  }
  const size_t end = line.find_first_of(" \t=");
  if (end == std::string_view::npos) return {line, {}};
  std::string_view rest = line.substr(end);
  size_t b = rest.find_first_not_of(" \t");
  rest.remove_prefix(b == std::string_view::npos ? rest.size() : b);
  if (!rest.empty() && rest.front() == '=') rest.remove_prefix(1);
  return {line.substr(0, end), rest};
}

}  // namespace

std::optional<std::vector<std::string>> Arguments(std::string_view line) {
  line = KeywordAndRest(Trim(line)).second;
  std::vector<std::string> args;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    if (line[i] == '#') break;
    std::string arg;
    char quote = 0;
    for (; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '\\' && i + 1 < line.size() &&
          (line[i + 1] == '\'' || line[i + 1] == '"' || line[i + 1] == '\\' ||
           (quote == 0 && (line[i + 1] == ' ' || line[i + 1] == '\t')))) {
        arg += line[++i];
      } else if (quote == 0 && (c == ' ' || c == '\t')) {
        break;
      } else if (quote == 0 && (c == '"' || c == '\'')) {
        quote = c;
      } else if (quote != 0 && c == quote) {
        quote = 0;
      } else {
        arg += c;
      }
    }
    if (quote != 0) return std::nullopt;
    args.push_back(std::move(arg));
  }
  return args;
}

namespace {

// Quoted returns |arg| as one word sshd splits back to |arg|.
std::string Quoted(std::string_view arg) {
  if (!arg.empty() && arg.find_first_of(" \t\"'\\#") == std::string_view::npos) {
    return std::string(arg);
  }
  std::string out = "\"";
  for (char c : arg) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool IsBegin(std::string_view line) { return Trim(line) == kBlockBegin; }
bool IsEnd(std::string_view line) { return Trim(line) == kBlockEnd; }

}  // namespace

std::string Keyword(std::string_view line) {
  line = Trim(line);
  if (line.empty() || line.front() == '#') return "";
  std::string word(KeywordAndRest(line).first);
  std::transform(word.begin(), word.end(), word.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return word;
}

namespace {

// NamesDropInDirectory returns true if the Include argument |arg| of a main
// file in |config_dir| is that directory's sshd_config.d/*.conf.
bool NamesDropInDirectory(std::string_view arg, std::string_view config_dir) {
  constexpr std::string_view kRelative = "sshd_config.d/*.conf";
  // A relative Include resolves against /etc/ssh, whatever -f says.
  if (arg == kRelative) return config_dir == "/etc/ssh";
  return arg.size() == config_dir.size() + 1 + kRelative.size() &&
         arg.substr(0, config_dir.size()) == config_dir && arg[config_dir.size()] == '/' &&
         arg.substr(config_dir.size() + 1) == kRelative;
}

}  // namespace

namespace {

// LineCollector walks a configuration and its Include files for ConfigLines.
class LineCollector {
 public:
  LineCollector(const IncludeExpander& expand, bool with_match, std::vector<ConfigLine>* out)
      : expand_(expand), with_match_(with_match), out_(out) {}

  // Collect reads |text|, the file at |path|. An included file starts in
  // the Match block of the Include line that named it, as sshd reads it;
  // its own Match lines last to its end.
  void Collect(const std::string& path, std::string_view text, int depth, const std::string& outer_match = "",
               bool outer_match_all = false) {
    size_t number = 0;
    std::string match = outer_match;  // Where() of the Match line we are under
    bool match_all = outer_match_all;
    for (std::string_view line : LinesWithEnds(text)) {
      ++number;
      std::string kw = Keyword(line);
      if (kw.empty()) continue;
      // What follows applies only to the connections the Match selects,
      // up to the end of this file.
      if (kw == "match") {
        if (!with_match_) return;
        match = path + ":" + std::to_string(number);
        // sshd takes "all" in any case, alone (a comment may follow).
        const std::vector<std::string> criteria = Arguments(line).value_or(std::vector<std::string>{});
        match_all = criteria.size() == 1 && criteria[0].size() == 3 &&
                    std::equal(criteria[0].begin(), criteria[0].end(), "all",
                               [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
        continue;
      }
      std::optional<std::vector<std::string>> args = Arguments(line);
      if (!args) continue;
      if (kw != "include") {
        out_->push_back(ConfigLine{path, number, std::move(kw), std::move(*args), match, match_all});
        continue;
      }
      if (depth >= kMaxIncludeDepth) continue;
      for (const std::string& arg : *args) {
        if (arg.empty()) continue;
        // A relative Include resolves against /etc/ssh, whatever -f says.
        const std::string pattern = arg.front() == '/' ? arg : "/etc/ssh/" + arg;
        for (const ConfigFile& file : expand_(pattern)) {
          if (++files_ > kMaxIncludedFiles) return;
          Collect(file.path, file.text, depth + 1, match, match_all);
        }
      }
    }
  }

 private:
  const IncludeExpander& expand_;
  const bool with_match_;
  std::vector<ConfigLine>* out_;
  size_t files_ = 0;
};

}  // namespace

std::vector<ConfigLine> ConfigLines(const std::string& main_path, std::string_view main_text,
                                    const IncludeExpander& expand, bool with_match) {
  std::vector<ConfigLine> out;
  LineCollector(expand, with_match, &out).Collect(main_path, main_text, 0);
  return out;
}

bool IncludesDropInDirectory(std::string_view text, std::string_view config_dir) {
  for (std::string_view line : LinesWithEnds(text)) {
    std::string kw = Keyword(line);
    if (kw == "match") return false;
    if (kw != "include") continue;
    std::optional<std::vector<std::string>> args = Arguments(line);
    if (!args) continue;
    for (const std::string& arg : *args) {
      if (NamesDropInDirectory(arg, config_dir)) return true;
    }
  }
  return false;
}

std::string RedirectDropInInclude(std::string_view text, std::string_view config_dir,
                                  std::string_view glob) {
  std::string out;
  bool before_match = true;
  for (std::string_view line : LinesWithEnds(text)) {
    std::string kw = Keyword(line);
    if (kw == "match") before_match = false;
    bool ours = false;
    std::vector<std::string> args;
    if (before_match && kw == "include") {
      args = Arguments(line).value_or(std::vector<std::string>{});
      for (const std::string& arg : args) ours = ours || NamesDropInDirectory(arg, config_dir);
    }
    if (!ours) {
      out.append(line);
      continue;
    }
    out += "Include";
    for (const std::string& arg : args) {
      out += ' ';
      out += NamesDropInDirectory(arg, config_dir) ? Quoted(glob) : Quoted(arg);
    }
    out += '\n';
  }
  return out;
}

std::string RenderDirectives(const std::vector<std::string>& lines) {
  std::string out =
      "# Managed by cafetch (certgate): rewritten on every run; edit cafetch.yaml instead.\n";
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

size_t BlockLine(std::string_view text) {
  const std::vector<std::string_view> lines = LinesWithEnds(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (IsBegin(lines[i])) return i + 1;
  }
  return 0;
}

core::Result<std::string> RewriteMainConfig(std::string_view text, std::string_view body) {
  std::vector<std::string_view> lines = LinesWithEnds(text);
  size_t begin = lines.size(), end = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (IsBegin(lines[i])) {
      if (begin != lines.size()) {
        return core::Fail(core::Errc::kBadFormat, "line " + std::to_string(i + 1) +
                                                      ": a second certgate block (the first begins on line " +
                                                      std::to_string(begin + 1) + "); delete one of them");
      }
      begin = i;
    } else if (IsEnd(lines[i])) {
      if (begin == lines.size() || end != lines.size()) {
        return core::Fail(core::Errc::kBadFormat, "line " + std::to_string(i + 1) +
                                                      ": \"# END certgate\" without its BEGIN line; delete it");
      }
      end = i;
    }
  }
  if (begin != lines.size() && end == lines.size()) {
    return core::Fail(core::Errc::kBadFormat,
                      "line " + std::to_string(begin + 1) +
                          ": \"# BEGIN certgate\" without its END line; delete the partial block, or end it with "
                          "\"# END certgate\"");
  }
  std::string block = std::string(kBlockBegin) + "\n" + std::string(body);
  if (!block.empty() && block.back() != '\n') block += '\n';
  block += std::string(kBlockEnd) + "\n";
  const bool have_block = begin != lines.size();
  size_t first_match = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (have_block && i >= begin && i <= end) continue;
    if (Keyword(lines[i]) == "match") {
      first_match = i;
      break;
    }
  }
  std::string out;
  if (have_block && begin < first_match) {
    // The block is already where it must be: replace it in place. Moving it
    // would put an admin's line written after it ahead of ours (the first
    // value wins in sshd) and change the file on every run.
    for (size_t i = 0; i < begin; ++i) out.append(lines[i]);
    out += block;
    for (size_t i = end + 1; i < lines.size(); ++i) out.append(lines[i]);
    return out;
  }
  // Missing, or after the first Match (where it would apply to that Match
  // only): everything but the old block, byte for byte, with the block
  // before the first Match line.
  std::vector<std::string_view> kept;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (have_block && i >= begin && i <= end) continue;
    kept.push_back(lines[i]);
  }
  size_t at = kept.size();
  for (size_t i = 0; i < kept.size(); ++i) {
    if (Keyword(kept[i]) == "match") {
      at = i;
      break;
    }
  }
  for (size_t i = 0; i < at; ++i) out.append(kept[i]);
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  out += block;
  for (size_t i = at; i < kept.size(); ++i) out.append(kept[i]);
  return out;
}

bool ListContains(std::string_view list, std::string_view item) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (list.substr(0, comma) == item) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool AcceptsSha1Rsa(std::string_view text, bool drop_in) {
  bool ours = drop_in;
  for (std::string_view line : LinesWithEnds(text)) {
    if (!drop_in && IsBegin(line)) ours = true;
    if (!drop_in && IsEnd(line)) ours = false;
    if (!ours || Keyword(line) != "casignaturealgorithms") continue;
    std::optional<std::vector<std::string>> args = Arguments(line);
    if (!args || args->empty()) continue;
    // "+ssh-rsa" as cafetch writes it; a list, or "^"/"-" forms, as an admin
    // might have edited it ("-ssh-rsa" removes it).
    std::string_view list = (*args)[0];
    if (!list.empty() && list.front() == '-') continue;
    if (!list.empty() && (list.front() == '+' || list.front() == '^')) list.remove_prefix(1);
    if (ListContains(list, "ssh-rsa")) return true;
  }
  return false;
}

core::Result<SshdVersion> ParseSshdVersion(std::string_view text) {
  static constexpr std::string_view kTag = "OpenSSH_";
  for (size_t at = text.find(kTag); at != std::string_view::npos; at = text.find(kTag, at + 1)) {
    std::string_view rest = text.substr(at + kTag.size());
    SshdVersion v;
    const char* p = rest.data();
    const char* end = rest.data() + rest.size();
    auto major = std::from_chars(p, end, v.major);
    if (major.ec != std::errc() || major.ptr == end || *major.ptr != '.') continue;
    auto minor = std::from_chars(major.ptr + 1, end, v.minor);
    if (minor.ec != std::errc() || v.major < 1 || v.minor < 0) continue;
    return v;
  }
  return core::Fail(core::Errc::kBadFormat, "no OpenSSH_X.Y version in sshd's output");
}

std::vector<Directive> PlanDirectives(const DirectivePlan& plan) {
  std::vector<Directive> out;
  if (plan.manage_principals_command) {
    out.push_back({"AuthorizedPrincipalsCommand", kPrincipalsCommand});
    out.push_back({"AuthorizedPrincipalsCommandUser", kPrincipalsCommandUser});
  }
  out.push_back({"TrustedUserCAKeys", plan.trusted_user_ca_keys});
  if (plan.accept_sha1_rsa && plan.version.AtLeast(8, 2)) {
    out.push_back({"CASignatureAlgorithms", "+ssh-rsa"});
    // 8.8 stopped accepting the ssh-rsa-cert-v01 algorithm by default. The
    // keyword was renamed in 8.5 (PubkeyAcceptedKeyTypes before), so every
    // version that needs the line knows it by its new name.
    if (plan.version.AtLeast(8, 8)) {
      out.push_back({"PubkeyAcceptedAlgorithms", "+ssh-rsa-cert-v01@openssh.com"});
    }
  }
  return out;
}

std::vector<std::string> DirectiveLines(const std::vector<Directive>& directives) {
  std::vector<std::string> lines;
  for (const Directive& d : directives) lines.push_back(d.Line());
  return lines;
}

}  // namespace certgate::cafetch
