#!/usr/bin/env python3
"""A fake kube-apiserver for ferry's tests.

It is written against the exchanges recorded from a real kube-apiserver v1.36.2 in
../shared/apiserver-transcripts, and tests/apiserver_replay.rs replays every one of them
against it. What it models, as that server behaves:

- discovery: /api, /api/v1, /apis, /apis/GROUP, /apis/GROUP/VERSION, legacy and aggregated
  (apidiscovery.k8s.io/v2); built-in resources from kube-builtin-resources.json (the real
  server's own catalogue), plus established CRDs and APIServices. An APIService whose Service
  has no endpoints is listed (aggregated: "freshness": "Stale") but its version answers 503.
- objects: GET, DELETE, PATCH as server-side apply (application/apply-patch+yaml, YAML 1.1
  decoded by PyYAML, independent of ferry), JSON merge patch, strategic merge patch and JSON
  patch, dryRun=All; managedFields per field (structured-merge-diff's field sets, for the
  list and map types of the kinds the transcripts use), conflicts (409 with causes),
  force, co-ownership of equal values, `before-first-apply`, resourceVersion only on writes.
- errors as the real server words them: 400/404/409/415/422/500 Status bodies, text/plain 404
  and 503 bodies, typed-patch errors, the validation the transcripts show, 403 for the
  `limited` user (RBAC granted through the control endpoint), webhook failures.
- controllers (with --controllers): CRD conditions, APIService availability, Deployment and
  Job status over time (pods never run unless --pods-run), Endpoints of Services. Pods are
  Pending from creation; with --pods-run the kubelet's part runs them (`pod_status`).

- lists (labelSelector, fieldSelector status.*, limit and continue), deletes (dryRun,
  preconditions, finalizers and deletionTimestamp, Foreground and Background propagation),
  SelfSubjectReview; POST /fake/down {"seconds": N} closes every connection unanswered for
  N seconds, as a restarting server does.

- with --controllers, what kube-controller-manager does to namespaces (kube-root-ca.crt, the
  `default` ServiceAccount; deleting one: Terminating, new content refused, content deleted,
  conditions, gone once empty) and CRDs (deleting one deletes its resources first); RBAC of
  the ClusterRole `edit` bound by RoleBindings (kube-rbac.json), SelfSubjectAccessReview and
  SelfSubjectRulesReview; POST and PUT (an Update by `fieldManager` or the User-Agent's
  program, as Helm's release Secrets are written); /version, /readyz through a restart
  (POST /fake/restart {"stop": T, "start": T} in the clock's seconds).

What it does not: watch, OpenAPI documents, conditional requests (304), ReplicaSets and pods,
authentication (the bearer token names the user), defaults
beyond the few the transcripts need, the pod-template hash in ReplicaSet names.

Usage: kube-apiserver.py [--controllers] [--pods-run] [--time-scale X]; prints its port.
Test-only control endpoints under /fake/: GET log, POST seed, POST grant, POST config, POST down.
A request header X-Fake-Elapsed: SECONDS sets the clock (seconds since the server started).
"""

import argparse
import copy
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube_protobuf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT_CA_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
                       "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
                       "guaranteed across distributions of Kubernetes clusters.")
FAKE_CA = "-----BEGIN CERTIFICATE-----\nZmFrZSBjbHVzdGVyIENB\n-----END CERTIFICATE-----"
LOCK = threading.RLock()


# ---------------------------------------------------------------- YAML 1.1 as the server reads it

class Loader(yaml.SafeLoader):
    """PyYAML's YAML 1.1 resolution (0644 is 420, yes is true), plus what go-yaml v2 adds:
    y/Y/n/N are booleans and 0o644 is octal."""


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?0o[0-7]+$"), list("-+0"))


def _bool(loader, node):
    v = loader.construct_scalar(node)
    return v in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")


def _int(loader, node):
    v = loader.construct_scalar(node).replace("_", "")
    sign = -1 if v.startswith("-") else 1
    v = v.lstrip("+-")
    if v.startswith("0o"):
        return sign * int(v[2:], 8)
    if v.startswith("0x"):
        return sign * int(v[2:], 16)
    if v.startswith("0b"):
        return sign * int(v[2:], 2)
    if len(v) > 1 and v.startswith("0"):
        return sign * int(v, 8)
    if ":" in v:
        n = 0
        for part in v.split(":"):
            n = n * 60 + int(part)
        return sign * n
    return sign * int(v)


WARNINGS = threading.local()


def _mapping(loader, node, deep=False):
    """Keys as JSON sees them (true -> "true"); a key seen twice keeps the last value and
    warns, as the API server's YAML reader does."""
    out = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = json.dumps(key) if isinstance(key, bool) else str(key)
        if key in out:
            WARNINGS.list.append(f"line {key_node.start_mark.line + 1}: key {key} already set in map")
        out[key] = loader.construct_object(value_node, deep=True)
    return out


Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
Loader.add_constructor("tag:yaml.org,2002:bool", _bool)
Loader.add_constructor("tag:yaml.org,2002:int", _int)
# Timestamps stay strings, as they do in sigs.k8s.io/yaml's conversion to JSON.
Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda l, n: l.construct_scalar(n))


def jsonable(v):
    """YAML keys that are not strings become strings, as in JSON (true -> "true")."""
    if isinstance(v, dict):
        return {json.dumps(k) if isinstance(k, bool) else str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v


def decode_yaml(text, warnings=None):
    """The object, or raises ValueError with go-yaml's wording; duplicate keys are added to
    `warnings`."""
    WARNINGS.list = warnings if warnings is not None else []
    try:
        docs = [d for d in yaml.load_all(text, Loader=Loader)]
    except yaml.MarkedYAMLError as e:
        mark = e.context_mark or e.problem_mark
        line = mark.line + 1 if mark else 1
        problem = e.problem or str(e)
        m = re.search(r"expected '(.)' or '(.)'", problem)
        what = f"did not find expected '{m.group(1)}' or '{m.group(2)}'" if m else problem
        raise ValueError(f"yaml: line {line}: {what}")
    docs = [d for d in docs if d is not None]
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise ValueError("yaml: exactly one object expected")
    return jsonable(docs[0])


# ---------------------------------------------------------------- schema knowledge

POD_LISTS = {"containers": ["name"], "initContainers": ["name"], "ephemeralContainers": ["name"],
             "volumes": ["name"], "volumeMounts": ["mountPath"], "env": ["name"],
             "envFrom": None, "imagePullSecrets": ["name"], "volumeDevices": ["devicePath"]}


def list_type(kind, names):
    """How the list at field-name path `names` merges: a list of key names, or None (atomic)."""
    last = names[-1]
    parent = names[-2] if len(names) > 1 else None
    if last == "conditions":
        return ["type"]
    if kind == "ServiceAccount" and names == ("imagePullSecrets",):
        return None
    if kind == "ServiceAccount" and names == ("secrets",):
        return ["name"]
    if last == "webhooks":
        return ["name"]
    if last == "ports" and parent in ("containers", "initContainers", "ephemeralContainers"):
        return ["containerPort", "protocol"]
    if kind == "Service" and names == ("spec", "ports"):
        return ["port", "protocol"]
    if last in POD_LISTS and "spec" in names:
        return POD_LISTS[last]
    return None


def atomic_map(kind, names):
    """Maps owned as one field (LabelSelector, Service selectors, a binding's roleRef)."""
    return names[-1] == "selector" or (kind in ("RoleBinding", "ClusterRoleBinding") and names == ("roleRef",))


def atomic_element(kind, names):
    """List elements owned as one field (LocalObjectReference is a structType=atomic)."""
    return names[-1] == "imagePullSecrets" and kind != "ServiceAccount"


GENERATION_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
                    "CustomResourceDefinition", "ValidatingWebhookConfiguration",
                    "MutatingWebhookConfiguration", "PodDisruptionBudget", "NetworkPolicy",
                    "Ingress", "HorizontalPodAutoscaler"}

# Fields the typed patch knows (the rest are "field not declared in schema").
KNOWN = {
    ("Deployment", "spec"): {"replicas", "selector", "template", "strategy", "minReadySeconds",
                             "revisionHistoryLimit", "paused", "progressDeadlineSeconds"},
    ("pod", "spec"): {"containers", "initContainers", "ephemeralContainers", "volumes",
                      "restartPolicy", "terminationGracePeriodSeconds", "activeDeadlineSeconds",
                      "dnsPolicy", "nodeSelector", "serviceAccountName", "serviceAccount",
                      "automountServiceAccountToken", "nodeName", "hostNetwork", "hostPID",
                      "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets",
                      "hostname", "subdomain", "affinity", "schedulerName", "tolerations",
                      "hostAliases", "priorityClassName", "priority", "dnsConfig",
                      "readinessGates", "runtimeClassName", "enableServiceLinks",
                      "preemptionPolicy", "overhead", "topologySpreadConstraints",
                      "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates",
                      "resourceClaims", "resources"},
    ("pod", "container"): {"name", "image", "command", "args", "workingDir", "ports", "envFrom",
                           "env", "resources", "resizePolicy", "restartPolicy", "volumeMounts",
                           "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe",
                           "lifecycle", "terminationMessagePath", "terminationMessagePolicy",
                           "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty"},
}
INT_FIELDS = {("Deployment", "spec", "replicas"), ("Deployment", "spec", "progressDeadlineSeconds")}


def typed_errors(kind, obj):
    """What building the typed patch object rejects: wrong types, unknown fields."""
    errors = []
    if kind in ("ConfigMap", "Secret"):
        for k, v in sorted((obj.get("data") or {}).items()):
            if not isinstance(v, str):
                shown = json.dumps(v) if not isinstance(v, bool) else ("true" if v else "false")
                errors.append(f".data.{k}: expected string, got &value.valueUnstructured{{Value:{shown}}}")
    if kind == "Deployment":
        spec = obj.get("spec") or {}
        for k in spec:
            if k not in KNOWN[("Deployment", "spec")]:
                errors.append(f".spec.{k}: field not declared in schema")
        for f in ("replicas", "progressDeadlineSeconds"):
            if f in spec and isinstance(spec[f], str):
                errors.append(f".spec.{f}: expected numeric (int or float), got string")
        pod = ((spec.get("template") or {}).get("spec")) or {}
        for k in pod:
            if k not in KNOWN[("pod", "spec")]:
                errors.append(f".spec.template.spec.{k}: field not declared in schema")
        for c in pod.get("containers") or []:
            for k in c:
                if k not in KNOWN[("pod", "container")]:
                    errors.append(
                        f".spec.template.spec.containers[name=\"{c.get('name')}\"].{k}: field not declared in schema")
    # The real server stops at the first unknown field it meets, in an order that varies
    # between identical requests; it reports every type error. Report the first unknown field.
    unknown = [e for e in errors if "not declared" in e]
    others = [e for e in errors if "not declared" not in e]
    return others + unknown[:1]


RFC1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
RFC1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def quantity(q):
    units = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "k": 10 ** 3,
             "M": 10 ** 6, "G": 10 ** 9, "m": 10 ** -3}
    q = str(q)
    for u, f in units.items():
        if q.endswith(u):
            return float(q[: -len(u)]) * f
    return float(q)


def go_value(v):
    if isinstance(v, str):
        return json.dumps(v)
    return json.dumps(v, separators=(",", ":"))


def validate(kind, obj):
    """Field validation the transcripts show: [(field, reason, message)]."""
    causes = []
    name = obj["metadata"].get("name", "")
    if not RFC1123_SUBDOMAIN.match(name):
        causes.append(("metadata.name", "FieldValueInvalid", f"Invalid value: {go_value(name)}: {SUBDOMAIN_MSG}"))
        return causes
    if kind != "Deployment":
        return causes
    spec = obj.get("spec") or {}
    if isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
        causes.append(("spec.replicas", "FieldValueInvalid",
                       f"Invalid value: {spec['replicas']}: must be greater than or equal to 0"))
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    match = ((spec.get("selector") or {}).get("matchLabels")) or {}
    if match and any(labels.get(k) != v for k, v in match.items()):
        causes.append(("spec.template.metadata.labels", "FieldValueInvalid",
                       f"Invalid value: {go_value(labels)}: `selector` does not match template `labels`"))
    pod = template.get("spec") or {}
    volumes = set()
    for i, v in enumerate(pod.get("volumes") or []):
        valid = True
        for src in ("configMap", "secret"):
            mode = (v.get(src) or {}).get("defaultMode")
            if isinstance(mode, int) and not 0 <= mode <= 0o777:
                valid = False
                causes.append((f"spec.template.spec.volumes[{i}].{src}.defaultMode", "FieldValueInvalid",
                               f"Invalid value: {mode}: must be a number between 0 and 0777 (octal), both inclusive"))
        # An invalid volume cannot be mounted: its mounts are "not found".
        if valid:
            volumes.add(v.get("name"))
    for i, c in enumerate(pod.get("containers") or []):
        base = f"spec.template.spec.containers[{i}]"
        if not RFC1123_LABEL.match(c.get("name", "")):
            causes.append((f"{base}.name", "FieldValueInvalid", f"Invalid value: {go_value(c.get('name', ''))}: {LABEL_MSG}"))
        for j, m in enumerate(c.get("volumeMounts") or []):
            if m.get("name") not in volumes:
                causes.append((f"{base}.volumeMounts[{j}].name", "FieldValueNotFound", f"Not found: {go_value(m.get('name'))}"))
        res = c.get("resources") or {}
        for r, req in (res.get("requests") or {}).items():
            lim = (res.get("limits") or {}).get(r)
            if lim is not None and quantity(req) > quantity(lim):
                causes.append((f"{base}.resources.requests", "FieldValueInvalid",
                               f"Invalid value: {go_value(req)}: must be less than or equal to {r} limit of {lim}"))
    return causes


# ---------------------------------------------------------------- field sets (structured-merge-diff)

def key_segment(element, keys):
    return "k:" + json.dumps({k: element.get(k) for k in sorted(keys) if k in element},
                             separators=(",", ":"))


def element_keys(kind, names, element):
    keys = list_type(kind, names)
    if keys and "protocol" in keys and "protocol" not in element:
        element = dict(element, protocol="TCP")
    return keys, element


def fieldset(kind, obj):
    """The set of paths an applied object owns: tuples of fieldsV1 segments."""
    out = set()
    meta = obj.get("metadata") or {}
    for m in ("labels", "annotations"):
        for k in meta.get(m) or {}:
            out.add(("f:metadata", f"f:{m}", f"f:{k}"))
    # metadata.finalizers is a set (listType=set): one field per value.
    for f in meta.get("finalizers") or []:
        out.add(("f:metadata", "f:finalizers", "v:" + json.dumps(f)))
    for k, v in obj.items():
        if k in ("apiVersion", "kind", "metadata", "status"):
            continue
        walk(kind, (k,), ("f:" + k,), v, out)
    return out


def walk(kind, names, path, value, out):
    if isinstance(value, dict) and value and not atomic_map(kind, names):
        for k, v in value.items():
            walk(kind, names + (k,), path + ("f:" + k,), v, out)
    elif isinstance(value, list) and value and list_type(kind, names):
        for element in value:
            keys, keyed = element_keys(kind, names, element)
            seg = path + (key_segment(keyed, keys),)
            if atomic_element(kind, names):
                out.add(seg)
                continue
            out.add(seg + (".",))
            for k, v in element.items():
                walk(kind, names + (k,), seg + ("f:" + k,), v, out)
    else:
        out.add(path)


def to_fields_v1(paths):
    tree = {}
    for p in sorted(paths):
        node = tree
        for seg in p:
            node = node.setdefault(seg, {})
    return tree


def from_fields_v1(tree, prefix=()):
    out = set()
    for seg, sub in tree.items():
        if sub:
            out |= from_fields_v1(sub, prefix + (seg,))
        else:
            out.add(prefix + (seg,))
    return out


MISSING = object()


def names_of(path):
    return tuple(s[2:] for s in path if s.startswith("f:"))


def locate(obj, path, kind):
    """(container, key) holding the value at `path`, or None."""
    node, names = obj, ()
    for i, seg in enumerate(path):
        last = i == len(path) - 1
        if seg == ".":
            return ("element", node)
        if seg.startswith("f:"):
            name = seg[2:]
            names = names + (name,)
            if not isinstance(node, dict) or name not in node:
                return None
            if last:
                return (node, name)
            node = node[name]
        elif seg.startswith("v:"):
            want = json.loads(seg[2:])
            if not isinstance(node, list) or want not in node:
                return None
            return (node, node.index(want)) if last else None
        elif seg.startswith("k:"):
            want = json.loads(seg[2:])
            if not isinstance(node, list):
                return None
            found = None
            for idx, el in enumerate(node):
                _, keyed = element_keys(kind, names, el)
                if all(keyed.get(k) == v for k, v in want.items()):
                    found = idx
            if found is None:
                return None
            if last:
                return (node, found)
            node = node[found]
    return None


def value_at(obj, path, kind):
    loc = locate(obj, path, kind)
    if loc is None:
        return MISSING
    if loc[0] == "element":
        return loc[1]
    return loc[0][loc[1]]


def remove_at(obj, path, kind):
    if path and path[-1] == ".":
        path = path[:-1]
    loc = locate(obj, path, kind)
    if loc is not None and loc[0] != "element":
        del loc[0][loc[1]]


def merge(kind, names, base, over):
    if isinstance(base, dict) and isinstance(over, dict) and not (names and atomic_map(kind, names)):
        out = copy.deepcopy(base)
        for k, v in over.items():
            out[k] = merge(kind, names + (k,), out.get(k, MISSING), v) if k in out else copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(over, list) and names and list_type(kind, names):
        out = copy.deepcopy(base)
        for el in over:
            keys, keyed = element_keys(kind, names, el)
            hit = None
            for i, b in enumerate(out):
                _, bk = element_keys(kind, names, b)
                if all(bk.get(k) == keyed.get(k) for k in keys):
                    hit = i
            if hit is None:
                out.append(copy.deepcopy(el))
            elif atomic_element(kind, names):
                out[hit] = copy.deepcopy(el)
            else:
                out[hit] = merge_element(kind, names, out[hit], el)
        return out
    return copy.deepcopy(over)


def merge_element(kind, names, base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(kind, names + (k,), out[k], v) if k in out else copy.deepcopy(v)
    return out


def path_string(path):
    out = ""
    for seg in path:
        if seg.startswith("f:"):
            out += "." + seg[2:]
        elif seg.startswith("k:"):
            kv = json.loads(seg[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in kv.items()) + "]"
    return out


# ---------------------------------------------------------------- the server's state

def status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message}
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return code, body, "application/json", {}


def text(code, body):
    return code, body, "text/plain; charset=utf-8", {}


class Clock:
    def __init__(self, scale):
        self.start = time.time()
        self.scale = scale
        self.pinned = None

    def now(self):
        if self.pinned is not None:
            return self.pinned
        return (time.time() - self.start) * self.scale

    def stamp(self, at=None):
        """Times start at 2000-01-01T00:00:00Z, as the transcripts' shifted timestamps do."""
        t = 946684800 + int(self.now() if at is None else at)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Server:
    def __init__(self, controllers, pods_run, scale):
        with open(os.path.join(HERE, "kube-builtin-resources.json")) as f:
            self.catalog = json.load(f)
        self.controllers = controllers
        self.pods_run = pods_run
        self.clock = Clock(scale)
        self.store = {}
        self.rv = 0
        self.log = []
        self.grants = []  # (user, namespace, resources, verbs)
        self.forbidden = []  # resources no user may write
        self.faults = []  # [{"match": "METHOD path-prefix", "status": N, "times": K}]
        self.aggregated = True  # serves aggregated discovery (servers before 1.30 do not)
        self.created = {}  # store key -> creation time (clock seconds)
        self.order = {}  # store key -> creation sequence
        self.down_until = 0.0  # until then (time.time()) every connection closes unanswered
        self.restart = None  # {"stop": T, "start": T}: clock times the server is away
        for ns in ("default", "kube-system", "kube-public"):
            # The system namespaces controller of kube-apiserver writes them.
            obj = self.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, None)
            obj["metadata"]["managedFields"] = [self.entry("kube-apiserver", "Update", "v1", {
                ("f:metadata", "f:labels", "."), ("f:metadata", "f:labels", "f:kubernetes.io/metadata.name")})]

    # ---- resources

    def builtin(self):
        """[(group, version, resource dict)] of the catalogue."""
        out = [("", v["version"], r) for v in self.catalog["core"] for r in v["resources"]]
        for g in self.catalog["groups"]:
            for v in g["versions"]:
                out += [(g["name"], v["version"], r) for r in v["resources"]]
        return out

    def crds(self):
        return [o for (g, p, _, _), o in self.store.items() if p == "customresourcedefinitions"]

    def crd_state(self, crd):
        """(names accepted, established, reason, message, accepted names) at the clock's time."""
        key = self.key_of(crd)
        born = self.created.get(key, 0)
        names = crd["spec"]["names"]
        group = crd["spec"]["group"]
        # Names are claimed in creation order; a CRD that lost a clash claims none.
        others = [c for c in self.crds() if c["spec"]["group"] == group
                  and self.order.get(self.key_of(c), 0) < self.order.get(key, 0)
                  and self.crd_state(c)[0]]
        accepted = dict(names)
        for o in others:
            on = o["spec"]["names"]
            if on.get("kind") == names.get("kind"):
                accepted["kind"] = ""
                return False, False, "KindConflict", f'"{names["kind"]}" is already in use', accepted
            clash = set(on.get("shortNames") or []) & set(names.get("shortNames") or [])
            if clash:
                accepted.pop("shortNames", None)
                return False, False, "ShortNamesConflict", f'"{sorted(clash)[0]}" is already in use', accepted
        # The API server itself establishes CRDs (no controller manager needed), 0.1 s later.
        established = round(self.clock.now() - born, 3) >= 0.1
        return True, established, "", "", accepted

    def served_crd(self, group, version, plural=None, kind=None):
        for c in self.crds():
            if c["spec"]["group"] != group:
                continue
            ok, est, *_ = self.crd_state(c)
            if not (ok and est):
                continue
            if not any(v.get("served", True) and v["name"] == version for v in c["spec"].get("versions", [])):
                continue
            names = c["spec"]["names"]
            if plural in (None, names["plural"]) and kind in (None, names["kind"]):
                return c
        return None

    def apiservices(self):
        return [o for (g, p, _, _), o in self.store.items() if p == "apiservices"
                and (o.get("spec") or {}).get("service")]

    def endpoints_ready(self, namespace, name):
        ep = self.store.get(("", "endpoints", namespace, name))
        return ep is not None and bool(ep.get("subsets"))

    def groups(self):
        """Served groups: [(name, [versions], source)] with source builtin/crd/aggregated."""
        out = [(g["name"], [v["version"] for v in g["versions"]], "builtin") for g in self.catalog["groups"]]
        known = {g for g, _, _ in out}
        for c in self.crds():
            ok, est, *_ = self.crd_state(c)
            g = c["spec"]["group"]
            if ok and est and g not in known:
                out.append((g, [v["name"] for v in c["spec"]["versions"] if v.get("served", True)], "crd"))
                known.add(g)
        for a in self.apiservices():
            g = a["spec"]["group"]
            if g not in known:
                out.append((g, [a["spec"]["version"]], "aggregated"))
                known.add(g)
        return out

    def resource(self, group, version, plural):
        """(kind, namespaced, source) of a served resource, or a reason it is not."""
        groups = {g: (vs, src) for g, vs, src in self.groups()}
        if group and group not in groups:
            return "no-group"
        if group and groups[group][1] == "aggregated":
            a = next(a for a in self.apiservices() if a["spec"]["group"] == group)
            svc = a["spec"]["service"]
            return "unavailable" if not self.endpoints_ready(svc["namespace"], svc["name"]) else "no-resource"
        for g, v, r in self.builtin():
            if g == group and v == version and r["resource"] == plural:
                return (r["responseKind"]["kind"], r["scope"] == "Namespaced", "builtin")
        c = self.served_crd(group, version, plural)
        if c:
            return (c["spec"]["names"]["kind"], c["spec"]["scope"] == "Namespaced", "crd")
        if group and groups[group][1] == "crd":
            # The CRD handler answers what it does not serve with the plain 404 page.
            return "no-group"
        if group and version not in groups[group][0]:
            return "no-version"
        if not group and version != "v1":
            return "no-version"
        return "no-resource"

    def key_of(self, obj):
        gv = obj["apiVersion"]
        group = gv.split("/")[0] if "/" in gv else ""
        plural = self.plural_of(group, obj["kind"])
        return (group, plural, obj["metadata"].get("namespace") or "", obj["metadata"]["name"])

    def plural_of(self, group, kind):
        for g, _, r in self.builtin():
            if g == group and r["responseKind"]["kind"] == kind:
                return r["resource"]
        for c in self.crds():
            if c["spec"]["group"] == group and c["spec"]["names"]["kind"] == kind:
                return c["spec"]["names"]["plural"]
        return kind.lower() + "s"

    # ---- writes

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def seed(self, obj, manager):
        """Stores an object as if `manager` had applied it before the test began."""
        obj = copy.deepcopy(obj)
        key = self.key_of(obj)
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["resourceVersion"] = self.next_rv()
        meta["creationTimestamp"] = self.clock.stamp()
        if obj["kind"] in GENERATION_KINDS:
            meta["generation"] = 1
        if obj["kind"] == "Namespace":
            self.namespace_defaults(obj)
        if obj["kind"] == "Pod":
            # The pod strategy's PrepareForCreate: every new pod starts Pending.
            obj["status"] = {"phase": "Pending"}
        if manager:
            meta["managedFields"] = [self.entry(manager, "Apply", obj["apiVersion"], fieldset(obj["kind"], obj))]
        self.store[key] = obj
        self.created[key] = self.clock.now()
        self.order[key] = self.rv
        if obj["kind"] == "Namespace" and self.controllers:
            self.namespace_content(meta["name"])
        return obj

    def namespace_defaults(self, obj):
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}

    def namespace_content(self, ns):
        """What kube-controller-manager puts in every new namespace: the root CA ConfigMap
        (root-ca-cert-publisher) and the `default` ServiceAccount."""
        ca = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "kube-root-ca.crt", "namespace": ns,
                           "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}},
              "data": {"ca.crt": FAKE_CA + "\n"}}
        ca = self.seed(ca, None)
        ca["metadata"]["managedFields"] = [self.entry("kube-controller-manager", "Update", "v1", {
            ("f:data", "."), ("f:data", "f:ca.crt"),
            ("f:metadata", "f:annotations", "."), ("f:metadata", "f:annotations", "f:kubernetes.io/description")})]
        self.seed({"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "default", "namespace": ns}}, None)

    def entry(self, manager, operation, api_version, paths, subresource=None):
        e = {"manager": manager, "operation": operation, "apiVersion": api_version,
             "time": self.clock.stamp(), "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(paths)}
        if subresource:
            e["subresource"] = subresource
        return e


# ---------------------------------------------------------------- request handling

class Request:
    def __init__(self, method, path, query, headers, body, user):
        self.method, self.path, self.query, self.headers, self.body, self.user = (
            method, path, query, headers, body, user)


def parse_query(q):
    out = {}
    for part in q.split("&"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


def handle(s, req):
    """(code, body, content type, extra headers)."""
    s.log.append(f"{req.method} {req.path}" + (f"?{req.query}" if req.query else ""))
    if req.path.startswith("/fake/"):
        return control(s, req)
    for f in s.faults:
        if not f.get("down") and f["times"] > 0 and f"{req.method} {req.path}".startswith(f["match"]):
            f["times"] -= 1
            if f["status"] == 429:
                code, body, ctype, _ = status(429, "TooManyRequests", "Too many requests, please try again later.",
                                              {"retryAfterSeconds": 1})
                return code, body, ctype, {"Retry-After": ["1"]}
            return text(f["status"], "service unavailable\n")
    s.settle()
    aggregated = "as=APIGroupDiscoveryList" in req.headers.get("accept", "") and s.aggregated
    segs = [p for p in req.path.split("/") if p]
    if req.method == "GET" and segs == ["version"]:
        return 200, {"major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36",
                     "minCompatibilityMajor": "1", "minCompatibilityMinor": "35", "gitVersion": "v1.36.2",
                     "gitTreeState": "clean", "compiler": "gc", "platform": "linux/amd64"}
    if req.method == "GET" and segs in (["readyz"], ["livez"]):
        return readyz(s, "verbose" in req.query)
    if req.method == "GET" and segs == ["api"]:
        if aggregated:
            return discovery_aggregated(s, core=True)
        return 200, {"kind": "APIVersions", "versions": ["v1"],
                     "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "SERVER_ADDRESS"}]}
    if req.method == "GET" and segs == ["apis"]:
        return discovery_aggregated(s, core=False) if aggregated else discovery_groups(s)
    if segs[:1] == ["api"]:
        group, version, rest = "", segs[1] if len(segs) > 1 else "", segs[2:]
    elif segs[:1] == ["apis"] and len(segs) >= 2:
        group, version, rest = segs[1], segs[2] if len(segs) > 2 else None, segs[3:]
    else:
        return text(404, "404 page not found\n")
    if version is None:
        return discovery_group(s, group) if req.method == "GET" else text(404, "404 page not found\n")
    if not rest:
        return discovery_version(s, group, version) if req.method == "GET" else text(405, "")
    if s.resource(group, version, rest[-1]) == "unavailable":
        return text(503, "service unavailable\n")
    if req.method == "POST" and rest == ["selfsubjectaccessreviews"]:
        return access_review(s, req)
    if req.method == "POST" and rest == ["selfsubjectrulesreviews"]:
        return rules_review(s, req)
    if req.method == "POST" and rest == ["selfsubjectreviews"]:
        return 201, {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                     "metadata": {"creationTimestamp": None},
                     "status": {"userInfo": user_info(req.user)}}
    if req.method == "GET" and (len(rest) == 1 or (rest[0] == "namespaces" and len(rest) == 3)):
        return list_objects(s, req, group, version, rest[-1], rest[1] if len(rest) == 3 else None)
    if req.method == "POST" and (len(rest) == 1 or (rest[0] == "namespaces" and len(rest) == 3)):
        return create(s, req, group, version, rest[-1], rest[1] if len(rest) == 3 else None)
    # namespaces/NS/PLURAL/NAME, PLURAL/NAME, namespaces/NAME
    if rest[0] == "namespaces" and len(rest) == 4:
        ns, plural, name = rest[1], rest[2], rest[3]
    elif len(rest) == 2:
        ns, plural, name = None, rest[0], rest[1]
    else:
        return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    found = s.resource(group, version, plural)
    if found == "no-group":
        return text(404, "404 page not found\n")
    if found == "unavailable":
        return text(503, "service unavailable\n")
    if found in ("no-version", "no-resource"):
        return status(404, "NotFound", "the server could not find the requested resource", {})
    kind, namespaced, source = found
    target_ns = ns if namespaced else None
    verb = {"GET": "get", "PATCH": "patch", "DELETE": "delete", "PUT": "update"}.get(req.method, "create")
    denied = authorize(s, req.user, verb, group, plural, ns if ns else (name if plural == "namespaces" else None), name)
    if denied:
        return denied
    key = (group, plural, target_ns or "", name)
    if req.method == "GET":
        if plural == "endpoints":
            return endpoints(s, ns, name)
        obj = s.store.get(key)
        if obj is None:
            return status(404, "NotFound", f'{plural}{"." + group if group else ""} "{name}" not found',
                          dict({"name": name}, **({"group": group} if group else {}), kind=plural))
        return 200, obj
    if req.method == "DELETE":
        return delete(s, req, group, kind, plural, name, key)
    if req.method == "PATCH":
        return patch(s, req, group, version, kind, plural, target_ns, name, key)
    if req.method == "PUT":
        return update(s, req, group, version, kind, plural, target_ns, name, key)
    return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def update_manager(req):
    """The manager of a create or update: `fieldManager`, else the User-Agent's program."""
    return parse_query(req.query).get("fieldManager") or \
        (req.headers.get("user-agent") or "unknown").split("/")[0] or "unknown"


def create(s, req, group, version, plural, ns):
    """POST: a create (an Update by its manager); 409 AlreadyExists when it is there."""
    found = s.resource(group, version, plural)
    if not isinstance(found, tuple):
        return status(404, "NotFound", "the server could not find the requested resource", {})
    kind, namespaced, _ = found
    obj = json.loads(req.body)
    obj.get("metadata", {}).pop("creationTimestamp", None)
    name = obj["metadata"]["name"]
    target_ns = ns if namespaced else None
    denied = authorize(s, req.user, "create", group, plural, target_ns, name)
    if denied:
        return denied
    key = (group, plural, target_ns or "", name)
    if key in s.store:
        return status(409, "AlreadyExists", f'{plural}{"." + group if group else ""} "{name}" already exists',
                      dict({"name": name}, **({"group": group} if group else {}), kind=plural))
    api_version = f"{group}/{version}" if group else version
    dry = parse_query(req.query).get("dryRun") == "All"
    return write(s, kind, api_version, group, plural, target_ns, name, key, None, obj, update_manager(req),
                 "Update", True, dry)


def update(s, req, group, version, kind, plural, ns, name, key):
    """PUT: the whole object replaced (an Update by its manager)."""
    live = s.store.get(key)
    if live is None:
        return status(404, "NotFound", f'{plural}{"." + group if group else ""} "{name}" not found',
                      dict({"name": name}, **({"group": group} if group else {}), kind=plural))
    obj = json.loads(req.body)
    meta = obj.setdefault("metadata", {})
    meta.pop("creationTimestamp", None)
    if meta.get("resourceVersion") and meta["resourceVersion"] != live["metadata"]["resourceVersion"]:
        return status(409, "Conflict", f'Operation cannot be fulfilled on {plural}{"." + group if group else ""} '
                      f'"{name}": the object has been modified; please apply your changes to the latest version '
                      'and try again', dict({"name": name}, **({"group": group} if group else {}), kind=plural))
    for k in ("uid", "creationTimestamp", "namespace", "generation", "managedFields"):
        if k in live["metadata"]:
            meta[k] = live["metadata"][k]
    api_version = f"{group}/{version}" if group else version
    dry = parse_query(req.query).get("dryRun") == "All"
    return write(s, kind, api_version, group, plural, ns, name, key, live, obj, update_manager(req),
                 "Update", True, dry)

READYZ_CHECKS = [
    "ping", "log", "informer-sync", "poststarthook/start-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers", "poststarthook/priority-and-fairness-config-consumer",
    "poststarthook/priority-and-fairness-filter", "poststarthook/storage-object-count-tracker-hook",
    "poststarthook/start-apiextensions-informers", "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced", "poststarthook/start-system-namespaces-controller",
    "poststarthook/peer-endpoint-reconciler-controller", "poststarthook/start-cluster-authentication-info-controller",
    "poststarthook/start-kube-apiserver-identity-lease-controller",
    "poststarthook/start-kube-apiserver-identity-lease-garbage-collector", "poststarthook/storage-readiness",
    "poststarthook/start-legacy-token-tracking-controller", "poststarthook/start-service-ip-repair-controllers",
    "poststarthook/rbac/bootstrap-roles", "poststarthook/scheduling/bootstrap-system-priority-classes",
    "poststarthook/priority-and-fairness-config-producer", "poststarthook/bootstrap-controller",
    "poststarthook/start-kubernetes-service-cidr-controller", "poststarthook/aggregator-reload-proxy-client-cert",
    "poststarthook/start-kube-aggregator-informers", "poststarthook/apiservice-status-local-available-controller",
    "poststarthook/apiservice-status-remote-available-controller", "poststarthook/apiservice-registration-controller",
    "poststarthook/apiservice-wait-for-first-sync", "poststarthook/apiservice-discovery-controller",
    "poststarthook/kube-apiserver-autoregistration", "autoregister-completion",
    "poststarthook/apiservice-openapi-controller", "poststarthook/apiservice-openapiv3-controller", "shutdown",
]
# After a start, the checks that fail and for how long (seconds), as v1.36.2 showed them.
STARTING_CHECKS = {
    "informer-sync": 1.7, "poststarthook/start-apiextensions-controllers": 1.7,
    "poststarthook/crd-informer-synced": 1.7, "poststarthook/start-kube-apiserver-identity-lease-controller": 1.7,
    "poststarthook/start-service-ip-repair-controllers": 1.7, "poststarthook/rbac/bootstrap-roles": 2.7,
    "poststarthook/scheduling/bootstrap-system-priority-classes": 2.5,
    "poststarthook/priority-and-fairness-config-producer": 1.7, "poststarthook/bootstrap-controller": 1.7,
    "poststarthook/start-kubernetes-service-cidr-controller": 1.7,
    "poststarthook/apiservice-registration-controller": 1.7, "poststarthook/apiservice-discovery-controller": 1.7,
    "autoregister-completion": 1.7,
}


def readyz(s, verbose):
    """/readyz: every check passes, but for a while after a restart's start."""
    now = s.clock.now()
    up = (s.restart or {}).get("start")
    failing = {c for c, d in STARTING_CHECKS.items() if up is not None and up <= now < up + d}
    if not verbose:
        return text(500 if failing else 200, "readyz check failed" if failing else "ok")
    lines = [f"[-]{c} failed: reason withheld" if c in failing else f"[+]{c} ok" for c in READYZ_CHECKS]
    lines.append("readyz check failed" if failing else "readyz check passed")
    return text(500 if failing else 200, "\n".join(lines) + "\n")


def is_away(s):
    """Between a restart's stop and start the server answers nothing."""
    r = s.restart
    return r is not None and r["stop"] <= s.clock.now() < r["start"]


def user_info(user):
    if user == "limited":
        return {"username": "limited", "groups": ["system:authenticated"]}
    return {"username": "admin", "groups": ["system:masters", "system:authenticated"]}


def parse_selector(text):
    """[(key, op, values)] of an equality or set-based label selector."""
    out = []
    for part in re.split(r",(?![^(]*\))", text) if text else []:
        m = re.fullmatch(r"\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*", part)
        if m:
            out.append((m[1], m[2], [v.strip() for v in m[3].split(",")]))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            out.append((k.strip(), "!=", [v.strip()]))
        elif "=" in part:
            k, v = part.split("==", 1) if "==" in part else part.split("=", 1)
            out.append((k.strip(), "=", [v.strip()]))
        elif part.startswith("!"):
            out.append((part[1:].strip(), "!", []))
        else:
            out.append((part.strip(), "exists", []))
    return out


def selected(selector, labels):
    for k, op, vs in selector:
        have = labels.get(k)
        if op in ("=", "in") and have not in vs:
            return False
        if op in ("!=", "notin") and have in vs:
            return False
        if op == "exists" and have is None or op == "!" and have is not None:
            return False
    return True


def list_objects(s, req, group, version, plural, ns):
    """LIST: items in etcd key order (namespace/name), by label selector, in pages."""
    from urllib.parse import unquote_plus
    found = s.resource(group, version, plural)
    if found == "no-group":
        return text(404, "404 page not found\n")
    if not isinstance(found, tuple):
        return status(404, "NotFound", "the server could not find the requested resource", {})
    kind, namespaced, _ = found
    denied = authorize(s, req.user, "list", group, plural, ns, None)
    if denied:
        return denied
    q = {k: unquote_plus(v) for k, v in parse_query(req.query).items()}
    selector = parse_selector(q.get("labelSelector", ""))
    fields = dict(f.split("=", 1) for f in q.get("fieldSelector", "").split(",") if "=" in f)
    rows = sorted(((n + "/" + name if n else name), o) for (g, p, n, name), o in s.store.items()
                  if g == group and p == plural and (ns is None or n == ns)
                  and selected(selector, o["metadata"].get("labels") or {})
                  and all(str((o.get("status") or {}).get(k.split(".", 1)[1])) == v
                          for k, v in fields.items() if k.startswith("status.")))
    start = 0
    if q.get("continue"):
        start = int(q["continue"].split(":", 1)[1])
    limit = int(q["limit"]) if q.get("limit") else None
    page = rows[start:start + limit] if limit else rows[start:]
    meta = {"resourceVersion": str(s.rv)}
    if found[2] == "crd":
        # The custom resource handler always writes the continue field.
        meta["continue"] = ""
    if limit and start + limit < len(rows):
        meta["continue"] = f"page:{start + limit}"
        if not selector:
            meta["remainingItemCount"] = len(rows) - start - limit
    items = []
    for _, o in page:
        item = copy.deepcopy(o)
        if s.resource(group, version, plural)[2] == "builtin":
            item.pop("apiVersion", None)
            item.pop("kind", None)
        items.append(item)
    api_version = f"{group}/{version}" if group else version
    return 200, {"kind": kind + "List", "apiVersion": api_version, "metadata": meta, "items": items}


def delete(s, req, group, kind, plural, name, key):
    """DELETE: preconditions, dryRun, finalizers (the object stays, marked, until they are
    removed) and the propagation policies as the garbage collector answers them."""
    obj = s.store.get(key)
    not_found = dict({"name": name}, **({"group": group} if group else {}), kind=plural)
    if obj is None:
        return status(404, "NotFound", f'{plural}{"." + group if group else ""} "{name}" not found', not_found)
    q = parse_query(req.query)
    opts = json.loads(req.body) if req.body else {}
    pre = opts.get("preconditions") or {}
    meta = obj["metadata"]
    conflict_details = {"name": name, **({"group": group} if group else {}), "kind": kind}
    if pre.get("uid") and pre["uid"] != meta["uid"]:
        return status(409, "Conflict", f'Operation cannot be fulfilled on {kind} "{name}": the UID in the '
                      f'precondition ({pre["uid"]}) does not match the UID in record ({meta["uid"]}). '
                      'The object might have been deleted and then recreated', conflict_details)
    if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
        return status(409, "Conflict", f'Operation cannot be fulfilled on {kind} "{name}": the ResourceVersion '
                      f'in the precondition ({pre["resourceVersion"]}) does not match the ResourceVersion in '
                      f'record ({meta["resourceVersion"]}). The object might have been modified', conflict_details)
    policy = opts.get("propagationPolicy") or q.get("propagationPolicy")
    gone = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {**not_found, "uid": meta["uid"]}}
    if q.get("dryRun") == "All":
        return 200, gone
    finalizers = list(meta.get("finalizers") or [])
    if kind == "CustomResourceDefinition":
        # apiextensions-apiserver's own: its resources are deleted before the CRD goes.
        finalizers = finalizers or ["customresourcecleanup.apiextensions.k8s.io"]
    if kind == "Namespace":
        return delete_namespace(s, obj)
    if policy == "Foreground":
        finalizers = ["foregroundDeletion"] + [f for f in finalizers if f != "foregroundDeletion"]
    if not finalizers:
        s.store.pop(key)
        s.next_rv()
        return 200, gone
    if "deletionTimestamp" not in meta:
        meta["deletionTimestamp"] = s.clock.stamp()
        meta["deletionGracePeriodSeconds"] = 0
        meta["finalizers"] = finalizers
        if "generation" in meta and kind != "CustomResourceDefinition":
            meta["generation"] += 1
        if kind == "CustomResourceDefinition":
            crd_terminating(s, obj, "InstanceDeletionPending",
                            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon")
        meta["resourceVersion"] = s.next_rv()
        obj["_deleting_since"] = s.clock.now()
    return 200, obj


def delete_namespace(s, obj):
    """A Namespace is marked Terminating; its controller empties it later (`finish_deletions`)."""
    meta = obj["metadata"]
    if "deletionTimestamp" not in meta:
        meta["deletionTimestamp"] = s.clock.stamp()
        obj["status"] = {"phase": "Terminating"}
        meta["resourceVersion"] = s.next_rv()
        obj["_deleting_since"] = s.clock.now()
    return 200, obj


def crd_terminating(s, crd, reason, message):
    conditions = [c for c in (crd.get("status") or {}).get("conditions") or [] if c["type"] != "Terminating"]
    since = next((c["lastTransitionTime"] for c in (crd.get("status") or {}).get("conditions") or []
                  if c["type"] == "Terminating"), s.clock.stamp())
    conditions.append({"type": "Terminating", "status": "True", "lastTransitionTime": since,
                       "reason": reason, "message": message})
    crd.setdefault("status", {})["conditions"] = conditions
    crd["_terminating"] = True


def mark_deleted(s, key, obj):
    """What a controller's DELETE does to one object: gone, or marked while finalizers hold it."""
    meta = obj["metadata"]
    if not meta.get("finalizers"):
        s.store.pop(key)
        s.next_rv()
    elif "deletionTimestamp" not in meta:
        meta["deletionTimestamp"] = s.clock.stamp()
        meta["deletionGracePeriodSeconds"] = 0
        if "generation" in meta:
            meta["generation"] += 1
        meta["resourceVersion"] = s.next_rv()
        obj["_deleting_since"] = s.clock.now()


def clean_crd(s, key, crd, now):
    """The CRD finalizer: its resources deleted, then (2.5 s after the last is gone) the CRD."""
    since = crd.get("_deleting_since", now)
    if now - since < 0.1 - 1e-6:
        return
    if crd["status"]["conditions"][-1]["reason"] == "InstanceDeletionPending":
        crd_terminating(s, crd, "InstanceDeletionInProgress", "CustomResource deletion is in progress")
        crd["metadata"]["resourceVersion"] = s.next_rv()
    if now - since < 0.3 - 1e-6:
        return
    group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
    left = [(k, o) for k, o in list(s.store.items()) if k[0] == group and k[1] == plural]
    for k, o in left:
        mark_deleted(s, k, o)
    remaining = [k for k in s.store if k[0] == group and k[1] == plural]
    if remaining:
        crd.pop("_empty_since", None)
        return
    crd.setdefault("_empty_since", now)
    if now - crd["_empty_since"] >= 2.5:
        s.store.pop(key)
        s.next_rv()


def clean_namespace(s, key, ns, now):
    """The namespace controller: passes 4.6 s after the delete and every 5.8 s after; the first
    deletes the content and says what remains, a pass that finds it empty removes the Namespace."""
    since = ns.get("_deleting_since", now)
    passes = ns.setdefault("_passes", 0)
    due = since + 4.6 + 5.8 * passes
    if now < due:
        return
    ns["_passes"] = passes + 1
    name = ns["metadata"]["name"]
    content = [(k, o) for k, o in list(s.store.items()) if k[2] == name and k[1] != "namespaces"]
    if not content:
        s.store.pop(key)
        s.next_rv()
        return
    for k, o in content:
        mark_deleted(s, k, o)
    left = [o for k, o in s.store.items() if k[2] == name and k[1] != "namespaces"]
    stamp = s.clock.stamp(due)
    kinds = {}
    held = {}
    for o in left:
        group = o["apiVersion"].split("/")[0] if "/" in o["apiVersion"] else ""
        what = s.plural_of(group, o["kind"]) + (f".{group}" if group else "")
        kinds[what] = kinds.get(what, 0) + 1
        for f in o["metadata"].get("finalizers") or []:
            held[f] = held.get(f, 0) + 1
    conditions = [
        {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "lastTransitionTime": stamp,
         "reason": "ResourcesDiscovered", "message": "All resources successfully discovered"},
        {"type": "NamespaceDeletionGroupVersionParsingFailure", "status": "False", "lastTransitionTime": stamp,
         "reason": "ParsedGroupVersions", "message": "All legacy kube types successfully parsed"},
        {"type": "NamespaceDeletionContentFailure", "status": "False", "lastTransitionTime": stamp,
         "reason": "ContentDeleted", "message": "All content successfully deleted, may be waiting on finalization"},
        {"type": "NamespaceContentRemaining", "status": "True", "lastTransitionTime": stamp,
         "reason": "SomeResourcesRemain", "message": "Some resources are remaining: " + ", ".join(
             f"{k} has {n} resource instances" for k, n in sorted(kinds.items()))},
        {"type": "NamespaceFinalizersRemaining", "status": "True", "lastTransitionTime": stamp,
         "reason": "SomeFinalizersRemain", "message": "Some content in the namespace has finalizers remaining: " +
         ", ".join(f"{f} in {n} resource instances" for f, n in sorted(held.items()))},
    ]
    if ns["status"].get("conditions") != conditions:
        ns["status"]["conditions"] = conditions
        status_owner(s, ns, "kube-controller-manager", {("f:status", "f:conditions", ".")})
        ns["metadata"]["resourceVersion"] = s.next_rv()


def finish_deletions(s):
    """Objects marked for deletion go once their finalizers are gone; the garbage
    collector's own `foregroundDeletion` (the fake has no dependents) after 0.1 s; CRDs and
    Namespaces by their controllers."""
    now = s.clock.now()
    for key, obj in list(s.store.items()):
        meta = obj["metadata"]
        if "deletionTimestamp" not in meta or key not in s.store:
            continue
        if obj["kind"] == "CustomResourceDefinition":
            clean_crd(s, key, obj, now)
            continue
        if obj["kind"] == "Namespace":
            if s.controllers:
                clean_namespace(s, key, obj, now)
            continue
        left = [f for f in meta.get("finalizers") or []
                if not (f == "foregroundDeletion" and now - obj.get("_deleting_since", now) >= 0.1)]
        if not left:
            s.store.pop(key)
            s.next_rv()


with open(os.path.join(HERE, "kube-rbac.json")) as f:
    RBAC = json.load(f)


def rule_allows(rule, verb, group, resource):
    return (verb in rule["verbs"] or "*" in rule["verbs"]) and group in rule["apiGroups"] \
        and resource in rule["resources"]


def rbac_reason(s, user, verb, group, resource, namespace):
    """Why RBAC allows `user` `verb` on `resource`, as the API server words it, or None: the
    rules every authenticated user has, and RoleBindings of the ClusterRoles the fake knows."""
    if any(rule_allows(r, verb, group, resource) for r in RBAC["authenticated"]["resourceRules"]):
        return "RBAC: allowed by ClusterRoleBinding \"system:basic-user\" of ClusterRole \"system:basic-user\" to Group \"system:authenticated\""
    for (g, p, ns, name), b in s.store.items():
        if p != "rolebindings" or ns != namespace or "deletionTimestamp" in b["metadata"]:
            continue
        ref = b.get("roleRef") or {}
        rules = RBAC["clusterroles"].get(ref.get("name")) if ref.get("kind") == "ClusterRole" else None
        bound = any(x.get("kind") == "User" and x.get("name") == user for x in b.get("subjects") or [])
        if rules and bound and any(rule_allows(r, verb, group, resource) for r in rules):
            return f'RBAC: allowed by RoleBinding "{name}/{ns}" of ClusterRole "{ref["name"]}" to User "{user}"'
    return None


def authorize(s, user, verb, group, plural, namespace, name):
    forbidden = plural in s.forbidden and verb not in ("get", "list", "watch")
    if user != "limited" and not forbidden:
        return None
    for (u, ns, resources, verbs) in s.grants:
        if u == user and ns == namespace and plural in resources and verb in verbs:
            return None
    if not forbidden and rbac_reason(s, user, verb, group, plural, namespace):
        return None
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    details = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = plural
    return status(403, "Forbidden",
                  f'{plural}{"." + group if group else ""} "{name}" is forbidden: User "{user}" cannot {verb} '
                  f'resource "{plural}" in API group "{group}"{where}', details)


def access_review(s, req):
    body = json.loads(req.body or b"{}")
    attrs = body.get("spec", {}).get("resourceAttributes", {})
    resource = attrs.get("resource") + (f'/{attrs["subresource"]}' if attrs.get("subresource") else "")
    verb, group, ns = attrs.get("verb"), attrs.get("group", ""), attrs.get("namespace")
    body["metadata"] = {}
    if req.user != "limited":
        body["status"] = {"allowed": True}
        return 201, body
    reason = rbac_reason(s, req.user, verb, group, resource, ns)
    granted = any(u == req.user and n == ns and resource in rs and verb in vs for (u, n, rs, vs) in s.grants)
    body["status"] = {"allowed": True, "reason": reason} if reason else {"allowed": granted}
    return 201, body


def rules_review(s, req):
    """SelfSubjectRulesReview: what the user may do in the namespace."""
    ns = (json.loads(req.body or b"{}").get("spec") or {}).get("namespace")
    rules = list(RBAC["authenticated"]["resourceRules"])
    for (g, p, n, name), b in s.store.items():
        ref = b.get("roleRef") or {}
        bound = any(x.get("kind") == "User" and x.get("name") == req.user for x in b.get("subjects") or [])
        if p == "rolebindings" and n == ns and bound and ref.get("name") in RBAC["clusterroles"]:
            rules += RBAC["clusterroles"][ref["name"]]
    return 201, {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1", "metadata": {},
                 "spec": {}, "status": {"resourceRules": rules,
                                        "nonResourceRules": RBAC["authenticated"]["nonResourceRules"],
                                        "incomplete": False}}


def patch(s, req, group, version, kind, plural, ns, name, key):
    ctype = req.headers.get("content-type", "").split(";")[0].strip()
    q = parse_query(req.query)
    manager = q.get("fieldManager")
    dry = q.get("dryRun") == "All"
    force = q.get("force") == "true"
    live = s.store.get(key)
    api_version = f"{group}/{version}" if group else version
    if ctype == "application/apply-patch+yaml":
        if not manager:
            return status(422, "Invalid",
                          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                          {"group": "meta.k8s.io", "kind": "PatchOptions",
                           "causes": [{"reason": "FieldValueRequired",
                                       "message": "Required value: is required for apply patch",
                                       "field": "fieldManager"}]})
        warnings = []
        try:
            applied = decode_yaml(req.body.decode(), warnings)
        except ValueError as e:
            return status(400, "BadRequest", f"error decoding YAML: error converting YAML to JSON: {e}")
        if applied.get("kind") != kind or applied.get("apiVersion") != api_version:
            return status(400, "BadRequest",
                          f"invalid object type: {applied.get('apiVersion')}, Kind={applied.get('kind')}")
        meta = applied.setdefault("metadata", {})
        if ns and meta.get("namespace", ns) != ns:
            return status(400, "BadRequest",
                          "the namespace of the provided object does not match the namespace sent on the request")
        if meta.get("name") != name:
            return status(400, "BadRequest",
                          f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})")
        if ns:
            meta["namespace"] = ns
        errors = typed_errors(kind, applied)
        if errors:
            where = f"{ns}/{name}" if ns else name
            gvk = f"{group}/{version}, Kind={kind}" if group else f"/{version}, Kind={kind}"
            shown = ("errors:\n  " + "\n  ".join(errors)) if len(errors) > 1 else errors[0]
            return status(500, None, f"failed to create typed patch object ({where}; {gvk}): {shown}")
        result = write(s, kind, api_version, group, plural, ns, name, key, live, applied, manager,
                       "Apply", force, dry)
        if warnings:
            return result[0], result[1], "application/json", {"Warning": [f'299 - "{w}"' for w in warnings]}
        return result
    if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                 "application/json-patch+json"):
        if live is None:
            return status(404, "NotFound", f'{plural}{"." + group if group else ""} "{name}" not found',
                          dict({"name": name}, **({"group": group} if group else {}), kind=plural))
        p = json.loads(req.body)
        if ctype == "application/json-patch+json":
            new = json_patch(live, p)
        else:
            new = merge_patch(live, p)
        return write(s, kind, api_version, group, plural, ns, name, key, live, new,
                     manager or "unknown", "Update", True, dry)
    return status(415, "UnsupportedMediaType", f"415: Unsupported Media Type", {})


def merge_patch(target, p):
    if not isinstance(p, dict):
        return copy.deepcopy(p)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in p.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def json_patch(target, ops):
    out = copy.deepcopy(target)
    for op in ops:
        parts = [x.replace("~1", "/").replace("~0", "~") for x in op["path"].split("/")[1:]]
        node = out
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(node, list):
                if last == "-":
                    node.append(op["value"])
                else:
                    node.insert(int(last), op["value"])
            else:
                node[last] = op["value"]
        elif op["op"] == "remove":
            del node[int(last) if isinstance(node, list) else last]
    return out


def changed_paths(kind, old, new):
    """Leaf paths whose value differs between two objects (an Update's ownership), and the
    maps the update brought into being (`.`), as structured-merge-diff records them."""
    old = old or {}
    a, b = fieldset(kind, old), fieldset(kind, new)
    took = {p for p in b if p not in a or value_at(old, p, kind) != value_at(new, p, kind)}
    for p in list(took):
        for i in range(1, len(p)):
            parent = p[:i]
            if parent == ("f:metadata",) or parent[-1].startswith(("k:", "v:")):
                continue
            if locate(old, parent, kind) is None and isinstance(value_at(new, parent, kind), dict):
                took.add(parent + (".",))
    return took


def owners(obj):
    return (obj or {}).get("metadata", {}).get("managedFields") or []


def write(s, kind, api_version, group, plural, ns, name, key, live, incoming, manager, operation,
          force, dry):
    """Server-side apply (operation Apply) or an update (operation Update) of `incoming`."""
    if ns and ("", "namespaces", "", ns) not in s.store:
        return status(404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"})
    g = f".{group}" if group else ""
    if live is None and ns and "deletionTimestamp" in s.store[("", "namespaces", "", ns)]["metadata"]:
        return status(403, "Forbidden", f'{plural}{g} "{name}" is forbidden: unable to create new content in '
                      f'namespace {ns} because it is being terminated',
                      {"name": name, **({"group": group} if group else {}), "kind": plural,
                       "causes": [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                   "message": f"namespace {ns} is being terminated"}]})
    crd = s.served_crd(group, api_version.split("/")[-1], plural) if group else None
    if live is None and crd is not None and "deletionTimestamp" in crd["metadata"]:
        return status(403, "Forbidden", f'{plural}{g} "{name}" is forbidden: create not allowed while custom '
                      'resource definition is terminating',
                      {"name": name, **({"group": group} if group else {}), "kind": plural})
    entries = copy.deepcopy(owners(live))
    if live is not None and not entries and operation == "Apply":
        prior = fieldset(kind, live)
        if prior:
            e = s.entry("before-first-apply", "Update", api_version, prior)
            tree = e["fieldsV1"].get("f:metadata", {})
            for m in ("f:labels", "f:annotations"):
                if m in tree:
                    tree[m]["."] = {}
            entries.append(e)
    if operation == "Apply":
        new_set = fieldset(kind, incoming)
        conflicts = {}
        for e in entries:
            if e["manager"] == manager and e["operation"] == "Apply":
                continue
            owned = from_fields_v1(e["fieldsV1"])
            for p in new_set & owned:
                if p[-1] == ".":
                    continue
                if live is not None and value_at(live, p, kind) != value_at(incoming, p, kind):
                    conflicts.setdefault(p, []).append(e)
        if conflicts and not force:
            return conflict(conflicts)
        for p, es in conflicts.items():
            for e in es:
                e["fieldsV1"] = to_fields_v1(from_fields_v1(e["fieldsV1"]) - {p})
        obj = copy.deepcopy(live) if live is not None else {"apiVersion": api_version, "kind": kind,
                                                             "metadata": {"name": name}}
        mine = next((e for e in entries if e["manager"] == manager and e["operation"] == "Apply"), None)
        if mine is not None:
            others = set()
            for e in entries:
                if e is not mine:
                    others |= from_fields_v1(e["fieldsV1"])
            for p in from_fields_v1(mine["fieldsV1"]) - new_set - others:
                remove_at(obj, p, kind)
        body = {k: v for k, v in incoming.items() if k not in ("metadata", "status", "apiVersion", "kind")}
        obj = merge(kind, (), obj, body)
        for m in ("labels", "annotations"):
            if incoming["metadata"].get(m):
                obj["metadata"][m] = dict(obj["metadata"].get(m) or {}, **incoming["metadata"][m])
        kept = obj["metadata"].get("finalizers") or []
        added = [f for f in incoming["metadata"].get("finalizers") or [] if f not in kept]
        if kept or added:
            obj["metadata"]["finalizers"] = kept + added
        if mine is None:
            if new_set:
                entries.append(s.entry(manager, "Apply", api_version, new_set))
        else:
            if from_fields_v1(mine["fieldsV1"]) != new_set or any(
                    value_at(live, p, kind) != value_at(obj, p, kind) for p in new_set):
                mine["time"] = s.clock.stamp()
            mine["fieldsV1"] = to_fields_v1(new_set)
    else:
        obj = incoming
        took = changed_paths(kind, live, obj)
        # A field the update removed is no one's any more.
        gone = fieldset(kind, live or {}) - fieldset(kind, obj)
        for e in entries:
            e["fieldsV1"] = to_fields_v1(from_fields_v1(e["fieldsV1"]) - took - gone)
        mine = next((e for e in entries if e["manager"] == manager and e["operation"] == "Update"), None)
        if took:
            if mine is None:
                entries.append(s.entry(manager, "Update", api_version, took))
            else:
                mine["fieldsV1"] = to_fields_v1(from_fields_v1(mine["fieldsV1"]) | took)
                mine["time"] = s.clock.stamp()
    entries = [e for e in entries if e["fieldsV1"]]
    meta = obj["metadata"]
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)
    created = live is None
    if created:
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = s.clock.stamp()
        if ns:
            meta["namespace"] = ns
        if kind in GENERATION_KINDS or (group and s.served_crd(group, api_version.split("/")[-1], plural)):
            meta["generation"] = 1
        if kind == "Namespace":
            s.namespace_defaults(obj)
        if kind in ("Deployment", "Job", "APIService"):
            obj["status"] = {}
        if kind == "CustomResourceDefinition":
            obj["status"] = {"conditions": None, "acceptedNames": {"plural": "", "kind": ""},
                             "storedVersions": [v["name"] for v in obj["spec"].get("versions", [])
                                                if v.get("storage")]}
        if kind == "Service":
            obj["status"] = {"loadBalancer": {}}
        if kind == "Job":
            job_labels(obj)
            for port in (obj.get("spec") or {}).get("ports") or []:
                port.setdefault("protocol", "TCP")
    else:
        if "generation" in meta and (live.get("spec") != obj.get("spec")):
            meta["generation"] = meta["generation"] + 1
    causes = validate(kind, obj)
    if causes:
        fields = ", ".join(f"{f}: {m}" for f, _, m in causes)
        shown = f"[{fields}]" if len(causes) > 1 else fields
        g = f".{group}" if group else ""
        return status(422, "Invalid", f'{kind}{g} "{name}" is invalid: {shown}',
                      dict({"name": name}, **({"group": group} if group else {}), kind=kind,
                           causes=[{"reason": r, "message": m, "field": f} for f, r, m in causes]))
    refused = admission(s, group, api_version.split("/")[-1], plural, "CREATE" if created else "UPDATE")
    if refused:
        return refused
    if not created and strip(live) == strip(obj):
        return 200, live
    if dry:
        if created:
            meta.pop("resourceVersion", None)
        return (201 if created else 200), obj
    if not created and "deletionTimestamp" in meta and not meta.get("finalizers"):
        # The last finalizer is gone: the object is deleted, and the answer is the object as
        # it was stored last, with the update applied.
        s.store.pop(key)
        s.next_rv()
        return 200, obj
    meta["resourceVersion"] = s.next_rv()
    s.store[key] = obj
    if created and kind == "Namespace" and s.controllers:
        s.namespace_content(name)
    if created:
        s.created[key] = s.clock.now()
        s.order[key] = s.rv
        if kind == "Service" and s.controllers:
            service_endpoints(s, obj)
    return (201 if created else 200), obj


def job_labels(job):
    """The labels the Job strategy adds at creation, tied to the Job's uid."""
    uid = job["metadata"]["uid"]
    name = job["metadata"]["name"]
    labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
              "controller-uid": uid, "job-name": name}
    job["metadata"]["labels"] = dict(job["metadata"].get("labels") or {}, **labels)
    spec = job.setdefault("spec", {})
    template = spec.setdefault("template", {}).setdefault("metadata", {})
    template["labels"] = dict(template.get("labels") or {}, **labels)
    spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})


def service_endpoints(s, svc):
    """The endpoint controller's Endpoints for a new Service."""
    meta = svc["metadata"]
    ep = {"kind": "Endpoints", "apiVersion": "v1",
          "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": str(uuid.uuid4()),
                       "resourceVersion": s.next_rv(), "creationTimestamp": meta["creationTimestamp"],
                       "labels": {"endpoints.kubernetes.io/managed-by": "endpoint-controller"},
                       "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": meta["creationTimestamp"]}}}
    ep["metadata"]["managedFields"] = [s.entry("kube-controller-manager", "Update", "v1", {
        ("f:metadata", "f:annotations", "."), ("f:metadata", "f:labels", ".")})]
    if s.pods_run:
        ep["subsets"] = [{"addresses": [{"ip": "10.0.0.10"}],
                          "ports": [{"port": p.get("targetPort", p["port"]), "protocol": "TCP"}
                                    for p in svc["spec"].get("ports", [])]}]
    s.store[("", "endpoints", meta["namespace"], meta["name"])] = ep


def strip(obj):
    o = copy.deepcopy(obj)
    for e in o["metadata"].get("managedFields") or []:
        e.pop("time", None)
    o["metadata"].pop("resourceVersion", None)
    return o


def conflict(conflicts):
    by_manager = {}
    for p, es in sorted(conflicts.items(), key=lambda kv: path_string(kv[0])):
        for e in es:
            using = f" using {e['apiVersion']}" if e["operation"] == "Update" else ""
            by_manager.setdefault(f'"{e["manager"]}"{using}', []).append(path_string(p))
    n = sum(len(v) for v in by_manager.values())
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {m}", "field": f}
              for m, fs in by_manager.items() for f in fs]
    if n == 1:
        (m, fs), = by_manager.items()
        message = f"Apply failed with 1 conflict: conflict with {m}: {fs[0]}"
    else:
        message = f"Apply failed with {n} conflicts: " + "\n".join(
            f"conflicts with {m}:\n" + "\n".join(f"- {f}" for f in fs) for m, fs in by_manager.items())
    return status(409, "Conflict", message, {"causes": causes})


def admission(s, group, version, plural, operation):
    for (g, p, _, _), cfg in list(s.store.items()):
        if p not in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
            continue
        for hook in cfg.get("webhooks") or []:
            if not any(matches(rule, group, version, plural, operation) for rule in hook.get("rules") or []):
                continue
            svc = (hook.get("clientConfig") or {}).get("service")
            if not svc or s.endpoints_ready(svc["namespace"], svc["name"]):
                continue
            if hook.get("failurePolicy", "Fail") != "Fail":
                continue
            url = (f'https://{svc["name"]}.{svc["namespace"]}.svc:{svc.get("port", 443)}'
                   f'{svc.get("path", "")}?timeout={hook.get("timeoutSeconds", 10)}s')
            cause = (f'failed calling webhook "{hook["name"]}": failed to call webhook: Post "{url}": '
                     f'no endpoints available for service "{svc["name"]}"')
            return status(500, "InternalError", f"Internal error occurred: {cause}",
                          {"causes": [{"message": cause}]})
    return None


def matches(rule, group, version, plural, operation):
    def has(values, v):
        return "*" in values or v in values
    return (has(rule.get("apiGroups", []), group) and has(rule.get("apiVersions", []), version)
            and has(rule.get("resources", []), plural) and has(rule.get("operations", []), operation))


def endpoints(s, ns, name):
    warning = ['299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"']
    ep = s.store.get(("", "endpoints", ns, name))
    if ep is None:
        return status(404, "NotFound", f'endpoints "{name}" not found', {"name": name, "kind": "endpoints"})
    return 200, ep, "application/json", {"Warning": warning}


# ---------------------------------------------------------------- discovery

def resources_of(s, group, version):
    out = []
    if group == "":
        for v in s.catalog["core"]:
            if v["version"] == version:
                out = list(v["resources"])
    for g in s.catalog["groups"]:
        if g["name"] == group:
            for v in g["versions"]:
                if v["version"] == version:
                    out = list(v["resources"])
    for c in s.crds():
        ok, est, *_ = s.crd_state(c)
        if c["spec"]["group"] != group or not (ok and est):
            continue
        for v in c["spec"]["versions"]:
            if v["name"] == version and v.get("served", True):
                n = c["spec"]["names"]
                r = {"resource": n["plural"], "responseKind": {"group": "", "version": "", "kind": n["kind"]},
                     "scope": c["spec"]["scope"], "singularResource": n.get("singular", n["kind"].lower()),
                     "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]}
                if n.get("shortNames"):
                    r["shortNames"] = n["shortNames"]
                if "status" in (v.get("subresources") or {}):
                    r["subresources"] = [{"subresource": "status", "responseKind": r["responseKind"],
                                          "verbs": ["get", "patch", "update"]}]
                out.append(r)
    return out


def legacy_list(group, version, resources):
    items = []
    for r in resources:
        item = {"name": r["resource"], "singularName": r.get("singularResource", ""),
                "namespaced": r["scope"] == "Namespaced", "kind": r["responseKind"]["kind"],
                "verbs": r["verbs"]}
        for k in ("shortNames", "categories"):
            if r.get(k):
                item[k] = r[k]
        items.append(item)
        for sub in r.get("subresources") or []:
            items.append({"name": f'{r["resource"]}/{sub["subresource"]}', "singularName": "",
                          "namespaced": r["scope"] == "Namespaced", "kind": sub["responseKind"]["kind"],
                          "verbs": sub["verbs"]})
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": items}


def discovery_version(s, group, version):
    groups = {g: (vs, src) for g, vs, src in s.groups()}
    if group and group not in groups:
        return text(404, "404 page not found\n")
    if group and groups[group][1] == "aggregated":
        a = next(a for a in s.apiservices() if a["spec"]["group"] == group)
        svc = a["spec"]["service"]
        if not s.endpoints_ready(svc["namespace"], svc["name"]):
            return text(503, "service unavailable\n")
        return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}", "resources": []}
    if (group and version not in groups[group][0]) or (not group and version != "v1"):
        return status(404, "NotFound", "the server could not find the requested resource", {})
    return 200, legacy_list(group, version, resources_of(s, group, version))


def group_doc(name, versions):
    vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": vs, "preferredVersion": vs[0]}


def discovery_group(s, group):
    for g, vs, _ in s.groups():
        if g == group:
            return 200, dict({"kind": "APIGroup", "apiVersion": "v1"}, **group_doc(g, vs))
    return text(404, "404 page not found\n")


def discovery_groups(s):
    return 200, {"kind": "APIGroupList", "apiVersion": "v1",
                 "groups": [group_doc(g, vs) for g, vs, _ in s.groups()]}


def discovery_aggregated(s, core):
    ctype = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    items = []
    if core:
        items.append({"metadata": {}, "versions": [
            {"version": "v1", "resources": resources_of(s, "", "v1"), "freshness": "Current"}]})
    else:
        for g, vs, src in s.groups():
            versions = []
            for v in vs:
                if src == "aggregated":
                    a = next(a for a in s.apiservices() if a["spec"]["group"] == g)
                    svc = a["spec"]["service"]
                    fresh = s.endpoints_ready(svc["namespace"], svc["name"])
                    versions.append({"version": v, "freshness": "Current" if fresh else "Stale"})
                else:
                    versions.append({"version": v, "resources": resources_of(s, g, v), "freshness": "Current"})
            items.append({"metadata": {"name": g}, "versions": versions})
    return 200, {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
                 "metadata": {}, "items": items}, ctype


# ---------------------------------------------------------------- controllers

def settle(self):
    """Brings every object's status to what the controllers would have written by now."""
    finish_deletions(self)
    now = self.clock.now()
    for key, obj in list(self.store.items()):
        if "deletionTimestamp" in obj["metadata"]:
            continue
        born = self.created.get(key, 0)
        before = copy.deepcopy(obj)
        kind = obj["kind"]
        if kind == "CustomResourceDefinition":
            crd_status(self, obj)
        elif kind == "APIService" and (obj.get("spec") or {}).get("service") and self.controllers:
            svc = obj["spec"]["service"]
            ready = self.endpoints_ready(svc["namespace"], svc["name"])
            obj["status"] = {"conditions": [{"type": "Available", "status": "True" if ready else "False",
                                             "lastTransitionTime": self.clock.stamp(born),
                                             "reason": "Passed" if ready else "MissingEndpoints",
                                             "message": "all checks passed" if ready else
                                             f'endpointslices for service/{svc["name"]} in "{svc["namespace"]}" have no addresses with port name "https"'}]}
            status_owner(self, obj, "kube-apiserver", {("f:status", "f:conditions", "."),
                                                       ("f:status", "f:conditions", 'k:{"type":"Available"}', ".")})
        elif kind == "Deployment" and (self.controllers or self.pods_run) and now > born:
            deployment_status(self, obj, now - born, born)
        elif kind == "Job" and (self.controllers or self.pods_run) and now >= born + 1 - 1e-9:
            job_status(self, obj, now, born)
        elif kind == "Pod" and self.pods_run and now >= born + 1 - 1e-9:
            pod_status(self, obj, born)
        if obj != before:
            obj["metadata"]["resourceVersion"] = self.next_rv()


Server.settle = settle


def status_owner(s, obj, manager, paths):
    entries = obj["metadata"].setdefault("managedFields", [])
    if not any(e["manager"] == manager and e.get("subresource") == "status" for e in entries):
        entries.append(s.entry(manager, "Update", obj["apiVersion"], paths, "status"))


def crd_status(s, crd):
    ok, established, reason, message, accepted = s.crd_state(crd)
    born = s.created.get(s.key_of(crd), 0)
    names_cond = {"type": "NamesAccepted", "status": "True" if ok else "False",
                  "lastTransitionTime": s.clock.stamp(born),
                  "reason": "NoConflicts" if ok else reason,
                  "message": "no conflicts found" if ok else message}
    est_cond = {"type": "Established", "status": "True" if established else "False",
                "lastTransitionTime": s.clock.stamp(born),
                "reason": "InitialNamesAccepted" if established else ("Installing" if ok else "NotAccepted"),
                "message": "the initial names have been accepted" if established else
                ("the initial names have been accepted" if ok else "not all names are accepted")}
    crd["status"] = {"conditions": [names_cond, est_cond], "acceptedNames": accepted,
                     "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")]}
    fields = {("f:status", "f:acceptedNames", f"f:{k}") for k in accepted}
    for t in ("Established", "NamesAccepted"):
        base = ("f:status", "f:conditions", 'k:{"type":"%s"}' % t)
        fields |= {base + (".",)} | {base + (f"f:{f}",) for f in
                                     ("lastTransitionTime", "message", "reason", "status", "type")}
    entries = crd["metadata"].setdefault("managedFields", [])
    mine = [e for e in entries if e["manager"] == "kube-apiserver" and e.get("subresource") == "status"]
    if not mine or from_fields_v1(mine[0]["fieldsV1"]) != fields:
        entries[:] = [e for e in entries if e not in mine]
        entries.append(s.entry("kube-apiserver", "Update", crd["apiVersion"], fields, "status"))


DEPLOYMENT_STATUS = {("f:status", f"f:{k}") for k in
                     ("observedGeneration", "replicas", "terminatingReplicas", "unavailableReplicas",
                      "updatedReplicas")} | {("f:status", "f:conditions", ".")} | {
    ("f:status", "f:conditions", 'k:{"type":"%s"}' % t, f) for t in ("Available", "Progressing")
    for f in (".", "f:lastTransitionTime", "f:lastUpdateTime", "f:message", "f:reason", "f:status", "f:type")}


def deployment_status(s, obj, age, born):
    annotations = obj["metadata"].setdefault("annotations", {})
    annotations.setdefault("deployment.kubernetes.io/revision", "1")
    status_owner(s, obj, "kube-controller-manager", DEPLOYMENT_STATUS | {
        ("f:metadata", "f:annotations", "."),
        ("f:metadata", "f:annotations", "f:deployment.kubernetes.io/revision")})
    replicas = obj["spec"].get("replicas", 1)
    deadline = obj["spec"].get("progressDeadlineSeconds", 600)
    gen = obj["metadata"].get("generation", 1)
    rs = f'ReplicaSet "{obj["metadata"]["name"]}-5d8f7c9b4"'
    if s.pods_run:
        obj["status"] = {"observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas,
                         "readyReplicas": replicas, "availableReplicas": replicas,
                         "conditions": [
                             {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                              "message": "Deployment has minimum availability."},
                             {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                              "message": f"{rs} has successfully progressed."}]}
        return
    stuck = age >= deadline + 1
    progressing = ({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                    "lastTransitionTime": s.clock.stamp(born + deadline + 1),
                    "message": f"{rs} has timed out progressing."} if stuck else
                   {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                    "lastTransitionTime": s.clock.stamp(born), "message": f"{rs} is progressing."})
    obj["status"] = {"observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas,
                     "unavailableReplicas": replicas, "terminatingReplicas": 0,
                     "conditions": [{"type": "Available", "status": "False",
                                     "lastTransitionTime": s.clock.stamp(born),
                                     "reason": "MinimumReplicasUnavailable",
                                     "message": "Deployment does not have minimum availability."},
                                    progressing]}


def job_status(s, obj, now, born):
    status_owner(s, obj, "kube-controller-manager", {("f:status", "f:startTime")})
    start = int(born)
    spec = obj.get("spec") or {}
    st = {"startTime": s.clock.stamp(start)}
    if s.pods_run:
        obj["status"] = dict(st, succeeded=1, conditions=[
            {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
            {"type": "Complete", "status": "True", "reason": "CompletionsReached"}])
        return
    deadline = spec.get("activeDeadlineSeconds")
    msg = "Job was active longer than specified deadline"
    if deadline is not None and now >= start + deadline:
        conds = [{"type": "FailureTarget", "status": "True", "lastTransitionTime": s.clock.stamp(start + deadline),
                  "reason": "DeadlineExceeded", "message": msg}]
        failed = now >= start + deadline + 1
        if failed:
            conds.append({"type": "Failed", "status": "True", "lastTransitionTime": s.clock.stamp(start + deadline + 1),
                          "reason": "DeadlineExceeded", "message": msg})
        obj["status"] = dict({"conditions": conds}, **st, failed=1, terminating=0 if failed else 1,
                             uncountedTerminatedPods={}, ready=0)
    else:
        obj["status"] = dict(st, active=1, terminating=0, uncountedTerminatedPods={}, ready=0)


def pod_status(s, obj, born):
    """The kubelet's part, one second after creation: a pod that restarts (restartPolicy
    Always, the default) is Running; one that does not has run to completion, Succeeded, or
    Failed when its first container's command is `false` (exit 1, reason Error, as the kubelet
    reports a container that exited non-zero; the pod itself gets no message)."""
    spec = obj.get("spec") or {}
    containers = spec.get("containers") or [{}]
    status_owner(s, obj, "kubelet", {("f:status", "f:phase"), ("f:status", "f:containerStatuses")})
    if spec.get("restartPolicy", "Always") == "Always":
        obj["status"] = {"phase": "Running", "startTime": s.clock.stamp(born),
                         "containerStatuses": [
                             {"name": c.get("name"), "image": c.get("image"), "ready": True, "restartCount": 0,
                              "started": True, "state": {"running": {"startedAt": s.clock.stamp(born)}}}
                             for c in containers]}
        return
    fails = (containers[0].get("command") or [None])[0] == "false"

    def terminated(i, c):
        code = 1 if fails and i == 0 else 0
        return {"name": c.get("name"), "image": c.get("image"), "ready": False, "restartCount": 0,
                "started": False, "state": {"terminated": {
                    "exitCode": code, "reason": "Error" if code else "Completed",
                    "startedAt": s.clock.stamp(born), "finishedAt": s.clock.stamp(born + 1)}}}
    obj["status"] = {"phase": "Failed" if fails else "Succeeded", "startTime": s.clock.stamp(born),
                     "containerStatuses": [terminated(i, c) for i, c in enumerate(containers)]}


# ---------------------------------------------------------------- control endpoints

def control(s, req):
    if req.path == "/fake/log":
        return 200, {"log": s.log}
    body = json.loads(req.body or b"{}")
    if req.path == "/fake/seed":
        return 201, s.seed(body["object"], body.get("manager"))
    if req.path == "/fake/grant":
        s.grants.append((body["user"], body["namespace"], body["resources"], body["verbs"]))
        return 200, {}
    if req.path == "/fake/restart":
        s.restart = {"stop": float(body["stop"]), "start": float(body["start"])}
        return 200, {}
    if req.path == "/fake/down":
        s.down_until = time.time() + float(body["seconds"])
        return 200, {}
    if req.path == "/fake/config":
        for k in ("controllers", "pods_run", "forbidden", "aggregated"):
            if k in body:
                setattr(s, k, body[k])
        s.faults.extend(body.get("faults", []))
        return 200, {}
    return text(404, "404 page not found\n")


def public(obj):
    """Drops the server's private bookkeeping from a response body."""
    if isinstance(obj, dict):
        return {k: public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return obj


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state = None

    def respond(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        path, _, query = self.path.partition("?")
        auth = self.headers.get("Authorization", "")
        user = auth[7:] if auth.startswith("Bearer ") and auth[7:] in ("limited", "admin") else "admin"
        s = self.server_state
        with LOCK:
            for f in s.faults:
                if f.get("down") and f["times"] > 0 and f"{self.command} {path}".startswith(f["match"]):
                    if f.get("skip", 0) > 0:
                        f["skip"] -= 1
                        continue
                    # The server goes away here, as a restart during a run does.
                    f["times"] -= 1
                    s.down_until = time.time() + f["down"]
        if time.time() < s.down_until:
            # Restarting: the connection closes without an answer, as the real server's did.
            self.close_connection = True
            return
        with LOCK:
            elapsed = self.headers.get("X-Fake-Elapsed")
            s.clock.pinned = float(elapsed) if elapsed is not None else None
            away = is_away(s)
        if away:
            self.close_connection = True
            return
        with LOCK:
            headers = {k.lower(): v for k, v in self.headers.items()}
            result = None
            if "protobuf" in headers.get("content-type", "") and body:
                try:
                    body = json.dumps(kube_protobuf.decode(body)).encode()
                except kube_protobuf.Unsupported as e:
                    result = status(415, "UnsupportedMediaType", f"protobuf body not read here: {e}", {})
            if result is None:
                result = handle(s, Request(self.command, path, query, headers, body, user))
            code, payload = result[0], result[1]
            ctype = result[2] if len(result) > 2 else "application/json"
            extra = result[3] if len(result) > 3 else {}
            data = payload.encode() if isinstance(payload, str) else json.dumps(public(payload)).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, vs in extra.items():
            for v in vs:
                self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PATCH = do_POST = do_DELETE = do_PUT = respond

    def log_message(self, *a):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--controllers", action="store_true")
    ap.add_argument("--pods-run", action="store_true")
    ap.add_argument("--time-scale", type=float, default=1.0)
    a = ap.parse_args()
    Handler.server_state = Server(a.controllers, a.pods_run, a.time_scale)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
