//! `ferry scan`.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};

use crate::cli::{ScanArgs, ScanOutput};
use crate::exit::Exit;
use crate::output;

pub(super) fn run(args: &ScanArgs) -> Result<Exit> {
    if let Some(exit) = catalog(args)? {
        return Ok(exit);
    }
    let (paths, opts, _fetched) = inputs(args)?;
    let report = ferry_workflow::scan_paths(&paths, &opts, args.keep_going);
    let stdout = std::io::stdout();
    let format = format(args);
    let mut out = std::io::BufWriter::new(stdout.lock());
    let printed = match format {
        ScanOutput::Json => output::scan_json(&mut out, &report),
        ScanOutput::List => output::scan_list(&mut out, &report),
        ScanOutput::Table => output::scan_table(&mut out, &report, args.why),
    };
    printed
        .and_then(|()| out.flush())
        .context("cannot write output")?;
    if format != ScanOutput::Json {
        let mut err = std::io::stderr().lock();
        for n in &report.notes {
            let _ = writeln!(err, "note: {n}");
        }
        for w in &report.warnings {
            let _ = writeln!(err, "warning: {w}");
        }
        for e in &report.errors {
            let _ = writeln!(err, "error: {e}");
        }
    }
    Ok(if report.errors.is_empty() {
        Exit::Success
    } else {
        Exit::InvalidInput
    })
}

/// An OLM catalog given alone (a file-based catalog, or a catalog image `oci://...`): what
/// it holds, or what a selection from it needs.
fn catalog(args: &ScanArgs) -> Result<Option<Exit>> {
    if let [one] = args.paths.as_slice()
        && one.to_str().is_some_and(|p| p.starts_with("oci://"))
    {
        let scratch = ferry_core::scratch::ScratchDir::new("catalog-image")?;
        let registries = super::options::registries(&args.registry);
        let image = super::options::runtime()?.block_on(ferry_workflow::catalog::catalog_image(
            one,
            &registries,
            scratch.path(),
            None,
        ))?;
        if let Some(image) = image {
            return super::catalog::run(&image.catalog, &args.catalog, format(args), args.why)
                .map(Some);
        }
    }
    if let [one] = args.paths.as_slice()
        && ferry_scan::catalog::is_catalog(one)
        && !ferry_workflow::spec::is_spec(one)
    {
        return super::catalog::run(one, &args.catalog, format(args), args.why).map(Some);
    }
    if args.catalog.package.is_some() {
        return Err(super::options::usage(
            "--package selects from an OLM catalog: give the catalog (a file-based catalog directory or file) as the only PATH",
        ));
    }
    Ok(None)
}

/// The paths to scan (a release spec's inputs; `oci://` charts pulled, kept while the
/// returned charts live) and how to render them.
fn inputs(
    args: &ScanArgs,
) -> Result<(
    Vec<std::path::PathBuf>,
    ferry_workflow::ScanOptions,
    ferry_workflow::FetchedCharts,
)> {
    let mut opts = super::options::scan_options(
        args.rules.as_deref(),
        &args.render,
        args.chart_namespace.namespace.as_deref(),
    )?;
    let mut paths = args.paths.clone();
    if let Some(spec) = super::spec::given(&args.paths)? {
        paths = spec.paths();
        opts.render.per_input = spec.per_input(&opts.render.helm);
    }
    opts.render.helm.skip_crds = true;
    for own in opts.render.per_input.values_mut() {
        own.skip_crds = true;
    }
    let fetched = if ferry_workflow::any_remote(&paths) {
        let registries = super::options::registries(&args.registry);
        super::options::runtime()?.block_on(ferry_workflow::fetch_charts(&paths, &registries))?
    } else {
        ferry_workflow::FetchedCharts::default()
    };
    if !fetched.paths.is_empty() {
        fetched.point(&mut opts.render);
        paths = fetched.paths.clone();
    }
    Ok((paths, opts, fetched))
}

/// `-o`, else a table on a terminal (or with `--why`) and a list when piped.
fn format(args: &ScanArgs) -> ScanOutput {
    args.output
        .unwrap_or(if args.why || std::io::stdout().is_terminal() {
            ScanOutput::Table
        } else {
            ScanOutput::List
        })
}
