//! The copy engine: copies an image graph (index → manifests → config + layers) between
//! registries, digests unchanged, blobs streamed and verified, children before parents and
//! tags last, so a failed copy never leaves a tag pointing at an incomplete image.
//! Sources are registries or OCI-layout archives ([`Origin`]); targets are registries.

mod source;
mod stream;

pub use source::Origin;
use source::Src;
use stream::VerifyingStream;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::{OnceCell, Semaphore};

use crate::digest::{Digest, Verifier};
use crate::manifest::{self, Descriptor, Parsed, PlatformFilter};
use crate::progress::{Observer, Silent};
use crate::reference::Reference;
use crate::registry::{Registries, Registry, RegistryError, RetryPolicy};

/// Where an image comes from and goes to.
#[derive(Debug, Clone)]
pub struct CopyJob {
    /// Registry (at `pull_from`) or archive.
    pub origin: Origin,
    /// The reference as the user knows it (reported).
    pub source: Reference,
    /// Where to pull it from (differs from `source` with `--source-mirror`).
    pub pull_from: Reference,
    pub target: Reference,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub integrity_failure: bool,
}

#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub platforms: PlatformFilter,
    /// Blob transfers at once.
    pub jobs: usize,
    pub retry: RetryPolicy,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            platforms: PlatformFilter::All,
            jobs: 8,
            retry: RetryPolicy::default(),
        }
    }
}

/// Where a blob ended up the first time this run handled it: (target host, repository).
type BlobHome = Arc<OnceCell<(String, String)>>;

/// Copies images; blobs shared between images are transferred once per run.
pub struct Engine {
    registries: Arc<Registries>,
    options: CopyOptions,
    transfers: Arc<Semaphore>,
    homes: Mutex<HashMap<(String, Digest), BlobHome>>,
    observer: Arc<dyn Observer>,
}

enum BlobOutcome {
    Copied(u64),
    Mounted(u64),
    Present(u64),
}

#[derive(Default)]
struct Tally {
    bytes_copied: AtomicU64,
    bytes_skipped: AtomicU64,
    blobs_copied: AtomicU64,
    blobs_mounted: AtomicU64,
    blobs_skipped: AtomicU64,
}

impl Tally {
    fn add(&self, o: &BlobOutcome) {
        let (bytes, blobs, n) = match *o {
            BlobOutcome::Copied(n) => (&self.bytes_copied, &self.blobs_copied, n),
            BlobOutcome::Mounted(n) => (&self.bytes_skipped, &self.blobs_mounted, n),
            BlobOutcome::Present(n) => (&self.bytes_skipped, &self.blobs_skipped, n),
        };
        bytes.fetch_add(n, Ordering::Relaxed);
        blobs.fetch_add(1, Ordering::Relaxed);
    }
}

/// The manifest reference to push the root under: the tag, else the digest.
fn push_reference(target: &Reference, digest: &Digest) -> String {
    target
        .tag()
        .map_or_else(|| digest.to_string(), str::to_string)
}

fn source_reference(r: &Reference) -> String {
    r.digest().or(r.tag()).unwrap_or("latest").to_string()
}

impl Engine {
    pub fn new(registries: Arc<Registries>, options: CopyOptions) -> Self {
        let jobs = options.jobs.max(1);
        Engine {
            registries,
            options,
            transfers: Arc::new(Semaphore::new(jobs)),
            homes: Mutex::default(),
            observer: Arc::new(Silent),
        }
    }

    /// Reports bytes to `observer` as they move (images are numbered in job order).
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Copies every job, `jobs` blob transfers at a time; one failure does not stop the rest.
    pub async fn copy_all(
        &self,
        jobs: &[CopyJob],
        on_done: impl Fn(usize, &CopyReport),
    ) -> Vec<CopyReport> {
        let mut pending = futures_util::stream::iter(
            jobs.iter()
                .enumerate()
                .map(|(i, job)| async move { (i, self.copy_at(i, job).await) }),
        )
        .buffer_unordered(self.options.jobs.max(1));
        let mut reports = Vec::with_capacity(jobs.len());
        while let Some((i, report)) = pending.next().await {
            on_done(i, &report);
            reports.push((i, report));
        }
        reports.sort_by_key(|(i, _)| *i);
        reports.into_iter().map(|(_, r)| r).collect()
    }

    /// Copies one image and reports what happened (errors included in the report).
    pub async fn copy(&self, job: &CopyJob) -> CopyReport {
        self.copy_at(0, job).await
    }

    async fn copy_at(&self, image: usize, job: &CopyJob) -> CopyReport {
        let tally = Tally::default();
        let mut report = CopyReport {
            source: job.source.to_string(),
            target: job.target.to_string(),
            ..Default::default()
        };
        if let Err(e) = self.copy_image(image, job, &tally, &mut report).await {
            report.integrity_failure = e.is_integrity();
            report.error = Some(e.to_string());
        }
        report.bytes_copied = tally.bytes_copied.load(Ordering::Relaxed);
        report.bytes_skipped = tally.bytes_skipped.load(Ordering::Relaxed);
        report.blobs_copied = tally.blobs_copied.load(Ordering::Relaxed);
        report.blobs_mounted = tally.blobs_mounted.load(Ordering::Relaxed);
        report.blobs_skipped = tally.blobs_skipped.load(Ordering::Relaxed);
        report
    }

    async fn copy_image(
        &self,
        image: usize,
        job: &CopyJob,
        tally: &Tally,
        report: &mut CopyReport,
    ) -> Result<(), RegistryError> {
        let src = match &job.origin {
            Origin::Registry => Src::Registry(
                self.registries.get(job.pull_from.registry())?,
                job.pull_from.repository().to_string(),
            ),
            Origin::Archive { archive, .. } => Src::Archive(archive.clone()),
        };
        let dst = self.registries.get(job.target.registry())?;
        let dst_repo = job.target.repository();
        let root = match &job.origin {
            Origin::Registry => {
                src.manifest(&source_reference(&job.pull_from), None)
                    .await?
            }
            Origin::Archive { root, .. } => {
                src.manifest(root.digest.as_str(), Some(&root.media_type))
                    .await?
            }
        };
        if let Some(d) = job.pull_from.digest()
            && d != root.digest.as_str()
            && matches!(job.origin, Origin::Registry)
        {
            return Err(RegistryError::Integrity(format!(
                "{}: got manifest {}",
                job.pull_from, root.digest
            )));
        }
        let (media_type, parsed) = manifest::parse(&root.bytes, root.media_type.as_deref())
            .map_err(|source| RegistryError::Manifest {
                host: src.label(),
                source,
            })?;
        let (bytes, children) = match &parsed {
            Parsed::Index { manifests } => {
                let selected = self
                    .options
                    .platforms
                    .select(&root.bytes, manifests)
                    .map_err(|source| RegistryError::Manifest {
                        host: src.label(),
                        source,
                    })?
                    .ok_or_else(|| {
                        RegistryError::Config(format!(
                            "{}: no manifest matches --platform",
                            job.source
                        ))
                    })?;
                report.platforms = selected.platforms;
                (selected.bytes, selected.kept)
            }
            Parsed::Image { .. } => (root.bytes.clone(), Vec::new()),
        };
        let digest = Digest::of(&bytes);
        if digest != root.digest {
            report.source_digest = Some(root.digest.clone());
        }
        report.digest = Some(digest.clone());
        let push_ref = push_reference(&job.target, &digest);
        if dst.head_manifest(dst_repo, &push_ref).await? == Some(digest.clone()) {
            report.up_to_date = true;
            return Ok(());
        }
        match parsed {
            Parsed::Image { config, layers } => {
                self.copy_blobs(
                    image,
                    &src,
                    &dst,
                    dst_repo,
                    std::iter::once(&config).chain(&layers),
                    tally,
                )
                .await?;
            }
            Parsed::Index { .. } => {
                for child in &children {
                    let m = src
                        .manifest(child.digest.as_str(), Some(&child.media_type))
                        .await?;
                    let (child_type, child_parsed) = manifest::parse(
                        &m.bytes,
                        m.media_type.as_deref().or(Some(&child.media_type)),
                    )
                    .map_err(|source| RegistryError::Manifest {
                        host: src.label(),
                        source,
                    })?;
                    let Parsed::Image { config, layers } = child_parsed else {
                        return Err(RegistryError::Config(format!(
                            "{}: nested index {} is not supported",
                            job.source, child.digest
                        )));
                    };
                    self.copy_blobs(
                        image,
                        &src,
                        &dst,
                        dst_repo,
                        std::iter::once(&config).chain(&layers),
                        tally,
                    )
                    .await?;
                    dst.put_manifest(dst_repo, child.digest.as_str(), &m.bytes, &child_type)
                        .await?;
                }
            }
        }
        // The tag goes last: only a complete image is ever reachable by name.
        dst.put_manifest(dst_repo, &push_ref, &bytes, &media_type)
            .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn copy_blobs<'a>(
        &self,
        image: usize,
        src: &Src,
        dst: &Arc<Registry>,
        dst_repo: &str,
        blobs: impl Iterator<Item = &'a Descriptor>,
        tally: &Tally,
    ) -> Result<(), RegistryError> {
        let blobs: Vec<&Descriptor> = blobs.collect();
        self.observer
            .add_total(image, blobs.iter().map(|d| d.size).sum());
        let tasks = blobs.into_iter().map(|d| async move {
            let outcome = self.copy_blob(image, src, dst, dst_repo, d).await?;
            if let BlobOutcome::Mounted(n) | BlobOutcome::Present(n) = outcome {
                self.observer.advance(image, n);
            }
            tally.add(&outcome);
            Ok::<(), RegistryError>(())
        });
        let results = futures_util::future::join_all(tasks).await;
        results.into_iter().collect()
    }

    async fn copy_blob(
        &self,
        image: usize,
        src: &Src,
        dst: &Arc<Registry>,
        dst_repo: &str,
        desc: &Descriptor,
    ) -> Result<BlobOutcome, RegistryError> {
        let home: BlobHome = {
            // Plain map of cells: a panic elsewhere cannot leave it inconsistent.
            let mut homes = self.homes.lock().unwrap_or_else(|e| e.into_inner());
            homes
                .entry((dst.host().to_string(), desc.digest.clone()))
                .or_default()
                .clone()
        };
        let mut first = None;
        let (_, home_repo) = home
            .get_or_try_init(|| async {
                let outcome = self
                    .place_blob(image, src, dst, dst_repo, desc, None)
                    .await?;
                first = Some(outcome);
                Ok::<_, RegistryError>((dst.host().to_string(), dst_repo.to_string()))
            })
            .await?;
        if let Some(outcome) = first {
            return Ok(outcome);
        }
        if home_repo == dst_repo {
            return Ok(BlobOutcome::Present(desc.size));
        }
        self.place_blob(image, src, dst, dst_repo, desc, Some(home_repo))
            .await
    }

    /// Makes `desc` present in `dst_repo`: already there, mounted from `mount_from`, or copied.
    #[allow(clippy::too_many_arguments)]
    async fn place_blob(
        &self,
        image: usize,
        src: &Src,
        dst: &Registry,
        dst_repo: &str,
        desc: &Descriptor,
        mount_from: Option<&str>,
    ) -> Result<BlobOutcome, RegistryError> {
        let _permit = self
            .transfers
            .acquire()
            .await
            .map_err(|e| RegistryError::Config(e.to_string()))?;
        if dst.blob_size(dst_repo, &desc.digest).await?.is_some() {
            return Ok(BlobOutcome::Present(desc.size));
        }
        if let Some(from) = mount_from
            && dst.mount_blob(dst_repo, from, &desc.digest).await?
        {
            return Ok(BlobOutcome::Mounted(desc.size));
        }
        let n = self
            .options
            .retry
            .again(
                || async {
                    let progress = Progress::new(self.observer.clone(), image);
                    let sent = progress.sent.clone();
                    let result = transfer(src, dst, dst_repo, desc, progress).await;
                    if result.is_err() {
                        self.observer.rewind(image, sent.load(Ordering::Relaxed));
                    }
                    result
                },
                RegistryError::is_transient,
            )
            .await?;
        Ok(BlobOutcome::Copied(n))
    }
}

/// Where one transfer attempt reports its bytes, keeping count so that a failed attempt can
/// take them back.
pub(crate) struct Progress {
    observer: Arc<dyn Observer>,
    image: usize,
    sent: Arc<AtomicU64>,
}

impl Progress {
    fn new(observer: Arc<dyn Observer>, image: usize) -> Progress {
        Progress {
            observer,
            image,
            sent: Arc::default(),
        }
    }

    pub(crate) fn advance(&self, bytes: u64) {
        self.sent.fetch_add(bytes, Ordering::Relaxed);
        self.observer.advance(self.image, bytes);
    }
}

/// Streams one blob from `src` to `dst`, checking size and digest of every byte on the way.
async fn transfer(
    src: &Src,
    dst: &Registry,
    dst_repo: &str,
    desc: &Descriptor,
    progress: Progress,
) -> Result<u64, RegistryError> {
    let inner = src.blob(desc).await?;
    let verdict = Arc::new(Mutex::new(None));
    let stream = VerifyingStream {
        inner,
        verifier: Some(Verifier::new(desc.digest.clone(), Some(desc.size))),
        verdict: verdict.clone(),
        progress,
    };
    let pushed = dst
        .push_blob(
            dst_repo,
            &desc.digest,
            desc.size,
            reqwest::Body::wrap_stream(stream),
        )
        .await;
    // A verification failure aborts the upload body; report it as what it is.
    let failure = verdict.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (failure, pushed) {
        (Some(Err(m)), _) => Err(RegistryError::Integrity(format!(
            "blob {} from {}: {m}",
            desc.digest,
            src.label()
        ))),
        (_, Err(e)) => Err(e),
        (_, Ok(())) => Ok(desc.size),
    }
}
