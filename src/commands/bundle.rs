//! `ferry bundle`: scan, pull every image into the cache, write one self-contained tar.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::copying::registry_options;
use super::mirror::collect_images;
use crate::bundle::cache::{self, BlobCache};
use crate::bundle::ends::CacheSink;
use crate::bundle::pull::Pulling;
use crate::bundle::{BundleError, created_timestamp, write};
use crate::cli::BundleArgs;
use crate::exit::{Exit, Failure};
use crate::graph::{CopyOptions, Engine};
use crate::manifest::PlatformFilter;
use crate::progress::{Bars, Observer, Silent};
use crate::registry::Registries;

/// The exit code a bundle error ends the process with.
pub fn failure(e: BundleError) -> Failure {
    Failure::new(e.exit_code(), crate::exit::render(&e))
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
    let registries = Registries::new(registry_options(&args.registry));
    let mirrors = super::copying::source_mirrors(&args.source_mirror)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;

    let bars = std::io::stderr()
        .is_terminal()
        .then(|| Arc::new(Bars::new(images.iter().map(ToString::to_string).collect())));
    let observer: Arc<dyn Observer> = match &bars {
        Some(b) => b.clone(),
        None => Arc::new(Silent),
    };
    let engine = Engine::new(CopyOptions {
        platforms,
        jobs: usize::from(args.jobs),
        ..Default::default()
    })
    .with_observer(observer);
    let puller = Pulling {
        engine: &engine,
        registries: &registries,
        mirrors: &mirrors,
    };
    let pulled = runtime
        .block_on(puller.resolve_all(&images))
        .map_err(failure)?;
    let plan = write::plan(&pulled, &manifests, created_timestamp()).map_err(failure)?;
    // Refuse early, before any layer is downloaded, when either filesystem is too small.
    let missing: u64 = {
        let mut seen = std::collections::BTreeSet::new();
        pulled
            .iter()
            .flat_map(|i| i.graph.blobs.iter())
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

    let line = format!(
        "bundling {} images ({} blobs, {}; {} to download) and {} manifest files",
        plan.meta.totals.images,
        plan.meta.totals.blobs,
        crate::output::Bytes(plan.meta.totals.blob_bytes),
        crate::output::Bytes(missing),
        plan.meta.totals.manifest_files
    );
    match &bars {
        Some(b) => b.println(&line),
        None => eprintln!("{line}"),
    }
    let fetched = runtime.block_on(puller.fetch_all(&pulled, &CacheSink::new(cache.clone())));
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
