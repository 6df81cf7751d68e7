// cafetch.yaml: a YAML tree (yaml_tree.h) checked against the grammar of
// man/cafetch.yaml.5, every problem an Issue at FILE:LINE:COLUMN.
#include "cafetch/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <utility>

#include "cafetch/fetcher.h"
#include "cafetch/sshd_config.h"
#include "cafetch/yaml_tree.h"
#include "core/atomic_file.h"
#include "core/base64.h"
#include "core/duration.h"
#include "core/log.h"
#include "core/read_file.h"
#include "core/safe_directory.h"
#include "core/suggest.h"
#include "core/unique_fd.h"
#include "core/yaml_reader.h"

namespace certgate::cafetch {
namespace {

// Checker walks the tree against the grammar, collecting every issue.
class Checker {
 public:
  Checker(std::string file, std::vector<core::Issue>* issues) : file_(std::move(file)), issues_(issues) {}

  void Issue(const YamlNode& at, std::string message) {
    issues_->push_back(core::Issue{core::SourceLocation{file_, at.line, at.column}, std::move(message)});
  }
  // Missing records that the mapping |at| lacks a key. It is given after
  // every other issue: often a consequence of one of them (a misspelt key).
  void Missing(const YamlNode& at, std::string message) {
    missing_.push_back(core::Issue{core::SourceLocation{file_, at.line, at.column}, std::move(message)});
  }
  // Finish puts the issues in file order, then the missing keys in file
  // order. The checks that need all of a mapping's keys (jitter against
  // interval) run after its keys, so their issues came late.
  void Finish() {
    auto by_place = [](const core::Issue& a, const core::Issue& b) {
      return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
    };
    std::stable_sort(issues_->begin(), issues_->end(), by_place);
    std::stable_sort(missing_.begin(), missing_.end(), by_place);
    issues_->insert(issues_->end(), std::make_move_iterator(missing_.begin()),
                    std::make_move_iterator(missing_.end()));
    missing_.clear();
  }

  // Members checks that |node| is a mapping whose keys are all in |known|
  // and calls |fn(key, value)| for each. Returns false if not a mapping.
  template <typename F>
  bool Members(const YamlNode& node, std::string_view context, std::initializer_list<std::string_view> known, F&& fn) {
    if (node.kind != YamlNode::Kind::kMapping) {
      Issue(node, std::string(context) + " must be a mapping (key: value lines), not " + KindName(node));
      return false;
    }
    for (size_t i = 0; i < node.keys.size(); ++i) {
      const YamlNode& key = node.keys[i];
      const YamlNode& value = node.values[i];
      bool found = false;
      for (std::string_view k : known) found = found || k == key.value;
      if (!found) {
        Issue(key, "unknown key " + core::QuoteForIssue(key.value) + " in " + std::string(context) +
                       core::SuggestOrList(key.value, known));
        ++unknown_keys_;
        continue;
      }
      fn(key.value, value);
    }
    return true;
  }

  static std::string KindName(const YamlNode& node) {
    if (node.kind == YamlNode::Kind::kMapping) return "a mapping";
    if (node.kind == YamlNode::Kind::kSequence) return "a list";
    return node.IsNull() ? "nothing" : "a single value";
  }

  bool Scalar(const YamlNode& node, std::string_view key, std::string* out) {
    if (node.kind != YamlNode::Kind::kScalar || node.IsNull()) {
      Issue(node, std::string(key) + " must be a single value, not " + KindName(node));
      return false;
    }
    *out = node.value;
    return true;
  }

  bool Path(const YamlNode& node, std::string_view key, std::string* out) {
    std::string v;
    if (!Scalar(node, key, &v)) return false;
    const bool control = std::any_of(v.begin(), v.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
    if (v.empty() || v.front() != '/' || control) {
      Issue(node, std::string(key) + " must be an absolute path, not " + core::QuoteForIssue(v));
      return false;
    }
    path_nodes_[std::string(key)] = &node;
    *out = v;
    return true;
  }

  // SshdConfigPath is a Path that cafetch writes into sshd_config as a
  // directive's one argument: sshd would split it at a blank and read
  // quotes and backslashes as quoting, so none may appear in it.
  bool SshdConfigPath(const YamlNode& node, std::string_view key, std::string* out) {
    std::string v;
    if (!Path(node, key, &v)) return false;
    if (v.find_first_of(" \"'\\") != std::string::npos) {
      Issue(node, std::string(key) + " is written into sshd_config, so it must not contain blanks, quotes or "
                  "backslashes, not " + core::QuoteForIssue(v));
      return false;
    }
    *out = v;
    return true;
  }

  bool Bool(const YamlNode& node, std::string_view key, bool* out) {
    if (node.kind == YamlNode::Kind::kScalar && node.plain) {
      if (node.value == "true") {
        *out = true;
        return true;
      }
      if (node.value == "false") {
        *out = false;
        return true;
      }
    }
    Issue(node, std::string(key) + " must be true or false (without quotes)");
    return false;
  }

  bool Duration(const YamlNode& node, std::string_view key, uint64_t* out) {
    std::string v;
    if (!Scalar(node, key, &v)) return false;
    core::Result<uint64_t> d = core::ParseDuration(v);
    if (!d) {
      Issue(node, std::string(key) + ": " + d.error().detail);
      return false;
    }
    *out = *d;
    return true;
  }

  // List accepts a list of single values or one single value.
  bool List(const YamlNode& node, std::string_view key, std::vector<const YamlNode*>* out) {
    if (node.kind == YamlNode::Kind::kScalar && !node.IsNull()) {
      out->push_back(&node);
      return true;
    }
    if (node.kind != YamlNode::Kind::kSequence) {
      Issue(node, std::string(key) + " must be a list, not " + KindName(node));
      return false;
    }
    bool ok = true;
    for (const YamlNode& item : node.items) {
      if (item.kind != YamlNode::Kind::kScalar || item.IsNull()) {
        Issue(item, "an item of " + std::string(key) + " must be a single value, not " + KindName(item));
        ok = false;
        continue;
      }
      out->push_back(&item);
    }
    return ok;
  }

  void CheckUrl(const YamlNode& at, std::string_view key, const std::string& url, bool local_ok) {
    if (url.rfind("https://", 0) == 0 && url.size() > 8) {
      for (char c : url) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
          Issue(at, std::string(key) + " must not contain blanks or control characters");
          return;
        }
      }
      return;
    }
    if (local_ok && IsLocalUrl(url)) {
      const std::string path = LocalPath(url);
      if (path.empty() || path.front() != '/' || path.find('\n') != std::string::npos) {
        Issue(at, std::string(key) + " must be an absolute path or file:///path");
      }
      return;
    }
    Issue(at, std::string(key) + " must start with https://" +
                  (local_ok ? std::string(" (or be an absolute path / file:///path)") : std::string()) +
                  ", not " + core::QuoteForIssue(Redact(url)));  // no password or token in the message
  }

  void Tls(const YamlNode& node, TlsConfig* tls) {
    Members(node, "issuer.tls", {"ca_file", "pin_sha256"}, [&](std::string_view key, const YamlNode& value) {
      if (key == "ca_file") {
        Path(value, "issuer.tls.ca_file", &tls->ca_file);
      } else {
        std::vector<const YamlNode*> pins;
        if (!List(value, "issuer.tls.pin_sha256", &pins)) return;
        for (const YamlNode* pin : pins) {
          core::Result<std::vector<uint8_t>> raw = core::Base64Decode(pin->value);
          if (!raw || raw->size() != 32) {
            Issue(*pin, "issuer.tls.pin_sha256 entries are the base64 SHA-256 of the SubjectPublicKeyInfo "
                        "(44 characters ending in '='); see cafetch.yaml(5)");
            continue;
          }
          tls->pin_sha256.push_back(pin->value);
        }
      }
    });
  }

  void Issuer(const YamlNode& node, IssuerConfig* issuer) {
    bool have_type = false;
    bool type_given = false;
    bool have_url = false;
    bool have_path = false;
    bool have_name = false;
    bool url_given = false;
    const YamlNode* path_node = nullptr;
    const YamlNode* url_node = &node;
    const YamlNode* name_node = &node;
    const YamlNode* token_node = nullptr;
    const YamlNode* tls_node = nullptr;
    // A key reported as unknown is most often a misspelt one ("pth:"): then
    // "issuer needs a url" or "needs token_file" would only repeat it.
    const size_t unknown_before = unknown_keys_;
    if (!Members(node, "issuer", {"type", "url", "path", "name", "tls", "token_file", "timeout"},
                 [&](std::string_view key, const YamlNode& value) {
                   if (key == "type") {
                     type_given = true;  // a bad one is its own issue, not "needs a type"
                     std::string t;
                     if (!Scalar(value, "issuer.type", &t)) return;
                     std::optional<IssuerType> type = IssuerTypeFromName(t);
                     if (!type) {
                       Issue(value, "issuer.type must be one of vault, step, akeyless, cyberark, teleport, url, "
                                    "file, not " + core::QuoteForIssue(t));
                       return;
                     }
                     issuer->type = *type;
                     have_type = true;
                   } else if (key == "url") {
                     url_node = &value;
                     url_given = true;
                     have_url = Scalar(value, "issuer.url", &issuer->url);
                   } else if (key == "path") {
                     path_node = &value;
                     std::string path;
                     have_path = Path(value, "issuer.path", &path);
                     if (have_path && !have_url) issuer->url = path;
                   } else if (key == "name") {
                     name_node = &value;
                     have_name = Scalar(value, "issuer.name", &issuer->name);
                   } else if (key == "tls") {
                     tls_node = &value;
                     Tls(value, &issuer->tls);
                   } else if (key == "token_file") {
                     token_node = &value;
                     Path(value, "issuer.token_file", &issuer->token_file);
                   } else if (key == "timeout") {
                     uint64_t t = 0;
                     if (!Duration(value, "issuer.timeout", &t)) return;
                     if (t < 1 || t > kMaxTimeoutSeconds) {
                       Issue(value, "issuer.timeout must be from 1s to 5m");
                       return;
                     }
                     issuer->timeout_seconds = t;
                   }
                 })) {
      return;
    }
    if (!type_given) Missing(node, "issuer needs a type: one of vault, step, akeyless, cyberark, teleport, url, file");
    if (path_node != nullptr) {
      // issuer.path: the file issuer's file, as an admin would name it.
      if (have_type && issuer->type != IssuerType::kFile) {
        Issue(*path_node, "issuer.path is only for a file issuer; give this issuer a url");
        return;
      }
      if (url_given) {
        Issue(*path_node, "give issuer.url or issuer.path, not both");
        return;
      }
      if (!have_path) return;
      url_node = path_node;
      have_url = true;
      issuer->url_key = "issuer.path";
    }
    const bool misspelt = unknown_keys_ != unknown_before;
    if (!url_given && path_node == nullptr && !misspelt) {
      Missing(node, "issuer needs a url (or, for a file issuer, a path)");
    }
    if (!have_type || !have_url) return;
    path_nodes_[issuer->url_key] = url_node;
    const bool local_type = issuer->type == IssuerType::kFile;
    if (local_type) {
      if (!IsLocalUrl(issuer->url)) Issue(*url_node, "issuer.url of a file issuer must be an absolute path or file:///path");
    } else {
      CheckUrl(*url_node, "issuer.url", issuer->url, issuer->type == IssuerType::kUrl);
    }
    if (issuer->type == IssuerType::kAkeyless) {
      if (issuer->token_file.empty() && !misspelt) Missing(node, "an akeyless issuer needs token_file");
      for (char c : issuer->name) {
        if (c < 0x20 || c > 0x7e) {
          Issue(*name_node, "issuer.name must be printable ASCII");
          break;
        }
      }
    } else if (have_name) {
      Issue(*name_node, "issuer.name is used only by an akeyless issuer");
    }
    if (issuer->type == IssuerType::kCyberark && issuer->token_file.empty() && !misspelt) {
      Missing(node, "a cyberark issuer needs token_file");
    }
    // A local answer is read from a file: no request carries the token, so
    // a token_file there would be silently ignored (fetcher.cc).
    if (token_node != nullptr && local_type) {
      Issue(*token_node, "issuer.token_file is not used by a file issuer, which reads a local file and sends no "
                         "token; remove it");
    } else if (token_node != nullptr && issuer->type == IssuerType::kUrl && IsLocalUrl(issuer->url)) {
      Issue(*token_node, "issuer.token_file is not used with a local issuer.url, which is read as a file and sends "
                         "no token; remove it, or give an https:// url");
    }
    // Nor is TLS: a pin or CA file there would look like a check made.
    if (tls_node != nullptr && local_type) {
      Issue(*tls_node, "issuer.tls is not used by a file issuer, which reads a local file over no connection; "
                       "remove it");
    } else if (tls_node != nullptr && issuer->type == IssuerType::kUrl && IsLocalUrl(issuer->url)) {
      Issue(*tls_node, "issuer.tls is not used with a local issuer.url, which is read as a file over no "
                       "connection; remove it, or give an https:// url");
    }
  }

  void BundleSignature(const YamlNode& node, BundleSignatureConfig* out, bool issuer_local) {
    bool have_url = false;
    bool have_signers = false;
    if (!Members(node, "bundle_signature", {"url", "allowed_signers"}, [&](std::string_view key, const YamlNode& value) {
          if (key == "url") {
            if (!Scalar(value, "bundle_signature.url", &out->url)) return;
            have_url = true;
            CheckUrl(value, "bundle_signature.url", out->url, issuer_local);
          } else {
            std::vector<const YamlNode*> lines;
            if (!List(value, "bundle_signature.allowed_signers", &lines)) return;
            have_signers = true;
            if (lines.empty()) {
              // No signer could ever be allowed: every answer would be refused.
              Issue(value, "bundle_signature.allowed_signers is empty; list the public key lines of the keys "
                           "that sign the bundle, or remove bundle_signature");
              return;
            }
            for (const YamlNode* line : lines) {
              core::Result<core::AuthorizedKey> signer = core::ParsePublicKeyLine(line->value);
              if (!signer) {
                Issue(*line, "bundle_signature.allowed_signers: not a public key line (keytype base64 [comment]): " +
                                 signer.error().detail);
                continue;
              }
              out->allowed_signers.push_back(std::move(signer->key));
            }
          }
        })) {
      return;
    }
    if (!have_url) Missing(node, "bundle_signature needs a url");
    if (!have_signers) Missing(node, "bundle_signature needs allowed_signers");
  }

  void Sshd(const YamlNode& node, SshdConfig* sshd) {
    Members(node, "sshd", {"config", "binary", "manage_principals_command", "reload", "accept_sha1_rsa"},
            [&](std::string_view key, const YamlNode& value) {
              if (key == "config") {
                Path(value, "sshd.config", &sshd->config);
              } else if (key == "binary") {
                Path(value, "sshd.binary", &sshd->binary);
              } else if (key == "manage_principals_command") {
                Bool(value, "sshd.manage_principals_command", &sshd->manage_principals_command);
              } else if (key == "reload") {
                std::string v;
                if (!Scalar(value, "sshd.reload", &v)) return;
                if (v == "auto") {
                  sshd->reload = ReloadMode::kAuto;
                } else if (v == "systemd") {
                  sshd->reload = ReloadMode::kSystemd;
                } else if (v == "signal") {
                  sshd->reload = ReloadMode::kSignal;
                } else if (v == "none") {
                  sshd->reload = ReloadMode::kNone;
                } else {
                  Issue(value, "sshd.reload must be auto, systemd, signal or none, not " + core::QuoteForIssue(v));
                }
              } else if (key == "accept_sha1_rsa") {
                if (value.kind == YamlNode::Kind::kScalar && value.plain && value.value == "auto") {
                  sshd->accept_sha1_rsa = AcceptSha1Rsa::kAuto;
                  return;
                }
                if (value.kind == YamlNode::Kind::kScalar && value.plain && (value.value == "true" || value.value == "false")) {
                  sshd->accept_sha1_rsa = value.value == "true" ? AcceptSha1Rsa::kTrue : AcceptSha1Rsa::kFalse;
                  return;
                }
                Issue(value, "sshd.accept_sha1_rsa must be auto, true or false");
              }
            });
  }

  void Top(const YamlNode& root, Config* config) {
    bool have_issuer = false;
    const YamlNode* interval_node = &root;
    const YamlNode* jitter_node = &root;
    bool interval_parsed = true;
    const YamlNode* bundle_node = nullptr;
    if (!Members(root, "the config file",
                 {"issuer", "bundle_signature", "interval", "jitter", "keep_retired", "trusted_user_ca_keys",
                  "state_dir", "sshd"},
                 [&](std::string_view key, const YamlNode& value) {
                   if (key == "issuer") {
                     have_issuer = true;
                     Issuer(value, &config->issuer);
                   } else if (key == "bundle_signature") {
                     bundle_node = &value;
                   } else if (key == "interval") {
                     interval_node = &value;
                     interval_parsed = Duration(value, "interval", &config->interval_seconds);
                   } else if (key == "jitter") {
                     jitter_node = &value;
                     Duration(value, "jitter", &config->jitter_seconds);
                   } else if (key == "keep_retired") {
                     Duration(value, "keep_retired", &config->keep_retired_seconds);
                   } else if (key == "trusted_user_ca_keys") {
                     SshdConfigPath(value, "trusted_user_ca_keys", &config->trusted_user_ca_keys);
                   } else if (key == "state_dir") {
                     Path(value, "state_dir", &config->state_dir);
                   } else if (key == "sshd") {
                     Sshd(value, &config->sshd);
                   }
                 })) {
      return;
    }
    if (!have_issuer) Missing(root, "missing issuer: cafetch needs to know where the CA keys come from");
    if (bundle_node != nullptr) {
      config->bundle_signature.emplace();
      const bool local = config->issuer.type == IssuerType::kFile ||
                         (config->issuer.type == IssuerType::kUrl && IsLocalUrl(config->issuer.url));
      BundleSignature(*bundle_node, &*config->bundle_signature, local);
    }
    OwnFiles(*config, root);
    const bool interval_valid = interval_parsed && config->interval_seconds >= kMinIntervalSeconds;
    if (interval_parsed && !interval_valid) Issue(*interval_node, "interval must be at least 1s");
    // jitter is measured against a valid interval only: against one that
    // must change anyway (0s, or the default left by a bad duration) its
    // message would send the admin to the wrong line.
    if (!interval_valid) {
      // interval's own issue says what to fix.
    } else if (jitter_node == &root) {
      // Unset: the default, but never more than a shorter interval.
      config->jitter_seconds = std::min(config->jitter_seconds, config->interval_seconds);
    } else if (config->jitter_seconds > config->interval_seconds) {
      Issue(*jitter_node, "jitter must not be longer than interval (" +
                              std::to_string(config->interval_seconds) +
                              "s): shorten jitter or lengthen interval");
    }
  }

 private:
  // OwnFiles refuses a trusted_user_ca_keys that names a file cafetch
  // otherwise reads or owns: every round would replace that file with the
  // CA keys (its state, its lock, the issuer's answer, the token), or sshd
  // would read the keys as its configuration. Paths are compared as
  // written, lexically normalised (links are not followed).
  void OwnFiles(const Config& c, const YamlNode& root) {
    auto normal = [](const std::string& path) {
      std::string n = std::filesystem::path(path).lexically_normal().string();
      while (n.size() > 1 && n.back() == '/') n.pop_back();
      return n;
    };
    const std::string keys = normal(c.trusted_user_ca_keys);
    const std::string state_dir = normal(c.state_dir);
    const std::string sshd_dir = normal(core::ParentDirectory(c.sshd.config));
    std::vector<std::pair<std::string, std::string>> others = {  // {what, path}
        {"sshd.config", c.sshd.config},
        {"cafetch's drop-in beside sshd.config", sshd_dir + "/sshd_config.d/" + kDropInName},
        {"sshd.binary", c.sshd.binary},
        {"issuer.token_file", c.issuer.token_file},
        {"issuer.tls.ca_file", c.issuer.tls.ca_file},
    };
    if (IsLocalUrl(c.issuer.url)) others.emplace_back(c.issuer.url_key, LocalPath(c.issuer.url));
    if (c.bundle_signature.has_value() && IsLocalUrl(c.bundle_signature->url)) {
      others.emplace_back("bundle_signature.url", LocalPath(c.bundle_signature->url));
    }
    if (!file_.empty() && file_.front() == '/') others.emplace_back("this config file", file_);
    std::string clash;
    std::string setting;  // the other setting, whose line is shown when trusted_user_ca_keys has none
    if (keys == state_dir || keys.starts_with(state_dir == "/" ? "/" : state_dir + "/")) {
      clash = "inside state_dir " + core::QuoteForIssue(c.state_dir) + ", cafetch's own directory";
      setting = "state_dir";
    } else if (keys.starts_with(sshd_dir + "/sshd_config.d/") && keys.ends_with(".conf")) {
      clash = "a .conf file in sshd_config.d, which sshd reads as its configuration";
      setting = "sshd.config";
    }
    for (const auto& [what, path] : others) {
      if (!clash.empty()) break;
      if (path.empty() || path.front() != '/' || normal(path) != keys) continue;
      clash = "also " + what;
      setting = what;
    }
    if (clash.empty()) return;
    const YamlNode* at = &root;
    if (auto it = path_nodes_.find("trusted_user_ca_keys"); it != path_nodes_.end()) {
      at = it->second;
    } else if (auto other = path_nodes_.find(setting); other != path_nodes_.end()) {
      at = other->second;
    }
    Issue(*at, "trusted_user_ca_keys " + core::QuoteForIssue(c.trusted_user_ca_keys) + " is " + clash +
                   ": each round would replace it with the CA keys; name a file of its own (the default is "
                   "/etc/ssh/certgate/trusted_user_ca_keys)");
  }

  std::string file_;
  std::vector<core::Issue>* issues_;
  std::map<std::string, const YamlNode*, std::less<>> path_nodes_;  // Path's nodes, by setting
  std::vector<core::Issue> missing_;  // Missing's, until Finish
  size_t unknown_keys_ = 0;  // unknown keys reported so far (Members)
};

}  // namespace

std::string_view IssuerTypeName(IssuerType type) {
  switch (type) {
    case IssuerType::kVault: return "vault";
    case IssuerType::kStep: return "step";
    case IssuerType::kAkeyless: return "akeyless";
    case IssuerType::kCyberark: return "cyberark";
    case IssuerType::kTeleport: return "teleport";
    case IssuerType::kUrl: return "url";
    case IssuerType::kFile: return "file";
  }
  return "unknown";
}

std::optional<IssuerType> IssuerTypeFromName(std::string_view name) {
  for (IssuerType t : {IssuerType::kVault, IssuerType::kStep, IssuerType::kAkeyless, IssuerType::kCyberark,
                       IssuerType::kTeleport, IssuerType::kUrl, IssuerType::kFile}) {
    if (IssuerTypeName(t) == name) return t;
  }
  return std::nullopt;
}

bool IssuerSignsWithSha1(IssuerType type) { return type == IssuerType::kAkeyless; }

namespace {

constexpr char kTooLargeConfig[] =
    "config file larger than 256 KiB; cafetch.yaml is a few lines (cafetch.yaml(5)): name the right file with "
    "--config";

}  // namespace

ConfigLoadResult ParseConfigText(std::string_view text, std::string_view file_name) {
  ConfigLoadResult result;
  const std::string file(file_name);
  if (text.size() > kMaxConfigFileSize) {
    result.issues.push_back(core::Issue{core::SourceLocation{file, 1, 1}, kTooLargeConfig});
    return result;
  }
  std::optional<YamlNode> root = ParseYamlTree(text, file, &result.issues);
  if (!root) return result;
  Config config;
  Checker checker(file, &result.issues);
  checker.Top(*root, &config);
  checker.Finish();
  if (result.issues.empty()) result.config = std::move(config);
  return result;
}

ConfigLoadResult LoadConfig(const std::string& path, const ConfigLoadOptions& options) {
  ConfigLoadResult result;
  // Where messages say the file is: a name holding a line break or another
  // control character is escaped, so that every issue stays one line.
  const std::string shown = core::EscapeControls(path);
  auto file_issue = [&](std::string message) {
    result.issues.push_back(core::Issue{core::SourceLocation{shown, 1, 1}, std::move(message)});
    return result;
  };
  core::UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ELOOP) {
      char target[4096];
      const ssize_t n = readlink(path.c_str(), target, sizeof target);
      const std::string to =
          n > 0 ? " to " + core::EscapeControls(std::string_view(target, static_cast<size_t>(n))) : "";
      return file_issue("is a symbolic link" + to +
                        "; cafetch does not follow links, name the real file with --config");
    }
    return file_issue(std::string("cannot open: ") + std::strerror(error) +
                      (error == ENOENT ? "; create it (see cafetch.yaml(5)) or name the right file with --config"
                                       : "; make it readable by root, or name another file with --config"));
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return file_issue(std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return file_issue("not a regular file; name cafetch.yaml itself with --config");
  if (options.check_permissions) {
    // The policy loader's rule and words (sshd's StrictModes).
    std::string problem = core::OwnerAndModeProblem(st, path, options.owner_uid, /*root_too=*/false);
    if (!problem.empty()) return file_issue(std::move(problem));
  }
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > kMaxConfigFileSize) {
    return file_issue(kTooLargeConfig);
  }
  std::string text;
  core::Status read = core::ReadBounded(fd.get(), kMaxConfigFileSize, static_cast<size_t>(st.st_size), &text);
  if (!read) {
    return file_issue(read.error().code == core::Errc::kTooLarge ? kTooLargeConfig : read.error().detail);
  }
  return ParseConfigText(text, shown);
}

void ReportConfigIssues(const std::vector<core::Issue>& issues, core::LogSink* log, bool to_stderr) {
  for (const core::Issue& issue : issues) {
    core::LogRecord record;
    record.priority = core::Priority::kErr;
    record.message = "configuration: " + issue.ToString();
    record.fields.emplace_back("CERTGATE_EVENT", "config");
    log->Write(record);
    if (to_stderr) std::fprintf(stderr, "%s\n", issue.ToString().c_str());
  }
}

}  // namespace certgate::cafetch
