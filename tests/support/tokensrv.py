#!/usr/bin/env python3
"""Test token server for Distribution's `auth: token` (RS256 JWTs carrying an x5c chain).

usage: tokensrv.py KEY CERT PORT LOG USER:PASSWORD
Grants the requested scopes to USER (Basic auth on GET, or POST grant_type=refresh_token
with refresh_token "refresh-USER", the docker identitytoken flow) and only `pull` to
anonymous callers; wrong credentials get 401. Every request is logged to LOG as a line of JSON.
"""
import base64
import json
import subprocess
import sys
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

key, cert, port, log, userpass = sys.argv[1:6]
cert_der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], capture_output=True, check=True).stdout


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(cert_der).decode()]}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                         capture_output=True, check=True).stdout
    return signing_input + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    def deny(self):
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != ["refresh-" + userpass.split(":")[0]]:
            return self.deny()
        scopes = " ".join(form.get("scope", [])).split()
        self.grant(userpass.split(":")[0], scopes, form.get("service", [""])[0], "refresh_token")

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        auth = self.headers.get("Authorization", "")
        user = ""
        if auth.startswith("Basic "):
            given = base64.b64decode(auth[6:]).decode()
            if given != userpass:
                return self.deny()
            user = given.split(":")[0]
        self.grant(user, query.get("scope", []), query.get("service", [""])[0], "basic" if user else "anonymous")

    def grant(self, user, scopes, service, how):
        with open(log, "a") as f:
            f.write(json.dumps({"user": user, "scopes": scopes, "grant": how}) + "\n")
        access = []
        for scope in scopes:
            for one in scope.split(" "):
                kind, rest = one.split(":", 1)
                name, actions = rest.rsplit(":", 1)
                granted = actions.split(",") if user else [a for a in actions.split(",") if a == "pull"]
                access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        token = jwt({"iss": "ferry-test-issuer", "sub": user, "aud": service,
                     "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()), "access": access})
        body = json.dumps({"token": token, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
