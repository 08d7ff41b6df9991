#!/usr/bin/env python3
"""Peak memory of ferry on one huge `List` document, against the document's size.

Target (issue 16): peak RSS <= 4x the largest document for `scan` and `apply --dry-run
client`. Two shapes, each one document:

- `kubectl`: what `kubectl get deployments -A -o yaml` prints (managedFields, the
  last-applied annotation, status): about one image per 2 KB, as real dumps have.
- `dense`: bare Deployments with two images each in ~650 bytes, a worst case: every
  finding ferry reports is kept (file, line, path, object, parts), so the cost per finding
  shows here; it is printed too.

Peak RSS comes from wait4() of each child, so nothing else is counted.

    cargo build --release && python3 benches/huge_list.py [--mb 100] [--ferry BIN]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

KUBECTL_ITEM = """\
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    annotations:
      deployment.kubernetes.io/revision: "3"
      kubectl.kubernetes.io/last-applied-configuration: |
        {{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"annotations":{{}},"name":"app-{i}","namespace":"ns-{ns}"}},"spec":{{"replicas":2,"selector":{{"matchLabels":{{"app":"app-{i}"}}}},"template":{{"metadata":{{"labels":{{"app":"app-{i}"}}}},"spec":{{"containers":[{{"image":"quay.io/org{ns}/app-{img}:v1.{v}.0","name":"main","ports":[{{"containerPort":8080}}]}}]}}}}}}}}
    creationTimestamp: "2026-11-20T10:11:12Z"
    generation: 3
    labels:
      app: app-{i}
    managedFields:
    - apiVersion: apps/v1
      fieldsType: FieldsV1
      fieldsV1:
        f:metadata:
          f:annotations:
            .: {{}}
            f:kubectl.kubernetes.io/last-applied-configuration: {{}}
          f:labels:
            .: {{}}
            f:app: {{}}
        f:spec:
          f:progressDeadlineSeconds: {{}}
          f:replicas: {{}}
          f:revisionHistoryLimit: {{}}
          f:selector: {{}}
          f:strategy:
            f:rollingUpdate:
              .: {{}}
              f:maxSurge: {{}}
              f:maxUnavailable: {{}}
            f:type: {{}}
          f:template:
            f:metadata:
              f:labels:
                .: {{}}
                f:app: {{}}
            f:spec:
              f:containers:
                k:{{"name":"main"}}:
                  .: {{}}
                  f:image: {{}}
                  f:imagePullPolicy: {{}}
                  f:name: {{}}
                  f:ports:
                    .: {{}}
                    k:{{"containerPort":8080,"protocol":"TCP"}}:
                      .: {{}}
                      f:containerPort: {{}}
                      f:protocol: {{}}
      manager: kubectl-client-side-apply
      operation: Update
      time: "2026-11-20T10:11:12Z"
    name: app-{i}
    namespace: ns-{ns}
    resourceVersion: "{rv}"
    uid: 6f1c{i:08x}-4b1e-4a8e-9c7d-0123456789ab
  spec:
    progressDeadlineSeconds: 600
    replicas: 2
    revisionHistoryLimit: 10
    selector:
      matchLabels:
        app: app-{i}
    strategy:
      rollingUpdate:
        maxSurge: 25%
        maxUnavailable: 25%
      type: RollingUpdate
    template:
      metadata:
        creationTimestamp: null
        labels:
          app: app-{i}
      spec:
        containers:
        - image: quay.io/org{ns}/app-{img}:v1.{v}.0
          imagePullPolicy: IfNotPresent
          name: main
          ports:
          - containerPort: 8080
            protocol: TCP
          resources: {{}}
          terminationMessagePath: /dev/termination-log
          terminationMessagePolicy: File
        dnsPolicy: ClusterFirst
        restartPolicy: Always
        schedulerName: default-scheduler
        securityContext: {{}}
        terminationGracePeriodSeconds: 30
  status:
    availableReplicas: 2
    conditions:
    - lastTransitionTime: "2026-11-20T10:11:20Z"
      lastUpdateTime: "2026-11-20T10:11:20Z"
      message: Deployment has minimum availability.
      reason: MinimumReplicasAvailable
      status: "True"
      type: Available
    observedGeneration: 3
    readyReplicas: 2
    replicas: 2
    updatedReplicas: 2
"""

DENSE_ITEM = """\
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: app-{i}
    namespace: ns-{ns}
    labels: {{app: app-{i}, tier: "backend"}}
  spec:
    replicas: 3
    selector:
      matchLabels: {{app: app-{i}}}
    template:
      metadata:
        labels: {{app: app-{i}}}
      spec:
        containers:
        - name: main
          image: quay.io/org{ns}/app-{img}:v1.{v}.0
          args: ["--log-level=info", "--sidecar-image=quay.io/org/sidecar:v{v}", "--port=8080"]
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
"""


def write_list(path, item, megabytes):
    """One List document of about `megabytes` MB; returns its size and item count."""
    target = megabytes * 1_000_000
    size = 0
    count = 0
    with open(path, "w") as out:
        out.write("apiVersion: v1\nitems:\n")
        while size < target:
            text = item.format(i=count, ns=count % 13, img=count % 50, v=count % 7,
                               rv=100000 + count)
            out.write(text)
            size += len(text)
            count += 1
        out.write('kind: List\nmetadata:\n  resourceVersion: ""\n')
    return os.path.getsize(path), count


def peak(argv):
    """Runs argv with output discarded; returns (peak RSS bytes, seconds, exit status)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return usage.ru_maxrss * 1024, time.monotonic() - start, os.waitstatus_to_exitcode(status)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="size of each List (MB)")
    parser.add_argument("--ferry", default="target/release/ferry")
    parser.add_argument("--workdir", default=None, help="where the Lists are written")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(dir=args.workdir) as work:
        for shape, item in (("kubectl", KUBECTL_ITEM), ("dense", DENSE_ITEM)):
            path = os.path.join(work, f"{shape}.yaml")
            size, items = write_list(path, item, args.mb)
            print(f"{shape}: one List of {size / 1e6:.1f} MB, {items} Deployments")
            runs = {
                "scan -o list": [args.ferry, "scan", path, "-o", "list"],
                "scan -o json": [args.ferry, "scan", path, "-o", "json"],
                "apply --dry-run client": [args.ferry, "apply", "--dry-run", "client", path],
                "rewrite --diff": [args.ferry, "rewrite", path, "--to", "r.example/m",
                                   "--diff"],
            }
            for name, argv in runs.items():
                rss, seconds, code = peak(argv)
                # rewrite --diff exits 1 when it shows a difference, as diff(1) does.
                ok = code == 0 or (name.startswith("rewrite") and code == 1)
                failed |= not ok
                print(f"  {name:24} peak {rss / 1e6:7.1f} MB = {rss / size:4.2f}x the document"
                      f"  {seconds:5.1f} s{'' if ok else f'  EXIT {code}'}")
            os.remove(path)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
