#include "tests/testing.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/policy_loader.h"

extern char** environ;

namespace certgate::testing {
namespace {

std::string Slurp(int fd) {
  std::string s;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      s.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  return s;
}

}  // namespace

std::string TempRoot() {
  const char* base = std::getenv("TMPDIR");
  std::string root = base && *base ? base : "/tmp";
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

TempDir::TempDir() {
  std::string tmpl = TempRoot() + "/certgate-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) std::abort();
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

SmallFileSystem::SmallFileSystem(size_t bytes) {
  const std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
  if (mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) != 0) {
    why_not_ = "cannot mount a tmpfs on " + dir_.path() + " (needs CAP_SYS_ADMIN): " + std::strerror(errno);
  }
}

SmallFileSystem::~SmallFileSystem() {
  // MNT_DETACH: a descriptor a failed test left open does not keep it.
  if (mounted()) umount2(dir_.path().c_str(), MNT_DETACH);
}

bool SmallFileSystem::Fill(const std::string& name, size_t keep_free) {
  const std::string spacer = Path(".spacer");
  if (keep_free > 0) WriteFile(spacer, std::string(keep_free, 's'));
  const int fd = open(Path(name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    ADD_FAILURE() << "create " << Path(name) << ": " << std::strerror(errno);
    return false;
  }
  const std::string chunk(4096, 'f');
  bool full = false;
  for (;;) {
    ssize_t n = write(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      full = errno == ENOSPC;
      break;
    }
  }
  close(fd);
  if (keep_free > 0) unlink(spacer.c_str());
  EXPECT_TRUE(full) << "filling " << path() << " did not end in ENOSPC";
  return full;
}

bool SmallFileSystem::MakeReadOnly() {
  if (mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0) return true;
  ADD_FAILURE() << "remount " << path() << " read-only: " << std::strerror(errno);
  return false;
}

std::vector<std::string> DirectoryEntries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

CommandResult Run(const std::vector<std::string>& argv) {
  CommandResult result;
  std::string out_path = std::filesystem::temp_directory_path() / "certgate-run-XXXXXX";
  std::vector<char> out_tmpl(out_path.begin(), out_path.end());
  out_tmpl.push_back('\0');
  std::vector<char> err_tmpl = out_tmpl;
  int out_fd = mkstemp(out_tmpl.data());
  int err_fd = mkstemp(err_tmpl.data());
  if (out_fd < 0 || err_fd < 0) std::abort();
  unlink(out_tmpl.data());
  unlink(err_tmpl.data());

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "cannot run " << argv[0];
    close(out_fd);
    close(err_fd);
    return result;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  lseek(out_fd, 0, SEEK_SET);
  lseek(err_fd, 0, SEEK_SET);
  result.out = Slurp(out_fd);
  result.err = Slurp(err_fd);
  close(out_fd);
  close(err_fd);
  return result;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data, unsigned mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
  }
  chmod(path.c_str(), static_cast<mode_t>(mode));
}

std::string MakeKey(const TempDir& dir, const std::string& name, const std::string& type,
                    int bits) {
  std::string path = dir.Path(name);
  std::vector<std::string> argv = {"ssh-keygen", "-q", "-N", "", "-t", type, "-f", path,
                                   "-C", name};
  if (bits > 0) {
    argv.push_back("-b");
    argv.push_back(std::to_string(bits));
  }
  CommandResult r = Run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

std::string SignCert(const std::string& ca_key, const std::string& pub, const std::string& id,
                     const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"ssh-keygen", "-q", "-s", ca_key, "-I", id};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(pub);
  CommandResult r = Run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string cert_path = pub.substr(0, pub.size() - 4) + "-cert.pub";
  return PubBase64(cert_path);
}

std::string PubBase64(const std::string& pub_path) {
  std::istringstream in(ReadFile(pub_path));
  std::string type, b64;
  in >> type >> b64;
  return b64;
}

void WriteSkPublicKey(const std::string& pub_path, const std::string& sk_pub_path) {
  std::istringstream in(ReadFile(pub_path));
  std::string type, b64;
  in >> type >> b64;
  std::string sk_type;
  if (type == "ssh-ed25519") {
    sk_type = "sk-ssh-ed25519@openssh.com";
  } else if (type == "ecdsa-sha2-nistp256") {
    sk_type = "sk-ecdsa-sha2-nistp256@openssh.com";
  } else {
    ADD_FAILURE() << pub_path << ": no security-key twin for " << type;
    return;
  }
  core::Result<std::vector<uint8_t>> blob = core::Base64Decode(b64);
  ASSERT_TRUE(blob.has_value()) << pub_path;
  auto put_string = [](std::vector<uint8_t>& out, std::string_view s) {
    uint32_t n = static_cast<uint32_t>(s.size());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(n >> shift));
    out.insert(out.end(), s.begin(), s.end());
  };
  // The blob is string(type) then the key fields; the twin swaps the type
  // and appends string(application).
  ASSERT_GE(blob->size(), 4 + type.size()) << pub_path;
  std::vector<uint8_t> sk;
  put_string(sk, sk_type);
  sk.insert(sk.end(), blob->begin() + static_cast<std::ptrdiff_t>(4 + type.size()), blob->end());
  put_string(sk, "ssh:");
  WriteFile(sk_pub_path, sk_type + " " + core::Base64Encode(sk) + " sk-twin\n");
}

core::PublicKey FakeKey(uint8_t seed) {
  core::PublicKey k;
  k.type = core::KeyType::kEd25519;
  k.ed25519.assign(32, seed);
  k.blob = {0, 0, 0, 1, seed};
  return k;
}

std::string LargeRsaKeyLine(uint32_t index) {
  std::vector<uint8_t> blob;
  auto put_string = [&blob](const std::vector<uint8_t>& bytes) {
    const size_t n = bytes.size();
    for (int shift = 24; shift >= 0; shift -= 8) blob.push_back(static_cast<uint8_t>((n >> shift) & 0xff));
    blob.insert(blob.end(), bytes.begin(), bytes.end());
  };
  put_string({'s', 's', 'h', '-', 'r', 's', 'a'});
  put_string({0x01, 0x00, 0x01});
  // mpint n: a leading zero byte, then 2048 bytes with the top bit set.
  std::vector<uint8_t> n = {0x00};
  uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t{index} + 1);
  for (int i = 0; i < 2048; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    n.push_back(static_cast<uint8_t>(x >> 24));
  }
  n[1] |= 0x80;
  n.back() |= 0x01;
  put_string(n);
  return "ssh-rsa " + core::Base64Encode(blob) + " big-" + std::to_string(index);
}

std::shared_ptr<const core::CompiledPolicy> Compile(const core::Policy& policy) {
  core::Result<std::shared_ptr<const core::CompiledPolicy>> compiled = core::CompilePolicy(policy);
  if (!compiled) {
    std::fprintf(stderr, "CompilePolicy failed: %s\n", compiled.error().detail.c_str());
    std::abort();
  }
  return *compiled;
}

std::string SourceDir() { return CERTGATE_SOURCE_DIR; }

bool SshdUsable() {
  if (geteuid() != 0 || access(kSshd, X_OK) != 0) return false;
  mkdir("/run/sshd", 0755);
  return access("/run/sshd", F_OK) == 0;
}

uint16_t FreeLoopbackPort() {
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (s >= 0) close(s);
    return 0;
  }
  close(s);
  return ntohs(a.sin_port);
}

std::string SharedTestData() {
  std::string dir = SourceDir() + "/../shared/testdata/openssh-sshkey";
  struct stat st;
  if (stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return dir;
  return "";
}

core::Policy Parse(const std::string& text, const char* name) {
  core::LoadResult r;
  core::ParsePolicyText(text, name, &r);
  core::FinishPolicy(&r);
  EXPECT_TRUE(r.issues.empty()) << r.issues.front().ToString();
  return r.policy.value_or(core::Policy{});
}

std::string PerUserPolicy(int n) {
  std::string text = std::string("version: 1\nauthorities:\n  prod:\n    keys: [\"") + kTestKeyA +
                     "\"]\ndefaults:\n  max_lifetime: 12h\nrules:\n";
  for (int i = 0; i < n; ++i) {
    const std::string id = std::to_string(100000 + i);
    text += "  - name: r" + id + "\n    users: [u" + id + "]\n    authorities: [prod]\n" +
            "    principals: [\"{user}\", team-" + std::to_string(i % 97) + "]\n";
    if (i % 7 == 0) text += "    key_id: \"u" + id + "@example.com\"\n";
  }
  return text;
}

}  // namespace certgate::testing
