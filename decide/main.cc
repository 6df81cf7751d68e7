// certgate-decide: the resident decision service behind principals-cmd and
// keys-cmd, and (with --run) the in-process helper. See certgate-decide(8).
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lock_file.h"
#include "core/log.h"
#include "core/policy_loader.h"
#include "core/policy_snapshot.h"
#include "core/standard_fds.h"
#include "core/unique_fd.h"
#include "decide/policy_cache.h"
#include "decide/server.h"
#include "decide/service_args.h"
#include "helper-main/helper_main.h"

#ifndef CERTGATE_DECIDE_SOCKET
#define CERTGATE_DECIDE_SOCKET "/run/certgate/decide.sock"
#endif

namespace {

constexpr char kUsage[] =
    "Usage: certgate-decide [--policy PATH] [--snapshot PATH] [--socket PATH]\n"
    "                       [--client-user NAME]... [--max-children N] [--verbose]\n"
    "       certgate-decide --run principals-cmd|keys-cmd [HELPER-ARGS...]\n"
    "       certgate-decide --help | --version\n\n"
    "The certgate decision service: keeps the policy loaded, re-validates it before\n"
    "every request (stat of every policy file and directory; reload on any change),\n"
    "and answers principals-cmd and keys-cmd over a unix socket from worker processes\n"
    "forked from it, each serving one request after another. Started by systemd\n"
    "(certgate-decide.socket); without socket activation it binds --socket itself.\n\n"
    "Options:\n"
    "  --policy PATH       the policy kept loaded (default /etc/certgate/policy.yaml);\n"
    "                      requests naming another --policy are declined (the client\n"
    "                      then decides in-process)\n"
    "  --snapshot PATH     load the policy from this snapshot (principals-cmd --compile)\n"
    "                      while it is current, else from the YAML (default\n"
    "                      /var/cache/certgate/policy.snapshot; \"none\": always the YAML)\n"
    "  --socket PATH       socket to bind without socket activation (absolute)\n"
    "                      (default " CERTGATE_DECIDE_SOCKET "); run as root, only\n"
    "                      root and the --client-users' primary group may connect\n"
    "                      (everyone with \"any\" or users of several groups)\n"
    "  --client-user NAME  serve requests from this user (sshd's Authorized*CommandUser;\n"
    "                      repeatable; default certgate) and root; other users' requests\n"
    "                      are declined (their client decides in-process). \"any\": everyone\n"
    "  --max-children N    workers (idle or serving a request) at once, 1 to 4096 (default 64)\n"
    "  --verbose           also write the service's own log records to stderr\n"
    "  --run KIND ARGS...  run principals-cmd or keys-cmd in this process (what the\n"
    "                      clients execute when the service is not there); must be\n"
    "                      the first argument\n"
    "  --help, --version\n\n"
    "A value may also follow its option after '='; options other than --client-user\n"
    "may be given once.\n"
    "Exit status: 1 on a start-up error; the service itself runs until stopped.\n"
    "See certgate-decide(8).\n";

// The package's command user (AuthorizedPrincipalsCommandUser certgate).
constexpr char kDefaultClientUser[] = "certgate";

int Usage(const std::string& message) {
  std::fprintf(stderr, "certgate-decide: %s (see --help)\n", message.c_str());
  return 1;
}

// Clients is whom the service serves: the filter its server applies to
// each connection, and the group that may connect to a socket it binds
// itself (none: every user, mode 0666).
struct Clients {
  certgate::decide::ClientFilter filter;
  std::optional<gid_t> socket_group;
};

// ResolveClientUsers turns --client-user names into Clients; an unknown
// user is a start-up error (reported on stderr), never "serve everyone".
// The socket's group is the users' primary group when they share one.
std::optional<Clients> ResolveClientUsers(const std::vector<std::string>& names, bool given) {
  std::vector<uid_t> uids;
  std::optional<gid_t> group;
  bool one_group = true;
  for (const std::string& name : names) {
    if (name == "any") return Clients{certgate::decide::ClientFilter::AnyUser(), std::nullopt};
    struct passwd* pw = getpwnam(name.c_str());
    if (pw == nullptr) {
      Usage(given ? "--client-user " + name + ": no such user; name sshd's AuthorizedPrincipalsCommandUser"
                  : "no user " + name + " (the default --client-user); create it, as the package does, or name "
                    "sshd's AuthorizedPrincipalsCommandUser with --client-user");
      return std::nullopt;
    }
    uids.push_back(pw->pw_uid);
    if (group && *group != pw->pw_gid) one_group = false;
    group = pw->pw_gid;
  }
  return Clients{certgate::decide::ClientFilter::Only(std::move(uids)),
                 one_group ? group : std::nullopt};
}

// StartupError logs |message|, the reason the service cannot start, and
// says it on stderr too, unless --verbose already copies every record there
// or stderr is the journal itself. Returns 1, the exit status.
int StartupError(certgate::core::LogSink* log, bool verbose, const std::string& message) {
  log->Write(certgate::decide::ServiceRecord(certgate::core::Priority::kErr, message));
  if (!verbose && !certgate::core::StderrIsJournal()) std::fprintf(stderr, "certgate-decide: %s\n", message.c_str());
  return 1;
}

// BindSocket binds and listens on |path|. Run as root with a |group|, the
// socket is root:|group| mode 0660, so that only root and the sshd command
// user can connect: any other user could fill its listen backlog, and a
// client that cannot connect decides in-process, slower. Otherwise it is
// mode 0666. Trust comes from the directory and the owner (client.h).
// A socket already there is replaced only if nothing listens on it (a
// stale one: connect() is refused); a live one, or anything else, is an
// error. The check and the replacement are made under an exclusive
// flock(2) on |path|.lock (OpenPrivateLockFile: no other user can open it
// to hold the lock): two services started on one path at once would
// otherwise both take the stale socket for theirs, the later unlinking the
// one the earlier had just bound. Returns the socket, or -1 with |error|
// saying why.
int BindSocket(const std::string& path, std::optional<gid_t> group, std::string* error) {
  auto fail = [&](const std::string& what, const char* todo = "check the directory or use --socket") {
    *error = "cannot listen on " + path + ": " + what + (todo != nullptr ? std::string("; ") + todo : "");
    return -1;
  };
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.front() != '/' || path.size() >= sizeof addr.sun_path) {
    return fail("not an absolute path shorter than 108 bytes", "give --socket an absolute path");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const std::string lock_path = path + ".lock";
  const certgate::core::Result<certgate::core::UniqueFd> lock =
      certgate::core::OpenPrivateLockFile(lock_path, "stop certgate-decide from starting");
  if (!lock) return fail(lock.error().detail, nullptr);  // it says what to do
  // Held for microseconds by another starting service; a holder that
  // keeps it is not waited for without end.
  for (int waited_ms = 0; flock(lock->get(), LOCK_EX | LOCK_NB) != 0; waited_ms += 10) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return fail("cannot lock " + lock_path + ": " + std::strerror(errno));
    if (waited_ms >= 10000) {
      return fail("another process has held " + lock_path + " locked for 10 seconds",
                  "find it with lslocks, or use another --socket");
    }
    usleep(10000);
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return fail("exists and is not a socket", "remove it or use another --socket");
    // Is anything listening? Only a stale socket of an earlier run (the
    // connection refused) may be replaced: unlinking a live one would
    // strand the service behind it.
    certgate::core::UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!probe.valid()) return fail(std::strerror(errno));
    int rc;
    do {
      rc = connect(probe.get(), reinterpret_cast<const struct sockaddr*>(&addr), sizeof addr);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0 || errno == EAGAIN) {
      return fail("a process is listening on it (another certgate-decide?)",
                  "stop that one first, or use another --socket");
    }
    if (errno == ENOENT) {
      // Removed since lstat() (not by a certgate-decide: they hold the
      // lock): there is nothing to replace.
    } else if (errno != ECONNREFUSED) {
      return fail(std::string("cannot tell whether a process listens on it: ") + std::strerror(errno),
                  "remove it if it is stale, or use another --socket");
    } else {
      unlink(path.c_str());  // a stale socket of an earlier run
    }
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::strerror(errno));
  const bool restricted = group && geteuid() == 0;
  if (bind(fd, reinterpret_cast<const struct sockaddr*>(&addr), sizeof addr) != 0 ||
      (restricted && chown(path.c_str(), 0, *group) != 0) || chmod(path.c_str(), restricted ? 0660 : 0666) != 0 ||
      listen(fd, 128) != 0) {
    std::string why = std::strerror(errno);
    close(fd);
    return fail(why);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--run") == 0) {
    // The in-process helper, on the login path when the service is down:
    // what follows KIND is the helper's, so nothing else is parsed here.
    const certgate::core::Result<certgate::core::HelperKind> kind =
        certgate::decide::ParseRunKind(argc > 2 ? argv[2] : nullptr);
    if (!kind) return Usage(kind.error().detail);
    // HelperMain ignores its argv[0]: argv + 2 starts at KIND.
    return certgate::HelperMain(*kind, argc - 2, argv + 2);
  }
  // HelperMain does this itself above (a closed stdout is its output
  // error); for the service, no socket or file may become fd 0, 1 or 2.
  if (certgate::core::OpenStandardFds() < 0) return 1;
  const certgate::core::Result<certgate::decide::ServiceArgs> parsed =
      certgate::decide::ParseServiceArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed) return Usage(parsed.error().detail);
  const certgate::decide::ServiceArgs& args = *parsed;
  switch (args.action) {
    case certgate::decide::ServiceArgs::Action::kHelp:
      std::fputs(kUsage, stdout);
      return 0;
    case certgate::decide::ServiceArgs::Action::kVersion:
      std::printf("certgate-decide (certgate) %s\n", CERTGATE_VERSION);
      return 0;
    case certgate::decide::ServiceArgs::Action::kRun:  // handled above
      return certgate::HelperMain(args.run_kind, argc - 2, argv + 2);
    case certgate::decide::ServiceArgs::Action::kServe:
      break;
  }

  // A reload (ExecReload= sends SIGHUP) may come before Serve() takes
  // SIGHUP over, while the policy still loads: it must not kill the
  // service. The policy is loaded after this anyway.
  signal(SIGHUP, SIG_IGN);

  const std::string socket_path = args.socket_path.empty() ? CERTGATE_DECIDE_SOCKET : args.socket_path;
  const bool verbose = args.verbose;
  std::vector<std::string> client_users = args.client_users;
  const bool client_users_given = !client_users.empty();
  if (!client_users_given) client_users.push_back(kDefaultClientUser);
  std::optional<Clients> clients = ResolveClientUsers(client_users, client_users_given);
  if (!clients) return 1;

  certgate::core::SystemLogSink log("certgate-decide", verbose);
  signal(SIGPIPE, SIG_IGN);
  if (chdir("/") != 0) return StartupError(&log, verbose, std::string("cannot change to /: ") + std::strerror(errno));
  int listen_fd = -1;
  int n = sd_listen_fds(1);
  if (n > 1) {
    return StartupError(&log, verbose,
                        "got " + std::to_string(n) + " sockets from systemd, expected 1; fix certgate-decide.socket");
  }
  if (n == 1) {
    listen_fd = SD_LISTEN_FDS_START;
  } else {
    std::string error;
    listen_fd = BindSocket(socket_path, clients->socket_group, &error);
    if (listen_fd < 0) return StartupError(&log, verbose, error);
  }
  certgate::decide::PolicyCache cache(args.policy, certgate::core::LoadOptions{});
  cache.UseSnapshot(args.snapshot);
  (void)cache.Refresh();  // load now, so the first login does not pay for it
  certgate::decide::LogSnapshotNotUsed(cache, &log);
  certgate::decide::WarmUpCrypto();
  const std::string status = certgate::decide::PolicyStatus(cache);
  log.Write(certgate::decide::ServiceRecord(
      cache.current().policy ? certgate::core::Priority::kInfo : certgate::core::Priority::kErr,
      "serving; " + status + (cache.current().policy ? "" : "; fix it and check with principals-cmd --check")));
  // Type=notify: ready once the policy is loaded (TimeoutStartSec= bounds
  // that first load; the socket queues logins meanwhile).
  (void)sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
  return certgate::decide::Serve(listen_fd, &cache, args.max_children, clients->filter, &log);
}
