#!/usr/bin/env python3
"""bench/operators.py: the two operator figures of docs/performance.md.

    bench/operators.py [--workloads 20] [--procs 50] [--scrapes 50] [--top-seconds 60]

  scrape  one scrape of `supervise exporter` with W live workloads of P
          processes each (sh + P-1 sleeps): the exporter's own
          supervise_exporter_scrape_duration_seconds (the livestate pass) and
          curl's time_total (the whole HTTP request, rendering included), over
          N scrapes: median, p95 and max; and the exporter's CPU time (utime +
          stime) per scrape, which a loaded machine does not inflate.
  top     `supervise top --delay 1` on a real terminal (tmux, private socket)
          with the same workloads: its CPU time (utime + stime of
          /proc/PID/stat) over S seconds, as % of one core.

Needs root, the cgroup v2 mount, bpffs, tmux and curl. Everything lives in its
own v2 subtree, pin directory and runtime directory, killed and removed at the
end, also on failure or ^C. It only measures.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench import v2_mount  # bench/bench.py, beside this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.abspath(os.path.join(ROOT, os.environ.get("OUTPUT", "build")))
SUPERVISE = os.path.join(OUTPUT, "supervise")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", type=int, default=20)
    ap.add_argument("--procs", type=int, default=50)
    ap.add_argument("--scrapes", type=int, default=50)
    ap.add_argument("--top-seconds", type=int, default=60)
    a = ap.parse_args()

    base = os.path.join(v2_mount(), f"supervise-bench-ops-{os.getpid()}")
    pins = f"/sys/fs/bpf/supervise-bench-ops-{os.getpid()}"
    rt = tempfile.mkdtemp(prefix="supervise-bench-ops-")
    os.mkdir(base)
    env = dict(os.environ, SUPERVISE_RUNTIME_DIR=rt, SUPERVISE_BPF_PIN_DIR=pins)
    procs, tmux_sock = [], f"supervise-bench-ops-{os.getpid()}"
    try:
        loop = f"for i in $(seq {a.procs - 1}); do sleep 3600 & done; wait"
        for i in range(a.workloads):
            procs.append(subprocess.Popen([SUPERVISE, "--cgroup-base", base, "--name", f"w{i:02d}", "-q", "--",
                                           "sh", "-c", loop], env=env))
        # Wait until every workload runs all its processes.
        want = a.workloads * a.procs
        for _ in range(600):
            n = 0
            for root, dirs, files in os.walk(os.path.join(base, "supervise")):
                if "cgroup.procs" in files and root != os.path.join(base, "supervise"):
                    with open(os.path.join(root, "cgroup.procs")) as f:
                        n += len(f.read().split())
            if n >= want:
                break
            time.sleep(0.1)
        print(f"workloads: {a.workloads} x {a.procs} processes ({n} in their leaves)")

        ex = subprocess.Popen([SUPERVISE, "exporter", "--listen", "127.0.0.1:0"], env=env, stdout=subprocess.PIPE,
                              text=True)
        procs.append(ex)
        url = ex.stdout.readline().split()[-1]
        internal, total = [], []
        c0 = cpu_ticks(ex.pid)
        for _ in range(a.scrapes):
            out = subprocess.run(["curl", "-s", "-o", "/tmp/.bench-ops-scrape", "-w", "%{time_total}", url],
                                 capture_output=True, text=True, check=True).stdout
            total.append(float(out) * 1000)
            with open("/tmp/.bench-ops-scrape") as f:
                for line in f:
                    if line.startswith("supervise_exporter_scrape_duration_seconds "):
                        internal.append(float(line.split()[1]) * 1000)
            time.sleep(0.05)
        cpu_ms = (cpu_ticks(ex.pid) - c0) / TICK * 1000 / a.scrapes
        os.unlink("/tmp/.bench-ops-scrape")
        series = sum(1 for l in open_scrape(url) if l and not l.startswith("#"))
        p95 = lambda v: sorted(v)[int(0.95 * (len(v) - 1))]
        print(f"scrape: {series} series, {a.scrapes} scrapes; livestate pass median "
              f"{statistics.median(internal):.2f} ms, p95 {p95(internal):.2f} ms, max {max(internal):.2f} ms; "
              f"whole HTTP request (curl time_total) median {statistics.median(total):.2f} ms, "
              f"p95 {p95(total):.2f} ms, max {max(total):.2f} ms; exporter CPU time {cpu_ms:.2f} ms a scrape")

        if shutil.which("tmux"):
            cmd = f"env SUPERVISE_RUNTIME_DIR={rt} SUPERVISE_BPF_PIN_DIR={pins} {SUPERVISE} top --delay 1"
            subprocess.run(["tmux", "-L", tmux_sock, "new-session", "-d", "-s", "top", "-x", "100", "-y", "30",
                            cmd], check=True)
            pid = int(subprocess.run(["tmux", "-L", tmux_sock, "list-panes", "-t", "top", "-F", "#{pane_pid}"],
                                     capture_output=True, text=True, check=True).stdout)
            time.sleep(2)
            t0, c0 = time.monotonic(), cpu_ticks(pid)
            time.sleep(a.top_seconds)
            t1, c1 = time.monotonic(), cpu_ticks(pid)
            pct = 100.0 * (c1 - c0) / TICK / (t1 - t0)
            print(f"top --delay 1: {(c1 - c0) / TICK:.2f} s of CPU in {t1 - t0:.0f} s = {pct:.2f} % of one core")
        else:
            print("top: tmux is not installed, not measured")
    finally:
        subprocess.run(["tmux", "-L", tmux_sock, "kill-server"], capture_output=True)
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        try:
            with open(os.path.join(base, "cgroup.kill"), "w") as f:
                f.write("1")
        except OSError:
            pass
        for root, dirs, files in os.walk(base, topdown=False):
            for _ in range(50):
                try:
                    os.rmdir(root)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        shutil.rmtree(rt, ignore_errors=True)
        if os.path.isdir(pins):
            for n in os.listdir(pins):
                os.unlink(os.path.join(pins, n))
            os.rmdir(pins)


def open_scrape(url):
    return subprocess.run(["curl", "-s", url], capture_output=True, text=True, check=True).stdout.split("\n")


if __name__ == "__main__":
    main()
