"""Full ssh logins through real sshds on 127.0.0.1: login_commands() starts
one sshd per configuration (a static AuthorizedPrincipalsFile, the static
printer as either command, principals-cmd and keys-cmd through the service,
in-process from the YAML and from the snapshot) and returns the ssh command
of each; check_logins() checks that every login succeeds; time_logins()
times them in interleaved sets; login_results() makes the report's login
rows, against the static file, also paired by round."""

import os

from bench_common import SIZES, USER, h, log, make_dir
from bench_measure import median_ci, paired_ratios, run_driver, summarize, timed_set

FLOOR_OF = {  # a login row's floor: the static printer as the same kind of command
    "principals-cmd": "login static-cat as principals cmd",
    "keys-cmd": "login static-cat as keys cmd",
}


def login_commands(w, quick, daemons):
    """Starts an sshd for every login configuration (each appended to
    DAEMONS, stopped at the end) and returns the logins as rows (label,
    rules or None, ssh argv); the first is the static
    AuthorizedPrincipalsFile that every other is compared with."""
    lcmds = []
    for i, (label, n, lines) in enumerate(login_configs(w, quick)):
        d = h.Sshd(w.ws, lines, log_level="INFO", name="sshd%d" % i).start()
        daemons.append(d)
        lcmds.append((label, n, [h.SSH, "-F", "none", "-p", str(d.port),
                                 "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                                 "-o", "UserKnownHostsFile=/dev/null",
                                 "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                                 "-o", "KexAlgorithms=curve25519-sha256",
                                 "-o", "LogLevel=ERROR", "-i", w.ukey,
                                 "%s@127.0.0.1" % USER, "true"]))
    return lcmds


def login_configs(w, quick):
    """Writes the files the static configurations read; returns every
    configuration as (label, rules or None, sshd_config lines)."""
    big = SIZES[-1]
    # Not in ws.etc: the services stat the policies' directory, and a
    # change there makes them reload the policy in the middle of the run.
    login_etc = make_dir(os.path.join(w.ws.root, "login-etc"))
    ca_keys = os.path.join(login_etc, "trusted_user_ca_keys")
    w.ws.write(ca_keys, w.ca_pub + "\n")
    pdir = make_dir(os.path.join(login_etc, "principals"))
    w.ws.write(os.path.join(pdir, USER), USER + "\n")
    ca_answer = os.path.join(login_etc, "keys-answer")
    w.ws.write(ca_answer, 'cert-authority,principals="%s" %s\n' % (USER, w.ca_pub))
    login_sizes = (10,) if quick else (10, big)
    configs = [("login static AuthorizedPrincipalsFile", None,
                ["AuthorizedKeysFile none", "TrustedUserCAKeys " + ca_keys,
                 "AuthorizedPrincipalsFile " + os.path.join(pdir, "%u")]),
               ("login static-cat as principals cmd", None,
                ["AuthorizedKeysFile none", "TrustedUserCAKeys " + ca_keys,
                 "AuthorizedPrincipalsCommand %s %s" % (w.tools["static-cat"],
                                                        os.path.join(pdir, USER)),
                 "AuthorizedPrincipalsCommandUser nobody"])]
    how_run = (("", lambda n: w.svc[n]["args"]),
               ("fallback ", lambda n: w.no_service + w.no_snapshot),
               ("snapshot ", w.with_snapshot))
    for prefix, how in how_run:
        for n in login_sizes:
            configs.append(("login %sprincipals-cmd@%d" % (prefix, n), n,
                            ["AuthorizedKeysFile none", "TrustedUserCAKeys " + ca_keys,
                             "AuthorizedPrincipalsCommand %s %s --policy %s %%u %%t %%k" %
                             (w.pcmd, " ".join(how(n)), w.policies[n]),
                             "AuthorizedPrincipalsCommandUser nobody"]))
    configs.append(("login static-cat as keys cmd", None,
                    ["AuthorizedKeysFile none",
                     "AuthorizedKeysCommand %s %s" % (w.tools["static-cat"], ca_answer),
                     "AuthorizedKeysCommandUser nobody"]))
    for prefix, how in how_run:
        for n in login_sizes:
            configs.append(("login %skeys-cmd@%d" % (prefix, n), n,
                            ["AuthorizedKeysFile none",
                             "AuthorizedKeysCommand %s %s --policy %s %%u %%t %%k" %
                             (w.kcmd, " ".join(how(n)), w.policies[n]),
                             "AuthorizedKeysCommandUser nobody"]))
    return configs


def check_logins(w, lcmds, daemons):
    """Raises unless every login succeeds once."""
    out = run_driver(w.ws, w.tools, "login-check", [(l, 1, a) for l, _, a in lcmds], 0, 0, 0,
                     None, check=True)
    for l, _, _ in lcmds:
        if ("== %s exit=0 " % l) not in out:
            raise RuntimeError("login failed: %s\n%s\n%s" % (l, out, daemons[0].log_text()))
    log("every login succeeds")


def time_logins(w, lcmds, quick):
    """Times the logins, as root; returns the timed sets as (rows, the
    commands to report from them): the main set, and the slow set (no rows
    with --quick; its static file, timed for comparison, is not reported)."""
    big = SIZES[-1]
    # The fallback logins at 100,000 rules take seconds each: they get a
    # set of their own (with the static baseline), so that the fast
    # configurations, whose differences are a few percent, get many
    # runs in the main set's time.
    slow = ["login fallback principals-cmd@%d" % big, "login fallback keys-cmd@%d" % big]
    fast_cmds = [c for c in lcmds if c[0] not in slow]
    slow_cmds = [lcmds[0]] + [c for c in lcmds if c[0] in slow]
    slow_rows = []
    if quick:
        lrows = timed_set(w.ws, w.tools, "logins", fast_cmds, budget_s=15, cap=1,
                          min_rounds=5, max_rounds=20, as_user=None)
    else:
        lrows = timed_set(w.ws, w.tools, "logins", fast_cmds, budget_s=100, cap=1,
                          min_rounds=10, max_rounds=400, as_user=None)
        slow_rows = timed_set(w.ws, w.tools, "logins-slow", slow_cmds, budget_s=30, cap=1,
                              min_rounds=3, max_rounds=10, as_user=None)
    return [(lrows, fast_cmds), (slow_rows, slow_cmds[1:])]


def login_results(login_sets, lcmds):
    """The report's login rows from time_logins()'s sets."""
    results = []
    for set_rows, set_cmds in login_sets:
        if not set_rows:
            continue
        # Each set is compared with the static file measured in that set.
        static = summarize(set_rows, lcmds[0][0])
        for l, n, _ in set_cmds:
            s = summarize(set_rows, l)
            s.update(section="login", label=l, rules=n or "",
                     baseline="static AuthorizedPrincipalsFile",
                     ratio=s["median_ms"] / static["median_ms"],
                     extra_ms=s["median_ms"] - static["median_ms"])
            # The same, paired by round, with a 95% interval; and against
            # the floor (the static printer as the same kind of command)
            # when that ran in this set.
            pairs = paired_ratios(set_rows, l, lcmds[0][0]) if l != lcmds[0][0] else []
            s["pairs"] = len(pairs)
            s["paired"] = median_ci(pairs)
            floor = FLOOR_OF.get(l.split("@")[0].split(" ")[-1]) if "@" in l else None
            in_set = any(c[0] == floor for c in set_cmds)
            s["paired_floor"] = (median_ci(paired_ratios(set_rows, l, floor))
                                 if in_set else None)
            results.append(s)
    return results
