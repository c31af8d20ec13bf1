#!/usr/bin/env python3
"""start: how long `supervise -q -- true` takes, cold and warm.

    bench/start.py [--runs 20] [--bin PATH ...] [--contend]

cold: nothing holds the probe set, so every run loads, verifies and pins it
      and the last one out unpins it again;
warm: another run (`supervise -q -- sleep`) holds the set for the whole
      measurement, so a run only registers with it (one unmeasured run first,
      as a start after another start finds an ended run's ring buffer).
--contend: meanwhile a loop of cold starts runs in another pin directory (as
      the tests and other users' sets do on a shared host), to show whether a
      start waits for other sets' loads.

Each binary (--bin, repeatable; default build/supervise) gets its own pin
directory (/sys/fs/bpf/sv-bench-start-PID-N), runtime directory and cgroup
subtree (<v2 mount>/sv-bench-start-PID); the binaries' runs are interleaved,
one of each in turn. Reports the median and mean of elapsed time (wall clock
from fork to reaped) and of CPU time (user + system of supervise and its
children, from wait4's rusage), in ms. Needs root (cgroups, BPF). Everything
it made is removed at the end.
"""
import argparse, os, shutil, signal, statistics, subprocess, sys, tempfile, time

from jobserver import v2_mount   # bench/jobserver.py, beside this one
from steady import remove_tree   # bench/steady.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("OUTPUT", os.path.join(ROOT, "build"))


def timed(cmd, env):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if p.returncode != 0 or err:
        sys.exit("start: %s exited %d: %s" % (" ".join(cmd), p.returncode, err))
    return elapsed * 1e3, (ru.ru_utime + ru.ru_stime) * 1e3


class Binary:
    def __init__(self, path, n, base, tmp):
        self.path = path
        self.env = dict(os.environ, SUPERVISE_RUNTIME_DIR=os.path.join(tmp, "rt%d" % n),
                        SUPERVISE_BPF_PIN_DIR="/sys/fs/bpf/sv-bench-start-%d-%d" % (os.getpid(), n),
                        SUPERVISE_CACHE_DIR=os.path.join(tmp, "cache%d" % n))
        self.base = base
        self.holder = None

    def cmd(self, *workload):
        return [self.path, "-q", "--backend", "bpf", "--cgroup-base", self.base, "--"] + list(workload)

    def hold(self):
        self.holder = subprocess.Popen(self.cmd("sleep", "3600"), env=self.env)
        pins = self.env["SUPERVISE_BPF_PIN_DIR"]
        for _ in range(200):
            if os.path.exists(os.path.join(pins, "link_sweep")):
                break
            time.sleep(0.05)
        else:
            sys.exit("start: the holder pinned no probe set in %s" % pins)
        timed(self.cmd("true"), self.env)

    def release(self):
        if self.holder:
            self.holder.send_signal(signal.SIGTERM)
            self.holder.wait(timeout=30)
            self.holder = None


def report(mode, b, el, cpu):
    print("%-5s %-40s elapsed median %6.1f ms (mean %6.1f)   CPU median %6.1f ms (mean %6.1f)   n=%d" %
          (mode, b.path, statistics.median(el), statistics.mean(el), statistics.median(cpu),
           statistics.mean(cpu), len(el)), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--bin", action="append")
    ap.add_argument("--contend", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("start: needs root (cgroups, BPF)")
    tmp = tempfile.mkdtemp(prefix="sv-bench-start-")
    base = os.path.join(v2_mount(), "sv-bench-start-%d" % os.getpid())
    os.makedirs(base, exist_ok=True)
    bins = [Binary(os.path.abspath(p), i, base, tmp) for i, p in enumerate(args.bin or [os.path.join(OUT, "supervise")])]
    contender = other = None
    try:
        if args.contend:
            other = Binary(bins[0].path, len(bins), base, tmp)
            contender = subprocess.Popen(["sh", "-c", 'while :; do "$@" >/dev/null 2>&1; done', "sh"] + other.cmd("true"),
                                         env=other.env)
        for mode in ("cold", "warm"):
            if mode == "warm":
                for b in bins:
                    b.hold()
            res = {b: ([], []) for b in bins}
            for _ in range(args.runs):
                for b in bins:
                    e, c = timed(b.cmd("true"), b.env)
                    res[b][0].append(e)
                    res[b][1].append(c)
            for b in bins:
                report(mode, b, *res[b])
                b.release()
    finally:
        if contender:
            contender.send_signal(signal.SIGTERM)
            contender.wait(timeout=30)
            time.sleep(1)    # its last run ends (the loop's shell is gone)
            bins.append(other)
        for b in bins:
            b.release()
        for b in bins:
            subprocess.run([b.path, "gc"], env=b.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        remove_tree(base)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
