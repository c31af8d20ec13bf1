#!/usr/bin/env python3
"""realbuild: real builds from Debian sources, bare vs under supervise (issue 15).

    bench/realbuild.py [--runs N] [--only lua,zstd,fmt] [--cache DIR]

Projects (Debian 12 source packages, fetched once with `apt-get source` into
the cache, which the bench keeps; deb-src is enabled as MACHINE.md says when
`apt-get source` is not configured):
  lua   lua5.4: libtool, three levels of recursive make, $(shell dpkg-buildflags)
  zstd  libzstd: the library and the CLI (`make`, the default target)
  fmt   fmtlib with its tests: 27 C++ translation units (cmake, Makefile
        generator; configured once per copy, outside the timing)

Modes, interleaved within each round (so machine load hits all alike), each
from a fresh copy of the source tree:
  bare      make -j$(nproc)
  generous  supervise --mem <generous> --jobs auto -- make
  tight     supervise --mem <tight> --jobs auto -- make
  fixed     make -jK, the largest fixed -j whose peak fits the tight budget

The budgets come from a first, untimed probe run of make -j$(nproc) under
supervise without limits: its peak summed RSS P. tight = 0.75 P (below what
-j$(nproc) peaks at; at least 16 MiB), generous = max(4 P, 2 GiB); K = max(1, floor(nproc *
tight / P)). Learned footprints are kept per project in the cache (a user's
second build starts from what the first learned); the probe run teaches the
first ones.

Reports per project and mode: median wall and CPU (user+sys of everything
the run started) and their ratios to bare within the same run; for
supervised runs pauses, peak summed RSS against the budget, jobs at once,
progress-rule resumes and kills (exit.killed_by). Needs root, a cgroup v2
mount and network for the first fetch. Its runs live in its own v2 subtree,
pin directory and runtime directory, removed at the end. Only measures:
nothing passes or fails on a figure. Results: a table on stdout and JSON in
$OUTPUT/bench/realbuild.json.
"""
import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.abspath(os.path.join(ROOT, os.environ.get("OUTPUT", "build")))
SUPERVISE = os.path.join(OUTPUT, "supervise")
MIB = 1 << 20
NPROC = os.cpu_count() or 1
SOURCES = "/etc/apt/sources.list.d/debian.sources"

# configure: shell text run once per fresh copy, outside the timing; make_args:
# what debian/rules passes to make (without -j). lua's configure is
# debian/rules' override_dh_auto_configure without debhelper: generate the
# libtool script and the multiarch header.
LUA_CONFIGURE = """set -e
mkdir -p debian/libtool && cp debian/configure.ac debian/libtool/
cd debian/libtool && LIBTOOLIZE='libtoolize -i' autoreconf -f -i >/dev/null 2>&1 && ./configure >/dev/null
cd ../.. && printf '#ifndef _LUA_DEB_MULTIARCH_\\n#define _LUA_DEB_MULTIARCH_\\n#define DEB_HOST_MULTIARCH "%s"\\n#endif\\n' \\
  "$(gcc -dumpmachine)" > src/lua5.4-deb-multiarch.h
"""
PROJECTS = {
    "lua": {"package": "lua5.4", "dir": "lua5.4-", "configure": LUA_CONFIGURE, "build_dir": ".",
            "make_args": ["linux-readline", "MYLIBS=-lpthread", "LIBTOOL={src}/debian/libtool/libtool",
                          "CC=gcc -std=gnu99", "CXX=g++"]},
    "zstd": {"package": "zstd", "dir": "libzstd-", "configure": None, "build_dir": ".", "make_args": []},
    "fmt": {"package": "fmtlib", "dir": "fmtlib-",
            "configure": "cmake -S . -B build -G 'Unix Makefiles' -DFMT_TEST=ON -DCMAKE_BUILD_TYPE=Release >/dev/null",
            "build_dir": "build", "make_args": []},
}
MODES = ["bare", "generous", "tight", "fixed"]


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import log, v2_mount  # noqa: E402  (bench.py: the other benchmarks' helpers)


def enable_deb_src():
    """MACHINE.md: deb-src is not configured on a new machine."""
    try:
        text = open(SOURCES).read()
    except OSError:
        return
    if any(l.startswith("Types:") and "deb-src" in l for l in text.splitlines()):
        return
    log(f"realbuild: enabling deb-src in {SOURCES} and running apt-get update")
    subprocess.run(["sed", "-i", "s/^Types: deb$/Types: deb deb-src/", SOURCES], check=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)


def fetch(cache, name):
    p = PROJECTS[name]
    src = os.path.join(cache, "src")
    os.makedirs(src, exist_ok=True)
    for d in sorted(os.listdir(src)):
        if d.startswith(p["dir"]) and os.path.isdir(os.path.join(src, d)):
            return os.path.join(src, d)
    enable_deb_src()
    log(f"realbuild: apt-get source {p['package']} into {src}")
    subprocess.run(["apt-get", "source", "-qq", p["package"]], cwd=src, check=True)
    for d in sorted(os.listdir(src)):
        if d.startswith(p["dir"]) and os.path.isdir(os.path.join(src, d)):
            return os.path.join(src, d)
    sys.exit(f"realbuild: apt-get source {p['package']} made no {p['dir']}* directory")


class Env:
    """A private v2 subtree, pin directory and runtime directory."""

    def __init__(self):
        self.base = os.path.join(v2_mount(), f"supervise-realbuild-{os.getpid()}")
        os.mkdir(self.base)
        self.pin = f"/sys/fs/bpf/supervise-realbuild-{os.getpid()}"
        self.runtime = tempfile.mkdtemp(prefix="supervise-realbuild-")
        self.work = tempfile.mkdtemp(prefix="supervise-realbuild-work-")

    def close(self):
        kill = os.path.join(self.base, "cgroup.kill")
        if os.path.exists(kill):
            try:
                open(kill, "w").write("1")
            except OSError:
                pass
        for d, _, _ in sorted(os.walk(self.base), key=lambda x: -len(x[0])):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        shutil.rmtree(self.runtime, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)
        if os.path.isdir(self.pin):
            for f in os.listdir(self.pin):
                try:
                    os.unlink(os.path.join(self.pin, f))
                except OSError:
                    pass
            try:
                os.rmdir(self.pin)
            except OSError:
                pass


def fresh_copy(env, name, src):
    dst = os.path.join(env.work, name)
    shutil.rmtree(dst, ignore_errors=True)
    subprocess.run(["cp", "-a", src, dst], check=True)
    conf = PROJECTS[name]["configure"]
    if conf:
        subprocess.run(["sh", "-c", conf], cwd=dst, check=True)
    return os.path.join(dst, PROJECTS[name]["build_dir"])


def make_args(name, cwd):
    return [a.replace("{src}", cwd) for a in PROJECTS[name]["make_args"]]


def timed(cmd, cwd, environ):
    """Run cmd; wall seconds, CPU seconds of everything it started, status."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=cwd, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, r.returncode, r.stderr.decode(errors="replace")


def sv_env(env, cache, name):
    e = dict(os.environ)
    e.update(SUPERVISE_BPF_PIN_DIR=env.pin, SUPERVISE_RUNTIME_DIR=env.runtime,
             SUPERVISE_CACHE_DIR=os.path.join(cache, "footprints", name))
    os.makedirs(e["SUPERVISE_CACHE_DIR"], mode=0o700, exist_ok=True)
    e.pop("MAKEFLAGS", None)
    e.pop("MFLAGS", None)
    return e


def run_mode(env, cache, name, src, mode, budgets, k):
    cwd = fresh_copy(env, name, src)
    e = sv_env(env, cache, name)
    summary = os.path.join(env.work, f"{name}-{mode}.json")
    if mode == "bare":
        cmd = ["make", f"-j{NPROC}"]
    elif mode == "fixed":
        cmd = ["make", f"-j{k}"]
    else:
        cmd = [SUPERVISE, "-q", "--cgroup-base", env.base, "--summary-json", summary, "--mem",
               f"{budgets[mode] // MIB}MiB", "--jobs", "auto", "--", "make"]
    cmd += make_args(name, cwd)
    wall, cpu, status, err = timed(cmd, cwd, e)
    row = {"project": name, "mode": mode, "wall_s": wall, "cpu_s": cpu, "exit": status}
    if mode in ("generous", "tight"):
        try:
            s = json.load(open(summary))
            row.update(pauses=s["jobs"]["paused"], peak_bytes=s["memory"]["peak_rss_bytes"],
                       budget_bytes=s["memory"]["budget_bytes"],
                       jobs_at_once=s["jobs"].get("peak_concurrent"),
                       progress_resumes=s["jobs"].get("progress_resumes"),
                       killed_by=(s.get("exit") or {}).get("killed_by"))
        except (OSError, ValueError, KeyError) as ex:
            row["summary_error"] = str(ex)
    if status != 0:
        row["stderr_tail"] = err[-2000:]
        log(f"realbuild: {name} {mode} exited {status}: {err[-400:]}")
    return row


def probe_peak(env, cache, name, src):
    """Peak summed RSS of make -j$(nproc) (untimed, no limits)."""
    cwd = fresh_copy(env, name, src)
    summary = os.path.join(env.work, f"{name}-probe.json")
    cmd = [SUPERVISE, "-q", "--cgroup-base", env.base, "--summary-json", summary, "--", "make", f"-j{NPROC}"]
    cmd += make_args(name, cwd)
    _, _, status, err = timed(cmd, cwd, sv_env(env, cache, name))
    if status != 0:
        sys.exit(f"realbuild: the probe build of {name} failed ({status}): {err[-1000:]}")
    return json.load(open(summary))["memory"]["peak_rss_bytes"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="lua,zstd,fmt")
    ap.add_argument("--cache", default=os.environ.get("REALBUILD_CACHE", "/var/cache/supervise-bench/realbuild"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("realbuild: needs root (cgroups, BPF, apt-get source)")
    if not os.access(SUPERVISE, os.X_OK):
        sys.exit(f"realbuild: {SUPERVISE} not built (make)")
    names = [n for n in a.only.split(",") if n]
    for n in names:
        if n not in PROJECTS:
            sys.exit(f"realbuild: unknown project {n}; choose from {', '.join(PROJECTS)}")
    os.makedirs(a.cache, exist_ok=True)
    srcs = {n: fetch(a.cache, n) for n in names}

    # ^C or kill: still remove the subtree, pins and copies (finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = Env()
    rows, setup = [], {}
    try:
        for n in names:
            peak = probe_peak(env, a.cache, n, srcs[n])
            tight = max(16 * MIB, int(peak * 0.75) // MIB * MIB)
            generous = max(4 * peak, 2048 * MIB) // MIB * MIB
            k = max(1, int(NPROC * tight / peak))
            setup[n] = {"probe_peak_bytes": peak, "tight_bytes": tight, "generous_bytes": generous, "fixed_j": k}
            log(f"realbuild: {n}: make -j{NPROC} peaks at {peak / MIB:.0f} MiB; tight {tight // MIB} MiB, "
                f"generous {generous // MIB} MiB, fixed -j{k}")
        for r in range(a.runs):
            for n in names:
                for m in MODES:
                    s = setup[n]
                    row = run_mode(env, a.cache, n, srcs[n], m,
                                   {"generous": s["generous_bytes"], "tight": s["tight_bytes"]}, s["fixed_j"])
                    row["round"] = r
                    rows.append(row)
                    log(f"realbuild: round {r} {n} {m}: {row['wall_s']:.1f} s wall, {row['cpu_s']:.1f} s CPU, "
                        f"exit {row['exit']}")
    finally:
        env.close()

    out = {"nproc": NPROC, "setup": setup, "runs": rows}
    print(f"{'project':8} {'mode':9} {'wall s':>8} {'CPU s':>8} {'wall x':>7} {'CPU x':>7} {'pauses':>7} "
          f"{'peak MiB':>9} {'budget':>7} {'jobs':>5} {'kills':>6}")
    for n in names:
        base = [x for x in rows if x["project"] == n and x["mode"] == "bare"]
        bw = statistics.median(x["wall_s"] for x in base)
        bc = statistics.median(x["cpu_s"] for x in base)
        for m in MODES:
            rs = [x for x in rows if x["project"] == n and x["mode"] == m]
            w = statistics.median(x["wall_s"] for x in rs)
            c = statistics.median(x["cpu_s"] for x in rs)
            kills = sum(1 for x in rs if x["exit"] == 137 or x.get("killed_by"))
            pauses = max((x.get("pauses") or 0) for x in rs) if m in ("generous", "tight") else "-"
            peak = max((x.get("peak_bytes") or 0) for x in rs) // MIB if m in ("generous", "tight") else "-"
            budget = setup[n][f"{m}_bytes"] // MIB if m in ("generous", "tight") else "-"
            jobs = max((x.get("jobs_at_once") or 0) for x in rs) if m in ("generous", "tight") else (
                NPROC if m == "bare" else setup[n]["fixed_j"])
            out.setdefault("summary", []).append({"project": n, "mode": m, "wall_median_s": w, "cpu_median_s": c,
                                                  "wall_ratio": w / bw, "cpu_ratio": c / bc, "max_pauses": pauses,
                                                  "max_peak_mib": peak, "kills": kills, "jobs_at_once": jobs})
            print(f"{n:8} {m:9} {w:8.1f} {c:8.1f} {w / bw:7.3f} {c / bc:7.3f} {pauses!s:>7} {peak!s:>9} "
                  f"{budget!s:>7} {jobs!s:>5} {kills:>6}")
    os.makedirs(os.path.join(OUTPUT, "bench"), exist_ok=True)
    with open(os.path.join(OUTPUT, "bench", "realbuild.json"), "w") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
