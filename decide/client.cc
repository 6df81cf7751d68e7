// Only libc here: this file is linked into principals-cmd and keys-cmd,
// which must start as fast as /bin/true (no libstdc++ at run time; built
// with -fno-exceptions -fno-rtti, see decide/CMakeLists.txt).
#include "decide/client.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/helper_value_options.h"
#include "core/standard_fds.h"

#ifndef CERTGATE_DECIDE_SOCKET
#define CERTGATE_DECIDE_SOCKET "/run/certgate/decide.sock"
#endif
#ifndef CERTGATE_DECIDE_PATH
#define CERTGATE_DECIDE_PATH ""  // empty: certgate-decide beside this program
#endif

namespace certgate::decide {
namespace {

constexpr uint64_t kDefaultTimeoutMs = 5000;  // core::kDefaultTimeoutMs
constexpr size_t kMaxClientArgs = 1024;       // more than that: a usage error anyway

// The buffers live in .bss: pages never touched cost no memory.
uint8_t g_request[kMaxRequestSize];
uint8_t g_answer[kMaxAnswerSize];
const char* g_forward[kMaxClientArgs + 4];

void Why(char* why, size_t len, const char* a, const char* b = "", const char* c = "", const char* d = "") {
  if (len > 0) std::snprintf(why, len, "%s%s%s%s", a, b, c, d);
}

// OwnerName is "uid N", in a static buffer (the client allocates nothing).
const char* OwnerName(uid_t uid) {
  static char name[32];
  std::snprintf(name, sizeof name, "uid %u", static_cast<unsigned>(uid));
  return name;
}

uint64_t NowMs() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// WaitFd polls |fd| for |events| until |deadline_ms|; false on timeout/error.
bool WaitFd(int fd, short events, uint64_t deadline_ms) {
  for (;;) {
    uint64_t now = NowMs();
    if (now >= deadline_ms) return false;
    uint64_t left = deadline_ms - now;
    struct pollfd p {fd, events, 0};
    int n = poll(&p, 1, left > 60000 ? 60000 : static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n > 0) return true;
  }
}

bool SendAll(int fd, const uint8_t* data, size_t size, uint64_t deadline_ms) {
  size_t off = 0;
  while (off < size) {
    ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitFd(fd, POLLOUT, deadline_ms)) return false;
      continue;
    }
    return false;
  }
  return true;
}

// ReadToEof reads until the peer closes (end of file, or a reset after
// its data); false on error, timeout or more than |cap| bytes.
bool ReadToEof(int fd, uint8_t* buf, size_t cap, size_t* size, uint64_t deadline_ms) {
  size_t off = 0;
  for (;;) {
    uint8_t extra;
    uint8_t* dst = off < cap ? buf + off : &extra;
    size_t room = off < cap ? cap - off : 1;
    ssize_t n = recv(fd, dst, room, 0);
    if (n == 0) {
      *size = off;
      return true;
    }
    if (n > 0) {
      if (off >= cap) return false;  // oversized: never a valid answer
      off += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!WaitFd(fd, POLLIN, deadline_ms)) return false;
      continue;
    }
    if (errno == ECONNRESET) {
      // The peer closed without reading all we sent (a decline sent before
      // the request arrived): what it wrote before is intact, and the
      // answer parser insists on the exact length anyway.
      *size = off;
      return true;
    }
    return false;
  }
}

bool WriteAllFd(int fd, const uint8_t* data, size_t size) {
  size_t off = 0;
  while (off < size) {
    ssize_t n = write(fd, data + off, size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// ParseTimeoutMs reads --timeout's value as the helper does (1..3600
// seconds); anything else keeps the default, and the helper itself then
// reports the usage error.
uint64_t ParseTimeoutMs(const char* text) {
  if (*text == '\0') return kDefaultTimeoutMs;
  uint64_t v = 0;
  for (const char* p = text; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9' || v > 3600) return kDefaultTimeoutMs;
    v = v * 10 + static_cast<uint64_t>(*p - '0');
  }
  if (v == 0 || v > 3600) return kDefaultTimeoutMs;
  return v * 1000;
}

const char* KindName(uint8_t kind) { return kind == kKindKeys ? "keys-cmd" : "principals-cmd"; }

// FallbackPath puts the in-process helper's path in |out| (PATH_MAX bytes):
// CERTGATE_DECIDE_PATH when set at build time, else certgate-decide in the
// directory of this very program (/usr/libexec/certgate/ when installed).
bool FallbackPath(char* out) {
  if (CERTGATE_DECIDE_PATH[0] != '\0') {
    if (std::strlen(CERTGATE_DECIDE_PATH) >= PATH_MAX) return false;
    std::strcpy(out, CERTGATE_DECIDE_PATH);
    return true;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return false;
  self[n] = '\0';
  char* slash = std::strrchr(self, '/');
  if (slash == nullptr) return false;
  slash[1] = '\0';
  static constexpr char kName[] = "certgate-decide";
  if (std::strlen(self) + sizeof kName > PATH_MAX) return false;
  std::strcpy(out, self);
  std::strcat(out, kName);
  return true;
}

// LogText is one log record being put together in a fixed buffer (no
// allocation). Its capacity holds the largest record the client writes:
// every text is cut at kMaxEscapedInput bytes before it is escaped, as
// core::EscapeForLog does, so nothing is ever truncated mid-field.
constexpr size_t kMaxEscapedInput = 512;

struct LogText {
  char data[16384];
  size_t len = 0;

  void Raw(const char* s) {
    while (*s != '\0' && len + 1 < sizeof data) data[len++] = *s++;
    data[len] = '\0';
  }
  // Escaped appends |s| as core::EscapeForLog does: '\\' doubled, every
  // byte outside 0x20..0x7e as \xNN, cut at kMaxEscapedInput bytes.
  void Escaped(const char* s) {
    static constexpr char kHex[] = "0123456789abcdef";
    size_t n = 0;
    for (; s[n] != '\0' && n < kMaxEscapedInput; ++n) {
      const unsigned char c = static_cast<unsigned char>(s[n]);
      char esc[5] = {static_cast<char>(c), '\0'};
      if (c == '\\') {
        esc[1] = '\\';
        esc[2] = '\0';
      } else if (c < 0x20 || c >= 0x7f) {
        esc[0] = '\\';
        esc[1] = 'x';
        esc[2] = kHex[c >> 4];
        esc[3] = kHex[c & 0xf];
        esc[4] = '\0';
      }
      Raw(esc);
    }
    if (s[n] != '\0') Raw("...");
  }
};

// In .bss, like the request and answer buffers: untouched unless a denial
// is logged.
LogText g_log_message;
LogText g_log_record;

// LogDenial logs a denial the client makes itself to the journal, with
// the fields of the helpers' own records, or to syslog authpriv when there
// is no journal; |user| may be null (not known yet).
void LogDenial(uint8_t kind, const char* user, const char* reason) {
  LogClientDenial("/run/systemd/journal/socket", kind, user, reason);
}

// LogNotice is LogDenial's notice: how this run went, not a decision.
void LogNotice(uint8_t kind, const char* user, const char* message) {
  LogClientNotice("/run/systemd/journal/socket", kind, user, message);
}

// FallbackOwner is the user besides root who may own the in-process
// helper: with CERTGATE_DECIDE_PATH set, nobody; else (certgate-decide
// beside this program) the owner of this very program. Whoever could
// replace that certgate-decide could replace this program too, so a build
// tree of one user runs for root (sudo) as it does for that user; installed,
// both are root's.
uid_t FallbackOwner() {
  if (CERTGATE_DECIDE_PATH[0] != '\0') return 0;
  struct stat st {};
  return stat("/proc/self/exe", &st) == 0 ? st.st_uid : 0;
}

// RunInProcess execve()s `certgate-decide --run KIND ARGS...`, the full
// helper; it returns only on failure (then: exit 1, nothing printed). For
// an |admin| command (--explain, --check, --compile) that failure is not a
// login denied: it is said on stderr only.
int RunInProcess(uint8_t kind, const char* user, size_t argc, const char* const* argv, char** envp,
                 bool admin = false) {
  char path[PATH_MAX];
  char resolved[PATH_MAX];
  char why[PATH_MAX + 128];
  uid_t owner = 0;
  if (!FallbackPath(path)) {
    Why(why, sizeof why, "cannot find certgate-decide beside this program (/proc not mounted?)");
  } else if (!CheckTrustedPath(path, FallbackOwner(), S_IFREG, resolved, &owner, why, sizeof why)) {
    // why already says what
  } else {
    g_forward[0] = resolved;
    g_forward[1] = "--run";
    g_forward[2] = KindName(kind);
    for (size_t i = 0; i < argc; ++i) g_forward[3 + i] = argv[i];
    g_forward[3 + argc] = nullptr;
    execve(resolved, const_cast<char* const*>(g_forward), envp);
    Why(why, sizeof why, "cannot run ", resolved, ": ", std::strerror(errno));
  }
  char message[sizeof why + 96];
  if (admin) {
    std::fprintf(stderr, "%s: cannot run certgate-decide, which does this: %s; fix that, or reinstall certgate\n",
                 KindName(kind), why);
    return 1;
  }
  std::snprintf(message, sizeof message,
                "no certgate-decide service and no in-process helper: %s; fix that, or reinstall certgate", why);
  LogDenial(kind, user, message);
  std::fprintf(stderr, "%s: deny: %s\n", KindName(kind), message);
  return 1;
}

// UsageError logs and says on stderr a usage error caught before the
// helper runs, the way the helper reports its own (helper_main.cc): deny,
// nothing granted.
void UsageError(uint8_t kind, const char* user, const char* detail) {
  char message[256];
  std::snprintf(message, sizeof message, "usage error, nothing granted: %s", detail);
  LogDenial(kind, user, message);
  std::fprintf(stderr, "%s: %s\n", KindName(kind), detail);
}

}  // namespace

namespace {

// LogClientRecord is LogClientDenial (|denial|: "deny USER: TEXT", error
// priority, CERTGATE_DECISION and CERTGATE_REASON) and LogClientNotice
// (TEXT alone, notice priority).
void LogClientRecord(const char* journal_socket, uint8_t kind, const char* user, const char* text, bool denial) {
  LogText& message = g_log_message;
  LogText& record = g_log_record;
  message.len = 0;
  if (denial) {
    message.Raw("deny");
    if (user != nullptr) {
      message.Raw(" ");
      message.Escaped(user);
    }
    message.Raw(": ");
  }
  message.Escaped(text);

  struct stat st {};
  if (stat(journal_socket, &st) == 0 && S_ISSOCK(st.st_mode)) {
    // The journal's native protocol: one datagram of FIELD=value lines
    // (values hold no newline: they are escaped). Same fields as the
    // helpers' records (core::SystemLogSink).
    record.len = 0;
    record.Raw("MESSAGE=");
    record.Raw(message.data);
    record.Raw(denial ? "\nPRIORITY=3" : "\nPRIORITY=5");
    record.Raw("\nSYSLOG_FACILITY=10\nSYSLOG_IDENTIFIER=");
    record.Raw(KindName(kind));
    record.Raw("\nCERTGATE_PROGRAM=");
    record.Raw(KindName(kind));
    record.Raw("\n");
    if (denial) record.Raw("CERTGATE_DECISION=deny\n");
    if (user != nullptr) {
      record.Raw("CERTGATE_USER=");
      record.Escaped(user);
      record.Raw("\n");
    }
    if (denial) {
      record.Raw("CERTGATE_REASON=");
      record.Escaped(text);
      record.Raw("\n");
    }
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (std::strlen(journal_socket) < sizeof addr.sun_path) {
      std::strcpy(addr.sun_path, journal_socket);
      Fd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      if (fd.get() >= 0 && sendto(fd.get(), record.data, record.len, MSG_NOSIGNAL,
                                  reinterpret_cast<const struct sockaddr*>(&addr), sizeof addr) ==
                               static_cast<ssize_t>(record.len)) {
        return;
      }
    }
  }
  openlog(KindName(kind), LOG_PID, LOG_AUTHPRIV);
  syslog(denial ? LOG_ERR : LOG_NOTICE, "%s", message.data);
  closelog();
}

}  // namespace

void LogClientDenial(const char* journal_socket, uint8_t kind, const char* user, const char* reason) {
  LogClientRecord(journal_socket, kind, user, reason, /*denial=*/true);
}

void LogClientNotice(const char* journal_socket, uint8_t kind, const char* user, const char* message) {
  LogClientRecord(journal_socket, kind, user, message, /*denial=*/false);
}

bool CheckTrustedPath(const char* path, uid_t other_owner, mode_t type, char* resolved,
                      uid_t* owner, char* why, size_t why_len) {
  if (path[0] != '/') {
    Why(why, why_len, path, ": not an absolute path");
    return false;
  }
  if (realpath(path, resolved) == nullptr) {
    Why(why, why_len, path, ": ", std::strerror(errno));
    return false;
  }
  struct stat st {};
  if (lstat(resolved, &st) != 0) {
    Why(why, why_len, resolved, ": ", std::strerror(errno));
    return false;
  }
  if ((st.st_mode & S_IFMT) != type) {
    Why(why, why_len, resolved, type == S_IFSOCK ? ": not a socket" : ": not a regular file");
    return false;
  }
  // Who may own it, as a wrong owner is told: root, or root or |other_owner|.
  const char* or_by = other_owner == 0 ? "" : " or by ";
  const char* other = other_owner == 0 ? "" : OwnerName(other_owner);
  if (st.st_uid != 0 && st.st_uid != other_owner) {
    Why(why, why_len, resolved, ": not owned by root", or_by, other);
    return false;
  }
  if (type == S_IFREG && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    Why(why, why_len, resolved, ": writable by group or others");
    return false;
  }
  *owner = st.st_uid;
  // Every directory above, up to "/".
  char dir[PATH_MAX];
  std::strcpy(dir, resolved);
  for (;;) {
    char* slash = std::strrchr(dir, '/');
    if (slash == nullptr) break;
    if (slash == dir) {
      slash[1] = '\0';
    } else {
      *slash = '\0';
    }
    struct stat ds {};
    if (stat(dir, &ds) != 0 || !S_ISDIR(ds.st_mode)) {
      Why(why, why_len, dir, ": cannot check directory");
      return false;
    }
    if (ds.st_uid != 0 && ds.st_uid != other_owner) {
      Why(why, why_len, dir, ": directory not owned by root", or_by, other);
      return false;
    }
    if ((ds.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      Why(why, why_len, dir, ": directory writable by group or others");
      return false;
    }
    if (std::strcmp(dir, "/") == 0) break;
  }
  return true;
}

AskResult AskService(const char* socket_path, uid_t trusted_uid, uint8_t kind, size_t argc,
                     const char* const* argv, uint64_t timeout_ms, uint8_t* buf, size_t cap,
                     AnswerView* answer, char* why, size_t why_len) {
  const uint64_t deadline = NowMs() + timeout_ms;
  char resolved[PATH_MAX];
  uid_t owner = 0;
  struct stat st {};
  if (stat(socket_path, &st) != 0 && errno == ENOENT) {
    Why(why, why_len, socket_path, ": no such socket");
    return AskResult::kAbsent;
  }
  if (!CheckTrustedPath(socket_path, trusted_uid, S_IFSOCK, resolved, &owner, why, why_len)) {
    return AskResult::kUnavailable;
  }
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (std::strlen(resolved) >= sizeof addr.sun_path) {
    Why(why, why_len, resolved, ": socket path too long");
    return AskResult::kUnavailable;
  }
  std::strcpy(addr.sun_path, resolved);
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) {
    Why(why, why_len, "socket: ", std::strerror(errno));
    return AskResult::kUnavailable;
  }
  // A unix stream connect completes at once, or fails: EAGAIN when the
  // backlog is full (an overloaded service: decide in-process instead).
  int rc;
  do {
    rc = connect(fd.get(), reinterpret_cast<const struct sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    Why(why, why_len, resolved, ": connect: ", std::strerror(errno));
    return AskResult::kUnavailable;
  }
  struct ucred peer {};
  socklen_t peer_len = sizeof peer;
  if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0 ||
      peer_len != sizeof peer || (peer.uid != 0 && peer.uid != owner)) {
    Why(why, why_len, resolved, ": the listening process is not root nor the socket's owner");
    return AskResult::kUnavailable;
  }
  size_t request_size = EncodeRequest(kind, argc, argv, g_request, sizeof g_request);
  if (request_size == 0) {
    Why(why, why_len, "arguments too many or too long for the service");
    return AskResult::kUnavailable;
  }
  const bool sent =
      SendAll(fd.get(), g_request, request_size, deadline) && shutdown(fd.get(), SHUT_WR) == 0;
  // Read even if the send failed: a service that does not serve this user
  // declines at once, without reading the request (server.h, ClientFilter).
  size_t size = 0;
  const bool received = ReadToEof(fd.get(), buf, cap, &size, deadline);
  const bool parsed = received && ParseAnswer(buf, size, answer);
  if (!sent && !(parsed && answer->declined)) {
    Why(why, why_len, "could not send the request to ", resolved);
    return AskResult::kFailed;
  }
  if (!received) {
    Why(why, why_len, "no complete answer from ", resolved, " in time");
    return AskResult::kFailed;
  }
  if (!parsed && size == 0) {
    Why(why, why_len, "no answer from ", resolved,
        ": it closed the connection (a service stopping, or a worker that died: see its log)");
    return AskResult::kFailed;
  }
  if (!parsed) {
    Why(why, why_len, "malformed answer from ", resolved);
    return AskResult::kFailed;
  }
  if (answer->declined) {
    Why(why, why_len, resolved,
        " declined the request (another policy, --explain, --check, --compile, or not a --client-user)");
    return AskResult::kDeclined;
  }
  return AskResult::kAnswered;
}

int ClientMain(uint8_t kind, int argc, char** argv, char** envp) {
  // Before anything is opened: a closed stdout would be taken by the
  // journal socket or the service's, and the answer sent there.
  const int closed_fds = core::OpenStandardFds();
  const char* socket_path = CERTGATE_DECIDE_SOCKET;
  uint64_t timeout_ms = kDefaultTimeoutMs;
  bool in_process = false;
  if (argc < 1 || static_cast<size_t>(argc) > kMaxClientArgs) {
    UsageError(kind, nullptr, "more than 1024 arguments");
    return 1;
  }
  // Forwarded arguments: everything but our own --socket. Options come
  // before the positional arguments (helper_args.h); the value-taking ones
  // are skipped over so that a value is never read as an option.
  static const char* args[kMaxClientArgs];
  size_t n = 0;
  bool options = true;
  const char* user = nullptr;  // the first positional argument: sshd's %u
  bool admin = false;          // --explain, --check, --compile: no %u
  const char* usage = nullptr;  // a --socket problem, reported once the login name is known
  bool socket_given = false;
  // sshd's %u %t %k, last, when %u looks like an option (a login name that
  // starts with "--"): never options, as ParseHelperArgs reads them.
  const int tokens_at =
      argc >= 4 && core::IsLoginNameLikeAnOption(argv[argc - 3], argv[argc - 2]) ? argc - 3 : argc;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (i == tokens_at) options = false;
    if (!options || std::strcmp(a, "--") == 0 || !core::StartsWith(a, "--")) {
      if (options && std::strcmp(a, "--") == 0 && i + 1 < argc) {
        if (user == nullptr) user = argv[i + 1];
      } else if (user == nullptr) {
        user = a;
      }
      options = false;
      args[n++] = a;
      continue;
    }
    const char* eq = std::strchr(a, '=');
    size_t name_len = eq != nullptr ? static_cast<size_t>(eq - a) : std::strlen(a);
    auto is = [&](const char* name) {
      return std::strlen(name) == name_len && std::strncmp(a, name, name_len) == 0;
    };
    const char* value = eq != nullptr ? eq + 1 : nullptr;
    bool takes_value = false;
    for (const char* option : core::kHelperValueOptions) takes_value = takes_value || is(option);
    if (takes_value && value == nullptr && i + 1 < argc) value = argv[i + 1];
    if (is("--socket")) {
      if (socket_given) {
        usage = "--socket is given twice; give it once";
      } else if (value == nullptr || value[0] != '/') {
        usage = "--socket needs an absolute path";
      }
      socket_given = true;
      socket_path = value;
      if (eq == nullptr) ++i;
      continue;
    }
    if (is("--policy") && value != nullptr && value[0] != '/') in_process = true;  // relative to our cwd
    if (is("--timeout") && value != nullptr) timeout_ms = ParseTimeoutMs(value);
    // --explain and --check read files as the person running them, from
    // their working directory, and --compile writes one: always in-process.
    if (is("--explain") || is("--check") || is("--compile")) {
      in_process = true;
      admin = true;
    }
    args[n++] = a;
    if (takes_value && eq == nullptr && i + 1 < argc) args[n++] = argv[++i];
  }
  if (admin) user = nullptr;
  if (closed_fds < 0 || (closed_fds & core::kStdoutWasClosed) != 0) {
    // An output error (exit 1, nothing printed), not a denial to pass on:
    // sshd always gives a pipe, so whoever ran this is told, and logged.
    const char* why = closed_fds < 0 ? "cannot open /dev/null for a closed standard descriptor"
                                     : "started with stdout closed: no answer can be printed";
    char message[128];
    std::snprintf(message, sizeof message, "%s; nothing granted", why);
    LogDenial(kind, user, message);
    std::fprintf(stderr, "%s: %s\n", KindName(kind), why);
    return 1;
  }
  if (usage != nullptr) {
    UsageError(kind, user, usage);
    return 1;
  }
  if (in_process) return RunInProcess(kind, user, n, args, envp, admin);

  char why[PATH_MAX + 128];
  AnswerView answer;
  switch (AskService(socket_path, 0, kind, n, args, timeout_ms, g_answer, sizeof g_answer, &answer,
                     why, sizeof why)) {
    case AskResult::kUnavailable: {
      // A service is set up but cannot be asked: say why once per run, as
      // logins then decide in-process, slower (and with a policy too large
      // to read in time and no current snapshot, are denied).
      char message[sizeof why + 96];
      std::snprintf(message, sizeof message, "certgate-decide service not used (%s); deciding in-process", why);
      LogNotice(kind, user, message);
      return RunInProcess(kind, user, n, args, envp);
    }
    case AskResult::kAbsent:
    case AskResult::kDeclined:
      return RunInProcess(kind, user, n, args, envp);
    case AskResult::kFailed: {
      char message[sizeof why + 64];
      std::snprintf(message, sizeof message, "%s; nothing granted", why);
      LogDenial(kind, user, message);
      return 1;
    }
    case AskResult::kAnswered:
      break;
  }
  WriteAllFd(STDERR_FILENO, answer.err, answer.err_len);  // best effort, like stderr
  if (!WriteAllFd(STDOUT_FILENO, answer.out, answer.out_len) || close(STDOUT_FILENO) != 0) {
    // The service logged the decision: this says sshd got nothing.
    char message[160];
    std::snprintf(message, sizeof message, "the answer could not be written to stdout (%s); nothing granted",
                  std::strerror(errno));
    LogDenial(kind, user, message);
    return 1;
  }
  return answer.exit_code;
}

}  // namespace certgate::decide
