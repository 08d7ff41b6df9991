//! `ferry apply` against the in-test API server (tests/support/apiserver.rs).

mod support;

use support::apiserver::ApiServer;
use support::{assert_exit, ferry, ferry_env, temp_dir, text};

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
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
";

const APP: &str = "apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: shop
spec:
  image: reg.local/team/widget:1
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: shop
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          image: reg.local/team/app:1
      volumes:
        - name: cfg
          configMap: {name: cfg, defaultMode: 0644}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: shop
data:
  enabled: \"yes\"
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
";

fn setup(name: &str) -> (ApiServer, support::TempDir, std::path::PathBuf) {
    let server = ApiServer::start();
    let dir = temp_dir(name);
    std::fs::write(dir.join("00-crd.yaml"), CRD).unwrap();
    std::fs::write(dir.join("10-app.yaml"), APP).unwrap();
    let kc = server.own_kubeconfig();
    (server, dir, kc)
}

fn patch_order(server: &ApiServer) -> Vec<String> {
    server
        .log()
        .iter()
        .filter(|l| l.starts_with("PATCH"))
        .map(|l| {
            l.split('?')
                .next()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn applies_in_order_waits_for_crds_and_is_idempotent() {
    let (server, dir, kc) = setup("apply-order");
    let out = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--wait",
        "--timeout",
        "20",
    ]);
    assert_exit(&out, 0);
    assert_eq!(
        patch_order(&server),
        vec!["widgets.example.com", "shop", "cfg", "shop", "w1"]
    );
    let s = text(&out.stdout);
    assert!(
        s.contains("Widget/w1 created") && s.contains("Deployment/shop ready"),
        "{s}"
    );
    {
        // The CRD was polled until Established before the custom resource went in.
        let log = server.log();
        let crd_get = log
            .iter()
            .rposition(|l| {
                l.starts_with("GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets")
            })
            .expect("the CRD was never read back");
        let cr_patch = log
            .iter()
            .position(|l| l.starts_with("PATCH /apis/example.com/v1/namespaces/shop/widgets/w1"))
            .unwrap();
        assert!(crd_get < cr_patch, "{log:?}");
        let dep = server
            .get("/apis/apps/v1/namespaces/shop/deployments/shop")
            .unwrap();
        assert_eq!(
            dep["spec"]["template"]["spec"]["volumes"][0]["configMap"]["defaultMode"], 420,
            "YAML 1.1 octal reached the server as written"
        );
        assert_eq!(dep["metadata"]["managedFields"][0]["manager"], "ferry");
        let cm = server
            .get("/api/v1/namespaces/shop/configmaps/cfg")
            .unwrap();
        assert_eq!(cm["data"]["enabled"], "yes");
    }
    let again = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
    assert!(
        text(&again.stdout).contains("nothing changed"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn errors_name_the_object_and_the_rest_is_still_applied() {
    let (server, dir, kc) = setup("apply-errors");
    std::fs::write(
        dir.join("20-orphan.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lost, namespace: nowhere}\n",
    )
    .unwrap();
    server.seed(
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        "kubectl",
    );
    server.seed(
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"}, "data": {"enabled": "no"}}),
        "kubectl",
    );
    let out = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let s = text(&out.stdout) + &text(&out.stderr);
    assert!(
        s.contains("error: ConfigMap/cfg")
            && s.contains("10-app.yaml:")
            && s.contains("conflict with \"kubectl\"")
            && s.contains("409 Conflict: ")
            && s.contains("(--force-conflicts takes these fields over from their manager)"),
        "{s}"
    );
    assert!(
        s.contains("error: ConfigMap/lost") && s.contains("namespaces \"nowhere\" not found"),
        "{s}"
    );
    assert!(
        s.contains("Widget/w1 created"),
        "later objects still applied: {s}"
    );

    let forced = ferry(&[
        "apply",
        dir.join("10-app.yaml").to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--force-conflicts",
    ]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stdout));
    assert_eq!(
        server
            .get("/api/v1/namespaces/shop/configmaps/cfg")
            .unwrap()["data"]["enabled"],
        "yes"
    );
}

#[test]
fn dry_runs_change_nothing() {
    let (server, dir, kc) = setup("apply-dry");
    let plan = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--dry-run",
        "client",
        "--kubeconfig",
        "/nonexistent",
    ]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    let lines: Vec<String> = text(&plan.stdout).lines().map(str::to_string).collect();
    assert!(
        lines[0].starts_with("crds ")
            && lines[1].starts_with("namespaces ")
            && lines[4].starts_with("custom-resources "),
        "{lines:?}"
    );
    // `--dry-run` takes one form everywhere: alone it is client, `=client` too.
    for form in [&["--dry-run"][..], &["--dry-run=client"]] {
        let same = ferry(
            &[
                &[
                    "apply",
                    "--kubeconfig",
                    "/nonexistent",
                    dir.to_str().unwrap(),
                ][..],
                form,
            ]
            .concat(),
        );
        assert_eq!(
            same.status.code(),
            Some(0),
            "{form:?}: {}",
            text(&same.stderr)
        );
        assert_eq!(text(&same.stdout), text(&plan.stdout), "{form:?}");
    }

    // Server-side dry run: the namespace does not exist yet, so only what can be checked is.
    let ns_only = temp_dir("apply-dry-ns");
    std::fs::write(
        ns_only.join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    )
    .unwrap();
    let out = ferry(&[
        "apply",
        ns_only.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--dry-run",
        "server",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("Namespace/shop would be created"));
    assert!(
        server.get("/api/v1/namespaces/shop").is_none(),
        "dry run stored an object"
    );
    assert!(server.log().iter().any(|l| l.contains("dryRun=All")));

    // Against objects that exist, a server dry run says what would change: the server keeps
    // the stored resourceVersion in its answer, so only the content tells.
    let out = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    std::fs::write(
        dir.join("10-app.yaml"),
        APP.replace("enabled: \"yes\"", "enabled: \"no\""),
    )
    .unwrap();
    let out = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--dry-run",
        "server",
    ]);
    assert_exit(&out, 0);
    let s = text(&out.stdout);
    assert!(
        s.contains("ConfigMap/cfg would be configured") && s.contains("Deployment/shop unchanged"),
        "{s}"
    );
    assert!(s.contains("1 would change, 0 failed"), "{s}");
    assert_eq!(
        server
            .get("/api/v1/namespaces/shop/configmaps/cfg")
            .unwrap()["data"]["enabled"],
        "yes",
        "the dry run changed the object"
    );
}

/// Without `get` permission an object is still applied (the read only labels the result).
#[test]
fn objects_apply_without_read_permission() {
    let server = ApiServer::start();
    server.seed(
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        "setup",
    );
    server.grant("shop", &["configmaps"], &["patch"]);
    let dir = temp_dir("apply-noget");
    std::fs::write(
        dir.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\ndata: {a: b}\n",
    )
    .unwrap();
    let kc_dir = temp_dir("apply-noget-kc");
    let kc = server.kubeconfig_as(&kc_dir, "limited");
    let out = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).contains("ConfigMap/c applied"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        server.get("/api/v1/namespaces/shop/configmaps/c").unwrap()["data"]["a"],
        "b"
    );
}

#[test]
fn wait_timeout_names_what_is_not_ready() {
    // A cluster whose pods never run.
    let server = ApiServer::start_with(&["--controllers"]);
    let dir = temp_dir("apply-wait");
    std::fs::write(dir.join("00-crd.yaml"), CRD).unwrap();
    std::fs::write(dir.join("10-app.yaml"), APP).unwrap();
    let kc = server.own_kubeconfig();
    let out = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--wait",
        "--timeout",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let s = text(&out.stdout) + &text(&out.stderr);
    assert!(
        s.contains("Deployment/shop") && s.contains("Available=False"),
        "{s}"
    );
}

/// The pull secret goes where pods run (the workloads' and custom resources' namespaces), not
/// where only a Role lives; it joins the ServiceAccounts' lists without removing anything or
/// taking over a list another manager applies, and a second apply changes nothing.
#[test]
fn pull_secret_lands_where_pods_run_and_clobbers_nothing() {
    let (server, dir, kc) = setup("apply-pull");
    std::fs::write(
        dir.join("05-sa.yaml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: operator, namespace: shop}\nimagePullSecrets:\n- name: vendor-pull\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {a: b}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: leader-election, namespace: kube-system}\nrules: []\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("20-builder.yaml"),
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: build, namespace: shop}\nspec:\n  template:\n    spec:\n      serviceAccountName: builder\n      restartPolicy: Never\n      containers: [{name: b, image: reg.local/team/b:1}]\n",
    )
    .unwrap();
    // A site admin's account with its own pull secret, applied by another manager.
    server.seed(
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        "site-admin",
    );
    server.seed(
        serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "shop"}, "imagePullSecrets": [{"name": "site-pull"}]}),
        "site-admin",
    );
    let creds = temp_dir("apply-pull-creds");
    let config = support::docker_config(&creds, "reg.local", "robot", "s3cret");
    let apply = || {
        ferry(&[
            "apply",
            dir.to_str().unwrap(),
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--pull-secret",
            "regcred",
            "--registry-config",
            config.to_str().unwrap(),
        ])
    };
    let out = apply();
    assert_exit(&out, 0);
    assert!(!text(&out.stdout).contains("s3cret"));
    let secret = server
        .get("/api/v1/namespaces/shop/secrets/regcred")
        .expect("no secret where the pods run");
    assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
    for ns in ["default", "kube-system"] {
        assert!(
            server
                .get(&format!("/api/v1/namespaces/{ns}/secrets/regcred"))
                .is_none(),
            "a secret in {ns}, where no pod runs"
        );
    }
    let names = |sa: &str| -> Vec<String> {
        server
            .get(&format!("/api/v1/namespaces/shop/serviceaccounts/{sa}"))
            .unwrap()["imagePullSecrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("default"), ["regcred"]);
    assert_eq!(
        names("operator"),
        ["regcred", "vendor-pull"],
        "the manifest's own list kept"
    );
    assert_eq!(
        names("builder"),
        ["site-pull"],
        "another manager's list taken over"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("ServiceAccount builder in shop") && err.contains("belongs to site-admin"),
        "{err}"
    );
    // The secret and the accounts were in place before the first workload.
    let full = server.log();
    let log: Vec<&String> = full.iter().filter(|l| l.starts_with("PATCH")).collect();
    let first_secret = log
        .iter()
        .position(|l| l.contains("/secrets/regcred"))
        .unwrap();
    let default_sa = log
        .iter()
        .position(|l| l.contains("serviceaccounts/default") && l.contains("ferry-pull-secret"))
        .unwrap();
    let deployment = log
        .iter()
        .position(|l| l.contains("/deployments/"))
        .unwrap();
    assert!(
        first_secret < deployment && default_sa < deployment,
        "{log:?}"
    );
    // Applying again: no conflict (nobody else took the operator's list), nothing changes.
    let again = apply();
    assert_exit(&again, 0);
    assert!(
        text(&again.stdout).contains("nothing changed"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn kubeconfig_from_a_kubeconfig_list_and_a_named_context() {
    let (server, dir, kc) = setup("apply-env");
    // A second file naming another context; --context picks the test server's.
    let other_dir = temp_dir("apply-env-other");
    let other = other_dir.join("config");
    std::fs::write(
        &other,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: far\n  cluster: {server: \"http://127.0.0.1:9\"}\nusers:\n- name: far\n  user: {token: x}\ncontexts:\n- name: far\n  context: {cluster: far, user: far}\ncurrent-context: far\n",
    )
    .unwrap();
    let list = format!("{}:{}", other.display(), kc.display());
    let home = temp_dir("apply-env-home");
    let out = ferry_env(
        &["apply", dir.to_str().unwrap(), "--context", "test"],
        &[],
        &[("KUBECONFIG", list.as_ref()), ("HOME", home.as_os_str())],
    );
    assert_exit(&out, 0);
    assert!(server.get("/api/v1/namespaces/shop").is_some());
}

#[test]
fn forbidden_and_invalid_objects_report_the_servers_message() {
    let (server, dir, kc) = setup("apply-403");
    server.forbid("configmaps");
    std::fs::write(
        dir.join("30-bad.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad, namespace: shop}\nspec:\n  replicas: \"two\"\n",
    )
    .unwrap();
    let out = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let s = text(&out.stdout) + &text(&out.stderr);
    assert!(
        s.contains("error: ConfigMap/cfg")
            && s.contains("403")
            && s.contains("cannot patch resource \"configmaps\""),
        "{s}"
    );
    assert!(
        s.contains("error: Deployment/bad")
            && s.contains("30-bad.yaml:1")
            && s.contains(".spec.replicas: expected numeric (int or float), got string"),
        "{s}"
    );
    assert!(s.contains("Deployment/shop created"), "{s}");
}

#[test]
fn list_documents_apply_item_by_item_as_written() {
    let server = ApiServer::start();
    let dir = temp_dir("apply-list");
    std::fs::write(dir.join("00-crd.yaml"), CRD).unwrap();
    // The same objects as one `kind: List`, as `kubectl get -o yaml` writes them.
    let mut list = String::from("apiVersion: v1\nkind: List\nitems:\n");
    for doc in APP.split("---\n") {
        for (i, line) in doc.lines().enumerate() {
            list.push_str(if i == 0 { "- " } else { "  " });
            list.push_str(line);
            list.push('\n');
        }
    }
    list.push_str("metadata:\n  resourceVersion: \"\"\n");
    std::fs::write(dir.join("10-app.yaml"), &list).unwrap();
    let kc = server.own_kubeconfig();
    let out = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    assert_eq!(
        patch_order(&server),
        vec!["widgets.example.com", "shop", "cfg", "shop", "w1"]
    );
    let dep = server
        .get("/apis/apps/v1/namespaces/shop/deployments/shop")
        .unwrap();
    assert_eq!(
        dep["spec"]["template"]["spec"]["volumes"][0]["configMap"]["defaultMode"],
        420
    );
    // Errors name the item's own line.
    std::fs::write(
        dir.join("10-app.yaml"),
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {}\n",
    )
    .unwrap();
    let out = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&out, 3);
    assert!(
        text(&out.stderr).contains("10-app.yaml:7: no metadata.name"),
        "{}",
        text(&out.stderr)
    );
}

/// JSON manifests apply like YAML ones; an object defined twice stops everything before the
/// first request, naming both places; a client dry run with -n does not put cluster-scoped
/// objects in that namespace.
#[test]
fn json_manifests_apply_and_duplicates_are_refused() {
    let server = ApiServer::start();
    let dir = temp_dir("apply-json");
    let kc = server.own_kubeconfig();
    std::fs::write(
        dir.join("ns.json"),
        r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("cm.json"),
        "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\",\"namespace\":\"shop\"},\"data\":{\"mode\":\"0644\"}}\n",
    )
    .unwrap();
    let out = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    let cm = server
        .get("/api/v1/namespaces/shop/configmaps/a")
        .expect("the JSON ConfigMap was applied");
    assert_eq!(cm["data"]["mode"], "0644");

    let plan = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--dry-run",
        "client",
        "-n",
        "other",
    ]);
    assert_exit(&plan, 0);
    let s = text(&plan.stdout);
    assert!(s.contains("Namespace/shop (cluster)"), "{s}");

    std::fs::write(
        dir.join("again.yaml"),
        "# the same ConfigMap, written again\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\n",
    )
    .unwrap();
    let before = server.log().len();
    let out = ferry(&[
        "apply",
        dir.to_str().unwrap(),
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&out, 3);
    let err = text(&out.stderr);
    assert!(
        err.contains("ConfigMap a in shop")
            && err.contains("again.yaml:2")
            && err.contains("cm.json:1"),
        "{err}"
    );
    assert_eq!(
        server.log().len(),
        before,
        "requests were sent before the duplicate was found"
    );
}

/// A kubeconfig that is not there is said in words, with the ways on (kube's own message
/// quoted the path as Rust debug text).
#[test]
fn a_missing_kubeconfig_is_said_in_words() {
    let dir = temp_dir("apply-no-kubeconfig");
    let file = dir.join("cm.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    )
    .unwrap();
    let missing = dir.join("nope");
    let out = ferry(&[
        "apply",
        file.to_str().unwrap(),
        "--kubeconfig",
        missing.to_str().unwrap(),
    ]);
    assert_exit(&out, 3);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{}: no such file", missing.display())) && err.contains("KUBECONFIG"),
        "{err}"
    );
    assert!(!err.contains("'\""), "{err}");
    let out = ferry_env(
        &["apply", file.to_str().unwrap()],
        &["KUBERNETES_SERVICE_HOST"],
        &[("KUBECONFIG", missing.as_os_str())],
    );
    assert_exit(&out, 3);
    assert!(
        text(&out.stderr).contains("no such file"),
        "{}",
        text(&out.stderr)
    );
}
