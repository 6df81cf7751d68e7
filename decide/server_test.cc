#include "decide/server.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/base64.h"
#include "core/ssh_key.h"
#include "decide/client.h"
#include "decide/policy_cache.h"
#include "helper-main/helper_main.h"
#include "tests/testing.h"

namespace certgate::decide {
namespace {

std::string PolicyText(bool valid) {
  return std::string("version: 1\n") +
         "authorities:\n"
         "  prod:\n"
         "    keys: [\"SHA256:Kc0JkQ3p0v8u4l9J2m7jW0bqQd0s0eQ0mP0m1b2c3d4\"]\n"
         "rules:\n"
         "  - users: [alice]\n"
         "    authorities: [prod]\n"
         "    principals: [ops]\n" +
         (valid ? "" : "    bogus: 1\n");
}

// FileLogSink appends each record as one line, "MESSAGE | NAME=VALUE...",
// to a file: the service's records, from its parent and its forked
// workers alike, for the test to read.
class FileLogSink : public core::LogSink {
 public:
  explicit FileLogSink(std::string path) : path_(std::move(path)) {}
  void Write(const core::LogRecord& record) override {
    std::string line = record.message + " |";
    for (const auto& [name, value] : record.fields) line += " " + name + "=" + value;
    line += "\n";
    int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return;
    (void)!write(fd, line.data(), line.size());
    close(fd);
  }

 private:
  std::string path_;
};

// A running service: Serve() in a child process on a socket in a
// root-owned directory under /run, the policy beside it; its records go
// to log_ (FileLogSink).
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (getuid() != 0) GTEST_SKIP() << "needs root (root-owned socket and policy)";
    char tmpl[] = "/run/certgate-decide-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);
    policy_ = dir_ + "/policy.yaml";
    log_ = dir_ + "/service.log";
    sock_ = dir_ + "/decide.sock";
    testing::WriteFile(policy_, PolicyText(true));
    if (policy_ahead_) {  // touch -d '+1 hour'
      struct timespec ahead[2] = {{time(nullptr) + 3600, 0}, {time(nullptr) + 3600, 0}};
      ASSERT_EQ(utimensat(AT_FDCWD, policy_.c_str(), ahead, 0), 0);
    }
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock_.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(bind(l, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(chmod(sock_.c_str(), 0666), 0);  // as the socket unit makes it
    ASSERT_EQ(listen(l, 16), 0);
    // As after a touch -d long ago: the change time is out of the racy
    // window (kFineRacyNs) when the service loads the policy.
    if (policy_ahead_) usleep(300 * 1000);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      core::LoadOptions options;
      options.trusted_root = testing::TempRoot();
      PolicyCache cache(policy_, options);
      (void)cache.Refresh();
      FileLogSink log(log_);
      // Serves root and the user "daemon" (uid 1 on Debian) only.
      struct passwd* daemon_user = getpwnam("daemon");
      _exit(Serve(l, &cache, 4, ClientFilter::Only({daemon_user ? daemon_user->pw_uid : 1}), &log));
    }
    close(l);
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  struct Reply {
    AskResult result;
    int code = -1;
    std::string out, err;
  };
  Reply Ask(std::vector<const char*> args) {
    args.insert(args.begin(), {"--policy", policy_.c_str()});
    Reply r;
    AnswerView a;
    char why[PATH_MAX + 128] = {};
    r.result = AskService(sock_.c_str(), 0, kKindPrincipals, args.size(), args.data(), 10000, buf_.data(),
                          buf_.size(), &a, why, sizeof why);
    if (r.result == AskResult::kAnswered) {
      r.code = a.exit_code;
      r.out.assign(reinterpret_cast<const char*>(a.out), a.out_len);
      r.err.assign(reinterpret_cast<const char*>(a.err), a.err_len);
    }
    return r;
  }

  // Connect opens a raw connection to the service (-1 on failure).
  int Connect() {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock_.c_str(), sizeof addr.sun_path - 1);
    if (connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

  // AskAs asks the service from a child running as |user|; returns the
  // AskResult as an int, or -1 if the child could not run.
  int AskAs(const char* user) {
    struct passwd* pw = getpwnam(user);
    if (pw == nullptr) return -1;
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    pid_t child = fork();
    if (child < 0) return -1;
    if (child == 0) {
      if (setgid(gid) != 0 || setuid(uid) != 0) _exit(100);
      Reply r = Ask({"alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"});
      _exit(static_cast<int>(r.result));
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) == 100) {
      return -1;
    }
    return WEXITSTATUS(status);
  }

  // Log returns the service's records so far (FileLogSink).
  std::string Log() const {
    std::string text;
    if (access(log_.c_str(), F_OK) == 0) text = testing::ReadFile(log_);
    return text;
  }

  bool policy_ahead_ = false;  // SetUp dates the policy an hour ahead
  std::string dir_, policy_, sock_, log_;
  pid_t pid_ = -1;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(kMaxAnswerSize);
};

TEST_F(ServerTest, AnswersAndNeverFromAStalePolicy) {
  // A well-formed policy: the bad certificate is a denial, exit 0.
  Reply r = Ask({"alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"});
  ASSERT_EQ(r.result, AskResult::kAnswered);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  // Broken in place: the very next request sees it (exit 1, the helper's
  // policy error), then the repaired file again.
  testing::WriteFile(policy_, PolicyText(false));
  r = Ask({"alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"});
  ASSERT_EQ(r.result, AskResult::kAnswered);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  testing::WriteFile(policy_, PolicyText(true));
  r = Ask({"alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"});
  EXPECT_EQ(r.code, 0) << r.err;
}

// A real certificate asked for as sshd does in one login (principals-cmd
// twice, keys-cmd three times): the same grant every time, whichever worker
// answers and whether or not its signature was already checked; a forged
// copy (one signature bit flipped) is denied even after the original was.
TEST_F(ServerTest, RepeatedCertificateSameAnswerForgeryDenied) {
  testing::TempDir keys;
  const std::string ca = testing::MakeKey(keys, "ca", "ed25519");
  const std::string user = testing::MakeKey(keys, "alice", "ed25519");
  core::Result<std::vector<uint8_t>> ca_blob = core::Base64Decode(testing::PubBase64(ca + ".pub"));
  ASSERT_TRUE(ca_blob);
  testing::WriteFile(policy_, "version: 1\n"
                              "authorities:\n"
                              "  prod:\n"
                              "    keys: [\"" + core::Sha256Fingerprint(*ca_blob) + "\"]\n"
                              "rules:\n"
                              "  - users: [alice]\n"
                              "    authorities: [prod]\n"
                              "    principals: [ops]\n");
  const std::string cert = testing::SignCert(ca, user + ".pub", "alice@example.com", {"-n", "ops", "-V", "-5m:+1h"});
  const char* type = "ssh-ed25519-cert-v01@openssh.com";
  for (int i = 0; i < 5; ++i) {
    Reply r = Ask({"alice", type, cert.c_str()});
    ASSERT_EQ(r.result, AskResult::kAnswered);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "ops\n") << "request " << i;
  }
  core::Result<std::vector<uint8_t>> blob = core::Base64Decode(cert);
  ASSERT_TRUE(blob);
  (*blob)[blob->size() - 10] ^= 0x80;
  const std::string forged = core::Base64Encode(*blob);
  for (int i = 0; i < 3; ++i) {
    Reply r = Ask({"alice", type, forged.c_str()});
    ASSERT_EQ(r.result, AskResult::kAnswered);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "") << "forged request " << i;
  }
}

TEST_F(ServerTest, SameUsageErrorsAsTheHelper) {
  Reply r = Ask({"--frobnicate", "alice", "t", "k"});
  ASSERT_EQ(r.result, AskResult::kAnswered);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("unknown option --frobnicate"), std::string::npos) << r.err;
  r = Ask({"alice"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("expected 3 arguments"), std::string::npos) << r.err;
}

TEST_F(ServerTest, VersionAndHelp) {
  const char* argv[] = {"--version"};
  AnswerView a;
  char why[PATH_MAX + 128] = {};
  ASSERT_EQ(AskService(sock_.c_str(), 0, kKindKeys, 1, argv, 10000, buf_.data(), buf_.size(), &a, why,
                       sizeof why),
            AskResult::kAnswered)
      << why;
  EXPECT_EQ(a.exit_code, 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(a.out), a.out_len).rfind("keys-cmd (certgate) ", 0), 0u);
}

TEST_F(ServerTest, DeclinesOtherPoliciesExplainAndCheck) {
  const std::string other = dir_ + "/other.yaml";
  testing::WriteFile(other, PolicyText(true));
  for (std::vector<const char*> args : {std::vector<const char*>{"--policy", other.c_str(), "alice", "t", "k"},
                                        std::vector<const char*>{"--check", "--policy", policy_.c_str()},
                                        std::vector<const char*>{"--explain", "--user", "alice", "/etc/passwd"},
                                        std::vector<const char*>{"alice", "t", "k"}}) {  // default policy
    AnswerView a;
    char why[PATH_MAX + 128] = {};
    EXPECT_EQ(AskService(sock_.c_str(), 0, kKindPrincipals, args.size(), args.data(), 10000, buf_.data(),
                         buf_.size(), &a, why, sizeof why),
              AskResult::kDeclined)
        << args[0];
  }
}

TEST_F(ServerTest, MalformedRequestGetsNoAnswer) {
  int fd = Connect();
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "CGQ1garbage", 11), 11);
  shutdown(fd, SHUT_WR);
  char c;
  EXPECT_EQ(read(fd, &c, 1), 0);  // closed without a byte: the client denies
  close(fd);
}

// A client that connects and sends nothing is given up at
// kRequestReadTimeoutSec, and that is logged as what it is: no request, so
// no decision (not a decision that took too long).
TEST_F(ServerTest, AClientThatSendsNothingIsLogged) {
  int fd = Connect();
  ASSERT_GE(fd, 0);
  char c;
  struct timeval tv {kRequestReadTimeoutSec + 3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(read(fd, &c, 1), 0);  // closed without an answer
  close(fd);
  std::string log;
  for (int i = 0; i < 50 && log.find("no request") == std::string::npos; ++i) {
    usleep(20 * 1000);
    log = Log();
  }
  EXPECT_NE(log.find("did not send a complete request within 10s (nothing received); no decision was made"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("CERTGATE_PROGRAM=certgate-decide CERTGATE_REASON=request-timeout"), std::string::npos) << log;
  EXPECT_EQ(log.find("took longer"), std::string::npos) << log;
}

// A policy dated ahead of the clock when the service starts is logged
// (once), as one that becomes so later is: the load before Serve() is the
// one that finds it.
class AheadServerTest : public ServerTest {
 protected:
  void SetUp() override {
    policy_ahead_ = true;
    ServerTest::SetUp();
  }
};

TEST_F(AheadServerTest, APolicyAheadOfTheClockAtStartIsLogged) {
  ASSERT_EQ(Ask({"alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"}).result, AskResult::kAnswered);
  const std::string warning = "policy file " + policy_ + " has a timestamp ";
  std::string log;
  for (int i = 0; i < 100 && log.find(warning) == std::string::npos; ++i) {
    usleep(20 * 1000);
    log = Log();
  }
  const size_t at = log.find(warning);
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_NE(log.find(" s ahead of the clock (touch -d, or a clock set back)", at), std::string::npos) << log;
  ASSERT_EQ(Ask({"alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"}).result, AskResult::kAnswered);
  EXPECT_EQ(Log().find(warning, at + 1), std::string::npos) << "logged twice:\n" << Log();
}

// A worker stuck while it reads the request (stopped here) is killed by
// the service past the deadline, and logged as a request that did not
// arrive, naming the client, without claiming to know how much of it did.
TEST_F(ServerTest, AWorkerStuckReadingIsKilledAndLogged) {
  int fd = Connect();
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, "x", 1, MSG_NOSIGNAL), 1);  // a worker has taken the connection
  usleep(200 * 1000);
  // Stop every worker (the service's children): the one reading stays busy.
  const std::string children =
      testing::ReadFile("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) + "/children");
  std::vector<pid_t> workers;
  for (size_t at = 0; at < children.size();) {
    size_t end = children.find(' ', at);
    if (end == std::string::npos) end = children.size();
    if (end > at) workers.push_back(static_cast<pid_t>(std::stol(children.substr(at, end - at))));
    at = end + 1;
  }
  ASSERT_FALSE(workers.empty());
  for (pid_t w : workers) ASSERT_EQ(kill(w, SIGSTOP), 0);
  std::string log;
  for (int i = 0; i < 150 && log.find("killed") == std::string::npos; ++i) {
    usleep(100 * 1000);
    log = Log();
  }
  for (pid_t w : workers) kill(w, SIGCONT);
  close(fd);
  EXPECT_NE(log.find("no request: the client (pid " + std::to_string(getpid()) + ", uid " + std::to_string(getuid()) +
                     ") did not send a complete request within 10s (how much was received is not known; worker "),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(" ms past that deadline); no decision was made"), std::string::npos) << log;
  EXPECT_EQ(log.find("nothing received"), std::string::npos) << log;
}

// SIGHUP does not stop the service (systemd does not restart a service
// that SIGHUP killed): it re-checks the policy and says so.
TEST_F(ServerTest, SighupRechecksThePolicyAndKeepsServing) {
  ASSERT_EQ(Ask({"alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"}).result, AskResult::kAnswered);  // serving
  ASSERT_EQ(kill(pid_, SIGHUP), 0);
  std::string log;
  for (int i = 0; i < 100 && log.find("SIGHUP") == std::string::npos; ++i) {
    usleep(20 * 1000);
    log = Log();
  }
  EXPECT_NE(log.find("SIGHUP: policy re-checked now: policy " + policy_ +
                     ": 1 rules; no reload is needed: the policy is re-checked at every request"),
            std::string::npos)
      << log;
  EXPECT_EQ(waitpid(pid_, nullptr, WNOHANG), 0);
  Reply r = Ask({"alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"});
  EXPECT_EQ(r.result, AskResult::kAnswered);
}

// Stopping the service (systemctl stop or restart: SIGTERM) lets a request
// in progress finish and be answered; then the service exits 0.
TEST_F(ServerTest, StopFinishesTheRequestInProgress) {
  std::vector<const char*> args = {"--policy", policy_.c_str(), "alice", "ssh-ed25519-cert-v01@openssh.com",
                                   "AAAA"};
  std::vector<uint8_t> request(kMaxRequestSize);
  const size_t size = EncodeRequest(kKindPrincipals, args.size(), args.data(), request.data(), request.size());
  ASSERT_GT(size, 10u);
  ASSERT_EQ(Ask({"alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"}).result, AskResult::kAnswered);  // serving
  int fd = Connect();
  ASSERT_GE(fd, 0);
  // Half the request: a worker has accepted it and is reading it.
  ASSERT_EQ(write(fd, request.data(), size / 2), static_cast<ssize_t>(size / 2));
  usleep(200 * 1000);
  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  usleep(300 * 1000);
  EXPECT_EQ(waitpid(pid_, nullptr, WNOHANG), 0);  // still there: a request is in progress
  ASSERT_EQ(write(fd, request.data() + size / 2, size - size / 2), static_cast<ssize_t>(size - size / 2));
  shutdown(fd, SHUT_WR);
  std::vector<uint8_t> answer(kMaxAnswerSize);
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, answer.data() + got, answer.size() - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  AnswerView view;
  ASSERT_TRUE(ParseAnswer(answer.data(), got, &view)) << got << " bytes";
  EXPECT_FALSE(view.declined);
  EXPECT_EQ(view.exit_code, 0);
  int status = 0;
  for (int i = 0; i < 300 && waitpid(pid_, &status, WNOHANG) == 0; ++i) usleep(10 * 1000);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  pid_ = -1;
  const std::string log = Log();
  EXPECT_NE(log.find("stopping: 1 requests in progress are finished first"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped; 2 requests served"), std::string::npos) << log;
}

TEST_F(ServerTest, ServesOnlyItsClientUsers) {
  EXPECT_EQ(AskAs("daemon"), static_cast<int>(AskResult::kAnswered));
  EXPECT_EQ(AskAs("nobody"), static_cast<int>(AskResult::kDeclined));
}

// Other users cannot occupy the children that serve logins: idle
// connections from "nobody" (twice --max-children) are declined at once, so
// a request from root is still answered. Without the filter each idle
// connection would hold a child for kRequestReadTimeoutSec.
TEST_F(ServerTest, OtherUsersCannotHoldTheChildren) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t holder = fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    close(pipe_fds[0]);
    struct passwd* pw = getpwnam("nobody");
    if (pw == nullptr || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) _exit(1);
    bool all = true;
    for (int i = 0; i < 8; ++i) all = Connect() >= 0 && all;
    (void)!write(pipe_fds[1], all ? "y" : "n", 1);
    pause();  // holds the connections, sending nothing, until killed
    _exit(0);
  }
  close(pipe_fds[1]);
  char c;
  ASSERT_EQ(read(pipe_fds[0], &c, 1), 1);
  close(pipe_fds[0]);
  EXPECT_EQ(c, 'y') << "nobody could not connect 8 times";
  Reply r = Ask({"alice", "ssh-ed25519-cert-v01@openssh.com", "AAAA"});
  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
  ASSERT_EQ(r.result, AskResult::kAnswered);
  EXPECT_EQ(r.code, 0) << r.err;
}

// A usage error is a logged denial, with the login name when sshd's %u can
// be told from the arguments (principals-cmd(8)).
TEST(UsageErrorAnswerTest, LogsTheLoginNameWhenKnown) {
  core::CaptureLogSink log;
  HelperAnswer a = UsageErrorAnswer(core::HelperKind::kPrincipals, {"--timeout", "0", "alice", "t", "k"},
                                    "--timeout must be 1 to 3600 seconds", false, &log);
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_EQ(a.out, "");
  EXPECT_EQ(a.err, "principals-cmd: --timeout must be 1 to 3600 seconds\n");
  ASSERT_EQ(log.records.size(), 1u);
  EXPECT_EQ(log.records[0].message, "usage error, nothing granted: --timeout must be 1 to 3600 seconds");
  std::vector<std::pair<std::string, std::string>> want = {
      {"CERTGATE_PROGRAM", "principals-cmd"},
      {"CERTGATE_DECISION", "deny"},
      {"CERTGATE_USER", "alice"},
      {"CERTGATE_REASON", "usage error, nothing granted: --timeout must be 1 to 3600 seconds"}};
  EXPECT_EQ(log.records[0].fields, want);
  log.records.clear();
  (void)UsageErrorAnswer(core::HelperKind::kKeys, {"--frobnicate"}, "unknown option --frobnicate (see --help)",
                         true, &log);
  ASSERT_EQ(log.records.size(), 1u);
  for (const auto& field : log.records[0].fields) EXPECT_NE(field.first, "CERTGATE_USER");
  // An argument's line break or escape sequence is escaped on stderr too,
  // as in the record: one line, and no terminal control.
  log.records.clear();
  HelperAnswer odd = UsageErrorAnswer(core::HelperKind::kKeys, {"--fr\nob\x1b[31m"},
                                      "unknown option --fr\nob\x1b[31m (see --help)", false, &log);
  EXPECT_EQ(odd.err, "keys-cmd: unknown option --fr\\x0aob\\x1b[31m (see --help)\n");
  ASSERT_EQ(log.records.size(), 1u);
  EXPECT_EQ(log.records[0].message, "usage error, nothing granted: unknown option --fr\\x0aob\\x1b[31m (see --help)");
}

}  // namespace
}  // namespace certgate::decide
