//! Copying images into registries: one job per image, each reported on its own (a failed
//! image does not stop the others), at most `jobs` images and blob transfers at a time.

use futures_util::StreamExt;
use serde::Serialize;

use super::{Engine, Graph, GraphError, Repository, Root, Source, Tally};
use crate::registry::Registries;
use ferry_core::digest::Digest;
use ferry_core::reference::Reference;

/// One image to copy into a registry.
#[derive(Debug, Clone)]
pub struct CopyJob<S> {
    /// Where the image is read from (a registry repository, a bundle).
    pub from: S,
    pub root: Root,
    /// The reference as the user knows it (reported).
    pub source: Reference,
    pub target: Reference,
}

impl CopyJob<Repository> {
    /// An image read from a registry at `pull_from` (its name, or where a mirror keeps it).
    pub fn pull(
        registries: &Registries,
        pull_from: &Reference,
        source: Reference,
        target: Reference,
    ) -> Result<Self, GraphError> {
        Ok(CopyJob {
            from: Repository::of(registries, pull_from)?,
            root: Root::of(pull_from),
            source,
            target,
        })
    }
}

/// What happened to one image.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CopyReport {
    pub source: String,
    pub target: String,
    /// Digest of the manifest pushed (the source digest unless platforms were filtered).
    pub digest: Option<Digest>,
    /// The source's digest when a platform filter changed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_digest: Option<Digest>,
    pub platforms: Vec<String>,
    pub bytes_copied: u64,
    pub bytes_skipped: u64,
    pub blobs_copied: u64,
    pub blobs_mounted: u64,
    pub blobs_skipped: u64,
    /// The target already had this exact image under the tag.
    pub up_to_date: bool,
    /// What failed, with its causes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub integrity_failure: bool,
}

impl Engine {
    /// Copies every job; `on_done` hears of each image as it finishes. Every image's
    /// manifests are read first, so the run's size is known before a blob moves (progress
    /// has a true total) and an image that cannot be read fails before the others start.
    pub async fn copy_all<S: Source>(
        &self,
        registries: &Registries,
        jobs: &[CopyJob<S>],
        on_done: impl Fn(usize, &CopyReport),
    ) -> Vec<CopyReport> {
        let graphs = self.resolve_all(jobs).await;
        self.copy_resolved(registries, jobs, graphs, on_done).await
    }

    /// Every job's graph (`[i]` is job `i`'s), `jobs` images read at a time.
    pub async fn resolve_all<S: Source>(
        &self,
        jobs: &[CopyJob<S>],
    ) -> Vec<Result<Graph, GraphError>> {
        futures_util::stream::iter(jobs.iter().map(|job| async move {
            let label = job.source.to_string();
            self.resolve(&job.from, &job.root, &label).await
        }))
        .buffered(self.options.jobs.max(1))
        .collect()
        .await
    }

    /// Copies every job whose graph was read already (`graphs[i]` is job `i`'s; an image
    /// that could not be read is reported failed with why).
    pub async fn copy_resolved<S: Source>(
        &self,
        registries: &Registries,
        jobs: &[CopyJob<S>],
        graphs: Vec<Result<Graph, GraphError>>,
        on_done: impl Fn(usize, &CopyReport),
    ) -> Vec<CopyReport> {
        let at_once = self.options.jobs.max(1);
        self.observer
            .expect(graphs.iter().flatten().map(Graph::blob_bytes).sum());
        let mut order: Vec<_> = jobs.iter().zip(graphs).enumerate().collect();
        // Largest first: a small image (a signature) started early holds one of the `jobs`
        // places while it waits behind the large images' transfers; last, it fills a place
        // the tail leaves idle. One that could not be read weighs nothing: it fails at once.
        order.sort_by_key(|(_, (_, graph))| {
            std::cmp::Reverse(graph.as_ref().map_or(0, Graph::blob_bytes))
        });
        let mut pending =
            futures_util::stream::iter(order.into_iter().map(|(i, (job, graph))| async move {
                (i, self.copy(i, registries, job, graph).await)
            }))
            .buffer_unordered(at_once);
        let mut reports = Vec::with_capacity(jobs.len());
        while let Some((i, report)) = pending.next().await {
            on_done(i, &report);
            reports.push((i, report));
        }
        reports.sort_by_key(|(i, _)| *i);
        reports.into_iter().map(|(_, r)| r).collect()
    }

    /// Copies one resolved image (numbered `image` for progress), reporting what happened.
    async fn copy<S: Source>(
        &self,
        image: usize,
        registries: &Registries,
        job: &CopyJob<S>,
        graph: Result<Graph, GraphError>,
    ) -> CopyReport {
        let tally = Tally::default();
        let mut report = CopyReport {
            source: job.source.to_string(),
            target: job.target.to_string(),
            ..Default::default()
        };
        if let Err(e) = self
            .copy_into(image, registries, job, graph, &tally, &mut report)
            .await
        {
            report.integrity_failure = e.is_integrity();
            report.error = Some(ferry_core::error::chain(&e));
        }
        tally.fill(&mut report);
        report
    }

    async fn copy_into<S: Source>(
        &self,
        image: usize,
        registries: &Registries,
        job: &CopyJob<S>,
        graph: Result<Graph, GraphError>,
        tally: &Tally,
        report: &mut CopyReport,
    ) -> Result<(), GraphError> {
        let sink = Repository::of(registries, &job.target)?;
        let graph = graph?;
        report.digest = Some(graph.root.digest.clone());
        report.source_digest = graph.source_digest.clone();
        report.platforms = graph.platforms.clone();
        report.up_to_date = self
            .put(image, &job.from, &graph, &sink, job.target.tag(), tally)
            .await?;
        Ok(())
    }
}
