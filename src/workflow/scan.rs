//! Scanning inputs: every file the paths expand to, each kustomization root rendered by
//! kustomize and its findings traced back to the files that name them; without kustomize,
//! ferry's own pass applies kustomizations to the files they include.

use std::path::PathBuf;

use crate::inputs;
use crate::render::{self, RenderOptions, Unit};
use crate::scan::{self, FileScan, Report, ScanError, UserRules};

/// What decides what a scan finds: the user's rules and the renderers.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub rules: UserRules,
    pub render: RenderOptions,
}

/// Scans every input; with `keep_going`, a bad file is recorded and the rest are scanned,
/// otherwise the first bad file ends the scan.
pub fn scan_paths(paths: &[PathBuf], opts: &ScanOptions, keep_going: bool) -> Report {
    let mut report = Report::default();
    let plan = match render::plan(paths, &opts.render) {
        Ok(p) => p,
        Err(e) => {
            report.errors.push(e.into());
            return report;
        }
    };
    report.notes = plan.notes.clone();
    let mut plain = Vec::new();
    let mut rendered = Vec::new();
    for unit in &plan.units {
        let scanned = match unit {
            Unit::File(file) => {
                let label = inputs::display(file);
                report.files.push(label.clone());
                scan_file(file, &label, &opts.rules).map(|found| plain.push((label, found)))
            }
            Unit::Kustomization(root) => {
                report
                    .files
                    .extend(root.covers.iter().map(|f| inputs::display(f)));
                scan_rendered(&plan, unit, root, &opts.rules).map(|found| rendered.push(found))
            }
        };
        if let Err(e) = scanned {
            report.errors.push(e);
            if !keep_going {
                break;
            }
        }
    }
    scan::kustomize::resolve(&mut plain);
    for found in plain.into_iter().map(|(_, f)| f).chain(rendered) {
        report.hits.extend(found.hits);
        report.warnings.extend(found.warnings);
    }
    report
}

fn scan_file(
    file: &std::path::Path,
    label: &str,
    rules: &UserRules,
) -> Result<FileScan, ScanError> {
    let text = inputs::read_text(file)?;
    scan::scan_text(label, &text, rules)
}

/// A kustomization root's output, scanned, each finding traced to the source file naming it.
fn scan_rendered(
    plan: &render::Plan,
    unit: &Unit,
    root: &render::Root,
    rules: &UserRules,
) -> Result<FileScan, ScanError> {
    let source = plan.load(unit)?;
    let mut found = scan::scan_text(&source.label, &source.text, rules)?;
    let mut sources = Vec::new();
    for file in &root.covers {
        let label = inputs::display(file);
        // A source ferry's own pass cannot read is no reason to fail: the output is the truth.
        if let Ok(s) = scan_file(file, &label, rules) {
            sources.push((label, s));
        }
    }
    scan::kustomize::resolve(&mut sources);
    let by = match &source.origin {
        render::Origin::Rendered { engine, .. } => format!("{engine} {}", root.dir.display()),
        render::Origin::File(_) => source.label.clone(),
    };
    scan::rendered::attribute(&mut found, &sources, &inputs::display(&root.file), &by);
    Ok(found)
}

/// The images to copy or bundle, each once, sorted, with where each was first named.
#[derive(Debug, Clone, Default)]
pub struct Images {
    pub list: Vec<crate::reference::Reference>,
    /// `file:line` of the first mention (or `--images FILE`).
    pub origin: std::collections::BTreeMap<crate::reference::Reference, String>,
}

impl Images {
    /// Where `r` was named, for messages.
    pub fn origin_of(&self, r: &crate::reference::Reference) -> &str {
        self.origin.get(r).map_or("", String::as_str)
    }
}

/// Every image to copy or bundle: scanned from `paths` plus those of the `images` list.
/// Build outputs (pushed by operators, never pulled) are left out with a note. Scan warnings
/// go to `reporter`; a file that does not scan is an error.
pub fn collect_images(
    paths: &[PathBuf],
    images: Option<&std::path::Path>,
    opts: &ScanOptions,
    reporter: &dyn super::Reporter,
) -> super::Result<Images> {
    let mut origin = std::collections::BTreeMap::new();
    if !paths.is_empty() {
        let report = scan_paths(paths, opts, false);
        for n in &report.notes {
            reporter.warning(n);
        }
        for w in &report.warnings {
            reporter.warning(&w.to_string());
        }
        if let Some(e) = report.errors.into_iter().next() {
            return Err(e.into());
        }
        for h in report.hits {
            if h.output {
                reporter.info(&format!(
                    "{}:{}: {} is a build output (pushed by the operator, not pulled): not copied",
                    h.file, h.line, h.reference
                ));
                continue;
            }
            origin
                .entry(h.reference)
                .or_insert_with(|| format!("{}:{}", h.file, h.line));
        }
    }
    if let Some(file) = images {
        for r in inputs::read_image_list(file)? {
            origin
                .entry(r)
                .or_insert_with(|| format!("--images {}", inputs::display(file)));
        }
    }
    Ok(Images {
        list: origin.keys().cloned().collect(),
        origin,
    })
}
