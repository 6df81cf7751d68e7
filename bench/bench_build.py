"""Building what the bench measures: the certgate helpers' build directory
(build(): a Release build-bench/ configured and built with -j1; build_type()
reads a build directory's CMAKE_BUILD_TYPE for the report) and the bench's own
C programs (compile_tools(): driver.c and the reference programs, compiled into
the workspace). BINARIES says where a build directory holds each helper."""

import os
import re
import shutil

from bench_common import HERE, ROOT, log, sh


# Where a build directory holds each binary the bench runs: (subdirectory,
# name). certgate-decide is the clients' in-process fallback and the service.
BINARIES = (("principals-cmd", "principals-cmd"), ("keys-cmd", "keys-cmd"),
            ("decide", "certgate-decide"))

# GCC 12 at -O3 (Release) reports -Wrestrict / -Wstringop-overread false
# positives inside libstdc++ for core/decision_report.cc and core/krl.cc, which
# -Werror turns into build failures. They stay warnings in this build dir only.
RELEASE_CXX_FLAGS = ("-Wno-error=restrict -Wno-error=stringop-overread "
                     "-Wno-error=stringop-overflow -Wno-error=array-bounds")


def build(build_dir):
    if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        log("configuring %s (Release)" % build_dir)
        sh(["cmake", "-S", ROOT, "-B", build_dir, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
            "-DCERTGATE_BUILD_TESTS=OFF", "-DCMAKE_CXX_FLAGS=" + RELEASE_CXX_FLAGS], timeout=600)
    log("building principals-cmd keys-cmd in %s (-j1)" % build_dir)
    sh(["cmake", "--build", build_dir, "-j1", "--target", "principals-cmd", "keys-cmd",
        "certgate-decide"],
       timeout=3600)


def build_type(build_dir):
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", f.read(), re.M)
            return m.group(1) if m else "?"
    except OSError:
        return "?"


def compile_tools(ws):
    cc = shutil.which("cc") or "gcc"
    tools = {}
    for name, argv in (
            ("driver", ["-O2", os.path.join(HERE, "driver.c")]),
            ("yaml_scan", ["-O2", os.path.join(HERE, "yaml_scan.c"), "-lyaml"]),
            ("nop-static", ["-O2", "-static", os.path.join(HERE, "nop.c")]),
            ("nop-dyn", ["-O2", os.path.join(HERE, "nop.c"), "-Wl,--no-as-needed",
                         "-lstdc++", "-lcrypto", "-lyaml", "-lsystemd"]),
            ("static-cat", ["-O2", "-static", os.path.join(HERE, "static_cat.c")]),
            ("ossl_ed25519", ["-O2", os.path.join(HERE, "ossl_ed25519.c"), "-lcrypto"])):
        out = os.path.join(ws.bin, name)
        sh([cc] + argv + ["-o", out])
        os.chmod(out, 0o755)
        tools[name] = out
    return tools
