//! `rewrite DIR --out OUT` of a kustomize tree: OUT must build as DIR does, so the files a
//! kustomization reads that are not manifests (a generator's `files:` and `envs:`, a
//! patch in a text file) are copied beside the rewritten ones. Kustomize reads such files
//! only under the kustomization's own directory, so copying every directory it builds from
//! carries them all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::changes::FileChange;
use super::{Result, io_error};

/// Copies into `out` the files of every directory the kustomizations among `files` build
/// from, where OUT mirrors it (inside an input); the rewritten files are written after.
pub(crate) fn copy_companions(out: &Path, files: &[FileChange]) -> Result<()> {
    let bases = input_bases(files);
    let rewritten: BTreeSet<PathBuf> = files
        .iter()
        .filter_map(|f| f.path.canonicalize().ok())
        .collect();
    let mut reached = BTreeSet::new();
    for f in files
        .iter()
        .filter(|f| ferry_scan::render::kustomize::is_kustomization_file(&f.path))
    {
        let Some(dir) = f.path.parent().and_then(|d| d.canonicalize().ok()) else {
            continue;
        };
        reached.extend(ferry_scan::render::kustomize::reach(&dir));
    }
    std::fs::create_dir_all(out).map_err(io_error(out))?;
    // OUT may lie inside the tree it mirrors (`rewrite . --out out`): never copied into itself.
    let skip = Skip {
        rewritten,
        out: out.canonicalize().map_err(io_error(out))?,
    };
    for dir in &reached {
        // A base outside every input has no place in OUT (its manifests are not rewritten).
        if let Some(relative) = bases.iter().find_map(|b| dir.strip_prefix(b).ok()) {
            copy_missing(dir, &out.join(relative), &skip)?;
        }
    }
    Ok(())
}

/// The directories OUT mirrors: each file's path without the part OUT names it by.
fn input_bases(files: &[FileChange]) -> Vec<PathBuf> {
    let mut bases: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| {
            let path = f.path.canonicalize().ok()?;
            let depth = f.relative.components().count();
            path.ancestors().nth(depth).map(Path::to_path_buf)
        })
        .collect();
    bases.sort();
    bases.dedup();
    bases
}

/// What a copy leaves out: the rewritten files (written after) and OUT itself.
struct Skip {
    rewritten: BTreeSet<PathBuf>,
    out: PathBuf,
}

/// Copies `from`'s files and subdirectories into `to` (`.git` and OUT left out), but those
/// that are rewritten and a file that is its own destination.
fn copy_missing(from: &Path, to: &Path, skip: &Skip) -> Result<()> {
    std::fs::create_dir_all(to).map_err(io_error(to))?;
    for entry in std::fs::read_dir(from).map_err(io_error(from))? {
        let entry = entry.map_err(io_error(from))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io_error(&path))?;
        let dest = to.join(entry.file_name());
        // A linked file is read through its link, as kustomize reads it; a linked directory
        // is not followed (it may loop).
        let is_file = kind.is_file() || (kind.is_symlink() && path.is_file());
        if kind.is_dir() && entry.file_name() != ".git" && path != skip.out {
            copy_missing(&path, &dest, skip)?;
        } else if is_file && !skip.rewritten.contains(&path) && !same_file(&path, &dest) {
            std::fs::copy(&path, &dest).map_err(io_error(&dest))?;
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}
