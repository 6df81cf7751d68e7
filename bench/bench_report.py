"""The report of a run: report_text() makes the table that bench/run prints
(cycles_ms() turns the loader's cycle counts into milliseconds for it);
write_report() prints it and writes bench/out/results.txt and results.csv
(CSV_COLUMNS, each value formatted by fmt_csv()), and has plot() draw
bench/out/cost.png with gnuplot."""

import datetime
import os
import re
import shutil
import subprocess

from bench_build import build_type
from bench_common import COLD_SIZES, OUT, SIZES, log


TARGETS = {  # issue 6; for the report only
    ("helper", 10): 1.3, ("helper", 100000): 1.5, "login": 1.02, "rss_kib": 8 * 1024,
}


# results.csv's columns, one row per measured command.
CSV_COLUMNS = ["section", "label", "rules", "runs", "median_ms", "p25_ms", "p75_ms", "ratio",
               "extra_ms", "baseline", "maxrss_kib", "maxrss_max_kib", "cpu_ms", "user_ms",
               "sys_ms", "bad_exits", "paired_ratio", "paired_lo95", "paired_hi95",
               "floor_ratio", "floor_lo95", "floor_hi95"]


def write_report(text, results):
    """Prints TEXT (report_text()) and writes it to bench/out/results.txt,
    RESULTS to bench/out/results.csv, and the plot."""
    print(text)
    with open(os.path.join(OUT, "results.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(OUT, "results.csv"), "w") as f:
        f.write(",".join(CSV_COLUMNS) + "\n")
        for r in results:
            r = dict(r)
            for key, ci in (("paired", r.get("paired")), ("floor", r.get("paired_floor"))):
                med, lo, hi = ci or (None, None, None)
                r[key + "_ratio"], r[key + "_lo95"], r[key + "_hi95"] = med, lo, hi
            f.write(",".join(fmt_csv(r[c]) for c in CSV_COLUMNS) + "\n")
    plot(results)


def fmt_csv(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "%.4f" % v
    s = str(v)
    return '"%s"' % s if "," in s or " " in s else s


def report_text(results, mode, build_dir, version_text, psizes, rss_time, ld_stats, elapsed,
                service_rss, baseline=None, base_rss=None):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()
    L = []
    L.append("certgate bench (%s), %s, %s (%s), %d CPUs, load %.2f %.2f %.2f, %.0f s" %
             (mode, now, build_dir, build_type(build_dir), os.cpu_count() or 0,
              load[0], load[1], load[2], elapsed))
    L.append("binary: %s; policy sizes: %s" % (
        version_text, ", ".join("%d rules %.2f MB" % (n, psizes[n] / 1e6) for n in SIZES)))
    L.append("")
    L.append("Helper runs: posix_spawn as nobody, stdout piped, interleaved; medians over runs")
    hdr = "%-30s %5s %9s %17s %7s %8s %7s %7s %7s" % (
        "command", "runs", "median ms", "p25..p75 ms", "x true", "+ms", "cpu ms", "sys ms",
        "RSS KiB")
    L.append(hdr)
    L.append("-" * len(hdr))
    for r in results:
        if r["section"] != "helper":
            continue
        L.append("%-30s %5d %9.3f %8.3f..%-8.3f %7.2f %8.3f %7.2f %7.2f %7d%s" % (
            r["label"], r["runs"], r["median_ms"], r["p25_ms"], r["p75_ms"], r["ratio"],
            r["extra_ms"], r["cpu_ms"], r["sys_ms"], r["maxrss_kib"],
            "  (%d bad exits)" % r["bad_exits"] if r["bad_exits"] else ""))
    L.append("")
    L.append("Logins: ssh ... true through a real sshd (curve25519-sha256), interleaved, as root")
    hdr = "%-38s %5s %9s %17s %9s %8s" % ("sshd configuration", "runs", "median ms",
                                          "p25..p75 ms", "x static", "+ms")
    L.append(hdr)
    L.append("-" * len(hdr))
    for r in results:
        if r["section"] != "login":
            continue
        L.append("%-38s %5d %9.2f %8.2f..%-8.2f %9.3f %8.2f%s" % (
            r["label"], r["runs"], r["median_ms"], r["p25_ms"], r["p75_ms"], r["ratio"],
            r["extra_ms"],
            "  (%d failed)" % r["bad_exits"] if r["bad_exits"] else ""))
    L.append("")
    L.append("The same logins paired by round (each round runs every configuration once, "
             "so the")
    L.append("machine's drift cancels): median of the per-round ratios, with a "
             "distribution-free 95% interval;")
    L.append("\"x floor\" is against the static printer run as the same kind of command.")
    hdr = "%-38s %5s %9s %15s %9s %15s" % ("sshd configuration", "pairs", "x static",
                                          "95% interval", "x floor", "95% interval")
    L.append(hdr)
    L.append("-" * len(hdr))

    def ci_text(ci):
        if ci is None:
            return "%9s %15s" % ("", "")
        med, lo, hi = ci
        if lo is None:
            return "%9.3f %15s" % (med, "(too few)")
        return "%9.3f %15s" % (med, "%.3f..%.3f" % (lo, hi))
    for r in results:
        if r["section"] != "login" or r.get("paired") is None:
            continue
        L.append("%-38s %5d %s %s" % (r["label"], r["pairs"], ci_text(r["paired"]),
                                      ci_text(r.get("paired_floor"))))
    L.append("")
    big = SIZES[-1]
    m = {r["label"]: r["median_ms"] for r in results}
    parts = [
        ("spawn of /bin/true (the floor)", m["true"]),
        ("loading libstdc++ libcrypto libyaml libsystemd (nop-dyn - true)",
         m["nop-dyn"] - m["true"]),
        ("libcrypto load + init + one Ed25519 sign/verify (ossl_ed25519 - true)",
         m["ossl_ed25519"] - m["true"]),
        ("in-process helper start-up beyond its libraries (fallback --version - nop-dyn)",
         m["fallback principals-cmd --version"] - m["nop-dyn"]),
    ]
    parts.append(("service: client + round trip + worker --version (principals-cmd --version - true)",
                  m["principals-cmd --version"] - m["true"]))
    for n in SIZES:
        parts.append(("service: decision at %d rules (principals-cmd@%d - --version)" % (n, n),
                      m["principals-cmd@%d" % n] - m["principals-cmd --version"]))
    for n in COLD_SIZES:
        for name in ("principals-cmd", "keys-cmd"):
            parts.append(("service: signature check on a first sight (%s@%d cold - warm)" %
                          (name, n), m["%s@%d cold" % (name, n)] - m["%s@%d" % (name, n)]))
    parts.append(("fallback: in-process start-up (fallback --version - true)",
                  m["fallback principals-cmd --version"] - m["true"]))
    for n in SIZES:
        parts.append(("fallback: decision at %d rules (fallback @%d - fallback --version)" % (n, n),
                      m["fallback principals-cmd@%d" % n] - m["fallback principals-cmd --version"]))
    for n in SIZES:
        parts.append(("snapshot: decision at %d rules (snapshot @%d - fallback --version)" % (n, n),
                      m["snapshot principals-cmd@%d" % n] - m["fallback principals-cmd --version"]))
    parts.append(("read + check the %d-rule policy (--check@%d - fallback --version)" % (big, big),
                  m["principals-cmd --check@%d" % big] - m["fallback principals-cmd --version"]))
    parts.append(("of which libyaml's event parser alone (yaml_scan@%d - true)" % big,
                  m["yaml_scan@%d" % big] - m["true"]))
    for n in COLD_SIZES:
        for name in ("principals-cmd", "keys-cmd"):
            if "baseline %s@%d" % (name, n) in m:
                parts.append(("A/B: this build - baseline (%s@%d)" % (name, n),
                              m["%s@%d" % (name, n)] - m["baseline %s@%d" % (name, n)]))
    L.append("Where the time goes (differences of medians above, ms):")
    for what, ms in parts:
        L.append("  %-76s %9.3f" % (what, ms))
    L.append("")
    L.append("Peak RSS of one decision at %d rules: /usr/bin/time -f %%M: %s" % (
        big, ", ".join("%s %s KiB" % (k, v) for k, v in rss_time.items())))
    for n in SIZES:
        r = service_rss.get(n)
        if not r:
            continue
        # ru_maxrss is known only of workers that exited (retired or
        # replaced); a short run may have none.
        peak = ("%s KiB" % r["child_peak_kib"]) if r["child_peak_kib"] else "unknown (no worker exited)"
        L.append("certgate-decide @%d rules, after %s requests: service VmRSS %s (VmHWM %s, the "
                 "load); worker peak RSS %s (ru_maxrss: counts the service's pages it "
                 "shares copy-on-write), of which private %s KiB (largest)" % (
                     n, r["requests"], r["vmrss"], r["vmhwm"], peak, r["child_private_kib"]))
    for n, r in sorted((base_rss or {}).items()):
        L.append("baseline certgate-decide (%s) @%d rules, after %s requests: service VmRSS %s "
                 "(VmHWM %s), worker private %s KiB (largest)" % (
                     baseline, n, r["requests"], r["vmrss"], r["vmhwm"], r["child_private_kib"]))
    L.append("Dynamic loader (LD_DEBUG=statistics, principals-cmd --version): startup %s "
             "(%s), of which loading objects %s; %s relocations (+%s from cache); "
             "excludes page faults and library constructors" % (
                 ld_stats["startup"], cycles_ms(ld_stats["startup"]), ld_stats["load"],
                 ld_stats["relocs"], ld_stats["relocs_cached"]))
    L.append("Issue 6 targets, for comparison (not asserted): helpers <= %.1fx true at 10 rules, "
             "<= %.1fx at %d; login <= %.2fx static; RSS <= %d KiB" % (
                 TARGETS[("helper", 10)], TARGETS[("helper", big)], big, TARGETS["login"],
                 TARGETS["rss_kib"]))
    return "\n".join(L)


def cycles_ms(text):
    """'N cycles' as milliseconds at the CPU's nominal clock, or '?'."""
    m = re.match(r"(\d+) cycles", text or "")
    try:
        with open("/proc/cpuinfo") as f:
            mhz = float(re.search(r"^cpu MHz\s*:\s*([\d.]+)", f.read(), re.M).group(1))
    except (OSError, AttributeError, ValueError):
        return "?"
    return "~%.2f ms at %.0f MHz" % (int(m.group(1)) / (mhz * 1e3), mhz) if m else "?"


def plot(results):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        log("no gnuplot (apt-get install gnuplot-nox): bench/out/cost.png not drawn")
        return
    dat = os.path.join(OUT, "cost.dat")
    by = {r["label"]: r for r in results}
    series = [("principals-cmd", "principals-cmd@%d"), ("keys-cmd", "keys-cmd@%d"),
              ("fallback", "fallback principals-cmd@%d"), ("snapshot", "snapshot principals-cmd@%d")]
    with open(dat, "w") as f:
        f.write("# rules principals_ms keys_ms principals_ratio keys_ratio fallback_ms snapshot_ms\n")
        for n in SIZES:
            row = [by[pat % n] for _, pat in series]
            f.write("%d %f %f %f %f %f %f\n" % (n, row[0]["median_ms"], row[1]["median_ms"],
                                                row[0]["ratio"], row[1]["ratio"],
                                                row[2]["median_ms"], row[3]["median_ms"]))
    true_ms = by["true"]["median_ms"]
    ver_ms = by["principals-cmd --version"]["median_ms"]
    dyn_ms = by["nop-dyn"]["median_ms"]
    big = SIZES[-1]
    yaml_ms = by["yaml_scan@%d" % big]["median_ms"]
    check_ms = by["principals-cmd --check@%d" % big]["median_ms"]
    script = """
set terminal png size 1200,520
set output '{out}'
set multiplot layout 1,2 title 'certgate decision cost against policy size (medians, one run)'
set logscale x
set logscale y
set grid
set key top left
set xlabel 'rules in policy'
set xrange [5:200000]
set ylabel 'wall time per run (ms)'
set title 'wall time'
plot '{dat}' using 1:2 with linespoints lw 2 title 'principals-cmd', \\
     '{dat}' using 1:3 with linespoints lw 2 title 'keys-cmd', \\
     '{dat}' using 1:6 with linespoints lw 2 dt 2 title 'principals-cmd, no service, YAML', \\
     '{dat}' using 1:7 with linespoints lw 2 dt 2 title 'principals-cmd, no service, snapshot', \\
     {true_ms} with lines dt 2 title '/bin/true', \\
     {dyn_ms} with lines dt 3 title 'nop linked like the helpers', \\
     {ver_ms} with lines dt 4 title 'principals-cmd --version', \\
     '-' using 1:2 with points pt 7 ps 1.5 title 'yaml\\_scan (libyaml only)', \\
     '-' using 1:2 with points pt 5 ps 1.5 title 'principals-cmd --check'
{big} {yaml_ms}
e
{big} {check_ms}
e
set ylabel 'median / median of /bin/true'
set title 'ratio to /bin/true'
plot '{dat}' using 1:4 with linespoints lw 2 title 'principals-cmd', \\
     '{dat}' using 1:5 with linespoints lw 2 title 'keys-cmd', \\
     1.3 with lines dt 2 title 'issue 6 target at 10 rules (1.3)', \\
     1.5 with lines dt 3 title 'issue 6 target at 100,000 rules (1.5)'
unset multiplot
""".format(out=os.path.join(OUT, "cost.png"), dat=dat, true_ms=true_ms, dyn_ms=dyn_ms,
           ver_ms=ver_ms, big=big, yaml_ms=yaml_ms, check_ms=check_ms)
    p = subprocess.run([gnuplot], input=script, capture_output=True, text=True)
    if p.returncode != 0:
        log("gnuplot failed: " + p.stderr.strip())
