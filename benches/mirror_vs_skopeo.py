#!/usr/bin/env python3
"""Registry-to-registry copy: ferry mirror vs skopeo copy --all, side by side in one run.

Seeds a loopback Distribution registry with IMAGES multi-arch images (3 platforms, a base
layer per platform shared by every image, one unique layer per image and platform), then:
  1. skopeo copy --all of each image (blob-info cache deleted first, fresh repositories);
  2. ferry mirror of the same images into fresh repositories;
  3. ferry mirror again, everything present;
  4. peak RSS of ferry mirror copying one image with a single LAYER_MB layer.
Prints the ratios. Needs docker-registry and skopeo (bash .ci/run installs them).

usage: benches/mirror_vs_skopeo.py [--images 12] [--unique-mb 13] [--base-mb 20] [--layer-mb 1024] [--jobs 8]
"""
import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SKOPEO_CACHE = "/var/lib/containers/cache/blob-info-cache-v1.boltdb"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_registry(workdir, name):
    d = os.path.join(workdir, name)
    os.makedirs(d)
    port = free_port()
    cfg = os.path.join(d, "config.yml")
    with open(cfg, "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n"
                f"    rootdirectory: {d}/data\nhttp:\n  addr: 127.0.0.1:{port}\n")
    p = subprocess.Popen(["docker-registry", "serve", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    raise SystemExit("registry did not start")


class Layout:
    def __init__(self, d):
        self.d = d
        os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(d, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')
        self.refs = []

    def blob(self, media_type, data):
        h = hashlib.sha256(data).hexdigest()
        path = os.path.join(self.d, "blobs", "sha256", h)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + h, "size": len(data)}

    def image(self, os_, arch, layers):
        ls = [self.blob("application/vnd.oci.image.layer.v1.tar+gzip", l) for l in layers]
        cfg = json.dumps({"architecture": arch, "os": os_, "config": {},
                          "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in ls]}}).encode()
        c = self.blob("application/vnd.oci.image.config.v1+json", cfg)
        m = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": c, "layers": ls}).encode()
        return self.blob(OCI_MANIFEST, m)

    def index(self, children):
        m = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
        return self.blob(OCI_INDEX, m)

    def tag(self, desc, name):
        d = dict(desc)
        d["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.refs.append(d)
        with open(os.path.join(self.d, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": self.refs}, f)


def run(cmd, **kw):
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return r


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clear_skopeo_cache():
    try:
        os.remove(SKOPEO_CACHE)
    except FileNotFoundError:
        pass


def run_measured(cmd):
    """Runs cmd; returns (wall s, cpu s, peak RSS MiB). The peak comes from the child's own
    VmHWM, sampled until it exits: ru_maxrss would carry this script's RSS across exec."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    hwm = 0
    while True:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except OSError:
            pass
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.01)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return time.monotonic() - t, usage.ru_utime + usage.ru_stime, hwm / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--unique-mb", type=int, default=13)
    ap.add_argument("--base-mb", type=int, default=20)
    ap.add_argument("--layer-mb", type=int, default=1024)
    ap.add_argument("--jobs", type=int, default=8)
    a = ap.parse_args()
    for tool in ("docker-registry", "skopeo"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: run bash .ci/run first")
    run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    ferry = os.path.join(ROOT, "target", "release", "ferry")

    work = tempfile.mkdtemp(prefix="ferry-bench-")
    procs = []
    try:
        src_p, src = start_registry(work, "src")
        dst_p, dst = start_registry(work, "dst")
        procs += [src_p, dst_p]
        platforms = [("linux", "amd64"), ("linux", "arm64"), ("linux", "s390x")]
        bases = {arch: os.urandom(a.base_mb << 20) for _, arch in platforms}
        lay = Layout(os.path.join(work, "layout"))
        names = []
        for i in range(a.images):
            children = []
            for os_, arch in platforms:
                m = lay.image(os_, arch, [bases[arch], os.urandom(a.unique_mb << 20)])
                m["platform"] = {"os": os_, "architecture": arch}
                children.append(m)
            name = f"img{i:02d}"
            lay.tag(lay.index(children), name)
            names.append(name)
        total = sum(os.path.getsize(os.path.join(lay.d, "blobs", "sha256", f))
                    for f in os.listdir(os.path.join(lay.d, "blobs", "sha256")))
        print(f"seeding {a.images} images x {len(platforms)} platforms, {total / 1e6:.0f} MB of unique blobs")
        for n in names:
            run(["skopeo", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "-q",
                 f"oci:{lay.d}:{n}", f"docker://{src}/bench/{n}:1"])
        shutil.rmtree(lay.d)

        clear_skopeo_cache()
        regs_before = cpu_seconds(src_p.pid) + cpu_seconds(dst_p.pid)
        t = time.monotonic()
        for n in names:
            run(["skopeo", "copy", "--all", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                 f"docker://{src}/bench/{n}:1", f"docker://{dst}/skopeo/bench/{n}:1"])
        t_skopeo = time.monotonic() - t
        regs_skopeo = cpu_seconds(src_p.pid) + cpu_seconds(dst_p.pid) - regs_before

        images = os.path.join(work, "images.txt")
        with open(images, "w") as f:
            f.write("".join(f"{src}/bench/{n}:1\n" for n in names))
        cmd = [ferry, "mirror", "--images", images, "--to", f"{dst}/ferry", "--jobs", str(a.jobs)]
        regs_before = cpu_seconds(src_p.pid) + cpu_seconds(dst_p.pid)
        t_ferry, cpu_ferry, rss_ferry = run_measured(cmd)
        regs_ferry = cpu_seconds(src_p.pid) + cpu_seconds(dst_p.pid) - regs_before
        t_again, _, _ = run_measured(cmd)

        for n in names[:2]:
            a_raw = run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{src}/bench/{n}:1"], capture_output=True).stdout
            b_raw = run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{dst}/ferry/bench/{n}:1"], capture_output=True).stdout
            assert a_raw == b_raw, f"{n}: manifest differs"

        print(f"skopeo copy --all, {a.images} images: {t_skopeo:.2f} s   (registries' CPU {regs_skopeo:.2f} s)")
        print(f"ferry mirror, same images:         {t_ferry:.2f} s   -> ferry is {t_skopeo / t_ferry:.2f}x faster (target >= 3)")
        print(f"  ferry CPU {cpu_ferry:.2f} s, registries' CPU {regs_ferry:.2f} s, peak RSS {rss_ferry:.0f} MiB")
        print(f"ferry mirror again, all present:   {t_again:.2f} s   -> {100 * t_again / t_ferry:.1f}% of the first run (target <= 5%)")

        big = Layout(os.path.join(work, "big"))
        with open(os.path.join(work, "big.bin"), "wb") as f:
            for _ in range(a.layer_mb):
                f.write(os.urandom(1 << 20))
        with open(os.path.join(work, "big.bin"), "rb") as f:
            big.tag(big.image("linux", "amd64", [f.read()]), "big")
        run(["skopeo", "copy", "--preserve-digests", "--dest-tls-verify=false", "-q", f"oci:{big.d}:big", f"docker://{src}/bench/big:1"])
        shutil.rmtree(big.d)
        os.remove(os.path.join(work, "big.bin"))
        big_list = os.path.join(work, "big.txt")
        with open(big_list, "w") as f:
            f.write(f"{src}/bench/big:1\n")
        _, _, rss = run_measured([ferry, "mirror", "--images", big_list, "--to", f"{dst}/ferry"])
        print(f"ferry mirror of one {a.layer_mb} MiB layer: peak RSS {rss:.0f} MiB (target <= 100)")
    finally:
        for p in procs:
            p.terminate()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
