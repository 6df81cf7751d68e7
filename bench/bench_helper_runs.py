"""Helper runs: the helpers (and the reference programs) run the way sshd
runs them, as nobody, by bench/driver.c. helper_commands() makes the rows,
check_helpers() checks that every decision grants before anything is timed,
time_helpers() times them interleaved, helper_results() makes the report's
rows against /bin/true; peak_rss_by_time() and loader_statistics() measure
one decision's peak RSS with /usr/bin/time and the dynamic loader's share of
a start."""

import re
import subprocess

from bench_common import COLD_SIZES, SIZES, USER, h, log
from bench_inputs import COLD, is_cold
from bench_measure import run_driver, summarize, timed_set
from bench_setup import check_snapshots


def helper_commands(w):
    """Every helper run to time, as (label, rules or 0, argv): the reference
    programs, the helpers through the service (warm and cold certificate),
    in-process from the YAML and from the snapshot, --baseline's, and
    reading the largest policy."""
    big = SIZES[-1]
    tools, pcmd, kcmd, svc = w.tools, w.pcmd, w.kcmd, w.svc
    hcmds = [("true", 0, ["/bin/true"]),
             ("nop-static", 0, [tools["nop-static"]]),
             ("nop-dyn", 0, [tools["nop-dyn"]]),
             ("ossl_ed25519", 0, [tools["ossl_ed25519"]]),
             ("principals-cmd --version", 0, [pcmd] + svc[10]["args"] + ["--version"]),
             ("fallback principals-cmd --version", 0, [pcmd] + w.no_service + ["--version"])]
    for binary, name in ((pcmd, "principals-cmd"), (kcmd, "keys-cmd")):
        for n in SIZES:
            hcmds.append(("%s@%d" % (name, n), n,
                          [binary] + svc[n]["args"] + w.decision_args(n)))
        # The same decision for a certificate the service has never seen:
        # its memo cannot skip the CA signature check.
        for n in COLD_SIZES:
            hcmds.append(("%s@%d cold" % (name, n), n,
                          [binary] + svc[n]["args"] + w.decision_args(n, COLD)))
    for binary, name in ((pcmd, "principals-cmd"), (kcmd, "keys-cmd")):
        for n in SIZES:
            hcmds.append(("fallback %s@%d" % (name, n), n,
                          [binary] + w.no_service + w.no_snapshot + w.decision_args(n)))
        for n in SIZES:
            hcmds.append(("snapshot %s@%d" % (name, n), n,
                          [binary] + w.with_snapshot(n) + w.decision_args(n)))
    for n, s in w.base_svc.items():
        for name in ("principals-cmd", "keys-cmd"):
            hcmds.append(("baseline %s@%d" % (name, n), n,
                          [w.base[name]] + s["args"] + w.decision_args(n)))
    hcmds.append(("principals-cmd --check@%d" % big, big,
                  [pcmd, "--check", "--policy", w.policies[big]]))
    hcmds.append(("yaml_scan@%d" % big, big, [tools["yaml_scan"], w.policies[big]]))
    return hcmds


def check_helpers(w, hcmds):
    """Runs every helper row once, as nobody, and raises unless each
    decision is the grant we mean to time and the snapshots are used;
    returns what principals-cmd --version printed."""
    # (A cold row is checked with a certificate of its own, never timed.)
    out = run_driver(w.ws, w.tools, "check", [(l, 1, a) for l, _, a in hcmds], 0, 0, 0,
                     "nobody", check=True, cold=w.cold)
    blocks = {}
    for block in out.split("== ")[1:]:
        head, _, body = block.partition("\n")
        label, _, status = head.rpartition(" exit=")
        blocks[label] = (status.split()[0], body)
    for l, n, _ in hcmds:
        status, body = blocks.get(l, ("?", ""))
        want = None
        if re.match(r"(fallback |snapshot |baseline )?principals-cmd@", l):
            want = USER
        elif re.match(r"(fallback |snapshot |baseline )?keys-cmd@", l):
            want = 'principals="%s"' % USER
        if status != "0" or (want and want not in body):
            argv = dict((x[0], x[2]) for x in hcmds)[l]
            if is_cold(argv):
                fresh = w.cold.take(1)[0]
                argv = [fresh if a is COLD else a for a in argv]
            why = h.run_helper(argv[0], ["--verbose"] + argv[1:]) if want else None
            raise RuntimeError("%s did not grant as expected (exit %s): %r\n%s" %
                               (l, status, body, why.stderr if why else ""))
    check_snapshots(w)
    version_text = blocks["principals-cmd --version"][1].strip()
    log("every decision grants %s (checked as nobody)" % USER)
    return version_text


def time_helpers(w, hcmds, quick):
    """Times the helper rows, as nobody, interleaved; returns the driver's
    rows."""
    if quick:
        return timed_set(w.ws, w.tools, "helpers", hcmds, budget_s=15, cap=10,
                         min_rounds=3, max_rounds=20, as_user="nobody", cold=w.cold)
    return timed_set(w.ws, w.tools, "helpers", hcmds, budget_s=120, cap=40,
                     min_rounds=8, max_rounds=400, as_user="nobody", cold=w.cold)


def peak_rss_by_time(w):
    """Peak RSS (KiB, or None) of one decision at the largest size, each way
    it can be made, by /usr/bin/time -f %M: a cross-check of the driver's."""
    big = SIZES[-1]
    rss_time = {}
    for name, binary, extra in (("principals-cmd (service)", w.pcmd, w.svc[big]["args"]),
                                ("keys-cmd (service)", w.kcmd, w.svc[big]["args"]),
                                ("principals-cmd (fallback)", w.pcmd,
                                 w.no_service + w.no_snapshot),
                                ("keys-cmd (fallback)", w.kcmd, w.no_service + w.no_snapshot),
                                ("principals-cmd (snapshot)", w.pcmd, w.with_snapshot(big)),
                                ("keys-cmd (snapshot)", w.kcmd, w.with_snapshot(big))):
        p = subprocess.run(["/usr/bin/time", "-f", "%M", binary] + extra + w.decision_args(big),
                           capture_output=True, text=True, timeout=300)
        m = re.search(r"(\d+)\s*$", p.stderr)
        rss_time[name] = int(m.group(1)) if m else None
    return rss_time


def loader_statistics(pcmd):
    """The dynamic loader's own statistics (LD_DEBUG=statistics) for
    principals-cmd --version: start-up time, relocations, loading objects."""
    ld = subprocess.run([pcmd, "--version"], capture_output=True, text=True,
                        env={"LD_DEBUG": "statistics", "PATH": "/usr/bin:/bin"})
    ld_stats = {}
    for key, pat in (("startup", r"total startup time in dynamic loader:\s*(.+)"),
                     ("relocs", r"number of relocations:\s*(\d+)"),
                     ("relocs_cached", r"number of relocations from cache:\s*(\d+)"),
                     ("load", r"time needed to load objects:\s*(\d+ cycles)")):
        m = re.search(pat, ld.stderr)
        ld_stats[key] = m.group(1).strip() if m else "?"
    return ld_stats


def helper_results(hrows, hcmds):
    """The report's helper rows: each against /bin/true's median."""
    results = []
    true = summarize(hrows, "true")
    for l, n, _ in hcmds:
        s = summarize(hrows, l)
        s.update(section="helper", label=l, rules=n or "", baseline="/bin/true",
                 ratio=s["median_ms"] / true["median_ms"],
                 extra_ms=s["median_ms"] - true["median_ms"])
        results.append(s)
    return results
