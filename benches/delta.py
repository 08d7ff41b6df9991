#!/usr/bin/env python3
"""Delta bundles over a chain of three releases, and a push cut off and run again.

A synthetic product of IMAGES single-platform images on a loopback Distribution registry:
one BASE_MB base layer shared by every image, one IMAGE_MB layer per image. Release 1 is the
first; each later release changes one image's own layer (a new tag of that image). For each
release the vendor makes the full bundle and (from release 2 on) a delta with `bundle
--since` the site's receipt; the site pushes the delta to its registry, another target gets
the full bundle, and every image is compared byte for byte with `skopeo inspect --raw` on
both. Printed per release: full bundle bytes, delta bytes, the bytes of layers no earlier
release had, and delta / new-layer bytes (the goal: at most 1.01 plus the manifests).

Then a push of the last full bundle is killed part way (SIGKILL once the registry holds
about half of its bytes) and run again: printed, what the second run copied against what it
found in place, and against the whole.

usage: benches/delta.py [--images 6] [--base-mb 40] [--image-mb 12] [--workdir DIR] [--ferry PATH]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from ocilayout import Layout, start_registry  # noqa: E402


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return r


def push_image(work, host, name, tag, layers):
    lay = Layout(os.path.join(work, "layouts", f"{name}-{tag}"))
    lay.tag(lay.image("linux", "amd64", layers), tag)
    run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{lay.d}:{tag}", f"docker://{host}/product/{name}:{tag}"])


def manifest(path, images):
    containers = "".join(f"        - name: c{i}\n          image: {img}\n" for i, img in enumerate(images))
    with open(path, "w") as f:
        f.write("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: product}\nspec:\n  template:\n"
                f"    spec:\n      containers:\n{containers}")


def du(path):
    total = 0
    for d, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
    return total


def raw(image):
    return run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{image}"]).stdout


def releases(work, host, args):
    """The three releases' image lists, and per release the bytes of layers new in it."""
    base = os.urandom(args.base_mb << 20)
    own = {i: os.urandom(args.image_mb << 20) for i in range(args.images)}
    tags = {i: "r1" for i in range(args.images)}
    for i in range(args.images):
        push_image(work, host, f"img{i}", "r1", [base, own[i]])
    out = [([f"{host}/product/img{i}:r1" for i in range(args.images)], len(base) + sum(len(v) for v in own.values()))]
    for k, changed in ((2, 0), (3, 1)):
        own[changed] = os.urandom(args.image_mb << 20)
        tags[changed] = f"r{k}"
        push_image(work, host, f"img{changed}", f"r{k}", [base, own[changed]])
        out.append(([f"{host}/product/img{i}:{tags[i]}" for i in range(args.images)], len(own[changed])))
    return out


def resumed_push(ferry, bundle, target, storage):
    """Times a whole push (to TARGET-whole), then kills one to TARGET half way through that
    time and runs it again."""
    t = time.monotonic()
    run([ferry, "push", bundle, "--to", target + "-whole", "-j", "1"])
    whole_seconds = time.monotonic() - t
    before = du(storage)
    p = subprocess.Popen([ferry, "push", bundle, "--to", target, "-j", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(whole_seconds / 2)
    p.send_signal(signal.SIGKILL)
    p.wait()
    landed = du(storage) - before
    r = run([ferry, "push", bundle, "--to", target, "-o", "json"])
    last = json.loads(r.stdout.strip().splitlines()[-1])
    return landed, last


def blob_bytes(ferry, bundle):
    shown = json.loads(run([ferry, "inspect", "-o", "json", bundle]).stdout)
    return shown["ferry"]["totals"]["blob_bytes"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--base-mb", type=int, default=40)
    ap.add_argument("--image-mb", type=int, default=12)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--ferry", default=os.path.join(ROOT, "target", "release", "ferry"))
    args = ap.parse_args()
    if not os.path.exists(args.ferry):
        run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    work = tempfile.mkdtemp(prefix="ferry-delta-", dir=args.workdir)
    procs = []
    try:
        p, src = start_registry(work, "src")
        procs.append(p)
        p, dst = start_registry(work, "dst")
        procs.append(p)
        chain = releases(work, src, args)
        cache = os.path.join(work, "cache")
        receipts, delivered = [], []
        print(f"{args.images} images, base {args.base_mb} MB shared, {args.image_mb} MB own layer each")
        print(f"{'release':8} {'full bytes':>12} {'delta bytes':>12} {'new layers':>12} {'delta/new':>9}  same images")
        for k, (images, new_bytes) in enumerate(chain, start=1):
            m = os.path.join(work, f"r{k}.yaml")
            manifest(m, images)
            full = os.path.join(work, f"full-r{k}.tar")
            run([args.ferry, "bundle", m, "-o", full, "--cache", cache])
            if k == 1:
                sent = full
            else:
                receipt = os.path.join(work, f"receipt-r{k - 1}.json")
                run([args.ferry, "receipt", *sum((["--from-bundle", b] for b in delivered), []), "-o", receipt])
                receipts.append(receipt)
                sent = os.path.join(work, f"delta-r{k}.tar")
                run([args.ferry, "bundle", m, "-o", sent, "--cache", cache, "--since", receipt])
            run([args.ferry, "verify", sent])
            run([args.ferry, "push", sent, "--to", f"{dst}/site"])
            run([args.ferry, "push", full, "--to", f"{dst}/full-r{k}"])
            same = all(raw(f"{dst}/site/{i.split('/', 1)[1]}") == raw(f"{dst}/full-r{k}/{i.split('/', 1)[1]}")
                       for i in images)
            delivered.append(sent)
            size = os.path.getsize(sent)
            ratio = f"{size / new_bytes:9.4f}" if k > 1 else f"{'-':>9}"
            print(f"r{k:<7} {os.path.getsize(full):12,} {size if k > 1 else 0:12,} {new_bytes:12,} {ratio}  {same}")
        full = os.path.join(work, f"full-r{len(chain)}.tar")
        landed, last = resumed_push(args.ferry, full, f"{dst}/resume", os.path.join(work, "dst", "data"))
        whole = blob_bytes(args.ferry, full)
        print(f"push killed half way: {landed:,} bytes had landed; run again: copied {last['bytes_copied']:,} "
              f"of {whole:,} (copied + landed)/whole {(last['bytes_copied'] + landed) / whole:.3f}, "
              f"{last['blobs_copied']} blobs copied, {last['blobs_skipped']} found in place")
    finally:
        for p in procs:
            p.terminate()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
