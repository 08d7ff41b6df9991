//! `rewrite`: scan the inputs (files, or a bundle's `manifests/`), map every reference under
//! the target, edit only those bytes, then write the result under `--out`, in place (all or
//! nothing), or nowhere (a diff).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use super::changes::FileChange;
use super::{Reporter, Result, WorkflowError, io_error};
use ferry_core::digest::Digest;
use ferry_core::reference::Reference;
use ferry_core::target::{Layout, Target};
use ferry_oci::bundle::archive::Archive;
use ferry_oci::registry::Registries;
use ferry_scan::inputs;
use ferry_scan::rewrite::{apply, pull_secret_edits, reference_edits};
use ferry_scan::scan::{self, Hit, UserRules};

/// What is rewritten.
#[derive(Debug, Clone, Copy)]
pub enum RewriteInput<'a> {
    /// Manifest files and directories.
    Files(&'a [PathBuf]),
    /// A bundle's `manifests/`; its `ferry.json` gives the digests.
    Bundle(&'a Archive),
}

/// Where the result goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewriteMode {
    /// A tree under this directory (directories mirrored, files by name).
    Out(PathBuf),
    /// The files themselves, each atomically, all or nothing.
    InPlace,
    /// Nowhere: the caller shows the changes.
    Diff,
}

#[derive(Debug, Clone)]
pub struct RewriteOptions {
    pub target: Target,
    pub layout: Layout,
    pub scan: super::ScanOptions,
    pub mode: RewriteMode,
    /// Also write the source → target mapping as JSON here.
    pub lock: Option<PathBuf>,
    /// Write `name:tag@digest` (digests from the bundle, else from the target registry).
    pub pin_digests: bool,
    /// Add `imagePullSecrets: [{name}]` to every pod spec that has none.
    pub pull_secret: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RewriteReport {
    pub files: Vec<FileChange>,
    /// References that now point elsewhere.
    pub references: usize,
    pub mapping: BTreeMap<Reference, Reference>,
}

impl RewriteReport {
    pub fn changed(&self) -> impl Iterator<Item = &FileChange> {
        self.files.iter().filter(|f| f.before != f.after)
    }
}

fn invalid(e: impl std::fmt::Display) -> WorkflowError {
    WorkflowError::Invalid(e.to_string())
}

/// A ferry bundle's `manifests/` files.
fn bundle_files(archive: &Archive) -> Result<Vec<(String, PathBuf, PathBuf, String)>> {
    let Some(meta) = archive.meta()? else {
        return Err(invalid(format!(
            "{}: not a ferry bundle (no ferry.json): no manifests to rewrite",
            archive.path.display()
        )));
    };
    // What ferry.json lists, which is what inspect shows: never whatever else the tar holds.
    let mut out = Vec::new();
    for name in meta
        .manifests
        .iter()
        .map(|m| &m.path)
        .filter(|n| n.starts_with("manifests/"))
    {
        let bytes = archive.read(name)?;
        let text = inputs::utf8(&format!("{}:{name}", archive.path.display()), bytes)?;
        let relative = PathBuf::from(&name["manifests/".len()..]);
        out.push((
            format!("{}:{name}", archive.path.display()),
            PathBuf::from(name),
            relative,
            text,
        ));
    }
    Ok(out)
}

fn tree_files(paths: &[PathBuf]) -> Result<Vec<(String, PathBuf, PathBuf, String)>> {
    let charts = ferry_scan::render::helm::charts(&inputs::expand(paths)?, &Default::default())?;
    if let Some(chart) = charts.first() {
        return Err(invalid(format!(
            "{} is a Helm chart: rewrite edits YAML, not templates. Give --values-out FILE for \
             a values override that points its images at the target",
            chart.label()
        )));
    }
    inputs::named(paths, inputs::Naming::Mirrored, "rewrite")?
        .into_iter()
        .map(|n| {
            let text = inputs::read_text(&n.path)?;
            Ok((inputs::display(&n.path), n.path, n.name, text))
        })
        .collect()
}

/// Digests the bundle holds, by source reference; a bundle whose ferry.json and index.json
/// disagree is refused (its digests would pin what push does not push).
fn bundle_digests(archive: &Archive) -> Result<BTreeMap<String, Digest>> {
    let mut findings = ferry_oci::bundle::verify::Findings::default();
    ferry_oci::bundle::verify::check_listing(archive, &mut findings)?;
    if !findings.problems.is_empty() {
        return Err(WorkflowError::Incomplete {
            message: format!(
                "{}: nothing rewritten, the bundle is inconsistent:\n  {}",
                archive.path.display(),
                findings.problems.join("\n  ")
            ),
            category: ferry_core::error::Category::Integrity,
        });
    }
    Ok(archive
        .meta()?
        .map(|meta| {
            meta.images
                .into_iter()
                .map(|i| (i.source, i.digest))
                .collect()
        })
        .unwrap_or_default())
}

/// A reference pinned to the source digest of a platform-filtered index is moved to the
/// index the bundle holds (the only one pushed).
pub(super) fn repin(
    mapping: &mut BTreeMap<Reference, Reference>,
    held: &BTreeMap<String, Digest>,
) -> Result<()> {
    for (source, target) in mapping.iter_mut() {
        if let (Some(d), Some(_)) = (held.get(&source.to_string()), target.digest())
            && target.digest() != Some(d.as_str())
        {
            *target = target.with_digest(d.as_str()).map_err(invalid)?;
        }
    }
    Ok(())
}

/// Scans each `(label, text)`; a kustomization's placeholders give way to its `images:`
/// entries, and every warning goes to `reporter`.
pub(super) fn scan_texts<'a>(
    texts: impl Iterator<Item = (&'a str, &'a str)>,
    rules: &UserRules,
    reporter: &dyn Reporter,
) -> Result<Vec<(String, scan::FileScan)>> {
    let mut scans = Vec::new();
    for (label, text) in texts {
        scans.push((label.to_string(), scan::scan_str(label, text, rules)?));
    }
    scan::kustomize::resolve(&mut scans);
    for w in scans.iter().flat_map(|(_, s)| &s.warnings) {
        reporter.warning(&w.to_string());
    }
    Ok(scans)
}

/// `--pin-digests`: each target gets its digest, from the bundle or else from the target
/// registry (HEAD); a reference that cannot be resolved is an error naming it.
/// Build outputs (pushed by operators, never pulled) keep their tag: no digest exists yet.
async fn pin(
    mapping: &mut BTreeMap<Reference, Reference>,
    outputs: &BTreeSet<Reference>,
    known: Option<&BTreeMap<String, Digest>>,
    registries: &Registries,
) -> Result<()> {
    let mut unresolved = Vec::new();
    for (source, target) in mapping.iter_mut() {
        if target.digest().is_some() || outputs.contains(source) {
            continue;
        }
        // The bundle's digest when it carries the image; else (left out with --exclude,
        // or never in it) the one the target registry has.
        let digest = match known.and_then(|k| k.get(&source.to_string())) {
            Some(held) => Some(held.clone()),
            None => registries
                .digest_of(target)
                .await
                .map_err(|e| WorkflowError::from(e).in_step(format!("cannot resolve {target}")))?,
        };
        match digest {
            Some(d) => *target = target.with_digest(d.as_str()).map_err(invalid)?,
            None => unresolved.push(target.to_string()),
        }
    }
    if !unresolved.is_empty() {
        return Err(WorkflowError::Incomplete {
            message: format!(
                "--pin-digests: no digest for {}: push the images first",
                unresolved.join(", ")
            ),
            category: ferry_core::error::Category::Registry,
        });
    }
    Ok(())
}

/// Each of `images` with the digest its name under `target` has there (HEAD on the target,
/// as `--pin-digests` reads it): what `rewrite CHART --values-out --pin-digests` pins to. An
/// image not pushed yet is an error naming it.
pub async fn target_digests(
    images: &[Reference],
    target: &Target,
    layout: Layout,
    registries: &Registries,
) -> Result<BTreeMap<Reference, Digest>> {
    let mut mapping = images
        .iter()
        .map(|i| Ok((i.clone(), target.map(i, layout).map_err(invalid)?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    pin(&mut mapping, &BTreeSet::new(), None, registries).await?;
    Ok(mapping
        .into_iter()
        .filter_map(|(source, pinned)| {
            let digest = pinned.digest()?.parse().ok()?;
            Some((source, digest))
        })
        .collect())
}

pub async fn rewrite(
    input: RewriteInput<'_>,
    opts: &RewriteOptions,
    registries: &Registries,
    reporter: &dyn Reporter,
) -> Result<RewriteReport> {
    let (files, known) = match input {
        RewriteInput::Bundle(archive) => {
            if opts.mode == RewriteMode::InPlace {
                return Err(WorkflowError::Usage(
                    "a bundle is not rewritten in place: use --out DIR or --diff".into(),
                ));
            }
            // The bundle's listing is checked before a file of it is read.
            let held = bundle_digests(archive)?;
            (bundle_files(archive)?, Some(held))
        }
        RewriteInput::Files(paths) => (tree_files(paths)?, None),
    };
    // Placeholders a kustomization replaces stay as they are; its `images:` entry changes.
    let scans = scan_texts(
        files
            .iter()
            .map(|(label, _, _, text)| (label.as_str(), text.as_str())),
        &opts.scan.rules,
        reporter,
    )?;
    let sources: BTreeSet<&Reference> = scans
        .iter()
        .flat_map(|(_, s)| s.hits.iter().map(|h| &h.reference))
        .collect();
    // Collisions are refused here, before anything is written.
    let mut mapping = opts.target.map_all(sources, opts.layout).map_err(invalid)?;
    if let Some(held) = &known {
        repin(&mut mapping, held)?;
    }
    if opts.pin_digests {
        let pulled: BTreeSet<&Reference> = scans
            .iter()
            .flat_map(|(_, s)| s.hits.iter().filter(|h| !h.output).map(|h| &h.reference))
            .collect();
        let outputs: BTreeSet<Reference> = mapping
            .keys()
            .filter(|r| !pulled.contains(r))
            .cloned()
            .collect();
        pin(&mut mapping, &outputs, known.as_ref(), registries).await?;
    }

    let mut report = RewriteReport::default();
    for ((label, path, relative, before), (_, found)) in files.into_iter().zip(scans) {
        let hits: Vec<&Hit> = found.hits.iter().collect();
        report.references += hits
            .iter()
            .filter(|h| mapping[&h.reference] != h.reference)
            .count();
        let mut edits = reference_edits(&before, &hits, &mapping).map_err(invalid)?;
        if let Some(secret) = &opts.pull_secret {
            let (more, notes) = pull_secret_edits(&label, &before, secret).map_err(invalid)?;
            for n in notes {
                reporter.warning(&n);
            }
            edits.extend(more);
        }
        let after = apply(&before, edits).map_err(|e| invalid(format!("{label}: {e}")))?;
        report.files.push(FileChange {
            label,
            path,
            relative,
            before,
            after,
        });
    }
    report.mapping = mapping;
    // A kustomize tree is rendered as rewritten, before anything is written.
    if let RewriteInput::Files(paths) = input {
        super::rerender::prove(
            paths,
            &mut report.files,
            &opts.target,
            opts.layout,
            &opts.scan,
            reporter,
        )?;
    }
    match &opts.mode {
        RewriteMode::Diff => {}
        RewriteMode::Out(dir) => write_out(dir, &report.files)?,
        RewriteMode::InPlace => write_in_place(&report.files)?,
    }
    if let Some(lock) = &opts.lock {
        let doc = serde_json::json!({
            "target": opts.target.to_string(),
            "layout": opts.layout,
            "images": report.mapping.iter().map(|(s, t)| serde_json::json!({"source": s.to_string(), "target": t.to_string()})).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&doc).map_err(invalid)?;
        write_atomic(lock, &format!("{text}\n"))?;
    }
    Ok(report)
}

fn write_out(dir: &Path, files: &[FileChange]) -> Result<()> {
    for f in files {
        let dest = dir.join(&f.relative);
        if let (Ok(a), Ok(b)) = (dest.canonicalize(), f.path.canonicalize())
            && a == b
        {
            return Err(invalid(format!(
                "--out would overwrite the input {}: use --in-place",
                f.path.display()
            )));
        }
    }
    super::rewrite_out::copy_companions(dir, files)?;
    for f in files {
        write_atomic(&dir.join(&f.relative), &f.after)?;
    }
    Ok(())
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    ferry_core::atomic::write(path, text.as_bytes()).map_err(io_error(path))
}

/// Every changed file is checked unchanged since it was read and written to a temporary
/// beside it; only then are all renamed into place (each rename is atomic; a kill between two
/// leaves some files rewritten, and a second run finishes the job: references already under
/// the target keep their names). A linked file is written through its link. Temporaries of
/// killed runs are swept first.
fn write_in_place(files: &[FileChange]) -> Result<()> {
    use ferry_core::atomic::Partial;
    let changed: Vec<&FileChange> = files.iter().filter(|f| f.before != f.after).collect();
    let mut dirs = std::collections::BTreeSet::new();
    let mut targets = Vec::new();
    for f in &changed {
        let target = f.path.canonicalize().map_err(io_error(&f.path))?;
        if let Some(d) = target.parent() {
            dirs.insert(d.to_path_buf());
        }
        targets.push(target);
    }
    for d in &dirs {
        ferry_core::atomic::sweep(d, None);
    }
    // Temporaries not committed are removed when dropped: an error leaves nothing written.
    let mut partials = Vec::new();
    for (f, target) in changed.iter().zip(&targets) {
        let same =
            std::fs::read(target).is_ok_and(|b| Digest::of(&b) == Digest::of(f.before.as_bytes()));
        if !same {
            return Err(invalid(format!(
                "{} changed while it was being rewritten: nothing written",
                f.path.display()
            )));
        }
        let partial = Partial::beside(target);
        let written = partial.create(None).and_then(|mut file| {
            std::io::Write::write_all(&mut file, f.after.as_bytes())?;
            file.sync_all()
        });
        if let Err(e) = written {
            return Err(io_error(partial.path())(e).in_step("nothing written"));
        }
        if let Ok(meta) = std::fs::metadata(target) {
            let _ = std::fs::set_permissions(partial.path(), meta.permissions());
        }
        partials.push((partial, target));
    }
    for (partial, path) in partials {
        partial.commit().map_err(io_error(path))?;
    }
    Ok(())
}
