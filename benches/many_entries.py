#!/usr/bin/env python3
"""Time per entry of reading a bundle of many small files, plain tar against .tar.gz.

Target (issue 28): `verify` and `rewrite` of a compressed bundle within 2x of the plain
tar's time per entry, at every size (a cost that grows with the entry count, as a total
recomputed after every entry did, shows as a ratio that grows with N).

Each bundle is a valid ferry bundle with no images and N small manifest files, each listed
in ferry.json with its digest (an unlisted file is refused). Both forms are made from the
same entries and timed side by side in one run, best of --rounds.

    cargo build --release && python3 benches/many_entries.py [--entries 50000,100000,200000]
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
import time


def make(dirname, n):
    files = {}
    manifests = []
    for i in range(n):
        name = f"manifests/many/cm-{i:06}.yaml"
        data = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\n".encode()
        files[name] = data
        manifests.append({"path": name, "sha256": "sha256:" + hashlib.sha256(data).hexdigest()})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": []}).encode()
    meta = {"format": "ferry.bundle/v1", "ferry_version": "0.1.0",
            "created": "1970-01-01T00:00:00Z", "images": [], "manifests": manifests,
            "totals": {"images": 0, "blobs": 0, "blob_bytes": 0, "manifest_files": n},
            "index_json": "sha256:" + hashlib.sha256(index).hexdigest()}
    head = {"ferry.json": json.dumps(meta, indent=2).encode(),
            "oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    plain = os.path.join(dirname, f"many-{n}.tar")
    with tarfile.open(plain, "w", format=tarfile.GNU_FORMAT) as t:
        for name, data in list(head.items()) + list(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    gz = plain + ".gz"
    with open(plain, "rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
        dst.write(src.read())
    return plain, gz


def timed(cmd, rounds):
    best = None
    for _ in range(rounds):
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True)
        took = time.perf_counter() - start
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited {out.returncode}: {out.stderr.decode()[:500]}")
        best = took if best is None else min(best, took)
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--entries", default="50000,100000,200000")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--ferry", default="target/release/ferry")
    p.add_argument("--workdir", default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as d:
        print(f"{'entries':>8} {'command':>8} {'plain s':>9} {'gz s':>9} {'gz/plain':>9} {'gz us/entry':>12}")
        for n in [int(x) for x in args.entries.split(",")]:
            plain, gz = make(d, n)
            for command in (["verify"], ["rewrite", "--to", "registry.example/x", "--diff"]):
                a = timed([args.ferry, *command[:1], plain, *command[1:]], args.rounds)
                b = timed([args.ferry, *command[:1], gz, *command[1:]], args.rounds)
                print(f"{n:>8} {command[0]:>8} {a:>9.2f} {b:>9.2f} {b / a:>9.2f} {b / n * 1e6:>12.1f}")
            os.remove(plain)
            os.remove(gz)


if __name__ == "__main__":
    main()
