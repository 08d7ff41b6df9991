//! `ferry mirror`: copy the images that manifests (and `--images`) name into a registry.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::copying;
use crate::cli::{ImagesArgs, MirrorArgs};
use crate::exit::{Exit, Failure, invalid};
use crate::reference::Reference;
use crate::scan::{self, UserRules};

/// References from an `--images` file: one per line, `#` comments and blank lines ignored.
pub fn read_images_file(path: &Path) -> Result<Vec<Reference>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let r = Reference::parse(line)
            .map_err(|e| invalid(format!("{}:{}: {e}", path.display(), i + 1)))?;
        out.push(r);
    }
    Ok(out)
}

/// Every image to copy: scanned from the paths plus `--images`, each once.
pub fn collect_images(input: &ImagesArgs) -> Result<Vec<Reference>> {
    let (paths, images, rules) = (
        &input.paths,
        input.images.as_deref(),
        input.rules.as_deref(),
    );
    if paths.is_empty() && images.is_none() {
        return Err(Failure::new(
            Exit::Usage,
            "give manifests to scan (PATH...) or --images FILE",
        )
        .into());
    }
    let mut set = BTreeSet::new();
    if !paths.is_empty() {
        let rules = match rules {
            Some(p) => UserRules::load(p).map_err(|e| invalid(e.to_string()))?,
            None => UserRules::default(),
        };
        let report = scan::scan_paths(paths, &rules, false);
        let mut err = std::io::stderr().lock();
        for w in &report.warnings {
            let _ = writeln!(err, "warning: {w}");
        }
        if let Some(e) = report.errors.first() {
            return Err(invalid(e.to_string()));
        }
        set.extend(report.hits.into_iter().map(|h| h.reference));
    }
    if let Some(file) = images {
        set.extend(read_images_file(file)?);
    }
    Ok(set.into_iter().collect())
}

pub fn run(args: &MirrorArgs) -> Result<Exit> {
    let images = collect_images(&args.input)?;
    let jobs = copying::plan(&images, &args.copy).context("cannot plan the copy")?;
    if jobs.is_empty() {
        eprintln!("no images found");
        return Ok(Exit::Success);
    }
    if args.copy.dry_run {
        copying::print_plan(&jobs, args.copy.output)?;
        return Ok(Exit::Success);
    }
    copying::run_mirror(jobs, &args.copy, &args.registry)
}
