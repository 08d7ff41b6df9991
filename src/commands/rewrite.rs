//! `ferry rewrite`: scan, map every reference under `--to`, edit only those bytes; write to
//! `--out`, in place (atomically, all or nothing), or show a diff.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::bundle::archive::Archive;
use crate::cli::RewriteArgs;
use crate::digest::Digest;
use crate::exit::{Exit, Failure, invalid};
use crate::inputs;
use crate::reference::Reference;
use crate::rewrite::{apply, pull_secret_edits, reference_edits};
use crate::scan::{self, Hit, UserRules};
use crate::target::Target;

/// A file to rewrite: where it came from, where it goes under `--out`, its text before and after.
struct FileJob {
    path: PathBuf,
    relative: PathBuf,
    before: String,
    after: String,
}

/// Files of the inputs with their path under `--out` (see [`inputs::Naming::Mirrored`]).
fn files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>> {
    Ok(inputs::named(paths, inputs::Naming::Mirrored, "rewrite")
        .map_err(|e| invalid(crate::exit::render(&e)))?
        .into_iter()
        .map(|n| (n.path, n.name))
        .collect())
}

/// The archive when the single input is a bundle (a `.tar`).
fn bundle_input(paths: &[PathBuf]) -> Result<Option<Archive>> {
    match paths {
        [p] if p.is_file() && p.extension().is_some_and(|e| e == "tar") => {
            Ok(Some(Archive::open(p).map_err(super::bundle::failure)?))
        }
        _ => Ok(None),
    }
}

/// A ferry bundle's `manifests/` files: (label, path under --out, text).
fn bundle_manifests(archive: &Archive) -> Result<Vec<(PathBuf, PathBuf, String)>> {
    if archive.meta().map_err(super::bundle::failure)?.is_none() {
        return Err(invalid(format!(
            "{}: not a ferry bundle (no ferry.json): no manifests to rewrite",
            archive.path.display()
        )));
    }
    let mut out = Vec::new();
    for name in archive
        .entries
        .keys()
        .filter(|n| n.starts_with("manifests/"))
    {
        let bytes = archive.read(name).map_err(super::bundle::failure)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| invalid(format!("{}: {name} is not UTF-8", archive.path.display())))?;
        let relative = PathBuf::from(&name["manifests/".len()..]);
        out.push((
            PathBuf::from(format!("{}:{name}", archive.path.display())),
            relative,
            text,
        ));
    }
    Ok(out)
}

/// `--pin-digests`: each target gets its digest, from the bundle's `ferry.json` or else from
/// the target registry (HEAD); a reference that cannot be resolved is an error naming it.
fn pin(
    mapping: &mut BTreeMap<Reference, Reference>,
    bundle: Option<&Archive>,
    args: &RewriteArgs,
) -> Result<()> {
    let mut known: BTreeMap<String, Digest> = BTreeMap::new();
    if let Some(meta) = bundle
        .map(Archive::meta)
        .transpose()
        .map_err(super::bundle::failure)?
        .flatten()
    {
        known.extend(meta.images.into_iter().map(|i| (i.source, i.digest)));
    }
    let registries =
        crate::registry::Registries::new(super::copying::registry_options(&args.registry));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut unresolved = Vec::new();
    for (source, target) in mapping.iter_mut() {
        if target.digest().is_some() {
            continue;
        }
        let digest = match known.get(&source.to_string()) {
            Some(d) => Some(d.clone()),
            None if bundle.is_some() => None,
            None => runtime
                .block_on(async {
                    let reg = registries.get(target.registry())?;
                    reg.head_manifest(target.repository(), target.tag().unwrap_or("latest"))
                        .await
                })
                .map_err(|e| {
                    Failure::new(Exit::Registry, format!("cannot resolve {target}: {e}"))
                })?,
        };
        match digest {
            Some(d) => {
                *target = target
                    .with_digest(d.as_str())
                    .map_err(|e| invalid(e.to_string()))?
            }
            None => unresolved.push(target.to_string()),
        }
    }
    if !unresolved.is_empty() {
        return Err(Failure::new(
            Exit::Registry,
            format!(
                "--pin-digests: no digest for {}: push the images first",
                unresolved.join(", ")
            ),
        )
        .into());
    }
    Ok(())
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = temp_name(path);
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.ferry-{}", std::process::id()))
}

pub fn run(args: &RewriteArgs) -> Result<Exit> {
    let target: Target = args.to.parse().map_err(|e| invalid(format!("--to: {e}")))?;
    let rules = match &args.rules {
        Some(p) => UserRules::load(p).map_err(|e| invalid(e.to_string()))?,
        None => UserRules::default(),
    };
    let bundle = bundle_input(&args.paths)?;
    let inputs: Vec<(PathBuf, PathBuf, String)> = match &bundle {
        Some(archive) => {
            if args.in_place {
                return Err(Failure::new(
                    Exit::Usage,
                    "a bundle is not rewritten in place: use --out DIR or --diff",
                )
                .into());
            }
            bundle_manifests(archive)?
        }
        None => files(&args.paths)?
            .into_iter()
            .map(|(path, relative)| {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
                Ok((path, relative, text))
            })
            .collect::<Result<_>>()?,
    };
    let mut scans = Vec::new();
    for (path, _, before) in &inputs {
        let label = path.display().to_string();
        let found = scan::scan_str(&label, before, &rules).map_err(|e| invalid(e.to_string()))?;
        scans.push((label, found));
    }
    // Placeholders a kustomization replaces stay as they are; its `images:` entry changes.
    scan::kustomize::resolve(&mut scans);
    let mut scanned: Vec<(PathBuf, PathBuf, String, Vec<Hit>)> = Vec::new();
    for ((path, relative, before), (_, found)) in inputs.into_iter().zip(scans) {
        for w in &found.warnings {
            eprintln!("warning: {w}");
        }
        scanned.push((path, relative, before, found.hits));
    }
    let sources: BTreeSet<&Reference> = scanned
        .iter()
        .flat_map(|s| s.3.iter().map(|h| &h.reference))
        .collect();
    // Collisions are refused here, before anything is written.
    let mut mapping: BTreeMap<Reference, Reference> = target
        .map_all(sources, args.layout)
        .map_err(|e| invalid(e.to_string()))?;
    if args.pin_digests {
        pin(&mut mapping, bundle.as_ref(), args)?;
    }

    let mut jobs = Vec::new();
    let mut references = 0;
    for (path, relative, before, hits) in &scanned {
        let refs: Vec<&Hit> = hits.iter().collect();
        references += refs
            .iter()
            .filter(|h| mapping[&h.reference] != h.reference)
            .count();
        let mut edits =
            reference_edits(before, &refs, &mapping).map_err(|e| invalid(e.to_string()))?;
        if let Some(secret) = &args.pull_secret {
            let label = path.display().to_string();
            let (more, notes) =
                pull_secret_edits(&label, before, secret).map_err(|e| invalid(e.to_string()))?;
            for n in notes {
                eprintln!("note: {n}");
            }
            edits.extend(more);
        }
        let after =
            apply(before, edits).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        jobs.push(FileJob {
            path: path.clone(),
            relative: relative.clone(),
            before: before.clone(),
            after,
        });
    }
    let changed = jobs.iter().filter(|j| j.before != j.after).count();

    if args.diff {
        let mut out = std::io::stdout().lock();
        for j in jobs.iter().filter(|j| j.before != j.after) {
            let name = j.path.display().to_string();
            let diff = similar::TextDiff::from_lines(&j.before, &j.after);
            write!(
                out,
                "{}",
                diff.unified_diff().context_radius(3).header(&name, &name)
            )?;
        }
    } else if let Some(dir) = &args.out {
        for j in &jobs {
            let dest = dir.join(&j.relative);
            if let (Ok(a), Ok(b)) = (dest.canonicalize(), j.path.canonicalize())
                && a == b
            {
                return Err(invalid(format!(
                    "--out would overwrite the input {}: use --in-place",
                    j.path.display()
                )));
            }
        }
        for j in &jobs {
            write_atomic(&dir.join(&j.relative), &j.after)?;
        }
    } else {
        write_in_place(&jobs)?;
    }
    if let Some(lock) = &args.lock {
        let doc = serde_json::json!({
            "target": target.to_string(),
            "layout": args.layout,
            "images": mapping.iter().map(|(s, t)| serde_json::json!({"source": s.to_string(), "target": t.to_string()})).collect::<Vec<_>>(),
        });
        write_atomic(lock, &format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    }
    eprintln!(
        "{references} references in {changed} of {} files point at {target}",
        jobs.len()
    );
    Ok(Exit::Success)
}

/// All or nothing: every changed file is checked unchanged since it was read and written to
/// a temporary beside it; only then are all renamed into place.
fn write_in_place(jobs: &[FileJob]) -> Result<()> {
    let changed: Vec<&FileJob> = jobs.iter().filter(|j| j.before != j.after).collect();
    let mut temps: Vec<(PathBuf, &Path)> = Vec::new();
    let cleanup = |temps: &[(PathBuf, &Path)]| {
        for (t, _) in temps {
            let _ = std::fs::remove_file(t);
        }
    };
    for j in &changed {
        let now =
            std::fs::read(&j.path).with_context(|| format!("cannot read {}", j.path.display()));
        let same = now
            .as_ref()
            .is_ok_and(|b| Digest::of(b) == Digest::of(j.before.as_bytes()));
        if !same {
            cleanup(&temps);
            return Err(invalid(format!(
                "{} changed while it was being rewritten: nothing written",
                j.path.display()
            )));
        }
        let tmp = temp_name(&j.path);
        if let Err(e) = std::fs::write(&tmp, &j.after) {
            cleanup(&temps);
            return Err(e)
                .with_context(|| format!("cannot write {}: nothing written", tmp.display()));
        }
        if let Ok(meta) = std::fs::metadata(&j.path) {
            let _ = std::fs::set_permissions(&tmp, meta.permissions());
        }
        temps.push((tmp, &j.path));
    }
    for (tmp, path) in &temps {
        std::fs::rename(tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    }
    Ok(())
}
