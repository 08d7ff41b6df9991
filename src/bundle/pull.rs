//! Pulls images into the blob cache for a bundle through the image-graph walker: every graph
//! is resolved first (manifests only, so totals and free space are known before a layer
//! moves), then put into the cache, only what it lacks downloaded.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use super::BundleError;
use super::ends::CacheSink;
use crate::digest::Digest;
use crate::graph::{CopyReport, Engine, Graph, Repository, Root, Tally};
use crate::reference::Reference;
use crate::registry::Registries;
use crate::target::{Layout, Target};

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
    /// The root manifest in the bundle (a new digest when platforms were filtered).
    pub fn digest(&self) -> &Digest {
        &self.graph.root.digest
    }
}

/// Where images are pulled from: registries, and per host a mirror to use instead.
pub struct Pulling<'a> {
    pub engine: &'a Engine,
    pub registries: &'a Registries,
    /// `HOST` → `REGISTRY[/PREFIX]`.
    pub mirrors: &'a BTreeMap<String, Target>,
}

impl Pulling<'_> {
    fn pull_from(&self, source: &Reference) -> Result<Reference, BundleError> {
        match self.mirrors.get(source.registry()) {
            Some(m) => m
                .map(source, Layout::Path)
                .map_err(|e| BundleError::Invalid(e.to_string())),
            None => Ok(source.clone()),
        }
    }

    /// Reads every image's graph, images in order; every image that cannot be read is
    /// returned with why (a bundle is all or nothing, and the vendor wants the whole list).
    pub async fn resolve_all(
        &self,
        images: &[Reference],
    ) -> Result<Vec<PulledImage>, Vec<(Reference, BundleError)>> {
        let jobs = self.engine.options().jobs.max(1);
        let results: Vec<_> = futures_util::stream::iter(
            images
                .iter()
                .map(|r| async move { (r, self.resolve(r).await) }),
        )
        .buffered(jobs)
        .collect()
        .await;
        let mut pulled = Vec::new();
        let mut failed = Vec::new();
        for (r, result) in results {
            match result {
                Ok(p) => pulled.push(p),
                Err(e) => failed.push((r.clone(), e)),
            }
        }
        if failed.is_empty() {
            Ok(pulled)
        } else {
            Err(failed)
        }
    }

    async fn resolve(&self, source: &Reference) -> Result<PulledImage, BundleError> {
        let pull_from = self.pull_from(source)?;
        let repo = Repository::of(self.registries, &pull_from)?;
        let graph = self
            .engine
            .resolve(&repo, &Root::of(&pull_from), &source.to_string())
            .await?;
        let blobs = graph.all_blobs();
        Ok(PulledImage {
            source: source.clone(),
            pull_from,
            size: blobs.iter().map(|(_, s)| s).sum(),
            blobs,
            graph,
        })
    }

    /// Puts every image into the cache (image `i` of `images` reports progress as `i`);
    /// `on_done` hears of each image as it is complete (or failed).
    pub async fn fetch_all(
        &self,
        images: &[PulledImage],
        cache: &CacheSink,
        on_done: impl Fn(usize, &CopyReport),
    ) -> Result<(), BundleError> {
        let on_done = &on_done;
        self.engine.expect(
            images
                .iter()
                .flat_map(|i| i.graph.blobs.iter().map(|d| d.size))
                .sum(),
        );
        let puts = images.iter().enumerate().map(|(i, img)| async move {
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
                report.error = Some(crate::exit::render(e));
            }
            on_done(i, &report);
            put.map(|_| ()).map_err(BundleError::from)
        });
        futures_util::future::join_all(puts)
            .await
            .into_iter()
            .collect()
    }
}
