//! The image-graph walker, ferry's one copy engine. [`Engine::resolve`] reads an image's
//! graph from a [`Source`] (index, nested indexes, manifests, configs and layers), applying
//! the platform filter to the root index; [`Engine::put`] writes it into a [`Sink`]: blobs
//! first (once per run and store, `jobs` at a time, streamed and verified, a failed transfer
//! retried whole), then child manifests deepest first, then the root under its name, so a
//! failed put never leaves a name pointing at an incomplete image.
//!
//! Registries ([`Repository`]) are sources and sinks; the bundle module adds its archive as
//! a source and its blob cache as a sink.

pub mod attached;
mod copy;
mod ends;
pub mod referrers;
mod registry;
mod stream;

pub use copy::{CopyJob, CopyReport};
pub use ends::{Sink, Source};
pub use registry::Repository;
pub use stream::{BoxError, ByteStream, Verified};

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{OnceCell, Semaphore};

use crate::registry::{Fetched, RegistryError, RetryPolicy};
use ferry_core::digest::{Digest, Verifier};
use ferry_core::error::Category;
use ferry_core::manifest::{self, Descriptor, ManifestError, Parsed, PlatformFilter};
use ferry_core::observe::{Observer, Silent};
use ferry_core::reference::Reference;
use stream::{Broken, Progress};

/// Indexes inside indexes are followed this deep.
pub const MAX_DEPTH: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{location}")]
    Manifest {
        location: String,
        #[source]
        source: ManifestError,
    },
    #[error("{image}: no manifest matches --platform")]
    NoPlatform { image: String },
    #[error("{image}: indexes nested more than {MAX_DEPTH} deep")]
    TooDeep { image: String },
    /// Bytes from a remote source that do not match their digest (a retry may heal it).
    #[error("integrity: {0}")]
    Integrity(String),
    /// Bytes in a local store that do not match their digest: they will not change.
    #[error("integrity: {location}: {message}")]
    StoredIntegrity { location: String, message: String },
    /// Reading a blob from its source failed midway.
    #[error("reading blob {digest} from {location}")]
    Read {
        location: String,
        digest: Digest,
        remote: bool,
        #[source]
        source: BoxError,
    },
    /// A local store (archive, cache) failed; its own error is the source, and what kind
    /// of failure it is, the store says.
    #[error("{location}")]
    Store {
        location: String,
        category: Category,
        #[source]
        source: BoxError,
    },
}

impl GraphError {
    pub fn is_integrity(&self) -> bool {
        match self {
            GraphError::Integrity(_) | GraphError::StoredIntegrity { .. } => true,
            GraphError::Registry(e) => e.is_integrity(),
            _ => false,
        }
    }

    /// Worth trying again: the registry's transient failures, remote bytes that did not verify.
    pub fn is_transient(&self) -> bool {
        match self {
            GraphError::Registry(e) => e.is_transient(),
            GraphError::Integrity(_) | GraphError::Read { remote: true, .. } => true,
            _ => false,
        }
    }

    /// What kind of failure this is (the edge maps it to an exit code).
    pub fn category(&self) -> Category {
        use ferry_core::error::Category;
        match self {
            _ if self.is_integrity() => Category::Integrity,
            GraphError::Registry(e) => e.category(),
            GraphError::Manifest { .. }
            | GraphError::NoPlatform { .. }
            | GraphError::TooDeep { .. } => Category::InvalidInput,
            GraphError::Read { remote: true, .. } => Category::Registry,
            GraphError::Store { category, .. } => *category,
            _ => Category::Internal,
        }
    }
}

/// Where a walk starts: a tag or digest, and what is known of it beforehand.
#[derive(Debug, Clone)]
pub struct Root {
    pub reference: String,
    pub media_type: Option<String>,
    /// The digest the root must have.
    pub digest: Option<Digest>,
    /// Copied whole, whatever `--platform` says: an artifact (a signature, a referrers
    /// index) is named by its digest, which a filtered copy would change.
    pub whole: bool,
}

impl Root {
    /// A reference's digest if it has one, else its tag (`latest` when it names neither).
    pub fn of(r: &Reference) -> Root {
        Root {
            reference: r.manifest_ref().to_string(),
            media_type: None,
            digest: r.digest().and_then(|d| d.parse().ok()),
            whole: false,
        }
    }

    /// A manifest known by its descriptor (an archive's `index.json` entry).
    pub fn descriptor(d: &Descriptor) -> Root {
        Root {
            reference: d.digest.to_string(),
            media_type: Some(d.media_type.clone()),
            digest: Some(d.digest.clone()),
            whole: false,
        }
    }
}

/// A manifest or index with its exact bytes.
#[derive(Debug, Clone)]
pub struct Node {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Bytes,
}

/// One image's graph as it will be written.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The root as written: the source's, or a new index when platforms were filtered out.
    pub root: Node,
    /// The source's root digest, when filtering changed it.
    pub source_digest: Option<Digest>,
    /// `os/arch[/variant]` of the root index's kept children.
    pub platforms: Vec<String>,
    /// Child manifests and indexes, each once, deepest first (the order they are written in).
    pub manifests: Vec<Node>,
    /// Configs and layers, each once.
    pub blobs: Vec<Descriptor>,
}

impl Graph {
    /// Bytes of its configs and layers: what copying it moves, manifests aside.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|d| d.size).sum()
    }

    /// Every blob of the image with its size, manifests included, each once.
    pub fn all_blobs(&self) -> Vec<(Digest, u64)> {
        let nodes = std::iter::once(&self.root).chain(&self.manifests);
        let set: BTreeSet<(Digest, u64)> = nodes
            .map(|n| (n.digest.clone(), n.bytes.len() as u64))
            .chain(self.blobs.iter().map(|d| (d.digest.clone(), d.size)))
            .collect();
        set.into_iter().collect()
    }
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

/// How a blob came to be in the sink.
enum Placed {
    Transferred(u64),
    Mounted(u64),
    Present(u64),
}

/// Bytes and blobs one put moved or found in place.
#[derive(Debug, Default)]
pub struct Tally {
    pub bytes_copied: AtomicU64,
    pub bytes_skipped: AtomicU64,
    pub blobs_copied: AtomicU64,
    pub blobs_mounted: AtomicU64,
    pub blobs_skipped: AtomicU64,
}

impl Tally {
    fn add(&self, p: &Placed) {
        let (bytes, blobs, n) = match *p {
            Placed::Transferred(n) => (&self.bytes_copied, &self.blobs_copied, n),
            Placed::Mounted(n) => (&self.bytes_skipped, &self.blobs_mounted, n),
            Placed::Present(n) => (&self.bytes_skipped, &self.blobs_skipped, n),
        };
        bytes.fetch_add(n, Ordering::Relaxed);
        blobs.fetch_add(1, Ordering::Relaxed);
    }

    /// Copies the counts into a report.
    pub fn fill(&self, report: &mut CopyReport) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        report.bytes_copied = get(&self.bytes_copied);
        report.bytes_skipped = get(&self.bytes_skipped);
        report.blobs_copied = get(&self.blobs_copied);
        report.blobs_mounted = get(&self.blobs_mounted);
        report.blobs_skipped = get(&self.blobs_skipped);
    }
}

/// The place of a store that first received a blob this run.
type Home = Arc<OnceCell<String>>;

/// Walks image graphs; blobs shared between images move once per run and store.
pub struct Engine {
    options: CopyOptions,
    transfers: Semaphore,
    homes: Mutex<HashMap<(String, Digest), Home>>,
    observer: Arc<dyn Observer>,
}

fn manifest_error(location: String) -> impl FnOnce(ManifestError) -> GraphError {
    move |source| GraphError::Manifest { location, source }
}

impl Engine {
    pub fn new(options: CopyOptions) -> Self {
        Engine {
            transfers: Semaphore::new(options.jobs.max(1)),
            options,
            homes: Mutex::default(),
            observer: Arc::new(Silent),
        }
    }

    /// Tells the observer the bytes a run of resolved images will account for.
    pub fn expect(&self, bytes: u64) {
        self.observer.expect(bytes);
    }

    /// Reports bytes to `observer` as they move (images are numbered by the caller).
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    pub fn options(&self) -> &CopyOptions {
        &self.options
    }

    /// Reads the graph of the image at `root` (`image` names it in messages).
    pub async fn resolve<S: Source>(
        &self,
        src: &S,
        root: &Root,
        image: &str,
    ) -> Result<Graph, GraphError> {
        let fetched = self.read_root(src, root, image).await?;
        self.resolve_from(src, root, fetched, image).await
    }

    /// Reads the manifest at `root`, checked against its digest when one is known: the first
    /// step of [`Engine::resolve`], for a caller that looks at the root before the rest.
    pub async fn read_root<S: Source>(
        &self,
        src: &S,
        root: &Root,
        image: &str,
    ) -> Result<Fetched, GraphError> {
        let fetched = src
            .manifest(&root.reference, root.media_type.as_deref())
            .await?;
        if let Some(want) = &root.digest
            && *want != fetched.digest
        {
            return Err(GraphError::Integrity(format!(
                "{image}: got manifest {}",
                fetched.digest
            )));
        }
        Ok(fetched)
    }

    /// Reads the rest of the graph under a root read by [`Engine::read_root`].
    pub async fn resolve_from<S: Source>(
        &self,
        src: &S,
        root: &Root,
        fetched: Fetched,
        image: &str,
    ) -> Result<Graph, GraphError> {
        let (media_type, parsed) = manifest::parse(
            &fetched.bytes,
            fetched.media_type.as_deref().or(root.media_type.as_deref()),
        )
        .map_err(manifest_error(src.label()))?;
        let mut graph = Graph {
            root: Node {
                digest: fetched.digest.clone(),
                media_type,
                bytes: fetched.bytes.clone(),
            },
            source_digest: None,
            platforms: Vec::new(),
            manifests: Vec::new(),
            blobs: Vec::new(),
        };
        let mut pending: Vec<(Descriptor, usize)> = Vec::new();
        match parsed {
            Parsed::Image { config, layers } => {
                graph.blobs.extend(std::iter::once(config).chain(layers));
            }
            Parsed::Index { manifests } if root.whole => {
                pending.extend(manifests.into_iter().map(|d| (d, 1)));
            }
            Parsed::Index { manifests } => {
                let selected = self
                    .options
                    .platforms
                    .select(&fetched.bytes, &manifests)
                    .map_err(manifest_error(src.label()))?
                    .ok_or_else(|| GraphError::NoPlatform {
                        image: image.to_string(),
                    })?;
                graph.platforms = selected.platforms;
                if selected.bytes != fetched.bytes {
                    graph.source_digest = Some(fetched.digest.clone());
                    graph.root.digest = Digest::of(&selected.bytes);
                    graph.root.bytes = selected.bytes;
                }
                pending.extend(selected.kept.into_iter().map(|d| (d, 1)));
            }
        }
        let mut nodes: Vec<(Node, usize)> = Vec::new();
        let mut seen = BTreeSet::new();
        while let Some((desc, depth)) = pending.pop() {
            if !seen.insert(desc.digest.clone()) {
                continue;
            }
            if depth > MAX_DEPTH {
                return Err(GraphError::TooDeep {
                    image: image.to_string(),
                });
            }
            let m = src
                .manifest(desc.digest.as_str(), Some(&desc.media_type))
                .await?;
            if m.digest != desc.digest {
                return Err(GraphError::Integrity(format!(
                    "{image}: {} holds {}",
                    desc.digest, m.digest
                )));
            }
            let (media_type, parsed) =
                manifest::parse(&m.bytes, m.media_type.as_deref().or(Some(&desc.media_type)))
                    .map_err(manifest_error(format!("{}@{}", src.label(), desc.digest)))?;
            match parsed {
                Parsed::Image { config, layers } => {
                    graph.blobs.extend(std::iter::once(config).chain(layers));
                }
                Parsed::Index { manifests } => {
                    pending.extend(manifests.into_iter().map(|d| (d, depth + 1)));
                }
            }
            nodes.push((
                Node {
                    digest: m.digest,
                    media_type,
                    bytes: m.bytes,
                },
                depth,
            ));
        }
        // Deepest first: an index is written only after every manifest it names.
        nodes.sort_by_key(|(_, depth)| std::cmp::Reverse(*depth));
        graph.manifests = nodes.into_iter().map(|(n, _)| n).collect();
        let mut unique = BTreeSet::new();
        graph.blobs.retain(|d| unique.insert(d.digest.clone()));
        Ok(graph)
    }

    /// Writes `graph` into `sink`, its root under `name` (a tag; `None`: by digest). True when
    /// the sink already had exactly this image under that name (nothing was written).
    pub async fn put<S: Source, K: Sink>(
        &self,
        image: usize,
        src: &S,
        graph: &Graph,
        sink: &K,
        name: Option<&str>,
        tally: &Tally,
    ) -> Result<bool, GraphError> {
        let name = name.map_or_else(|| graph.root.digest.to_string(), str::to_string);
        if sink.manifest_digest(&name).await? == Some(graph.root.digest.clone()) {
            self.observer.settled(image, graph.blob_bytes());
            return Ok(true);
        }
        self.observer.add_total(image, graph.blob_bytes());
        let blobs = graph.blobs.iter().map(|d| async move {
            let placed = self.place(image, src, sink, d).await?;
            if let Placed::Mounted(n) | Placed::Present(n) = placed {
                self.observer.advance(image, n);
            }
            tally.add(&placed);
            Ok::<(), GraphError>(())
        });
        futures_util::future::join_all(blobs)
            .await
            .into_iter()
            .collect::<Result<(), GraphError>>()?;
        for m in &graph.manifests {
            sink.put_manifest(m.digest.as_str(), &m.bytes, &m.media_type)
                .await?;
        }
        // The name goes last: only a complete image is ever reachable by it.
        sink.put_manifest(&name, &graph.root.bytes, &graph.root.media_type)
            .await?;
        Ok(false)
    }

    /// Makes one blob present in the sink, moving its bytes at most once per run and store.
    async fn place<S: Source, K: Sink>(
        &self,
        image: usize,
        src: &S,
        sink: &K,
        desc: &Descriptor,
    ) -> Result<Placed, GraphError> {
        let home: Home = {
            // Plain map of cells: a panic elsewhere cannot leave it inconsistent.
            let mut homes = self.homes.lock().unwrap_or_else(|e| e.into_inner());
            homes
                .entry((sink.store().to_string(), desc.digest.clone()))
                .or_default()
                .clone()
        };
        let mut first = None;
        let home_place = home
            .get_or_try_init(|| async {
                first = Some(self.place_once(image, src, sink, desc, None).await?);
                Ok::<_, GraphError>(sink.place().to_string())
            })
            .await?;
        if let Some(placed) = first {
            return Ok(placed);
        }
        if home_place == sink.place() {
            return Ok(Placed::Present(desc.size));
        }
        self.place_once(image, src, sink, desc, Some(home_place))
            .await
    }

    /// Already there, mounted from `mount_from`, or transferred.
    async fn place_once<S: Source, K: Sink>(
        &self,
        image: usize,
        src: &S,
        sink: &K,
        desc: &Descriptor,
        mount_from: Option<&str>,
    ) -> Result<Placed, GraphError> {
        // The semaphore is never closed, so acquiring cannot fail; a failure would be a bug
        // worth reporting rather than hiding.
        let _permit = self
            .transfers
            .acquire()
            .await
            .map_err(|e| GraphError::Store {
                location: "transfer queue".into(),
                category: Category::Internal,
                source: Box::new(e),
            })?;
        // A blob of a few KB (a config, a signature) costs a registry about as much to take
        // again as to be asked about: only bigger ones are asked about there. Whether the
        // image is there at all was asked once already (its manifest).
        let ask = desc.size > SMALL_BLOB
            || !sink.asking_is_remote()
            || mount_from.is_some()
            || !src.holds(desc);
        if ask && sink.has_blob(desc).await? {
            return Ok(Placed::Present(desc.size));
        }
        if let Some(from) = mount_from
            && sink.mount(desc, from).await?
        {
            return Ok(Placed::Mounted(desc.size));
        }
        let n = self
            .options
            .retry
            .again(
                || async {
                    let progress = Progress::new(self.observer.clone(), image);
                    let sent = progress.sent();
                    let result = transfer(src, sink, desc, progress).await;
                    if result.is_err() {
                        self.observer.rewind(image, sent.load(Ordering::Relaxed));
                    }
                    result
                },
                GraphError::is_transient,
            )
            .await?;
        Ok(Placed::Transferred(n))
    }
}

/// Blobs up to this size are sent to a registry without asking whether it has them.
const SMALL_BLOB: u64 = 32 << 10;

/// Streams one blob from `src` into `sink`, checking size and digest of every byte.
async fn transfer<S: Source, K: Sink>(
    src: &S,
    sink: &K,
    desc: &Descriptor,
    progress: Progress,
) -> Result<u64, GraphError> {
    let inner = src.blob(desc).await?;
    let verdict = Arc::new(Mutex::new(None));
    let body = Verified::new(
        inner,
        Verifier::new(desc.digest.clone(), Some(desc.size)),
        verdict.clone(),
        progress,
    );
    let stored = sink.put_blob(desc, body).await;
    // A verification failure aborts the body; report it as what it is.
    let failure = verdict.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (failure, stored) {
        (Some(Err(Broken::Read(source))), _) => Err(GraphError::Read {
            location: src.label(),
            digest: desc.digest.clone(),
            remote: !src.is_local(),
            source,
        }),
        (Some(Err(Broken::Mismatch(m))), _) if src.is_local() => Err(GraphError::StoredIntegrity {
            location: src.label(),
            message: format!("blob {}: {m}", desc.digest),
        }),
        (Some(Err(Broken::Mismatch(m))), _) => Err(GraphError::Integrity(format!(
            "blob {} from {}: {m}",
            desc.digest,
            src.label()
        ))),
        (_, Err(e)) => Err(e),
        (_, Ok(())) => Ok(desc.size),
    }
}

#[cfg(test)]
mod tests;
