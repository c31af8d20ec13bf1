#!/usr/bin/env python3
"""steady: the supervise binary's own steady-state CPU, as shipped.

    bench/steady.py [--procs 1000] [--maps 1000] [--seconds 20] [--runs 3]

Runs the real CLI, `supervise -q [--jobs 1-8 --mem 16GiB] -- spawn PROCS MAPS`,
in a subtree of its own (<v2 mount>/sv-bench-steady-PID) with its own pin
directory (/sys/fs/bpf/sv-bench-steady-PID) and runtime directory, waits until
the PROCS children hold their MAPS mappings each, lets it settle 2 s, then
reads supervise's CPU time from /proc/PID/schedstat (nanoseconds on a CPU,
user + system: the iter/task sweep runs in supervise's read(2) and counts)
over --seconds. Reports the share of one core, per configuration, median of
--runs. Needs root (cgroups, BPF). Everything it made is removed at the end.
"""
import argparse, os, shutil, signal, statistics, subprocess, sys, tempfile, time

from jobserver import v2_mount   # bench/jobserver.py, beside this one

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("OUTPUT", os.path.join(ROOT, "build"))
SV = os.path.join(OUT, "supervise")


def cpu_ns(pid):
    return int(open("/proc/%d/schedstat" % pid).read().split()[0])


def remove_tree(path):
    for dirpath, dirs, _ in os.walk(path, topdown=False):
        for d in dirs:
            try:
                os.rmdir(os.path.join(dirpath, d))
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


def one(args, extra, base, env, spawn):
    cmd = [SV, "-q", "--cgroup-base", base] + extra + ["--", spawn, str(args.procs), str(args.maps)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    try:
        line = p.stdout.readline().decode()
        if not line.startswith("ready %d" % args.procs):
            sys.exit("steady: the workload did not get ready: %r" % line)
        time.sleep(2)
        t0, c0 = time.monotonic(), cpu_ns(p.pid)
        time.sleep(args.seconds)
        t1, c1 = time.monotonic(), cpu_ns(p.pid)
        return 100.0 * (c1 - c0) / 1e9 / (t1 - t0)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--procs", type=int, default=1000)
    ap.add_argument("--maps", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("steady: needs root (cgroups, BPF)")
    tmp = tempfile.mkdtemp(prefix="sv-bench-steady-")
    spawn = os.path.join(tmp, "spawn")
    subprocess.run([os.environ.get("CC", "gcc"), "-O2", "-o", spawn, os.path.join(ROOT, "bench", "spawn.c")],
                   check=True)
    base = os.path.join(v2_mount(), "sv-bench-steady-%d" % os.getpid())
    os.makedirs(base, exist_ok=True)
    env = dict(os.environ, SUPERVISE_RUNTIME_DIR=os.path.join(tmp, "rt"),
               SUPERVISE_BPF_PIN_DIR="/sys/fs/bpf/sv-bench-steady-%d" % os.getpid(),
               SUPERVISE_CACHE_DIR=os.path.join(tmp, "cache"))
    configs = [("bpf, no --jobs", ["--backend", "bpf"]),
               ("bpf, --jobs 1-8 --mem 16GiB --job-mem 4MiB",
                ["--backend", "bpf", "--jobs", "1-8", "--mem", "16GiB", "--job-mem", "4MiB"])]
    try:
        for name, extra in configs:
            vals = [one(args, extra, base, env, spawn) for _ in range(args.runs)]
            print("%-55s %.3f %% of a core (median of %d: %s)" %
                  (name, statistics.median(vals), len(vals), ", ".join("%.3f" % v for v in vals)), flush=True)
    finally:
        remove_tree(base)
        subprocess.run([SV, "gc"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
