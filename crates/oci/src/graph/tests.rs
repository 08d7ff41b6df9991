//! The walker with in-memory ends: a source that serves manifests and blobs from maps (and
//! can cut a blob's first reads short), a sink that logs what it stores in order, and an
//! observer that records the bytes reported.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;

use super::*;
use crate::registry::Fetched;

const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

#[derive(Default)]
struct MemorySource {
    manifests: HashMap<String, (Bytes, String)>,
    blobs: HashMap<Digest, Bytes>,
    /// Blob reads asked for, by digest.
    reads: Mutex<HashMap<Digest, usize>>,
    /// Reads of this blob that send half its bytes and then fail, before one that works.
    cut: Option<(Digest, usize)>,
}

impl MemorySource {
    fn blob(&mut self, media_type: &str, bytes: &[u8]) -> Descriptor {
        let digest = Digest::of(bytes);
        self.blobs
            .insert(digest.clone(), Bytes::copy_from_slice(bytes));
        descriptor(media_type, &digest, bytes.len(), None)
    }

    fn manifest(&mut self, value: serde_json::Value, platform: Option<(&str, &str)>) -> Descriptor {
        let bytes = serde_json::to_vec(&value).unwrap();
        let media_type = value["mediaType"].as_str().unwrap().to_string();
        let digest = Digest::of(&bytes);
        self.manifests.insert(
            digest.to_string(),
            (Bytes::from(bytes.clone()), media_type.clone()),
        );
        descriptor(&media_type, &digest, bytes.len(), platform)
    }

    fn image(&mut self, layers: &[&[u8]], platform: Option<(&str, &str)>) -> Descriptor {
        // A config of its own for each image: its first layer's digest.
        let first = layers.first().map(|l| Digest::of(l).to_string());
        let config = self.blob(CONFIG, format!("{{\"of\":{first:?}}}").as_bytes());
        let layers: Vec<Descriptor> = layers.iter().map(|l| self.blob(LAYER, l)).collect();
        self.manifest(
            serde_json::json!({
                "schemaVersion": 2,
                "mediaType": manifest::OCI_MANIFEST,
                "config": json_of(&config),
                "layers": layers.iter().map(json_of).collect::<Vec<_>>(),
            }),
            platform,
        )
    }

    fn index(&mut self, children: &[Descriptor]) -> Descriptor {
        self.manifest(
            serde_json::json!({
                "schemaVersion": 2,
                "mediaType": manifest::OCI_INDEX,
                "manifests": children.iter().map(json_of).collect::<Vec<_>>(),
            }),
            None,
        )
    }

    fn tag(&mut self, name: &str, d: &Descriptor) {
        let m = self.manifests[d.digest.as_str()].clone();
        self.manifests.insert(name.to_string(), m);
    }

    fn reads_of(&self, d: &Digest) -> usize {
        self.reads.lock().unwrap().get(d).copied().unwrap_or(0)
    }
}

fn descriptor(
    media_type: &str,
    digest: &Digest,
    size: usize,
    platform: Option<(&str, &str)>,
) -> Descriptor {
    let mut v = serde_json::json!({"mediaType": media_type, "digest": digest, "size": size});
    if let Some((os, arch)) = platform {
        v["platform"] = serde_json::json!({"os": os, "architecture": arch});
    }
    serde_json::from_value(v).unwrap()
}

fn json_of(d: &Descriptor) -> serde_json::Value {
    let mut v = serde_json::json!({"mediaType": d.media_type, "digest": d.digest, "size": d.size});
    if let Some(p) = &d.platform {
        v["platform"] = serde_json::json!({"os": p.os, "architecture": p.architecture});
    }
    v
}

impl Source for MemorySource {
    fn label(&self) -> String {
        "memory".into()
    }

    async fn manifest(&self, reference: &str, _: Option<&str>) -> Result<Fetched, GraphError> {
        let (bytes, media_type) = self
            .manifests
            .get(reference)
            .cloned()
            .ok_or_else(|| GraphError::Integrity(format!("no manifest {reference}")))?;
        Ok(Fetched {
            digest: Digest::of(&bytes),
            bytes,
            media_type: Some(media_type),
        })
    }

    async fn blob(&self, desc: &Descriptor) -> Result<ByteStream, GraphError> {
        let n = {
            let mut reads = self.reads.lock().unwrap();
            let n = reads.entry(desc.digest.clone()).or_default();
            *n += 1;
            *n
        };
        let bytes = self.blobs[&desc.digest].clone();
        let chunks: Vec<Result<Bytes, BoxError>> = match &self.cut {
            Some((d, times)) if *d == desc.digest && n <= *times => vec![
                Ok(bytes.slice(..bytes.len() / 2)),
                Err("connection reset mid-body".into()),
            ],
            _ => vec![Ok(bytes)],
        };
        Ok(Box::pin(futures_util::stream::iter(chunks)))
    }
}

/// What the sink was asked to store, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stored {
    Blob(Digest),
    Manifest(String),
}

#[derive(Default)]
struct MemorySink {
    log: Mutex<Vec<Stored>>,
    blobs: Mutex<HashMap<Digest, Bytes>>,
}

impl Sink for MemorySink {
    fn store(&self) -> &str {
        "memory"
    }
    fn place(&self) -> &str {
        "repo"
    }
    fn label(&self) -> String {
        "memory/repo".into()
    }
    async fn manifest_digest(&self, _: &str) -> Result<Option<Digest>, GraphError> {
        Ok(None)
    }
    async fn has_blob(&self, desc: &Descriptor) -> Result<bool, GraphError> {
        Ok(self.blobs.lock().unwrap().contains_key(&desc.digest))
    }
    async fn put_blob(&self, desc: &Descriptor, mut body: Verified) -> Result<(), GraphError> {
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.map_err(|e| GraphError::Store {
                location: "memory".into(),
                category: Category::Internal,
                source: Box::new(e),
            })?);
        }
        self.blobs
            .lock()
            .unwrap()
            .insert(desc.digest.clone(), Bytes::from(bytes));
        self.log
            .lock()
            .unwrap()
            .push(Stored::Blob(desc.digest.clone()));
        Ok(())
    }
    async fn put_manifest(&self, reference: &str, _: &Bytes, _: &str) -> Result<(), GraphError> {
        self.log
            .lock()
            .unwrap()
            .push(Stored::Manifest(reference.to_string()));
        Ok(())
    }
}

#[derive(Default)]
struct Recorder {
    advanced: AtomicUsize,
    rewound: AtomicUsize,
}

impl Observer for Recorder {
    fn advance(&self, _: usize, bytes: u64) {
        self.advanced.fetch_add(bytes as usize, Ordering::Relaxed);
    }
    fn rewind(&self, _: usize, bytes: u64) {
        self.rewound.fetch_add(bytes as usize, Ordering::Relaxed);
    }
}

fn quick_retries(platforms: PlatformFilter) -> CopyOptions {
    CopyOptions {
        platforms,
        jobs: 4,
        retry: RetryPolicy {
            attempts: 3,
            base_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(2),
            notice: None,
        },
    }
}

fn root(tag: &str) -> Root {
    Root {
        reference: tag.into(),
        media_type: None,
        digest: None,
        whole: false,
    }
}

/// A blob two images share moves once per run and store; the second image finds it placed.
#[tokio::test]
async fn a_shared_blob_moves_once() {
    let mut src = MemorySource::default();
    let a = src.image(&[b"base layer", b"app a"], None);
    let b = src.image(&[b"base layer", b"app b"], None);
    src.tag("a", &a);
    src.tag("b", &b);
    let engine = Engine::new(quick_retries(PlatformFilter::All));
    let sink = MemorySink::default();
    for (i, tag) in ["a", "b"].iter().enumerate() {
        let graph = engine.resolve(&src, &root(tag), tag).await.unwrap();
        engine
            .put(i, &src, &graph, &sink, Some(tag), &Tally::default())
            .await
            .unwrap();
    }
    assert_eq!(src.reads_of(&Digest::of(b"base layer")), 1);
    assert_eq!(src.reads_of(&Digest::of(b"app a")), 1);
    let stored = sink.log.lock().unwrap().clone();
    let base = stored
        .iter()
        .filter(|s| **s == Stored::Blob(Digest::of(b"base layer")))
        .count();
    assert_eq!(base, 1, "{stored:?}");
}

/// Blobs first, then child manifests, then the root under its name: only a complete image
/// is ever reachable by name.
#[tokio::test]
async fn children_are_written_before_parents_and_the_name_last() {
    let mut src = MemorySource::default();
    let amd = src.image(&[b"amd64 layer"], Some(("linux", "amd64")));
    let arm = src.image(&[b"arm64 layer"], Some(("linux", "arm64")));
    let index = src.index(&[amd.clone(), arm.clone()]);
    src.tag("1.0", &index);
    let engine = Engine::new(quick_retries(PlatformFilter::All));
    let sink = MemorySink::default();
    let graph = engine.resolve(&src, &root("1.0"), "img").await.unwrap();
    assert_eq!(graph.root.digest, index.digest);
    engine
        .put(0, &src, &graph, &sink, Some("1.0"), &Tally::default())
        .await
        .unwrap();
    let log = sink.log.lock().unwrap().clone();
    let at = |s: &Stored| log.iter().position(|x| x == s).unwrap();
    let last_blob = log
        .iter()
        .rposition(|s| matches!(s, Stored::Blob(_)))
        .unwrap();
    for child in [&amd, &arm] {
        assert!(
            at(&Stored::Manifest(child.digest.to_string())) > last_blob,
            "{log:?}"
        );
    }
    assert_eq!(log.last(), Some(&Stored::Manifest("1.0".into())), "{log:?}");
    assert_eq!(
        log.len(),
        4 + 2 + 1,
        "two configs, two layers, two children, the name"
    );
}

/// A read cut mid-body is tried again; the bytes of the failed attempt are taken back, so
/// progress ends at exactly the blob's size, and the sink holds the whole, verified blob.
#[tokio::test]
async fn a_failed_attempt_is_rewound_and_retried() {
    let mut src = MemorySource::default();
    let layer = vec![7u8; 64 << 10];
    let image = src.image(&[&layer], None);
    src.tag("1", &image);
    src.cut = Some((Digest::of(&layer), 2));
    let recorder = Arc::new(Recorder::default());
    let engine = Engine::new(quick_retries(PlatformFilter::All)).with_observer(recorder.clone());
    let sink = MemorySink::default();
    let graph = engine.resolve(&src, &root("1"), "img").await.unwrap();
    engine
        .put(0, &src, &graph, &sink, Some("1"), &Tally::default())
        .await
        .unwrap();
    assert_eq!(
        src.reads_of(&Digest::of(&layer)),
        3,
        "two cut reads, then a whole one"
    );
    let rewound = recorder.rewound.load(Ordering::Relaxed);
    assert_eq!(rewound, 2 * (layer.len() / 2));
    let advanced = recorder.advanced.load(Ordering::Relaxed);
    assert_eq!(advanced - rewound, graph.blob_bytes() as usize);
    assert_eq!(
        sink.blobs.lock().unwrap()[&Digest::of(&layer)].len(),
        layer.len()
    );
}

/// A cut that never heals fails the image after the policy's tries, and nothing is named.
#[tokio::test]
async fn a_read_that_never_heals_fails_without_naming_the_image() {
    let mut src = MemorySource::default();
    let image = src.image(&[b"always cut"], None);
    src.tag("1", &image);
    src.cut = Some((Digest::of(b"always cut"), usize::MAX));
    let engine = Engine::new(quick_retries(PlatformFilter::All));
    let sink = MemorySink::default();
    let graph = engine.resolve(&src, &root("1"), "img").await.unwrap();
    let put = engine
        .put(0, &src, &graph, &sink, Some("1"), &Tally::default())
        .await;
    assert!(put.is_err());
    assert_eq!(src.reads_of(&Digest::of(b"always cut")), 3);
    assert!(
        !sink
            .log
            .lock()
            .unwrap()
            .contains(&Stored::Manifest("1".into())),
        "the name of an incomplete image"
    );
}

/// `--platform linux/amd64`: the graph holds that child only, under a new index whose
/// digest differs from the source's (kept as `source_digest`).
#[tokio::test]
async fn a_platform_view_keeps_its_children_under_a_new_index() {
    let mut src = MemorySource::default();
    let amd = src.image(&[b"amd64 only"], Some(("linux", "amd64")));
    let arm = src.image(&[b"arm64 only"], Some(("linux", "arm64")));
    let index = src.index(&[amd.clone(), arm]);
    src.tag("1", &index);
    let engine = Engine::new(quick_retries(PlatformFilter::Only(vec![
        "linux/amd64".into(),
    ])));
    let graph = engine.resolve(&src, &root("1"), "img").await.unwrap();
    assert_eq!(graph.platforms, ["linux/amd64"]);
    assert_eq!(graph.source_digest.as_ref(), Some(&index.digest));
    assert_ne!(graph.root.digest, index.digest);
    assert_eq!(graph.root.digest, Digest::of(&graph.root.bytes));
    let blobs: Vec<&Digest> = graph.blobs.iter().map(|d| &d.digest).collect();
    assert!(blobs.contains(&&Digest::of(b"amd64 only")));
    assert!(!blobs.contains(&&Digest::of(b"arm64 only")));
    assert_eq!(graph.manifests.len(), 1);
    assert_eq!(graph.manifests[0].digest, amd.digest);
}
