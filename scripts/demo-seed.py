#!/usr/bin/env python3
"""Demo helper: starts an "upstream" and a "private" registry on loopback, seeds upstream with
small synthetic two-platform images under the names the given image list holds (mapped as
`--source-mirror HOST=UPSTREAM` maps them), prints `UPSTREAM PRIVATE`, and keeps both
registries running until stdin closes.

usage: demo-seed.py WORKDIR IMAGES_FILE
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ocilayout import Layout, start_registry  # noqa: E402


def split(ref):
    """docker.io/library/redis:7 -> ("docker.io", "library/redis", "7")"""
    name, tag = ref.rsplit(":", 1)
    host, repo = name.split("/", 1)
    return host, repo, tag


def main():
    work, images = sys.argv[1], sys.argv[2]
    up_p, upstream = start_registry(work, "upstream")
    pr_p, private = start_registry(work, "private")
    try:
        lay = Layout(os.path.join(work, "layout"))
        refs = [l.strip() for l in open(images) if l.strip() and "@" not in l]
        for i, ref in enumerate(refs):
            host, repo, tag = split(ref)
            children = []
            for arch in ("amd64", "arm64"):
                m = lay.image("linux", arch, [os.urandom(48 << 10), f"{ref} {arch}".encode()])
                m["platform"] = {"os": "linux", "architecture": arch}
                children.append(m)
            name = f"img{i}"
            lay.tag(lay.index(children), name)
            subprocess.run(["skopeo", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "-q",
                            f"oci:{lay.d}:{name}", f"docker://{upstream}/{repo}:{tag}"], check=True)
        print(upstream, private, flush=True)
        sys.stdin.read()
    finally:
        up_p.terminate()
        pr_p.terminate()


if __name__ == "__main__":
    main()
