//! `ferry mirror`: copy the images that manifests (and `--images`) name into a registry.

use std::sync::Arc;

use anyhow::Result;

use super::options::{
    copy_options, print_summary, registries, runtime, scan_options, source_mirrors, target, usage,
};
use super::report::Printer;
use crate::cli::MirrorArgs;
use crate::exit::Exit;
use ferry_workflow::{self as workflow, MirrorOptions};

pub(super) fn run(args: &MirrorArgs) -> Result<Exit> {
    if args.input.paths.is_empty() && args.input.images.is_none() {
        return Err(usage("give manifests to scan (PATH...) or --images FILE"));
    }
    let spec = super::spec::given(&args.input.paths)?;
    let mut opts = MirrorOptions {
        paths: args.input.paths.clone(),
        images: args.input.images.clone(),
        listed: Vec::new(),
        scan: scan_options(
            args.input.rules.as_deref(),
            &args.input.render,
            args.input.chart_namespace.namespace.as_deref(),
        )?,
        target: target(&args.copy.to)?,
        layout: args.copy.layout,
        mirrors: source_mirrors(&args.source_mirror)?,
        copy: copy_options(
            args.copy.platform.as_deref().unwrap_or("all"),
            args.copy.jobs,
        )?,
        dry_run: args.copy.dry_run.is_some(),
        signatures: !args.input.no_signatures,
        require_signed: args.input.signatures == Some(crate::cli::SignaturePolicy::Require),
    };
    if let Some(spec) = &spec {
        from_spec(&mut opts, spec, args)?;
    }
    opts.scan.render.helm.skip_crds = true;
    for own in opts.scan.render.per_input.values_mut() {
        own.skip_crds = true;
    }
    let catalogs = catalogs(spec.as_ref(), args, &mut opts)?;
    if !catalogs.is_empty() {
        return super::catalog::mirror(args, catalogs, opts);
    }
    let printer = Arc::new(Printer::new(args.copy.output));
    let registries = registries(&args.registry);
    let outcome = runtime()?.block_on(workflow::mirror(&opts, &registries, printer.clone()));
    printer.finish();
    let outcome = outcome?;
    match &outcome.run {
        None if outcome.planned.is_empty() => {
            eprintln!("no images found");
            Ok(Exit::Success)
        }
        None => Ok(Exit::Success),
        Some(run) => print_summary(run, args.copy.output),
    }
}

/// The release spec's inputs, lists, mirrors, signature policy and platforms (flags win).
fn from_spec(opts: &mut MirrorOptions, spec: &super::spec::Spec, args: &MirrorArgs) -> Result<()> {
    let (signatures, require) = spec.signatures(
        args.input.no_signatures,
        args.input.signatures == Some(crate::cli::SignaturePolicy::Require),
    );
    opts.paths = spec.paths();
    opts.listed = spec.listed()?;
    opts.mirrors = source_mirrors(&spec.mirrors(&args.source_mirror))?;
    (opts.signatures, opts.require_signed) = (signatures, require);
    // A flag wins, `--platform all` too.
    if let Some(p) = spec.platform().filter(|_| args.copy.platform.is_none()) {
        opts.copy = copy_options(&p, args.copy.jobs)?;
    }
    opts.scan.render.per_input = spec.per_input(&opts.scan.render.helm);
    Ok(())
}

/// The catalog selections to mirror: `CATALOG --package ...` (the catalog is then not an
/// input of its own), or a release spec's `catalogs:`.
fn catalogs(
    spec: Option<&super::spec::Spec>,
    args: &MirrorArgs,
    opts: &mut MirrorOptions,
) -> Result<Vec<workflow::CatalogInput>> {
    let catalogs = match (
        spec,
        super::catalog::selected(&args.input.paths, &args.catalog)?,
    ) {
        (None, Some(one)) => {
            opts.paths.clear();
            vec![one]
        }
        (Some(spec), _) => spec.catalogs()?,
        (None, None) => Vec::new(),
    };
    if catalogs.is_empty() && args.catalog.catalog_manifests.is_some() {
        return Err(usage(
            "--catalog-manifests goes with a catalog selection (--package, or a ferry.yaml's \
             catalogs:)",
        ));
    }
    Ok(catalogs)
}
