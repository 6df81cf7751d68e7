// The certgate-decide service: accept a connection, re-validate the policy,
// fork; the child runs the helper (HelperMain, the same code path as the
// in-process helper) with the resident policy and sends the answer back.
#ifndef CERTGATE_DECIDE_SERVER_H_
#define CERTGATE_DECIDE_SERVER_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "core/helper_command.h"
#include "core/log.h"
#include "decide/policy_cache.h"

namespace certgate::decide {

// kDefaultMaxChildren bounds the requests served at once; beyond it the
// service waits for one to end (and new clients queue in the backlog).
inline constexpr size_t kDefaultMaxChildren = 64;
// kSpareChildren is how many request children wait, already forked, for
// the next connection: the fork is off the login's path.
inline constexpr size_t kSpareChildren = 4;
// kRequestReadTimeoutSec bounds how long a request child waits for the
// request bytes (a client sends them at once).
inline constexpr int kRequestReadTimeoutSec = 10;

// WarmUpCrypto runs OpenSSL's lazy initialisation (provider and algorithm
// fetches for Ed25519, ECDSA P-256, SHA-2) once in the service, so each
// forked request child inherits it instead of redoing it. Failures are
// harmless (the child then initialises as the in-process helper does).
void WarmUpCrypto();

// ClientFilter says whose requests the service serves. sshd runs the
// helpers as AuthorizedPrincipalsCommandUser / AuthorizedKeysCommandUser,
// so only those users (and root) need the service; a connection from any
// other uid (SO_PEERCRED) gets the "declined" answer at once, and its client
// decides in-process. Other local users thus cannot occupy the children
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

// HandleConnection is one request child's work: read the request from
// |conn| and, if it is an sshd-mode request (or --help/--version, or a usage
// error) for |served_policy|, run HelperMain for it with |policies| and
// stdout/stderr captured, and send the answer. Any other request (another
// --policy, --explain, --check) is declined: the client then decides
// in-process, as the caller, so that the service never reads other files
// for it. Any failure sends nothing (the client then denies). It returns
// the status the child should _exit() with.
int HandleConnection(int conn, core::PolicySource* policies, const std::string& served_policy);

// Serve runs the service on |listen_fd| forever. It keeps kSpareChildren
// request children forked in advance from the current policy; each waits
// for one connection, re-validates the policy it inherited (stat of every
// file; reloads in the child if anything changed), runs HandleConnection
// and exits, and the parent forks a replacement. The parent re-validates
// |cache| before each fork and at least every second, logs reloads to
// |log| and retires idle spares of an older policy. At most
// |max_children| children exist at once. A connection from a uid that
// |clients| does not allow is declined by the spare that accepted it, which
// then waits for the next one. SIGUSR1 logs the request count and
// the peak RSS of the service and of the largest request child. It returns
// only on a fatal error (then 1).
int Serve(int listen_fd, PolicyCache* cache, size_t max_children, const ClientFilter& clients,
          core::LogSink* log);

}  // namespace certgate::decide

#endif  // CERTGATE_DECIDE_SERVER_H_
