//! `ferry rewrite`: scan, map every reference under `--to`, edit only those bytes; write to
//! `--out`, in place (atomically, all or nothing), or show a diff.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::RewriteArgs;
use crate::digest::Digest;
use crate::exit::{Exit, Failure};
use crate::reference::Reference;
use crate::rewrite::rewrite_text;
use crate::scan::{self, Hit, UserRules};
use crate::target::Target;

fn invalid(message: impl Into<String>) -> anyhow::Error {
    Failure::new(Exit::InvalidInput, message).into()
}

/// A file to rewrite: where it came from, where it goes under `--out`, its text before and after.
struct FileJob {
    path: PathBuf,
    relative: PathBuf,
    before: String,
    after: String,
}

/// Files of the inputs with their path under `--out`: a single directory's files by their
/// path inside it; with several inputs, each under its own name (`DIR/...`, `FILE`), so
/// nothing collides. Two inputs claiming one path are an error, before anything is written.
fn files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>> {
    let single_dir = paths.len() == 1 && paths[0].is_dir();
    let mut out = Vec::new();
    let mut seen: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for input in paths {
        if input == Path::new("-") {
            return Err(invalid("rewrite needs files: stdin (-) is not supported"));
        }
        let found =
            scan::expand_inputs(std::slice::from_ref(input)).map_err(|e| invalid(e.to_string()))?;
        let base = input
            .canonicalize()
            .map_err(|e| invalid(format!("{}: {e}", input.display())))?
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_default();
        for f in found {
            let relative = match (input.is_dir(), single_dir) {
                (true, true) => f.strip_prefix(input).unwrap_or(&f).to_path_buf(),
                (true, false) => base.join(f.strip_prefix(input).unwrap_or(&f)),
                (false, _) => base.clone(),
            };
            if let Some(prev) = seen.insert(relative.clone(), f.clone()) {
                return Err(invalid(format!(
                    "{} and {} would both be written as {}",
                    prev.display(),
                    f.display(),
                    relative.display()
                )));
            }
            out.push((f, relative));
        }
    }
    Ok(out)
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
    let mut scanned: Vec<(PathBuf, PathBuf, String, Vec<Hit>)> = Vec::new();
    for (path, relative) in files(&args.paths)? {
        let label = path.display().to_string();
        let before =
            std::fs::read_to_string(&path).map_err(|e| invalid(format!("{label}: {e}")))?;
        let found = scan::scan_str(&label, &before, &rules).map_err(|e| invalid(e.to_string()))?;
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
    let mapping: BTreeMap<Reference, Reference> = target
        .map_all(sources, args.layout)
        .map_err(|e| invalid(e.to_string()))?;

    let mut jobs = Vec::new();
    let mut references = 0;
    for (path, relative, before, hits) in &scanned {
        let refs: Vec<&Hit> = hits.iter().collect();
        references += refs
            .iter()
            .filter(|h| mapping[&h.reference] != h.reference)
            .count();
        let after = rewrite_text(before, &refs, &mapping).map_err(|e| invalid(e.to_string()))?;
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
            if dest.canonicalize().ok() == j.path.canonicalize().ok() {
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
