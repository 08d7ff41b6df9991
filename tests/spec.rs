//! `ferry.yaml`: a release described in a file gives what the long command line gives, under
//! its inputs' names; its JSON Schema accepts every example and the reader refuses what the
//! schema refuses.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

/// The first Python with PyYAML and jsonschema.
fn python() -> &'static str {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import yaml, jsonschema"])
                .status()
                .is_ok_and(|s| s.success())
        })
        .expect("Python 3 with PyYAML and jsonschema (Debian: python3-yaml python3-jsonschema)")
}

/// The schema's verdict on each YAML file: `None` when valid, else the first error.
fn schema_verdicts(files: &[PathBuf]) -> Vec<Option<String>> {
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for f in sys.argv[2:]:
    errors = sorted(v.iter_errors(yaml.safe_load(open(f))), key=lambda e: e.path)
    print(json.dumps(errors[0].message if errors else None))
"#;
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ferry.schema.json");
    let out = Command::new(python())
        .args(["-c", script])
        .arg(schema)
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every `ferry.yaml` example: the fixture's and the README's yaml blocks that are specs.
fn examples(dir: &Path) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![root.join("fixtures/release/ferry.yaml")];
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (i, block) in readme.split("```yaml\n").skip(1).enumerate() {
        let body = block.split("```").next().unwrap();
        if body.contains("apiVersion: ferry.dev/v1") {
            let p = dir.join(format!("readme-{i}.yaml"));
            std::fs::write(&p, body).unwrap();
            out.push(p);
        }
    }
    assert!(out.len() >= 2, "the README shows a ferry.yaml");
    out
}

#[test]
fn the_schema_accepts_every_example_and_ferry_reads_each() {
    let dir = temp_dir("spec-examples");
    let files = examples(&dir);
    for (f, verdict) in files.iter().zip(schema_verdicts(&files)) {
        assert_eq!(verdict, None, "{}", f.display());
        ferry::workflow::spec::ReleaseSpec::read(f)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    // What the reader refuses, the schema refuses too.
    let head = "apiVersion: ferry.dev/v1\nkind: Release\nname: acme\n";
    let bad = [
        format!("{head}image: [x]\n"),
        format!("{head}inputs:\n  - name: a\n    path: x\n    chart: y\n"),
        format!("{head}inputs:\n  - name: a\n    path: x\n    namespace: n\n"),
        format!("{head}signatures: sometimes\n"),
        "apiVersion: ferry.dev/v2\nkind: Release\nname: acme\n".to_string(),
        "apiVersion: ferry.dev/v1\nkind: Release\nname: Acme\n".to_string(),
    ];
    let paths: Vec<PathBuf> = bad
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let p = dir.join(format!("bad-{i}.yaml"));
            std::fs::write(&p, t).unwrap();
            p
        })
        .collect();
    for (p, verdict) in paths.iter().zip(schema_verdicts(&paths)) {
        assert!(verdict.is_some(), "the schema takes {}", p.display());
        assert!(
            ferry::workflow::spec::ReleaseSpec::read(p).is_err(),
            "ferry takes {}",
            p.display()
        );
    }
}

#[test]
fn a_spec_bundles_what_the_long_command_line_bundles_under_its_inputs_names() {
    let f = fixture("spec");
    let ops = f.dir.join("ops");
    std::fs::create_dir_all(&ops).unwrap();
    std::fs::write(
        ops.join("deploy.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: {}/app/web:1.0\n",
            f.src.host
        ),
    )
    .unwrap();
    let spec = f.dir.join("ferry.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: ferry.dev/v1\nkind: Release\nname: acme\nversion: 2.0.0\ndescription: The acme operator.\ninputs:\n  - name: web\n    path: ops\nimages:\n  - {}/lib/tool:2\nplatforms: [linux/amd64]\n",
            f.src.host
        ),
    )
    .unwrap();
    let list = f.dir.join("list.txt");
    std::fs::write(&list, format!("{}/lib/tool:2\n", f.src.host)).unwrap();
    let cache = f.dir.join("cache");
    let (by_spec, by_flags) = (f.dir.join("spec.tar"), f.dir.join("flags.tar"));
    let out = ferry(&[
        "bundle",
        spec.to_str().unwrap(),
        "-o",
        by_spec.to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    let out = ferry(&[
        "bundle",
        ops.to_str().unwrap(),
        "--images",
        list.to_str().unwrap(),
        "--platform",
        "linux/amd64",
        "--product",
        "acme",
        "--product-version",
        "2.0.0",
        "-o",
        by_flags.to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    let shown = |b: &Path| -> serde_json::Value { inspect_json(b) };
    let (a, b) = (shown(&by_spec), shown(&by_flags));
    assert_eq!(a["ferry"]["images"], b["ferry"]["images"]);
    assert_eq!(a["ferry"]["images"].as_array().unwrap().len(), 2);
    assert_eq!(
        a["ferry"]["manifests"][0]["path"],
        "manifests/web/deploy.yaml"
    );
    assert_eq!(
        b["ferry"]["manifests"][0]["path"],
        "manifests/ops/deploy.yaml"
    );
    assert_eq!(
        a["ferry"]["manifests"][0]["sha256"],
        b["ferry"]["manifests"][0]["sha256"]
    );
    let text_shown = text(&ferry(&["inspect", by_spec.to_str().unwrap()]).stdout);
    assert!(
        text_shown.contains("product acme 2.0.0") && text_shown.contains("  The acme operator."),
        "{text_shown}"
    );

    // A flag beside the spec wins; a spec beside other inputs is refused; a bad key is named
    // with its line.
    let renamed = f.dir.join("renamed.tar");
    let out = ferry(&[
        "bundle",
        spec.to_str().unwrap(),
        "--product-version",
        "2.0.1",
        "--platform",
        "all",
        "-o",
        renamed.to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    let renamed = shown(&renamed);
    assert_eq!(renamed["ferry"]["product"]["version"], "2.0.1");
    // `--platform all` wins over the spec's platforms too.
    let platforms = |v: &serde_json::Value| -> Vec<usize> {
        let images = v["ferry"]["images"].as_array().unwrap();
        images
            .iter()
            .map(|i| i["platforms"].as_array().map_or(0, Vec::len))
            .collect()
    };
    assert_eq!(platforms(&a), [1, 1], "{a}");
    assert_eq!(platforms(&renamed), [2, 1], "{renamed}");
    let out = ferry(&[
        "bundle",
        spec.to_str().unwrap(),
        ops.to_str().unwrap(),
        "--check",
    ]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("is a release spec: give it alone"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(
        &spec,
        "apiVersion: ferry.dev/v1\nkind: Release\nname: acme\nimage: [x]\n",
    )
    .unwrap();
    let out = ferry(&["bundle", spec.to_str().unwrap(), "--check"]);
    assert_exit(&out, 3);
    let err = text(&out.stderr);
    assert!(
        err.contains("ferry.yaml: line 4") && err.contains("image"),
        "{err}"
    );
}
