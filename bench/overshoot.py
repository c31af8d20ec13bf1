#!/usr/bin/env python3
"""overshoot: how far a fast allocator gets past a budget that supervise
enforces itself (no v2 memory controller: hybrid hosts, or no leaf), with the
bpf and the procfs backend.

    bench/overshoot.py [--runs 50] [--mem-mib 512] [--rate 1024]

Each run: supervise --mem BUDGET --backend B -- overshoot PROGRESS RATE 4096,
an allocator paced at RATE MiB/s (bench/overshoot.c) that records in a shared
file how much it has touched after every 4 MiB step. supervise kills it at
the budget (exit 137); the file then says how far it really got: overshoot =
touched - budget, independent of what supervise measured. Backends alternate
run by run. Prints p50/p99/max per backend and the allocation rate reached;
JSON in $OUTPUT/bench/overshoot.json. Needs root (bpf, a v2 subtree); uses
bench.py's private subtree, pin and runtime directories, removed at the end.
It only measures.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BENCH_BIN, OUTPUT, ROOT, Env, log  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--mem-mib", type=int, default=512)
    ap.add_argument("--rate", type=float, default=1024, help="MiB/s")
    a = ap.parse_args()
    os.makedirs(BENCH_BIN, exist_ok=True)
    prog = os.path.join(BENCH_BIN, "overshoot")
    subprocess.run([os.environ.get("CC", "gcc"), "-O2", "-Wall", "-D_GNU_SOURCE",
                    os.path.join(ROOT, "bench", "overshoot.c"), "-o", prog], check=True)
    env = Env()
    results = {"bpf": [], "procfs": []}
    try:
        progress = os.path.join(env.tmp, "progress")
        summary = os.path.join(env.tmp, "summary.json")
        for i in range(a.runs):
            for backend in ("bpf", "procfs"):
                with open(progress, "wb") as f:
                    f.write(b"\0" * 16)
                cmd = env.supervise(backend, [prog, progress, str(a.rate), "4096"])
                cmd[1:1] = ["--mem", "%dMiB" % a.mem_mib, "--summary-json", summary]
                r = subprocess.run(cmd, env=env.env, capture_output=True, text=True)
                if r.returncode != 137:
                    sys.exit("overshoot: expected exit 137, got %d:\n%s" % (r.returncode, r.stderr))
                with open(progress, "rb") as f:
                    touched, ns = struct.unpack("QQ", f.read(16))
                with open(summary) as f:
                    s = json.load(f)
                results[backend].append({
                    "overshoot_mib": touched / 2**20 - a.mem_mib,
                    "seen_peak_mib": s["memory"]["peak_rss_bytes"] / 2**20,
                    "rate_mib_s": touched / 2**20 / (ns / 1e9) if ns else 0,
                })
            log("run %d/%d: bpf %+.0f MiB, procfs %+.0f MiB" % (
                i + 1, a.runs, results["bpf"][-1]["overshoot_mib"], results["procfs"][-1]["overshoot_mib"]))
    finally:
        env.cleanup()
    out = {"runs": a.runs, "budget_mib": a.mem_mib, "rate_mib_s": a.rate, "backends": {}}
    print("backend  runs  overshoot MiB p50   p99   max   rate reached MiB/s p50")
    for b, rs in results.items():
        o = [x["overshoot_mib"] for x in rs]
        rate = [x["rate_mib_s"] for x in rs]
        out["backends"][b] = {"p50": pct(o, 50), "p99": pct(o, 99), "max": max(o), "min": min(o),
                              "rate_p50": pct(rate, 50), "samples": rs}
        print("%-8s %4d  %17.0f %5.0f %5.0f   %8.0f" % (b, len(rs), pct(o, 50), pct(o, 99), max(o), pct(rate, 50)))
    with open(os.path.join(OUTPUT, "bench", "overshoot.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
