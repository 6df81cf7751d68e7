#include "decide/client.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/testing.h"

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace certgate::decide {
namespace {

// TrustedDir is a fresh root-owned 0755 directory under /run, whose every
// ancestor is root-owned and not group/other-writable (unlike $TMPDIR).
class TrustedDir {
 public:
  TrustedDir() {
    char tmpl[] = "/run/certgate-decide-test-XXXXXX";
    if (getuid() == 0 && mkdtemp(tmpl) != nullptr) {
      path_ = tmpl;
      chmod(path_.c_str(), 0755);
    }
  }
  ~TrustedDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int Listen(const std::string& path, bool do_listen = true) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  chmod(path.c_str(), 0666);
  if (do_listen) {
    EXPECT_EQ(listen(fd, 8), 0);
  }
  return fd;
}

// ServeOnce accepts one connection, reads the request to EOF and writes
// |reply| (or nothing, after |delay_ms|), then closes.
std::thread ServeOnce(int listen_fd, std::vector<uint8_t> reply, int delay_ms = 0) {
  return std::thread([listen_fd, reply, delay_ms] {
    int c = accept(listen_fd, nullptr, nullptr);
    if (c < 0) return;
    char buf[4096];
    while (read(c, buf, sizeof buf) > 0) {
    }
    if (delay_ms > 0) usleep(static_cast<useconds_t>(delay_ms) * 1000);
    size_t off = 0;
    while (off < reply.size()) {
      ssize_t n = send(c, reply.data() + off, reply.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(c);
  });
}

std::vector<uint8_t> GoodAnswer(const std::string& out) {
  std::vector<uint8_t> a(AnswerSize(out.size(), 0));
  EncodeAnswer(0, reinterpret_cast<const uint8_t*>(out.data()), out.size(), nullptr, 0, a.data(), a.size());
  return a;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (dir_.path().empty()) GTEST_SKIP() << "needs root (a root-owned directory under /run)";
    sock_ = dir_.path() + "/decide.sock";
  }
  AskResult Ask(uint64_t timeout_ms = 2000) {
    const char* argv[] = {"alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"};
    return AskService(sock_.c_str(), 0, kKindPrincipals, 3, argv, timeout_ms, buf_.data(), buf_.size(),
                      &answer_, why_, sizeof why_);
  }

  TrustedDir dir_;
  std::string sock_;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(kMaxAnswerSize);
  AnswerView answer_;
  char why_[PATH_MAX + 128] = {};
};

TEST_F(ClientTest, TrustedServiceAnswers) {
  int l = Listen(sock_);
  std::thread t = ServeOnce(l, GoodAnswer("ops\n"));
  ASSERT_EQ(Ask(), AskResult::kAnswered) << why_;
  t.join();
  close(l);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(answer_.out), answer_.out_len), "ops\n");
  EXPECT_EQ(answer_.exit_code, 0);
}

// No socket is no service (the client decides in-process, saying nothing);
// a socket that is there but cannot be used is kUnavailable (it says why).
TEST_F(ClientTest, MissingSocketIsAbsent) {
  EXPECT_EQ(Ask(), AskResult::kAbsent);
  EXPECT_EQ(std::string(why_), sock_ + ": no such socket");
  sock_ = dir_.path() + "/missing/decide.sock";
  EXPECT_EQ(Ask(), AskResult::kAbsent);
}

TEST_F(ClientTest, RefusedIsUnavailable) {
  int l = Listen(sock_, /*do_listen=*/false);  // bound, nobody listening
  EXPECT_EQ(Ask(), AskResult::kUnavailable) << why_;
  EXPECT_NE(std::strstr(why_, "connect"), nullptr) << why_;
  close(l);
}

TEST_F(ClientTest, WorldWritableDirectoryIsUntrusted) {
  int l = Listen(sock_);
  ASSERT_EQ(chmod(dir_.path().c_str(), 0777), 0);
  EXPECT_EQ(Ask(), AskResult::kUnavailable);
  EXPECT_NE(std::strstr(why_, "writable"), nullptr) << why_;
  ASSERT_EQ(chmod(dir_.path().c_str(), 0775), 0);
  EXPECT_EQ(Ask(), AskResult::kUnavailable);  // group-writable too
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  close(l);
}

TEST_F(ClientTest, DirectoryOwnedByOtherUserIsUntrusted) {
  const std::string sub = dir_.path() + "/sub";
  ASSERT_EQ(mkdir(sub.c_str(), 0755), 0);
  ASSERT_EQ(chown(sub.c_str(), 65534, 65534), 0);
  sock_ = sub + "/decide.sock";
  int l = Listen(sock_);
  EXPECT_EQ(Ask(), AskResult::kUnavailable);
  EXPECT_NE(std::strstr(why_, "not owned by root"), nullptr) << why_;
  close(l);
}

TEST_F(ClientTest, SocketOwnedByOtherUserIsUntrusted) {
  int l = Listen(sock_);
  ASSERT_EQ(lchown(sock_.c_str(), 65534, 65534), 0);
  EXPECT_EQ(Ask(), AskResult::kUnavailable);
  EXPECT_NE(std::strstr(why_, "not owned by root"), nullptr) << why_;
  close(l);
}

TEST_F(ClientTest, SymlinkToUntrustedSocketIsUntrusted) {
  // The check applies to where the path leads, not to the link.
  char tmpl[] = "/tmp/certgate-decide-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string real = std::string(tmpl) + "/s.sock";
  int l = Listen(real);
  ASSERT_EQ(symlink(real.c_str(), sock_.c_str()), 0);
  EXPECT_EQ(Ask(), AskResult::kUnavailable);
  close(l);
  std::filesystem::remove_all(tmpl);
}

TEST_F(ClientTest, PeerWithOtherUidIsUntrusted) {
  // A root-owned socket file, but listen()ed by a process of another uid:
  // SO_PEERCRED names the listener, which is neither root nor the owner.
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(l, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0);
  chmod(sock_.c_str(), 0666);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0 || listen(l, 8) != 0) _exit(1);
    char c = 'x';
    if (write(ready[1], &c, 1) != 1) _exit(1);
    int conn = accept(l, nullptr, nullptr);
    if (conn >= 0) {
      std::vector<uint8_t> a = GoodAnswer("root\n");
      if (write(conn, a.data(), a.size()) < 0) _exit(1);
    }
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_EQ(Ask(), AskResult::kUnavailable);
  EXPECT_NE(std::strstr(why_, "listening process"), nullptr) << why_;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  close(l);
  close(ready[0]);
  close(ready[1]);
}

TEST_F(ClientTest, TruncatedAnswerFails) {
  int l = Listen(sock_);
  std::vector<uint8_t> a = GoodAnswer("ops\n");
  a.pop_back();
  std::thread t = ServeOnce(l, a);
  EXPECT_EQ(Ask(), AskResult::kFailed);
  t.join();
  close(l);
}

TEST_F(ClientTest, NoAnswerFails) {
  int l = Listen(sock_);
  std::thread t = ServeOnce(l, {});  // the service child died: EOF
  EXPECT_EQ(Ask(), AskResult::kFailed);
  t.join();
  close(l);
  // Said as what it is, not as a malformed answer.
  EXPECT_EQ(std::string(why_), "no answer from " + sock_ +
                                   ": it closed the connection (a service stopping, or a worker that died: see "
                                   "its log)");
}

TEST_F(ClientTest, OversizedAnswerFails) {
  int l = Listen(sock_);
  std::vector<uint8_t> a(kMaxAnswerSize + 10, 'x');
  std::thread t = ServeOnce(l, a);
  EXPECT_EQ(Ask(), AskResult::kFailed);
  t.join();
  close(l);
}

TEST_F(ClientTest, GarbageAnswerFails) {
  int l = Listen(sock_);
  std::thread t = ServeOnce(l, std::vector<uint8_t>{'o', 'p', 's', '\n'});
  EXPECT_EQ(Ask(), AskResult::kFailed);
  t.join();
  close(l);
  EXPECT_EQ(std::string(why_), "malformed answer from " + sock_);
}

TEST_F(ClientTest, SlowAnswerTimesOut) {
  int l = Listen(sock_);
  std::thread t = ServeOnce(l, GoodAnswer("ops\n"), /*delay_ms=*/1500);
  EXPECT_EQ(Ask(/*timeout_ms=*/200), AskResult::kFailed);
  EXPECT_NE(std::strstr(why_, "in time"), nullptr) << why_;
  t.join();
  close(l);
}

TEST(CheckTrustedPathTest, Rules) {
  char resolved[PATH_MAX];
  char why[PATH_MAX + 128];
  uid_t owner = 99;
  EXPECT_FALSE(CheckTrustedPath("relative", 0, S_IFREG, resolved, &owner, why, sizeof why));
  EXPECT_FALSE(CheckTrustedPath("/nonexistent/x", 0, S_IFREG, resolved, &owner, why, sizeof why));
  if (getuid() == 0) {
    EXPECT_TRUE(CheckTrustedPath("/bin/true", 0, S_IFREG, resolved, &owner, why, sizeof why)) << why;
    EXPECT_EQ(owner, 0u);
    EXPECT_FALSE(CheckTrustedPath("/bin/true", 0, S_IFSOCK, resolved, &owner, why, sizeof why));
  }
}

// JournalSocket is a datagram socket bound in a temporary directory,
// standing where systemd-journald's /run/systemd/journal/socket stands.
class JournalSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    path_ = dir_.Path("socket");
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(bind(fd_, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
  }
  // Receive returns the next datagram, or "" if none is waiting.
  std::string Receive() {
    std::vector<char> buf(65536);
    ssize_t n = recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string();
  }

  ::certgate::testing::TempDir dir_;
  std::string path_;
  int fd_ = -1;
};

TEST_F(JournalSocketTest, DenialCarriesTheHelpersFields) {
  LogClientDenial(path_.c_str(), kKindKeys, "alice", "no complete answer from /run/x in time; nothing granted");
  EXPECT_EQ(Receive(),
            "MESSAGE=deny alice: no complete answer from /run/x in time; nothing granted\n"
            "PRIORITY=3\n"
            "SYSLOG_FACILITY=10\n"
            "SYSLOG_IDENTIFIER=keys-cmd\n"
            "CERTGATE_PROGRAM=keys-cmd\n"
            "CERTGATE_DECISION=deny\n"
            "CERTGATE_USER=alice\n"
            "CERTGATE_REASON=no complete answer from /run/x in time; nothing granted\n");
}

// A notice says how the client ran: no decision, no reason field.
TEST_F(JournalSocketTest, NoticeIsNotADecision) {
  LogClientNotice(path_.c_str(), kKindPrincipals, "alice",
                  "certgate-decide service not used (/run/x: connect: Permission denied); deciding in-process");
  EXPECT_EQ(Receive(),
            "MESSAGE=certgate-decide service not used (/run/x: connect: Permission denied); deciding in-process\n"
            "PRIORITY=5\n"
            "SYSLOG_FACILITY=10\n"
            "SYSLOG_IDENTIFIER=principals-cmd\n"
            "CERTGATE_PROGRAM=principals-cmd\n"
            "CERTGATE_USER=alice\n");
}

TEST_F(JournalSocketTest, TextsAreEscapedAndCutAsTheHelpersDo) {
  // A newline would end the field and start a forged one: escaped.
  LogClientDenial(path_.c_str(), kKindPrincipals, "bob\nCERTGATE_DECISION=allow", "a\\b\x01\xc3\xa9");
  const std::string got = Receive();
  EXPECT_NE(got.find("MESSAGE=deny bob\\x0aCERTGATE_DECISION=allow: a\\\\b\\x01\\xc3\\xa9\n"), std::string::npos)
      << got;
  EXPECT_NE(got.find("\nCERTGATE_USER=bob\\x0aCERTGATE_DECISION=allow\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("\nCERTGATE_DECISION=allow"), std::string::npos) << got;
  EXPECT_NE(got.find("\nCERTGATE_REASON=a\\\\b\\x01\\xc3\\xa9\n"), std::string::npos) << got;

  // No user (not known, as with too many arguments): no CERTGATE_USER field. A text of any length
  // is cut at 512 bytes, as EscapeForLog cuts it, and every field ends.
  const std::string long_reason(100000, '\x01');
  LogClientDenial(path_.c_str(), kKindPrincipals, nullptr, long_reason.c_str());
  const std::string cut = Receive();
  EXPECT_EQ(cut.rfind("MESSAGE=deny: \\x01", 0), 0u) << cut.substr(0, 64);
  EXPECT_EQ(cut.find("CERTGATE_USER="), std::string::npos);
  std::string escaped;
  for (int i = 0; i < 512; ++i) escaped += "\\x01";
  EXPECT_NE(cut.find("\nCERTGATE_REASON=" + escaped + "...\n"), std::string::npos);
  EXPECT_EQ(cut.back(), '\n');
}

}  // namespace
}  // namespace certgate::decide
