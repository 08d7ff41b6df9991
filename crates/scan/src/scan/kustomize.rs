//! Kustomize's `images:` transformer across files, as ferry's own pass reads it when no
//! kustomize can render the tree (with one, the rendered output is scanned instead). In a
//! kustomize tree the manifests often name a placeholder (`image: controller:latest`) that
//! an `images:` entry replaces; pods pull the replacement, never the placeholder.
//!
//! Each image field is followed up every chain of kustomizations that includes its file,
//! innermost first; at each one its components' entries, then its own, apply in order, as
//! kustomize runs one transformer per entry (so renames chain). The fields are kustomize's
//! defaults (`image` of containers) plus those that `configurations:` add, which carry up to
//! every kustomization that includes the one declaring them. The final image is reported
//! at the entry that last changed it; an unchanged one stays where the manifest names it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{FieldSpec, FileScan, Form, Hit, Kustomization, KustomizeEntry, Rule, Warning};
use crate::render::kustomize::normalize;
use ferry_core::reference::Reference;

/// A document that is a kustomization (or a kustomize Component): `kind: Kustomization`,
/// `kind: Component` of kustomize's API group or in a kustomization file, or no kind in a
/// file named as kustomize names them (`kustomization.yaml`, `.yml`, `Kustomization`).
/// (Other APIs have a `Component` kind too: Dapr's is an object to apply.)
pub fn is_kustomization(api_version: Option<&str>, kind: Option<&str>, file: &str) -> bool {
    let named = crate::render::kustomize::is_kustomization_file(Path::new(file));
    match kind {
        Some("Kustomization") => true,
        Some("Component") => {
            named || api_version.is_some_and(|v| v.starts_with("kustomize.config.k8s.io/"))
        }
        Some(_) => false,
        None => named,
    }
}

/// The kustomizations among the scans and how they include each other and the files.
struct Tree {
    kusts: Vec<(usize, Kustomization)>,
    dirs: Vec<PathBuf>,
    /// For each kustomization, those that include it (as a resource or a component).
    parents: Vec<Vec<usize>>,
    /// For each kustomization, the image fields its transformers know beyond the defaults.
    fields: Vec<Vec<FieldSpec>>,
}

impl Tree {
    fn new(scans: &[(String, FileScan)]) -> Tree {
        let kusts: Vec<(usize, Kustomization)> = scans
            .iter()
            .enumerate()
            .flat_map(|(i, (_, s))| s.kustomizations.iter().take(1).map(move |k| (i, k.clone())))
            .collect();
        let dirs: Vec<PathBuf> = kusts.iter().map(|(_, k)| dir_of(&k.file)).collect();
        let find = |target: &Path| dirs.iter().position(|d| d == target);
        let mut parents = vec![Vec::new(); kusts.len()];
        let mut children = vec![Vec::new(); kusts.len()];
        for (j, (_, k)) in kusts.iter().enumerate() {
            for include in k.resources.iter().chain(&k.components) {
                if let Some(c) = local(include).and_then(|i| find(&normalize(&dirs[j].join(i))))
                    && c != j
                {
                    parents[c].push(j);
                    children[j].push(c);
                }
            }
        }
        let labels: Vec<PathBuf> = scans.iter().map(|(f, _)| normalize(Path::new(f))).collect();
        let own_fields: Vec<Vec<FieldSpec>> = kusts
            .iter()
            .zip(&dirs)
            .map(|((_, k), dir)| {
                k.configurations
                    .iter()
                    .filter_map(|c| labels.iter().position(|l| *l == normalize(&dir.join(c))))
                    .flat_map(|i| scans[i].1.image_fields.iter().cloned())
                    .collect()
            })
            .collect();
        // A configuration carries up: a kustomization's transformers also know the fields of
        // every kustomization it includes.
        let fields = (0..kusts.len())
            .map(|k| {
                let mut out = Vec::new();
                let mut todo = vec![k];
                let mut seen = BTreeSet::new();
                while let Some(x) = todo.pop() {
                    if seen.insert(x) {
                        out.extend(own_fields[x].iter().cloned());
                        todo.extend(&children[x]);
                    }
                }
                out
            })
            .collect();
        Tree {
            kusts,
            dirs,
            parents,
            fields,
        }
    }

    /// The kustomizations that include `file` itself: the one whose directory holds it most
    /// closely, and any that list it as a resource.
    fn includers(&self, file: &Path) -> Vec<usize> {
        let home = file
            .ancestors()
            .skip(1)
            .find_map(|a| self.dirs.iter().position(|d| d == a));
        let mut out: Vec<usize> = home.into_iter().collect();
        for (k, (_, kust)) in self.kusts.iter().enumerate() {
            // The file itself, or a directory above it that holds no kustomization (kustomize
            // would refuse one, but the inputs may be part of a tree).
            let lists = kust.resources.iter().filter_map(|r| local(r)).any(|r| {
                let target = normalize(&self.dirs[k].join(r));
                file == target
                    || (file.starts_with(&target)
                        && !self.dirs.iter().any(|d| d.starts_with(&target)))
            });
            if lists && !out.contains(&k) {
                out.push(k);
            }
        }
        out
    }

    /// Every chain from `k` out to a kustomization nothing includes, innermost first.
    fn chains(&self, k: usize, seen: &mut Vec<usize>) -> Vec<Vec<usize>> {
        if seen.contains(&k) {
            return Vec::new();
        }
        seen.push(k);
        let mut out = Vec::new();
        for &p in &self.parents[k] {
            for mut chain in self.chains(p, seen) {
                chain.insert(0, k);
                out.push(chain);
            }
        }
        seen.pop();
        if out.is_empty() {
            out.push(vec![k]);
        }
        out
    }

    /// The entries kustomization `k` applies, in order: its components', then its own.
    fn entries(&self, k: usize) -> Vec<(usize, usize)> {
        let kust = &self.kusts[k].1;
        let components = kust.components.iter().filter_map(|c| {
            let target = normalize(&self.dirs[k].join(local(c)?));
            self.dirs.iter().position(|d| *d == target)
        });
        components
            .chain(std::iter::once(k))
            .flat_map(|x| (0..self.kusts[x].1.entries.len()).map(move |e| (x, e)))
            .collect()
    }

    fn entry(&self, (k, e): (usize, usize)) -> &KustomizeEntry {
        &self.kusts[k].1.entries[e]
    }

    /// Whether kustomization `k`'s images transformer edits this finding's field.
    fn edits(&self, k: usize, hit: &Hit) -> bool {
        if hit.form != Form::Whole || hit.rule == Rule::KustomizeImages {
            return false;
        }
        is_container_image(hit)
            || self.fields[k].iter().any(|f| {
                f.path == field_path(&hit.yaml_path)
                    && f.kind
                        .as_deref()
                        .is_none_or(|kind| hit.kind.as_deref() == Some(kind))
            })
    }
}

/// Applies every kustomization among `scans` (file label, findings) to the files it
/// includes: a changed image is reported at the entry that made it, its placeholder dropped
/// with a warning saying where.
pub fn resolve(scans: &mut [(String, FileScan)]) {
    let tree = Tree::new(scans);
    if tree.kusts.is_empty() {
        return;
    }
    let mut used: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut derived: BTreeMap<usize, Vec<Hit>> = BTreeMap::new();
    for (file, found) in scans.iter_mut() {
        let includers = tree.includers(&normalize(Path::new(file.as_str())));
        if includers.is_empty() {
            continue;
        }
        let chains: Vec<Vec<usize>> = includers
            .iter()
            .flat_map(|&k| tree.chains(k, &mut Vec::new()))
            .collect();
        let mut kept = Vec::with_capacity(found.hits.len());
        for hit in std::mem::take(&mut found.hits) {
            let mut unchanged = false;
            let mut changed = Vec::new();
            for chain in &chains {
                match follow(&tree, chain, &hit, &mut used) {
                    Some(outcome) => changed.push(outcome),
                    None => unchanged = true,
                }
            }
            if changed.is_empty() {
                kept.push(hit);
                continue;
            }
            let mut by = Vec::new();
            for (value, at) in changed {
                let entry = tree.entry(at);
                let Some(made) = entry
                    .template
                    .as_deref()
                    .and_then(|t| complete(t, entry, &value, &hit))
                else {
                    continue;
                };
                by.push(format!(
                    "{} (images: name {})",
                    tree.kusts[at.0].1.file, entry.name
                ));
                derived.entry(tree.kusts[at.0].0).or_default().push(made);
            }
            if unchanged {
                kept.push(hit);
            } else {
                by.dedup();
                found.warnings.push(placeholder(&hit, &by.join(", ")));
            }
        }
        found.hits = kept;
    }
    for (scan, hits) in derived {
        let s = &mut scans[scan].1;
        for hit in hits {
            if !s
                .hits
                .iter()
                .any(|h| h.reference == hit.reference && h.parts == hit.parts)
            {
                s.hits.push(hit);
            }
        }
    }
    unused_entries(&tree, scans, &used);
}

/// The image a chain of kustomizations makes of `hit`, and the entry that last changed it;
/// `None` when no entry changes it.
fn follow(
    tree: &Tree,
    chain: &[usize],
    hit: &Hit,
    used: &mut BTreeSet<(usize, usize)>,
) -> Option<(String, (usize, usize))> {
    let mut value = hit.written.clone();
    let mut last = None;
    for &k in chain {
        if !tree.edits(k, hit) {
            continue;
        }
        for at in tree.entries(k) {
            let entry = tree.entry(at);
            if name_as_written(&value) != Some(entry.name.as_str()) {
                continue;
            }
            if let Some(next) = apply(entry, &value)
                && next != value
            {
                used.insert(at);
                value = next;
                last = Some(at);
            }
        }
    }
    last.map(|at| (value, at))
}

/// What one entry makes of an image, as kustomize's image transformer does: `newName`
/// replaces the name; `digest` replaces tag and digest; else `newTag` replaces the tag.
fn apply(entry: &KustomizeEntry, value: &str) -> Option<String> {
    let name = name_as_written(value)?;
    let rest = &value[name.len()..];
    let new_name = entry.new_name.as_deref().unwrap_or(name);
    Some(match (&entry.digest, &entry.new_tag) {
        (Some(d), _) => format!("{new_name}@{d}"),
        (None, Some(t)) => format!("{new_name}:{t}"),
        (None, None) => format!("{new_name}{rest}"),
    })
}

/// The entry's finding for one image it made; the tag comes from the manifest when the
/// entry sets none.
fn complete(template: &Hit, entry: &KustomizeEntry, value: &str, placeholder: &Hit) -> Option<Hit> {
    let mut hit = template.clone();
    hit.reference = Reference::parse(value).ok()?;
    if entry.new_tag.is_none() && entry.digest.is_none() {
        hit.written = format!(
            "{} (tag from {}:{})",
            template.written, placeholder.file, placeholder.line
        );
    }
    Some(hit)
}

/// Entries that changed nothing ferry's own pass can see. One that sets a tag or digest is
/// still reported (a remote base or a field ferry does not know may use it), with a warning;
/// a bare `newName` has no tag to report.
fn unused_entries(tree: &Tree, scans: &mut [(String, FileScan)], used: &BTreeSet<(usize, usize)>) {
    for (k, (scan, kust)) in tree.kusts.iter().enumerate() {
        for (e, entry) in kust.entries.iter().enumerate() {
            let Some(template) = entry.template.as_deref() else {
                continue;
            };
            if used.contains(&(k, e)) {
                continue;
            }
            let warning = |message: String| Warning {
                file: template.file.clone(),
                line: template.line,
                column: template.column,
                yaml_path: template.yaml_path.clone(),
                value: template.written.clone(),
                message,
            };
            let s = &mut scans[*scan].1;
            if entry.new_tag.is_some() || entry.digest.is_some() {
                s.warnings.push(warning(format!(
                    "kustomize images: entry `{}` changes no image in the files ferry reads; \
                     reported in case a remote base or another field uses it",
                    entry.name
                )));
                s.hits.push(template.clone());
            } else if entry.new_name.is_some() {
                s.warnings.push(warning(format!(
                    "kustomize newName without newTag or digest, and no included manifest \
                     names `{}`: the tag is unknown, not reported",
                    entry.name
                )));
            }
        }
    }
}

/// A finding's YAML path as kustomize writes field specs: `.spec.containers[0].image` ->
/// `spec/containers/image`.
fn field_path(yaml_path: &str) -> String {
    yaml_path
        .trim_start_matches('.')
        .split('.')
        .map(|seg| seg.split('[').next().unwrap_or(seg))
        .filter(|seg| !seg.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

fn local(include: &str) -> Option<&str> {
    (!crate::render::kustomize::is_remote(include)).then_some(include)
}

fn dir_of(file: &str) -> PathBuf {
    normalize(Path::new(file))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
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
pub fn name_as_written(written: &str) -> Option<&str> {
    let no_digest = written.split('@').next()?;
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    Some(match no_digest[last_slash..].find(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    })
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
