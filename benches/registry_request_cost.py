#!/usr/bin/env python3
"""What one request costs the registry: the CPU a loopback Distribution (Debian's
docker-registry, as the other benches start it) spends per request of each kind ferry sends
when it carries a signature, measured from the registry process's own CPU time over N
requests on one kept-alive connection.

On a machine whose cores the registries share with the client, this is the floor under the
cost of carrying signatures (benches/signatures_overhead.py): every signature needs about ten
of these requests, whatever the client.

    python3 benches/registry_request_cost.py [--requests 200] [--workdir /dev/shm]
"""
import argparse
import hashlib
import http.client
import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from ocilayout import start_registry  # noqa: E402

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Client:
    def __init__(self, host):
        name, port = host.split(":")
        self.conn = http.client.HTTPConnection(name, int(port))

    def send(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        resp.read()
        return resp

    def upload(self, repo, blob):
        """POST then PUT: what Distribution 2.8 needs for a blob (no single-POST upload)."""
        resp = self.send("POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
        assert resp.status == 202, resp.status
        location = resp.getheader("Location")
        location = location[location.index("/v2/"):]
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        sep = "&" if "?" in location else "?"
        resp = self.send("PUT", f"{location}{sep}digest={digest}", body=blob,
                         headers={"Content-Type": "application/octet-stream",
                                  "Content-Length": str(len(blob))})
        assert resp.status == 201, resp.status
        return {"digest": digest, "size": len(blob)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ferry-reqcost-", dir=a.workdir)
    proc, host = start_registry(work, "reg")
    try:
        c, n, repo = Client(host), a.requests, "cost/r"
        config = c.upload(repo, b'{"architecture":"","os":""}')
        layers = [os.urandom(300) for _ in range(n)]

        def manifest(i):
            return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                               "config": dict(config, mediaType=OCI_CONFIG),
                               "layers": [{"mediaType": "application/octet-stream",
                                           "digest": "sha256:" + hashlib.sha256(layers[i]).hexdigest(),
                                           "size": len(layers[i])}]}).encode()

        cases = [
            ("GET /v2/", lambda i: c.send("GET", "/v2/")),
            ("GET tags/list", lambda i: c.send("GET", f"/v2/{repo}/tags/list?n=1000")),
            ("HEAD manifest, absent", lambda i: c.send("HEAD", f"/v2/{repo}/manifests/sha256-{i}.sig")),
            ("upload small blob (POST+PUT)", lambda i: c.upload(repo, layers[i])),
            ("PUT manifest", lambda i: c.send("PUT", f"/v2/{repo}/manifests/t{i}", body=manifest(i),
                                              headers={"Content-Type": OCI_MANIFEST})),
            ("GET manifest", lambda i: c.send("GET", f"/v2/{repo}/manifests/t{i}",
                                              headers={"Accept": OCI_MANIFEST})),
            ("GET small blob", lambda i: c.send("GET", f"/v2/{repo}/blobs/{config['digest']}")),
        ]
        print(f"{'request':30} {'registry CPU':>13} {'wall':>8}   ({n} each, {host})")
        for name, step in cases:
            cpu, t = cpu_seconds(proc.pid), time.monotonic()
            for i in range(n):
                step(i)
            cpu, t = cpu_seconds(proc.pid) - cpu, time.monotonic() - t
            print(f"{name:30} {1000 * cpu / n:>10.2f} ms {1000 * t / n:>5.2f} ms")
    finally:
        proc.terminate()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
