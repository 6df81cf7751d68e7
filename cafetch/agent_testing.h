// The fixture that agent_test.cc, agent_history_test.cc,
// agent_install_test.cc, agent_install_rollback_test.cc and
// agent_reload_test.cc share: one cafetch round (RunOnce) against a private
// sshd_config that the real sshd checks, and the sshd wrappers the install
// tests put in its place. Header-only: cafetch/CMakeLists.txt puts every
// other .cc here into certgate_cafetch.
#ifndef CERTGATE_CAFETCH_AGENT_TESTING_H_
#define CERTGATE_CAFETCH_AGENT_TESTING_H_

#include <dirent.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cafetch/agent.h"
#include "cafetch/config.h"
#include "cafetch/sshd_check.h"
#include "cafetch/sshd_config.h"
#include "cafetch/state.h"
#include "core/log.h"
#include "core/result.h"
#include "core/ssh_key.h"
#include "tests/testing.h"

namespace certgate::cafetch {

// Snapshot returns every regular file under |dir| (relative path -> bytes;
// a directory as "name/" -> ""), nothing when |dir| cannot be opened.
inline std::map<std::string, std::string> Snapshot(const std::string& dir, const std::string& prefix = "") {
  std::map<std::string, std::string> files;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return files;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      files[prefix + name + "/"] = "";
      for (auto& [k, v] : Snapshot(path, prefix + name + "/")) files[k] = v;
    } else {
      files[prefix + name] = certgate::testing::ReadFile(path);
    }
  }
  closedir(d);
  return files;
}

// AgentTest is the fixture: a host key, CA keys, a file issuer and a
// private sshd_config, all in one temporary directory; the real sshd checks
// every candidate. Skips the test without root or sshd (SshdUsable).
class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!certgate::testing::SshdUsable()) GTEST_SKIP() << "needs root and " << certgate::testing::kSshd;
    host_ = certgate::testing::MakeKey(dir_, "host", "ed25519");
    ca_a_ = certgate::testing::ReadFile(certgate::testing::MakeKey(dir_, "ca_a", "ed25519") + ".pub");
    ca_b_ = certgate::testing::ReadFile(certgate::testing::MakeKey(dir_, "ca_b", "ecdsa") + ".pub");
    ca_rsa_ = certgate::testing::ReadFile(certgate::testing::MakeKey(dir_, "ca_rsa", "rsa", 2048) + ".pub");
    mkdir(dir_.Path("etc").c_str(), 0755);
    certgate::testing::WriteFile(dir_.Path("issuer.pub"), ca_a_);
    config_.issuer.type = IssuerType::kFile;
    config_.issuer.url = dir_.Path("issuer.pub");
    config_.keep_retired_seconds = 100;
    config_.trusted_user_ca_keys = dir_.Path("etc/certgate/trusted_user_ca_keys");
    config_.state_dir = dir_.Path("state");
    config_.sshd.config = dir_.Path("etc/sshd_config");
    config_.sshd.binary = certgate::testing::kSshd;
    config_.sshd.manage_principals_command = false;
    config_.sshd.reload = ReloadMode::kSignal;  // PidFile absent: nothing to reload
    certgate::testing::WriteFile(principals_cmd_, "#!/bin/sh\n", 0755);  // stands in for the installed helper
  }

  // BaseConfig returns a minimal sshd_config for the fixture's host key
  // (its PidFile absent: no sshd to reload).
  std::string BaseConfig() const {
    return "ListenAddress 127.0.0.1\nPort 2299\nHostKey " + host_ + "\nPidFile " +
           dir_.Path("sshd.pid") + "\nUsePAM no\n";
  }

  // Run returns RunOnce's result for config_ at |now| (a dry run with
  // |dry_run|), logging to log_.
  core::Result<RunOutcome> Run(int64_t now = 1000, bool dry_run = false) {
    RunOptions options;
    options.directories.trusted_root = certgate::testing::TempRoot();
    options.principals_command_program = principals_cmd_;
    options.principals_command_user = principals_user_;
    options.now = now;
    options.dry_run = dry_run;
    options.bus_address = bus_address_;
    return RunOnce(config_, options, &log_);
  }

  // Watched returns what cafetch may change: everything under etc/ and the
  // state file (the lock file and state directory are not state).
  std::map<std::string, std::string> Watched() const {
    auto files = Snapshot(dir_.Path("etc"));
    files["state file"] = certgate::testing::ReadFile(dir_.Path("state/cafetch.state"));
    return files;
  }

  // Effective returns sshd -T's value of |keyword| for config_ ("" and a
  // failed expectation when sshd -T fails).
  std::string Effective(const std::string& keyword) {
    auto e = DumpEffectiveConfig(certgate::testing::kSshd, config_.sshd.config);
    EXPECT_TRUE(e) << e.error().detail;
    return e ? EffectiveValue(*e, keyword) : "";
  }

  // TrustedBlobs returns the base64 fields of the installed key file.
  std::vector<std::string> TrustedBlobs() {
    std::vector<std::string> out;
    std::string text = certgate::testing::ReadFile(config_.trusted_user_ca_keys);
    size_t at = 0;
    while (at < text.size()) {
      size_t nl = text.find('\n', at);
      std::string line = text.substr(at, nl - at);
      at = nl == std::string::npos ? text.size() : nl + 1;
      if (line.empty() || line[0] == '#') continue;
      size_t sp = line.find(' ');
      out.push_back(line.substr(sp + 1, line.find(' ', sp + 1) - sp - 1));
    }
    return out;
  }
  // Blob returns the base64 field of the public key line |pub|.
  static std::string Blob(const std::string& pub) {
    size_t sp = pub.find(' ');
    return pub.substr(sp + 1, pub.find(' ', sp + 1) - sp - 1);
  }

  // SshdNeedsSha1Lines returns true when the real sshd refuses SHA-1
  // ssh-rsa CA signatures unless told (8.2 and later), so that cafetch
  // writes lines for them.
  static bool SshdNeedsSha1Lines() {
    auto version = DetectSshdVersion(certgate::testing::kSshd);
    EXPECT_TRUE(version) << version.error().detail;
    return version && version->AtLeast(8, 2);
  }

  // SaveRetiredSha1RsaState saves a state holding ca_rsa_ as a retired key
  // (first seen 900, last seen 990, retired at |retired|) last listed by an
  // issuer that signs with SHA-1 (sha1_issuer), as a move from Akeyless
  // leaves it.
  void SaveRetiredSha1RsaState(std::optional<int64_t> retired) {
    State was;
    auto rsa = core::ParsePublicKeyLine(ca_rsa_.substr(0, ca_rsa_.find('\n')));
    ASSERT_TRUE(rsa);
    was.keys.push_back({CaKey{rsa->key, rsa->comment}, 900, 990, false, retired});
    was.keys.back().sha1_issuer = true;
    ASSERT_TRUE(SaveState(config_.state_dir, was));
  }

  // Logged returns the messages of log_'s records whose CERTGATE_EVENT is
  // |event|.
  std::vector<std::string> Logged(const std::string& event) const {
    std::vector<std::string> out;
    for (const core::LogRecord& record : log_.records) {
      for (const auto& [name, value] : record.fields) {
        if (name == "CERTGATE_EVENT" && value == event) out.push_back(record.message);
      }
    }
    return out;
  }

  certgate::testing::TempDir dir_;
  std::string host_, ca_a_, ca_b_, ca_rsa_;
  Config config_;
  core::CaptureLogSink log_;
  // bus_address_: RunOptions::bus_address of Run (a D-Bus address also
  // makes sshd.reload: auto try systemd first).
  std::string bus_address_;
  // What sshd.manage_principals_command's check looks at, in place of
  // /usr/libexec/certgate/principals-cmd and the certgate user.
  std::string principals_cmd_ = dir_.Path("principals-cmd");
  std::string principals_user_ = "root";
};

// WrapSshd makes cafetch run the shell |script| before every sshd it runs,
// with sshd's arguments in "$@"; the real sshd runs after it unless the
// script exits.
inline void WrapSshd(const certgate::testing::TempDir& dir, const std::string& script, Config* config) {
  const std::string wrapper = dir.Path("sshd-wrapper");
  certgate::testing::WriteFile(
      wrapper, "#!/bin/sh\n" + script + "exec " + std::string(certgate::testing::kSshd) + " \"$@\"\n", 0755);
  config->sshd.binary = wrapper;
}

// OnCandidateCheck makes sshd -t of each candidate (the files in
// state_dir/candidates; $f is its main file) run the shell |action| first;
// every other run is the real sshd's.
inline void OnCandidateCheck(const certgate::testing::TempDir& dir, const std::string& action, Config* config) {
  WrapSshd(dir,
           "f=; prev=; for a; do [ \"$prev\" = -f ] && f=$a; prev=$a; done\n"
           "case \"$1:$f\" in -t:*/candidates/*/sshd_config)\n" + action + ";;\n"
           "esac\n",
           config);
}

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_AGENT_TESTING_H_
