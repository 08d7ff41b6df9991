//! `ferry bundle`: scan, pull every image into the cache, write one self-contained tar.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::copying::registry_options;
use super::mirror::collect_images;
use crate::bundle::cache::{self, BlobCache};
use crate::bundle::pull::Puller;
use crate::bundle::{BundleError, created_timestamp, write};
use crate::cli::BundleArgs;
use crate::exit::{Exit, Failure};
use crate::manifest::PlatformFilter;
use crate::progress::{Bars, Observer, Silent};
use crate::registry::Registries;

/// The exit code a bundle error ends the process with.
pub fn failure(e: BundleError) -> Failure {
    let code = match &e {
        _ if e.is_integrity() => Exit::Integrity,
        BundleError::Registry(_) | BundleError::Cache(cache::CacheError::Download(_)) => {
            Exit::Registry
        }
        BundleError::Invalid(_) => Exit::InvalidInput,
        _ => Exit::Internal,
    };
    Failure::new(code, e.to_string())
}

pub fn run(args: &BundleArgs) -> Result<Exit> {
    let images = collect_images(&args.input)?;
    let manifests = write::manifest_files(&args.input.paths).map_err(failure)?;
    let platforms: PlatformFilter = args
        .platform
        .parse()
        .map_err(|e: String| Failure::new(Exit::InvalidInput, format!("--platform: {e}")))?;
    let cache_dir = args.cache.clone().unwrap_or_else(cache::default_dir);
    let cache = BlobCache::open(&cache_dir).map_err(|e| failure(e.into()))?;
    let registries = Arc::new(Registries::new(registry_options(&args.registry)));
    let mirrors = super::copying::source_mirrors(&args.source_mirror)?;
    let puller = Puller::new(registries, cache.clone(), platforms, usize::from(args.jobs))
        .with_mirrors(mirrors);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;

    let pulled = runtime
        .block_on(puller.resolve_all(&images))
        .map_err(failure)?;
    let plan = write::plan(&pulled, &manifests, created_timestamp()).map_err(failure)?;
    // Refuse early, before any layer is downloaded, when either filesystem is too small.
    let missing: u64 = {
        let mut seen = std::collections::BTreeSet::new();
        pulled
            .iter()
            .flat_map(|i| i.contents.iter())
            .filter(|d| seen.insert(d.digest.clone()) && !cache.has(&d.digest, d.size))
            .map(|d| d.size)
            .sum()
    };
    write::check_space(&cache_dir, missing).map_err(failure)?;
    let out_dir = match args.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    write::check_space(&out_dir, plan.size).map_err(failure)?;

    eprintln!(
        "bundling {} images ({} blobs, {:.1} MB; {:.1} MB to download) and {} manifest files",
        plan.meta.totals.images,
        plan.meta.totals.blobs,
        plan.meta.totals.blob_bytes as f64 / 1e6,
        missing as f64 / 1e6,
        plan.meta.totals.manifest_files
    );
    let bars = std::io::stderr()
        .is_terminal()
        .then(|| Bars::new(pulled.iter().map(|i| i.source.to_string()).collect()));
    let observer: &dyn Observer = match &bars {
        Some(b) => b,
        None => &Silent,
    };
    let fetched = runtime.block_on(puller.fetch_all(&pulled, observer));
    if let Some(b) = &bars {
        b.clear();
    }
    fetched.map_err(failure)?;
    let compression = args
        .compress
        .unwrap_or_else(|| crate::bundle::compress::Compression::from_name(&args.output));
    write::write(&plan, &cache, &args.output, compression).map_err(failure)?;
    println!(
        "wrote {} ({:.1} MB)",
        args.output.display(),
        plan.size as f64 / 1e6
    );
    Ok(Exit::Success)
}
