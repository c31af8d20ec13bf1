#!/usr/bin/env python3
"""sandbox: what the sandbox costs the workload (docs/performance.md, section 6).

    bench/sandbox.py [--runs N] [--calls N]

  routes   the allowed path of a seccomp filter per reporting route: no filter,
           denied calls to ERRNO (kernel alone), LOG (audit log), NOTIFY (a
           listener, supervise's route), and a raw_syscalls tracepoint enabled
           host-wide (perf), N getppid each (bench/sandbox-routes.c)
  getppid  10 M getppid calls, supervised without and with --sandbox
  build    this project building itself (make -j2 in a copy of the tree, from
           clean each time), supervised without and with --sandbox

Runs are interleaved (A B A B ...) so that load from elsewhere falls on both;
the figure is the median and the ratio of medians. Needs root and the cgroup
v2 mount; its cgroups live under <v2>/supervise-bench-sandbox-PID and are
removed at the end. It measures only.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.abspath(os.path.join(ROOT, os.environ.get("OUTPUT", "build")))
SUPERVISE = os.path.join(OUTPUT, "supervise")
HELPER = os.path.join(OUTPUT, "tests", "helpers", "sandbox-calls")
ROUTES_BIN = os.path.join(OUTPUT, "bench", "sandbox-routes")


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import log, v2_mount  # noqa: E402  (bench.py's helpers)


def build_routes():
    os.makedirs(os.path.dirname(ROUTES_BIN), exist_ok=True)
    objs = [os.path.join(OUTPUT, "supervisor", f) for f in sorted(os.listdir(os.path.join(OUTPUT, "supervisor")))
            if f.endswith(".o") and f != "main.o"]
    libs = subprocess.run(["pkg-config", "--libs", "libbpf", "libelf", "zlib", "json-c", "libseccomp", "libcap",
                           "inih"], check=True, capture_output=True, text=True).stdout.split()
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "supervisor"),
                    "-I" + os.path.join(ROOT, "include"), "-I" + OUTPUT,
                    os.path.join(ROOT, "bench", "sandbox-routes.c"), *objs, *libs, "-lm", "-o", ROUTES_BIN],
                   check=True)


class Result:
    def __init__(self, stdout, wall, cpu):
        self.stdout, self.wall, self.cpu = stdout, wall, cpu


def timed(cmd, env=None):
    """Run cmd; its wall time and its CPU time (user + system of it and every
    descendant it waited for: supervise reaps the whole workload). The load
    from other tenants inflates wall time many times over on this machine;
    CPU time is what the filter adds."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{err.read()[-2000:].decode(errors='replace')}")
        return Result(out.read().decode(), wall, ru.ru_utime + ru.ru_stime)


def routes(runs, calls):
    names = ["none", "errno", "log", "notify", "tracepoint"]
    res = {k: [] for k in names}
    for _ in range(runs):
        for k in names:
            if k == "tracepoint":
                # A host-wide raw_syscalls:sys_enter tracepoint, counted by perf,
                # while the unfiltered loop runs.
                perf = subprocess.Popen(["perf", "stat", "-e", "raw_syscalls:sys_enter", "-a", "--", "sleep", "3600"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
                r = timed([ROUTES_BIN, str(calls), "none"])
                perf.terminate()
                perf.wait()
            else:
                r = timed([ROUTES_BIN, str(calls), k])
            res[k].append(float(r.stdout.split()[1]))
    return {k: statistics.median(v) for k, v in res.items()}, res


def supervised(base, extra, cmd, env=None):
    return timed([SUPERVISE, "-q", "--cgroup-base", base, *extra, "--", *cmd], env=env)


def pair_stats(d):
    """Medians of CPU and wall seconds per mode, and the CPU ratio."""
    cpu = {k: statistics.median(r.cpu for r in v) for k, v in d.items()}
    wall = {k: statistics.median(r.wall for r in v) for k, v in d.items()}
    raw = {k: [(round(r.cpu, 3), round(r.wall, 3)) for r in v] for k, v in d.items()}
    return {"cpu_s": cpu, "wall_s": wall, "raw_cpu_wall": raw}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=10_000_000)
    ap.add_argument("--build-runs", type=int, default=3)
    ap.add_argument("--only", choices=["routes", "getppid", "build"], action="append")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root")
    base = os.path.join(v2_mount(), f"supervise-bench-sandbox-{os.getpid()}")
    os.mkdir(base)
    tmp = tempfile.mkdtemp(prefix="supervise-bench-sandbox-")
    env = dict(os.environ, SUPERVISE_RUNTIME_DIR=os.path.join(tmp, "run"),
               SUPERVISE_BPF_PIN_DIR=f"/sys/fs/bpf/supervise-bench-sandbox-{os.getpid()}")
    out = {"calls": a.calls, "runs": a.runs}
    try:
        build_routes()
        only = set(a.only or ["routes", "getppid", "build"])
        if "routes" in only:
            log("routes ...")
            med, raw = routes(a.runs, a.calls)
            out["routes_ns_per_call"] = med
            out["routes_raw"] = raw
        if "getppid" in only:
            log("getppid ...")
            g = {"plain": [], "sandbox": []}
            for _ in range(a.runs):
                g["plain"].append(supervised(base, [], [HELPER, "getppid", str(a.calls)], env))
                g["sandbox"].append(supervised(base, ["--sandbox"], [HELPER, "getppid", str(a.calls)], env))
            out["getppid"] = pair_stats(g)
        if "build" in only:
            log("build ...")
            src = os.path.join(tmp, "src")
            os.mkdir(src)
            for f in ["Makefile", "VERSION", "supervisor", "bpf", "include", "lib", "examples"]:
                p = os.path.join(ROOT, f)
                (shutil.copytree if os.path.isdir(p) else shutil.copy)(p, os.path.join(src, f))
            b = {"plain": [], "sandbox": []}
            for _ in range(a.build_runs):
                for k, extra in (("plain", []), ("sandbox", ["--sandbox"])):
                    shutil.rmtree(os.path.join(src, "build"), ignore_errors=True)
                    b[k].append(supervised(base, extra, ["make", "-C", src, "-j2"], env))
            out["build"] = pair_stats(b)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            with open(os.path.join(base, "cgroup.kill"), "w") as f:
                f.write("1")
        except OSError:
            pass
        for d in sorted((os.path.join(r, x) for r, ds, _ in os.walk(base) for x in ds), key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass
        try:
            os.rmdir(base)
        except OSError:
            pass
    if "routes_ns_per_call" in out:
        r = out["routes_ns_per_call"]
        print(f"allowed path, ns per getppid (median of {a.runs} x {a.calls}):")
        for k in ["none", "errno", "log", "notify", "tracepoint"]:
            print(f"  {k:11s} {r[k]:7.1f} ns   x{r[k] / r['none']:.2f}")
    for key, what in (("getppid", f"{a.calls} getppid"), ("build", "self-build (make -j2)")):
        if key in out:
            c, w = out[key]["cpu_s"], out[key]["wall_s"]
            print(f"{what} supervised, CPU s: plain {c['plain']:.3f}, --sandbox {c['sandbox']:.3f}, "
                  f"ratio {c['sandbox'] / c['plain']:.3f}   (wall s: {w['plain']:.2f} / {w['sandbox']:.2f})")
    os.makedirs(os.path.join(OUTPUT, "bench"), exist_ok=True)
    with open(os.path.join(OUTPUT, "bench", "sandbox.json"), "w") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
