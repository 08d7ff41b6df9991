//! Rewrites manifests to point at the private registry by editing only the bytes of each
//! reference (or each part of a split reference) that `scan` located; every other byte —
//! comments, order, quoting, indentation, line endings — stays as it was. A Helm chart is
//! not edited: [`chart`] writes a values override for it instead.

use std::collections::BTreeMap;

pub mod chart;
mod kustomize;
mod pull_secret;

pub use kustomize::image_entry_edits;
pub use pull_secret::pull_secret_edits;

use crate::scan::{Form, Hit, Part, Role, Rule};
use ferry_core::reference::Reference;

#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error("{file}:{line}:{column}: {message}")]
    At {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// One replacement of a byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

fn at(hit: &Hit, part: Option<&Part>, message: impl Into<String>) -> RewriteError {
    RewriteError::At {
        file: hit.file.clone(),
        line: part.map_or(hit.line, |p| p.line),
        column: part.map_or(hit.column, |p| p.column),
        message: message.into(),
    }
}

/// `target` written in the style of `written`: no `:latest` added where none was written
/// (unless a digest is being pinned).
fn render(target: &Reference, written: &str) -> String {
    let explicit = Reference::parse(written).is_ok_and(|r| r.is_pinned_or_tagged());
    if explicit || target.digest().is_some() {
        target.to_string()
    } else {
        target.name()
    }
}

fn part(hit: &Hit, role: Role) -> Option<&Part> {
    hit.parts.iter().find(|p| p.role == role)
}

/// The edits that make `hit` name `target` instead of its source.
pub fn edits_for(
    hit: &Hit,
    target: &Reference,
    source_text: &str,
) -> Result<Vec<Edit>, RewriteError> {
    if *target == hit.reference {
        return Ok(Vec::new());
    }
    let replace = |p: &Part, text: String| Edit {
        start: p.start,
        end: p.end,
        text,
    };
    match hit.form {
        Form::Whole | Form::Embedded => {
            let p = part(hit, Role::Reference).ok_or_else(|| at(hit, None, "no reference part"))?;
            Ok(vec![replace(p, render(target, &p.text))])
        }
        Form::Split => {
            let repo = part(hit, Role::Repository)
                .ok_or_else(|| at(hit, None, "split reference without a repository field"))?;
            let mut edits = pin_split(hit, target, source_text)?;
            if hit.rule == Rule::KustomizeImages && repo.field == "name" {
                edits.extend(insert_sibling(
                    hit,
                    repo,
                    "newName",
                    &target.name(),
                    source_text,
                )?);
                return Ok(edits);
            }
            let full_repo = match part(hit, Role::Registry) {
                Some(reg) => {
                    edits.push(replace(reg, target.registry().to_string()));
                    target.repository().to_string()
                }
                // No field for the registry: it goes into the repository field.
                None => target.name(),
            };
            match part(hit, Role::Name) {
                Some(name) => {
                    let (namespace, last) = full_repo.rsplit_once('/').ok_or_else(|| {
                        at(
                            hit,
                            Some(repo),
                            format!("{target} has no namespace for the `repository` field"),
                        )
                    })?;
                    edits.push(replace(repo, namespace.to_string()));
                    edits.push(replace(name, last.to_string()));
                }
                None => edits.push(replace(repo, full_repo)),
            }
            Ok(edits)
        }
    }
}

/// With `--pin-digests`, a split reference gets the digest in its digest field (`sha` holds
/// only the hex), else appended to its tag (`v1@sha256:...`, as charts join them), else — in
/// a kustomization — a `digest:` line.
fn pin_split(hit: &Hit, target: &Reference, source: &str) -> Result<Vec<Edit>, RewriteError> {
    let Some(digest) = target
        .digest()
        .filter(|d| Some(*d) != hit.reference.digest())
    else {
        return Ok(Vec::new());
    };
    if let Some(p) = part(hit, Role::Digest) {
        let text = if p.field.starts_with("sha") {
            digest.split_once(':').map_or(digest, |(_, h)| h)
        } else {
            digest
        };
        return Ok(vec![Edit {
            start: p.start,
            end: p.end,
            text: text.to_string(),
        }]);
    }
    match part(hit, Role::Tag) {
        Some(t) if hit.rule != Rule::KustomizeImages => Ok(vec![Edit {
            start: t.start,
            end: t.end,
            text: format!("{}@{digest}", t.text),
        }]),
        Some(t) => insert_sibling(hit, t, "digest", digest, source),
        // A kustomize `newName` whose tag comes from the manifests.
        None if hit.rule == Rule::KustomizeImages => match part(hit, Role::Repository) {
            Some(r) => insert_sibling(hit, r, "digest", digest, source),
            None => Err(at(hit, None, "no field to hold the pinned digest")),
        },
        None => Err(at(hit, None, "no field to hold the pinned digest")),
    }
}

/// Inserts `key: value` as a new line below the line of `beside`, at its key's indentation
/// (a kustomize `images:` entry gaining `newName` or `digest`; the matched `name` stays).
fn insert_sibling(
    hit: &Hit,
    beside: &Part,
    key: &str,
    value: &str,
    source: &str,
) -> Result<Vec<Edit>, RewriteError> {
    let line_start = source[..beside.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[beside.end..]
        .find('\n')
        .map_or(source.len(), |i| beside.end + i);
    let line = &source[line_start..line_end];
    let needle = format!("{}:", beside.field);
    let key_col = line.find(&needle).ok_or_else(|| {
        at(
            hit,
            Some(beside),
            format!("cannot find the `{needle}` key to insert `{key}` after"),
        )
    })?;
    if line.contains('{') {
        return Err(at(
            hit,
            Some(beside),
            format!("cannot insert `{key}` into a flow mapping"),
        ));
    }
    let eol = if line.ends_with('\r') { "\r\n" } else { "\n" };
    let insert_at = if line_end < source.len() {
        line_end + 1
    } else {
        line_end
    };
    let lead = if line_end < source.len() { "" } else { eol };
    Ok(vec![Edit {
        start: insert_at,
        end: insert_at,
        text: format!("{lead}{}{key}: {value}{eol}", " ".repeat(key_col)),
    }])
}

/// Applies non-overlapping edits to `source`.
pub fn apply(source: &str, mut edits: Vec<Edit>) -> Result<String, String> {
    edits.sort_by_key(|e| (e.start, e.end));
    edits.dedup();
    let mut out = String::with_capacity(source.len());
    let mut pos = 0;
    for e in &edits {
        if e.start < pos {
            return Err(format!("overlapping edits at byte {}", e.start));
        }
        out.push_str(&source[pos..e.start]);
        out.push_str(&e.text);
        pos = e.end;
    }
    out.push_str(&source[pos..]);
    Ok(out)
}

/// The edits that point one file's hits at their targets.
pub fn reference_edits(
    source: &str,
    hits: &[&Hit],
    mapping: &BTreeMap<Reference, Reference>,
) -> Result<Vec<Edit>, RewriteError> {
    let mut edits: Vec<Edit> = Vec::new();
    // By span, so a file with a million references is not compared pair by pair.
    let mut by_span: std::collections::HashMap<(usize, usize), usize> =
        std::collections::HashMap::new();
    for hit in hits {
        let target = mapping
            .get(&hit.reference)
            .ok_or_else(|| at(hit, None, format!("no target for {}", hit.reference)))?;
        for edit in edits_for(hit, target, source)? {
            // One field read by several hits (a kustomize `newName` used at several tags)
            // can take one value only.
            let earlier = by_span.get(&(edit.start, edit.end)).map(|&i| &edits[i]);
            if earlier.is_some_and(|e| e.text != edit.text) {
                return Err(at(
                    hit,
                    None,
                    format!(
                        "this field would need two different values (one for {}): \
                         give each tag its own kustomize `images:` entry",
                        hit.reference
                    ),
                ));
            }
            by_span.entry((edit.start, edit.end)).or_insert(edits.len());
            edits.push(edit);
        }
    }
    Ok(edits)
}

/// Rewrites one file's text given its hits and the source → target mapping.
pub fn rewrite_text(
    source: &str,
    hits: &[&Hit],
    mapping: &BTreeMap<Reference, Reference>,
) -> Result<String, RewriteError> {
    let edits = reference_edits(source, hits, mapping)?;
    apply(source, edits).map_err(|message| RewriteError::At {
        file: hits.first().map(|h| h.file.clone()).unwrap_or_default(),
        line: 1,
        column: 1,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{UserRules, scan_str};
    use ferry_core::target::{Layout, Target};

    /// One file read alone, a kustomization's `images:` entries resolved.
    fn scan_alone(src: &str) -> crate::scan::FileScan {
        let mut scans = vec![(
            "t.yaml".to_string(),
            scan_str("t.yaml", src, &UserRules::default()).unwrap(),
        )];
        crate::scan::kustomize::resolve(&mut scans);
        scans.remove(0).1
    }

    fn rewrite(src: &str, to: &str, layout: Layout) -> String {
        let found = scan_alone(src);
        let target: Target = to.parse().unwrap();
        let mapping = target
            .map_all(found.hits.iter().map(|h| &h.reference), layout)
            .unwrap();
        let hits: Vec<&Hit> = found.hits.iter().collect();
        rewrite_text(src, &hits, &mapping).unwrap()
    }

    #[test]
    fn only_reference_bytes_change() {
        let src = "spec:\n  containers:\n    - name: a   # keep\n      image: \"nginx:1.25\" # comment\n      args: ['--sidecar-image=quay.io/x/y:2', \"--port=1\"]\n";
        let out = rewrite(src, "harbor.local/team", Layout::Path);
        assert_eq!(
            out,
            "spec:\n  containers:\n    - name: a   # keep\n      image: \"harbor.local/team/library/nginx:1.25\" # comment\n      args: ['--sidecar-image=harbor.local/team/x/y:2', \"--port=1\"]\n"
        );
    }

    #[test]
    fn untagged_stays_untagged() {
        let out = rewrite("image: busybox\n", "reg.io", Layout::Path);
        assert_eq!(out, "image: reg.io/library/busybox\n");
    }

    #[test]
    fn split_parts_are_edited_in_their_own_fields() {
        let src =
            "image:\n  registry: quay.io\n  repository: prometheus/prometheus\n  tag: v3.4.2\n";
        assert_eq!(
            rewrite(src, "harbor.local/team", Layout::Path),
            "image:\n  registry: harbor.local\n  repository: team/prometheus/prometheus\n  tag: v3.4.2\n"
        );
        let src = "spec:\n  redisEnterpriseImageSpec:\n    repository: redislabs/redis\n    versionTag: 7.4.6-102\n";
        assert_eq!(
            rewrite(src, "harbor.local/team", Layout::Path),
            "spec:\n  redisEnterpriseImageSpec:\n    repository: harbor.local/team/redislabs/redis\n    versionTag: 7.4.6-102\n"
        );
        let src = "image:\n  repository: bitnami\n  name: kubectl\n  tag: \"1.31\"\n";
        assert_eq!(
            rewrite(src, "harbor.local/team", Layout::Path),
            "image:\n  repository: harbor.local/team/bitnami\n  name: kubectl\n  tag: \"1.31\"\n"
        );
    }

    #[test]
    fn kustomize_name_only_gets_a_new_name_line() {
        let src = "kind: Kustomization\napiVersion: kustomize.config.k8s.io/v1beta1\nimages:\n  - name: busybox\n    newTag: \"1.36\"\n";
        assert_eq!(
            rewrite(src, "reg.local", Layout::Path),
            "kind: Kustomization\napiVersion: kustomize.config.k8s.io/v1beta1\nimages:\n  - name: busybox\n    newName: reg.local/library/busybox\n    newTag: \"1.36\"\n"
        );
    }

    #[test]
    fn kustomize_new_name_alone_is_rewritten_and_pinned_once() {
        let k = "resources:\n  - m.yaml\nimages:\n  - name: app\n    newName: quay.io/x/app\n";
        let m = |tags: &[&str]| {
            let containers: String = tags
                .iter()
                .map(|t| format!("        - image: app:{t}\n"))
                .collect();
            format!(
                "kind: Deployment\napiVersion: apps/v1\nspec:\n  template:\n    spec:\n      containers:\n{containers}"
            )
        };
        let run = |tags: &[&str], digests: &[&str]| {
            let manifest = m(tags);
            let mut scans = vec![
                (
                    "kustomization.yaml".to_string(),
                    scan_str("kustomization.yaml", k, &UserRules::default()).unwrap(),
                ),
                (
                    "m.yaml".to_string(),
                    scan_str("m.yaml", &manifest, &UserRules::default()).unwrap(),
                ),
            ];
            crate::scan::kustomize::resolve(&mut scans);
            assert!(
                scans[1].1.hits.is_empty(),
                "placeholders left in the manifest"
            );
            let target: Target = "reg.io/t".parse().unwrap();
            let mut mapping = target
                .map_all(scans[0].1.hits.iter().map(|h| &h.reference), Layout::Path)
                .unwrap();
            for (v, d) in mapping.values_mut().zip(digests) {
                *v = v.with_digest(d).unwrap();
            }
            let hits: Vec<&Hit> = scans[0].1.hits.iter().collect();
            rewrite_text(k, &hits, &mapping)
        };
        let d1 = "sha256:4bc453b53cb3d914b45f4b250294236adba2c0e09ff6f03793949e7e39fd4cc1";
        let d2 = "sha256:0010d4eb56d0be08d4596a24ed83490d06f6852d1a14d3a4467f1829bd9a6fe9";
        // Two tags, one newName field: rewritten once.
        assert_eq!(
            run(&["v1", "v2"], &[]).unwrap(),
            k.replace("quay.io/x/app", "reg.io/t/x/app")
        );
        // One tag pinned: a digest line below newName.
        assert_eq!(
            run(&["v1"], &[d1]).unwrap(),
            k.replace(
                "quay.io/x/app\n",
                &format!("reg.io/t/x/app\n    digest: {d1}\n")
            )
        );
        // Two tags pinned to two digests cannot share one entry.
        let err = run(&["v1", "v2"], &[d1, d2]).unwrap_err().to_string();
        assert!(err.contains("two different values"), "{err}");
    }

    #[test]
    fn crlf_and_block_scalars_survive() {
        let src = "env:\r\n  - name: STRIMZI_KAFKA_IMAGES\r\n    value: |\r\n      3.8.0=quay.io/strimzi/kafka:0.45.0-kafka-3.8.0\r\n      3.9.0=quay.io/strimzi/kafka:0.45.0-kafka-3.9.0\r\n";
        let out = rewrite(src, "h.io/m", Layout::Path);
        assert_eq!(out, src.replace("quay.io/", "h.io/m/"));
    }

    #[test]
    fn pinned_digests_land_where_the_form_keeps_them() {
        let d = "sha256:4bc453b53cb3d914b45f4b250294236adba2c0e09ff6f03793949e7e39fd4cc1";
        let pin = |src: &str| {
            let found = scan_alone(src);
            let target: Target = "reg.io/t".parse().unwrap();
            let mut mapping = target
                .map_all(found.hits.iter().map(|h| &h.reference), Layout::Path)
                .unwrap();
            for v in mapping.values_mut() {
                *v = v.with_digest(d).unwrap();
            }
            let hits: Vec<&Hit> = found.hits.iter().collect();
            rewrite_text(src, &hits, &mapping).unwrap()
        };
        assert_eq!(
            pin("image: nginx:1.25\n"),
            format!("image: reg.io/t/library/nginx:1.25@{d}\n")
        );
        assert_eq!(
            pin("image: nginx\n"),
            format!("image: reg.io/t/library/nginx@{d}\n")
        );
        assert_eq!(
            pin("image:\n  repository: a/b\n  tag: v1\n"),
            format!("image:\n  repository: reg.io/t/a/b\n  tag: v1@{d}\n")
        );
        assert_eq!(
            pin("image:\n  repository: a/b\n  tag: v1\n  sha: \"\"\n"),
            format!("image:\n  repository: reg.io/t/a/b\n  tag: v1@{d}\n  sha: \"\"\n")
        );
        assert_eq!(
            pin("kind: Kustomization\nimages:\n  - name: busybox\n    newTag: \"1.36\"\n"),
            format!(
                "kind: Kustomization\nimages:\n  - name: busybox\n    newName: reg.io/t/library/busybox\n    newTag: \"1.36\"\n    digest: {d}\n"
            )
        );
    }

    #[test]
    fn edits_must_not_overlap() {
        let e = |s, e| Edit {
            start: s,
            end: e,
            text: "x".into(),
        };
        assert!(apply("abcdef", vec![e(0, 3), e(2, 4)]).is_err());
        assert_eq!(apply("abcdef", vec![e(4, 6), e(0, 1)]).unwrap(), "xbcdx");
    }
}
