//! `ferry apply` where clusters make it hard: a broken aggregated API, a server dry run on a
//! fresh cluster, webhooks whose pods are not up, workloads that never become ready, a busy
//! or unreachable server. Against the fake API server (tests/support/kube-apiserver.py).

mod support;

use std::time::Instant;

use serde_json::json;
use support::apiserver::ApiServer;
use support::{assert_exit, ferry, ferry_env, temp_dir, text};

fn apply(dir: &std::path::Path, kc: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
    ];
    args.extend(extra);
    ferry(&args)
}

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const WIDGET_CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true}]
";

/// An APIService without a backend (metrics-server down) does not stop an apply; only an
/// object of that API fails, saying why. With aggregated discovery and without it.
#[test]
fn a_broken_aggregated_api_is_skipped_not_fatal() {
    for aggregated in [true, false] {
        let server = ApiServer::start_with(&["--controllers"]);
        server.configure(json!({"aggregated": aggregated}));
        server.seed(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}}),
            "setup",
        );
        server.seed(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "metrics-server", "namespace": "monitoring"},
                   "spec": {"selector": {"app": "metrics-server"}, "ports": [{"port": 443}]}}),
            "setup",
        );
        server.seed(
            json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1beta1.metrics.k8s.io"},
                   "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 100,
                            "service": {"name": "metrics-server", "namespace": "monitoring"}}}),
            "setup",
        );
        let dir = temp_dir(&format!("apply-agg-{aggregated}"));
        let kc = server.kubeconfig(&dir);
        let input = dir.join("in");
        std::fs::create_dir_all(&input).unwrap();
        write(
            &input,
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: monitoring}\n",
        );
        let out = apply(&input, &kc, &[]);
        assert_exit(&out, 0);
        let err = text(&out.stderr);
        assert!(
            err.contains("metrics.k8s.io/v1beta1 is not available on the server"),
            "aggregated={aggregated}: {err}"
        );
        write(
            &input,
            "pm.yaml",
            "apiVersion: metrics.k8s.io/v1beta1\nkind: PodMetrics\nmetadata: {name: p, namespace: monitoring}\n",
        );
        let out = apply(&input, &kc, &[]);
        assert_exit(&out, 5);
        let s = text(&out.stdout) + &text(&out.stderr);
        assert!(
            s.contains("error: PodMetrics/p") && s.contains("is not available on the server"),
            "aggregated={aggregated}: {s}"
        );
    }
}

/// On a cluster without the input's namespace and CRD, a server dry run checks what it can
/// and says what it could not, instead of failing those objects.
#[test]
fn a_server_dry_run_on_a_fresh_cluster_says_what_it_could_not_check() {
    let server = ApiServer::start();
    let dir = temp_dir("apply-dry-fresh");
    let kc = server.kubeconfig(&dir);
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    write(&input, "00-crd.yaml", WIDGET_CRD);
    write(
        &input,
        "10-app.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: d, namespace: default}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\n",
    );
    let out = apply(&input, &kc, &["--dry-run", "server"]);
    assert_exit(&out, 0);
    let s = text(&out.stdout);
    for line in [
        "CustomResourceDefinition/widgets.example.com would be created",
        "Namespace/shop would be created",
        "ConfigMap/c not checked: needs Namespace shop from this input",
        "ConfigMap/d would be created",
        "Widget/w not checked: needs CRD widgets.example.com from this input",
        "2 not checked",
    ] {
        assert!(s.contains(line), "{line:?} missing:\n{s}");
    }
    assert!(server.get("/api/v1/namespaces/shop").is_none());
}

const WEBHOOKED: &str = "apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: operator, namespace: shop}
spec:
  selector: {matchLabels: {app: operator}}
  template:
    metadata: {labels: {app: operator}}
    spec:
      containers: [{name: op, image: reg.local/op:1}]
---
apiVersion: v1
kind: Service
metadata: {name: webhook, namespace: shop}
spec:
  selector: {app: operator}
  ports: [{port: 443, targetPort: 9443}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: widgets.example.com}
webhooks:
- name: validate.widgets.example.com
  clientConfig:
    service: {name: webhook, namespace: shop, path: /validate, port: 443}
  rules:
  - apiGroups: [example.com]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [widgets]
  failurePolicy: Fail
  sideEffects: None
  admissionReviewVersions: [v1]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: shop}
";

/// A webhook configuration goes in once the service behind it has ready endpoints, and the
/// custom resources it admits after it; where the pods never come up, the wait ends at the
/// run's deadline naming the service.
#[test]
fn webhooks_wait_for_their_backends_before_custom_resources() {
    let server = ApiServer::start();
    let dir = temp_dir("apply-webhooks");
    let kc = server.kubeconfig(&dir);
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    write(&input, "00-crd.yaml", WIDGET_CRD);
    write(&input, "10-app.yaml", WEBHOOKED);
    let out = apply(&input, &kc, &[]);
    assert_exit(&out, 0);
    let log = server.log();
    let at = |needle: &str| {
        log.iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} never requested: {log:?}"))
    };
    assert!(
        at("PATCH /apis/apps/v1/namespaces/shop/deployments/operator")
            < at("GET /api/v1/namespaces/shop/endpoints/webhook")
    );
    assert!(
        at("GET /api/v1/namespaces/shop/endpoints/webhook")
            < at("PATCH /apis/admissionregistration.k8s.io")
    );
    assert!(
        at("PATCH /apis/admissionregistration.k8s.io")
            < at("PATCH /apis/example.com/v1/namespaces/shop/widgets/w")
    );

    // Pods that never run: the wait ends at the deadline, naming the service.
    let stuck = ApiServer::start_with(&["--controllers"]);
    let kc = stuck.own_kubeconfig();
    let started = Instant::now();
    let out = apply(&input, &kc, &["--timeout", "2s"]);
    assert_exit(&out, 5);
    assert!(started.elapsed().as_secs() < 30);
    let s = text(&out.stdout) + &text(&out.stderr);
    assert!(
        s.contains(
            "the service shop/webhook behind ValidatingWebhookConfiguration/widgets.example.com"
        ) && s.contains("no ready endpoints"),
        "{s}"
    );
    // The webhook is not registered without a backend: it would fail every request it
    // admits, cluster-wide; it is counted failed, not also changed.
    assert!(
        stuck
            .get("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/widgets.example.com")
            .is_none()
    );
    assert!(
        !text(&out.stdout).contains("ValidatingWebhookConfiguration/widgets.example.com created"),
        "{s}"
    );
}

/// `--wait` waits for every workload at once until one deadline, and a workload that can no
/// longer succeed fails at once (a rollout past its progress deadline, a failed Job).
#[test]
fn waits_share_one_deadline_and_fail_fast() {
    let server = ApiServer::start_with(&["--controllers"]);
    let dir = temp_dir("apply-waits");
    let kc = server.kubeconfig(&dir);
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    write(
        &input,
        "app.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: stuck, namespace: default}\nspec:\n  progressDeadlineSeconds: 1\n  selector: {matchLabels: {app: s}}\n  template:\n    metadata: {labels: {app: s}}\n    spec: {containers: [{name: a, image: reg.local/a:1}]}\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate, namespace: default}\nspec:\n  activeDeadlineSeconds: 1\n  backoffLimit: 0\n  template:\n    spec: {restartPolicy: Never, containers: [{name: m, image: reg.local/m:1}]}\n",
    );
    let started = Instant::now();
    let out = apply(&input, &kc, &["--wait", "--timeout", "5m"]);
    let took = started.elapsed().as_secs();
    assert_exit(&out, 5);
    assert!(took < 30, "failed after {took}s, not at once");
    let s = text(&out.stdout) + &text(&out.stderr);
    assert!(
        s.contains("error: Deployment/stuck") && s.contains("ProgressDeadlineExceeded"),
        "{s}"
    );
    assert!(
        s.contains("error: Job/migrate") && s.contains("DeadlineExceeded"),
        "{s}"
    );

    // Two workloads that never report: one deadline for both, not one each.
    let quiet = ApiServer::start_with(&[]);
    let kc = quiet.own_kubeconfig();
    write(
        &input,
        "app.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: default}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec: {containers: [{name: a, image: reg.local/a:1}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b, namespace: default}\nspec:\n  selector: {matchLabels: {app: b}}\n  template:\n    metadata: {labels: {app: b}}\n    spec: {containers: [{name: b, image: reg.local/b:1}]}\n",
    );
    let started = Instant::now();
    let out = apply(&input, &kc, &["--wait", "--timeout", "3s"]);
    let took = started.elapsed().as_secs_f64();
    assert_exit(&out, 5);
    assert!(took < 5.5, "two waits took {took:.1}s under a 3 s deadline");
    let s = text(&out.stdout) + &text(&out.stderr);
    // 3 s is too short for "no controller runs" to be the likely reason: not said.
    assert!(
        s.contains("Deployment/a") && s.contains("Deployment/b") && s.contains("no status yet"),
        "{s}"
    );
    assert!(!s.contains("kube-controller-manager"), "{s}");
}

/// A busy or restarting API server (429 with Retry-After, 503) is asked again.
#[test]
fn transient_api_errors_are_retried() {
    let server = ApiServer::start();
    let dir = temp_dir("apply-retry");
    let kc = server.kubeconfig(&dir);
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    write(
        &input,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\ndata: {a: b}\n",
    );
    server.fail_next("PATCH /api/v1/namespaces/default/configmaps/c", 429, 1);
    server.fail_next("GET /apis", 503, 2);
    let out = apply(&input, &kc, &[]);
    assert_exit(&out, 0);
    let patches = server
        .log()
        .iter()
        .filter(|l| l.starts_with("PATCH /api/v1/namespaces/default/configmaps/c"))
        .count();
    assert_eq!(patches, 2, "the throttled PATCH was not sent again");
    assert!(
        server
            .get("/api/v1/namespaces/default/configmaps/c")
            .is_some()
    );
}

/// No answer at all is said in words, with the server and the context; a kubeconfig that
/// does not exist is bad input; the server's warnings are shown as kubectl shows them.
#[test]
fn unreachable_servers_missing_kubeconfigs_and_warnings_are_said_plainly() {
    let dir = temp_dir("apply-unreachable");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    write(
        &input,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\ndata:\n  on: \"1\"\n  yes: \"2\"\n",
    );
    let closed = support::free_port();
    let kc = dir.join("closed");
    std::fs::write(
        &kc,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"https://127.0.0.1:{closed}\"}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: lab\n  context: {{cluster: c, user: u}}\ncurrent-context: lab\n"),
    )
    .unwrap();
    let out = apply(&input, &kc, &["--context", "lab"]);
    assert_exit(&out, 5);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("cannot reach the API server https://127.0.0.1:{closed}/ (context lab): connection refused")),
        "{err}"
    );

    let out = apply(&input, &dir.join("no-such-kubeconfig"), &[]);
    assert_exit(&out, 3);

    let server = ApiServer::start();
    let kc = server.kubeconfig(&dir);
    let home = temp_dir("apply-warnings-home");
    let out = ferry_env(
        &[
            "apply",
            input.to_str().unwrap(),
            "--kubeconfig",
            kc.to_str().unwrap(),
        ],
        &[],
        &[("HOME", home.as_os_str())],
    );
    assert_exit(&out, 0);
    assert!(
        text(&out.stderr).contains("Warning: ConfigMap/c: line 6: key true already set in map"),
        "{}",
        text(&out.stderr)
    );
}

/// Helm hooks keep their meaning: pre-install hooks by weight (each weight's Jobs run to
/// completion) before the chart's objects, post-install hooks after, delete policies
/// honoured, tests and other events' hooks never applied.
#[test]
fn helm_hooks_run_in_order_and_are_deleted_as_their_policy_says() {
    // Jobs complete a second after they are created; ten times faster here.
    let server = ApiServer::start_with(&["--controllers", "--pods-run", "--time-scale", "10"]);
    let dir = temp_dir("apply-hooks");
    let kc = server.kubeconfig(&dir);
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let job = |name: &str, hook: &str, weight: i32, policy: Option<&str>| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  namespace: default\n  annotations:\n    helm.sh/hook: {hook}\n    helm.sh/hook-weight: \"{weight}\"\n{}spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: c, image: busybox:1.36}}]\n",
            policy.map_or(String::new(), |p| format!(
                "    helm.sh/hook-delete-policy: {p}\n"
            ))
        )
    };
    let docs = [
        job("post", "post-install", 0, Some("hook-succeeded")),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\n".to_string(),
        job("pre-late", "pre-install,pre-upgrade", 5, Some("before-hook-creation")),
        job("cleanup", "pre-delete", 0, None),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: hook-sa\n  namespace: default\n  annotations: {helm.sh/hook: pre-install, helm.sh/hook-weight: \"-10\", helm.sh/hook-delete-policy: \"before-hook-creation,hook-succeeded\"}\n".to_string(),
        job("pre-early", "pre-install", -5, None),
        job("smoke", "test", 0, None),
    ];
    write(&input, "chart-output.yaml", &docs.join("---\n"));

    // A client dry run reads no cluster: it plans a first install's hooks, and says so.
    let planned = apply(&input, &kc, &["--dry-run", "client"]);
    assert_exit(&planned, 0);
    assert!(
        text(&planned.stderr)
            .contains("planned as a first install: a client dry run reads no cluster"),
        "{}",
        text(&planned.stderr)
    );
    assert!(server.log().iter().all(|l| !l.starts_with("PATCH")));

    let out = apply(&input, &kc, &[]);
    assert_exit(&out, 0);
    let log = server.log();
    let patched = |name: &str| {
        log.iter()
            .position(|l| l.starts_with("PATCH") && l.contains(&format!("/{name}?")))
            .unwrap_or_else(|| panic!("{name} not applied: {log:#?}"))
    };
    assert!(patched("hook-sa") < patched("pre-early"), "{log:#?}");
    assert!(patched("pre-early") < patched("pre-late"), "{log:#?}");
    assert!(patched("pre-late") < patched("app"), "{log:#?}");
    assert!(patched("app") < patched("post"), "{log:#?}");
    // The earlier weight ran to completion before the later one was applied.
    let polled = log
        .iter()
        .rposition(|l| l.starts_with("GET") && l.ends_with("/jobs/pre-early"))
        .expect("pre-early awaited");
    assert!(polled < patched("pre-late"), "{log:#?}");
    // hook-succeeded: gone after success; before-hook-creation alone (the default): kept.
    assert!(
        server
            .get("/apis/batch/v1/namespaces/default/jobs/post")
            .is_none()
    );
    assert!(
        server
            .get("/api/v1/namespaces/default/serviceaccounts/hook-sa")
            .is_none()
    );
    assert!(
        server
            .get("/apis/batch/v1/namespaces/default/jobs/pre-early")
            .is_some()
    );
    assert!(
        server
            .get("/apis/batch/v1/namespaces/default/jobs/pre-late")
            .is_some()
    );
    // Never applied: a test, a pre-delete hook.
    assert!(
        server
            .get("/apis/batch/v1/namespaces/default/jobs/smoke")
            .is_none()
    );
    assert!(
        server
            .get("/apis/batch/v1/namespaces/default/jobs/cleanup")
            .is_none()
    );
    let err = text(&out.stderr);
    assert!(err.contains("Job/smoke is a Helm test"), "{err}");
    let said = text(&out.stdout);
    assert!(
        said.contains("Job/cleanup skipped (a Helm pre-delete hook; this is an install)"),
        "{said}"
    );

    // Again: before-hook-creation deletes the old Job before applying it anew (a Job's
    // template cannot change in place).
    let before = server.log().len();
    let out = apply(&input, &kc, &[]);
    assert_exit(&out, 0);
    let log: Vec<String> = server.log().into_iter().skip(before).collect();
    let deleted = log
        .iter()
        .position(|l| l.starts_with("DELETE") && l.contains("/jobs/pre-late"))
        .unwrap_or_else(|| panic!("{log:#?}"));
    let reapplied = log
        .iter()
        .position(|l| l.starts_with("PATCH") && l.contains("/jobs/pre-late?"))
        .unwrap();
    assert!(deleted < reapplied, "{log:#?}");
}

/// `-v` logs each API request with its answer; the bearer token never appears.
#[test]
fn verbose_logs_every_api_request() {
    let server = ApiServer::start();
    let dir = temp_dir("apply-verbose");
    let kc = server.kubeconfig(&dir);
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    write(
        &input,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\n",
    );
    let out = apply(&input, &kc, &["-v"]);
    assert_exit(&out, 0);
    let err = text(&out.stderr);
    assert!(
        err.lines().any(
            |l| l.starts_with("cluster: PATCH /api/v1/namespaces/default/configmaps/c?… -> 20")
        ),
        "{err}"
    );
    assert!(err.contains("cluster: GET /api -> 200"), "{err}");
    let token = std::fs::read_to_string(&kc).unwrap();
    let token = token
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .unwrap_or("no-token-in-kubeconfig");
    assert!(!err.contains(token), "{err}");
}

/// A Pod hook is done when its pod has Succeeded (the fake's kubelet runs it a second after
/// it is created): the chart's objects wait for it. One whose container exits non-zero
/// stops the run, and the container's exit code is what the message gives (a failed pod has
/// no message of its own).
#[test]
fn pod_hooks_are_awaited_until_their_pod_succeeded_and_a_failed_one_says_why() {
    let server = ApiServer::start_with(&["--controllers", "--pods-run", "--time-scale", "10"]);
    let dir = temp_dir("apply-pod-hooks");
    let kc = server.kubeconfig(&dir);
    let pod = |name: &str, command: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: default\n  annotations: {{helm.sh/hook: pre-install}}\nspec:\n  restartPolicy: Never\n  containers: [{{name: c, image: busybox:1.36, command: [{command}]}}]\n"
        )
    };
    let config_map = |name: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: default}}\n")
    };

    let input = dir.join("ok");
    std::fs::create_dir_all(&input).unwrap();
    let docs = [pod("check", "\"true\""), config_map("app")];
    write(&input, "chart-output.yaml", &docs.join("---\n"));
    let out = apply(&input, &kc, &[]);
    assert_exit(&out, 0);
    let log = server.log();
    let succeeded = log
        .iter()
        .rposition(|l| l.starts_with("GET") && l.ends_with("/pods/check"))
        .expect("the pod hook awaited");
    let applied = log
        .iter()
        .position(|l| l.starts_with("PATCH") && l.contains("/configmaps/app?"))
        .expect("app applied");
    assert!(succeeded < applied, "{log:#?}");
    let check = server.get("/api/v1/namespaces/default/pods/check").unwrap();
    assert_eq!(check["status"]["phase"], "Succeeded");

    let input = dir.join("failing");
    std::fs::create_dir_all(&input).unwrap();
    let docs = [pod("migrate", "\"false\""), config_map("after")];
    write(&input, "chart-output.yaml", &docs.join("---\n"));
    let out = apply(&input, &kc, &[]);
    assert_exit(&out, 5);
    let err = text(&out.stderr) + &text(&out.stdout);
    assert!(
        err.contains("migrate") && err.contains("container c exited 1 (Error)"),
        "{err}"
    );
    assert!(
        server
            .get("/api/v1/namespaces/default/configmaps/after")
            .is_none(),
        "applied after a failed pre-install hook: {err}"
    );
}

/// A pre-install hook that fails (here a Job past its activeDeadlineSeconds, failed by the
/// fake's job controller) stops the run before the chart's objects, as Helm does: exit 5,
/// the hook named; a `hook-failed` delete policy removes it, and nothing after it is applied.
#[test]
fn a_failed_pre_install_hook_stops_the_install() {
    let server = ApiServer::start_with(&["--controllers", "--time-scale", "10"]);
    let dir = temp_dir("apply-hook-fails");
    let kc = server.kubeconfig(&dir);
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let docs = [
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  namespace: default\n  annotations:\n    helm.sh/hook: pre-install\n    helm.sh/hook-delete-policy: hook-failed\nspec:\n  activeDeadlineSeconds: 1\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox:1.36}]\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\n",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: announce\n  namespace: default\n  annotations: {helm.sh/hook: post-install}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox:1.36}]\n",
    ];
    write(&input, "chart-output.yaml", &docs.join("---\n"));
    let out = apply(&input, &kc, &[]);
    assert_exit(&out, 5);
    let err = text(&out.stderr) + &text(&out.stdout);
    assert!(err.contains("migrate"), "{err}");
    assert!(
        server
            .get("/api/v1/namespaces/default/configmaps/app")
            .is_none(),
        "applied after a failed pre-install hook: {err}"
    );
    assert!(
        server
            .get("/apis/batch/v1/namespaces/default/jobs/announce")
            .is_none()
    );
    assert!(
        server
            .get("/apis/batch/v1/namespaces/default/jobs/migrate")
            .is_none(),
        "hook-failed: the failed hook is deleted"
    );
}

/// What ferry writes for either OLM (a CatalogSource for v0, a ClusterCatalog for v1) is
/// applied where its kind is served and skipped, said, where it is not: a cluster runs one
/// OLM, and the other's object must not fail the install. Without either: a warning.
#[test]
fn alternatives_for_clusters_of_other_kinds_apply_where_served() {
    let catalog_source = "apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nmetadata:\n  name: ferry-acme\n  namespace: default\n  annotations:\n    ferry.dev/apply-when-served: OLM v0\nspec:\n  sourceType: grpc\n  image: reg.local/olm/catalog@sha256:1111111111111111111111111111111111111111111111111111111111111111\n";
    let cluster_catalog = "apiVersion: olm.operatorframework.io/v1\nkind: ClusterCatalog\nmetadata:\n  name: ferry-acme\n  annotations:\n    ferry.dev/apply-when-served: OLM v1\nspec:\n  source:\n    type: Image\n    image:\n      ref: reg.local/olm/catalog@sha256:1111111111111111111111111111111111111111111111111111111111111111\n";
    for olm_v1 in [false, true] {
        let server = ApiServer::start_with(&["--controllers"]);
        if olm_v1 {
            server.seed(
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                       "metadata": {"name": "clustercatalogs.olm.operatorframework.io"},
                       "spec": {"group": "olm.operatorframework.io", "scope": "Cluster",
                                "names": {"kind": "ClusterCatalog", "plural": "clustercatalogs"},
                                "versions": [{"name": "v1", "served": true, "storage": true}]}}),
                "setup",
            );
            // The API server establishes a CRD a moment after it is created.
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        let dir = temp_dir(&format!("apply-served-{olm_v1}"));
        let kc = server.kubeconfig(&dir);
        let input = dir.join("in");
        std::fs::create_dir_all(&input).unwrap();
        write(&input, "catalogsource.yaml", catalog_source);
        write(&input, "clustercatalog.yaml", cluster_catalog);
        write(
            &input,
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\n",
        );
        let out = apply(&input, &kc, &[]);
        assert_exit(&out, 0);
        let (said, err) = (text(&out.stdout), text(&out.stderr));
        assert!(
            said.contains("CatalogSource/ferry-acme skipped (operators.coreos.com/v1alpha1 CatalogSource is not served here (OLM v0 is not installed)"),
            "{said}"
        );
        assert!(
            server
                .get("/api/v1/namespaces/default/configmaps/c")
                .is_some()
        );
        let applied = server
            .get("/apis/olm.operatorframework.io/v1/clustercatalogs/ferry-acme")
            .is_some();
        assert_eq!(applied, olm_v1, "{said}");
        assert_eq!(
            err.contains("this cluster runs none of OLM v0, OLM v1"),
            !olm_v1,
            "{err}"
        );
    }
}
