#!/usr/bin/env python3
"""Scanning a chart vs rendering it: `ferry scan CHART` against `helm template` alone on the
same chart, alternated, medians of --rounds. The render dominates a chart scan; this says how
much ferry's own work (reading values files, scanning and tracing the output) adds. Last,
all the charts in one `ferry scan` (it renders up to four at once) against `helm template`
of each, one after the other.

usage: python3 benches/chart_vs_helm.py [--charts DIR] [--ferry BIN] [--helm BIN] [--rounds 7]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time


def timed(cmd):
    start = time.perf_counter()
    run = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{run.stderr.decode()}")
    return time.perf_counter() - start


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--charts", default=os.path.join(here, "..", "..", "shared", "corpus-charts"))
    ap.add_argument("--ferry", default=os.path.join(here, "..", "target", "release", "ferry"))
    ap.add_argument("--helm", default="helm")
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    print(f"{'chart':28} {'helm template':>14} {'ferry scan':>11} {'ratio':>6}")
    worst = 0.0
    charts = []
    for case in sorted(os.listdir(a.charts)):
        chart = os.path.join(a.charts, case, "chart")
        if not os.path.isdir(chart):
            continue
        with open(os.path.join(a.charts, case, "expected-images.txt")) as f:
            m = re.search(r"--namespace (\S+)", f.read())
        ns = m.group(1) if m else "default"
        charts.append(chart)
        helm = [a.helm, "template", "rel", chart, "--namespace", ns]
        ferry = [a.ferry, "scan", "-o", "json", "--helm", a.helm, "--release-name", "rel", "-n", ns, chart]
        timed(helm), timed(ferry)  # warm the page cache
        h, f = [], []
        for i in range(a.rounds):
            pair = [(helm, h), (ferry, f)] if i % 2 == 0 else [(ferry, f), (helm, h)]
            for cmd, into in pair:
                into.append(timed(cmd))
        hm, fm = statistics.median(h), statistics.median(f)
        worst = max(worst, fm / hm)
        print(f"{case:28} {hm * 1000:>11.0f} ms {fm * 1000:>8.0f} ms {fm / hm:>6.2f}")
    print(f"worst ratio {worst:.2f} (target <= 1.2)")
    helm_each = [[a.helm, "template", "rel", c] for c in charts]
    ferry_all = [a.ferry, "scan", "-o", "json", "--helm", a.helm, "--release-name", "rel", *charts]
    h, f = [], []
    for i in range(a.rounds):
        each = lambda: sum(timed(cmd) for cmd in helm_each)  # noqa: E731
        pair = [(each, h), (lambda: timed(ferry_all), f)]
        for run, into in pair if i % 2 == 0 else reversed(pair):
            into.append(run())
    hm, fm = statistics.median(h), statistics.median(f)
    print(f"{f'all {len(charts)} in one scan':28} {hm * 1000:>11.0f} ms {fm * 1000:>8.0f} ms {fm / hm:>6.2f}")


if __name__ == "__main__":
    main()
