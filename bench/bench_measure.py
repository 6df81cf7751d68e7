"""Measuring and the statistics over it: run_driver() runs bench/driver.c on
a table of commands (a check, or timed interleaved rounds written to
bench/out/raw-NAME.csv); calibrate(), weights() and timed_set() size a timed
set to a time budget; quantiles(), summarize(), median_ci() and
paired_ratios() turn the driver's rows into a row's figures."""

import math
import os
import statistics
import subprocess

from bench_common import OUT, log
from bench_inputs import COLD, is_cold


# A cold row's certificates are signed for each driver invocation, one per
# run; its weight is lowered so that one timed set needs at most this many.
COLD_MAX_RUNS = 2000


def run_driver(ws, tools, name, cmds, rounds, warmup, max_seconds, as_user, check=False,
               cold=None):
    """cmds: [(label, weight, argv)]; returns raw rows (dicts) or check text.
    An argv holding COLD gets a file of certificates from |cold| (a ColdCerts),
    one for each run this invocation makes of it (the check: one), which the
    driver uses up in turn (@lines:, see driver.c)."""
    spec = os.path.join(ws.root, "cmds-%s.tsv" % name)
    signed = 0
    with open(spec, "w") as f:
        for i, (label, weight, argv) in enumerate(cmds):
            cold_row = is_cold(argv)
            if cold_row:
                certs = cold.take(1 if check else weight * (rounds + warmup))
                signed += len(certs)
                lines = os.path.join(ws.root, "cold-%s-%d.txt" % (name, i))
                with open(lines, "w") as lf:
                    lf.write("".join(c + "\n" for c in certs))
                os.chmod(lines, 0o644)
                argv = [("@lines:" + lines) if a is COLD else a for a in argv]
            assert all("\t" not in a and "\n" not in a for a in argv)
            # Exactly the one substituted argument may read as @lines: to the driver.
            assert sum(a.startswith("@lines:") for a in argv) == (1 if cold_row else 0)
            f.write("\t".join([label, str(weight)] + list(argv)) + "\n")
    if signed:
        log("%s: %d fresh certificates for the cold rows" % (name, signed))
    os.chmod(spec, 0o644)
    argv = [tools["driver"], "--cmds", spec]
    if as_user:
        argv += ["--as", as_user]
    if check:
        return subprocess.run(argv + ["--check"], capture_output=True, text=True,
                              timeout=600).stdout
    raw = os.path.join(OUT, "raw-%s.csv" % name)
    argv += ["--out", raw, "--rounds", str(rounds), "--warmup", str(warmup),
             "--max-seconds", str(max_seconds)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=max_seconds * 4 + 600)
    if p.returncode != 0:
        raise RuntimeError("driver failed: %s" % p.stderr)
    log(p.stderr.strip())
    rows = []
    with open(raw) as f:
        header = f.readline().strip().split(",")
        for line in f:
            rows.append(dict(zip(header, line.strip().split(","))))
    return rows


def quantiles(xs):
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    qs = statistics.quantiles(xs, n=4, method="inclusive")
    return qs[0], statistics.median(xs), qs[2]


def summarize(rows, label):
    rs = [r for r in rows if r["label"] == label]
    if not rs:
        return None
    wall = [int(r["wall_ns"]) / 1e6 for r in rs]
    p25, med, p75 = quantiles(wall)
    return {
        "runs": len(rs),
        "median_ms": med, "p25_ms": p25, "p75_ms": p75,
        "maxrss_kib": int(statistics.median(int(r["maxrss_kib"]) for r in rs)),
        "maxrss_max_kib": max(int(r["maxrss_kib"]) for r in rs),
        "cpu_ms": statistics.median((int(r["user_us"]) + int(r["sys_us"])) / 1e3 for r in rs),
        "user_ms": statistics.median(int(r["user_us"]) / 1e3 for r in rs),
        "sys_ms": statistics.median(int(r["sys_us"]) / 1e3 for r in rs),
        "bad_exits": sum(1 for r in rs if r["exit"] != "0"),
    }


def median_ci(xs, level=0.95):
    """Median of xs and a distribution-free confidence interval for it: the
    order statistics x(k) and x(n+1-k) with the largest k for which
    P(Binomial(n, 1/2) < k) <= (1 - level) / 2. None when n is too small
    for any such k (n < 6 at 95%)."""
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None
    tail = (1 - level) / 2
    k, below = 0, 0.0
    while k < n // 2:
        p_k = math.comb(n, k) / 2.0 ** n  # P(exactly k runs below the median)
        if below + p_k > tail:
            break
        below += p_k
        k += 1
    med = statistics.median(xs)
    if k == 0:
        return med, None, None
    return med, xs[k - 1], xs[n - k]


def paired_ratios(rows, label, base_label):
    """Per round, |label|'s wall time over |base_label|'s in the same round
    (the login sets run each configuration once a round): the two saw the
    same state of the machine, so its slow drift cancels."""
    by_round = {}
    for r in rows:
        if r["label"] in (label, base_label):
            by_round.setdefault(r["round"], {}).setdefault(r["label"], []).append(
                int(r["wall_ns"]))
    out = []
    for runs in by_round.values():
        if label in runs and base_label in runs:
            out.append(statistics.median(runs[label]) / statistics.median(runs[base_label]))
    return out


def weights(costs, cap):
    """Per-round weights: every command gets about as much time per round as
    the slowest one, at most |cap| runs per round."""
    slowest = max(costs.values())
    return {k: max(1, min(cap, int(round(slowest / max(v, 1e-3))))) for k, v in costs.items()}


def calibrate(ws, tools, name, cmds, as_user, cold=None):
    rows = run_driver(ws, tools, name + "-calibrate", [(l, 1, a) for l, _, a in cmds],
                      rounds=2, warmup=1, max_seconds=60, as_user=as_user, cold=cold)
    return {l: statistics.median(int(r["wall_ns"]) / 1e6 for r in rows if r["label"] == l)
            for l, _, _ in cmds}


def timed_set(ws, tools, name, cmds, budget_s, cap, min_rounds, max_rounds, as_user,
              cold=None):
    costs = calibrate(ws, tools, name, cmds, as_user, cold)
    w = weights(costs, cap)
    per_round = sum(w[l] * costs[l] for l in costs) / 1e3
    rounds = int(max(min_rounds, min(max_rounds, budget_s / max(per_round, 1e-3))))
    for l, _, a in cmds:  # every cold run needs a certificate signed for it
        if is_cold(a):
            w[l] = max(1, min(w[l], COLD_MAX_RUNS // (rounds + 1)))
    log("%s: %d rounds of ~%.1f s (weights %s)" %
        (name, rounds, per_round, ", ".join("%s=%d" % (l, w[l]) for l, _, _ in cmds)))
    rows = run_driver(ws, tools, name, [(l, w[l], a) for l, _, a in cmds],
                      rounds=rounds, warmup=1, max_seconds=budget_s * 1.5, as_user=as_user,
                      cold=cold)
    return rows
