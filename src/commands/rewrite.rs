//! `ferry rewrite`: point manifests (or a bundle's) at the private registry; write the result
//! under `--out`, in place (all or nothing), or show a diff.

use std::io::Write;

use anyhow::Result;

use super::options::{registries, runtime, scan_options, target};
use super::report::Printer;
use crate::cli::{CopyOutput, RewriteArgs};
use crate::exit::Exit;
use ferry_oci::bundle::archive::Archive;
use ferry_scan::inputs;
use ferry_workflow::{self as workflow, RewriteInput, RewriteMode, RewriteOptions};

pub(super) fn run(args: &RewriteArgs) -> Result<Exit> {
    if let Some(values_out) = &args.values_out {
        return values_override(args, values_out);
    }
    let mode = match (&args.out, args.in_place) {
        (Some(dir), _) => RewriteMode::Out(dir.clone()),
        (None, true) => RewriteMode::InPlace,
        (None, false) => RewriteMode::Diff,
    };
    let target = target(&args.to)?;
    let opts = RewriteOptions {
        target: target.clone(),
        layout: args.layout,
        scan: scan_options(
            args.rules.as_deref(),
            &args.render,
            args.chart_namespace.namespace.as_deref(),
        )?,
        mode: mode.clone(),
        lock: args.lock.clone(),
        pin_digests: args.pin_digests,
        pull_secret: args.pull_secret.clone(),
    };
    // A single archive is a bundle: its manifests are rewritten, its digests pinned.
    let archive = match args.paths.as_slice() {
        [p] if p.is_file() && inputs::is_archive(p) => Some(Archive::catalog_manifests(p)?),
        _ => None,
    };
    let input = match &archive {
        Some(a) => RewriteInput::Bundle(a),
        None => RewriteInput::Files(&args.paths),
    };
    let printer = Printer::new(CopyOutput::Text);
    let registries = registries(&args.registry);
    let report = runtime()?.block_on(workflow::rewrite(input, &opts, &registries, &printer))?;
    if mode == RewriteMode::Diff {
        print_diff(&report)?;
    }
    eprintln!(
        "{} references in {} of {} files point at {target}",
        report.references,
        report.changed().count(),
        report.files.len()
    );
    Ok(Exit::Success)
}

/// Each changed file as a unified diff on stdout.
fn print_diff(report: &workflow::RewriteReport) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for f in report.changed() {
        // Patience anchors on unique lines (names), so a file with a change on every tenth
        // line is near-linear; Myers is O(lines x changes) there. The deadline bounds any
        // file: past it the diff is coarser, never wrong.
        let diff = similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Patience)
            .deadline(std::time::Instant::now() + std::time::Duration::from_secs(10))
            .diff_lines(&f.before, &f.after);
        write!(
            out,
            "{}",
            diff.unified_diff()
                .context_radius(3)
                .header(&f.label, &f.label)
        )?;
    }
    Ok(())
}

/// `--values-out`: a chart's values override, proven by rendering.
fn values_override(args: &RewriteArgs, values_out: &std::path::Path) -> Result<Exit> {
    let allow = args
        .allow_unrewritten
        .iter()
        .map(|r| {
            r.parse()
                .map_err(|e| crate::exit::invalid(format!("--allow-unrewritten {r}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let opts = workflow::ChartRewriteOptions {
        paths: args.paths.clone(),
        target: target(&args.to)?,
        layout: args.layout,
        scan: scan_options(
            args.rules.as_deref(),
            &args.render,
            args.chart_namespace.namespace.as_deref(),
        )?,
        values_out: values_out.to_path_buf(),
        allow_unrewritten: allow,
        only_from: None,
        digests: Default::default(),
        // The override is all a `helm install -f` gets: every image must move by a value.
        rewrite_written: false,
    };
    let opts = if args.pin_digests {
        let images = workflow::chart_images(&opts)?;
        let digests = runtime()?.block_on(workflow::target_digests(
            &images,
            &opts.target,
            opts.layout,
            &registries(&args.registry),
        ))?;
        workflow::ChartRewriteOptions { digests, ..opts }
    } else {
        opts
    };
    let report = workflow::rewrite_chart(&opts)?;
    print_override(&report, values_out, &opts.target)?;
    Ok(Exit::Success)
}

/// Each value set (stdout), then what stayed and what proved it (stderr).
fn print_override(
    report: &workflow::ChartRewriteReport,
    values_out: &std::path::Path,
    target: &ferry_core::target::Target,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for e in &report.edits {
        writeln!(
            out,
            "{}: {:?} -> {:?}  ({})",
            e.keys.join("."),
            e.old,
            e.new,
            e.at
        )?;
    }
    for a in &report.allowed {
        eprintln!("warning: {a} stays where it is (--allow-unrewritten)");
    }
    eprintln!(
        "{}: {} values set in {}; proven: `{}` names {} images, all under {target}",
        report.chart,
        report.edits.len(),
        values_out.display(),
        report.proved_by,
        report.images,
    );
    Ok(())
}
