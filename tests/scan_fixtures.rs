//! Every fixture's scan equals its expected image list exactly, and every reported part
//! points at the exact bytes it was read from.

use std::path::{Path, PathBuf};

use ferry::render::{KustomizeChoice, RenderOptions};
use ferry::scan::{self, Form, Report, Role, UserRules};
use ferry::workflow::ScanOptions;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn scan_fixture(name: &str) -> Report {
    scan_fixture_with(name, KustomizeChoice::Auto)
}

fn scan_fixture_with(name: &str, kustomize: KustomizeChoice) -> Report {
    let rules = if name == "user-rules" {
        UserRules::load(&fixtures().join("rules/acme.yaml")).unwrap()
    } else {
        UserRules::default()
    };
    let opts = ScanOptions {
        rules,
        render: RenderOptions {
            kustomize,
            ..Default::default()
        },
    };
    let report = ferry::workflow::scan_paths(&[fixtures().join(name)], &opts, false);
    assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
    report
}

fn images(report: &Report) -> Vec<String> {
    report
        .images()
        .into_iter()
        .map(ToString::to_string)
        .collect()
}

fn expected(name: &str) -> Vec<String> {
    std::fs::read_to_string(fixtures().join(name).join("expected.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

const KUSTOMIZE: [&str; 3] = ["kustomize", "kustomize-overlay", "kustomize-semantics"];

const CASES: [&str; 13] = [
    "prometheus",
    "strimzi",
    "redis-enterprise",
    "confluent",
    "olm-csv",
    "helm-values",
    "kustomize",
    "kustomize-overlay",
    "kustomize-semantics",
    "traps",
    "user-rules",
    "field-semantics",
    "configmap-images",
];

#[test]
fn every_fixture_matches_its_expected_list() {
    for name in CASES {
        assert_eq!(
            images(&scan_fixture(name)),
            expected(name),
            "fixture {name}"
        );
    }
}

/// With kustomize, a tree's images are those of its rendered output, each traced back to
/// the file and line that names it; without, ferry's own pass must reach the same images
/// (components' entries, renames that chain, fields that `configurations:` add).
#[test]
fn kustomize_trees_are_rendered_and_the_fallback_agrees() {
    let engine = KustomizeChoice::Auto.engine().unwrap();
    assert!(
        engine.is_some(),
        "kubectl or kustomize is needed on PATH (.ci/run installs kubectl)"
    );
    for name in KUSTOMIZE {
        let rendered = scan_fixture(name);
        for hit in &rendered.hits {
            let at = hit
                .rendered
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: {hit:?}"));
            assert!(
                at.located,
                "{name}: {} not traced to a source",
                hit.reference
            );
            assert!(at.by.contains("kustomize"), "{}", at.by);
            let line = std::fs::read_to_string(&hit.file).unwrap();
            let line = line.lines().nth(hit.line - 1).unwrap();
            let named = hit.parts[0].text.as_str();
            assert!(
                line.contains(named),
                "{}:{} {line:?} lacks {named}",
                hit.file,
                hit.line
            );
        }
        let fallback = scan_fixture_with(name, KustomizeChoice::Off);
        assert!(fallback.hits.iter().all(|h| h.rendered.is_none()));
        assert_eq!(
            images(&fallback),
            expected(name),
            "{name} without kustomize"
        );
    }
    // The placeholder a component's entry replaces is named where the entry is.
    let semantics = scan_fixture("kustomize-semantics");
    let agent = semantics
        .hits
        .iter()
        .find(|h| h.reference.to_string() == "quay.io/acme/agent:2.0")
        .unwrap();
    assert!(
        agent.file.ends_with("components/agent/kustomization.yaml"),
        "{}",
        agent.file
    );
}

#[test]
fn every_part_span_holds_its_text() {
    for name in CASES {
        for hit in scan_fixture(name).hits {
            let source = std::fs::read_to_string(&hit.file).unwrap();
            assert!(!hit.parts.is_empty());
            for part in &hit.parts {
                assert_eq!(
                    &source[part.span()],
                    part.text,
                    "{}:{} {:?}",
                    hit.file,
                    hit.line,
                    part
                );
                let line_start = source[..part.start].rfind('\n').map_or(0, |i| i + 1);
                assert_eq!(source[..part.start].matches('\n').count() + 1, part.line);
                assert_eq!(
                    source[line_start..part.start].chars().count() + 1,
                    part.column
                );
            }
        }
    }
}

#[test]
fn split_forms_record_each_part() {
    let report = scan_fixture("redis-enterprise");
    let hit = report
        .hits
        .iter()
        .find(|h| h.yaml_path == ".spec.redisEnterpriseImageSpec")
        .expect("redisEnterpriseImageSpec found");
    assert_eq!(hit.form, Form::Split);
    assert_eq!(
        hit.reference.to_string(),
        "docker.io/redislabs/redis:7.4.6-102"
    );
    let roles: Vec<(Role, &str, &str)> = hit
        .parts
        .iter()
        .map(|p| (p.role, p.field.as_str(), p.text.as_str()))
        .collect();
    assert_eq!(
        roles,
        vec![
            (Role::Repository, "repository", "redislabs/redis"),
            (Role::Tag, "versionTag", "7.4.6-102")
        ]
    );
    assert_eq!(hit.kind.as_deref(), Some("RedisEnterpriseCluster"));
    assert_eq!(hit.name.as_deref(), Some("rec"));
    assert_eq!(
        hit.written,
        "repository=redislabs/redis + versionTag=7.4.6-102"
    );

    let report = scan_fixture("prometheus");
    let am = report
        .hits
        .iter()
        .find(|h| h.kind.as_deref() == Some("Alertmanager"))
        .unwrap();
    assert_eq!(am.form, Form::Split);
    assert_eq!(
        am.reference.to_string(),
        "quay.io/prometheus/alertmanager:v0.28.1"
    );
    assert_eq!(am.parts.len(), 2);
}

#[test]
fn embedded_references_span_only_the_reference() {
    let report = scan_fixture("prometheus");
    let arg = report
        .hits
        .iter()
        .find(|h| h.reference.repository() == "prometheus-operator/prometheus-config-reloader")
        .unwrap();
    assert_eq!(arg.form, Form::Embedded);
    assert_eq!(arg.yaml_path, ".spec.template.spec.containers[0].args[1]");
    assert_eq!(
        arg.parts[0].text,
        "quay.io/prometheus-operator/prometheus-config-reloader:v0.84.1"
    );
    let flag_pair = report
        .hits
        .iter()
        .find(|h| h.reference.repository() == "prometheus-operator/configmap-reload")
        .unwrap();
    assert_eq!(
        flag_pair.yaml_path,
        ".spec.template.spec.containers[0].args[3]"
    );
    assert_eq!(flag_pair.form, Form::Whole);

    let report = scan_fixture("strimzi");
    let map_lines: Vec<_> = report
        .hits
        .iter()
        .filter(|h| h.rule == scan::Rule::EnvMap)
        .map(|h| (h.line, h.written.clone()))
        .collect();
    assert_eq!(map_lines.len(), 4, "{map_lines:?}");
    assert!(map_lines.contains(&(18, "quay.io/strimzi/kafka:0.45.0-kafka-3.8.0".to_string())));
    assert!(map_lines.contains(&(19, "quay.io/strimzi/kafka:0.45.0-kafka-3.9.0".to_string())));
}

#[test]
fn things_that_are_not_images_warn_instead_of_vanishing() {
    let report = scan_fixture("traps");
    assert!(report.hits.is_empty(), "{:?}", report.hits);
    let warned: Vec<_> = report
        .warnings
        .iter()
        .map(|w| (w.line, w.value.as_str()))
        .collect();
    assert!(warned.contains(&(36, "<your-image-here>")), "{warned:?}");
    assert!(warned.contains(&(39, "true")), "{warned:?}");

    let report = scan_fixture("helm-values");
    let partial = report
        .warnings
        .iter()
        .find(|w| w.yaml_path == ".webhook.image")
        .unwrap();
    assert!(
        partial.message.contains("ghcr.io/example/webhook"),
        "{}",
        partial.message
    );
}

#[test]
fn user_rules_are_scoped_by_kind() {
    let report = scan_fixture("user-rules");
    assert!(
        report
            .hits
            .iter()
            .all(|h| h.kind.as_deref() == Some("AcmeDatabase"))
    );
    let backup = report.hits.iter().find(|h| h.form == Form::Split).unwrap();
    assert_eq!(backup.user_rule.as_deref(), Some("acme-backup"));
    assert_eq!(backup.yaml_path, ".spec.backup.location");
}

#[test]
fn every_fixture_file_is_valid_yaml_with_hits_or_warnings_where_expected() {
    let report = ferry::workflow::scan_paths(&[fixtures()], &ScanOptions::default(), false);
    assert!(report.errors.is_empty());
    assert!(report.files.len() >= 15, "{:?}", report.files);
    assert!(report.files.iter().all(|f| !f.ends_with(".txt")));
}

/// A List's objects are scanned one at a time as they are parsed (so a huge List is never
/// held whole), and give the findings the same objects give as documents, in the order a
/// walk of the whole List gives them: the List's own before its items, then the items.
#[test]
fn a_list_is_scanned_item_by_item_as_its_objects_are_as_documents() {
    let objects = [
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: n}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: quay.io/a/one:1\n        args: [--sidecar-image=quay.io/a/side:2]\n",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  image:\n    repository: quay.io/w/widget\n    tag: v3\n",
    ];
    let rules = UserRules::default();
    let documents: String = objects.iter().map(|o| format!("---\n{o}")).collect();
    let as_documents = scan::scan_str("d.yaml", &documents, &rules).unwrap();
    let indent = |o: &str| -> String {
        o.lines()
            .enumerate()
            .map(|(i, l)| format!("{}{l}\n", if i == 0 { "- " } else { "  " }))
            .collect()
    };
    let list = format!(
        "apiVersion: v1\nbeforeImage: quay.io/list/before:1\nitems:\n{}{}kind: List\nafterImage: quay.io/list/after:1\n",
        indent(objects[0]),
        indent(objects[1])
    );
    let as_list = scan::scan_str("l.yaml", &list, &rules).unwrap();
    let seen = |s: &scan::FileScan| -> Vec<(String, Option<String>, Option<String>)> {
        s.hits
            .iter()
            .map(|h| (h.reference.to_string(), h.kind.clone(), h.name.clone()))
            .collect()
    };
    let mut expected = vec![(
        "quay.io/list/before:1".to_string(),
        Some("List".into()),
        None,
    )];
    expected.extend(seen(&as_documents));
    expected.push((
        "quay.io/list/after:1".to_string(),
        Some("List".into()),
        None,
    ));
    assert_eq!(seen(&as_list), expected);
    let paths: Vec<&str> = as_list.hits.iter().map(|h| h.yaml_path.as_str()).collect();
    assert_eq!(
        paths,
        [
            ".beforeImage",
            ".items[0].spec.template.spec.containers[0].image",
            ".items[0].spec.template.spec.containers[0].args[0]",
            ".items[1].spec.image",
            ".afterImage"
        ]
    );
    // Every part still points at the bytes it was read from.
    for h in &as_list.hits {
        for p in &h.parts {
            assert!(list[p.start..p.end].contains(&p.text), "{h:?}");
        }
    }
}
