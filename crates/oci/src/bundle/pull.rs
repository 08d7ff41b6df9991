//! Pulls images into the blob cache for a bundle through the image-graph walker, their
//! graphs read already (manifests only, so totals and free space are known before a layer
//! moves): only what the cache lacks is downloaded.

use super::BundleError;
use super::ends::CacheSink;
use crate::graph::{CopyReport, Engine, Graph, Repository, Tally};
use crate::registry::Registries;
use ferry_core::digest::Digest;
use ferry_core::reference::Reference;
use futures_util::StreamExt;

/// Reads the graph `reference` names and lets `wanted` look at it before a layer moves
/// (false: not what the caller reads, `None`; an error refuses it), then puts every blob
/// into a cache at `cache_dir`: an artifact read whole (a chart, a catalog image), each
/// byte verified on the way.
pub async fn whole(
    reference: &Reference,
    registries: &Registries,
    cache_dir: &std::path::Path,
    wanted: impl FnOnce(&Graph) -> Result<bool, BundleError>,
) -> Result<Option<(Graph, super::cache::BlobCache)>, BundleError> {
    let engine = Engine::new(crate::graph::CopyOptions::default());
    let repo = Repository::of(registries, reference)?;
    let graph = engine
        .resolve(
            &repo,
            &crate::graph::Root::of(reference),
            &reference.to_string(),
        )
        .await?;
    if !wanted(&graph)? {
        return Ok(None);
    }
    let cache = super::cache::BlobCache::open(cache_dir)?;
    let sink = CacheSink::new(cache.clone());
    engine
        .put(0, &repo, &graph, &sink, None, &Tally::default())
        .await?;
    Ok(Some((graph, cache)))
}

/// One image as it will sit in the bundle.
#[derive(Debug, Clone)]
pub struct PulledImage {
    pub source: Reference,
    /// Where it was pulled from (differs from `source` under a source mirror).
    pub pull_from: Reference,
    pub graph: Graph,
    /// Every blob of the image, manifests included, with sizes.
    pub blobs: Vec<(Digest, u64)>,
    /// Bytes of all of them.
    pub size: u64,
}

impl PulledImage {
    pub fn new(source: Reference, pull_from: Reference, graph: Graph) -> Self {
        let blobs = graph.all_blobs();
        PulledImage {
            source,
            pull_from,
            size: blobs.iter().map(|(_, s)| s).sum(),
            blobs,
            graph,
        }
    }

    /// The root manifest in the bundle (a new digest when platforms were filtered).
    pub fn digest(&self) -> &Digest {
        &self.graph.root.digest
    }
}

/// The engine and registries images are pulled with.
pub struct Pulling<'a> {
    pub engine: &'a Engine,
    pub registries: &'a Registries,
}

impl Pulling<'_> {
    /// Puts every image into the cache (image `i` of `images` reports progress as `i`);
    /// `on_done` hears of each image as it is complete (or failed).
    pub async fn fetch_all(
        &self,
        images: &[PulledImage],
        cache: &CacheSink,
        on_done: impl Fn(usize, &CopyReport),
    ) -> Result<(), BundleError> {
        let on_done = &on_done;
        self.engine
            .expect(images.iter().map(|i| i.graph.blob_bytes()).sum());
        // As many images at once as blobs move at once, largest first (as a copy orders
        // them): an image waiting for its turn has no progress to show, and none is drawn.
        let mut order: Vec<_> = images.iter().enumerate().collect();
        order.sort_by_key(|(_, img)| std::cmp::Reverse(img.graph.blob_bytes()));
        let puts = order.into_iter().map(|(i, img)| async move {
            let tally = Tally::default();
            let put = async {
                let repo = Repository::of(self.registries, &img.pull_from)?;
                self.engine
                    .put(i, &repo, &img.graph, cache, None, &tally)
                    .await
            }
            .await;
            let mut report = CopyReport {
                source: img.source.to_string(),
                // A bundle's images have no target name.
                target: String::new(),
                digest: Some(img.graph.root.digest.clone()),
                source_digest: img.graph.source_digest.clone(),
                platforms: img.graph.platforms.clone(),
                ..Default::default()
            };
            tally.fill(&mut report);
            if let Err(e) = &put {
                report.integrity_failure = e.is_integrity();
                report.error = Some(ferry_core::error::chain(e));
            }
            on_done(i, &report);
            put.map(|_| ()).map_err(BundleError::from)
        });
        let results: Vec<Result<(), BundleError>> = futures_util::stream::iter(puts)
            .buffer_unordered(self.engine.options().jobs.max(1))
            .collect()
            .await;
        results.into_iter().collect()
    }
}
