//! `ferry rewrite` round trips: over every fixture (and the shared corpus when present) the
//! rewritten files scan to exactly the target references, nothing still names a source
//! registry, and only lines holding references differ.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ferry::rewrite::{Edit, apply};
use ferry::scan::{self, UserRules};
use ferry::target::{Layout, Target};
use support::corpus::{corpus_cases, expected_images};
use support::{ferry, temp_dir, text};

const TO: &str = "harbor.example.com/team";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every file of `dir` (recursively) as bytes.
fn all_bytes(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), std::fs::read_to_string(e.path()).unwrap()));
            }
        }
    }
    out
}

/// Rewrites `input` into a fresh directory and checks the three round-trip properties.
fn round_trip(name: &str, input: &Path, rules: Option<&Path>) {
    let out = temp_dir(&format!("rw-{name}"));
    let mut args = vec![
        "rewrite",
        input.to_str().unwrap(),
        "--to",
        TO,
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(r) = rules {
        args.extend(["--rules", r.to_str().unwrap()]);
    }
    let run = ferry(&args);
    assert_eq!(run.status.code(), Some(0), "{name}: {}", text(&run.stderr));

    let user = rules
        .map(|r| UserRules::load(r).unwrap())
        .unwrap_or_default();
    let opts = ferry::workflow::ScanOptions {
        rules: user,
        ..Default::default()
    };
    let before = ferry::workflow::scan_paths(&[input.to_path_buf()], &opts, false);
    // Kustomize trees are rendered again: every image of the output must have moved.
    let after = ferry::workflow::scan_paths(&[out.to_path_buf()], &opts, false);
    assert!(
        after.errors.is_empty(),
        "{name}: rewritten files do not parse: {:?}",
        after.errors
    );
    // Judged against the hand-checked list, not against what the scanner found before: an
    // image the scanner misses is neither rewritten nor found after, and fails here.
    let target: Target = TO.parse().unwrap();
    let expected: Vec<ferry::reference::Reference> = expected_images(input)
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();
    let mapping = target.map_all(&expected, Layout::Path).unwrap();
    let want: BTreeSet<String> = mapping.values().map(ToString::to_string).collect();
    let got: BTreeSet<String> = after.hits.iter().map(|h| h.reference.to_string()).collect();
    assert_eq!(got, want, "{name}: rewritten files name other images");

    // Raw text, no scanner: no source registry/repository is left anywhere in the output
    // but in comments (which rewrite leaves alone) and in a kustomization's `images[].name`
    // (the key kustomize matches the manifests' placeholders with).
    // A placeholder kustomize replaces stays as written (its entry changed): exempt too.
    let fallback = ferry::workflow::scan_paths(
        &[input.to_path_buf()],
        &ferry::workflow::ScanOptions {
            render: ferry::render::RenderOptions {
                kustomize: ferry::render::KustomizeChoice::Off,
                ..Default::default()
            },
            ..opts.clone()
        },
        false,
    );
    let placeholders: BTreeSet<(PathBuf, usize)> = fallback
        .warnings
        .iter()
        .filter(|w| w.message.contains("kustomize placeholder"))
        .map(|w| {
            let file = Path::new(&w.file);
            let rel = file.strip_prefix(input).unwrap_or(file);
            (out.join(rel), w.line)
        })
        .collect();
    // The manifests: the files a kustomization builds from come along as they are (the
    // fixture's expected.txt among them), and the render's proof covers what they hold.
    let output: Vec<(PathBuf, String)> = all_bytes(&out)
        .into_iter()
        .filter(|(file, _)| {
            let name = file.file_name().unwrap().to_string_lossy();
            name == "Kustomization"
                || [".yaml", ".yml", ".json"]
                    .iter()
                    .any(|ext| name.ends_with(ext))
        })
        .collect();
    for source in &expected {
        if source.registry() == target.registry() {
            continue;
        }
        let name = source.name();
        for (file, text) in &output {
            let kustomization = text.contains("kind: Kustomization")
                || file
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("kustomization."));
            for (i, line) in text.lines().enumerate() {
                let key = line.trim_start().trim_start_matches("- ");
                if (kustomization && key.starts_with("name:"))
                    || placeholders.contains(&(file.clone(), i + 1))
                {
                    continue;
                }
                let code = match line.find(" #") {
                    _ if line.trim_start().starts_with('#') => "",
                    Some(at) => &line[..at],
                    None => line,
                };
                assert!(
                    !code.contains(&name),
                    "{}:{}: {source} is still named: {line}",
                    file.display(),
                    i + 1
                );
            }
        }
    }

    // Only lines holding references differ; lines are only added to kustomizations
    // (`newName:` and `digest:` of an `images:` entry).
    for f in ferry::inputs::expand(&[input.to_path_buf()]).unwrap() {
        let rel = if input.is_dir() {
            f.strip_prefix(input).unwrap().to_path_buf()
        } else {
            PathBuf::from(f.file_name().unwrap())
        };
        let (a, b) = (
            std::fs::read_to_string(&f).unwrap(),
            std::fs::read_to_string(out.join(&rel)).unwrap(),
        );
        let hit_lines: BTreeSet<usize> = before
            .hits
            .iter()
            .filter(|h| Path::new(&h.file) == f)
            .flat_map(|h| h.parts.iter().map(|p| p.line))
            .collect();
        let diff = similar::TextDiff::from_lines(&a, &b);
        for change in diff.iter_all_changes() {
            match change.tag() {
                similar::ChangeTag::Equal => {}
                similar::ChangeTag::Delete => {
                    let line = change.old_index().unwrap() + 1;
                    assert!(
                        hit_lines.contains(&line),
                        "{name}: {rel:?}:{line} changed without a reference: -{}",
                        change.value()
                    );
                }
                similar::ChangeTag::Insert => {
                    let added = change.value().trim_start();
                    let replaces_a_hit_line = diff.ops().iter().any(|op| {
                        op.new_range().contains(&change.new_index().unwrap())
                            && op.old_range().clone().any(|i| hit_lines.contains(&(i + 1)))
                    });
                    assert!(
                        replaces_a_hit_line
                            || added.starts_with("newName:")
                            || added.starts_with("digest:"),
                        "{name}: {rel:?} gained a line that is no reference: +{}",
                        change.value()
                    );
                }
            }
        }
    }
}

#[test]
fn fixtures_round_trip() {
    for name in [
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
        "field-semantics",
    ] {
        round_trip(name, &fixtures().join(name), None);
    }
    round_trip(
        "user-rules",
        &fixtures().join("user-rules"),
        Some(&fixtures().join("rules/acme.yaml")),
    );
}

#[test]
fn corpus_round_trips() {
    let cases = corpus_cases();
    for case in &cases {
        let name = case
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        round_trip(&name, case, None);
    }
    eprintln!("corpus cases rewritten: {}", cases.len());
}

/// Replacing every part with its own text must leave every byte as it was.
#[test]
fn identity_edits_leave_files_byte_identical() {
    let mut inputs = vec![fixtures()];
    inputs.extend(corpus_cases());
    let mut files = 0;
    for input in inputs {
        for f in ferry::inputs::expand(&[input]).unwrap() {
            let src = std::fs::read_to_string(&f).unwrap();
            let found =
                scan::scan_str(&f.display().to_string(), &src, &UserRules::default()).unwrap();
            let edits: Vec<Edit> = found
                .hits
                .iter()
                .flat_map(|h| {
                    h.parts.iter().map(|p| Edit {
                        start: p.start,
                        end: p.end,
                        text: p.text.clone(),
                    })
                })
                .collect();
            assert_eq!(apply(&src, edits).unwrap(), src, "{}", f.display());
            files += 1;
        }
    }
    assert!(files >= 20);
}

#[test]
fn in_place_is_all_or_nothing_and_diff_writes_nothing() {
    let dir = temp_dir("rw-inplace");
    let a = dir.join("a.yaml");
    let b = dir.join("b.yaml");
    std::fs::write(&a, "image: quay.io/a/kafka:1 # keep me\n").unwrap();
    std::fs::write(&b, "image: docker.io/b/kafka:1\n").unwrap();
    let d = dir.to_str().unwrap();

    // Two sources on one flat name: refused, neither file touched.
    let out = ferry(&[
        "rewrite",
        d,
        "--to",
        "reg.local",
        "--layout",
        "flat",
        "--in-place",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&a).unwrap(),
        "image: quay.io/a/kafka:1 # keep me\n"
    );

    let out = ferry(&["rewrite", d, "--to", "reg.local", "--diff"]);
    assert_eq!(out.status.code(), Some(0));
    let diff = text(&out.stdout);
    assert!(
        diff.contains("-image: quay.io/a/kafka:1 # keep me\n+image: reg.local/a/kafka:1 # keep me"),
        "{diff}"
    );
    assert_eq!(
        std::fs::read_to_string(&a).unwrap(),
        "image: quay.io/a/kafka:1 # keep me\n"
    );

    let lock = dir.join("lock.json");
    let out = ferry(&[
        "rewrite",
        d,
        "--to",
        "reg.local",
        "--in-place",
        "--lock",
        lock.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&a).unwrap(),
        "image: reg.local/a/kafka:1 # keep me\n"
    );
    assert_eq!(
        std::fs::read_to_string(&b).unwrap(),
        "image: reg.local/b/kafka:1\n"
    );
    let l: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lock).unwrap()).unwrap();
    assert_eq!(l["images"][0]["source"], "docker.io/b/kafka:1");
    assert_eq!(l["images"][0]["target"], "reg.local/b/kafka:1");
    let leftovers = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(leftovers, 0);

    // Several inputs keep their own names under --out; a clash is refused up front.
    let out_dir = dir.join("out");
    let other = temp_dir("rw-inplace-other");
    std::fs::write(other.join("a.yaml"), "image: quay.io/c/x:1\n").unwrap();
    let o = ferry(&[
        "rewrite",
        d,
        other.to_str().unwrap(),
        "--to",
        "reg.local",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let dir_name = dir.file_name().unwrap().to_str().unwrap();
    let other_name = other.file_name().unwrap().to_str().unwrap();
    assert!(out_dir.join(dir_name).join("a.yaml").exists());
    assert_eq!(
        std::fs::read_to_string(out_dir.join(other_name).join("a.yaml")).unwrap(),
        "image: reg.local/c/x:1\n"
    );
    let clash = ferry(&[
        "rewrite",
        a.to_str().unwrap(),
        other.join("a.yaml").to_str().unwrap(),
        "--to",
        "reg.local",
        "--out",
        dir.join("out2").to_str().unwrap(),
    ]);
    assert_eq!(clash.status.code(), Some(3), "{}", text(&clash.stderr));
    assert!(
        !dir.join("out2").exists(),
        "something was written despite the clash"
    );

    let bad = ferry(&["rewrite", d, "--to", "https://reg.local", "--diff"]);
    assert_eq!(bad.status.code(), Some(3));
    assert_eq!(
        ferry(&["rewrite", d, "--to", "reg.local"]).status.code(),
        Some(2),
        "a mode is required"
    );
}

#[test]
fn pull_secret_only_adds_its_own_lines_to_every_pod_spec() {
    for name in [
        "prometheus",
        "strimzi",
        "olm-csv",
        "kustomize",
        "redis-enterprise",
    ] {
        let input = fixtures().join(name);
        let plain = temp_dir(&format!("ps-plain-{name}"));
        let with = temp_dir(&format!("ps-with-{name}"));
        for (out, extra) in [(&plain, None), (&with, Some("regcred"))] {
            let mut args = vec![
                "rewrite",
                input.to_str().unwrap(),
                "--to",
                TO,
                "--out",
                out.to_str().unwrap(),
            ];
            if let Some(s) = extra {
                args.extend(["--pull-secret", s]);
            }
            let r = ferry(&args);
            assert_eq!(r.status.code(), Some(0), "{name}: {}", text(&r.stderr));
        }
        let mut pod_specs = 0;
        for f in ferry::inputs::expand(&[with.to_path_buf()]).unwrap() {
            let rel = f.strip_prefix(&with).unwrap();
            let a = std::fs::read_to_string(plain.join(rel)).unwrap();
            let b = std::fs::read_to_string(&f).unwrap();
            let kept: Vec<&str> = b
                .lines()
                .filter(|l| !matches!(l.trim(), "imagePullSecrets:" | "- name: regcred"))
                .collect();
            assert_eq!(
                kept,
                a.lines().collect::<Vec<_>>(),
                "{name}: {rel:?} changed beyond the inserted lines"
            );
            for doc in ferry::yaml::parse_documents(&b).unwrap() {
                pod_specs += check_pod_specs(&doc.root);
            }
        }
        assert!(pod_specs > 0, "{name}: no pod spec checked");
    }
}

/// Counts pod specs, asserting each lists the secret.
fn check_pod_specs(node: &ferry::yaml::Node) -> usize {
    use ferry::yaml::Node;
    let mut n = 0;
    if node.get("containers").and_then(|c| c.as_seq()).is_some() {
        let secrets = node
            .get("imagePullSecrets")
            .and_then(|s| s.as_seq())
            .expect("imagePullSecrets added");
        assert!(secrets.iter().any(|s| s.get_str("name") == Some("regcred")));
        n += 1;
    }
    match node {
        Node::Map(entries, _) => {
            n + entries
                .iter()
                .map(|(_, v)| check_pod_specs(v))
                .sum::<usize>()
        }
        Node::Seq(items, _) => n + items.iter().map(check_pod_specs).sum::<usize>(),
        _ => n,
    }
}

/// A kustomize tree is rendered as rewritten before anything is written: an image that no
/// input file names (here a base outside the inputs) gets an `images:` entry in the root
/// kustomization; one the images transformer cannot reach is an error, nothing written.
#[test]
fn kustomize_trees_are_proven_by_rendering_the_rewrite() {
    let dir = temp_dir("rw-kustomize-reach");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("base/kustomization.yaml", "resources:\n- deploy.yaml\n");
    write(
        "base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: quay.io/acme/web:1.0\n",
    );
    write(
        "overlay/kustomization.yaml",
        "# the site's overlay\nresources:\n- ../base\n- sidecar.yaml\nimages:\n- name: busybox\n  newTag: \"1.36\"\n",
    );
    write(
        "overlay/sidecar.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: tool}\nspec:\n  containers:\n  - name: tool\n    image: busybox:1.35\n",
    );
    let out = dir.join("out");
    let overlay = dir.join("overlay");
    let r = ferry(&[
        "rewrite",
        overlay.to_str().unwrap(),
        "--to",
        TO,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let written = std::fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    assert_eq!(
        written,
        format!(
            "# the site's overlay\nresources:\n- ../base\n- sidecar.yaml\nimages:\n- name: busybox\n  newName: {TO}/library/busybox\n  newTag: \"1.36\"\n- name: quay.io/acme/web\n  newName: {TO}/acme/web\n"
        )
    );
    assert!(
        text(&r.stderr).contains("images: entries added for 1 image"),
        "{}",
        text(&r.stderr)
    );
    // Rendered where the base is reachable, every image is now the private registry's.
    std::fs::write(overlay.join("kustomization.yaml"), &written).unwrap();
    let rendered = std::process::Command::new("kubectl")
        .args(["kustomize", overlay.to_str().unwrap()])
        .output()
        .unwrap();
    let rendered = text(&rendered.stdout);
    assert!(
        rendered.contains(&format!("image: {TO}/acme/web:1.0"))
            && rendered.contains(&format!("image: {TO}/library/busybox:1.36")),
        "{rendered}"
    );

    // A field the images transformer does not edit cannot be redirected from the overlay.
    write(
        "base/monitor.yaml",
        "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: k8s}\nspec:\n  image: quay.io/prometheus/prometheus:v3.4.2\n",
    );
    write(
        "base/kustomization.yaml",
        "resources:\n- deploy.yaml\n- monitor.yaml\n",
    );
    let out2 = dir.join("out2");
    let r = ferry(&[
        "rewrite",
        overlay.to_str().unwrap(),
        "--to",
        TO,
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(3), "{}", text(&r.stderr));
    let err = text(&r.stderr);
    assert!(
        err.contains("quay.io/prometheus/prometheus:v3.4.2 at Prometheus .spec.image")
            && err.contains("no input file names it")
            && err.contains("nothing written"),
        "{err}"
    );
    assert!(!out2.exists(), "written despite the error");
}

/// `rewrite TREE --out OUT` of a kustomize tree gives a tree that builds as TREE does: the
/// files its kustomizations read that are not manifests (a generator's `files:` and `envs:`,
/// in a subdirectory too) are copied beside the rewritten ones; a directory no
/// kustomization builds from gets only its manifests, as before.
#[test]
fn a_rewritten_kustomize_tree_builds_with_its_generator_files() {
    let dir = temp_dir("rw-kustomize-generators");
    let write = |name: &str, text: &str| {
        let p = dir.join("tree").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "base/kustomization.yaml",
        "resources:\n- deploy.yaml\nconfigMapGenerator:\n- name: settings\n  files:\n  - conf/app.properties\n",
    );
    write("base/conf/app.properties", "mode=fast\n");
    write(
        "base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: quay.io/acme/web:1.0\n",
    );
    write(
        "overlays/prod/kustomization.yaml",
        "resources:\n- ../../base\nsecretGenerator:\n- name: creds\n  envs:\n  - creds.env\n",
    );
    write("overlays/prod/creds.env", "TOKEN=abc\n");
    write(
        "plain/job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers:\n      - name: j\n        image: quay.io/acme/job:2\n",
    );
    write("plain/NOTES.txt", "not a manifest\n");
    let (tree, out) = (dir.join("tree"), dir.join("out"));
    let r = ferry(&[
        "rewrite",
        tree.to_str().unwrap(),
        "--to",
        TO,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert_eq!(
        std::fs::read_to_string(out.join("base/conf/app.properties")).unwrap(),
        "mode=fast\n"
    );
    assert!(out.join("overlays/prod/creds.env").is_file());
    assert!(
        !out.join("plain/NOTES.txt").exists(),
        "only what a kustomization builds from is copied"
    );
    let build = |root: &Path| {
        let o = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(root)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            root.display(),
            text(&o.stderr)
        );
        text(&o.stdout)
    };
    let before = build(&tree.join("overlays/prod"));
    let after = build(&out.join("overlays/prod"));
    assert_eq!(
        after,
        before.replace("quay.io/acme/web", &format!("{TO}/acme/web")),
        "the same objects, the image under the target"
    );

    // OUT inside the kustomization it mirrors (`rewrite . --out airgapped`): never copied
    // into itself.
    let root = dir.join("tree/overlays/prod");
    let inside = root.join("airgapped");
    let r = ferry(&[
        "rewrite",
        root.to_str().unwrap(),
        "--to",
        TO,
        "--out",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert!(inside.join("creds.env").is_file());
    assert!(!inside.join("airgapped").exists(), "OUT copied into itself");
}

/// `--in-place` can be run again (after a kill, or by mistake): references already under
/// the target keep their names. A linked file is written through its link, and what a
/// killed run left beside the files is swept (a live run's temporary is not).
#[test]
fn in_place_again_changes_nothing_and_links_stay_links() {
    let dir = temp_dir("rw-again");
    let real = dir.join("real");
    let tree = dir.join("tree");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::create_dir_all(&tree).unwrap();
    let pod = |image: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: a\n    image: {image}\n"
        )
    };
    std::fs::write(tree.join("a.yaml"), pod("quay.io/x/a:1")).unwrap();
    std::fs::write(real.join("b.yaml"), pod("quay.io/x/b:1")).unwrap();
    std::os::unix::fs::symlink(real.join("b.yaml"), tree.join("b.yaml")).unwrap();
    let stale = tree.join(".a.yaml.partial-99999999");
    let live = tree.join(format!(".a.yaml.partial-{}", std::process::id()));
    std::fs::write(&stale, "left by a killed run").unwrap();
    std::fs::write(&live, "another run's").unwrap();
    let run = || ferry(&["rewrite", tree.to_str().unwrap(), "--to", TO, "--in-place"]);
    let first = run();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let a = std::fs::read_to_string(tree.join("a.yaml")).unwrap();
    assert_eq!(a, pod(&format!("{TO}/x/a:1")));
    assert!(
        tree.join("b.yaml").is_symlink(),
        "the link was replaced by a file"
    );
    assert_eq!(
        std::fs::read_to_string(real.join("b.yaml")).unwrap(),
        pod(&format!("{TO}/x/b:1"))
    );
    assert!(!stale.exists() && live.exists());
    let second = run();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    assert_eq!(std::fs::read_to_string(tree.join("a.yaml")).unwrap(), a);
    assert_eq!(
        std::fs::read_to_string(real.join("b.yaml")).unwrap(),
        pod(&format!("{TO}/x/b:1"))
    );
}
