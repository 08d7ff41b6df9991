//! `ferry scan` as a user runs it: exit codes, error locations, stdin, JSON.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn ferry(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    support::plain_words(args, &out);
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A test's own directory, removed with it.
fn temp_dir(name: &str) -> ferry::scratch::ScratchDir {
    ferry::scratch::ScratchDir::for_test(&format!("cli-{name}"))
}

#[test]
fn list_output_is_sorted_and_distinct() {
    let out = ferry(&["scan", "--output", "list", "fixtures/prometheus"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expected = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/prometheus/expected.txt"),
    )
    .unwrap();
    assert_eq!(text(&out.stdout), expected);
}

#[test]
fn stdin_is_scanned_with_a_label() {
    let doc = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.27\n";
    let out = ferry(&["scan", "-o", "json", "-"], Some(doc));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "ferry.scan/v1");
    assert_eq!(
        v["images"],
        serde_json::json!(["docker.io/library/nginx:1.27"])
    );
    let hit = &v["hits"][0];
    assert_eq!(hit["file"], "<stdin>");
    assert_eq!(hit["line"], 7);
    assert_eq!(hit["column"], 12);
    assert_eq!(hit["kind"], "Pod");
    assert_eq!(hit["name"], "p");
    assert_eq!(hit["rule"], "container-image");
    assert_eq!(hit["form"], "whole");
    assert_eq!(hit["yaml_path"], ".spec.containers[0].image");
    assert_eq!(hit["parts"][0]["text"], "nginx:1.27");
    assert!(hit["why"].as_str().unwrap().contains("kubelet"));
}

#[test]
fn invalid_yaml_names_file_line_column_and_exits_3() {
    let dir = temp_dir("bad");
    std::fs::write(dir.join("a-bad.yaml"), "a: 1\nb: [1, 2\nc: 3\n").unwrap();
    std::fs::write(dir.join("b-good.yaml"), "image: quay.io/x/y:1\n").unwrap();
    std::fs::write(dir.join("c-bad.yml"), "key: \"unterminated\n").unwrap();
    let d = dir.to_str().unwrap();

    let out = ferry(&["scan", "-o", "list", d], None);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(err.contains("a-bad.yaml:"), "{err}");
    assert!(
        !err.contains("c-bad.yml"),
        "stopped at the first bad file: {err}"
    );

    let out = ferry(&["scan", "-o", "list", "--keep-going", d], None);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    let located = err
        .lines()
        .filter(|l| l.starts_with("error: ") && l.contains(".y") && l.matches(':').count() >= 3);
    assert_eq!(located.count(), 2, "{err}");
    assert_eq!(text(&out.stdout), "quay.io/x/y:1\n");
}

#[test]
fn missing_file_exits_3_naming_it() {
    let out = ferry(&["scan", "no/such/file.yaml"], None);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("no/such/file.yaml"));
}

#[test]
fn bad_rules_file_exits_3() {
    let dir = temp_dir("rules");
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, "rules:\n  - paths: [\"spec..x\"]\n").unwrap();
    let out = ferry(
        &[
            "scan",
            "--rules",
            rules.to_str().unwrap(),
            "fixtures/prometheus",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("rules.yaml"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(&rules, "rules:\n  - paths: [spec.x]\n    colour: red\n").unwrap();
    let out = ferry(
        &[
            "scan",
            "--rules",
            rules.to_str().unwrap(),
            "fixtures/prometheus",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("colour"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(ferry(&["scan"], None).status.code(), Some(2));
    assert_eq!(
        ferry(&["scan", "--output", "xml", "x"], None).status.code(),
        Some(2)
    );
}

#[test]
fn table_with_why_explains_each_occurrence() {
    let out = ferry(&["scan", "--why", "fixtures/redis-enterprise"], None);
    assert!(out.status.success());
    let s = text(&out.stdout);
    assert!(s.starts_with("IMAGE"), "{s}");
    assert!(s.contains("docker.io/redislabs/operator:7.4.6-2"), "{s}");
    assert!(s.contains("split-image"), "{s}");
    // The form in words, never a Rust debug name.
    assert!(
        s.contains("(joined from separate fields): split-image: "),
        "{s}"
    );
    assert!(!s.contains("form Split") && !s.contains("Whole"), "{s}");
    assert!(s.contains("3 images, 5 references in 1 file\n"), "{s}");
}

#[test]
fn why_names_the_workload_that_reads_a_config_map_of_images() {
    let out = ferry(&["scan", "--why", "fixtures/configmap-images"], None);
    assert!(out.status.success());
    let s = text(&out.stdout);
    let after = |image: &str| s.split(image).nth(2).unwrap_or_default().to_string();
    assert!(
        after("quay.io/acme/backup:2.4.1")
            .contains("read by: loaded into the environment (envFrom) of Deployment/op"),
        "{s}"
    );
    assert!(
        after("quay.io/acme/exporter:0.9")
            .contains("read by: named by the flag --config-map-name of Deployment/op"),
        "{s}"
    );
    let json = ferry(&["scan", "-o", "json", "fixtures/configmap-images"], None);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let backup = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["written"] == "quay.io/acme/backup:2.4.1")
        .unwrap();
    assert_eq!(
        backup["consumers"][0],
        "loaded into the environment (envFrom) of Deployment/op"
    );
}

#[test]
fn warnings_go_to_stderr_with_location() {
    let out = ferry(&["scan", "-o", "list", "fixtures/traps"], None);
    assert!(out.status.success());
    assert!(text(&out.stdout).is_empty());
    let err = text(&out.stderr);
    assert!(
        err.contains("warning: fixtures/traps/rbac-and-config.yaml:36:14:"),
        "{err}"
    );
}

#[test]
fn helm_templates_warn_instead_of_failing_the_scan() {
    let dir = temp_dir("tpl");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("templates/deployment.yaml"),
        "spec:\n  containers:\n  - image: {{ .Values.image }}:{{ .Values.tag }}\n    {{- if .Values.x }}\n    name: a\n    {{- end }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("values.yaml"),
        "image:\n  repository: quay.io/a/b\n  tag: \"1\"\n",
    )
    .unwrap();
    let out = ferry(&["scan", "-o", "list", dir.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "quay.io/a/b:1\n");
    assert!(
        text(&out.stderr).contains("a template, not YAML"),
        "{}",
        text(&out.stderr)
    );
}

/// A build's output image is reported (and rewritten) but marked: the operator pushes it,
/// nothing pulls it, so mirror and bundle leave it out.
#[test]
fn build_outputs_are_marked_and_not_copied() {
    let out = ferry(&["scan", "-o", "json", "fixtures/strimzi/kafka.yaml"], None);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hits = doc["hits"].as_array().unwrap();
    let output = hits
        .iter()
        .find(|h| h["yaml_path"] == ".spec.build.output.image")
        .expect("the output is reported");
    assert_eq!(output["output"], true);
    assert!(
        hits.iter()
            .filter(|h| h["yaml_path"] != ".spec.build.output.image")
            .all(|h| h.get("output").is_none())
    );
    let why = ferry(&["scan", "--why", "fixtures/strimzi/kafka.yaml"], None);
    assert!(
        text(&why.stdout).contains("a build output"),
        "{}",
        text(&why.stdout)
    );
    let plan = ferry(
        &[
            "mirror",
            "fixtures/strimzi/kafka.yaml",
            "--to",
            "reg.local/m",
            "--dry-run",
        ],
        None,
    );
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    assert!(
        !text(&plan.stdout).contains("my-connect"),
        "{}",
        text(&plan.stdout)
    );
    assert!(
        text(&plan.stderr).contains("my-connect:latest is a build output"),
        "{}",
        text(&plan.stderr)
    );
}

/// Linked manifest files are read, as kubectl reads them; a directory link back into the
/// walk is not walked forever and a link to nothing is skipped, each with a note.
#[test]
fn links_are_followed_and_what_is_passed_over_is_said() {
    let dir = temp_dir("scan-links");
    let tree = dir.join("deploy");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::create_dir_all(dir.join("elsewhere")).unwrap();
    std::fs::write(
        tree.join("a.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a, image: quay.io/x/a:1}]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("elsewhere/b.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers: [{name: b, image: quay.io/x/b:1}]\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("../elsewhere/b.yaml", tree.join("b.yaml")).unwrap();
    std::os::unix::fs::symlink(".", tree.join("loop")).unwrap();
    std::os::unix::fs::symlink("nowhere.yaml", tree.join("gone.yaml")).unwrap();
    let out = ferry(&["scan", tree.to_str().unwrap(), "-o", "list"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "quay.io/x/a:1\nquay.io/x/b:1\n");
    let err = text(&out.stderr);
    assert!(
        err.contains("loop: a link back to") && err.contains("gone.yaml: a link to nothing"),
        "{err}"
    );
}

/// `ferry version` names the version, the commit and the build date.
#[test]
fn version_names_commit_and_date() {
    let out = ferry(&["version"], None);
    assert_eq!(out.status.code(), Some(0));
    let said = text(&out.stdout);
    let rest = said
        .strip_prefix(&format!("ferry {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{said}"));
    let (commit, date) = rest
        .trim_end()
        .trim_end_matches(')')
        .split_once(", built ")
        .unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{said}"
    );
    assert!(
        date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
        "{said}"
    );
}

/// Exit codes as documented: what the user gave wrong is 3 (or 2 for a usage trap), never 1.
#[test]
fn wrong_paths_are_input_errors() {
    let dir = temp_dir("exit-codes");
    let note = dir.join("note.txt");
    std::fs::write(&note, "not a tar at all\n").unwrap();
    let missing = dir.join("missing.tar");
    for (args, code, said) in [
        (
            vec!["inspect", missing.to_str().unwrap()],
            3,
            "No such file",
        ),
        (vec!["verify", dir.to_str().unwrap()], 3, "directory"),
        (vec!["inspect", note.to_str().unwrap()], 3, "not a bundle"),
        (
            vec!["push", missing.to_str().unwrap(), "--to", "127.0.0.1:1"],
            3,
            "No such file",
        ),
        (
            vec!["bundle", note.to_str().unwrap(), "-o", "json"],
            2,
            "bundle's -o is the bundle file",
        ),
    ] {
        let out = ferry(&args, None);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(said),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

/// Installed as `kubectl-ferry`, ferry runs as a kubectl plugin and says so in its usage.
#[test]
fn as_a_kubectl_plugin_its_usage_says_kubectl_ferry() {
    let dir = temp_dir("kubectl-plugin");
    let plugin = dir.join("kubectl-ferry");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ferry"), &plugin).unwrap();
    let out = std::process::Command::new(&plugin)
        .arg("mirror")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("Usage: kubectl ferry mirror --to"),
        "{}",
        text(&out.stderr)
    );
    let help = std::process::Command::new(&plugin)
        .arg("--help")
        .output()
        .unwrap();
    assert!(text(&help.stdout).contains("Usage: kubectl ferry [OPTIONS] <COMMAND>"));
}
