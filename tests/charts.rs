//! Helm charts as inputs, rendered by the real Helm (`helm` on PATH: `scripts/tools` puts
//! v4.1.4 there for the tests): scan traces each image to its template and values, a
//! packaged chart reads like its directory, a chart without Helm is an error, and a bundled
//! chart installs.

mod support;

use std::path::{Path, PathBuf};

use support::apiserver::ApiServer;
use support::*;

/// Writes the `demo` chart under `dir`: its image split over registry/repository with the
/// tag from appVersion, a subchart whose image is one string, a test hook whose image
/// comes from values, an image written in a template, and an artifacthub annotation.
fn demo_chart(dir: &Path, registry: &str, hard_coded: Option<&str>) -> PathBuf {
    let chart = dir.join("demo");
    let extra = hard_coded.map_or(String::new(), |image| {
        format!("        - name: helper\n          image: {image}\n")
    });
    let files = [
        (
            "Chart.yaml",
            format!(
                "apiVersion: v2\nname: demo\nversion: 0.3.0\nappVersion: \"1.0\"\nannotations:\n  artifacthub.io/images: |\n    - name: web\n      image: {registry}/app/web:1.0\ndependencies:\n  - name: cache\n    version: 0.1.0\n    condition: cache.enabled\n"
            ),
        ),
        (
            "values.yaml",
            format!(
                "# the web image; its tag defaults to the chart's appVersion\nimage:\n  registry: {registry}\n  repository: app/web\n  tag: \"\"\ntestImage: {registry}/lib/tool:2\ncache:\n  enabled: true\n"
            ),
        ),
        (
            "templates/deployment.yaml",
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ .Release.Name }}}}-web\n  namespace: {{{{ .Release.Namespace }}}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n        - name: web\n          image: \"{{{{ .Values.image.registry }}}}/{{{{ .Values.image.repository }}}}:{{{{ .Values.image.tag | default .Chart.AppVersion }}}}\"\n{extra}"
            ),
        ),
        (
            "templates/tests/test.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-test\n  namespace: {{ .Release.Namespace }}\n  annotations:\n    helm.sh/hook: test\nspec:\n  restartPolicy: Never\n  containers:\n    - name: t\n      image: {{ .Values.testImage }}\n".to_string(),
        ),
        (
            "templates/_helpers.tpl",
            "{{- define \"demo.name\" -}}demo{{- end -}}\n".to_string(),
        ),
        (
            "charts/cache/Chart.yaml",
            "apiVersion: v2\nname: cache\nversion: 0.1.0\n".to_string(),
        ),
        (
            "charts/cache/values.yaml",
            format!("image: {registry}/lib/tool:2\n"),
        ),
        (
            "charts/cache/templates/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-cache\n  namespace: {{ .Release.Namespace }}\nspec:\n  selector: {matchLabels: {app: cache}}\n  template:\n    metadata: {labels: {app: cache}}\n    spec:\n      containers:\n        - name: cache\n          image: {{ .Values.image }}\n".to_string(),
        ),
    ];
    for (name, text) in &files {
        let path = chart.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    chart
}

/// Packages `chart` with Helm and pushes it to the fixture's source registry as an OCI chart;
/// its `oci://` name.
fn push_oci_chart(f: &Fixture, chart: &Path) -> String {
    let helm = |args: &[&str]| {
        let out = std::process::Command::new("helm")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "helm {args:?}: {}", text(&out.stderr));
    };
    helm(&[
        "package",
        chart.to_str().unwrap(),
        "-d",
        f.dir.to_str().unwrap(),
    ]);
    let tgz = f.dir.join("demo-0.3.0.tgz");
    helm(&[
        "push",
        tgz.to_str().unwrap(),
        &format!("oci://{}/vendor/charts", f.src.host),
        "--plain-http",
    ]);
    format!("oci://{}/vendor/charts/demo:0.3.0", f.src.host)
}

/// `ferry bundle CHART -n apps -o DIR/demo.tar`: the bundle's path and the run.
fn bundle_for_apps(f: &Fixture, chart: &Path) -> (PathBuf, std::process::Output) {
    let bundle = f.dir.join("demo.tar");
    let made = ferry(&[
        "bundle",
        chart.to_str().unwrap(),
        "-n",
        "apps",
        "-o",
        bundle.to_str().unwrap(),
        "--cache",
        f.dir.join("cache").to_str().unwrap(),
    ]);
    (bundle, made)
}

/// The images Helm itself renders from `chart` with `values` last, in output order.
fn helm_images(chart: &Path, values: &Path) -> Vec<String> {
    let rendered = std::process::Command::new("helm")
        .args(["template", "demo"])
        .arg(chart)
        .arg("-f")
        .arg(values)
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
    text(&rendered.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("image: "))
        .map(|i| i.trim_matches('"').to_string())
        .collect()
}

fn scan_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["scan", "-o", "json"];
    all.extend_from_slice(args);
    let out = ferry(&all);
    assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn hits_of<'a>(report: &'a serde_json::Value, image: &str) -> Vec<&'a serde_json::Value> {
    report["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["reference"] == image)
        .collect()
}

fn images(report: &serde_json::Value) -> std::collections::BTreeSet<String> {
    report["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["reference"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_chart_is_rendered_and_each_image_traced_to_its_template_and_values() {
    let dir = temp_dir("chart-scan");
    let chart = demo_chart(&dir, "registry.example:5000", Some("busybox:1.36"));
    let report = scan_json(&[
        chart.to_str().unwrap(),
        "--release-name",
        "rel",
        "-n",
        "apps",
    ]);
    assert_eq!(
        images(&report),
        [
            "docker.io/library/busybox:1.36",
            "registry.example:5000/app/web:1.0",
            "registry.example:5000/lib/tool:2",
        ]
        .map(String::from)
        .into(),
        "{report:#}"
    );

    // The tag comes from appVersion: the values file names the repository, the output says
    // which template and command made it.
    let web: Vec<_> = hits_of(&report, "registry.example:5000/app/web:1.0");
    let rendered = web
        .iter()
        .find(|h| h["rule"] == "container-image")
        .expect("the web container");
    assert!(
        rendered["file"]
            .as_str()
            .unwrap()
            .ends_with("demo/values.yaml"),
        "{rendered:#}"
    );
    assert_eq!(rendered["line"], 4, "{rendered:#}");
    assert_eq!(rendered["yaml_path"], ".image", "{rendered:#}");
    assert_eq!(rendered["kind"], "Deployment");
    assert_eq!(rendered["name"], "rel-web");
    assert_eq!(rendered["namespace"], "apps");
    let r = &rendered["rendered"];
    assert!(
        r["template"]
            .as_str()
            .unwrap()
            .ends_with("demo/templates/deployment.yaml"),
        "{r:#}"
    );
    assert!(
        r["by"].as_str().unwrap().starts_with("helm template rel "),
        "{r:#}"
    );
    assert_eq!(r["located"], true);
    // The annotation lists it too, under its own rule.
    let annotated = web
        .iter()
        .find(|h| h["rule"] == "chart-annotation")
        .expect("the annotation's image");
    assert!(
        annotated["file"]
            .as_str()
            .unwrap()
            .ends_with("demo/Chart.yaml")
    );
    assert_eq!(annotated["line"], 8, "{annotated:#}");

    // The subchart's image: its own values file; the test hook's: the parent's.
    let tool = hits_of(&report, "registry.example:5000/lib/tool:2");
    let files: Vec<&str> = tool.iter().map(|h| h["file"].as_str().unwrap()).collect();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("demo/charts/cache/values.yaml"))
            && files.iter().any(|f| f.ends_with("demo/values.yaml")),
        "{files:?}"
    );
    assert!(
        tool.iter()
            .any(|h| h["kind"] == "Pod" && h["name"] == "rel-test"),
        "the test hook's image is found (helm test pulls it)"
    );

    // Written in a template: the template and the line that writes it.
    let busybox = hits_of(&report, "docker.io/library/busybox:1.36");
    assert_eq!(busybox.len(), 1);
    assert!(
        busybox[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("demo/templates/deployment.yaml"),
        "{:#}",
        busybox[0]
    );
    assert_eq!(busybox[0]["line"], 15);
    assert_eq!(busybox[0]["rendered"]["located"], false);

    // The chart's files are not scanned one by one: no template warnings.
    assert_eq!(report["warnings"], serde_json::json!([]), "{report:#}");
}

#[test]
fn helm_options_decide_what_is_rendered() {
    let dir = temp_dir("chart-options");
    let chart = demo_chart(&dir, "registry.example:5000", None);
    let chart = chart.to_str().unwrap();
    let values = dir.join("site-values.yaml");
    std::fs::write(
        &values,
        "image:\n  tag: \"2.0\"\ncache:\n  enabled: false\n",
    )
    .unwrap();
    let report = scan_json(&[chart, "-f", values.to_str().unwrap()]);
    assert_eq!(
        images(&report),
        [
            "registry.example:5000/app/web:1.0",
            "registry.example:5000/app/web:2.0",
            "registry.example:5000/lib/tool:2",
        ]
        .map(String::from)
        .into(),
        "the values file wins; the annotation still says 1.0; no cache subchart"
    );
    assert!(
        hits_of(&report, "registry.example:5000/lib/tool:2")
            .iter()
            .all(|h| h["kind"] == "Pod"),
        "the disabled subchart renders nothing"
    );
    let report = scan_json(&[
        chart,
        "--set",
        "image.tag=3.1",
        "--set-string",
        "testImage=x.io/t:9",
    ]);
    let found = images(&report);
    assert!(
        found.contains("registry.example:5000/app/web:3.1") && found.contains("x.io/t:9"),
        "{found:?}"
    );
}

#[test]
fn a_packaged_chart_reads_like_its_directory() {
    let dir = temp_dir("chart-tgz");
    let chart = demo_chart(&dir, "registry.example:5000", None);
    let out = std::process::Command::new("helm")
        .args(["package", chart.to_str().unwrap(), "-d"])
        .arg(&dir)
        .output()
        .expect("helm on PATH (scripts/tools installs it)");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tgz = dir.join("demo-0.3.0.tgz");
    let from_dir = scan_json(&[chart.to_str().unwrap()]);
    let from_tgz = scan_json(&[tgz.to_str().unwrap()]);
    assert_eq!(images(&from_dir), images(&from_tgz));
    let web = hits_of(&from_tgz, "registry.example:5000/app/web:1.0");
    let rendered = web.iter().find(|h| h["rule"] == "container-image").unwrap();
    assert!(
        rendered["file"]
            .as_str()
            .unwrap()
            .ends_with("demo-0.3.0.tgz:demo/values.yaml"),
        "{rendered:#}"
    );
    assert!(
        rendered["rendered"]["template"]
            .as_str()
            .unwrap()
            .ends_with("demo-0.3.0.tgz:demo/templates/deployment.yaml"),
        "{rendered:#}"
    );
}

#[test]
fn a_chart_without_helm_or_that_helm_refuses_is_an_error() {
    let dir = temp_dir("chart-nohelm");
    let chart = demo_chart(&dir, "registry.example:5000", None);
    let chart = chart.to_str().unwrap();

    let out = ferry(&["scan", chart, "--helm", "/nonexistent/helm"]);
    assert_exit(&out, 3);
    let err = text(&out.stderr);
    assert!(
        err.contains("is a Helm chart") && err.contains("--helm /nonexistent/helm"),
        "{err}"
    );

    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = ferry_env(&["scan", chart], &[], &[("PATH", empty.as_os_str())]);
    assert_exit(&out, 3);
    let err = text(&out.stderr);
    assert!(
        err.contains("is a Helm chart, and helm is not on PATH") && err.contains("--helm BIN"),
        "never a silent values-only scan: {err}"
    );
    assert!(text(&out.stdout).is_empty());

    // rewrite edits YAML; a chart's templates are not YAML: said, nothing written.
    let out = ferry(&["rewrite", chart, "--to", "reg.example/x", "--diff"]);
    assert_exit(&out, 3);
    let err = text(&out.stderr);
    assert!(err.contains("is a Helm chart: rewrite edits YAML"), "{err}");
    assert!(text(&out.stdout).is_empty());

    // A subchart Chart.yaml asks for but that is not there: Helm's own words, the chart named.
    std::fs::remove_dir_all(dir.join("demo/charts/cache")).unwrap();
    let out = ferry(&["scan", chart]);
    assert_exit(&out, 3);
    let err = text(&out.stderr);
    assert!(
        err.contains(chart) && err.contains("helm template failed") && err.contains("cache"),
        "{err}"
    );
}

/// A chart is bundled as Helm renders it (the chart itself rides along under `sources/`),
/// and install applies that output with the images relocated; the test hook is not applied.
#[test]
fn a_chart_is_bundled_rendered_and_installed() {
    let f = fixture("chart-install");
    let chart = demo_chart(&f.dir, &f.src.host, None);
    let ns = f.dir.join("ns.yaml");
    std::fs::write(
        &ns,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n",
    )
    .unwrap();
    let bundle = f.dir.join("demo.tar");
    let r = ferry(&[
        "bundle",
        chart.to_str().unwrap(),
        ns.to_str().unwrap(),
        "-n",
        "apps",
        "-o",
        bundle.to_str().unwrap(),
        "--cache",
        f.dir.join("cache").to_str().unwrap(),
    ]);
    assert_exit(&r, 0);
    let shown = text(&ferry(&["inspect", bundle.to_str().unwrap()]).stdout);
    assert!(
        shown.contains("manifests/demo/helm-output.yaml  (rendered by helm template demo ")
            && shown.contains("from sources/demo)")
            && shown.contains("  sources/demo/templates/_helpers.tpl")
            && shown.contains("  sources/demo/charts/cache/values.yaml"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "    image {0}/app/web:1.0\n    image {0}/lib/tool:2\n",
            f.src.host
        )),
        "the chart's images: {shown}"
    );
    assert_exit(&ferry(&["verify", bundle.to_str().unwrap()]), 0);

    let server = ApiServer::start();
    let kc = server.kubeconfig(&f.dir);
    let to = format!("{}/team", f.dst.host);
    let out = ferry(&[
        "install",
        "--release",
        "app",
        bundle.to_str().unwrap(),
        "--to",
        &to,
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("Pod/demo-test is a Helm test"), "{all}");
    let dep = server
        .get("/apis/apps/v1/namespaces/apps/deployments/demo-web")
        .expect("the chart's deployment applied");
    let image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        image.starts_with(&format!("{to}/app/web:1.0@sha256:")),
        "{image}"
    );
    // Helm's own: its ownership metadata, its field manager.
    assert_eq!(
        dep["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    assert_eq!(
        dep["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "demo"
    );
    assert_eq!(
        dep["metadata"]["annotations"]["meta.helm.sh/release-namespace"],
        "apps"
    );
    let managers: Vec<&str> = dep["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["manager"].as_str())
        .collect();
    assert!(
        managers.contains(&"helm") && !managers.contains(&"ferry"),
        "{managers:?}"
    );
    assert!(
        server
            .get("/apis/apps/v1/namespaces/apps/deployments/demo-cache")
            .is_some()
    );
    assert!(
        server
            .get("/api/v1/namespaces/apps/pods/demo-test")
            .is_none(),
        "a Helm test is never installed"
    );
    assert!(skopeo_exists(&format!("{to}/lib/tool:2"), &[]));

    // Helm reads the chart as its own release: `helm list`, `get manifest`, `history`.
    let helm = |args: &[&str]| {
        let out = std::process::Command::new("helm")
            .args(args)
            .args(["-n", "apps", "--kubeconfig"])
            .arg(&kc)
            .output()
            .unwrap();
        assert!(out.status.success(), "helm {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let listed: serde_json::Value = serde_json::from_str(&helm(&["list", "-o", "json"])).unwrap();
    assert_eq!(listed[0]["name"], "demo", "{listed}");
    assert_eq!(listed[0]["status"], "deployed");
    assert_eq!(listed[0]["chart"], "demo-0.3.0");
    assert_eq!(listed[0]["app_version"], "1.0");
    let manifest = helm(&["get", "manifest", "demo"]);
    assert!(
        manifest.contains("name: demo-web")
            && manifest.contains(&format!("{to}/app/web:1.0@sha256:")),
        "{manifest}"
    );
    assert!(
        !manifest.contains("demo-test"),
        "a test is no member: {manifest}"
    );
    // Installed again: Helm's history has two versions, the first superseded.
    let again = ferry(&[
        "install",
        "--release",
        "app",
        bundle.to_str().unwrap(),
        "--to",
        &to,
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&again, 0);
    let history: serde_json::Value =
        serde_json::from_str(&helm(&["history", "demo", "-o", "json"])).unwrap();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "deployed"], "{history}");
    // Helm's record holds the airgap override, so Helm's own upgrade of the pushed chart with
    // the values ferry used keeps every image at the private registry.
    let values = helm(&["get", "values", "demo", "-o", "json"]);
    assert!(values.contains(&to), "{values}");
    helm(&[
        "upgrade",
        "demo",
        &format!("oci://{to}/charts/demo"),
        "--version",
        "0.3.0",
        "--plain-http",
        "--reuse-values",
        // The in-test API server serves no OpenAPI documents; a real one does.
        "--disable-openapi-validation",
    ]);
    let dep = server
        .get("/apis/apps/v1/namespaces/apps/deployments/demo-web")
        .unwrap();
    let image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(image.starts_with(&format!("{to}/app/web:1.0")), "{image}");
    // And ferry's next install after Helm's upgrade goes through, one owner throughout.
    let after_helm = ferry(&[
        "install",
        "--release",
        "app",
        bundle.to_str().unwrap(),
        "--to",
        &to,
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&after_helm, 0);
    let history: serde_json::Value =
        serde_json::from_str(&helm(&["history", "demo", "-o", "json"])).unwrap();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["superseded", "superseded", "superseded", "deployed"],
        "{history}"
    );
    // Helm rolls back to its own upgrade over ferry's records, too.
    helm(&["rollback", "demo", "3"]);
    let listed: serde_json::Value = serde_json::from_str(&helm(&["list", "-o", "json"])).unwrap();
    assert_eq!(listed[0]["revision"], "5", "{listed}");
    assert_eq!(listed[0]["status"], "deployed", "{listed}");
    // ferry's status says Helm wrote the version that runs now, not ferry.
    assert_eq!(
        status_charts(&kc, "app"),
        serde_json::json!([{"name": "demo", "namespace": "apps", "version": 5, "revision": null}])
    );

    // The chart itself went to the private registry as an OCI chart, as `helm push` lays it
    // out: skopeo sees Helm's media types, and Helm pulls it from there.
    let raw = skopeo_raw(&format!("{to}/charts/demo:0.3.0"), &[]);
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.cncf.helm.config.v1+json"
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    );
    let pulled = f.dir.join("pulled");
    let out = std::process::Command::new("helm")
        .args([
            "pull",
            &format!("oci://{to}/charts/demo"),
            "--version",
            "0.3.0",
        ])
        .args(["--plain-http", "--untar", "--destination"])
        .arg(&pulled)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(pulled.join("demo/values.yaml")).unwrap(),
        std::fs::read(chart.join("values.yaml")).unwrap()
    );
    assert!(
        pulled
            .join("demo/charts/cache/templates/deployment.yaml")
            .is_file()
    );
    let out = std::process::Command::new("helm")
        .args([
            "show",
            "chart",
            &format!("oci://{to}/charts/demo"),
            "--version",
            "0.3.0",
        ])
        .arg("--plain-http")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("appVersion: \"1.0\""),
        "{}",
        text(&out.stdout)
    );
}

/// `helm ARGS -o json --kubeconfig KC`, which must succeed, as JSON.
fn helm_json(kc: &Path, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new("helm")
        .args(args)
        .args(["-o", "json", "--kubeconfig"])
        .arg(kc)
        .output()
        .unwrap();
    assert!(out.status.success(), "helm {args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `charts` of `ferry status RELEASE -o json`, which must succeed.
fn status_charts(kc: &Path, release: &str) -> serde_json::Value {
    let args = [
        "status",
        release,
        "-o",
        "json",
        "--kubeconfig",
        kc.to_str().unwrap(),
    ];
    let out = ferry(&args);
    assert_exit(&out, 0);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    status["releases"][0]["charts"].clone()
}

/// A chart whose templates name no namespace, one object writing `.Release.Namespace` down.
fn namespace_free_chart(dir: &Path, registry: &str) -> PathBuf {
    let chart = dir.join("plain");
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: plain\nversion: 1.0.0\n".to_string(),
        ),
        (
            "templates/all.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ .Release.Name }}}}-where\ndata:\n  namespace: {{{{ .Release.Namespace }}}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ .Release.Name }}}}-web\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n        - name: web\n          image: {registry}/app/web:1.0\n"
            ),
        ),
    ];
    for (name, text) in &files {
        let path = chart.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    chart
}

/// As `helm install` does: a chart's objects that name no namespace land in its release's
/// namespace (the one it was bundled for, else `-n`, else the context's), its templates are
/// rendered for that namespace, and Helm's record is kept there. A bundle's render never
/// reads the vendor's kubeconfig for a namespace.
#[test]
fn a_charts_objects_land_in_its_release_namespace_as_helm_installs_them() {
    let f = fixture("chart-namespace");
    let chart = namespace_free_chart(&f.dir, &f.src.host);
    let server = ApiServer::start();
    let kc = server.kubeconfig(&f.dir);
    let to = format!("{}/team", f.dst.host);
    let cache = f.dir.join("cache");
    let bundle_with = |name: &str, extra: &[&str]| {
        let bundle = f.dir.join(name);
        let mut args = vec![
            "bundle",
            chart.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        // The vendor's own kubeconfig names a namespace: the bundle never renders for it.
        let vendor = f.dir.join("vendor-kubeconfig");
        std::fs::write(
            &vendor,
            "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\ncontexts: [{name: c, context: {cluster: c, namespace: vendor-ns}}]\ncurrent-context: c\nusers: []\n",
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(&args)
            .env("KUBECONFIG", &vendor)
            .output()
            .unwrap();
        plain_words(&args, &out);
        assert_exit(&out, 0);
        bundle
    };
    let install = |bundle: &Path, extra: &[&str]| {
        let mut args = vec![
            "install",
            bundle.to_str().unwrap(),
            "--to",
            &to,
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--create-namespace",
        ];
        args.extend_from_slice(extra);
        let out = ferry(&args);
        assert_exit(&out, 0);
        format!("{}{}", text(&out.stdout), text(&out.stderr))
    };
    let helm_list = |ns: &str| helm_json(&kc, &["list", "-n", ns]);

    // Bundled for no namespace, installed with -n shop: rendered again for shop.
    let anywhere = bundle_with("anywhere.tar", &[]);
    let shown = text(&ferry(&["inspect", anywhere.to_str().unwrap()]).stdout);
    assert!(shown.contains("--namespace=default"), "{shown}");
    assert!(!shown.contains("vendor-ns"), "{shown}");
    // Without Helm at the site, it cannot be rendered for another namespace: said, with the
    // way out, before anything is pushed or applied.
    let no_helm = ferry(&[
        "install",
        anywhere.to_str().unwrap(),
        "--to",
        &to,
        "--kubeconfig",
        kc.to_str().unwrap(),
        "-n",
        "shop",
        "--release",
        "anywhere",
        "--helm",
        "/nonexistent/helm",
    ]);
    assert_exit(&no_helm, 3);
    assert!(
        text(&no_helm.stderr).contains("-n default installs it as it was rendered")
            && text(&no_helm.stderr).contains("--helm /nonexistent/helm is no such program"),
        "{}",
        text(&no_helm.stderr)
    );
    assert!(!skopeo_exists(&format!("{to}/app/web:1.0"), &[]));
    let said = install(&anywhere, &["-n", "shop", "--release", "anywhere"]);
    assert!(
        said.contains("chart plain 1.0.0 rendered for namespace shop (it was bundled for none)"),
        "{said}"
    );
    let where_ = server
        .get("/api/v1/namespaces/shop/configmaps/plain-where")
        .expect("the chart's ConfigMap in -n's namespace");
    assert_eq!(where_["data"]["namespace"], "shop", "{where_}");
    // Its image is written in the template, so no value moves it: the render's output is
    // rewritten as the bundle's own output is, and the record's override is said to lack it.
    let web = server
        .get("/apis/apps/v1/namespaces/shop/deployments/plain-web")
        .expect("the chart's Deployment in -n's namespace");
    let image = web["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(
        image.starts_with(&format!("{to}/app/web:1.0@sha256:")),
        "{image}"
    );
    assert!(
        said.contains(&format!(
            "chart plain 1.0.0: its templates write {}/app/web:1.0 (no value sets them)",
            f.src.host
        )),
        "{said}"
    );
    assert_eq!(helm_list("shop")[0]["name"], "plain");

    // Without -n, the kubeconfig context's namespace, as kubectl and Helm take it.
    let in_context = f.dir.join("kubeconfig-context");
    let config = std::fs::read_to_string(&kc).unwrap();
    assert!(config.contains("namespace: default"), "{config}");
    std::fs::write(
        &in_context,
        config.replace("namespace: default", "namespace: ctx"),
    )
    .unwrap();
    let out = ferry(&[
        "install",
        anywhere.to_str().unwrap(),
        "--to",
        &to,
        "--kubeconfig",
        in_context.to_str().unwrap(),
        "--create-namespace",
        "--release",
        "in-context",
    ]);
    assert_exit(&out, 0);
    let where_ = server
        .get("/api/v1/namespaces/ctx/configmaps/plain-where")
        .expect("the chart's ConfigMap in the context's namespace");
    assert_eq!(where_["data"]["namespace"], "ctx", "{where_}");
    assert_eq!(helm_list("ctx")[0]["name"], "plain");

    // Bundled for apps, installed with the context's namespace (default): the chart's
    // objects land in apps, which --create-namespace makes, beside its Helm record.
    let apps = bundle_with("apps.tar", &["-n", "apps"]);
    install(&apps, &["--release", "apps-release"]);
    let where_ = server
        .get("/api/v1/namespaces/apps/configmaps/plain-where")
        .expect("the chart's ConfigMap in its release's namespace");
    assert_eq!(where_["data"]["namespace"], "apps", "{where_}");
    assert!(
        server
            .get("/api/v1/namespaces/default/configmaps/plain-where")
            .is_none(),
        "nothing of the chart lands in the context's namespace"
    );
    assert_eq!(helm_list("apps")[0]["name"], "plain");
    // The release's record says where the chart's objects went: a rollback puts them back
    // there, not in the record's namespace.
    install(&apps, &["--release", "apps-release"]);
    let back = ferry(&[
        "rollback",
        "apps-release",
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&back, 0);
    // Helm's record follows, as `helm rollback` writes it.
    let history = helm_json(&kc, &["history", "plain", "-n", "apps"]);
    let seen: Vec<(u64, &str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["revision"].as_u64().unwrap(),
                v["status"].as_str().unwrap(),
                v["description"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, "superseded", "Install complete"),
            (2, "superseded", "Upgrade complete"),
            (3, "deployed", "Rollback to 1"),
        ],
        "{history}"
    );
    // status says which Helm version runs, and that this rollback wrote it.
    assert_eq!(
        status_charts(&kc, "apps-release"),
        serde_json::json!([{"name": "plain", "namespace": "apps", "version": 3, "revision": 3}])
    );
    let table = ferry(&[
        "status",
        "apps-release",
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert!(
        text(&table.stdout).contains("  plain in apps  version 3 deployed, written by revision 3"),
        "{}",
        text(&table.stdout)
    );
    assert!(
        server
            .get("/api/v1/namespaces/default/configmaps/plain-where")
            .is_none(),
        "a rollback keeps the chart's objects in its namespace"
    );
    assert!(
        server
            .get("/api/v1/namespaces/apps/configmaps/plain-where")
            .is_some()
    );
    // Uninstalled, the chart's Helm records go with its objects, as `helm uninstall` takes
    // them: `helm list` shows nothing left behind.
    let gone = ferry(&[
        "uninstall",
        "apps-release",
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_exit(&gone, 0);
    let said = format!("{}{}", text(&gone.stdout), text(&gone.stderr));
    assert!(
        said.contains("Helm release plain in apps: its records deleted (3 versions)"),
        "{said}"
    );
    assert!(
        server
            .get("/api/v1/namespaces/apps/configmaps/plain-where")
            .is_none()
    );
    assert_eq!(helm_list("apps"), serde_json::json!([]));
    assert_eq!(
        helm_list("shop")[0]["name"],
        "plain",
        "another release's chart stays"
    );
}

/// The same chart bundled twice, its files touched in between, gives the same chart bytes.
#[test]
fn a_bundled_chart_has_the_same_bytes_every_time() {
    let f = fixture("chart-repeat");
    let chart = demo_chart(&f.dir, &f.src.host, None);
    let mut digests = Vec::new();
    for round in 0..2 {
        if round == 1 {
            // New times on every file: what a fresh checkout gives.
            std::thread::sleep(std::time::Duration::from_millis(1100));
            let values = chart.join("values.yaml");
            let text = std::fs::read(&values).unwrap();
            std::fs::write(&values, text).unwrap();
        }
        let bundle = f.dir.join(format!("demo-{round}.tar"));
        let r = ferry(&[
            "bundle",
            chart.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
            "--cache",
            f.dir.join("cache").to_str().unwrap(),
        ]);
        assert_exit(&r, 0);
        let shown = text(&ferry(&["inspect", bundle.to_str().unwrap()]).stdout);
        let line = shown
            .lines()
            .find(|l| l.contains("demo 0.3.0 (app 1.0)  as localhost/charts/demo:0.3.0"))
            .unwrap_or_else(|| panic!("{shown}"))
            .to_string();
        digests.push(line);
        assert_eq!(std::fs::read(&bundle).unwrap().len() % 512, 0);
    }
    assert_eq!(digests[0], digests[1]);
}

/// `rewrite CHART --values-out`: a values override in the chart's own shapes, proven by
/// rendering; Helm itself, run here, renders only private-registry images with it.
#[test]
fn a_values_override_points_every_image_at_the_private_registry() {
    let dir = temp_dir("chart-override");
    let chart = demo_chart(&dir, "quay.example:5000", None);
    let before: Vec<(PathBuf, Vec<u8>)> = walk(&chart);
    let out_file = dir.join("airgap-values.yaml");
    let out = ferry(&[
        "rewrite",
        chart.to_str().unwrap(),
        "--to",
        "harbor.local/team",
        "--values-out",
        out_file.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("image.registry: \"quay.example:5000\" -> \"harbor.local\"")
            && shown.contains("image.repository: \"app/web\" -> \"team/app/web\"")
            && shown.contains(
                "cache.image: \"quay.example:5000/lib/tool:2\" -> \"harbor.local/team/lib/tool:2\""
            ),
        "{shown}"
    );
    assert!(
        text(&out.stderr).contains("all under harbor.local/team"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(walk(&chart), before, "the chart itself is not touched");

    // Helm, with the override, names no image outside the private registry.
    let images = helm_images(&chart, &out_file);
    assert_eq!(
        images,
        [
            "harbor.local/team/lib/tool:2",
            "harbor.local/team/app/web:1.0",
            "harbor.local/team/lib/tool:2"
        ],
        "{}",
        std::fs::read_to_string(&out_file).unwrap()
    );
}

/// `--values-out --pin-digests`: each image is pinned where the chart's values let it be
/// (the demo's web image through its empty `tag` value, the subchart's whole-string image
/// after its tag), to the digest it has where it was pushed; Helm then renders every image
/// by digest. An image not pushed yet is named, and nothing is written.
#[test]
fn a_pinned_values_override_renders_every_image_by_digest() {
    let registry = TestRegistry::start("chart-pinned", "");
    let dir = temp_dir("chart-pinned");
    let chart = demo_chart(&dir, "quay.example:5000", None);
    let to = format!("{}/team", registry.host);
    let out_file = dir.join("airgap-values.yaml");
    let args = [
        "rewrite",
        chart.to_str().unwrap(),
        "--to",
        &to,
        "--values-out",
        out_file.to_str().unwrap(),
        "--pin-digests",
    ];
    // Nothing pushed yet: no digest to pin to.
    let out = ferry(&args);
    assert_exit(&out, 4);
    assert!(
        text(&out.stderr).contains("push the images first"),
        "{}",
        text(&out.stderr)
    );
    assert!(!out_file.exists());

    let layout = Layout::new(&dir.join("oci"), false);
    let mut digests = Vec::new();
    for (i, (repo, tag)) in [("app/web", "1.0"), ("lib/tool", "2")].iter().enumerate() {
        let image = layout.image("linux", "amd64", &[noise(40 + i as u64, 1000)]);
        layout.tag(&image, tag);
        skopeo_push(&layout.dir, tag, &format!("{to}/{repo}:{tag}"), &[]);
        digests.push(image.digest.clone());
    }
    let out = ferry(&args);
    assert_exit(&out, 0);
    let images = helm_images(&chart, &out_file);
    let (web, tool) = (&digests[0], &digests[1]);
    assert_eq!(
        images,
        [
            format!("{to}/lib/tool:2@{tool}"),
            format!("{to}/app/web:1.0@{web}"),
            format!("{to}/lib/tool:2@{tool}"),
        ],
        "{}",
        std::fs::read_to_string(&out_file).unwrap()
    );
}

/// An image written in a template cannot be reached by values: the override is refused,
/// naming the template, and nothing is written, unless the image may stay.
#[test]
fn an_image_no_value_sets_refuses_the_override_unless_allowed() {
    let dir = temp_dir("chart-override-refused");
    let chart = demo_chart(&dir, "quay.example:5000", Some("busybox:1.36"));
    let out_file = dir.join("airgap-values.yaml");
    let args = [
        "rewrite",
        chart.to_str().unwrap(),
        "--to",
        "harbor.local/team",
        "--values-out",
        out_file.to_str().unwrap(),
    ];
    let out = ferry(&args);
    assert_exit(&out, 3);
    let err = text(&out.stderr);
    assert!(
        err.contains("docker.io/library/busybox:1.36")
            && err.contains("demo/templates/deployment.yaml")
            && err.contains("written in the template"),
        "{err}"
    );
    assert!(!out_file.exists(), "nothing written");
    assert!(
        std::fs::read_dir(&dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("partial")),
        "no temporary left"
    );

    let mut allowed = args.to_vec();
    allowed.extend(["--allow-unrewritten", "busybox:1.36"]);
    let out = ferry(&allowed);
    assert_exit(&out, 0);
    assert!(
        text(&out.stderr).contains("docker.io/library/busybox:1.36 stays where it is"),
        "{}",
        text(&out.stderr)
    );
    assert!(out_file.is_file());
}

fn walk(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// `install -f`: the bundle's chart rendered again with the bundle's values and the
/// customer's on top, relocated by a proven values override; values that need an image the
/// bundle does not carry are refused before anything is pushed.
#[test]
fn install_renders_a_bundled_chart_with_the_customers_values() {
    let f = fixture("chart-customer");
    let chart = demo_chart(&f.dir, &f.src.host, None);
    let vendor = f.dir.join("vendor-values.yaml");
    std::fs::write(&vendor, "cache:\n  enabled: true\n").unwrap();
    let ns = f.dir.join("ns.yaml");
    std::fs::write(
        &ns,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n",
    )
    .unwrap();
    let bundle = f.dir.join("demo.tar");
    let r = ferry(&[
        "bundle",
        chart.to_str().unwrap(),
        ns.to_str().unwrap(),
        "-n",
        "apps",
        "--release-name",
        "shop",
        "-f",
        vendor.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
        "--cache",
        f.dir.join("cache").to_str().unwrap(),
    ]);
    assert_exit(&r, 0);
    let meta: serde_json::Value = serde_json::from_str(&text(
        &std::process::Command::new("tar")
            .args(["-xOf", bundle.to_str().unwrap(), "ferry.json"])
            .output()
            .unwrap()
            .stdout,
    ))
    .unwrap();
    let render = &meta["charts"][0]["render"];
    assert_eq!(render["release_name"], "shop", "{meta:#}");
    assert_eq!(render["namespace"], "apps");
    assert_eq!(render["values"][0], "values/demo/1-vendor-values.yaml");

    let server = ApiServer::start();
    let kc = server.kubeconfig(&f.dir);
    let to = format!("{}/team", f.dst.host);
    let customer = f.dir.join("site.yaml");

    // Values that need an image the bundle lacks: refused, nothing pushed or applied.
    std::fs::write(&customer, "image:\n  tag: \"9.9\"\n").unwrap();
    let install = |extra: &[&str]| {
        let mut args = vec![
            "install",
            "--release",
            "app",
            bundle.to_str().unwrap(),
            "--to",
            &to,
            "--kubeconfig",
            kc.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ferry(&args)
    };
    let out = install(&["-f", customer.to_str().unwrap()]);
    assert_exit(&out, 3);
    let err = text(&out.stderr);
    assert!(
        err.contains("nothing pushed")
            && err.contains("runs images the bundle does not carry")
            && err.contains(&format!("{}/app/web:9.9", f.src.host)),
        "{err}"
    );
    assert!(!skopeo_exists(&format!("{to}/app/web:1.0"), &[]));
    assert!(server.get("/api/v1/namespaces/apps").is_none());

    // The customer turns the cache off: rendered again, relocated, applied.
    std::fs::write(&customer, "cache:\n  enabled: false\n").unwrap();
    let out = install(&["-f", customer.to_str().unwrap()]);
    assert_exit(&out, 0);
    let dep = server
        .get("/apis/apps/v1/namespaces/apps/deployments/shop-web")
        .expect("the release name the bundle recorded");
    // Pinned to the digest it was pushed with, as install pins plain manifests.
    let pushed = ferry::digest::Digest::of(&skopeo_raw(&format!("{to}/app/web:1.0"), &[]));
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("{to}/app/web:1.0@{pushed}")
    );
    assert!(
        server
            .get("/apis/apps/v1/namespaces/apps/deployments/shop-cache")
            .is_none(),
        "the customer's values win over the bundle's"
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("rendered with the customer's values"), "{all}");
}

/// `oci://` charts: pulled with ferry's client for scan, copied with their images by
/// mirror (the chart's digest unchanged), bundled under their registry name.
#[test]
fn an_oci_chart_is_scanned_mirrored_and_bundled() {
    let f = fixture("chart-oci");
    let chart = demo_chart(&f.dir, &f.src.host, None);
    let oci = push_oci_chart(&f, &chart);

    let report = scan_json(&[&oci]);
    let web = hits_of(&report, &format!("{}/app/web:1.0", f.src.host));
    let rendered = web.iter().find(|h| h["rule"] == "container-image").unwrap();
    assert_eq!(
        rendered["file"],
        format!("{oci}:demo/values.yaml"),
        "{rendered:#}"
    );
    let out = ferry(&["scan", &format!("oci://{}/vendor/charts/demo", f.src.host)]);
    assert_exit(&out, 3);
    assert!(text(&out.stderr).contains("name the chart's version"));

    // mirror: the chart and its images, the chart's manifest byte for byte.
    let to = format!("{}/mirror", f.dst.host);
    let out = ferry(&["mirror", &oci, "--to", &to]);
    assert_exit(&out, 0);
    let source_manifest = skopeo_raw(&format!("{}/vendor/charts/demo:0.3.0", f.src.host), &[]);
    let copied = skopeo_raw(&format!("{to}/vendor/charts/demo:0.3.0"), &[]);
    assert_eq!(source_manifest, copied);
    assert!(skopeo_exists(&format!("{to}/app/web:1.0"), &[]));
    assert!(skopeo_exists(&format!("{to}/lib/tool:2"), &[]));

    // bundle: the chart under its registry name, its package byte for byte.
    let bundle = f.dir.join("oci.tar");
    let r = ferry(&[
        "bundle",
        &oci,
        "-o",
        bundle.to_str().unwrap(),
        "--cache",
        f.dir.join("cache").to_str().unwrap(),
    ]);
    assert_exit(&r, 0);
    let shown = text(&ferry(&["inspect", bundle.to_str().unwrap()]).stdout);
    assert!(
        shown.contains(&format!(
            "demo 0.3.0 (app 1.0)  as {}/vendor/charts/demo:0.3.0",
            f.src.host
        )),
        "{shown}"
    );
    let layer = serde_json::from_slice::<serde_json::Value>(&source_manifest).unwrap()["layers"][0]
        ["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = std::process::Command::new("tar")
        .args(["-tf", bundle.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        text(&listed.stdout).contains(&format!("blobs/sha256/{}", &layer["sha256:".len()..])),
        "the pulled package is carried as it is"
    );
}

/// An `oci://` chart is pulled through the graph walker: a download the network keeps
/// cutting is a registry failure (exit 4), a chart layer whose bytes do not match its digest
/// an integrity failure (exit 6), each after the walker's retries.
#[test]
fn an_oci_chart_pull_fails_with_the_exit_code_of_its_failure() {
    use support::faults::{Fault, FaultProxy, Rule};
    let f = fixture("chart-oci-faults");
    let chart = demo_chart(&f.dir, &f.src.host, None);
    push_oci_chart(&f, &chart);
    for (fault, code) in [(Fault::ResetMidBody, 4), (Fault::WrongBytes, 6)] {
        let proxy = FaultProxy::start(
            &f.src.host,
            vec![Rule {
                matcher: "GET /v2/vendor/charts/demo/blobs/".into(),
                fault,
                times: usize::MAX,
            }],
        );
        let out = ferry(&[
            "scan",
            &format!("oci://{}/vendor/charts/demo:0.3.0", proxy.host),
        ]);
        assert_exit(&out, code);
        assert!(
            text(&out.stderr).contains("cannot pull oci://"),
            "{fault:?}: {}",
            text(&out.stderr)
        );
    }
}

/// A packaged chart's provenance file (`helm package --sign` writes `NAME-VERSION.tgz.prov`)
/// travels as the OCI chart's provenance layer, as `helm push` carries it.
#[test]
fn a_chart_provenance_file_travels_with_the_chart() {
    let f = fixture("chart-prov");
    let chart = demo_chart(&f.dir, &f.src.host, None);
    let out = std::process::Command::new("helm")
        .args(["package", chart.to_str().unwrap(), "-d"])
        .arg(&f.dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tgz = f.dir.join("demo-0.3.0.tgz");
    let prov = b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nname: demo\n...\n";
    std::fs::write(f.dir.join("demo-0.3.0.tgz.prov"), prov).unwrap();
    let bundle = f.dir.join("prov.tar");
    assert_exit(
        &ferry(&[
            "bundle",
            tgz.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
            "--cache",
            f.dir.join("cache").to_str().unwrap(),
        ]),
        0,
    );
    assert_exit(&ferry(&["verify", bundle.to_str().unwrap()]), 0);
    let to = format!("{}/team", f.dst.host);
    assert_exit(&ferry(&["push", bundle.to_str().unwrap(), "--to", &to]), 0);
    let manifest: serde_json::Value =
        serde_json::from_slice(&skopeo_raw(&format!("{to}/charts/demo:0.3.0"), &[])).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{manifest:#}");
    assert_eq!(
        layers[1]["mediaType"],
        "application/vnd.cncf.helm.chart.provenance.v1.prov"
    );
    assert_eq!(
        layers[1]["digest"],
        ferry::digest::Digest::of(prov).to_string()
    );
}

/// A bundle is data: a tampered `ferry.json` whose release name is a Helm flag, whose chart
/// name climbs out of the scratch directory, or a manifest it does not list, is refused by
/// `verify` naming the field or file, and by `install` before Helm runs or a file is written.
#[test]
fn a_tampered_bundle_never_reaches_helm_the_filesystem_or_the_cluster() {
    let f = fixture("chart-tampered");
    let chart = demo_chart(&f.dir, &f.src.host, None);
    let (bundle, made) = bundle_for_apps(&f, &chart);
    assert_exit(&made, 0);
    assert_exit(&ferry(&["verify", bundle.to_str().unwrap()]), 0);

    // A Helm that records that it ran, then renders as the real one does.
    let ran = f.dir.join("helm-ran");
    let helm = f.dir.join("recording-helm");
    std::fs::write(
        &helm,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexec helm \"$@\"\n",
            ran.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let customer = f.dir.join("site.yaml");
    std::fs::write(&customer, "cache:\n  enabled: false\n").unwrap();
    let server = ApiServer::start();
    let kc = server.kubeconfig(&f.dir);
    let to = format!("{}/team", f.dst.host);
    let work = f.dir.join("work");

    let cases = [
        (
            "flag",
            "meta['charts'][0]['render']['release_name'] = '--set-file=leak=/etc/hostname'",
            "charts[0].render.release_name \"--set-file=leak=/etc/hostname\": not a Helm release name",
        ),
        (
            "path",
            "meta['charts'][0]['name'] = '../../escaped'",
            "charts[0].name \"../../escaped\": not a chart name",
        ),
        (
            "namespace",
            "meta['charts'][0]['render']['namespace'] = '--output-dir=/tmp'",
            "charts[0].render.namespace \"--output-dir=/tmp\": not a namespace name",
        ),
        (
            "unlisted",
            "files['manifests/zz-admin.yaml'] = b'apiVersion: rbac.authorization.k8s.io/v1\\n\
             kind: ClusterRoleBinding\\nmetadata: {name: pwned}\\nroleRef: {apiGroup: \
             rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\\nsubjects: \
             [{kind: User, name: mallory, apiGroup: rbac.authorization.k8s.io}]\\n'",
            "manifests/zz-admin.yaml: not listed in ferry.json",
        ),
    ];
    for (name, edit, named) in cases {
        let bad = f.dir.join(format!("{name}.tar"));
        tamper(&bundle, &bad, edit);
        let v = ferry(&["verify", bad.to_str().unwrap()]);
        assert_exit(&v, 6);
        assert!(
            text(&v.stdout).contains(named),
            "{name}: {}",
            text(&v.stdout)
        );

        let out = ferry(&[
            "install",
            "--release",
            "app",
            bad.to_str().unwrap(),
            "--to",
            &to,
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--workdir",
            work.to_str().unwrap(),
            "--helm",
            helm.to_str().unwrap(),
            "-f",
            customer.to_str().unwrap(),
        ]);
        assert_exit(&out, 6);
        let err = text(&out.stderr);
        assert!(
            err.contains("nothing installed") && err.contains(named),
            "{name}: {err}"
        );
        assert!(
            !ran.exists(),
            "{name}: helm ran: {:?}",
            std::fs::read_to_string(&ran)
        );
        assert!(!work.exists(), "{name}: install wrote its work directory");
        assert!(
            walk(&f.dir)
                .iter()
                .all(|(p, _)| !p.to_string_lossy().contains("escaped")),
            "{name}: a file named by the bundle was written"
        );
        for p in ["rewrite", "push"] {
            let mut args = vec![p, bad.to_str().unwrap(), "--to", &to];
            if p == "rewrite" {
                args.push("--diff");
            }
            assert_exit(&ferry(&args), 6);
        }
        let shown = text(&ferry(&["inspect", bad.to_str().unwrap()]).stdout);
        assert!(
            shown.contains(&format!("WARNING: ferry.json: {named}"))
                || shown.contains(&format!("WARNING: {named}")),
            "{name}: {shown}"
        );
    }
    assert!(!skopeo_exists(&format!("{to}/app/web:1.0"), &[]));
    assert!(
        server
            .get("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/pwned")
            .is_none()
    );
    assert!(server.get("/api/v1/namespaces/apps").is_none());

    // The untampered bundle goes through the same recording Helm, with every value as data.
    let out = ferry(&[
        "install",
        "--release",
        "app",
        bundle.to_str().unwrap(),
        "--to",
        &to,
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--workdir",
        work.to_str().unwrap(),
        "--helm",
        helm.to_str().unwrap(),
        "-f",
        customer.to_str().unwrap(),
        "--dry-run",
        "client",
    ]);
    assert_exit(&out, 0);
    let called = std::fs::read_to_string(&ran).unwrap();
    assert!(
        called.contains("--namespace=apps") && called.contains(" -- demo /"),
        "{called}"
    );
}

/// A chart that keeps a generated value with `lookup` (found nothing offline: a new
/// password every render) is named at bundle time and again at install, with the line.
#[test]
fn a_chart_that_calls_lookup_is_named_at_bundle_and_install() {
    let f = fixture("chart-lookup");
    let chart = demo_chart(&f.dir, &f.src.host, None);
    std::fs::write(
        chart.join("templates/secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-db\n  namespace: {{ .Release.Namespace }}\n\
         {{- $old := (lookup \"v1\" \"Secret\" .Release.Namespace (printf \"%s-db\" .Release.Name)) }}\n\
         data:\n  password: {{ if $old }}{{ index $old.data \"password\" }}{{ else }}{{ randAlphaNum 16 | b64enc }}{{ end }}\n",
    )
    .unwrap();
    let (bundle, made) = bundle_for_apps(&f, &chart);
    assert_exit(&made, 0);
    let warned = "chart demo 0.3.0: templates/secret.yaml:6 calls lookup";
    assert!(
        text(&made.stderr).contains(warned),
        "{}",
        text(&made.stderr)
    );

    let server = ApiServer::start();
    let kc = server.kubeconfig(&f.dir);
    let out = ferry(&[
        "install",
        "--release",
        "app",
        bundle.to_str().unwrap(),
        "--to",
        &format!("{}/team", f.dst.host),
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--dry-run",
        "client",
    ]);
    assert_exit(&out, 0);
    assert!(text(&out.stderr).contains(warned), "{}", text(&out.stderr));
}

/// A chart whose values set no `digest` (cert-manager's mentions one only in a comment) but
/// whose templates read one: the digest goes there, and Helm's render proves it. A chart
/// whose templates read none: each image is named, nothing written, nothing pinned silently.
#[test]
fn a_digest_goes_where_the_templates_read_one_and_the_render_proves_it() {
    let registry = TestRegistry::start("chart-digest-read", "");
    let dir = temp_dir("chart-digest-read");
    let to = format!("{}/team", registry.host);
    let layout = Layout::new(&dir.join("oci"), false);
    let image = layout.image("linux", "amd64", &[noise(77, 1000)]);
    layout.tag(&image, "1.0");
    skopeo_push(&layout.dir, "1.0", &format!("{to}/app/web:1.0"), &[]);
    let make = |name: &str, reads_digest: bool| {
        let chart = dir.join(name);
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(
            chart.join("Chart.yaml"),
            format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\nappVersion: \"1.0\"\n"),
        )
        .unwrap();
        std::fs::write(
            chart.join("values.yaml"),
            "image:\n  repository: quay.example:5000/app/web\n  # digest: sha256:... (pins the image)\n",
        )
        .unwrap();
        let digest = if reads_digest {
            "{{ with .Values.image.digest }}@{{ . }}{{ end }}"
        } else {
            ""
        };
        std::fs::write(
            chart.join("templates/deployment.yaml"),
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n        - name: web\n          image: \"{{{{ .Values.image.repository }}}}:{{{{ .Chart.AppVersion }}}}{digest}\"\n"),
        )
        .unwrap();
        chart
    };
    let rewrite = |chart: &Path, out: &Path| {
        ferry(&[
            "rewrite",
            chart.to_str().unwrap(),
            "--to",
            &to,
            "--values-out",
            out.to_str().unwrap(),
            "--pin-digests",
        ])
    };
    let reads = make("reads", true);
    let out_file = dir.join("reads-values.yaml");
    let out = rewrite(&reads, &out_file);
    assert_exit(&out, 0);
    assert_eq!(
        helm_images(&reads, &out_file),
        [format!("{to}/app/web:1.0@{}", image.digest)],
        "{}",
        std::fs::read_to_string(&out_file).unwrap()
    );

    let blind = make("blind", false);
    let out_file = dir.join("blind-values.yaml");
    let out = rewrite(&blind, &out_file);
    assert_exit(&out, 3);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{to}/app/web:1.0")) && err.contains("not pinned"),
        "{err}"
    );
    assert!(!out_file.exists());
}
