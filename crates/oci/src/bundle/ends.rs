//! The bundle's ends of the image-graph walker: an archive is a [`Source`] (blobs read from
//! the tar by offset), the blob cache a [`Sink`].

use std::sync::Arc;

use bytes::Bytes;

use super::BundleError;
use super::archive::{Archive, EntryReader};
use super::cache::BlobCache;
use crate::graph::{BoxError, ByteStream, GraphError, Sink, Source, Verified};
use crate::registry::Fetched;
use ferry_core::digest::Digest;
use ferry_core::manifest::Descriptor;

/// An archive as a source; cheap to clone.
#[derive(Debug, Clone)]
pub struct ArchiveSource(pub Arc<Archive>);

impl ArchiveSource {
    fn error(&self, e: impl Into<BoxError>) -> GraphError {
        let source = e.into();
        match source.downcast::<BundleError>() {
            Ok(b) => match *b {
                BundleError::Integrity(message) => GraphError::StoredIntegrity {
                    location: self.label(),
                    message,
                },
                other => GraphError::Store {
                    location: self.label(),
                    category: other.category(),
                    source: Box::new(other),
                },
            },
            Err(source) => GraphError::Store {
                location: self.label(),
                category: ferry_core::error::Category::Internal,
                source,
            },
        }
    }
}

impl Source for ArchiveSource {
    fn label(&self) -> String {
        self.0.path.display().to_string()
    }

    fn is_local(&self) -> bool {
        true
    }

    async fn manifest(
        &self,
        reference: &str,
        media_type: Option<&str>,
    ) -> Result<Fetched, GraphError> {
        let digest: Digest = reference.parse().map_err(|e| self.error(e))?;
        let (archive, d) = (self.0.clone(), digest.clone());
        let bytes = tokio::task::spawn_blocking(move || archive.read_blob(&d))
            .await
            .map_err(|e| self.error(e))?
            .map_err(|e| self.error(e))?;
        Ok(Fetched {
            bytes: Bytes::from(bytes),
            media_type: media_type.map(str::to_string),
            digest,
        })
    }

    fn holds(&self, d: &Descriptor) -> bool {
        self.0.blob(&d.digest).is_some()
    }

    async fn blob(&self, d: &Descriptor) -> Result<ByteStream, GraphError> {
        let a = &self.0;
        let entry = a.blob(&d.digest).ok_or_else(|| {
            self.error(BundleError::Invalid(format!(
                "blob {} is missing",
                d.digest
            )))
        })?;
        if entry.size != d.size {
            return Err(GraphError::StoredIntegrity {
                location: self.label(),
                message: format!(
                    "blob {} has {} bytes, its descriptor says {}",
                    d.digest, entry.size, d.size
                ),
            });
        }
        let reader = a.open_at(entry).map_err(|e| self.error(e))?;
        Ok(file_chunks(reader, entry.size))
    }
}

/// Chunks an archive's blob is read in: large, so that few reads hop to the blocking pool.
const CHUNK: u64 = 1 << 20;

/// `size` bytes of an entry, read on the blocking pool straight into the chunks that go on
/// the wire (no intermediate buffer).
fn file_chunks(file: EntryReader, size: u64) -> ByteStream {
    Box::pin(futures_util::stream::try_unfold(
        (file, size),
        |(mut file, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let want = left.min(CHUNK);
            let (file, chunk) = tokio::task::spawn_blocking(move || {
                // `want` is at most CHUNK, so it fits in usize.
                let chunk = file.next_chunk(want as usize)?;
                Ok::<_, std::io::Error>((file, chunk))
            })
            .await
            .map_err(|e| Box::new(e) as BoxError)??;
            if chunk.is_empty() {
                return Err(
                    Box::new(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)) as BoxError,
                );
            }
            let n = chunk.len() as u64;
            Ok(Some((Bytes::from(chunk), (file, left - n))))
        },
    ))
}

/// The blob cache as a sink: one place, no names (a bundle names images in its index).
#[derive(Debug, Clone)]
pub struct CacheSink {
    cache: BlobCache,
    label: String,
}

impl CacheSink {
    pub fn new(cache: BlobCache) -> Self {
        let label = cache.dir().display().to_string();
        CacheSink { cache, label }
    }

    fn error(&self, e: super::cache::CacheError) -> GraphError {
        match e {
            super::cache::CacheError::Integrity(message) => GraphError::StoredIntegrity {
                location: self.label.clone(),
                message,
            },
            other => GraphError::Store {
                location: self.label.clone(),
                category: other.category(),
                source: Box::new(other),
            },
        }
    }
}

impl Sink for CacheSink {
    fn store(&self) -> &str {
        &self.label
    }

    fn place(&self) -> &str {
        ""
    }

    fn label(&self) -> String {
        self.label.clone()
    }

    /// The cache holds no names, and a cached root says nothing of its blobs (each is checked).
    async fn manifest_digest(&self, _reference: &str) -> Result<Option<Digest>, GraphError> {
        Ok(None)
    }

    async fn has_blob(&self, desc: &Descriptor) -> Result<bool, GraphError> {
        Ok(self.cache.has(&desc.digest, desc.size))
    }

    async fn put_blob(&self, desc: &Descriptor, body: Verified) -> Result<(), GraphError> {
        self.cache
            .put_verified(&desc.digest, desc.size, body)
            .await
            .map_err(|e| self.error(e))
    }

    async fn put_manifest(
        &self,
        _reference: &str,
        bytes: &Bytes,
        _media_type: &str,
    ) -> Result<(), GraphError> {
        self.cache
            .put_bytes(&Digest::of(bytes), bytes)
            .map_err(|e| self.error(e))
    }
}
