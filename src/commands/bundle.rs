//! `ferry bundle`: scan, pull every image into the cache, write one self-contained tar.

use std::sync::Arc;

use anyhow::Result;

use super::options::{copy_options, registries, runtime, scan_options, source_mirrors, usage};
use super::report::Printer;
use crate::cli::{BundleArgs, CopyOutput};
use crate::exit::{Exit, invalid};
use crate::output::Bytes;
use ferry_oci::bundle::cache;
use ferry_oci::bundle::compress::Compression;
use ferry_workflow::{self as workflow, BundleOptions};

/// The arguments as the workflow's options (a release spec's, flags winning); a usage
/// error for what cannot be one.
fn options(args: &BundleArgs) -> Result<BundleOptions> {
    if args.input.paths.is_empty() && args.input.images.is_none() {
        return Err(usage(
            "give manifests to scan (PATH...), a ferry.yaml, or --images FILE",
        ));
    }
    let output = output_path(args)?;
    let spec = super::spec::given(&args.input.paths)?;
    let require = args.input.signatures == Some(crate::cli::SignaturePolicy::Require);
    let (signatures, require_signed) = match &spec {
        Some(s) => s.signatures(args.input.no_signatures, require),
        None => (!args.input.no_signatures, require),
    };
    // A flag wins, `--platform all` too.
    let platform = (args.platform.clone())
        .or_else(|| spec.as_ref().and_then(|s| s.platform()))
        .unwrap_or_else(|| "all".to_string());
    let mut opts = BundleOptions {
        paths: args.input.paths.clone(),
        images: args.input.images.clone(),
        listed: Vec::new(),
        compression: args
            .compress
            .unwrap_or_else(|| Compression::from_name(&output)),
        output,
        copy: copy_options(&platform, args.jobs)?,
        cache_dir: args.cache.clone().unwrap_or_else(cache::default_dir),
        mirrors: source_mirrors(&args.source_mirror)?,
        exclude: args.exclude.clone(),
        allow_empty: args.allow_empty,
        check: args.check,
        signatures,
        require_signed,
        product: product(args, spec.as_ref())?,
        sign_key: sign_key(args)?,
        since: args.since.clone(),
        split: args.split,
        names: Default::default(),
        catalogs: super::catalog::selected(&args.input.paths, &args.catalog)?
            .into_iter()
            .collect(),
        scan: scan_options(
            args.input.rules.as_deref(),
            &args.input.render,
            args.input.chart_namespace.namespace.as_deref(),
        )?,
    };
    if let Some(spec) = &spec {
        from_spec(&mut opts, spec, args)?;
    }
    if args.catalog.package.is_some() {
        // The catalog was the one input (`selected` refuses a spec beside --package).
        opts.paths.clear();
    }
    Ok(opts)
}

/// The release spec's inputs, names, lists and part size (flags' lists after the spec's).
fn from_spec(opts: &mut BundleOptions, spec: &super::spec::Spec, args: &BundleArgs) -> Result<()> {
    opts.paths = spec.paths();
    opts.names = spec.names();
    opts.listed = spec.listed()?;
    opts.exclude = spec
        .spec
        .exclude
        .iter()
        .chain(&args.exclude)
        .cloned()
        .collect();
    opts.mirrors = source_mirrors(&spec.mirrors(&args.source_mirror))?;
    opts.split = args.split.or(spec.split()?);
    opts.scan.render.per_input = spec.per_input(&opts.scan.render.helm);
    opts.catalogs.extend(spec.catalogs()?);
    Ok(())
}

/// `-o`: the bundle file (`-o json` is a mistake, not a format).
fn output_path(args: &BundleArgs) -> Result<std::path::PathBuf> {
    if let Some(o) = &args.output
        && !o
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains('.'))
    {
        return Err(usage(format!(
            "-o {}: bundle's -o is the bundle file (NAME.tar, .tar.gz, .tgz or .tar.zst), not an \
             output format",
            o.display()
        )));
    }
    Ok(args
        .output
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("bundle.tar")))
}

fn sign_key(args: &BundleArgs) -> Result<Option<Arc<ferry_oci::bundle::seal::SigningKey>>> {
    Ok(args
        .sign_key
        .as_deref()
        .map(ferry_oci::bundle::seal::SigningKey::load)
        .transpose()
        .map_err(|e| invalid(e.to_string()))?
        .map(Arc::new))
}

pub(super) fn run(args: &BundleArgs) -> Result<Exit> {
    let opts = options(args)?;
    let printer = Arc::new(Printer::new(CopyOutput::Text));
    let registries = registries(&args.registry);
    let report = runtime()?.block_on(workflow::bundle(&opts, &registries, printer.clone()));
    printer.finish();
    let report = report?;
    println!("{}", report.proof);
    if report.checked_only {
        println!(
            "check passed: {} images ({} blobs, {}), {} manifest files, {} excluded; nothing pulled or written",
            report.images,
            report.blobs,
            Bytes(report.blob_bytes),
            report.manifest_files,
            report.excluded.len()
        );
        return Ok(Exit::Success);
    }
    match &report.parts {
        Some(index) => {
            println!(
                "wrote {} in {} parts ({}): {}.part-001 ... and the index {}",
                report.output.display(),
                index.parts.len(),
                Bytes(index.size),
                index.bundle,
                ferry_oci::bundle::parts::index_name(&index.bundle)
            );
        }
        None => println!("wrote {} ({})", report.output.display(), Bytes(report.size)),
    }
    if let Some(d) = &report.delta {
        println!(
            "a delta on receipt {}: {} layers ({}) left out, expected at the site (push checks them first)",
            d.receipt,
            d.expected.len(),
            Bytes(d.bytes())
        );
    }
    if let Some(key) = &args.sign_key {
        println!(
            "signed as a whole with {} (ferry.json.sig over ferry.json, which pins every file)",
            key.display()
        );
    }
    Ok(Exit::Success)
}

/// `--product NAME [--product-version V]` (else the spec's name, version and description):
/// checked as install will check them.
fn product(
    args: &BundleArgs,
    spec: Option<&super::spec::Spec>,
) -> Result<Option<ferry_oci::bundle::Product>> {
    let spec = spec.map(|s| &s.spec);
    let name = args.product.as_ref().or(spec.map(|s| &s.name));
    let version = args
        .product_version
        .as_ref()
        .or(spec.and_then(|s| s.version.as_ref()));
    let Some(name) = name else {
        if version.is_some() {
            return Err(invalid("--product-version needs --product NAME"));
        }
        return Ok(None);
    };
    ferry_apply::release::check_name(name).map_err(|why| invalid(format!("--product: {why}")))?;
    if let Some(v) = version {
        ferry_oci::bundle::trust::version(v)
            .map_err(|why| invalid(format!("--product-version {v:?}: {why}")))?;
    }
    Ok(Some(ferry_oci::bundle::Product {
        name: name.clone(),
        version: version.cloned(),
        description: spec.and_then(|s| s.description.clone()),
    }))
}
