#!/usr/bin/env python3
"""A read-only registry that serves the OCI 1.1 referrers API, for the one thing the real
registry here (Distribution 2.8) cannot show: the API's response format.

Serves DIR/blobs/sha256/<hex> as blobs and as manifests (by digest), DIR/tags.json
({"repo:tag": "sha256:..."}; "broken": that tag answers 500) as tags, and GET /v2/<repo>/referrers/<digest> as an image index
of every manifest blob whose `subject` is that digest (artifactType from the manifest, else
its config's mediaType, as the distribution spec says). Repositories share one store.

    referrers-registry.py PORT DIR
"""

import hashlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, ROOT = int(sys.argv[1]), sys.argv[2]
INDEX = "application/vnd.oci.image.index.v1+json"


def blob(digest):
    if not digest.startswith("sha256:") or "/" in digest:
        return None
    path = os.path.join(ROOT, "blobs", "sha256", digest[len("sha256:"):])
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        return f.read()


def manifests():
    folder = os.path.join(ROOT, "blobs", "sha256")
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        try:
            doc = json.loads(data)
        except ValueError:
            continue
        if isinstance(doc, dict) and "mediaType" in doc:
            yield "sha256:" + name, data, doc


def referrers(subject):
    listed = []
    for digest, data, doc in manifests():
        if (doc.get("subject") or {}).get("digest") != subject:
            continue
        entry = {"mediaType": doc["mediaType"], "digest": digest, "size": len(data)}
        kind = doc.get("artifactType") or (doc.get("config") or {}).get("mediaType")
        if kind:
            entry["artifactType"] = kind
        if doc.get("annotations"):
            entry["annotations"] = doc["annotations"]
        listed.append(entry)
    return json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": listed}).encode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", media_type="application/json", digest=None):
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        if digest:
            self.send_header("Docker-Content-Digest", digest)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/v2/", "/v2"):
            return self.answer(200, b"{}")
        if not path.startswith("/v2/"):
            return self.answer(404)
        rest = path[len("/v2/"):]
        for kind in ("/manifests/", "/blobs/", "/referrers/"):
            if kind in rest:
                repo, ref = rest.rsplit(kind, 1)
                break
        else:
            return self.answer(404)
        if kind == "/referrers/":
            return self.answer(200, referrers(ref), INDEX)
        if kind == "/manifests/" and not ref.startswith("sha256:"):
            with open(os.path.join(ROOT, "tags.json")) as f:
                ref = json.load(f).get(f"{repo}:{ref}", "")
            if ref == "broken":
                return self.answer(500, b'{"errors":[{"code":"UNKNOWN","message":"storage failed"}]}')
        data = blob(ref)
        if data is None:
            return self.answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if kind == "/blobs/":
            return self.answer(200, data, "application/octet-stream", digest)
        return self.answer(200, data, json.loads(data)["mediaType"], digest)

    do_HEAD = do_GET


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
