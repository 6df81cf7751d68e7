#include "decide/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

#include "core/groups.h"
#include "core/helper_args.h"
#include "core/openssl_ptr.h"
#include "core/unique_fd.h"
#include "decide/protocol.h"
#include "helper-main/helper_main.h"

namespace certgate::decide {
namespace {

static_assert(kMaxAnswerOut >= core::kMaxSshdAnswer, "every answer a helper may give must fit the protocol");

int64_t NowMs() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

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

// RequestTimeoutRecord is the record of a connection whose client (|peer|)
// did not send a complete request (|got| bytes of it, if known) within
// kRequestReadTimeoutSec: no decision was made, nothing is answered. |killed|
// names the worker the parent had to kill for it (empty: the worker gave up
// by itself).
core::LogRecord RequestTimeoutRecord(const struct ucred& peer, std::optional<size_t> got, const std::string& killed);

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

// SumProcKib reads the /proc file |path| and returns the sum of the KiB
// values of the fields |keys| ("Name:", each must be present), or -1.
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

// PeakRssKib returns this process's VmHWM (KiB, /proc/self/status), or -1.
// Not getrusage's ru_maxrss: that survives execve, so a service started
// from a large process (a test, a benchmark) would report its parent's.
int64_t PeakRssKib() { return SumProcKib("/proc/self/status", {"VmHWM:"}); }

// PrivateKib returns Private_Clean + Private_Dirty of this process (KiB,
// /proc/self/smaps_rollup), or -1: the pages a worker does not share with
// the service (copy-on-write copies, its own heap and stack).
int64_t PrivateKib() {
  return SumProcKib("/proc/self/smaps_rollup", {"Private_Clean:", "Private_Dirty:"});
}

// --- State shared by the parent and its workers (one MAP_SHARED page set).

// The most workers (--max-children is at most 4096, see main.cc).
constexpr size_t kMaxWorkers = 4096;

enum SlotState : int32_t { kSlotFree = 0, kSlotIdle = 1, kSlotBusy = 2 };

// WorkerSlot is one worker's state as the parent sees it. The parent
// assigns a free slot before the fork and frees it when it reaps the
// worker; the worker flips it between idle and busy.
struct WorkerSlot {
  std::atomic<int32_t> state;
  std::atomic<int32_t> kind;  // kKindPrincipals / kKindKeys of the request served
  std::atomic<int64_t> deadline_ms;  // CLOCK_MONOTONIC; when busy: the request's end
  // The worker stores request_read, then timeout_ms, with release; the
  // parent loads timeout_ms, then request_read, with acquire: a --timeout
  // seen means the request was read.
  std::atomic<int64_t> timeout_ms;   // the request's --timeout (0: not parsed yet)
  std::atomic<int32_t> request_read;  // 1 once the whole request was read
  std::atomic<int32_t> peer_pid;      // the client, for the parent's records
  std::atomic<uint32_t> peer_uid;
  std::atomic<core::HelperStage> stage;  // how far the request got (for the timeout log)
};

// MemoEntry is one remembered certificate digest (core::SignatureMemo),
// guarded by a sequence number that is odd while a writer changes it.
struct MemoEntry {
  std::atomic<uint32_t> seq;
  std::atomic<uint64_t> words[4];
};
constexpr size_t kMemoEntries = 1024;

struct SharedState {
  std::atomic<uint64_t> requests;
  std::atomic<int64_t> peak_private_kib;
  std::atomic<uint32_t> slot_count;  // slots [0, slot_count) may be in use
  WorkerSlot slots[kMaxWorkers];
  MemoEntry memo[kMemoEntries];
};
static_assert(std::atomic<int64_t>::is_always_lock_free && std::atomic<int32_t>::is_always_lock_free &&
                  std::atomic<core::HelperStage>::is_always_lock_free,
              "the shared state needs address-free atomics");

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

size_t CountIdle(const SharedState& shared) {
  size_t idle = 0;
  const uint32_t n = shared.slot_count.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; ++i) {
    if (shared.slots[i].state.load(std::memory_order_relaxed) == kSlotIdle) ++idle;
  }
  return idle;
}

// g_report_stats is set by SIGUSR1: log the counters at the next loop.
volatile sig_atomic_t g_report_stats = 0;
void OnUsr1(int) { g_report_stats = 1; }
// OnChld only interrupts the parent's poll() so that it reaps at once.
void OnChld(int) {}
// g_recheck is set by SIGHUP: say that the policy was re-checked.
volatile sig_atomic_t g_recheck = 0;
void OnHup(int) { g_recheck = 1; }
// g_stop is set by SIGTERM or SIGINT to the parent: stop gracefully.
volatile sig_atomic_t g_stop = 0;
void OnStop(int) { g_stop = 1; }
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

// RunWorker is one worker: accept a connection, serve it, again, until it
// is retired (SIGTERM: a newer policy, surplus, or the service stopping;
// SIGKILL when the parent is gone), has served kMaxRequestsPerWorker requests, or finds
// kMaxIdleWorkers others idle after a request. SIGTERM is blocked except
// while waiting in accept(), so a request in progress is always finished.
// Never returns.
[[noreturn]] void RunWorker(int listen_fd, int wake_fd, pid_t parent, SharedState* shared,
                            WorkerSlot* slot, PolicyCache* cache, const ClientFilter& clients,
                            core::LogSink* log) {
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

core::LogRecord ServiceRecord(core::Priority priority, std::string message) {
  core::LogRecord rec;
  rec.priority = priority;
  rec.message = std::move(message);
  rec.fields.emplace_back("CERTGATE_PROGRAM", "certgate-decide");
  return rec;
}

namespace {

// ClientName names |peer| in a record: "the client (pid P, uid U)".
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

}  // namespace

bool ClientFilter::Allows(uid_t uid) const {
  if (any_ || uid == 0) return true;
  return std::find(uids_.begin(), uids_.end(), uid) != uids_.end();
}

namespace {

// OverdueMessage is the parent's log line for a worker killed past its
// request's deadline (its --timeout, once the request was read): the
// in-process helper's watchdog line.
std::string OverdueMessage(const WorkerSlot& slot, int64_t overdue_ms, pid_t pid) {
  const std::string bound = std::to_string(slot.timeout_ms.load(std::memory_order_relaxed) / 1000) + "s (--timeout)";
  const std::string late = " (worker " + std::to_string(pid) + " killed " + std::to_string(overdue_ms) +
                           " ms past the request's deadline)";
  if (slot.stage.load(std::memory_order_relaxed) == core::HelperStage::kLoadingPolicy) {
    return "deny: loading the policy took longer than " + bound + "; nothing granted: the "
           "policy is too large to decide in time, shrink it (see certgate-policy(5), LIMITS)" +
           late;
  }
  return "deny: decision took longer than " + bound + " (a hanging NSS/group lookup?); "
         "nothing granted" +
         late;
}

}  // namespace

void LogSnapshotNotUsed(const PolicyCache& cache, core::LogSink* log) {
  if (!cache.snapshot_not_used().empty()) {
    log->Write(ServiceRecord(core::Priority::kNotice, cache.snapshot_not_used()));
  }
}

std::string PolicyStatus(const PolicyCache& cache) {
  const core::LoadedPolicy& r = cache.current();
  if (!r.policy) {
    return "policy " + cache.path() + " is unusable, every login is denied: " +
           core::EscapeForLog(r.issues.empty() ? std::string("no policy") : r.issues.front().ToString());
  }
  return "policy " + cache.path() + ": " + std::to_string(r.policy->rule_count()) + " rules" +
         (cache.from_snapshot() ? " (from its snapshot " + cache.snapshot_path() + ")" : "");
}

int Serve(int listen_fd, PolicyCache* cache, size_t max_children, const ClientFilter& clients,
          core::LogSink* log) {
  max_children = std::clamp<size_t>(max_children, 1, kMaxWorkers);
  // Workers block in accept(): the kernel wakes one of them per connection.
  const int fl = fcntl(listen_fd, F_GETFL);
  if (fl < 0 || fcntl(listen_fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    log->Write(ServiceRecord(core::Priority::kErr, std::string("cannot use the listening socket: ") +
                                                       std::strerror(errno) + "; exiting"));
    return 1;
  }
  void* mem = mmap(nullptr, sizeof(SharedState), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    log->Write(ServiceRecord(core::Priority::kErr, std::string("cannot map the workers' shared state: ") +
                                                       std::strerror(errno) + "; exiting"));
    return 1;
  }
  SharedState* shared = new (mem) SharedState();  // zero-filled: every slot free
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = OnUsr1;  // no SA_RESTART: poll() returns EINTR
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = OnHup;
  sigaction(SIGHUP, &sa, nullptr);
  sa.sa_handler = OnStop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = OnChld;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, nullptr);

  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  core::UniqueFd wake_read(wake[0]), wake_write(wake[1]);
  const pid_t self = getpid();

  struct Worker {
    size_t slot;
    uint64_t generation;
    bool killed = false;    // SIGKILLed for its deadline (logged once)
    bool retiring = false;  // SIGTERMed: exits once idle
  };
  std::map<pid_t, Worker> workers;
  uint64_t generation = 0;
  long worker_peak_rss_kib = 0;  // largest ru_maxrss of a reaped worker
  std::string last_issue;  // the unusable policy's first issue, as last logged
  std::string last_ahead;  // the policy path last logged with a timestamp ahead of the clock
  // systemd's watchdog (WatchdogSec= of certgate-decide.service): pinged
  // from this loop only, four times per period, so that a parent stuck in a
  // reload (a hung file system) or anywhere else stops the pings and is
  // restarted; its workers cannot ping for it (NotifyAccess=main).
  uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
  const int64_t ping_every_ms = watchdog_usec == 0 ? 0 : std::max<int64_t>(1, static_cast<int64_t>(watchdog_usec / 4000));
  int64_t last_ping_ms = 0;
  if (!cache->current().policy) {
    // main() has logged the state of the start-up load.
    last_issue = cache->current().issues.empty() ? "no policy" : cache->current().issues.front().ToString();
  }
  bool stopping = false;
  for (;;) {
    for (;;) {
      int status = 0;
      struct rusage ru {};
      pid_t pid = wait4(-1, &status, WNOHANG, &ru);
      if (pid <= 0) break;
      worker_peak_rss_kib = std::max(worker_peak_rss_kib, ru.ru_maxrss);
      auto it = workers.find(pid);
      if (it == workers.end()) continue;
      WorkerSlot& slot = shared->slots[it->second.slot];
      const bool busy = slot.state.load() == kSlotBusy;
      if (busy && !it->second.killed && (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0))) {
        log->Write(ServiceRecord(core::Priority::kErr,
                                 "worker " + std::to_string(pid) + " died while serving a request (" +
                                     (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                          : "exit " + std::to_string(WEXITSTATUS(status))) +
                                     "); its client denied the login; a new worker takes over"));
      } else if (!busy && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        log->Write(ServiceRecord(core::Priority::kErr, "worker " + std::to_string(pid) +
                                                           " could not accept connections (exit " +
                                                           std::to_string(WEXITSTATUS(status)) +
                                                           "); a new worker takes over"));
      }
      slot.state.store(kSlotFree, std::memory_order_release);
      workers.erase(it);
    }
    char drain[64];
    while (read(wake_read.get(), drain, sizeof drain) > 0) {
    }
    // Stopping (systemctl stop or restart): fork no more, let every busy
    // worker finish the request it serves (bounded by that request's
    // deadline, below), and exit once all are gone. SIGTERM is sent again
    // at every turn: it ends an idle worker's accept() (a worker between
    // its check of the flag and accept() would miss the first one).
    if (g_stop != 0 && !stopping) {
      stopping = true;
      size_t busy = 0;
      for (const auto& [pid, w] : workers) {
        if (shared->slots[w.slot].state.load(std::memory_order_acquire) == kSlotBusy) ++busy;
      }
      log->Write(ServiceRecord(core::Priority::kInfo,
                               "stopping: " + std::to_string(busy) + " requests in progress are finished first "
                               "(each within its --timeout), idle workers exit now"));
      (void)sd_notify(0, "STOPPING=1");
    }
    if (stopping) {
      if (workers.empty()) {
        log->Write(ServiceRecord(core::Priority::kInfo, "stopped; " + std::to_string(shared->requests.load()) +
                                                            " requests served"));
        return 0;
      }
      for (auto& [pid, w] : workers) {
        kill(pid, SIGTERM);
        w.retiring = true;
      }
    }
    if (g_report_stats != 0) {
      g_report_stats = 0;
      log->Write(ServiceRecord(
          core::Priority::kInfo,
          "stats: " + std::to_string(shared->requests.load()) + " requests; peak RSS " +
              std::to_string(PeakRssKib()) + " KiB (service), " + std::to_string(worker_peak_rss_kib) +
              " KiB (largest worker), " + std::to_string(shared->peak_private_kib.load()) +
              " KiB (largest private memory of a worker); " + std::to_string(workers.size()) + " workers, " +
              std::to_string(CountIdle(*shared)) + " idle"));
    }
    // Keep the workers' policy current: a reload retires every worker of
    // the older policy (SIGTERM: each finishes the request it serves).
    // A reload is logged when the files changed; an unusable policy once
    // per distinct first issue (a racy reload repeats it silently).
    PolicyCache::RefreshResult refreshed =
        stopping ? PolicyCache::RefreshResult::kCurrent : cache->Refresh();
    if (refreshed != PolicyCache::RefreshResult::kCurrent) {
      ++generation;
      for (auto& [pid, w] : workers) {
        if (w.generation < generation && !w.retiring) {
          kill(pid, SIGTERM);
          w.retiring = true;
        }
      }
    }
    // Compared at every turn: the load before Serve() may be the one that
    // found it.
    if (cache->ahead_path() != last_ahead) {
      last_ahead = cache->ahead_path();
      if (!last_ahead.empty()) {
        log->Write(ServiceRecord(
            core::Priority::kWarning,
            "policy file " + core::EscapeForLog(last_ahead) + " has a timestamp " +
                std::to_string(cache->ahead_ns() / 1000000000) +
                " s ahead of the clock (touch -d, or a clock set back); it is trusted until the clock gets "
                "there, then re-read once; touch it to set its time to now"));
      }
    }
    if (g_recheck != 0 && !stopping) {
      // There is nothing to reload on request: the stamps were compared
      // just now (Refresh above) and are compared again at every request.
      g_recheck = 0;
      log->Write(ServiceRecord(core::Priority::kInfo,
                               "SIGHUP: policy re-checked now: " + PolicyStatus(*cache) +
                                   "; no reload is needed: the policy is re-checked at every request"));
    }
    if (refreshed == PolicyCache::RefreshResult::kReloaded) {
      LogSnapshotNotUsed(*cache, log);
      const core::LoadedPolicy& r = cache->current();
      if (r.policy) {
        last_issue.clear();
        log->Write(ServiceRecord(core::Priority::kInfo,
                                 "policy " + cache->path() + " loaded: " + std::to_string(r.policy->rule_count()) +
                                     " rules from " + std::to_string(r.policy->files().size()) + " files"));
        (void)sd_notify(0, ("STATUS=" + PolicyStatus(*cache)).c_str());
      } else {
        std::string issue = r.issues.empty() ? "no policy" : r.issues.front().ToString();
        if (issue != last_issue) {
          log->Write(ServiceRecord(core::Priority::kErr,
                                   "policy " + cache->path() + " is unusable, every login is denied: " +
                                       core::EscapeForLog(issue) + "; fix it and check with principals-cmd --check"));
          last_issue = std::move(issue);
          (void)sd_notify(0, ("STATUS=" + PolicyStatus(*cache)).c_str());
        }
      }
    }
    // Deadlines: a worker whose request outlived it is killed (its client
    // has denied by then); the next wake-up is the nearest deadline.
    const int64_t now = NowMs();
    int64_t next_wake = now + 1000;
    size_t idle_current = 0;
    for (auto& [pid, w] : workers) {
      WorkerSlot& slot = shared->slots[w.slot];
      const int32_t state = slot.state.load(std::memory_order_acquire);
      if (state == kSlotIdle && w.generation == generation && !w.retiring) ++idle_current;
      if (state != kSlotBusy || w.killed) continue;
      const int64_t kill_at = slot.deadline_ms.load(std::memory_order_relaxed) + kKillGraceMs;
      if (now >= kill_at) {
        kill(pid, SIGKILL);
        w.killed = true;
        const int64_t overdue_ms = now - kill_at + kKillGraceMs;
        const std::string killed =
            "worker " + std::to_string(pid) + " killed " + std::to_string(overdue_ms) + " ms past";
        struct ucred peer {};
        peer.pid = slot.peer_pid.load(std::memory_order_relaxed);
        peer.uid = slot.peer_uid.load(std::memory_order_relaxed);
        const bool decided = slot.timeout_ms.load(std::memory_order_acquire) != 0;
        if (!decided && slot.request_read.load(std::memory_order_acquire) == 0) {
          // Still reading the request: no decision was made (the worker
          // gives up by itself at the deadline unless it is stuck).
          log->Write(RequestTimeoutRecord(peer, std::nullopt, "; " + killed + " that deadline"));
          continue;
        }
        if (!decided) {
          // Read, but answered without a decision (a usage error, or
          // declined): stuck sending it or logging it.
          core::LogRecord rec = ServiceRecord(
              core::Priority::kErr, "a request of " + ClientName(peer) +
                                        " answered without a decision (a usage error, or declined) was not "
                                        "answered within " + std::to_string(kRequestReadTimeoutSec) + "s (" +
                                        killed + " it; a stalled journal or client?); the client denies");
          rec.fields.emplace_back("CERTGATE_REASON", "answer-timeout");
          log->Write(rec);
          continue;
        }
        core::LogRecord rec = ServiceRecord(core::Priority::kErr, OverdueMessage(slot, overdue_ms, pid));
        rec.fields[0].second = core::HelperName(slot.kind.load() == kKindKeys ? core::HelperKind::kKeys
                                                                             : core::HelperKind::kPrincipals);
        rec.fields.emplace_back("CERTGATE_DECISION", "deny");
        rec.fields.emplace_back("CERTGATE_REASON", "timeout");
        log->Write(rec);
      } else {
        next_wake = std::min(next_wake, kill_at);
      }
    }
    // Retire idle workers beyond kMaxIdleWorkers (after a burst; a worker
    // also exits by itself when it finds enough others idle).
    for (auto it = workers.begin(); idle_current > kMaxIdleWorkers && it != workers.end(); ++it) {
      Worker& w = it->second;
      if (w.retiring || w.generation != generation ||
          shared->slots[w.slot].state.load(std::memory_order_acquire) != kSlotIdle) {
        continue;
      }
      kill(it->first, SIGTERM);
      w.retiring = true;
      --idle_current;
    }
    // Fork workers until kMinIdleWorkers of the current policy wait. A fork
    // copies the service's page tables (milliseconds at 100,000 rules); it
    // happens at start-up, after a reload, and when the idle ones run low.
    while (!stopping && idle_current < kMinIdleWorkers && workers.size() < max_children) {
      size_t index = 0;
      while (index < kMaxWorkers && shared->slots[index].state.load() != kSlotFree) ++index;
      if (index >= kMaxWorkers) break;
      WorkerSlot& slot = shared->slots[index];
      slot.state.store(kSlotIdle, std::memory_order_release);  // counted as idle from now on
      if (index >= shared->slot_count.load()) shared->slot_count.store(static_cast<uint32_t>(index + 1));
      pid_t pid = fork();
      if (pid == 0) {
        wake_read.Reset();
        RunWorker(listen_fd, wake_write.get(), self, shared, &slot, cache, clients, log);
      }
      if (pid < 0) {
        slot.state.store(kSlotFree, std::memory_order_release);
        log->Write(ServiceRecord(core::Priority::kErr, std::string("fork failed: ") + std::strerror(errno) +
                                                           "; retrying (clients wait, then decide in-process or deny)"));
        break;
      }
      workers.emplace(pid, Worker{index, generation});
      ++idle_current;
    }
    if (ping_every_ms != 0) {
      if (NowMs() - last_ping_ms >= ping_every_ms) {
        (void)sd_notify(0, "WATCHDOG=1");
        last_ping_ms = NowMs();
      }
      next_wake = std::min(next_wake, last_ping_ms + ping_every_ms);
    }
    struct pollfd p {wake_read.get(), POLLIN, 0};
    // Wake for a worker asking for more workers, a worker's exit
    // (SIGCHLD), SIGUSR1, the nearest deadline or watchdog ping, or every
    // second to re-validate the policy.
    (void)poll(&p, 1, static_cast<int>(std::clamp<int64_t>(next_wake - NowMs(), 1, 1000)));
  }
}

}  // namespace certgate::decide
