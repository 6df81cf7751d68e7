// The request workers of certgate-decide (server.h), and what they share
// with the service's parent that forks them: the state in one MAP_SHARED
// mapping (a slot per worker, the counters, the signature memo), the
// clock of its deadlines, and the record of a request that never came.
// Internal to the service: only server.cc (the parent) and worker.cc (the
// workers) include it.
#ifndef CERTGATE_DECIDE_WORKER_H_
#define CERTGATE_DECIDE_WORKER_H_

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "core/helper_command.h"
#include "core/log.h"
#include "decide/policy_cache.h"
#include "decide/server.h"

namespace certgate::decide {

// NowMs returns CLOCK_MONOTONIC in milliseconds, the clock of every
// deadline in a WorkerSlot.
int64_t NowMs();

// --- State shared by the parent and its workers (one MAP_SHARED page set).

// The most workers: a slot for each.
constexpr size_t kMaxWorkers = kMaxMaxChildren;

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

// SharedState is the whole mapping; the parent maps it zero-filled (every
// slot free) before the first fork.
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

// CountIdle returns how many of |shared|'s slots are idle workers.
size_t CountIdle(const SharedState& shared);

// SumProcKib reads the /proc file |path| and returns the sum of the KiB
// values of the fields |keys| ("Name:", each must be present), or -1.
int64_t SumProcKib(const char* path, std::initializer_list<std::string_view> keys);

// ClientName names |peer| in a record: "the client (pid P, uid U)".
std::string ClientName(const struct ucred& peer);

// RequestTimeoutRecord is the record of a connection whose client (|peer|)
// did not send a complete request (|got| bytes of it, if known) within
// kRequestReadTimeoutSec: no decision was made, nothing is answered. |killed|
// names the worker the parent had to kill for it (empty: the worker gave up
// by itself).
core::LogRecord RequestTimeoutRecord(const struct ucred& peer, std::optional<size_t> got, const std::string& killed);

// RunWorker is one worker, run in the child right after the parent's fork:
// accept a connection on |listen_fd|, serve it, again, until it is retired
// (SIGTERM: a newer policy, surplus, or the service stopping; SIGKILL when
// the parent is gone), has served kMaxRequestsPerWorker requests, or finds
// kMaxIdleWorkers others idle after a request. SIGTERM is blocked except
// while waiting in accept(), so a request in progress is always finished.
// |parent| is the service's pid, |slot| this worker's slot in |shared|; a
// byte written to |wake_fd| asks the parent for more workers. Connections
// from a uid |clients| does not allow are declined; decisions use |cache|,
// the worker's own records go to |log|. Never returns.
[[noreturn]] void RunWorker(int listen_fd, int wake_fd, pid_t parent, SharedState* shared,
                            WorkerSlot* slot, PolicyCache* cache, const ClientFilter& clients,
                            core::LogSink* log);

}  // namespace certgate::decide

#endif  // CERTGATE_DECIDE_WORKER_H_
