//! `ferry mirror`: copy the images that manifests (and `--images`) name into a registry.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::{Context, Result};

use super::copying;
use crate::cli::{ImagesArgs, MirrorArgs};
use crate::exit::{Exit, Failure, invalid};
use crate::reference::Reference;
use crate::scan::UserRules;

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
        let report = crate::workflow::scan_paths(paths, &rules, false);
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
        set.extend(
            crate::inputs::read_image_list(file).map_err(|e| invalid(crate::exit::render(&e)))?,
        );
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
