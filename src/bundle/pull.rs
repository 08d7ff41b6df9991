//! Pulls image graphs into the blob cache for a bundle: manifests and blobs, each verified,
//! shared blobs fetched once per run, only what the cache lacks downloaded.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{OnceCell, Semaphore};

use super::BundleError;
use super::cache::BlobCache;
use crate::digest::Digest;
use crate::manifest::{self, Descriptor, Parsed, PlatformFilter};
use crate::progress::Observer;
use crate::reference::Reference;
use crate::registry::{Registries, RegistryError, RetryPolicy};
use crate::target::{Layout, Target};

/// One image as it will sit in the bundle.
#[derive(Debug, Clone)]
pub struct PulledImage {
    pub source: Reference,
    /// Where it was pulled from (differs from `source` under a source mirror).
    pub pull_from: Reference,
    /// The root manifest in the bundle (a new digest when platforms were filtered).
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    pub platforms: Vec<String>,
    /// Every blob of the image, manifests included, with sizes.
    pub blobs: Vec<(Digest, u64)>,
    /// Configs and layers still to fetch into the cache.
    pub contents: Vec<Descriptor>,
}

pub struct Puller {
    registries: Arc<Registries>,
    cache: BlobCache,
    platforms: PlatformFilter,
    transfers: Semaphore,
    retry: RetryPolicy,
    inflight: Mutex<HashMap<Digest, Arc<OnceCell<()>>>>,
    mirrors: BTreeMap<String, Target>,
}

fn manifest_err(host: &str) -> impl FnOnce(manifest::ManifestError) -> RegistryError + '_ {
    move |source| RegistryError::Manifest {
        host: host.to_string(),
        source,
    }
}

impl Puller {
    pub fn new(
        registries: Arc<Registries>,
        cache: BlobCache,
        platforms: PlatformFilter,
        jobs: usize,
    ) -> Self {
        Puller {
            registries,
            cache,
            platforms,
            transfers: Semaphore::new(jobs.max(1)),
            retry: RetryPolicy::default(),
            inflight: Mutex::default(),
            mirrors: BTreeMap::new(),
        }
    }

    /// Pulls each host's images from its mirror (`HOST` → `REGISTRY[/PREFIX]`).
    pub fn with_mirrors(mut self, mirrors: BTreeMap<String, Target>) -> Self {
        self.mirrors = mirrors;
        self
    }

    /// Fetches and caches every image's manifests, listing the blobs they need; the first
    /// failure fails the whole bundle (it is all or nothing).
    pub async fn resolve_all(&self, images: &[Reference]) -> Result<Vec<PulledImage>, BundleError> {
        let results = futures_util::future::join_all(images.iter().map(|r| self.resolve(r))).await;
        results.into_iter().collect()
    }

    /// Fetches every config and layer the cache lacks.
    /// Each blob is counted once, for the first image that needs it (`observer` gets the
    /// images' byte totals first, then progress as bytes arrive).
    pub async fn fetch_all(
        &self,
        images: &[PulledImage],
        observer: &dyn Observer,
    ) -> Result<(), BundleError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut tasks = Vec::new();
        for (i, img) in images.iter().enumerate() {
            for d in &img.contents {
                if seen.insert(d.digest.clone()) && !self.cache.has(&d.digest, d.size) {
                    observer.add_total(i, d.size);
                    tasks.push(self.fetch_blob(&img.pull_from, d, observer, i));
                }
            }
        }
        let results = futures_util::future::join_all(tasks).await;
        results.into_iter().collect()
    }

    async fn resolve(&self, source: &Reference) -> Result<PulledImage, BundleError> {
        let pull_from = match self.mirrors.get(source.registry()) {
            Some(m) => m
                .map(source, Layout::Path)
                .map_err(|e| BundleError::Invalid(e.to_string()))?,
            None => source.clone(),
        };
        let reg = self.registries.get(pull_from.registry())?;
        let repo = pull_from.repository();
        let reference = source.digest().or(source.tag()).unwrap_or("latest");
        let root = reg.get_manifest(repo, reference).await?;
        let (media_type, parsed) = manifest::parse(&root.bytes, root.media_type.as_deref())
            .map_err(manifest_err(reg.host()))?;
        let mut blobs: Vec<(Digest, u64)> = Vec::new();
        let mut contents: Vec<Descriptor> = Vec::new();
        let mut platforms = Vec::new();
        let (root_bytes, images): (Bytes, Vec<(Descriptor, Option<Bytes>)>) = match parsed {
            Parsed::Index { manifests } => {
                let selected = self
                    .platforms
                    .select(&root.bytes, &manifests)
                    .map_err(manifest_err(reg.host()))?
                    .ok_or_else(|| {
                        BundleError::Invalid(format!("{source}: no manifest matches --platform"))
                    })?;
                platforms = selected.platforms;
                (
                    selected.bytes,
                    selected.kept.into_iter().map(|d| (d, None)).collect(),
                )
            }
            Parsed::Image { .. } => {
                let d = Descriptor {
                    media_type: media_type.clone(),
                    digest: root.digest.clone(),
                    size: root.bytes.len() as u64,
                    platform: None,
                };
                (root.bytes.clone(), vec![(d, Some(root.bytes.clone()))])
            }
        };
        let digest = Digest::of(&root_bytes);
        self.cache.put_bytes(&digest, &root_bytes)?;
        blobs.push((digest.clone(), root_bytes.len() as u64));
        for (desc, known) in images {
            let bytes = match known {
                Some(b) => b,
                None => {
                    let m = reg.get_manifest(repo, desc.digest.as_str()).await?;
                    self.cache.put_bytes(&desc.digest, &m.bytes)?;
                    blobs.push((desc.digest.clone(), m.bytes.len() as u64));
                    m.bytes
                }
            };
            let (_, parsed) = manifest::parse(&bytes, Some(&desc.media_type))
                .map_err(manifest_err(reg.host()))?;
            let Parsed::Image { config, layers } = parsed else {
                return Err(BundleError::Invalid(format!(
                    "{source}: nested index {} is not supported",
                    desc.digest
                )));
            };
            blobs.extend(
                std::iter::once(&config)
                    .chain(&layers)
                    .map(|d| (d.digest.clone(), d.size)),
            );
            contents.extend(std::iter::once(config).chain(layers));
        }
        blobs.sort();
        blobs.dedup();
        Ok(PulledImage {
            source: source.clone(),
            pull_from,
            size: blobs.iter().map(|(_, s)| s).sum(),
            digest,
            media_type,
            platforms,
            blobs,
            contents,
        })
    }

    /// `from` is where the image is pulled from (its source mirror, if any).
    async fn fetch_blob(
        &self,
        from: &Reference,
        d: &Descriptor,
        observer: &dyn Observer,
        image: usize,
    ) -> Result<(), BundleError> {
        let cell = {
            // Plain map of cells: a panic elsewhere cannot leave it inconsistent.
            let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            inflight.entry(d.digest.clone()).or_default().clone()
        };
        cell.get_or_try_init(|| async {
            if self.cache.has(&d.digest, d.size) {
                return Ok(());
            }
            let reg = self.registries.get(from.registry())?;
            let _permit = self
                .transfers
                .acquire()
                .await
                .map_err(|e| BundleError::Invalid(e.to_string()))?;
            self.retry
                .again(
                    || async {
                        // A failed attempt takes back the bytes it reported.
                        let sent = std::cell::Cell::new(0u64);
                        let report = |n: u64| {
                            sent.set(sent.get() + n);
                            observer.advance(image, n);
                        };
                        let attempt = async {
                            let resp = reg.get_blob(from.repository(), &d.digest).await?;
                            self.cache
                                .put_stream(&d.digest, d.size, resp.bytes_stream(), &report)
                                .await?;
                            Ok::<(), BundleError>(())
                        };
                        let result = attempt.await;
                        if result.is_err() {
                            observer.rewind(image, sent.get());
                        }
                        result
                    },
                    BundleError::is_transient,
                )
                .await
        })
        .await
        .copied()
    }
}
