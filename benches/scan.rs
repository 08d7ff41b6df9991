//! Scan throughput against the YAML parser alone, on a generated multi-document set of at
//! least 50 MB. Prints both times and their ratio (target: scan ≤ 1.5× parse), and the time
//! of a whole rewrite (scan, mapping, edits) against the scan (target: ≤ 2×, at any size:
//! edits are checked by span, never pair by pair).
//!
//! `cargo bench --bench scan` (set FERRY_BENCH_MB to change the size).

use std::fmt::Write;
use std::hint::black_box;
use std::time::{Duration, Instant};

use ferry::scan::{UserRules, scan_str};

const HEX: &str = "4bc453b53cb3d914b45f4b250294236adba2c0e09ff6f03793949e7e39fd4cc1";

fn document(i: usize, out: &mut String) {
    let n = i % 7;
    match n {
        0 | 1 => {
            let _ = write!(
                out,
                "---\n# workload {i}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: ns-{m}\n  labels: {{app: app-{i}, tier: \"backend\"}}\nspec:\n  replicas: 3\n  selector:\n    matchLabels: {{app: app-{i}}}\n  template:\n    metadata:\n      labels: {{app: app-{i}}}\n    spec:\n      serviceAccountName: app-{i}\n      containers:\n        - name: main\n          image: quay.io/org{m}/app-{i}:v1.{n}.0\n          args: [\"--log-level=info\", \"--sidecar-image=quay.io/org/sidecar:v{n}\", \"--port=8080\"]\n          env:\n            - name: RELATED_IMAGE_WORKER\n              value: registry.example.com/worker@sha256:{hex}\n            - name: POD_NAMESPACE\n              valueFrom: {{fieldRef: {{fieldPath: metadata.namespace}}}}\n          resources:\n            limits: {{cpu: 500m, memory: 256Mi}}\n        - name: proxy\n          image: \"quay.io/brancz/kube-rbac-proxy:v0.19.1\"\n      volumes:\n        - name: config\n          configMap: {{name: app-{i}, defaultMode: 0644}}\n",
                m = i % 13,
                hex = HEX
            );
        }
        2 => {
            let _ = write!(
                out,
                "---\napiVersion: app.redislabs.com/v1\nkind: RedisEnterpriseCluster\nmetadata:\n  name: rec-{i}\nspec:\n  nodes: 3\n  redisEnterpriseImageSpec:\n    imagePullPolicy: IfNotPresent\n    repository: redislabs/redis\n    versionTag: 7.4.{n}-102\n  persistentSpec: {{enabled: true, volumeSize: 20Gi}}\n"
            );
        }
        3 => {
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rules-{i}\ndata:\n  rules.yaml: |\n"
            );
            for r in 0..20 {
                let _ = writeln!(
                    out,
                    "    - record: instance:node_cpu_{r}:rate5m\n      expr: sum(rate(container_cpu_usage_seconds_total{{image!=\"\"}}[5m])) by (instance)"
                );
            }
        }
        4 => {
            let _ = write!(
                out,
                "---\n{{\"apiVersion\": \"monitoring.coreos.com/v1\", \"kind\": \"Prometheus\", \"metadata\": {{\"name\": \"k8s-{i}\"}}, \"spec\": {{\"image\": \"quay.io/prometheus/prometheus:v3.{n}.0\", \"replicas\": 2, \"ruleSelector\": {{}}, \"thanos\": {{\"baseImage\": \"quay.io/thanos/thanos\", \"version\": \"v0.38.{n}\"}}}}}}\n"
            );
        }
        5 => {
            let _ = write!(
                out,
                "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: app-{i}:controller\nrules:\n  - apiGroups: [\"\", apps]\n    resources: [pods, deployments, 'configmaps']\n    verbs: [get, list, watch, create, update, patch, delete]\n"
            );
        }
        _ => {
            let _ = write!(
                out,
                "---\nglobal:\n  imageRegistry: \"\"\noperator:\n  image:\n    registry: quay.io\n    repository: example/operator-{i}\n    tag: v2.{n}.0\n    digest: \"\"\n  resources: {{}}\n"
            );
        }
    }
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let mb: usize = std::env::var("FERRY_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let mut text = String::new();
    let mut i = 0;
    while text.len() < mb * 1024 * 1024 {
        document(i, &mut text);
        i += 1;
    }
    println!("input: {} documents, {:.1} MB", i, text.len() as f64 / 1e6);

    let parse = best_of(3, || {
        let mut events = 0usize;
        // The parser as ferry runs it: comments recognized, not emitted as events.
        let mut options = granit_parser::Options::default();
        options.emit_comments = false;
        for e in granit_parser::Parser::new_from_str_with_options(&text, options) {
            e.expect("generated YAML parses");
            events += 1;
        }
        events
    });
    let tree = best_of(3, || {
        ferry::yaml::parse_documents(&text)
            .expect("generated YAML parses")
            .len()
    });
    let rules = UserRules::default();
    let mut hits = 0;
    let scan = best_of(3, || {
        let found = scan_str("bench.yaml", &text, &rules).expect("generated YAML scans");
        hits = found.hits.len();
    });
    let target: ferry::target::Target = "harbor.example.com/team".parse().expect("a target");
    let rewrite = best_of(3, || {
        let found = scan_str("bench.yaml", &text, &rules).expect("generated YAML scans");
        let mapping = target
            .map_all(
                found.hits.iter().map(|h| &h.reference),
                ferry::target::Layout::Path,
            )
            .expect("every reference maps");
        let hits: Vec<&ferry::scan::Hit> = found.hits.iter().collect();
        ferry::rewrite::rewrite_text(&text, &hits, &mapping)
            .expect("rewrites")
            .len()
    });
    println!("hits: {hits}");
    println!(
        "parser alone: {:.3} s ({:.0} MB/s)",
        parse.as_secs_f64(),
        text.len() as f64 / 1e6 / parse.as_secs_f64()
    );
    println!("parse to tree: {:.3} s", tree.as_secs_f64());
    println!(
        "ferry scan:   {:.3} s ({:.0} MB/s)",
        scan.as_secs_f64(),
        text.len() as f64 / 1e6 / scan.as_secs_f64()
    );
    println!(
        "ratio scan/parse: {:.2} (target <= 1.5)",
        scan.as_secs_f64() / parse.as_secs_f64()
    );
    println!(
        "ferry rewrite: {:.3} s; ratio rewrite/scan: {:.2} (target <= 2)",
        rewrite.as_secs_f64(),
        rewrite.as_secs_f64() / scan.as_secs_f64()
    );
}
