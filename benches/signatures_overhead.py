#!/usr/bin/env python3
"""What carrying signatures costs: `ferry mirror` and `ferry bundle` with their default
(signatures, attestations, SBOMs and referrers looked for and carried) against the same
command with `--no-signatures`, side by side in one run on the same loopback registries.

Seeds IMAGES three-platform images, each signed once the way cosign does it (a manifest
tagged `sha256-<index hex>.sig` holding a simple-signing payload), then runs each pair
ROUNDS times, the order alternating, into fresh repositories and caches, and compares the
medians. Target (issue 15): at most 5% more time with signatures. Checks every signature
arrived, digest unchanged.

    python3 benches/signatures_overhead.py [--images 12] [--rounds 5] [--workdir /dev/shm]
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "benches"))
from ocilayout import Layout  # noqa: E402
from mirror_vs_skopeo import (PLATFORMS, layout_images, median, pairs, registries,  # noqa: E402
                              rounds_text, run, run_measured)

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"


def raw(image):
    return run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{image}"],
               capture_output=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--unique-mb", type=int, default=13)
    ap.add_argument("--base-mb", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--src-registry", help="HOST:PORT of a running source registry")
    ap.add_argument("--dst-registry", help="HOST:PORT of a running target registry")
    a = ap.parse_args()
    run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    ferry = os.path.join(ROOT, "target", "release", "ferry")
    work = tempfile.mkdtemp(prefix="ferry-sig-bench-", dir=a.workdir)
    procs = []
    try:
        src, dst = registries(work, a.src_registry, a.dst_registry, procs)
        # Every run writes under its own prefix: registries kept between runs see each apart.
        dst_run = f"{dst}/{os.path.basename(work).lower()}"
        lay = Layout(os.path.join(work, "layout"))
        names, signatures = [], []
        for name, index in layout_images(lay, a.images, a.unique_mb, a.base_mb):
            names.append(name)
            payload = json.dumps({"critical": {
                "identity": {"docker-reference": f"{src}/bench/{name}"},
                "image": {"docker-manifest-digest": index["digest"]},
                "type": "cosign container image signature"}, "optional": None}).encode()
            layer = lay.blob(SIMPLE_SIGNING, payload)
            layer["annotations"] = {"dev.cosignproject.cosign/signature": "MEUCIQ" + "A" * 90}
            config = lay.blob("application/vnd.oci.image.config.v1+json",
                              json.dumps({"architecture": "", "os": "", "rootfs": {
                                  "type": "layers", "diff_ids": [
                                      "sha256:" + hashlib.sha256(payload).hexdigest()]}}).encode())
            sig = lay.blob("application/vnd.oci.image.manifest.v1+json", json.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config, "layers": [layer]}).encode())
            tag = "sha256-" + index["digest"].split(":", 1)[1] + ".sig"
            lay.tag(sig, f"{name}-sig")
            signatures.append((name, tag))
        for name, tag in signatures:
            run(["skopeo", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "-q",
                 f"oci:{lay.d}:{name}", f"docker://{src}/bench/{name}:1"])
            run(["skopeo", "copy", "--preserve-digests", "--dest-tls-verify=false", "-q",
                 f"oci:{lay.d}:{name}-sig", f"docker://{src}/bench/{name}:{tag}"])
        shutil.rmtree(lay.d)
        images = os.path.join(work, "images.txt")
        with open(images, "w") as f:
            f.write("".join(f"{src}/bench/{n}:1\n" for n in names))
        print(f"{a.images} images x {len(PLATFORMS)} platforms, one cosign signature each")

        def mirror(extra, prefix):
            return lambda r: run_measured([ferry, "mirror", "--images", images, "--to",
                                           f"{dst_run}/{prefix}{r}", "--jobs", str(a.jobs), *extra])

        bare, signed = pairs(a.rounds, procs, mirror(["--no-signatures"], "bare"),
                             mirror([], "signed"))
        for name, tag in signatures:
            assert raw(f"{src}/bench/{name}:{tag}") == raw(f"{dst_run}/signed0/bench/{name}:{tag}"), name
        report("mirror", bare, signed, bool(procs))

        def bundle(extra, prefix):
            def one(r):
                out = os.path.join(work, f"{prefix}{r}.tar")
                cache = os.path.join(work, f"{prefix}-cache{r}")
                result = run_measured([ferry, "bundle", "--images", images, "-o", out,
                                       "--cache", cache, "--jobs", str(a.jobs), *extra])
                os.remove(out)
                shutil.rmtree(cache)
                return result
            return one

        bare, signed = pairs(a.rounds, procs, bundle(["--no-signatures"], "bare"),
                             bundle([], "signed"))
        report("bundle", bare, signed, bool(procs))
    finally:
        for p in procs:
            p.terminate()
        shutil.rmtree(work, ignore_errors=True)


def report(step, bare, signed, local):
    b, s = median(bare), median(signed)
    # Each round runs both, one right after the other: the median of the rounds' differences
    # cancels the drift of a shared machine that the medians of each side still carry.
    paired = statistics.median(y.wall - x.wall for x, y in zip(bare, signed))
    print(f"ferry {step} --no-signatures: {b:.2f} s (median of {rounds_text(bare)})")
    print(f"ferry {step}, signatures:      {s:.2f} s (median of {rounds_text(signed)})")
    print(f"  -> signatures add {100 * (s - b) / b:+.1f}% by medians, {100 * paired / b:+.1f}% "
          f"by the median of paired rounds ({1000 * paired:+.0f} ms) (target <= 5%)")
    # Where the time goes: the registries serve every request for a signature (about ten:
    # read its manifest and two blobs, write them, list the tags) on the same cores.
    cores = os.cpu_count()
    parts = (("ferry's CPU", lambda c: c.client_cpu), ("registries' CPU", lambda c: c.regs),
             (f"floor (all CPU / {cores} cores)", lambda c: (c.client_cpu + c.regs) / cores))
    if not local:  # registries elsewhere: their CPU is not seen from here
        parts = parts[:1]
    for label, f in parts:
        x, y = (statistics.median(f(c) for c in side) for side in (bare, signed))
        print(f"  {label}: {x:.2f} s -> {y:.2f} s ({100 * (y - x) / x:+.1f}%)")


if __name__ == "__main__":
    sys.exit(main())
