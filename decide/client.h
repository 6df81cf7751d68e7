// The client half of principals-cmd and keys-cmd: forward argv to the
// certgate-decide service and copy its answer, or run the full helper
// in-process (certgate-decide --run KIND ...) when there is no trusted
// service. Uses libc only (no libstdc++, libcrypto, libyaml, libsystemd), so
// a login pays about the start-up of /bin/true. See certgate-decide(8).
#ifndef CERTGATE_DECIDE_CLIENT_H_
#define CERTGATE_DECIDE_CLIENT_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "decide/protocol.h"

namespace certgate::decide {

// CheckTrustedPath returns true if |path| (absolute) resolves (realpath) to
// an object of type |type| (S_IFSOCK, S_IFREG) owned by uid 0 or
// |other_owner|, and every directory above it is owned by uid 0 or
// |other_owner| and writable by neither group nor others: sshd's rule for
// its helpers. On success |resolved| (PATH_MAX bytes) holds the resolved
// path and |*owner| the object's uid. On failure |why| holds a reason.
bool CheckTrustedPath(const char* path, uid_t other_owner, mode_t type, char* resolved,
                      uid_t* owner, char* why, size_t why_len);

// AskResult is how asking the service ended.
enum class AskResult {
  kAnswered,     // |answer| holds a complete, well-formed answer
  kAbsent,       // no socket at the path (no service): run in-process
  kUnavailable,  // a socket that cannot be used: run in-process, and say why
  kDeclined,     // the service does not serve this request: run in-process
  kFailed,       // a trusted service did not answer properly in time: deny
};

// AskService connects to the service at |socket_path| and asks it to run
// helper |kind| with |argv|. The socket and its directories must pass
// CheckTrustedPath with owner root (or |trusted_uid|, for tests), and the
// peer (SO_PEERCRED, the process that listen()ed: PID 1 under socket
// activation) must have uid 0 or the socket's owner. A socket path that does
// not exist is kAbsent; one that is not trusted, refuses the connection
// (or lets this user not connect, or has its backlog full) or cannot take
// the request is kUnavailable; neither sends anything. Once the request is sent,
// anything but a complete answer within |timeout_ms| of the call is
// kFailed. |buf| (|cap| bytes, at least kMaxAnswerSize) holds the answer
// that |answer| points into. |why| gets a reason on kUnavailable/kFailed.
AskResult AskService(const char* socket_path, uid_t trusted_uid, uint8_t kind, size_t argc,
                     const char* const* argv, uint64_t timeout_ms, uint8_t* buf, size_t cap,
                     AnswerView* answer, char* why, size_t why_len);

// LogClientDenial logs a denial the client decides itself (a usage error,
// no helper to run, a service that did not answer): "deny USER: REASON"
// with the fields CERTGATE_PROGRAM, CERTGATE_DECISION=deny, CERTGATE_USER
// (when |user| is not null) and CERTGATE_REASON, sent in the journal's
// native protocol to |journal_socket| when that is a socket, else to
// syslog (authpriv, LOG_ERR). Texts are escaped as core::EscapeForLog does.
void LogClientDenial(const char* journal_socket, uint8_t kind, const char* user, const char* reason);

// LogClientNotice logs, at notice priority, |message| about how the client
// ran (not a decision: no CERTGATE_DECISION), with CERTGATE_PROGRAM and
// CERTGATE_USER (when |user| is not null), as LogClientDenial sends it.
void LogClientNotice(const char* journal_socket, uint8_t kind, const char* user, const char* message);

// ClientMain is the whole main() of principals-cmd (|kind| kKindPrincipals)
// and keys-cmd. It returns the exit status to use, or execve()s the
// in-process helper and does not return.
int ClientMain(uint8_t kind, int argc, char** argv, char** envp);

}  // namespace certgate::decide

#endif  // CERTGATE_DECIDE_CLIENT_H_
