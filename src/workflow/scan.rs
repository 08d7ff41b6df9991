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

/// Every image to copy or bundle: scanned from `paths` plus those of the `images` list, each
/// once, sorted. Scan warnings go to `reporter`; a file that does not scan is an error.
pub fn collect_images(
    paths: &[PathBuf],
    images: Option<&std::path::Path>,
    rules: &UserRules,
    reporter: &dyn super::Reporter,
) -> super::Result<Vec<crate::reference::Reference>> {
    let mut set = std::collections::BTreeSet::new();
    if !paths.is_empty() {
        let report = scan_paths(paths, rules, false);
        for w in &report.warnings {
            reporter.warning(&w.to_string());
        }
        if let Some(e) = report.errors.into_iter().next() {
            return Err(e.into());
        }
        set.extend(report.hits.into_iter().map(|h| h.reference));
    }
    if let Some(file) = images {
        set.extend(inputs::read_image_list(file)?);
    }
    Ok(set.into_iter().collect())
}
