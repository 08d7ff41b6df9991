//! Scanning inputs: every file the paths expand to, read and scanned, then kustomizations
//! applied to the files they include.

use std::path::PathBuf;

use crate::inputs;
use crate::scan::{self, Report, UserRules};

/// Scans every input; with `keep_going`, a bad file is recorded and the rest are scanned,
/// otherwise the first bad file ends the scan.
pub fn scan_paths(paths: &[PathBuf], rules: &UserRules, keep_going: bool) -> Report {
    let mut report = Report::default();
    let files = match inputs::expand(paths) {
        Ok(f) => f,
        Err(e) => {
            report.errors.push(e.into());
            return report;
        }
    };
    let mut scans = Vec::new();
    for file in files {
        let label = inputs::display(&file);
        report.files.push(label.clone());
        let scanned = inputs::read_text(&file)
            .map_err(scan::ScanError::from)
            .and_then(|text| scan::scan_text(&label, &text, rules));
        match scanned {
            Ok(found) => scans.push((label, found)),
            Err(e) => {
                report.errors.push(e);
                if !keep_going {
                    break;
                }
            }
        }
    }
    scan::kustomize::resolve(&mut scans);
    for (_, found) in scans {
        report.hits.extend(found.hits);
        report.warnings.extend(found.warnings);
    }
    report
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
    rules: &UserRules,
    reporter: &dyn super::Reporter,
) -> super::Result<Images> {
    let mut origin = std::collections::BTreeMap::new();
    if !paths.is_empty() {
        let report = scan_paths(paths, rules, false);
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
