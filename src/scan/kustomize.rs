//! Kustomize's `images:` transformer across files. In a kustomize tree the manifests often
//! name a placeholder (`image: controller:latest`) that a kustomization's `images:` entry
//! replaces; pods pull the replacement, never the placeholder. So a container image in a
//! file a kustomization includes, whose name is an entry's `name`, is not reported itself:
//! the entry is (with `newTag`/`digest`), or `newName` completed with the manifest's tag.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use super::{EntryChange, FileScan, Form, Hit, Rule, Warning};
use crate::reference::Reference;

/// A document that is a kustomization: `kind: Kustomization`, or no kind in a file named as
/// kustomize names them (`kustomization.yaml`, `kustomization.yml`, `Kustomization`).
pub fn is_kustomization(kind: Option<&str>, file: &str) -> bool {
    match kind {
        Some(kind) => kind == "Kustomization",
        None => matches!(
            Path::new(file).file_name().and_then(|n| n.to_str()),
            Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
        ),
    }
}

/// Applies every kustomization among `scans` (file label, findings) to the files it
/// includes: placeholders are dropped with a warning saying where their image is reported.
pub fn resolve(scans: &mut [(String, FileScan)]) {
    let kustomizations: Vec<_> = scans
        .iter()
        .flat_map(|(_, s)| s.kustomizations.iter().cloned())
        .collect();
    if kustomizations.iter().all(|k| k.entries.is_empty()) {
        return;
    }
    let paths: Vec<PathBuf> = scans.iter().map(|(f, _)| normalize(Path::new(f))).collect();
    // Innermost first: a base's entries apply before an overlay's.
    let mut order: Vec<usize> = (0..kustomizations.len()).collect();
    order.sort_by_cached_key(|&k| std::cmp::Reverse(depth(&kustomizations[k].file)));

    let mut derived: Vec<(String, Hit)> = Vec::new();
    let mut used = vec![false; kustomizations.len()];
    for &k in &order {
        let kust = &kustomizations[k];
        let scope = scope(k, &kustomizations, &paths, scans, &mut BTreeSet::new());
        for file in scope {
            let found = &mut scans[file].1;
            let mut kept = Vec::with_capacity(found.hits.len());
            for hit in std::mem::take(&mut found.hits) {
                let entry = is_container_image(&hit)
                    .then(|| {
                        kust.entries
                            .iter()
                            .find(|e| name_as_written(&hit.written) == Some(e.name.as_str()))
                    })
                    .flatten();
                let Some(entry) = entry else {
                    kept.push(hit);
                    continue;
                };
                let by = format!("{} (images: name {})", kust.file, entry.name);
                match &entry.change {
                    EntryChange::Nothing => kept.push(hit),
                    EntryChange::Complete => {
                        used[k] = true;
                        found.warnings.push(placeholder(&hit, &by));
                    }
                    EntryChange::NewName(template) => match complete(template, &hit) {
                        Some(d) => {
                            used[k] = true;
                            derived.push((kust.file.clone(), d));
                            found.warnings.push(placeholder(&hit, &by));
                        }
                        None => kept.push(hit),
                    },
                }
            }
            found.hits = kept;
        }
    }
    for (file, hit) in derived {
        if let Some((_, s)) = scans.iter_mut().find(|(f, _)| *f == file)
            && !s
                .hits
                .iter()
                .any(|h| h.reference == hit.reference && h.parts == hit.parts)
        {
            s.hits.push(hit);
        }
    }
    // `newName` alone that no manifest in scope uses: nothing to report, but say so.
    for (k, kust) in kustomizations.iter().enumerate() {
        for e in &kust.entries {
            if let EntryChange::NewName(t) = &e.change
                && !used[k]
                && let Some((_, s)) = scans.iter_mut().find(|(f, _)| *f == kust.file)
            {
                s.warnings.push(Warning {
                    file: t.file.clone(),
                    line: t.line,
                    column: t.column,
                    yaml_path: t.yaml_path.clone(),
                    value: t.parts[0].text.clone(),
                    message: format!(
                        "kustomize newName without newTag or digest, and no included manifest \
                         names `{}`: the tag is unknown, not reported",
                        e.name
                    ),
                });
            }
        }
    }
}

/// The files kustomization `k` includes, directly or through the kustomizations it includes.
fn scope(
    k: usize,
    all: &[super::Kustomization],
    paths: &[PathBuf],
    scans: &[(String, FileScan)],
    seen: &mut BTreeSet<usize>,
) -> BTreeSet<usize> {
    let mut files = BTreeSet::new();
    if !seen.insert(k) {
        return files;
    }
    let dir = normalize(Path::new(&all[k].file))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let own = scans.iter().position(|(f, _)| *f == all[k].file);
    for include in &all[k].includes {
        if include.contains("://") || include.starts_with("github.com/") {
            continue;
        }
        let target = normalize(&dir.join(include));
        for (i, p) in paths.iter().enumerate() {
            if p.starts_with(&target) && Some(i) != own {
                files.insert(i);
            }
        }
        for (j, other) in all.iter().enumerate() {
            if j != k && normalize(Path::new(&other.file)).starts_with(&target) {
                files.extend(scope(j, all, paths, scans, seen));
            }
        }
    }
    files
}

/// Kustomize's default image fields: `image` of `containers` and `initContainers` entries.
fn is_container_image(hit: &Hit) -> bool {
    hit.form == Form::Whole
        && hit.rule != Rule::KustomizeImages
        && hit.yaml_path.ends_with(".image")
        && ["containers[", "initContainers[", "ephemeralContainers["]
            .iter()
            .any(|c| hit.yaml_path.contains(c))
}

/// The image name as written, without tag or digest (what kustomize compares to `name`).
fn name_as_written(written: &str) -> Option<&str> {
    let no_digest = written.split('@').next()?;
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    Some(match no_digest[last_slash..].find(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    })
}

/// `newName` with the placeholder's tag and digest, as kustomize sets it.
fn complete(template: &Hit, placeholder: &Hit) -> Option<Hit> {
    let name = name_as_written(&placeholder.written)?;
    let suffix = &placeholder.written[name.len()..];
    let new_name = &template.parts[0].text;
    let reference = Reference::parse(&format!("{new_name}{suffix}")).ok()?;
    let mut hit = template.clone();
    hit.written = format!(
        "{} (tag from {}:{})",
        template.written, placeholder.file, placeholder.line
    );
    hit.reference = reference;
    Some(hit)
}

fn placeholder(hit: &Hit, by: &str) -> Warning {
    Warning {
        file: hit.file.clone(),
        line: hit.line,
        column: hit.column,
        yaml_path: hit.yaml_path.clone(),
        value: hit.written.clone(),
        message: format!("kustomize placeholder, replaced by {by}: not pulled, reported there"),
    }
}

fn depth(file: &str) -> usize {
    normalize(Path::new(file)).components().count()
}

/// `a/b/../c` -> `a/c`, lexically (inputs may not exist on disk, as in a bundle).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_kustomize_compares_them() {
        for (written, name) in [
            ("controller:latest", "controller"),
            ("controller", "controller"),
            ("localhost:5000/team/app:v1", "localhost:5000/team/app"),
            ("quay.io/x/y@sha256:abc", "quay.io/x/y"),
            ("quay.io/x/y:v1@sha256:abc", "quay.io/x/y"),
        ] {
            assert_eq!(name_as_written(written), Some(name), "{written}");
        }
    }

    fn scan(files: &[(&str, &str)]) -> Vec<(String, FileScan)> {
        let mut scans: Vec<_> = files
            .iter()
            .map(|(f, t)| {
                let found = super::super::scan_str(f, t, &super::super::UserRules::default());
                (f.to_string(), found.unwrap())
            })
            .collect();
        resolve(&mut scans);
        scans
    }

    fn images(scans: &[(String, FileScan)], file: &str) -> Vec<String> {
        let (_, s) = scans.iter().find(|(f, _)| f == file).unwrap();
        s.hits.iter().map(|h| h.reference.to_string()).collect()
    }

    const DEPLOY: &str = "kind: Deployment\napiVersion: apps/v1\nspec:\n  template:\n    spec:\n      containers:\n        - image: app:v1\n        - image: app:v2\n      initContainers:\n        - image: controller:latest\n";

    #[test]
    fn new_name_alone_takes_each_manifest_tag() {
        let k = "resources:\n  - m.yaml\nimages:\n  - name: app\n    newName: reg.io/x/app\n";
        let scans = scan(&[("k/kustomization.yaml", k), ("k/m.yaml", DEPLOY)]);
        assert_eq!(
            images(&scans, "k/kustomization.yaml"),
            ["reg.io/x/app:v1", "reg.io/x/app:v2"]
        );
        // The controller placeholder has no entry: it stays an image of its own.
        assert_eq!(
            images(&scans, "k/m.yaml"),
            ["docker.io/library/controller:latest"]
        );
        assert_eq!(scans[1].1.warnings.len(), 2, "{:?}", scans[1].1.warnings);
        // Both derived hits edit the one `newName` field.
        let parts: Vec<_> = scans[0].1.hits.iter().map(|h| h.parts.clone()).collect();
        assert_eq!(parts[0], parts[1]);
        assert_eq!(parts[0][0].field, "newName");
    }

    #[test]
    fn only_included_files_and_container_images_are_placeholders() {
        let k = "resources:\n  - ../base\n  - https://example.com/remote.yaml\nimages:\n  - name: controller\n    newName: quay.io/acme/op\n    newTag: v3\n";
        let env = "kind: Pod\napiVersion: v1\nspec:\n  containers:\n    - image: quay.io/a/b:1\n      env:\n        - name: RELATED_IMAGE_X\n          value: controller:latest\n";
        let scans = scan(&[
            ("overlay/kustomization.yaml", k),
            ("base/m.yaml", DEPLOY),
            ("other/m.yaml", DEPLOY),
            ("base/pod.yaml", env),
        ]);
        assert_eq!(
            images(&scans, "overlay/kustomization.yaml"),
            ["quay.io/acme/op:v3"]
        );
        assert_eq!(
            images(&scans, "base/m.yaml"),
            ["docker.io/library/app:v1", "docker.io/library/app:v2"]
        );
        assert_eq!(
            images(&scans, "other/m.yaml"),
            [
                "docker.io/library/app:v1",
                "docker.io/library/app:v2",
                "docker.io/library/controller:latest"
            ]
        );
        // An env var is not an image field kustomize edits: reported as written.
        assert_eq!(
            images(&scans, "base/pod.yaml"),
            ["quay.io/a/b:1", "docker.io/library/controller:latest"]
        );
    }

    #[test]
    fn a_new_name_no_manifest_uses_is_a_warning() {
        let k = "images:\n  - name: app\n    newName: reg.io/x/app\n";
        let scans = scan(&[("kustomization.yaml", k)]);
        assert!(images(&scans, "kustomization.yaml").is_empty());
        let w = &scans[0].1.warnings;
        assert!(
            w.len() == 1 && w[0].message.contains("tag is unknown"),
            "{w:?}"
        );
    }

    #[test]
    fn paths_normalize_lexically() {
        assert_eq!(
            normalize(Path::new("config/default/../manager/./m.yaml")),
            PathBuf::from("config/manager/m.yaml")
        );
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
    }
}
