// A request worker of the service (RunWorker): accepts connections from
// the service's socket and serves them one after another (ServeConnection:
// read the request, decide with the resident policy, send the answer).
// Forking, retiring and killing workers is server.cc's.
#include "decide/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/groups.h"
#include "core/helper_args.h"
#include "core/unique_fd.h"
#include "decide/protocol.h"
#include "helper-main/helper_main.h"

namespace certgate::decide {
namespace {

static_assert(kMaxAnswerOut >= core::kMaxSshdAnswer, "every answer a helper may give must fit the protocol");

// ReadResult says how reading a request ended.
enum class ReadResult { kRead, kTimedOut, kFailed };

// ReadRequest reads until the client's shutdown(SHUT_WR) into |buf| (|cap|
// bytes), by |deadline_ms| (CLOCK_MONOTONIC) in all, however the client
// spaces its bytes: kTimedOut past it, kFailed on an error or more than
// kMaxRequestSize bytes; |*size| gets the bytes read either way.
ReadResult ReadRequest(int fd, uint8_t* buf, size_t cap, size_t* size, int64_t deadline_ms) {
  size_t off = 0;
  *size = 0;
  for (;;) {
    const int64_t left = deadline_ms - NowMs();
    if (left <= 0) return ReadResult::kTimedOut;
    struct pollfd p {fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (ready < 0 && errno != EINTR) return ReadResult::kFailed;
    if (ready <= 0) continue;
    ssize_t n = recv(fd, buf + off, cap - off, MSG_DONTWAIT);
    if (n == 0) break;
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) return ReadResult::kFailed;
    off += static_cast<size_t>(n);
    *size = off;
    if (off > kMaxRequestSize || off == cap) return ReadResult::kFailed;
  }
  return ReadResult::kRead;
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

// PrivateKib returns Private_Clean + Private_Dirty of this process (KiB,
// /proc/self/smaps_rollup), or -1: the pages a worker does not share with
// the service (copy-on-write copies, its own heap and stack).
int64_t PrivateKib() {
  return SumProcKib("/proc/self/smaps_rollup", {"Private_Clean:", "Private_Dirty:"});
}

// SharedSignatureMemo is the workers' common SignatureMemo: a
// direct-mapped table of certificate digests in the shared state, so that
// the five helper runs of one login check the CA signature once whichever
// workers serve them. Lock-free (a seqlock per entry): a reader that races
// a writer, or an entry being overwritten, is a miss and the signature is
// checked; a digest is only ever found after Remember stored all of it.
class SharedSignatureMemo : public core::SignatureMemo {
 public:
  explicit SharedSignatureMemo(MemoEntry* entries) : entries_(entries) {}

  bool Contains(const Digest& digest) override {
    MemoEntry& e = Entry(digest);
    const uint32_t before = e.seq.load(std::memory_order_acquire);
    if (before == 0 || (before & 1) != 0) return false;  // never written, or being written
    uint64_t words[4];
    for (size_t i = 0; i < 4; ++i) words[i] = e.words[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (e.seq.load(std::memory_order_relaxed) != before) return false;
    return std::memcmp(words, digest.data(), digest.size()) == 0;
  }

  void Remember(const Digest& digest) override {
    MemoEntry& e = Entry(digest);
    uint32_t seq = e.seq.load(std::memory_order_relaxed);
    // One writer per entry: another one busy (odd) or winning the race
    // means this digest is simply not remembered.
    if ((seq & 1) != 0 || !e.seq.compare_exchange_strong(seq, seq + 1, std::memory_order_relaxed)) return;
    std::atomic_thread_fence(std::memory_order_release);
    uint64_t words[4];
    std::memcpy(words, digest.data(), digest.size());
    for (size_t i = 0; i < 4; ++i) e.words[i].store(words[i], std::memory_order_relaxed);
    e.seq.store(seq + 2, std::memory_order_release);
  }

 private:
  MemoEntry& Entry(const Digest& digest) {
    return entries_[(static_cast<size_t>(digest[0]) | static_cast<size_t>(digest[1]) << 8) % kMemoEntries];
  }
  MemoEntry* entries_;
};
static_assert(sizeof(core::SignatureMemo::Digest) == 4 * sizeof(uint64_t));

// g_worker_stop is a worker's SIGTERM: retire after the current request.
volatile sig_atomic_t g_worker_stop = 0;
void OnWorkerTerm(int) { g_worker_stop = 1; }

// ServeConnection is one request, in a worker: read the request from
// |conn| (already accepted and allowed) into |buf| (|cap| bytes) and, if it
// is an sshd-mode request (or --help/--version, or a usage error) for
// |cache|'s policy, re-validate the policy (stat of every file; reload if
// anything changed), decide and send the answer: stdout, stderr and exit
// status exactly as the in-process helper gives them. Another --policy,
// --explain, --check and --compile are declined (the client then decides in-process,
// as the caller, so that the service never reads other files for it). A
// malformed request or a failed send sends nothing (the client then
// denies). The request must arrive by |slot|'s deadline (set on accept),
// else it is logged to |service_log| (RequestTimeoutRecord) and nothing is
// sent. |slot| gets the request's kind, deadline (its --timeout) and
// stage; |signatures| remembers verified certificates, |groups| NSS group
// answers (for a second). |peer| is the client. Returns false if the
// request was malformed, late or the answer not sent.
bool ServeConnection(int conn, const struct ucred& peer, PolicyCache* cache, uint8_t* buf, size_t cap,
                     WorkerSlot* slot, core::SignatureMemo* signatures, core::GroupCache* groups,
                     core::LogSink* service_log) {
  struct timeval tv {kRequestReadTimeoutSec, 0};
  setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  size_t size = 0;
  RequestView request;
  const ReadResult read = ReadRequest(conn, buf, cap, &size, slot->deadline_ms.load(std::memory_order_relaxed));
  if (read == ReadResult::kTimedOut) {
    service_log->Write(RequestTimeoutRecord(peer, size, ""));
    return false;
  }
  if (read != ReadResult::kRead || !ParseRequest(buf, size, &request)) return false;
  slot->request_read.store(1, std::memory_order_release);
  const core::HelperKind kind =
      request.kind == kKindKeys ? core::HelperKind::kKeys : core::HelperKind::kPrincipals;
  slot->kind.store(request.kind, std::memory_order_relaxed);
  std::vector<std::string> args;
  args.reserve(request.argc);
  for (size_t i = 0; i < request.argc; ++i) {
    args.emplace_back(reinterpret_cast<const char*>(request.arg[i]), request.len[i]);
  }
  // Decline what only the caller may do: read other files (another policy,
  // --explain's certificate file), print a policy's issues (--check) or
  // write the snapshot (--compile).
  // A usage error is not declined: it is answered as the helper does.
  core::Result<core::HelperOptions> options = core::ParseHelperArgs(kind, args);
  if (options && (options->mode == core::HelperMode::kExplain || options->mode == core::HelperMode::kCheck ||
                  options->mode == core::HelperMode::kCompile ||
                  (options->mode == core::HelperMode::kSshd && options->policy_path != cache->path()))) {
    const bool sent = SendDecline(conn, 0);
    shutdown(conn, SHUT_RDWR);
    return sent;
  }
  const bool verbose = WantsVerbose(args);
  std::string log_copy;  // --verbose: the log records, as the helper's stderr
  core::SystemLogSink log(core::HelperName(kind), verbose, &log_copy);
  HelperAnswer answer;
  if (!options) {
    answer = UsageErrorAnswer(kind, args, options.error().detail, verbose, &log);
  } else {
    slot->timeout_ms.store(static_cast<int64_t>(options->timeout_ms), std::memory_order_release);
    slot->deadline_ms.store(NowMs() + static_cast<int64_t>(options->timeout_ms), std::memory_order_relaxed);
    // Never answer from a stale policy: the stamps are checked again at
    // the request, and a changed policy is reloaded here, within the
    // request's deadline, when the decision asks for the policy.
    cache->RefreshAtNextGet();
    answer = DecideAnswer(kind, *options, cache, &log, &slot->stage, signatures, groups);
  }
  std::string err = std::move(log_copy);
  err += answer.err;
  if (err.size() > kMaxAnswerErr) err.resize(kMaxAnswerErr);
  if (answer.out.size() > kMaxAnswerOut) {
    // Never a partial answer: deny as the helper does on a failed write.
    answer.out.clear();
    answer.exit_code = 1;
  }
  std::vector<uint8_t> encoded(AnswerSize(answer.out.size(), err.size()));
  const size_t encoded_size =
      EncodeAnswer(answer.exit_code, reinterpret_cast<const uint8_t*>(answer.out.data()), answer.out.size(),
                   reinterpret_cast<const uint8_t*>(err.data()), err.size(), encoded.data(), encoded.size());
  if (encoded_size == 0) return false;
  const bool sent = SendAll(conn, encoded.data(), encoded_size);
  shutdown(conn, SHUT_RDWR);
  return sent;
}

}  // namespace

int64_t NowMs() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

size_t CountIdle(const SharedState& shared) {
  size_t idle = 0;
  const uint32_t n = shared.slot_count.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; ++i) {
    if (shared.slots[i].state.load(std::memory_order_relaxed) == kSlotIdle) ++idle;
  }
  return idle;
}

int64_t SumProcKib(const char* path, std::initializer_list<std::string_view> keys) {
  core::UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return -1;
  char buf[8192];
  ssize_t n = read(fd.get(), buf, sizeof buf);
  if (n <= 0) return -1;
  std::string_view text(buf, static_cast<size_t>(n));
  int64_t total = 0;
  for (std::string_view key : keys) {
    size_t at = text.find(key);
    if (at == std::string_view::npos) return -1;
    size_t p = at + key.size();
    while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data() + p, text.data() + text.size(), v);
    if (ec != std::errc()) return -1;
    total += v;
  }
  return total;
}

std::string ClientName(const struct ucred& peer) {
  return peer.pid > 0 ? "the client (pid " + std::to_string(peer.pid) + ", uid " + std::to_string(peer.uid) + ")"
                      : "the client";
}

core::LogRecord RequestTimeoutRecord(const struct ucred& peer, std::optional<size_t> got, const std::string& killed) {
  const std::string who = ClientName(peer);
  core::LogRecord rec = ServiceRecord(
      core::Priority::kWarning,
      "no request: " + who + " did not send a complete request within " + std::to_string(kRequestReadTimeoutSec) +
          "s (" +
          (!got ? std::string("how much was received is not known")
                : (*got == 0 ? std::string("nothing") : std::to_string(*got) + " bytes") + " received") +
          killed +
          "); no decision was made and nothing answered; a client must send its whole request at once "
          "(principals-cmd and keys-cmd do)");
  rec.fields.emplace_back("CERTGATE_REASON", "request-timeout");
  return rec;
}

void RunWorker(int listen_fd, int wake_fd, pid_t parent, SharedState* shared, WorkerSlot* slot,
               PolicyCache* cache, const ClientFilter& clients, core::LogSink* log) {
  signal(SIGUSR1, SIG_IGN);  // `systemctl kill -s USR1` reaches every process of the unit
  signal(SIGHUP, SIG_IGN);   // and so may SIGHUP: the parent answers it
  signal(SIGINT, SIG_IGN);   // the parent stops the workers (SIGTERM)
  signal(SIGCHLD, SIG_DFL);
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = OnWorkerTerm;  // no SA_RESTART: accept() returns EINTR
  sigaction(SIGTERM, &sa, nullptr);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, nullptr);
  // The service gone, a worker goes at once, even in the middle of a
  // request hanging in NSS (SIGTERM is blocked then): its client denies.
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);  // the parent died before the prctl

  // The request buffer lives as long as the worker: no allocation (and no
  // page faults after the first requests) per request.
  std::vector<uint8_t> request(kMaxRequestSize + 1);
  SharedSignatureMemo signatures(shared->memo);
  core::GroupCache groups;
  uint64_t served = 0;
  for (;;) {
    slot->state.store(kSlotIdle, std::memory_order_release);
    sigprocmask(SIG_UNBLOCK, &term, nullptr);  // a pending SIGTERM is handled here
    int conn = -1;
    if (g_worker_stop == 0) conn = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    const int accept_errno = errno;
    sigprocmask(SIG_BLOCK, &term, nullptr);
    if (conn < 0) {
      if (g_worker_stop != 0) _exit(0);
      if (accept_errno == EINTR || accept_errno == ECONNABORTED || accept_errno == EAGAIN ||
          accept_errno == EWOULDBLOCK) {
        continue;
      }
      if (accept_errno == EMFILE || accept_errno == ENFILE || accept_errno == ENOBUFS ||
          accept_errno == ENOMEM) {
        usleep(100 * 1000);  // resources short: back off instead of spinning
        continue;
      }
      _exit(1);
    }
    struct ucred peer {};
    socklen_t peer_len = sizeof peer;
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0 || !clients.Allows(peer.uid)) {
      // Not a command user: decline without reading the request (the
      // client decides in-process) and stay idle. MSG_DONTWAIT: a peer
      // that never reads cannot hold this worker.
      (void)SendDecline(conn, MSG_DONTWAIT);
      close(conn);
      continue;
    }
    slot->stage.store(core::HelperStage::kStarting, std::memory_order_relaxed);
    slot->kind.store(kKindPrincipals, std::memory_order_relaxed);
    slot->timeout_ms.store(0, std::memory_order_relaxed);
    slot->request_read.store(0, std::memory_order_relaxed);
    slot->peer_pid.store(peer.pid, std::memory_order_relaxed);
    slot->peer_uid.store(peer.uid, std::memory_order_relaxed);
    slot->deadline_ms.store(NowMs() + int64_t{kRequestReadTimeoutSec} * 1000, std::memory_order_relaxed);
    slot->state.store(kSlotBusy, std::memory_order_release);
    // Running low on idle workers: wake the parent to fork more (a pipe
    // write; never blocks: the pipe is non-blocking and one byte suffices).
    if (CountIdle(*shared) < kMinIdleWorkers) (void)!write(wake_fd, "w", 1);
    (void)ServeConnection(conn, peer, cache, request.data(), request.size(), slot, &signatures, &groups, log);
    close(conn);
    shared->requests.fetch_add(1, std::memory_order_relaxed);
    ++served;
    // The memory this worker made private (not shared with the service),
    // sampled after the answer: walking the page tables costs CPU too.
    if (served == 1 || served % 256 == 0) {
      const int64_t kib = PrivateKib();
      int64_t peak = shared->peak_private_kib.load(std::memory_order_relaxed);
      while (kib > peak && !shared->peak_private_kib.compare_exchange_weak(peak, kib)) {
      }
    }
    if (served >= kMaxRequestsPerWorker || CountIdle(*shared) >= kMaxIdleWorkers) _exit(0);
  }
}

}  // namespace certgate::decide
