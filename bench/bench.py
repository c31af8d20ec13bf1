#!/usr/bin/env python3
"""bench: the benchmarks behind docs/performance.md.

    bench/bench.py [--runs N] [--only overhead|cpucost|attribute] ...

  overhead   probe overhead on the workload: bare vs supervised (bpf, procfs),
             interleaved in the same run, N runs each: a page-fault storm
             (bench/faults.c, 2 GiB in 4 KiB pages), an mmap/munmap churn
             (bench/churn.c, 1 M pairs), the project building itself
             (make -j2 test-bins in a copy of HEAD, from clean each time).
  cpucost    the supervisor's own CPU time watching 1,000 processes with 1,000
             mappings each, bpf vs procfs backend at the same reading rate
             (bench/cpucost.c, linked with the monitor objects).
  attribute  per-program run counts and times of the probes during the
             fault storm and the churn (BPF_ENABLE_STATS, held by an fd: the
             kernel turns the statistics off again when this script exits).

Needs root, the cgroup v2 mount and bpffs. Everything it makes lives in its
own v2 subtree (<v2 mount>/supervise-bench-PID), its own pin directory
(/sys/fs/bpf/supervise-bench-PID) and runtime directory, and is killed
(cgroup.kill) and removed at the end, also on failure or ^C. Results: a table
on stdout and JSON in $OUTPUT/bench/results.json. It only measures: nothing
here passes or fails on a figure.
"""
import argparse
import ctypes
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.abspath(os.path.join(ROOT, os.environ.get("OUTPUT", "build")))
BENCH_BIN = os.path.join(OUTPUT, "bench")
SUPERVISE = os.path.join(OUTPUT, "supervise")
MODES = ["bare", "bpf", "procfs"]
PROBE_LINKS = ["newtask", "exec", "rss_stat", "mmap_unlock", "exit", "sweep"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --- setup and cleanup ----------------------------------------------------------

def v2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    sys.exit("bench: no cgroup v2 mount in /proc/self/mountinfo")


class Env:
    def __init__(self):
        pid = os.getpid()
        self.cgroup = os.path.join(v2_mount(), "supervise-bench-%d" % pid)
        self.pin_dir = "/sys/fs/bpf/supervise-bench-%d" % pid
        self.tmp = tempfile.mkdtemp(prefix="supervise-bench-")
        self.env = dict(os.environ,
                        SUPERVISE_RUNTIME_DIR=os.path.join(self.tmp, "run"),
                        SUPERVISE_BPF_PIN_DIR=self.pin_dir)
        os.makedirs(self.env["SUPERVISE_RUNTIME_DIR"])
        os.mkdir(self.cgroup)

    def supervise(self, backend, argv, name=None):
        cmd = [SUPERVISE, "-q", "--backend", backend, "--cgroup-base", self.cgroup]
        # Far from every threshold, as issue 13 measures it: a budget at 4x
        # the largest workload's peak (the fault storm's 2 GiB), with the
        # jobserver's pause point armed (--jobs).
        cmd += ["--mem", os.environ.get("BENCH_MEM", "8GiB"), "--jobs", "2"]
        if name:
            cmd += ["--name", name]
        return cmd + ["--"] + argv

    def cleanup(self):
        kill_tree(self.cgroup)
        if os.path.isdir(self.pin_dir):
            for n in os.listdir(self.pin_dir):
                os.unlink(os.path.join(self.pin_dir, n))
            os.rmdir(self.pin_dir)
        shutil.rmtree(self.tmp, ignore_errors=True)


def kill_tree(top):
    """cgroup.kill every cgroup of the subtree, deepest first, wait, rmdir."""
    if not os.path.isdir(top):
        return
    dirs = [d for d, _, _ in os.walk(top)]
    for d in sorted(dirs, key=lambda p: p.count("/"), reverse=True):
        try:
            with open(os.path.join(d, "cgroup.kill"), "w") as f:
                f.write("1")
        except OSError:
            pass
        for _ in range(200):
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    if not f.read().strip():
                        break
            except OSError:
                break
            time.sleep(0.05)
        try:
            os.rmdir(d)
        except OSError as e:
            log("bench: could not remove %s: %s" % (d, e))


def build():
    """Compile the benchmark programs into $OUTPUT/bench/."""
    os.makedirs(BENCH_BIN, exist_ok=True)
    cc = os.environ.get("CC", "gcc")
    flags = ["-O2", "-g", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-D_GNU_SOURCE"]
    for prog in ["faults", "churn", "timed"]:
        subprocess.run([cc] + flags + [os.path.join(ROOT, "bench", prog + ".c"), "-o",
                       os.path.join(BENCH_BIN, prog)], check=True)
    objs = sorted(os.path.join(OUTPUT, "supervisor", f) for f in os.listdir(os.path.join(OUTPUT, "supervisor"))
                  if f.endswith(".o") and f != "main.o")
    pc = lambda *a: subprocess.run(["pkg-config"] + list(a), check=True, capture_output=True,
                                   text=True).stdout.split()
    subprocess.run([cc] + flags + ["-I" + os.path.join(ROOT, d) for d in ("include", "supervisor")] +
                   ["-I" + OUTPUT] + pc("--cflags", "libbpf") +
                   [os.path.join(ROOT, "bench", "cpucost.c")] + objs +
                   pc("--libs", "libbpf", "libelf", "zlib", "json-c") + ["-lm", "-o",
                   os.path.join(BENCH_BIN, "cpucost")], check=True)


def other_probe_sets(pin_dir):
    """How many track probe sets not ours have rss_stat attached now (theirs fire in
    bare runs too). Since TRACK_VERSION 7 a set's rss_stat is loaded but attached only
    while a workload is near a threshold: count attached ones, by their links."""
    try:
        progs = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                                          text=True).stdout or "[]")
        links = json.loads(subprocess.run(["bpftool", "-j", "link", "show"], capture_output=True,
                                          text=True).stdout or "[]")
    except (OSError, ValueError):
        return None
    attached = {l.get("prog_id") for l in links}
    ours = set()
    if os.path.exists(os.path.join(pin_dir, "link_rss_stat")):
        try:
            ours.add(link_prog_id(pin_dir, "rss_stat"))
        except (OSError, ValueError, KeyError, subprocess.CalledProcessError):
            pass
    return sum(1 for p in progs if p.get("name") == "on_rss_stat" and p["id"] in attached and p["id"] not in ours)


def prog_id(pin_dir, name):
    """The id of a program of the set: by its link, or (rss_stat, mmap_unlock: attached
    only while a workload is near a threshold) by its program pin."""
    if os.path.exists(os.path.join(pin_dir, "link_" + name)):
        return link_prog_id(pin_dir, name)
    out = subprocess.run(["bpftool", "-j", "prog", "show", "pinned", os.path.join(pin_dir, "prog_" + name)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["id"]


def link_prog_id(pin_dir, name):
    out = subprocess.run(["bpftool", "-j", "link", "show", "pinned", os.path.join(pin_dir, "link_" + name)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["prog_id"]


# --- one run --------------------------------------------------------------------

def run(argv, env, timing_file=None, stdout_loop=False):
    """Wall time, CPU time (user + system of everything it waited for) and the
    workload's own time (loop_ns) of one command."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    wall = time.monotonic() - t0
    # communicate() reaped it; the children's rusage grew by what it used.
    if p.returncode != 0:
        raise RuntimeError("bench: %s exited with %d:\n%s%s" % (" ".join(argv), p.returncode, out, err))
    loop = None
    text = out
    if timing_file:
        with open(timing_file) as f:
            text = f.read()
    for line in text.splitlines():
        w = line.split()
        if w and w[0] == "loop_ns":
            loop = int(w[1]) / 1e9
    return wall, loop


def cpu_children():
    r = os.times()
    return r.children_user + r.children_system


def workloads(e, only):
    src = os.path.join(e.tmp, "src")
    out = os.path.join(e.tmp, "build-out")
    tfile = os.path.join(e.tmp, "timed")
    faults = [os.path.join(BENCH_BIN, "faults"), "2048"]
    churn = [os.path.join(BENCH_BIN, "churn"), "1000000"]
    make = [os.path.join(BENCH_BIN, "timed"), tfile, "make", "-s", "-C", src, "-j2", "OUTPUT=" + out, "test-bins"]

    def prep_build():
        shutil.rmtree(out, ignore_errors=True)

    w = [("faults", "page-fault storm: touch 2 GiB in 4 KiB pages", faults, None, None),
         ("churn", "mmap/munmap churn: 1 M pairs", churn, None, None),
         ("build", "make -j2 test-bins of this project, from clean", make, tfile, prep_build)]
    if any(x[0] == "build" for x in w if not only or x[0] in only):
        os.makedirs(src)
        archive = subprocess.run(["git", "-C", ROOT, "archive", "HEAD"], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
    return [x for x in w if not only or x[0] in only]


def overhead(e, runs, only):
    results = {}
    for name, what, argv, tfile, prep in workloads(e, only):
        log("overhead: %s (%d runs per mode, interleaved)" % (what, runs))
        rows = {m: [] for m in MODES}
        others = set()
        for i in range(runs):
            order = MODES[i % 3:] + MODES[:i % 3]      # rotate: no mode always first
            for mode in order:
                if prep:
                    prep()
                # Another supervise's probe set (tests running elsewhere on
                # the host) fires in bare runs too: wait a little for none.
                for _ in range(40):
                    before = other_probe_sets(e.pin_dir)
                    if not before:
                        break
                    time.sleep(0.5)
                cmd = argv if mode == "bare" else e.supervise(mode, argv, name="bench-" + name)
                c0 = cpu_children()
                wall, loop = run(cmd, e.env, tfile)
                cpu = cpu_children() - c0
                foreign = max(before or 0, other_probe_sets(e.pin_dir) or 0)
                others.add(foreign)
                rows[mode].append({"wall_s": wall, "loop_s": loop, "cpu_s": cpu, "foreign_probe_sets": foreign})
                log("  run %d %-6s wall %.3f s  workload %.3f s  cpu %.3f s" % (i + 1, mode, wall, loop, cpu))
        results[name] = {"what": what, "argv": argv, "runs": rows,
                         "other_probe_sets_loaded": sorted(x for x in others if x is not None)}
    return results


def ratios(rows, mode, key):
    """Median of the per-round ratios mode/bare, their min and max, and the medians themselves."""
    pairs = [s[key] / b[key] for s, b in zip(rows[mode], rows["bare"])]
    return {"ratio_median": statistics.median(pairs), "ratio_min": min(pairs), "ratio_max": max(pairs),
            "median_s": statistics.median(r[key] for r in rows[mode]),
            "bare_median_s": statistics.median(r[key] for r in rows["bare"]),
            "ratio_of_medians": statistics.median(r[key] for r in rows[mode]) /
            statistics.median(r[key] for r in rows["bare"]),
            # The fastest run of a fixed amount of work is the one the rest of
            # the (shared) machine disturbed least.
            "ratio_of_minima": min(r[key] for r in rows[mode]) / min(r[key] for r in rows["bare"])}


# --- supervisor CPU cost --------------------------------------------------------

CPUCOST_CONFIGS = [
    # (label, backend, period_ms, sweep_ms)
    ("bpf, read every 1 s (sweep every 1 s)", "bpf", 1000, 0),
    ("procfs, sample every 1 s", "procfs", 1000, 0),
    ("bpf, read every 100 ms (sweep every 1 s)", "bpf", 100, 0),
    ("bpf, read every 100 ms, no sweep", "bpf", 100, -1),
    ("bpf, read and sweep every 100 ms", "bpf", 100, 100),
    ("procfs, sample every 100 ms (its default)", "procfs", 100, 0),
]


def cpucost(e, runs, procs, maps, seconds):
    results = []
    for i in range(runs):
        for label, backend, period, sweep in CPUCOST_CONFIGS:
            cmd = [os.path.join(BENCH_BIN, "cpucost"), "--backend", backend, "--cgroup-parent", e.cgroup,
                   "--procs", str(procs), "--maps", str(maps), "--period-ms", str(period),
                   "--sweep-ms", str(sweep), "--seconds", str(seconds)]
            p = subprocess.run(cmd, env=e.env, capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError("bench: %s failed:\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r["label"] = label
            r["ms_per_read"] = 1000 * (r["user_s"] + r["sys_s"]) / max(r["reads"], 1)
            r["reads_per_s"] = r["reads"] / r["wall_s"]
            results.append(r)
            log("cpucost run %d: %-45s %7.3f %% of a core, %d reads (%.1f/s), %.3f ms a read, %d procs seen" %
                (i + 1, label, r["core_pct"], r["reads"], r["reads_per_s"], r["ms_per_read"], r["procs_seen"]))
    return results


# --- per-program attribution ------------------------------------------------------

def enable_bpf_stats():
    """BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): on while the returned fd is open."""
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(8)          # union bpf_attr: enable_stats.type = 0
    fd = libc.syscall(321, 32, attr, 8)            # __NR_bpf (x86_64), BPF_ENABLE_STATS
    if fd < 0:
        raise OSError(ctypes.get_errno(), "BPF_ENABLE_STATS")
    return fd


def prog_stats(ids):
    s = {}
    for name, pid in ids.items():
        p = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(pid)], capture_output=True,
                                      text=True, check=True).stdout)
        s[name] = (p.get("run_cnt", 0), p.get("run_time_ns", 0))
    return s


def attribute(e, only):
    # A holder keeps the probe set loaded, so the program ids stay the same
    # across runs; its own workload sleeps.
    holder = subprocess.Popen(e.supervise("bpf", ["sleep", "3600"], name="bench-holder"), env=e.env)
    results = {}
    fd = -1
    try:
        for _ in range(200):
            if os.path.exists(os.path.join(e.pin_dir, "link_sweep")):
                break
            time.sleep(0.05)
        time.sleep(0.5)
        ids = {n: prog_id(e.pin_dir, n) for n in PROBE_LINKS}
        fd = enable_bpf_stats()
        for name, what, argv, tfile, prep in workloads(e, [w for w in ("faults", "churn") if not only or w in only]):
            for mode in ("bpf", "bare"):
                # bare: the probes are attached host-wide while the holder
                # lives, so this is their cost for a process nobody tracks.
                before = prog_stats(ids)
                cmd = argv if mode == "bare" else e.supervise("bpf", argv, name="bench-" + name)
                wall, loop = run(cmd, e.env, tfile)
                after = prog_stats(ids)
                d = {n: {"run_cnt": after[n][0] - before[n][0], "run_time_ns": after[n][1] - before[n][1]}
                     for n in ids}
                total = sum(v["run_time_ns"] for v in d.values())
                results["%s/%s" % (name, "tracked" if mode == "bpf" else "untracked")] = {
                    "loop_s": loop, "wall_s": wall, "progs": d, "probe_s": total / 1e9,
                    "probe_share_of_loop": total / 1e9 / loop}
                log("attribute %s %s: workload %.3f s, probes %.4f s (%.2f %%)" %
                    (name, "tracked" if mode == "bpf" else "untracked (probes attached, process not tracked)",
                     loop, total / 1e9, 100 * total / 1e9 / loop))
                for n, v in d.items():
                    if v["run_cnt"]:
                        log("    %-12s %10d runs  %8.1f ns a run" % (n, v["run_cnt"], v["run_time_ns"] / v["run_cnt"]))
    finally:
        if fd >= 0:
            os.close(fd)
        holder.send_signal(signal.SIGTERM)
        try:
            holder.wait(timeout=20)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()
    return results


# --- report -----------------------------------------------------------------------

def report(res):
    print("\n# supervise benchmarks — %s, %s, %d CPUs" % (res["date"], res["kernel"], res["cpus"]))
    for name, r in res.get("overhead", {}).items():
        print("\n## %s  (%d runs per mode, interleaved; other probe sets loaded: %s)" %
              (r["what"], len(r["runs"]["bare"]), r["other_probe_sets_loaded"]))
        for key, label in (("loop_s", "workload time"), ("wall_s", "wall, incl. supervise start/end"),
                           ("cpu_s", "CPU time (user+sys)")):
            for mode in ("bpf", "procfs"):
                q = ratios(r["runs"], mode, key)
                print("  %-32s %-6s %.3f  [%.3f–%.3f]  of minima %.3f  (median %.3f s vs bare %.3f s)" %
                      (label, mode, q["ratio_median"], q["ratio_min"], q["ratio_max"], q["ratio_of_minima"],
                       q["median_s"], q["bare_median_s"]))
    if res.get("cpucost"):
        print("\n## supervisor CPU cost: %d processes x %d mappings (median of %d)" %
              (res["cpucost"][0]["procs"], res["cpucost"][0]["maps"], res["cpucost_runs"]))
        by = {}
        for r in res["cpucost"]:
            by.setdefault(r["label"], []).append(r)
        med = {}
        for label, rs in by.items():
            med[label] = {k: statistics.median(x[k] for x in rs) for k in ("core_pct", "ms_per_read", "reads_per_s")}
            print("  %-45s %8.3f %% of a core  %8.3f ms a read  %5.1f reads/s  [%s]" %
                  (label, med[label]["core_pct"], med[label]["ms_per_read"], med[label]["reads_per_s"],
                   ", ".join("%.3f" % x["core_pct"] for x in rs)))
        a, b = med.get(CPUCOST_CONFIGS[1][0]), med.get(CPUCOST_CONFIGS[0][0])
        if a and b:
            print("  procfs/bpf at 1 reading a second: %.0fx (CPU a reading: %.0fx)" %
                  (a["core_pct"] / b["core_pct"], a["ms_per_read"] / b["ms_per_read"]))
        a, b = med.get(CPUCOST_CONFIGS[5][0]), med.get(CPUCOST_CONFIGS[2][0])
        if a and b:
            print("  procfs/bpf at 100 ms: CPU a reading %.0fx (procfs managed %.1f readings/s of 10)" %
                  (a["ms_per_read"] / b["ms_per_read"], a["reads_per_s"]))
    for name, r in res.get("attribute", {}).items():
        print("\n## probe time during %s: %.4f s of %.3f s (%.2f %%)" %
              (name, r["probe_s"], r["loop_s"], 100 * r["probe_share_of_loop"]))
        for n, v in r["progs"].items():
            if v["run_cnt"]:
                print("  %-12s %10d runs  %8.1f ns a run" % (n, v["run_cnt"], v["run_time_ns"] / v["run_cnt"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="runs per mode (overhead; default 5)")
    ap.add_argument("--cpucost-runs", type=int, default=3)
    ap.add_argument("--only", action="append", choices=["overhead", "cpucost", "attribute"])
    ap.add_argument("--workload", action="append", choices=["faults", "churn", "build"],
                    help="overhead/attribute: only these workloads")
    ap.add_argument("--procs", type=int, default=1000)
    ap.add_argument("--maps", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=10, help="cpucost: measured window")
    ap.add_argument("--json", default=os.path.join(BENCH_BIN, "results.json"))
    ap.add_argument("--report", metavar="JSON", help="print the report of a saved results file and exit")
    a = ap.parse_args()
    if a.report:
        with open(a.report) as f:
            report(json.load(f))
        return
    if os.geteuid() != 0:
        sys.exit("bench: needs root (cgroups, BPF)")
    build()
    e = Env()
    # ^C and SIGTERM unwind through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    res = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "kernel": os.uname().release,
           "cpus": os.cpu_count(), "cpucost_runs": a.cpucost_runs,
           "git": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip()}
    only = a.only or ["overhead", "cpucost", "attribute"]
    try:
        if "overhead" in only:
            res["overhead"] = overhead(e, a.runs, a.workload)
        if "cpucost" in only:
            res["cpucost"] = cpucost(e, a.cpucost_runs, a.procs, a.maps, a.seconds)
        if "attribute" in only:
            res["attribute"] = attribute(e, a.workload)
    finally:
        e.cleanup()
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    report(res)
    log("\nbench: results in %s" % a.json)


if __name__ == "__main__":
    main()
