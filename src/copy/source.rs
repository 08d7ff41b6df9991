//! What the engine copies from: a registry repository or an OCI-layout archive (a bundle,
//! read in place by offset).

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;

use super::stream::ByteStream;
use crate::bundle::archive::Archive;
use crate::digest::Digest;
use crate::manifest::Descriptor;
use crate::registry::{Fetched, Registry, RegistryError};

/// Where a job's image comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// The registry and repository of the job's `pull_from`.
    Registry,
    /// An archive, starting at the root manifest `root`.
    Archive {
        archive: Arc<Archive>,
        root: Descriptor,
    },
}

pub(super) enum Src {
    Registry(Arc<Registry>, String),
    Archive(Arc<Archive>),
}

fn archive_error(archive: &Archive, e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Archive(format!("{}: {e}", archive.path.display()))
}

impl Src {
    pub fn label(&self) -> String {
        match self {
            Src::Registry(r, repo) => format!("{}/{repo}", r.host()),
            Src::Archive(a) => a.path.display().to_string(),
        }
    }

    /// A manifest by tag or digest; from an archive, by digest with the descriptor's type.
    pub async fn manifest(
        &self,
        reference: &str,
        media_type: Option<&str>,
    ) -> Result<Fetched, RegistryError> {
        match self {
            Src::Registry(r, repo) => r.get_manifest(repo, reference).await,
            Src::Archive(a) => {
                let digest: Digest = reference.parse().map_err(|e| archive_error(a, e))?;
                let (archive, d) = (a.clone(), digest.clone());
                let bytes = tokio::task::spawn_blocking(move || archive.read_blob(&d))
                    .await
                    .map_err(|e| archive_error(a, e))?
                    .map_err(|e| match e {
                        crate::bundle::BundleError::Integrity(m) => RegistryError::Integrity(m),
                        other => archive_error(a, other),
                    })?;
                Ok(Fetched {
                    bytes: Bytes::from(bytes),
                    media_type: media_type.map(str::to_string),
                    digest,
                })
            }
        }
    }

    /// The blob's bytes as a stream (verified by the caller).
    pub async fn blob(&self, d: &Descriptor) -> Result<ByteStream, RegistryError> {
        match self {
            Src::Registry(r, repo) => {
                let resp = r.get_blob(repo, &d.digest).await?;
                Ok(Box::pin(
                    resp.bytes_stream()
                        .map_err(|e| Box::new(e) as super::stream::BoxError),
                ))
            }
            Src::Archive(a) => {
                let entry = a
                    .blob(&d.digest)
                    .ok_or_else(|| archive_error(a, format!("blob {} is missing", d.digest)))?;
                if entry.size != d.size {
                    return Err(RegistryError::Integrity(format!(
                        "{}: blob {} has {} bytes, its descriptor says {}",
                        a.path.display(),
                        d.digest,
                        entry.size,
                        d.size
                    )));
                }
                let mut f = std::fs::File::open(&a.data).map_err(|e| archive_error(a, e))?;
                f.seek(SeekFrom::Start(entry.offset))
                    .map_err(|e| archive_error(a, e))?;
                Ok(file_chunks(f, entry.size))
            }
        }
    }
}

/// Chunks an archive's blob is read in: large, so that few reads hop to the blocking pool.
const CHUNK: u64 = 1 << 20;

/// `size` bytes from `file`'s position, read on the blocking pool straight into the chunks
/// that go on the wire (no intermediate buffer).
fn file_chunks(file: std::fs::File, size: u64) -> ByteStream {
    Box::pin(futures_util::stream::try_unfold(
        (file, size),
        |(mut file, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let want = left.min(CHUNK);
            let (file, chunk) = tokio::task::spawn_blocking(move || {
                // `want` is at most CHUNK, so it fits in usize.
                let mut chunk = Vec::with_capacity(want as usize);
                (&mut file).take(want).read_to_end(&mut chunk)?;
                Ok::<_, std::io::Error>((file, chunk))
            })
            .await
            .map_err(|e| Box::new(e) as super::stream::BoxError)??;
            if chunk.is_empty() {
                return Err(
                    Box::new(std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
                        as super::stream::BoxError,
                );
            }
            let n = chunk.len() as u64;
            Ok(Some((Bytes::from(chunk), (file, left - n))))
        },
    ))
}
