//! `rewrite` of a kustomize tree, proven by kustomize itself before anything is written: the
//! tree each root reaches is copied to a scratch directory with the rewritten files in
//! place, rendered, and every image of the output must point at the target. A container
//! image that still points elsewhere comes from something no input file names (a remote
//! base, a generator): the root kustomization gets an `images:` entry for it, as
//! `kustomize edit set image` adds one, and the copy is rendered again. Anything still
//! outside the target is an error naming where it comes from.

use std::path::{Path, PathBuf};

use super::changes::FileChange;
use super::{Reporter, Result, ScanOptions, WorkflowError};
use ferry_core::target::{Layout, Target};
use ferry_scan::render::{self, Engine, Origin, Root, Source, Unit};
use ferry_scan::scan::{self, Hit, Rule};

fn invalid(e: impl std::fmt::Display) -> WorkflowError {
    WorkflowError::Invalid(e.to_string())
}

/// Proves every kustomization root among `paths` renders to images under `target` once
/// `files` are rewritten, adding `images:` entries to a root's kustomization where needed.
pub(crate) fn prove(
    paths: &[PathBuf],
    files: &mut [FileChange],
    target: &Target,
    layout: Layout,
    opts: &ScanOptions,
    reporter: &dyn Reporter,
) -> Result<()> {
    let plan = render::plan(paths, &opts.render)?;
    let roots: Vec<&Root> = plan
        .units
        .iter()
        .filter_map(|u| match u {
            Unit::Kustomization(root) => Some(root),
            Unit::File(_) | Unit::Chart(_) => None,
        })
        .collect();
    let Some(engine) = &plan.engine else {
        if render::kustomize::roots(&ferry_scan::inputs::expand(paths)?).is_empty() {
            return Ok(());
        }
        reporter.warning(
            "the rewritten kustomizations were not rendered to prove them: no kustomize \
             (kustomize or kubectl on PATH, or --kustomize PROGRAM)",
        );
        return Ok(());
    };
    let mut problems = Vec::new();
    for root in roots {
        problems.extend(prove_root(
            root, engine, files, target, layout, opts, reporter,
        )?);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(format!(
            "{} of the rendered kustomizations would still be pulled from outside {target}, \
             nothing written:\n  {}",
            ferry_core::text::counted(problems.len(), "image"),
            problems.join("\n  ")
        )))
    }
}

fn prove_root(
    root: &Root,
    engine: &Engine,
    files: &mut [FileChange],
    target: &Target,
    layout: Layout,
    opts: &ScanOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<String>> {
    let copy = Scratch::of(root, files)?;
    let outside = |rendered: &str| -> Result<Vec<Hit>> {
        Ok(scan::scan_text(&root.label(), rendered, &opts.rules)?
            .hits
            .into_iter()
            .filter(|h| !h.output && !target.holds(&h.reference))
            .collect())
    };
    let mut left = outside(&copy.render(engine)?)?;
    // Container images kustomize's images transformer reaches: redirect them at the root.
    let mut added: Vec<(String, String)> = Vec::new();
    for hit in left.iter().filter(|h| h.rule == Rule::ContainerImage) {
        let Some(name) = scan::kustomize::name_as_written(&hit.written) else {
            continue;
        };
        let new_name = target.map(&hit.reference, layout).map_err(invalid)?.name();
        if !added.iter().any(|(n, _)| n == name) {
            added.push((name.to_string(), new_name));
        }
    }
    if !added.is_empty() {
        let kustomization = files
            .iter_mut()
            .find(|f| f.path == root.file)
            .ok_or_else(|| invalid(format!("{}: not among the files", root.file.display())))?;
        let edits = ferry_scan::rewrite::image_entry_edits(
            &kustomization.label,
            &kustomization.after,
            &added,
        )
        .map_err(invalid)?;
        kustomization.after =
            ferry_scan::rewrite::apply(&kustomization.after, edits).map_err(invalid)?;
        copy.write(&root.file, &kustomization.after)?;
        reporter.info(&format!(
            "{}: images: entries added for {} that no input file names: {}",
            kustomization.label,
            ferry_core::text::counted(added.len(), "image"),
            added
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        left = outside(&copy.render(engine)?)?;
    }
    if left.is_empty() {
        return Ok(Vec::new());
    }
    // Say where each comes from, in the files as the user has them.
    let source = Source {
        label: root.label(),
        text: copy.render(engine)?,
        origin: Origin::Rendered {
            root: root.clone(),
            engine: engine.name.clone(),
        },
    };
    let attributed = super::scan::scan_rendered(&source, root, &engine.name, &opts.rules)?;
    Ok(attributed
        .hits
        .iter()
        .filter(|h| !h.output && !target.holds(&h.reference))
        .map(|h| {
            let whence = match &h.rendered {
                Some(r) if !r.located => {
                    " (no input file names it: it comes from outside the inputs, a remote base \
                     or a generator; give the files that name it as inputs)"
                }
                _ => "",
            };
            format!(
                "{}:{}: {} at {} {}{whence}: kustomize's images transformer does not reach this field",
                h.file,
                h.line,
                h.reference,
                h.kind.as_deref().unwrap_or("?"),
                h.yaml_path
            )
        })
        .collect())
}

/// A copy of what one root's build reads, with the rewritten files in place; removed when
/// dropped.
struct Scratch {
    dir: ferry_core::scratch::ScratchDir,
    /// The directory the copy mirrors (the deepest one above everything the root reaches).
    base: PathBuf,
    root: PathBuf,
}

impl Scratch {
    fn of(root: &Root, files: &[FileChange]) -> Result<Scratch> {
        let root_dir = root
            .dir
            .canonicalize()
            .map_err(super::io_error(&root.dir))?;
        let reach = render::kustomize::reach(&root_dir);
        let base = reach
            .iter()
            .fold(root_dir.clone(), |a, d| common_ancestor(&a, d));
        let dir = ferry_core::scratch::ScratchDir::new("rerender")
            .map_err(super::io_error(&ferry_core::scratch::dir()))?;
        let scratch = Scratch {
            root: dir.join(root_dir.strip_prefix(&base).unwrap_or(Path::new(""))),
            dir,
            base,
        };
        for d in &reach {
            copy_tree(
                d,
                &scratch.dir.join(d.strip_prefix(&scratch.base).unwrap_or(d)),
            )
            .map_err(super::io_error(d))?;
        }
        for f in files.iter().filter(|f| f.before != f.after) {
            scratch.write(&f.path, &f.after)?;
        }
        Ok(scratch)
    }

    /// Puts `text` where the copy holds `original` (when the copy holds it).
    fn write(&self, original: &Path, text: &str) -> Result<()> {
        let Ok(abs) = original.canonicalize() else {
            return Ok(());
        };
        let Ok(rel) = abs.strip_prefix(&self.base) else {
            return Ok(());
        };
        let dest = self.dir.join(rel);
        if dest.is_file() {
            std::fs::write(&dest, text).map_err(super::io_error(&dest))?;
        }
        Ok(())
    }

    fn render(&self, engine: &Engine) -> Result<String> {
        engine.render(&self.root).map_err(|e| {
            invalid(format!(
                "the rewritten copy does not render: {}",
                ferry_core::error::chain(&e)
            ))
        })
    }
}

fn common_ancestor(a: &Path, b: &Path) -> PathBuf {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

/// Copies a directory's files and subdirectories (`.git` left out).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            if entry.file_name() != ".git" {
                copy_tree(&entry.path(), &dest)?;
            }
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}
