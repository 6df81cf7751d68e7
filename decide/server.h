// The certgate-decide service: a parent that keeps the policy loaded and
// re-validated, and request workers forked from it that each serve one
// connection after another (accept, decide with the resident policy, send
// the answer) in the same process, the decision code of the in-process
// helper (helper-main's DecideAnswer) without a fork on a login's path.
#ifndef CERTGATE_DECIDE_SERVER_H_
#define CERTGATE_DECIDE_SERVER_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "core/log.h"
#include "decide/policy_cache.h"

namespace certgate::decide {

// kDefaultMaxChildren bounds the workers at once (idle or serving); beyond
// it new clients wait in the socket's backlog for a worker to be free.
inline constexpr size_t kDefaultMaxChildren = 64;
// kMaxMaxChildren is the largest --max-children (the shared state has a
// slot for each worker).
inline constexpr size_t kMaxMaxChildren = 4096;
// The parent forks workers until kMinIdleWorkers wait for a connection; a
// worker that finds kMaxIdleWorkers others idle after a request exits.
inline constexpr size_t kMinIdleWorkers = 2;
inline constexpr size_t kMaxIdleWorkers = 4;
// kMaxRequestsPerWorker: a worker exits after this many requests and the
// parent forks a fresh one (bounds what a slow leak or heap fragmentation
// could grow to).
inline constexpr uint64_t kMaxRequestsPerWorker = 10000;
// kRequestReadTimeoutSec bounds how long a worker waits for the whole
// request from the connection on (a client sends it at once; a client that
// has not is logged: no request, no decision) and for sending the answer.
inline constexpr int kRequestReadTimeoutSec = 10;
// kKillGraceMs: a worker still busy this long after its request's deadline
// (the request's --timeout; the client has denied by then) is killed.
inline constexpr int64_t kKillGraceMs = 1000;

// WarmUpCrypto runs OpenSSL's lazy initialisation (provider and algorithm
// fetches for Ed25519, ECDSA P-256, SHA-2) once in the service, so each
// forked worker inherits it. Failures are harmless (the first request
// then initialises as the in-process helper does).
void WarmUpCrypto();

// ClientFilter says whose requests the service serves. sshd runs the
// helpers as AuthorizedPrincipalsCommandUser / AuthorizedKeysCommandUser,
// so only those users (and root) need the service; a connection from any
// other uid (SO_PEERCRED) gets the "declined" answer at once, and its client
// decides in-process. Other local users thus cannot occupy the workers
// that serve logins.
class ClientFilter {
 public:
  // AnyUser serves every uid (--client-user any).
  static ClientFilter AnyUser() {
    ClientFilter f;
    f.any_ = true;
    return f;
  }
  // Only serves root and |uids|.
  static ClientFilter Only(std::vector<uid_t> uids) {
    ClientFilter f;
    f.uids_ = std::move(uids);
    return f;
  }
  bool Allows(uid_t uid) const;

 private:
  bool any_ = false;
  std::vector<uid_t> uids_;
};

// ServiceRecord returns a log record of the service's own (not of a
// decision) with |priority| and |message| and the field
// CERTGATE_PROGRAM=certgate-decide, as certgate-decide(8) LOGGING says.
core::LogRecord ServiceRecord(core::Priority priority, std::string message);

// LogSnapshotNotUsed logs, at notice priority, why the last load of |cache|
// read the YAML although a snapshot was there, if it did.
void LogSnapshotNotUsed(const PolicyCache& cache, core::LogSink* log);

// PolicyStatus describes |cache|'s current policy in one line, for the
// start-up log record and systemd's STATUS= (systemctl status): its rule
// count and whether it came from the snapshot, or that it is unusable and
// its first issue.
std::string PolicyStatus(const PolicyCache& cache);

// Serve runs the service on |listen_fd| forever: the parent keeps |cache|
// current (re-validated at least every second, reloads logged to |log|),
// forks workers from it (kMinIdleWorkers idle, at most |max_children| in
// all), retires the workers of an older policy (they finish their request
// first), and kills a worker whose request outlived its deadline by
// kKillGraceMs (logged: a decision that ran late, e.g. a hanging NSS
// lookup; its client has denied). Workers block in accept() (one wakes per
// connection); a connection from a uid that |clients| does not allow is
// declined at once, unread. SIGUSR1 logs the request count and memory
// figures; SIGHUP re-checks the policy at once and logs its state (there is
// nothing else to do: it is re-checked at every request). Under systemd's watchdog (WATCHDOG_USEC) it pings from its loop
// four times per period, and it updates STATUS= at every reload. SIGTERM
// or SIGINT stops it gracefully: no more workers are forked, idle ones exit
// at once, busy ones finish the request they serve (a worker past its
// request's deadline is killed as ever) and then exit; it returns 0 once
// every worker is gone. Otherwise it returns only on a fatal error (then 1).
int Serve(int listen_fd, PolicyCache* cache, size_t max_children, const ClientFilter& clients,
          core::LogSink* log);

}  // namespace certgate::decide

#endif  // CERTGATE_DECIDE_SERVER_H_
