#!/usr/bin/env python3
"""What reading a compressed bundle for push costs: `push --dry-run` (open and plan) of a
`.tar.gz` bundle holding one image with an incompressible layer, for each ferry binary
given, side by side in one run, best of --rounds; with --registry, a real push too (each
run under a prefix of its own, so every blob is uploaded).

Since issue 28 push streams a compressed bundle once to read its manifests and then
decompresses only what its images use; compare a build before that change with one after:

    python3 benches/compressed_push.py --ferry OLD/ferry,target/release/ferry \
        [--mb 300] [--registry 127.0.0.1:5000]
"""

import argparse
import hashlib
import io
import json
import os
import random
import subprocess
import tarfile
import tempfile
import time


def make(path, mb):
    files = {}

    def put(b):
        d = hashlib.sha256(b).hexdigest()
        files["blobs/sha256/" + d] = b
        return {"digest": "sha256:" + d, "size": len(b)}

    layer = put(os.urandom(mb << 20))
    cfg = put(b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cfg},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
    }).encode()
    md = put(manifest)
    name = "quay.io/bench/app:1"
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **md,
                       "annotations": {"org.opencontainers.image.ref.name": name}}],
    }).encode()
    size = layer["size"] + cfg["size"] + md["size"]
    meta = {
        "format": "ferry.bundle/v1", "ferry_version": "0.1.0", "created": "1970-01-01T00:00:00Z",
        "images": [{"source": name, "digest": md["digest"],
                    "media_type": "application/vnd.oci.image.manifest.v1+json",
                    "platforms": [], "size": size}],
        "manifests": [],
        "totals": {"images": 1, "blobs": 3, "blob_bytes": size, "manifest_files": 0},
        "index_json": "sha256:" + hashlib.sha256(index).hexdigest(),
    }
    entries = [("ferry.json", json.dumps(meta).encode()),
               ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
               ("index.json", index)] + sorted(files.items())
    # A `.gz` name gives a gzip bundle (level 1, as fast as it gets), any other a plain tar.
    options = {"mode": "w:gz", "compresslevel": 1} if path.endswith(".gz") else {"mode": "w"}
    with tarfile.open(path, format=tarfile.GNU_FORMAT, **options) as t:
        for n, d in entries:
            info = tarfile.TarInfo(n)
            info.size = len(d)
            t.addfile(info, io.BytesIO(d))


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {out.returncode}: {out.stderr.decode()[:400]}")
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ferry", default="target/release/ferry", help="binaries, comma-separated")
    p.add_argument("--mb", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--registry", default=None)
    p.add_argument("--workdir", default=None)
    args = p.parse_args()
    binaries = args.ferry.split(",")
    with tempfile.TemporaryDirectory(dir=args.workdir) as d:
        bundle = os.path.join(d, "bundle.tar.gz")
        make(bundle, args.mb)
        print(f"{args.mb} MB bundle; best of {args.rounds}")
        for b in binaries:
            dry = min(timed([b, "push", bundle, "--to", "127.0.0.1:1/x", "--dry-run"])
                      for _ in range(args.rounds))
            line = f"{b}: push --dry-run {dry:.2f} s"
            if args.registry:
                real = min(timed([b, "push", bundle, "--to",
                                  f"{args.registry}/bench-{random.getrandbits(32):08x}"])
                           for _ in range(args.rounds))
                line += f", push {real:.2f} s"
            print(line)


if __name__ == "__main__":
    main()
