// Test helpers shared by every *_test.cc: temporary directories, files, and
// the real ssh-keygen to make keys and certificates.
#ifndef CERTGATE_TESTS_TESTING_H_
#define CERTGATE_TESTS_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/compiled_policy.h"
#include "core/policy.h"
#include "core/ssh_key.h"

namespace certgate::testing {

// TempRoot returns $TMPDIR (or /tmp), under which TempDir makes its
// directories: what tests pass as LoadOptions::trusted_root, since /tmp is
// writable by everyone and the policy loader would refuse a path under it.
std::string TempRoot();

// TempDir is a fresh directory under $TMPDIR, removed with its contents
// when the object is destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Path returns path() + "/" + name.
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// SmallFileSystem is a tmpfs of |bytes| mounted on a fresh TempDir, to
// see what a full (ENOSPC) or read-only file system does to a writer. It
// is unmounted, and the directory removed, when the object is destroyed.
// Mounting needs CAP_SYS_ADMIN: without it mounted() is false and why_not()
// says why, for GTEST_SKIP().
class SmallFileSystem {
 public:
  explicit SmallFileSystem(size_t bytes = 64 * 1024);
  ~SmallFileSystem();
  SmallFileSystem(const SmallFileSystem&) = delete;
  SmallFileSystem& operator=(const SmallFileSystem&) = delete;
  bool mounted() const { return why_not_.empty(); }
  const std::string& why_not() const { return why_not_; }
  const std::string& path() const { return dir_.path(); }
  std::string Path(const std::string& name) const { return dir_.Path(name); }
  // Fill writes the file |name| until the file system is full, leaving
  // |keep_free| bytes (rounded up to whole pages) free. Returns true once a
  // write failed with ENOSPC; a test fails otherwise.
  bool Fill(const std::string& name = "filler", size_t keep_free = 0);
  // MakeReadOnly remounts the file system read-only (EROFS for every
  // change). Returns false, and a test fails, if it cannot.
  bool MakeReadOnly();

 private:
  TempDir dir_;
  std::string why_not_;
};

// DirectoryEntries returns the names in |dir| but "." and "..", sorted
// (empty if it cannot be read).
std::vector<std::string> DirectoryEntries(const std::string& dir);

// CommandResult is what a finished child process left.
struct CommandResult {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out;     // stdout
  std::string err;     // stderr
};

// Run runs |argv| (argv[0] searched in PATH) with stdin from /dev/null and
// returns its exit code and output. Aborts the test on spawn failure.
CommandResult Run(const std::vector<std::string>& argv);

// ReadFile returns the contents of |path| (empty on error).
std::string ReadFile(const std::string& path);

// FirstLine returns |text| up to its first newline (all of it without one).
std::string FirstLine(const std::string& text);
// WriteFile writes |data| to |path| with |mode|.
void WriteFile(const std::string& path, const std::string& data, unsigned mode = 0644);

// MakeKey runs `ssh-keygen -q -N '' -t TYPE [-b BITS] -f DIR/NAME -C NAME`
// and returns the private key path (public key at path + ".pub").
// |type| is as for ssh-keygen -t: rsa, ecdsa, ed25519.
std::string MakeKey(const TempDir& dir, const std::string& name, const std::string& type,
                    int bits = 0);

// SignCert runs `ssh-keygen -s CA -I ID ... PUB` with |extra| arguments
// (e.g. {"-n", "alice", "-V", "-5m:+1h", "-z", "7"}) and returns the
// certificate's base64 blob (the second field of PUB-cert.pub).
std::string SignCert(const std::string& ca_key, const std::string& pub, const std::string& id,
                     const std::vector<std::string>& extra);

// PubBase64 returns the base64 field of a .pub or -cert.pub file.
std::string PubBase64(const std::string& pub_path);

// WriteSkPublicKey writes to |sk_pub_path| the security-key twin of the
// ed25519 or nistp256 public key at |pub_path|: the same key material
// as sk-ssh-ed25519@openssh.com / sk-ecdsa-sha2-nistp256@openssh.com with
// application "ssh:". ssh-keygen -s certifies it like any public key, so
// sk-* subjects need no token (PROTOCOL.u2f's key format).
void WriteSkPublicKey(const std::string& pub_path, const std::string& sk_pub_path);

// FakeKey returns an Ed25519 PublicKey made of |seed| bytes, with a short
// blob: for evaluation tests where a key is only compared and hashed.
core::PublicKey FakeKey(uint8_t seed);

// LargeRsaKeyLine returns "ssh-rsa BASE64 big-INDEX": a public key line
// with a 16384-bit modulus (the largest sshd takes, about 2.8 KB a line)
// made of bytes derived from |index|, different for each index. It is not
// a real key (no one holds its private half): for tests that only need
// many large keys a parser accepts.
std::string LargeRsaKeyLine(uint32_t index);

// Compile returns CompilePolicy(|policy|); it aborts the test program if
// that fails (test policies are far below the limits).
std::shared_ptr<const core::CompiledPolicy> Compile(const core::Policy& policy);

// kSshd is the real sshd that tests drive.
inline constexpr char kSshd[] = "/usr/sbin/sshd";
// SshdUsable returns true when the real sshd can run here: as root, with
// kSshd installed and /run/sshd present (created if missing).
bool SshdUsable();
// FreeLoopbackPort returns a TCP port on 127.0.0.1 that nothing listened on
// just now (for a test's own sshd).
uint16_t FreeLoopbackPort();

// SourceDir returns the repository root (for tests/data and shared test vectors).
std::string SourceDir();
// SharedTestData returns ../shared/testdata/openssh-sshkey beside the repository,
// or an empty string if it is not there.
std::string SharedTestData();

// kTestKeyA is an Ed25519 public key line for test policies.
inline constexpr char kTestKeyA[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFOG6kY7Rf4UtCFvPwKgo/BztXck2xC4a2WyA34XtIwZ";

// Parse parses one policy file's |text| (named |name| in issues) and
// finishes it, as the loader does; a test fails on any issue.
core::Policy Parse(const std::string& text, const char* name = "p.yaml");

// PerUserPolicy is the text of |n| rules like a fleet's: one login name
// each, the same authority and principals, a key_id constraint on every
// seventh.
std::string PerUserPolicy(int n);

}  // namespace certgate::testing

#endif  // CERTGATE_TESTS_TESTING_H_
