#include "decide/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <charconv>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

#include "core/helper_args.h"
#include "core/openssl_ptr.h"
#include "core/unique_fd.h"
#include "decide/protocol.h"
#include "helper-main/helper_main.h"

namespace certgate::decide {
namespace {

// ReadRequest reads until the client's shutdown(SHUT_WR); false on error,
// timeout (SO_RCVTIMEO) or more than kMaxRequestSize bytes.
bool ReadRequest(int fd, std::vector<uint8_t>* out) {
  out->resize(kMaxRequestSize + 1);
  size_t off = 0;
  for (;;) {
    ssize_t n = recv(fd, out->data() + off, out->size() - off, 0);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    off += static_cast<size_t>(n);
    if (off > kMaxRequestSize) return false;
  }
  out->resize(off);
  return true;
}

bool SendAll(int fd, const uint8_t* data, size_t size, int flags = 0) {
  size_t off = 0;
  while (off < size) {
    ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL | flags);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// SendDecline sends the "declined" answer (the client then decides
// in-process), with send() |flags| beyond MSG_NOSIGNAL.
bool SendDecline(int conn, int flags) {
  uint8_t decline[64];
  const size_t size = EncodeDecline(decline, sizeof decline);
  return size > 0 && SendAll(conn, decline, size, flags);
}

// ReadCaptured returns up to |cap| bytes of the memfd |fd|; |*over| tells
// whether there was more.
std::vector<uint8_t> ReadCaptured(int fd, size_t cap, bool* over) {
  std::vector<uint8_t> data;
  *over = false;
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < 0) {
    *over = true;
    return data;
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size > cap) {
    *over = true;
    size = cap;
  }
  data.resize(size);
  size_t off = 0;
  while (off < size) {
    ssize_t n = pread(fd, data.data() + off, size - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *over = true;
      data.resize(off);
      break;
    }
    off += static_cast<size_t>(n);
  }
  return data;
}

// g_report_stats is set by SIGUSR1: log the counters at the next loop.
volatile sig_atomic_t g_report_stats = 0;

void OnUsr1(int) { g_report_stats = 1; }
// OnChld only interrupts the parent's poll() so that it reaps at once.
void OnChld(int) {}

// Stats are what SIGUSR1 reports (for bench/run and an admin's curiosity).
struct Stats {
  uint64_t requests = 0;
  long child_peak_rss_kib = 0;  // largest ru_maxrss of a request child
  long child_peak_private_kib = 0;  // largest memory a request did not share
};

core::LogRecord ServiceRecord(core::Priority priority, std::string message) {
  core::LogRecord rec;
  rec.priority = priority;
  rec.message = std::move(message);
  rec.fields.emplace_back("CERTGATE_PROGRAM", "certgate-decide");
  return rec;
}

// SignAndVerify makes a key of |type| and signs and verifies one message.
void SignAndVerify(const char* type, const EVP_MD* md) {
  EVP_PKEY* raw = nullptr;
  if (md == nullptr) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, type, "P-256");
  }
  if (raw == nullptr) return;
  core::EvpPkeyPtr key(raw);
  const unsigned char msg[] = "certgate";
  unsigned char sig[256];
  size_t sig_len = sizeof sig;
  core::EvpMdCtxPtr sign(EVP_MD_CTX_new());
  if (!sign || EVP_DigestSignInit(sign.get(), nullptr, md, nullptr, key.get()) != 1 ||
      EVP_DigestSign(sign.get(), sig, &sig_len, msg, sizeof msg) != 1) {
    return;
  }
  core::EvpMdCtxPtr verify(EVP_MD_CTX_new());
  if (verify && EVP_DigestVerifyInit(verify.get(), nullptr, md, nullptr, key.get()) == 1) {
    (void)EVP_DigestVerify(verify.get(), sig, sig_len, msg, sizeof msg);
  }
}

}  // namespace

void WarmUpCrypto() {
  SignAndVerify("ED25519", nullptr);
  SignAndVerify("EC", EVP_sha256());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const unsigned char msg[] = "certgate";
  (void)EVP_Digest(msg, sizeof msg, digest, &len, EVP_sha512(), nullptr);
  (void)EVP_Digest(msg, sizeof msg, digest, &len, EVP_sha384(), nullptr);
}

int HandleConnection(int conn, core::PolicySource* policies, const std::string& served_policy) {
  struct timeval tv {kRequestReadTimeoutSec, 0};
  setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::vector<uint8_t> bytes;
  RequestView request;
  if (!ReadRequest(conn, &bytes) || !ParseRequest(bytes.data(), bytes.size(), &request)) return 1;
  const core::HelperKind kind =
      request.kind == kKindKeys ? core::HelperKind::kKeys : core::HelperKind::kPrincipals;
  std::vector<std::string> args;
  args.emplace_back(core::HelperName(kind));
  for (size_t i = 0; i < request.argc; ++i) {
    args.emplace_back(reinterpret_cast<const char*>(request.arg[i]), request.len[i]);
  }
  // Decline what only the caller may do: read other files (another policy,
  // --explain's certificate file) or print a policy's issues (--check).
  // A usage error is not declined: HelperMain reports it as the helper does.
  core::Result<core::HelperOptions> options =
      core::ParseHelperArgs(kind, std::vector<std::string>(args.begin() + 1, args.end()));
  if (options && (options->mode == core::HelperMode::kExplain || options->mode == core::HelperMode::kCheck ||
                  ((options->mode == core::HelperMode::kSshd) && options->policy_path != served_policy))) {
    const bool sent = SendDecline(conn, 0);
    shutdown(conn, SHUT_RDWR);
    return sent ? 0 : 1;
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The helper writes its answer to fd 1 and messages to fd 2, exactly as
  // when sshd runs it: here both are memory files we send back.
  core::UniqueFd out(memfd_create("certgate-stdout", MFD_CLOEXEC));
  core::UniqueFd err(memfd_create("certgate-stderr", MFD_CLOEXEC));
  if (!out.valid() || !err.valid() || dup2(out.get(), STDOUT_FILENO) < 0 ||
      dup2(err.get(), STDERR_FILENO) < 0) {
    return 1;
  }
  const int exit_code = HelperMain(kind, static_cast<int>(args.size()), argv.data(), policies);
  bool out_over = false, err_over = false;
  std::vector<uint8_t> out_data = ReadCaptured(out.get(), kMaxAnswerOut, &out_over);
  std::vector<uint8_t> err_data = ReadCaptured(err.get(), kMaxAnswerErr, &err_over);
  int code = exit_code;
  if (out_over) {
    // Never a partial answer: deny as the helper does on a failed write.
    out_data.clear();
    code = 1;
  }
  std::vector<uint8_t> answer(AnswerSize(out_data.size(), err_data.size()));
  size_t size = EncodeAnswer(code, out_data.data(), out_data.size(), err_data.data(), err_data.size(),
                             answer.data(), answer.size());
  if (size == 0) return 1;
  const bool sent = SendAll(conn, answer.data(), size);
  // Close now: _exit() tears the address space down before it closes
  // files, and the client waits for end-of-file.
  shutdown(conn, SHUT_RDWR);
  return sent ? 0 : 1;
}

namespace {

// ChildUsage is what a request child reports when done (one pipe write).
struct ChildUsage {
  pid_t pid;
  int32_t private_kib;
};

// PrivateKib returns Private_Clean + Private_Dirty of this process (KiB,
// /proc/self/smaps_rollup), or -1: the pages a request did not share with
// the service (copy-on-write copies, its own heap and stack).
int32_t PrivateKib() {
  core::UniqueFd fd(open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return -1;
  char buf[4096];
  ssize_t n = read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return -1;
  buf[n] = '\0';
  std::string_view text(buf, static_cast<size_t>(n));
  int32_t total = 0;
  for (std::string_view key : {"Private_Clean:", "Private_Dirty:"}) {
    size_t at = text.find(key);
    if (at == std::string_view::npos) return -1;
    size_t p = at + key.size();
    while (p < text.size() && text[p] == ' ') ++p;
    int32_t v = 0;
    auto [end, ec] = std::from_chars(text.data() + p, text.data() + text.size(), v);
    if (ec != std::errc()) return -1;
    total += v;
  }
  return total;
}

// RunSpare is a pre-forked request child: it waits for a connection (or
// for its generation to be retired: EOF on |generation_fd|), tells the
// parent it is busy, re-validates the policy it inherited, serves the one
// request and exits. Never returns.
[[noreturn]] void RunSpare(int listen_fd, int generation_fd, int busy_fd, int usage_fd,
                           PolicyCache* cache, const ClientFilter& clients) {
  signal(SIGTERM, SIG_DFL);
  signal(SIGUSR1, SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  for (;;) {
    struct pollfd p[2] = {{listen_fd, POLLIN, 0}, {generation_fd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    // A retired spare never takes a connection: it stays queued for a
    // spare forked from the current policy.
    if (p[1].revents != 0) _exit(0);
    if ((p[0].revents & POLLIN) == 0) continue;
    int conn = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) continue;
      _exit(1);
    }
    struct ucred peer {};
    socklen_t peer_len = sizeof peer;
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0 ||
        !clients.Allows(peer.uid)) {
      // Not a command user: decline without reading the request (the
      // client decides in-process) and stay a spare. MSG_DONTWAIT: a peer
      // that never reads cannot hold this child.
      (void)SendDecline(conn, MSG_DONTWAIT);
      close(conn);
      continue;
    }
    const pid_t self = getpid();
    (void)!write(busy_fd, &self, sizeof self);  // atomic: < PIPE_BUF
    close(listen_fd);
    close(generation_fd);
    close(busy_fd);
    // Never answer from a stale policy: the stamps are checked again at the
    // request, and a changed policy is reloaded in this child, within the
    // helper's run (and its --timeout) when it asks for the policy.
    cache->RefreshAtNextGet();
    const int status = HandleConnection(conn, cache, cache->path());
    // After the answer (the client no longer waits): report the memory
    // this request made private, i.e. not shared with the service.
    // Sampled (1 request in 16): walking the page tables costs CPU too.
    if (self % 16 == 0) {
      const ChildUsage usage{self, PrivateKib()};
      (void)!write(usage_fd, &usage, sizeof usage);
    }
    _exit(status);
  }
}

}  // namespace

bool ClientFilter::Allows(uid_t uid) const {
  if (any_ || uid == 0) return true;
  return std::find(uids_.begin(), uids_.end(), uid) != uids_.end();
}

int Serve(int listen_fd, PolicyCache* cache, size_t max_children, const ClientFilter& clients,
          core::LogSink* log) {
  // Spare children wait in poll()+accept() on the shared socket; the ones
  // that lose the race for a connection get EAGAIN and wait again.
  const int fl = fcntl(listen_fd, F_GETFL);
  if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) != 0) {
    log->Write(ServiceRecord(core::Priority::kErr, std::string("cannot make the socket non-blocking: ") +
                                                       std::strerror(errno) + "; exiting"));
    return 1;
  }
  const size_t spares_target = std::min(kSpareChildren, max_children);
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = OnUsr1;  // no SA_RESTART: poll() returns EINTR
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = OnChld;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, nullptr);

  int busy[2];
  if (pipe2(busy, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  core::UniqueFd busy_read(busy[0]), busy_write(busy[1]);
  int usage_pipe[2];
  if (pipe2(usage_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  core::UniqueFd usage_read(usage_pipe[0]), usage_write(usage_pipe[1]);
  core::UniqueFd generation_read, generation_write;
  auto new_generation = [&]() -> bool {
    int g[2];
    if (pipe2(g, O_CLOEXEC) != 0) return false;
    generation_read = core::UniqueFd(g[0]);  // closing the old write end retires old spares
    generation_write = core::UniqueFd(g[1]);
    return true;
  };
  if (!new_generation()) return 1;

  Stats stats;
  std::set<pid_t> idle, children;
  std::string last_issue;  // the unusable policy's first issue, as last logged
  if (!cache->current().policy) {
    // main() has logged the state of the start-up load.
    last_issue = cache->current().issues.empty() ? "no policy" : cache->current().issues.front().ToString();
  }
  for (;;) {
    for (;;) {
      int status = 0;
      struct rusage ru {};
      pid_t pid = wait4(-1, &status, WNOHANG, &ru);
      if (pid <= 0) break;
      if (ru.ru_maxrss > stats.child_peak_rss_kib) stats.child_peak_rss_kib = ru.ru_maxrss;
      idle.erase(pid);
      children.erase(pid);
    }
    ChildUsage usage;
    while (read(usage_read.get(), &usage, sizeof usage) == static_cast<ssize_t>(sizeof usage)) {
      stats.child_peak_private_kib = std::max(stats.child_peak_private_kib, static_cast<long>(usage.private_kib));
    }
    pid_t busy_pid;
    while (read(busy_read.get(), &busy_pid, sizeof busy_pid) == static_cast<ssize_t>(sizeof busy_pid)) {
      if (idle.erase(busy_pid) > 0) ++stats.requests;
    }
    if (g_report_stats != 0) {
      g_report_stats = 0;
      struct rusage self {};
      getrusage(RUSAGE_SELF, &self);
      log->Write(ServiceRecord(core::Priority::kInfo,
                               "stats: " + std::to_string(stats.requests) + " requests; peak RSS " +
                                   std::to_string(self.ru_maxrss) + " KiB (service), " +
                                   std::to_string(stats.child_peak_rss_kib) + " KiB (largest request child), " +
                                   std::to_string(stats.child_peak_private_kib) +
                                   " KiB (largest private memory of a request child)"));
    }
    // Keep the spares' policy current: a reload retires every idle spare.
    // A reload is logged when the files changed; an unusable policy once
    // per distinct first issue (a racy reload repeats it silently).
    PolicyCache::RefreshResult refreshed = cache->Refresh();
    if (refreshed != PolicyCache::RefreshResult::kCurrent) {
      if (!new_generation()) return 1;
      idle.clear();  // they exit on their own; still counted in |children|
    }
    if (refreshed == PolicyCache::RefreshResult::kReloaded) {
      const core::LoadResult& r = cache->current();
      if (r.policy) {
        last_issue.clear();
        log->Write(ServiceRecord(core::Priority::kInfo,
                                 "policy " + cache->path() + " loaded: " +
                                     std::to_string(r.policy->rules.size()) + " rules from " +
                                     std::to_string(r.policy->files.size()) + " files"));
      } else {
        std::string issue = r.issues.empty() ? "no policy" : r.issues.front().ToString();
        if (issue != last_issue) {
          log->Write(ServiceRecord(core::Priority::kErr,
                                   "policy " + cache->path() + " is unusable, every login is denied: " +
                                       core::EscapeForLog(issue) + "; fix it and check with principals-cmd --check"));
          last_issue = std::move(issue);
        }
      }
    }
    // A fork copies the service's page tables (milliseconds at 100,000
    // rules): while a request runs and a spare is still idle, the
    // replacement waits for the request to end, so that it does not take
    // the CPU from it; with no idle spare left it is forked at once.
    while (idle.size() < spares_target && children.size() < max_children &&
           (idle.empty() || children.size() == idle.size())) {
      pid_t pid = fork();
      if (pid == 0) {
        generation_write.Reset();
        busy_read.Reset();
        usage_read.Reset();
        RunSpare(listen_fd, generation_read.get(), busy_write.get(), usage_write.get(), cache,
                 clients);
      }
      if (pid < 0) {
        log->Write(ServiceRecord(core::Priority::kErr, std::string("fork failed: ") + std::strerror(errno) +
                                                           "; retrying (clients wait, then decide in-process or deny)"));
        break;
      }
      idle.insert(pid);
      children.insert(pid);
    }
    struct pollfd p {busy_read.get(), POLLIN, 0};
    // Wake for a busy spare (fork its replacement), a child's exit
    // (SIGCHLD), SIGUSR1, or every second to re-validate the policy.
    (void)poll(&p, 1, 1000);
  }
}

}  // namespace certgate::decide
