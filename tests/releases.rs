//! Releases on the cluster (in-test API server): every apply with `--release` is an upgrade
//! that prunes what the new revision dropped, recorded as kubectl's ApplySet metadata plus
//! ferry's revision history; status, rollback and uninstall work from the record alone.

mod support;

use serde_json::Value;
use support::apiserver::ApiServer;
use support::{assert_exit, ferry, temp_dir, text};

const V1: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: op, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: v1  # the text is sent as written, the label added into it
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: op, namespace: shop}
spec:
  selector: {matchLabels: {app: op}}
  template:
    metadata: {labels: {app: op}}
    spec:
      containers: [{name: op, image: reg.local/app:v1}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: helper
  namespace: shop
  labels: {app: helper}
spec:
  selector: {matchLabels: {app: helper}}
  template:
    metadata: {labels: {app: helper}}
    spec:
      containers: [{name: h, image: reg.local/helper:v1}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: shop}
spec: {debug: true, replicas: 1}
";

/// v2: `op` on app:v2, `settings` and `helper` gone, a Service added, the CRD dropped from
/// the files (prune keeps it unless asked), the Widget without `debug`.
const V2: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: op, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: op, namespace: shop}
spec:
  selector: {matchLabels: {app: op}}
  template:
    metadata: {labels: {app: op}}
    spec:
      containers: [{name: op, image: reg.local/app:v2}]
---
apiVersion: v1
kind: Service
metadata: {name: op, namespace: shop}
spec:
  selector: {app: op}
  ports: [{port: 80}]
";

/// KEP-3659's id of the parent Secret `ferry.release.shop` in `shop`, computed here as
/// kubectl computes it: base64url(sha256("NAME.NAMESPACE.KIND.GROUP")).
fn kubectl_id() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(b"ferry.release.shop.shop.Secret.");
    format!(
        "applyset-{}-v1",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash)
    )
}

fn apply(server: &ApiServer, file: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let kc = server.own_kubeconfig();
    let mut args = vec![
        "apply",
        file.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--release",
        "shop",
        "-n",
        "shop",
    ];
    args.extend_from_slice(extra);
    ferry(&args)
}

fn status(server: &ApiServer) -> Value {
    let kc = server.own_kubeconfig();
    let out = ferry(&[
        "status",
        "shop",
        "-n",
        "shop",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_exit(&out, 0);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "ferry.status/v1");
    v["releases"][0].clone()
}

fn exists(server: &ApiServer, path: &str) -> bool {
    server.get(path).is_some()
}

const HELPER: &str = "/apis/apps/v1/namespaces/shop/deployments/helper";
const SETTINGS: &str = "/api/v1/namespaces/shop/configmaps/settings";
const SERVICE: &str = "/api/v1/namespaces/shop/services/op";
const WIDGET: &str = "/apis/example.com/v1/namespaces/shop/widgets/w";
const CRD: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com";
const PARENT: &str = "/api/v1/namespaces/shop/secrets/ferry.release.shop";

#[test]
fn an_upgrade_prunes_what_it_dropped_and_rollback_and_uninstall_work_from_the_record() {
    let dir = temp_dir("releases");
    let (v1, v2) = (dir.join("v1.yaml"), dir.join("v2.yaml"));
    std::fs::write(&v1, V1).unwrap();
    std::fs::write(&v2, V2).unwrap();
    let server = ApiServer::start_with(&["--controllers"]);

    let out = apply(&server, &v1, &[]);
    assert_exit(&out, 0);
    // kubectl's ApplySet: the parent's id is KEP-3659's hash of the parent's own name.
    let parent = server.get(PARENT).expect("the parent Secret");
    let id = parent["metadata"]["labels"]["applyset.kubernetes.io/id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(id, kubectl_id());
    let annotations = &parent["metadata"]["annotations"];
    assert_eq!(
        annotations["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap,CustomResourceDefinition.apiextensions.k8s.io,Deployment.apps,Namespace,ServiceAccount,Widget.example.com"
    );
    assert_eq!(
        annotations["applyset.kubernetes.io/additional-namespaces"],
        ""
    );
    assert!(
        annotations["applyset.kubernetes.io/tooling"]
            .as_str()
            .unwrap()
            .starts_with("ferry/v")
    );
    // Every member carries part-of, namespaces and service accounts included; their own
    // labels and data stay.
    for path in [
        "/api/v1/namespaces/shop",
        "/api/v1/namespaces/shop/serviceaccounts/op",
        SETTINGS,
        HELPER,
        WIDGET,
        CRD,
    ] {
        let o = server.get(path).unwrap();
        assert_eq!(
            o["metadata"]["labels"]["applyset.kubernetes.io/part-of"], id,
            "{path}"
        );
    }
    assert_eq!(server.get(SETTINGS).unwrap()["data"]["mode"], "v1");
    assert_eq!(
        server.get(HELPER).unwrap()["metadata"]["labels"]["app"],
        "helper"
    );

    // A server dry run of v2 says what prune would delete and deletes nothing.
    let dry = apply(&server, &v2, &["--dry-run", "server"]);
    assert_exit(&dry, 0);
    let said = text(&dry.stdout);
    assert!(
        said.contains("Deployment/helper would be deleted (not in revision 2)"),
        "{said}"
    );
    assert!(exists(&server, HELPER) && exists(&server, SETTINGS));

    let out = apply(&server, &v2, &[]);
    assert_exit(&out, 0);
    let said = text(&out.stdout);
    for line in [
        "Deployment/helper deleted (not in revision 2)",
        "ConfigMap/settings deleted (not in revision 2)",
        "Widget/w deleted (not in revision 2)",
    ] {
        assert!(said.contains(line), "{line} not in {said}");
    }
    assert!(
        text(&out.stderr).contains(
            "CustomResourceDefinition/widgets.example.com not in revision 2, kept: deleting a CRD"
        ),
        "{}",
        text(&out.stderr)
    );
    assert!(!exists(&server, HELPER) && !exists(&server, SETTINGS) && !exists(&server, WIDGET));
    assert!(exists(&server, SERVICE) && exists(&server, CRD));
    // After pruning the parent names only what the members now are, as kubectl narrows it.
    let parent = server.get(PARENT).unwrap();
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "Deployment.apps,Namespace,Service,ServiceAccount"
    );

    let s = status(&server);
    assert_eq!(s["current"]["revision"], 2);
    assert_eq!(s["current"]["status"], "deployed");
    assert_eq!(s["history"][0][1], "superseded");
    let members: Vec<String> = s["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{}/{}", m["kind"], m["name"]).replace('"', ""))
        .collect();
    assert_eq!(
        members,
        [
            "Namespace/shop",
            "ServiceAccount/op",
            "Service/op",
            "Deployment/op"
        ]
    );
    assert!(
        s["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["uid"].is_string())
    );

    // Rollback needs no files: revision 1's manifests come from the record.
    std::fs::remove_file(&v1).unwrap();
    let kc = server.own_kubeconfig();
    let kc = kc.to_str().unwrap();
    let back = ferry(&["rollback", "shop", "-n", "shop", "--kubeconfig", kc]);
    assert_exit(&back, 0);
    assert!(text(&back.stdout).contains("Service/op deleted (not in revision 3)"));
    assert!(exists(&server, HELPER) && exists(&server, SETTINGS) && exists(&server, WIDGET));
    assert!(!exists(&server, SERVICE));
    let s = status(&server);
    assert_eq!(s["current"]["revision"], 3);
    assert_eq!(s["current"]["description"], "rollback to 1");
    assert_eq!(server.get(WIDGET).unwrap()["spec"]["debug"], true);

    // A revision that does not exist is named with those that do.
    let none = ferry(&["rollback", "shop", "9", "-n", "shop", "--kubeconfig", kc]);
    assert_exit(&none, 2);
    assert!(text(&none.stderr).contains("release shop has no revision 9 (it has 1, 2, 3)"));

    let gone = ferry(&["uninstall", "shop", "-n", "shop", "--kubeconfig", kc]);
    assert_exit(&gone, 0);
    let said = text(&gone.stderr);
    assert!(
        said.contains("CustomResourceDefinition/widgets.example.com kept"),
        "{said}"
    );
    assert!(said.contains("Namespace/shop kept"), "{said}");
    for path in [
        HELPER,
        SETTINGS,
        WIDGET,
        "/apis/apps/v1/namespaces/shop/deployments/op",
        PARENT,
    ] {
        assert!(!exists(&server, path), "{path} is still there");
    }
    assert!(exists(&server, CRD));
    // What uninstall keeps is no longer a member: kubectl finds no object of the release.
    for kept in [CRD, "/api/v1/namespaces/shop"] {
        let labels = &server.get(kept).unwrap()["metadata"]["labels"];
        assert!(
            labels["applyset.kubernetes.io/part-of"].is_null(),
            "{kept}: {labels}"
        );
    }
    let left = server.get("/api/v1/namespaces/shop/secrets").unwrap();
    assert!(
        left["items"].as_array().unwrap().is_empty(),
        "the record is still there: {left}"
    );
    let nothing = ferry(&["status", "shop", "-n", "shop", "--kubeconfig", kc]);
    assert_exit(&nothing, 2);
    assert!(text(&nothing.stderr).contains("no release shop in namespace shop"));
}

#[test]
fn a_revision_the_server_would_refuse_changes_nothing_and_a_failed_one_prunes_nothing() {
    let dir = temp_dir("releases-failed");
    let (v1, v2, v2_role) = (
        dir.join("v1.yaml"),
        dir.join("v2.yaml"),
        dir.join("v2r.yaml"),
    );
    std::fs::write(&v1, V1).unwrap();
    std::fs::write(&v2, V2).unwrap();
    // v2 with a Role the user may not write: the whole revision is checked first.
    std::fs::write(
        &v2_role,
        format!("{V2}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: r, namespace: shop}}\nrules: []\n"),
    )
    .unwrap();
    let server = ApiServer::start_with(&["--controllers"]);
    assert_exit(&apply(&server, &v1, &[]), 0);
    server.forbid("roles");
    let out = apply(&server, &v2_role, &[]);
    assert_exit(&out, 5);
    let err = text(&out.stderr);
    assert!(err.contains("Role/r") && err.contains("forbidden"), "{err}");
    assert!(err.contains("nothing pushed or applied"), "{err}");
    assert!(
        !exists(&server, SERVICE),
        "the preflight let something through"
    );
    assert!(exists(&server, HELPER) && exists(&server, SETTINGS));
    let s = status(&server);
    assert_eq!(s["current"]["revision"], 1);
    assert_eq!(s["history"].as_array().unwrap().len(), 1);

    // A revision that fails while it is applied (its Deployment never becomes ready) is
    // recorded as failed, and nothing of v1 is pruned.
    let out = apply(&server, &v2, &["--wait", "--timeout", "2s"]);
    assert_exit(&out, 5);
    assert!(
        !text(&out.stdout).contains("deleted"),
        "{}",
        text(&out.stdout)
    );
    assert!(exists(&server, HELPER) && exists(&server, SETTINGS));
    let s = status(&server);
    assert_eq!(s["current"]["revision"], 1);
    assert_eq!(s["history"][1][1], "failed");

    // The rerun completes it.
    let out = apply(&server, &v2, &[]);
    assert_exit(&out, 0);
    assert!(!exists(&server, HELPER) && !exists(&server, SETTINGS));
    let s = status(&server);
    assert_eq!(s["current"]["revision"], 3);
    assert_eq!(s["history"][0][1], "superseded");

    // --no-prune keeps what the files dropped.
    assert_exit(&apply(&server, &v1, &[]), 0);
    let out = apply(&server, &v2, &["--no-prune"]);
    assert_exit(&out, 0);
    assert!(exists(&server, HELPER));
}

/// The API server goes away (every connection closed unanswered, as during a restart) when
/// the first Deployment is applied (a first install: the preflight cannot check objects in
/// the namespace it creates, so this is the real apply).
fn restart_at_first_deployment(server: &ApiServer, seconds: f64) {
    server.configure(serde_json::json!({"faults": [
        {"match": "PATCH /apis/apps/v1/namespaces/shop/deployments", "down": seconds, "times": 1}
    ]}));
}

#[test]
fn an_api_server_restart_during_an_install_is_ridden_out() {
    let dir = temp_dir("releases-restart");
    let v1 = dir.join("v1.yaml");
    std::fs::write(&v1, V1).unwrap();
    let server = ApiServer::start_with(&["--controllers"]);
    restart_at_first_deployment(&server, 3.0);
    let out = apply(&server, &v1, &[]);
    assert_exit(&out, 0);
    assert!(exists(&server, HELPER) && exists(&server, WIDGET));
    assert_eq!(status(&server)["current"]["status"], "deployed");
}

#[test]
fn a_server_that_stays_away_stops_the_run_once_and_the_rerun_completes_it() {
    let dir = temp_dir("releases-gone");
    let v1 = dir.join("v1.yaml");
    std::fs::write(&v1, V1).unwrap();
    let server = ApiServer::start_with(&["--controllers"]);
    restart_at_first_deployment(&server, 6.0);
    let out = apply(&server, &v1, &["--timeout", "3s"]);
    assert_exit(&out, 5);
    let err = text(&out.stderr);
    // One failure, then a stop: not every remaining object failed the same way.
    assert_eq!(err.matches("error: ").count(), 2, "{err}");
    assert!(err.contains("cannot reach the API server"), "{err}");
    assert!(err.contains("run the same command again"), "{err}");
    // The server is back after its 6 s away; the run stopped before the custom resources.
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert!(!exists(&server, WIDGET));
    // Status says the revision was left pending, and how to go on.
    let kc = server.own_kubeconfig();
    let shown = ferry(&[
        "status",
        "shop",
        "-n",
        "shop",
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&shown, 0);
    assert!(
        text(&shown.stdout).contains("revision 1 is pending: the run that applied it stopped"),
        "{}",
        text(&shown.stdout)
    );
    let out = apply(&server, &v1, &[]);
    assert_exit(&out, 0);
    assert!(exists(&server, HELPER) && exists(&server, WIDGET));
    assert_eq!(status(&server)["current"]["status"], "deployed");
}

/// A customer changed the custom resource with kubectl; the upgrade would take that field
/// back. The dry run finds the conflict first: nothing changes (the operator stays on v1),
/// the conflict is named with its manager, and the way on is said.
#[test]
fn an_upgrade_that_conflicts_with_a_customers_edit_changes_nothing() {
    let dir = temp_dir("releases-conflict");
    let (v1, v2) = (dir.join("v1.yaml"), dir.join("v2.yaml"));
    std::fs::write(&v1, V1).unwrap();
    std::fs::write(
        &v2,
        V1.replace("reg.local/app:v1", "reg.local/app:v2")
            .replace("replicas: 1}", "replicas: 2}"),
    )
    .unwrap();
    let server = ApiServer::start_with(&["--controllers"]);
    assert_exit(&apply(&server, &v1, &[]), 0);
    let (code, _, body) = support::http(
        &server.host,
        "PATCH",
        &format!("{WIDGET}?fieldManager=kubectl-edit"),
        &[("Content-Type", "application/merge-patch+json")],
        br#"{"spec": {"replicas": 5}}"#,
    );
    assert_eq!(code, 200, "{}", text(&body));
    let out = apply(&server, &v2, &[]);
    assert_exit(&out, 5);
    let err = text(&out.stderr);
    for said in [
        "Widget/w",
        "409",
        "kubectl-edit",
        "--force-conflicts",
        "nothing pushed or applied",
    ] {
        assert!(err.contains(said), "{said} not in {err}");
    }
    let op = server
        .get("/apis/apps/v1/namespaces/shop/deployments/op")
        .unwrap();
    assert_eq!(
        op["spec"]["template"]["spec"]["containers"][0]["image"],
        "reg.local/app:v1"
    );
    assert_eq!(server.get(WIDGET).unwrap()["spec"]["replicas"], 5);
    // The way on, taken: the customer's field is taken over, and the upgrade goes through.
    let out = apply(&server, &v2, &["--force-conflicts"]);
    assert_exit(&out, 0);
    assert_eq!(server.get(WIDGET).unwrap()["spec"]["replicas"], 2);
}

const HOOKED: &str = "apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: shop}
data: {k: v}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: setup
  namespace: shop
  annotations: {helm.sh/hook: pre-install, helm.sh/hook-delete-policy: hook-succeeded}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: s, image: reg.local/setup:1}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: installed-note
  namespace: shop
  annotations: {helm.sh/hook: post-install}
data: {note: installed}
";

const UPGRADE_HOOKS: &str = "---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: shop
  annotations: {helm.sh/hook: pre-upgrade, helm.sh/hook-delete-policy: hook-succeeded}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: reg.local/migrate:1}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: rolled-back-note
  namespace: shop
  annotations: {helm.sh/hook: pre-rollback}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: deleted-note
  namespace: shop
  annotations: {helm.sh/hook: pre-delete}
";

fn patched(server: &ApiServer, what: &str) -> usize {
    server
        .log()
        .iter()
        .filter(|l| l.starts_with("PATCH") && l.contains(what) && !l.contains("dryRun"))
        .count()
}

/// Helm's hooks by event, the event known from the release's record: install hooks once,
/// upgrade hooks on upgrades, rollback hooks on rollback, delete hooks on uninstall; every
/// hook not run is said, with why.
#[test]
fn hooks_run_on_their_own_events_only() {
    let dir = temp_dir("releases-hooks");
    let (a, b) = (dir.join("a.yaml"), dir.join("b.yaml"));
    std::fs::write(&a, HOOKED).unwrap();
    std::fs::write(&b, format!("{HOOKED}{UPGRADE_HOOKS}")).unwrap();
    let server = ApiServer::start_with(&["--controllers", "--pods-run"]);
    server.seed(
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        "",
    );
    let out = apply(&server, &a, &["--timeout", "30s"]);
    assert_exit(&out, 0);
    assert_eq!(patched(&server, "/jobs/setup"), 1);
    assert!(exists(
        &server,
        "/api/v1/namespaces/shop/configmaps/installed-note"
    ));

    // The same files again: an upgrade. The install hooks do not run again; nothing changes.
    let out = apply(&server, &a, &["--timeout", "30s"]);
    assert_exit(&out, 0);
    let said = text(&out.stdout);
    assert!(
        said.contains("Job/setup skipped (a Helm pre-install hook; this is an upgrade)"),
        "{said}"
    );
    assert!(said.contains("nothing changed"), "{said}");
    assert_eq!(patched(&server, "/jobs/setup"), 1);
    assert_eq!(patched(&server, "/configmaps/installed-note"), 1);

    // An upgrade with an upgrade hook runs it (and not the rollback or delete hooks).
    let out = apply(&server, &b, &["--timeout", "30s"]);
    assert_exit(&out, 0);
    assert_eq!(patched(&server, "/jobs/migrate"), 1);
    let said = text(&out.stdout);
    assert!(
        said.contains(
            "ConfigMap/rolled-back-note skipped (a Helm pre-rollback hook; this is an upgrade)"
        ),
        "{said}"
    );
    assert!(!exists(
        &server,
        "/api/v1/namespaces/shop/configmaps/rolled-back-note"
    ));

    // Back to revision 3 (b's): its rollback hook runs, from the record.
    assert_exit(&apply(&server, &a, &["--timeout", "30s"]), 0);
    let kc = server.own_kubeconfig();
    let kc = kc.to_str().unwrap();
    let back = ferry(&[
        "rollback",
        "shop",
        "3",
        "-n",
        "shop",
        "--kubeconfig",
        kc,
        "--timeout",
        "30s",
    ]);
    assert_exit(&back, 0);
    assert!(exists(
        &server,
        "/api/v1/namespaces/shop/configmaps/rolled-back-note"
    ));
    assert_eq!(
        patched(&server, "/jobs/migrate"),
        1,
        "a rollback ran the upgrade hook"
    );

    // Uninstall runs the delete hook first.
    assert!(!exists(
        &server,
        "/api/v1/namespaces/shop/configmaps/deleted-note"
    ));
    let gone = ferry(&["uninstall", "shop", "-n", "shop", "--kubeconfig", kc]);
    assert_exit(&gone, 0);
    assert!(exists(
        &server,
        "/api/v1/namespaces/shop/configmaps/deleted-note"
    ));
    assert!(!exists(&server, "/api/v1/namespaces/shop/configmaps/app"));
}

/// `--create-namespace`, as Helm's: without it, a namespace that does not exist stops the
/// run before anything is applied (a webhook configuration would otherwise be registered
/// with no Service behind it), naming the flag.
#[test]
fn a_missing_namespace_is_said_before_anything_is_applied_and_created_when_asked() {
    let dir = temp_dir("releases-namespace");
    let file = dir.join("app.yaml");
    std::fs::write(
        &file,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: fresh-reader}\nrules: []\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {k: v}\n",
    )
    .unwrap();
    let server = ApiServer::start_with(&["--controllers"]);
    let kc = server.own_kubeconfig();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "apply",
            file.to_str().unwrap(),
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--release",
            "fresh",
            "-n",
            "fresh",
        ];
        args.extend_from_slice(extra);
        ferry(&args)
    };
    let out = run(&[]);
    assert_exit(&out, 5);
    assert!(
        text(&out.stderr).contains("namespace fresh does not exist: --create-namespace creates it"),
        "{}",
        text(&out.stderr)
    );
    assert!(!exists(
        &server,
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/fresh-reader"
    ));
    let out = run(&["--create-namespace"]);
    assert_exit(&out, 0);
    assert!(text(&out.stdout).contains("Namespace/fresh created"));
    assert!(exists(
        &server,
        "/api/v1/namespaces/fresh/configmaps/settings"
    ));
    assert!(exists(
        &server,
        "/api/v1/namespaces/fresh/secrets/ferry.release.fresh"
    ));
}

/// A member whose label was taken off (a `helm upgrade` of a chart's objects drops it) is
/// still pruned: the record lists it, and the object there is the one recorded (its uid).
/// One replaced by someone else (another uid) is not ferry's to delete.
#[test]
fn a_member_that_lost_its_label_is_pruned_from_the_record() {
    let dir = temp_dir("releases-unlabelled");
    let (v1, v2) = (dir.join("v1.yaml"), dir.join("v2.yaml"));
    std::fs::write(&v1, V1).unwrap();
    std::fs::write(&v2, V2).unwrap();
    let server = ApiServer::start_with(&["--controllers"]);
    assert_exit(&apply(&server, &v1, &[]), 0);
    for path in [HELPER, SETTINGS] {
        let (code, _, body) = support::http(
            &server.host,
            "PATCH",
            &format!("{path}?fieldManager=helm"),
            &[("Content-Type", "application/merge-patch+json")],
            br#"{"metadata": {"labels": {"applyset.kubernetes.io/part-of": null}}}"#,
        );
        assert_eq!(code, 200, "{}", text(&body));
    }
    // settings is replaced by someone else's object of the same name.
    let (code, _, _) = support::http(&server.host, "DELETE", SETTINGS, &[], b"");
    assert_eq!(code, 200);
    server.seed(
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "shop"}, "data": {"owner": "someone"}}),
        "someone",
    );
    let out = apply(&server, &v2, &[]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).contains("Deployment/helper deleted (not in revision 2)"),
        "{}",
        text(&out.stdout)
    );
    assert!(!exists(&server, HELPER));
    assert_eq!(server.get(SETTINGS).unwrap()["data"]["owner"], "someone");
}
