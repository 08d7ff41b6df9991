//! `bundle`: read every image's graph (manifests only), refuse early when a filesystem is
//! too small, pull what the cache lacks, then write one deterministic tar atomically.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::ScanOptions;
use super::{Reporter, Result};
use ferry_core::observe::Observer;
use ferry_core::reference::Reference;
use ferry_core::target::Target;
use ferry_core::text::Bytes;
use ferry_oci::bundle::cache::BlobCache;
use ferry_oci::bundle::compress::Compression;
use ferry_oci::bundle::ends::CacheSink;
use ferry_oci::bundle::pull::{PulledImage, Pulling};
use ferry_oci::bundle::{BundleError, Excluded, Proof, created_timestamp, write};
use ferry_oci::graph::{CopyOptions, Engine};
use ferry_oci::registry::Registries;

#[derive(Debug, Clone)]
pub struct BundleOptions {
    /// Manifest files and directories: scanned for images, kept under `manifests/`.
    pub paths: Vec<PathBuf>,
    /// A list of more images (`-`: stdin).
    pub images: Option<PathBuf>,
    /// More images, each with where it is named (a release spec's `images`).
    pub listed: Vec<(Reference, String)>,
    pub scan: ScanOptions,
    pub output: PathBuf,
    pub compression: Compression,
    pub copy: CopyOptions,
    pub cache_dir: PathBuf,
    /// `HOST` → the registry its images are pulled from instead.
    pub mirrors: BTreeMap<String, Target>,
    /// Images to leave out on purpose (`*` patterns over the normalized reference).
    pub exclude: Vec<String>,
    /// A bundle of manifests without images is fine.
    pub allow_empty: bool,
    /// Check everything (inputs, every image's manifests, free space), pull and write nothing.
    pub check: bool,
    /// Also carry what is attached to each image (signatures, attestations, SBOMs, referrers).
    pub signatures: bool,
    /// An image without a cosign signature stops the bundle before anything is pulled.
    pub require_signed: bool,
    /// The product and version the bundle delivers (install's release name).
    pub product: Option<ferry_oci::bundle::Product>,
    /// Sign the bundle as a whole (`ferry.json.sig`) with the vendor's key.
    pub sign_key: Option<std::sync::Arc<ferry_oci::bundle::seal::SigningKey>>,
    /// Receipts or bundles of what the site holds: a delta bundle leaves those layers out.
    pub since: Vec<PathBuf>,
    /// Write the bundle in parts of at most this many bytes.
    pub split: Option<u64>,
    /// Inputs by the names their files go under (`manifests/NAME/...`); others by their
    /// last path component.
    pub names: BTreeMap<PathBuf, String>,
    /// OLM catalogs and what to carry from each.
    pub catalogs: Vec<CatalogInput>,
}

/// An OLM catalog (a directory, a file or `oci://`) and its selections.
#[derive(Debug, Clone)]
pub struct CatalogInput {
    /// Names its files in the bundle (`manifests/NAME/`, `sources/NAME/`) and its
    /// CatalogSource (`ferry-NAME`).
    pub name: String,
    pub catalog: PathBuf,
    pub selections: Vec<ferry_scan::catalog::select::Selection>,
    /// Where its CatalogSource goes (`olm`; OpenShift: `openshift-marketplace`).
    pub namespace: String,
}

/// What a bundle holds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BundleReport {
    pub output: PathBuf,
    pub images: usize,
    pub blobs: usize,
    pub blob_bytes: u64,
    pub downloaded: u64,
    pub manifest_files: usize,
    /// The bundle's size in bytes (before compression).
    pub size: u64,
    pub excluded: Vec<ferry_oci::bundle::Excluded>,
    /// The completeness proof, also stored in `ferry.json`.
    pub proof: Proof,
    /// Only checked (`--check`): nothing was pulled or written.
    pub checked_only: bool,
    /// A delta (`--since`): what it leaves out, expected at the site.
    pub delta: Option<ferry_oci::bundle::Delta>,
    /// Written in parts (`--split`): their index.
    pub parts: Option<ferry_oci::bundle::parts::PartsIndex>,
}

pub async fn bundle(
    opts: &BundleOptions,
    registries: &Registries,
    reporter: Arc<dyn Reporter>,
) -> Result<BundleReport> {
    // `oci://` charts pulled; every input read and every kustomization and chart rendered,
    // each failure collected.
    let loading = super::fetch::fetch_and_load(&opts.paths, &opts.scan, registries, true);
    let (fetched, loaded) = super::while_waiting(reporter.as_ref(), "inputs", loading).await?;
    let problems = super::preflight::check(&loaded);
    if !problems.is_empty() {
        return Err(BundleError::Preflight(problems).into());
    }
    let cache = BlobCache::open(&opts.cache_dir).map_err(BundleError::from)?;
    let observer: Arc<dyn Observer> = reporter.clone();
    let engine = Engine::new(opts.copy.clone()).with_observer(observer);
    let mut catalogs = Vec::new();
    for c in &opts.catalogs {
        let part = super::catalog_bundle::catalog_part(
            (&c.name, &c.namespace),
            &c.catalog,
            &c.selections,
            registries,
            &cache,
        );
        catalogs.push(part.await?);
    }
    let (mut images, mut excluded) = to_carry(opts, &loaded, &catalogs, reporter.as_ref())?;
    let versions = renderer_versions(&loaded, &opts.scan.render);
    let names = input_names(opts, &fetched);
    let mut manifests = write::manifest_files(&fetched.paths, &names, &loaded.sources, &versions)?;
    let mut pulled = resolve_images(
        opts,
        &mut images,
        &mut excluded,
        registries,
        &engine,
        &reporter,
    )
    .await?;
    pulled.extend(catalogs.iter().filter_map(|c| c.image.clone()));
    let catalog_meta: Vec<ferry_oci::bundle::CatalogMeta> =
        catalogs.iter().map(|c| c.meta()).collect();
    for part in catalogs {
        for note in &part.notes {
            reporter.info(note);
        }
        part.prove(&pulled)?;
        manifests.extend(part.manifests);
    }
    let delta = match opts.since.as_slice() {
        [] => None,
        since => Some(super::delta::leave_out(since, &mut pulled)?),
    };
    let proof = super::proof::prove(&loaded.sources, &opts.scan.rules, &held(&pulled, &excluded))?;
    let charts = chart_artifacts(&loaded, &opts.scan.rules, &mut manifests)?;
    for warning in charts.iter().filter_map(|c| c.meta.lookup_warning()) {
        reporter.warning(&warning);
    }
    manifests.sort_by(|a, b| a.name.cmp(&b.name));
    let mut plan = write::plan(
        &pulled,
        &attachments(&images),
        &charts,
        &manifests,
        excluded.clone(),
        Some(proof.clone()),
        created_timestamp(),
    )?;
    plan.set_catalogs(catalog_meta)?;
    label(opts, &mut plan, delta, reporter.as_ref())?;
    if !opts.check {
        heal_cache(&pulled, &cache, reporter.as_ref())?;
    }
    let missing = check_space(opts, &pulled, &cache, &plan)?;
    reporter.images(
        &pulled
            .iter()
            .map(|i| i.source.to_string())
            .collect::<Vec<_>>(),
    );
    let report = BundleReport::of(opts, &plan, excluded, proof);
    if opts.check {
        return Ok(report);
    }
    let totals = &plan.meta.totals;
    reporter.info(&format!(
        "bundling {} images ({} blobs, {}; {} to download) and {} manifest files",
        totals.images,
        totals.blobs,
        Bytes(totals.blob_bytes),
        Bytes(missing),
        totals.manifest_files
    ));
    let puller = Pulling {
        engine: &engine,
        registries,
    };
    puller
        .fetch_all(&pulled, &CacheSink::new(cache.clone()), |i, r| {
            reporter.image(i, r)
        })
        .await?;
    let written = crate::long_read(reporter.as_ref(), "write", |o| {
        write::write(&plan, &cache, &opts.output, opts.compression, opts.split, o)
    })?;
    for removed in written.removed {
        reporter.info(&format!(
            "removed {}, left by an interrupted run",
            removed.display()
        ));
    }
    Ok(BundleReport {
        downloaded: missing,
        checked_only: false,
        parts: written.parts,
        ..report
    })
}

/// The images to carry (the inputs', `--images`, a spec's and a catalog selection's), less
/// those left out on purpose (which are returned); none at all is an error unless allowed.
fn to_carry(
    opts: &BundleOptions,
    loaded: &super::Loaded,
    catalogs: &[super::catalog_bundle::CatalogPart],
    reporter: &dyn Reporter,
) -> Result<(super::Images, Vec<Excluded>)> {
    let listed: Vec<(Reference, String)> = opts
        .listed
        .iter()
        .chain(catalogs.iter().flat_map(|c| &c.listed))
        .cloned()
        .collect();
    let mut excluded = Vec::new();
    let mut images = super::collect_images(
        loaded,
        opts.images.as_deref(),
        &listed,
        &opts.scan.rules,
        reporter,
    )?;
    images.list = excluding(
        &images,
        &images.list,
        &opts.exclude,
        &mut excluded,
        reporter,
    );
    if images.list.is_empty() && !opts.allow_empty {
        return Err(BundleError::Preflight(vec![
            "no images found in the inputs: nothing to carry (give --allow-empty to bundle manifests alone)"
                .into(),
        ])
        .into());
    }
    Ok((images, excluded))
}

/// Named inputs (a release spec's) by the paths they were loaded from: a pulled chart keeps
/// its `oci://` input's name.
fn input_names(opts: &BundleOptions, fetched: &super::FetchedCharts) -> BTreeMap<PathBuf, String> {
    fetched
        .paths
        .iter()
        .filter_map(|p| {
            let given = fetched.aliases.get(p).map_or(p.clone(), PathBuf::from);
            Some((p.clone(), opts.names.get(&given)?.clone()))
        })
        .collect()
}

/// What `ferry.json` says beyond the contents: the product, the delta; then the signature
/// over it all.
fn label(
    opts: &BundleOptions,
    plan: &mut write::Plan,
    delta: Option<ferry_oci::bundle::Delta>,
    reporter: &dyn Reporter,
) -> Result<()> {
    if let Some(product) = &opts.product {
        plan.set_product(product.clone())?;
    }
    if let Some(delta) = delta {
        reporter.info(&format!(
            "delta on receipt {}: {} layers ({}) the site holds are left out",
            delta.receipt,
            delta.expected.len(),
            Bytes(delta.bytes())
        ));
        plan.set_delta(delta)?;
    }
    if let Some(key) = &opts.sign_key {
        plan.sign(key)?;
    }
    Ok(())
}

impl BundleReport {
    /// What the planned bundle holds, as a check (`--check`) reports it.
    fn of(opts: &BundleOptions, plan: &write::Plan, excluded: Vec<Excluded>, proof: Proof) -> Self {
        let totals = &plan.meta.totals;
        BundleReport {
            output: opts.output.clone(),
            images: totals.images,
            blobs: totals.blobs,
            blob_bytes: totals.blob_bytes,
            downloaded: 0,
            manifest_files: totals.manifest_files,
            size: plan.size,
            excluded,
            proof,
            checked_only: true,
            delta: plan.meta.delta.clone(),
            parts: None,
        }
    }
}

/// Every image's graph read (and, with signatures on, what is attached to it), before a
/// layer moves; an image that cannot be read stops the bundle, naming where it is used.
async fn resolve_images(
    opts: &BundleOptions,
    images: &mut super::Images,
    excluded: &mut Vec<Excluded>,
    registries: &Registries,
    engine: &Engine,
    reporter: &Arc<dyn Reporter>,
) -> Result<Vec<PulledImage>> {
    let resolving = super::resolve::resolve_all(
        &images.list,
        &opts.mirrors,
        registries,
        engine,
        opts.signatures,
    );
    let resolved = super::while_waiting(reporter.as_ref(), "manifests", resolving).await?;
    super::copy::adopt_attached(
        images,
        resolved.iter().filter_map(|r| r.attached.clone()),
        reporter.as_ref(),
        opts.require_signed,
    )?;
    // An artifact attached to a kept image may still be left out by name.
    let kept: BTreeSet<Reference> = excluding(
        images,
        &images.list,
        &opts.exclude,
        excluded,
        reporter.as_ref(),
    )
    .into_iter()
    .collect();
    let mut pulled = Vec::new();
    let mut failed = Vec::new();
    for r in resolved.into_iter().filter(|r| kept.contains(&r.source)) {
        match r.graph {
            Ok(graph) => pulled.push(PulledImage::new(r.source, r.pull_from, graph)),
            Err(e) => failed.push((r.source, r.pull_from, e)),
        }
    }
    if !failed.is_empty() {
        return Err(BundleError::Unavailable {
            integrity: failed.iter().any(|(_, _, e)| e.is_integrity()),
            problems: unavailable(&failed, images),
        }
        .into());
    }
    pulled.sort_by(|a, b| a.source.cmp(&b.source));
    pulled.dedup_by(|a, b| a.source == b.source);
    Ok(pulled)
}

/// Each image that could not be read, named with where the manifests use it; images of a
/// registry that could not be reached at all are said together on one line, once.
fn unavailable(
    failed: &[(Reference, Reference, ferry_oci::graph::GraphError)],
    images: &super::Images,
) -> Vec<String> {
    use ferry_oci::graph::GraphError;
    use ferry_oci::registry::RegistryError;
    let mut unreachable: BTreeMap<&str, (Vec<String>, String)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (source, from, e) in failed {
        if let GraphError::Registry(RegistryError::Transport { .. }) = e {
            let entry = unreachable
                .entry(from.registry())
                .or_insert_with(|| (Vec::new(), ferry_core::error::chain(e)));
            entry.0.push(source.to_string());
            continue;
        }
        let why = ferry_core::error::chain(e);
        problems.push(format!(
            "{source} (named at {}): {why}",
            images.origin_of(source)
        ));
    }
    for (host, (named, why)) in &unreachable {
        problems.push(format!(
            "{host} cannot be reached ({}: {}): {why} (a mirror inside the network: \
             --source-mirror {host}=REGISTRY; a proxy: HTTPS_PROXY)",
            ferry_core::text::counted(named.len(), "image"),
            named.join(", ")
        ));
    }
    problems
}

/// What the completeness proof may find the manifests naming: the images pulled, by their
/// digests, and those left out on purpose.
fn held<'a>(pulled: &[PulledImage], excluded: &'a [Excluded]) -> super::proof::Held<'a> {
    super::proof::Held {
        images: pulled
            .iter()
            .map(|i| {
                let image = super::proof::HeldImage {
                    digest: i.digest().clone(),
                    source_digest: i.graph.source_digest.clone(),
                };
                (i.source.to_string(), image)
            })
            .collect(),
        excluded: excluded.iter().map(|e| e.reference.as_str()).collect(),
    }
}

/// What each attached artifact belongs to, as `ferry.json` records it.
fn attachments(images: &super::Images) -> BTreeMap<String, ferry_oci::bundle::Attachment> {
    images
        .attached
        .iter()
        .map(|(r, a)| {
            let a = ferry_oci::bundle::Attachment {
                image: a.of.to_string(),
                kind: a.kind.clone(),
                subject: a.subject.clone(),
            };
            (r.to_string(), a)
        })
        .collect()
}

/// What the cache already holds is hashed again (it may have changed on disk since): a blob
/// that does not match is removed and fetched like a missing one.
fn heal_cache(pulled: &[PulledImage], cache: &BlobCache, reporter: &dyn Reporter) -> Result<()> {
    let mut seen = BTreeSet::new();
    for d in pulled.iter().flat_map(|i| i.graph.blobs.iter()) {
        if seen.insert(d.digest.clone())
            && cache.has(&d.digest, d.size)
            && !cache.check(&d.digest, d.size).map_err(BundleError::from)?
        {
            reporter.warning(&format!(
                "cached {} did not match its digest: removed, fetched again",
                d.digest
            ));
        }
    }
    Ok(())
}

/// Refuses early, before any layer is downloaded, when the cache's or the output's
/// filesystem is too small; the bytes to download.
fn check_space(
    opts: &BundleOptions,
    pulled: &[PulledImage],
    cache: &BlobCache,
    plan: &write::Plan,
) -> Result<u64> {
    let mut seen = BTreeSet::new();
    let missing: u64 = pulled
        .iter()
        .flat_map(|i| i.graph.blobs.iter())
        .filter(|d| seen.insert(d.digest.clone()) && !cache.has(&d.digest, d.size))
        .map(|d| d.size)
        .sum();
    write::check_space(&opts.cache_dir, missing)?;
    let out_dir = match opts.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    write::check_space(&out_dir, plan.size)?;
    Ok(missing)
}

/// Those of `list` no `--exclude` pattern matches; each one left out is said and recorded.
fn excluding(
    images: &super::Images,
    list: &[Reference],
    patterns: &[String],
    excluded: &mut Vec<Excluded>,
    reporter: &dyn Reporter,
) -> Vec<Reference> {
    let mut kept = Vec::new();
    for r in list {
        let name = r.to_string();
        if excluded.iter().any(|e| e.reference == name) {
            continue;
        }
        match patterns.iter().find(|p| super::glob_match(p, &name)) {
            Some(pattern) => {
                reporter.info(&format!(
                    "{name} ({}) left out: --exclude {pattern}",
                    images.origin_of(r)
                ));
                excluded.push(Excluded {
                    reference: name,
                    pattern: pattern.clone(),
                    named_at: images.origin_of(r).to_string(),
                });
            }
            None => kept.push(r.clone()),
        }
    }
    kept
}

/// The versions of the renderers that made the loaded inputs' rendered files.
fn renderer_versions(
    loaded: &super::Loaded,
    render: &ferry_scan::render::RenderOptions,
) -> write::RendererVersions {
    use ferry_scan::render::Origin;
    let mut versions = write::RendererVersions::default();
    for source in &loaded.sources {
        match &source.origin {
            Origin::Rendered { .. } if versions.kustomize.is_none() => {
                versions.kustomize = render
                    .kustomize
                    .engine()
                    .ok()
                    .flatten()
                    .and_then(|e| e.version());
            }
            Origin::Chart { chart, .. } if versions.helm.is_none() => {
                versions.helm = render.helm.engine(chart).ok().and_then(|h| h.version());
            }
            _ => {}
        }
    }
    versions
}

/// Each chart among the inputs as an OCI chart, with where its output is in the bundle and
/// how it was rendered; the values files it was rendered with join `manifests` under
/// `values/NAME/`.
fn chart_artifacts(
    loaded: &super::Loaded,
    rules: &ferry_scan::scan::UserRules,
    manifests: &mut Vec<write::ManifestFile>,
) -> Result<Vec<ferry_oci::bundle::chart::ChartArtifact>> {
    let mut out = Vec::new();
    for source in &loaded.sources {
        // Each chart with the options it was rendered with (a release spec's input has
        // its own).
        let ferry_scan::render::Origin::Chart {
            chart,
            command,
            helm: used,
        } = &source.origin
        else {
            continue;
        };
        let helm = used.engine(chart)?;
        let output = manifests
            .iter()
            .find(|m| m.rendered.as_ref().is_some_and(|r| &r.by == command))
            .map(|m| m.name.clone());
        let images: std::collections::BTreeSet<String> =
            ferry_scan::scan::scan_text(&source.label, &source.text, rules)?
                .hits
                .into_iter()
                .filter(|h| !h.output)
                .map(|h| h.reference.to_string())
                .collect();
        let mut values = Vec::new();
        for (i, file) in used.values.iter().enumerate() {
            let name = format!(
                "values/{}/{}-{}",
                chart.meta.name,
                i + 1,
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "values.yaml".into())
            );
            values.push(name.clone());
            manifests.push(write::ManifestFile {
                name,
                content: write::Content::File(file.clone()),
                rendered: None,
            });
        }
        let h = used;
        let recorded = ferry_oci::bundle::chart::ChartRender {
            release_name: chart.release_name(h),
            namespace: h.namespace.clone(),
            values,
            set: h.set.clone(),
            set_string: h.set_string.clone(),
            kube_version: h.kube_version.clone(),
            api_versions: h.api_versions.clone(),
        };
        let mut artifact = ferry_oci::bundle::chart::package(
            chart,
            &helm,
            output,
            images.into_iter().collect(),
            recorded,
        )?;
        // A pulled chart keeps its registry name, placed by the layout as images are.
        if let Some(name) = chart
            .shown
            .as_deref()
            .and_then(|s| s.strip_prefix("oci://"))
        {
            artifact.meta.source = name.to_string();
        }
        out.push(artifact);
    }
    Ok(out)
}
