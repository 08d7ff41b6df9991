#!/usr/bin/env python3
"""How soon a long read shows that it is alive: on a terminal (a pty), the time from start to
the first progress bar of `verify` and of `push --dry-run` (which decompresses a compressed
bundle before it plans), for a plain and a gzip bundle of --mb MB (one incompressible layer),
against the whole command's time; and without a terminal (as in CI), how many progress lines
it printed (one every 10 s).

    python3 benches/progress_latency.py [--mb 500] [--ferry target/release/ferry] [--workdir DIR]
"""

import argparse
import os
import pty
import select
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compressed_push import make  # noqa: E402

# What a progress bar begins with: its phase, right-aligned, then the bar or a spinner.
MARKS = (b" verify ", b"decompress ")


def on_pty(cmd):
    """(seconds to the first progress mark or None, seconds in all, exit code)."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"
        os.execvp(cmd[0], cmd)
    first, seen = None, b""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if first is None and any(m in seen for m in MARKS):
            first = time.perf_counter() - start
    _, status = os.waitpid(pid, 0)
    return first, time.perf_counter() - start, os.waitstatus_to_exitcode(status)


def lines_in_ci(cmd):
    out = subprocess.run(cmd, capture_output=True, env={**os.environ, "CI": "true"})
    phases = ("verify:", "decompress:", "write:", "inputs:", "manifests:")
    return sum(1 for l in out.stderr.decode().splitlines() if l.startswith(phases))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ferry", default="target/release/ferry")
    p.add_argument("--mb", type=int, default=500)
    p.add_argument("--workdir", default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as d:
        print(f"{args.mb} MB bundles, {args.ferry}")
        print(f"{'bundle':<14} {'command':<16} {'first progress':>15} {'whole run':>10} {'ratio':>7} {'CI lines':>9}")
        for name in ("bundle.tar", "bundle.tar.gz"):
            path = os.path.join(d, name)
            make(path, args.mb)
            for command in (["verify", path], ["push", path, "--to", "127.0.0.1:1/x", "--dry-run"]):
                cmd = [args.ferry] + command
                first, whole, code = on_pty(cmd)
                if code != 0:
                    raise SystemExit(f"{' '.join(cmd)}: exit {code}")
                shown = f"{first:.2f} s" if first is not None else "none"
                ratio = f"{first / whole:.3f}" if first is not None else "-"
                print(f"{name:<14} {command[0] + (' --dry-run' if 'push' == command[0] else ''):<16} "
                      f"{shown:>15} {whole:>8.2f} s {ratio:>7} {lines_in_ci(cmd):>9}")


if __name__ == "__main__":
    main()
