#!/usr/bin/env python3
"""ferry vs skopeo on the same loopback registries, side by side in one run: registry to
registry (mirror), registry to archive (bundle), archive to registry (push).

Seeds a loopback Distribution registry with IMAGES multi-arch images (3 platforms, a base
layer per platform shared by every image, one unique layer per image and platform), then
compares, ROUNDS times each with the order of the tools alternating, into fresh repositories
and caches (skopeo's blob-info cache deleted before each of its runs), by the medians:
  1. skopeo copy --all of each image vs ferry mirror of all of them; then ferry mirror again,
     everything present;
  2. skopeo copy --all to one oci-archive per image vs ferry bundle of all of them, with the
     sizes: ferry's one tar against skopeo's archives and the unique blobs;
  3. skopeo copy --all from those archives vs ferry push of the bundle;
  4. peak RSS of ferry mirror copying one image with a single LAYER_MB layer.
Prints the ratios. Needs docker-registry and skopeo (bash .ci/run installs them).

Both tools share the machine's cores with the two registries, so the script also prints each
client's own CPU and the floor no client can beat here: the registries' CPU plus the client's,
spread over every core. --workdir /dev/shm keeps the registries' storage in memory, to take the
disk out of the comparison. --src-registry/--dst-registry HOST:PORT use registries running
elsewhere (another machine: the registries then take no CPU from the clients); every run writes
under its own repository prefix, so runs against the same registries do not see each other.

usage: benches/mirror_vs_skopeo.py [--images 12] [--unique-mb 13] [--base-mb 20] [--layer-mb 1024]
                                   [--jobs 8] [--rounds 3] [--workdir DIR] [--src-registry H] [--dst-registry H]
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from ocilayout import Layout, start_registry  # noqa: E402
SKOPEO_CACHE = "/var/lib/containers/cache/blob-info-cache-v1.boltdb"


def run(cmd, **kw):
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return r


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Clock:
    """Wall time, the waited-for children's CPU and the registries' CPU over a block."""

    def __init__(self, registries):
        self.registries = registries

    def __enter__(self):
        self.t, self.cpu = time.monotonic(), children_cpu()
        self.regs = sum(cpu_seconds(p.pid) for p in self.registries)
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.t
        self.client_cpu = children_cpu() - self.cpu
        self.regs = sum(cpu_seconds(p.pid) for p in self.registries) - self.regs


def floor_line(label, wall, client_cpu, regs_cpu):
    cores = os.cpu_count()
    floor = (client_cpu + regs_cpu) / cores
    return (f"  {label}: client CPU {client_cpu:.2f} s + registries' CPU {regs_cpu:.2f} s over {cores} cores "
            f"-> floor {floor:.2f} s; wall {wall:.2f} s is {wall / floor:.2f}x the floor")


def pairs(rounds, registries, skopeo, ferry, after=lambda r: None):
    """Runs skopeo(r) and ferry(r) for each round, alternating which goes first; returns the
    two lists of Clocks (ferry's also carry the peak RSS)."""
    sk, fe = [], []

    def one_skopeo(r):
        with Clock(registries) as c:
            skopeo(r)
        sk.append(c)

    def one_ferry(r):
        with Clock(registries) as c:
            _, _, c.rss = ferry(r)
        fe.append(c)

    for r in range(rounds):
        for step in ((one_skopeo, one_ferry) if r % 2 == 0 else (one_ferry, one_skopeo)):
            step(r)
        after(r)
    return sk, fe


def median(clocks):
    return statistics.median(c.wall for c in clocks)


def rounds_text(clocks):
    return " ".join(f"{c.wall:.2f}" for c in clocks)


def print_cpu(sk, fe, local):
    """Means over the rounds: each client's CPU, the registries' and the floor they make."""
    mean = lambda cs, f: sum(f(c) for c in cs) / len(cs)  # noqa: E731
    sk_cpu, fe_cpu = mean(sk, lambda c: c.client_cpu), mean(fe, lambda c: c.client_cpu)
    print(f"  client CPU: skopeo {sk_cpu:.2f} s, ferry {fe_cpu:.2f} s ({sk_cpu / fe_cpu:.1f}x less)")
    if local:
        sk_regs, fe_regs = mean(sk, lambda c: c.regs), mean(fe, lambda c: c.regs)
        print(floor_line("skopeo", median(sk), sk_cpu, sk_regs))
        print(floor_line("ferry ", median(fe), fe_cpu, fe_regs))
        print(f"  a client using no CPU at all would be {median(sk) / (fe_regs / os.cpu_count()):.2f}x "
              f"faster than skopeo here")


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


PLATFORMS = [("linux", "amd64"), ("linux", "arm64"), ("linux", "s390x")]


def registries(work, src, dst, procs):
    """The source and target registries: each one given (HOST:PORT), else one started here
    with its storage under WORK (its process appended to PROCS)."""
    hosts = []
    for host, name in ((src, "src"), (dst, "dst")):
        if not host:
            p, host = start_registry(work, name)
            procs.append(p)
        hosts.append(host)
    return hosts


def layout_images(lay, count, unique_mb, base_mb):
    """COUNT images of the PLATFORMS in the OCI layout LAY, tagged imgNN: a base layer per
    platform shared by every image, one unique layer per image and platform. Returns each
    one's (tag, index descriptor)."""
    bases = {arch: os.urandom(base_mb << 20) for _, arch in PLATFORMS}
    out = []
    for i in range(count):
        children = []
        for os_, arch in PLATFORMS:
            m = lay.image(os_, arch, [bases[arch], os.urandom(unique_mb << 20)])
            m["platform"] = {"os": os_, "architecture": arch}
            children.append(m)
        name = f"img{i:02d}"
        index = lay.index(children)
        lay.tag(index, name)
        out.append((name, index))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--unique-mb", type=int, default=13)
    ap.add_argument("--base-mb", type=int, default=20)
    ap.add_argument("--layer-mb", type=int, default=1024)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3, help="runs of each comparison, order alternating")
    ap.add_argument("--workdir", default=None, help="where the registries keep their storage")
    ap.add_argument("--src-registry", help="HOST:PORT of a running source registry")
    ap.add_argument("--dst-registry", help="HOST:PORT of a running target registry")
    a = ap.parse_args()
    for tool in ("docker-registry", "skopeo"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: run bash .ci/run first")
    run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    ferry = os.path.join(ROOT, "target", "release", "ferry")

    work = tempfile.mkdtemp(prefix="ferry-bench-", dir=a.workdir)
    procs = []
    try:
        src, dst = registries(work, a.src_registry, a.dst_registry, procs)
        insecure = [f for h in (a.src_registry, a.dst_registry) if h for f in ("--insecure-registry", h)]
        local = len(procs) == 2
        run_id = f"run{os.getpid()}"
        dst = f"{dst}/{run_id}"
        lay = Layout(os.path.join(work, "layout"))
        names = [name for name, _ in layout_images(lay, a.images, a.unique_mb, a.base_mb)]
        total = sum(os.path.getsize(os.path.join(lay.d, "blobs", "sha256", f))
                    for f in os.listdir(os.path.join(lay.d, "blobs", "sha256")))
        print(f"seeding {a.images} images x {len(PLATFORMS)} platforms, {total / 1e6:.0f} MB of unique blobs")
        for n in names:
            run(["skopeo", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "-q",
                 f"oci:{lay.d}:{n}", f"docker://{src}/bench/{n}:1"])
        shutil.rmtree(lay.d)

        images = os.path.join(work, "images.txt")
        with open(images, "w") as f:
            f.write("".join(f"{src}/bench/{n}:1\n" for n in names))

        # Each comparison runs ROUNDS times, the order of the two tools alternating (the
        # second of a pair runs on a machine the first just filled with dirty pages), into
        # fresh repositories and caches; the medians are compared.
        def skopeo_mirror(r):
            clear_skopeo_cache()
            for n in names:
                run(["skopeo", "copy", "--all", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                     f"docker://{src}/bench/{n}:1", f"docker://{dst}/skopeo{r}/bench/{n}:1"])

        def ferry_mirror(r):
            return run_measured([ferry, "mirror", "--images", images, "--to", f"{dst}/ferry{r}",
                                 "--jobs", str(a.jobs), *insecure])

        sk, fe = pairs(a.rounds, procs, skopeo_mirror, ferry_mirror)
        rss_ferry = max(c.rss for c in fe)
        t_again, _, _ = run_measured([ferry, "mirror", "--images", images, "--to", f"{dst}/ferry0",
                                      "--jobs", str(a.jobs), *insecure])
        for n in names[:2]:
            a_raw = run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{src}/bench/{n}:1"], capture_output=True).stdout
            b_raw = run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{dst}/ferry0/bench/{n}:1"], capture_output=True).stdout
            assert a_raw == b_raw, f"{n}: manifest differs"
        t_skopeo, t_ferry = median(sk), median(fe)
        print(f"skopeo copy --all, {a.images} images: {t_skopeo:.2f} s   (median of {rounds_text(sk)})")
        print(f"ferry mirror, same images:         {t_ferry:.2f} s   (median of {rounds_text(fe)})")
        print(f"  -> ferry is {t_skopeo / t_ferry:.2f}x faster (target >= 3), peak RSS {rss_ferry:.0f} MiB")
        print_cpu(sk, fe, local)
        print(f"ferry mirror again, all present:   {t_again:.2f} s   -> {100 * t_again / t_ferry:.1f}% of the first run (target <= 5%)")

        def skopeo_bundle(r):
            clear_skopeo_cache()
            for n in names:
                archive = os.path.join(work, f"sk{r}-{n}.tar")
                run(["skopeo", "copy", "--all", "-q", "--src-tls-verify=false",
                     f"docker://{src}/bench/{n}:1", f"oci-archive:{archive}:{n}"])

        def ferry_bundle(r):
            return run_measured([ferry, "bundle", "--images", images, "-o", os.path.join(work, f"ferry{r}.tar"),
                                 "--cache", os.path.join(work, f"cache{r}"), "--jobs", str(a.jobs), *insecure])

        def cleanup_bundles(r):
            if r == 0:
                return
            for n in names:
                os.remove(os.path.join(work, f"sk{r}-{n}.tar"))
            os.remove(os.path.join(work, f"ferry{r}.tar"))
            shutil.rmtree(os.path.join(work, f"cache{r}"))

        sk, fe = pairs(a.rounds, procs, skopeo_bundle, ferry_bundle, after=cleanup_bundles)
        bundle = os.path.join(work, "ferry0.tar")
        sk_size = sum(os.path.getsize(os.path.join(work, f"sk0-{n}.tar")) for n in names)
        meta = json.loads(run([ferry, "inspect", bundle, "-o", "json"], capture_output=True).stdout)
        unique = meta["ferry"]["totals"]["blob_bytes"]
        size = os.path.getsize(bundle)
        t_sk_bundle, t_bundle = median(sk), median(fe)
        print(f"skopeo copy --all to oci-archive, {a.images} archives: {t_sk_bundle:.2f} s (median of {rounds_text(sk)}), "
              f"{sk_size / 1e6:.1f} MB")
        print(f"ferry bundle, one tar:              {t_bundle:.2f} s (median of {rounds_text(fe)})")
        print(f"  -> {t_sk_bundle / t_bundle:.2f}x faster (target >= 3), "
              f"{size / 1e6:.1f} MB = unique blobs {unique / 1e6:.1f} MB + {100 * (size - unique) / unique:.2f}% (target < 1%), "
              f"peak RSS {max(c.rss for c in fe):.0f} MiB")

        def skopeo_push(r):
            clear_skopeo_cache()
            for n in names:
                run(["skopeo", "copy", "--all", "-q", "--dest-tls-verify=false",
                     f"oci-archive:{os.path.join(work, f'sk0-{n}.tar')}:{n}", f"docker://{dst}/skopeo-push{r}/bench/{n}:1"])

        def ferry_push(r):
            return run_measured([ferry, "push", bundle, "--to", f"{dst}/ferry-push{r}", "--jobs", str(a.jobs), *insecure])

        sk, fe = pairs(a.rounds, procs, skopeo_push, ferry_push)
        t_sk_push, t_push = median(sk), median(fe)
        print(f"skopeo copy --all from the archives: {t_sk_push:.2f} s (median of {rounds_text(sk)})")
        print(f"ferry push of the bundle:            {t_push:.2f} s (median of {rounds_text(fe)})")
        print(f"  -> {t_sk_push / t_push:.2f}x faster (target >= 3), peak RSS {max(c.rss for c in fe):.0f} MiB")
        print_cpu(sk, fe, local)

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
        _, _, rss = run_measured([ferry, "mirror", "--images", big_list, "--to", f"{dst}/ferry", *insecure])
        print(f"ferry mirror of one {a.layer_mb} MiB layer: peak RSS {rss:.0f} MiB (target <= 100)")
    finally:
        for p in procs:
            p.terminate()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
