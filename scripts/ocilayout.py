"""Helpers shared by the demo and the benchmarks: loopback Distribution registries and
synthetic images written as OCI layouts (for skopeo to push)."""
import hashlib
import json
import os
import socket
import subprocess
import time

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


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


