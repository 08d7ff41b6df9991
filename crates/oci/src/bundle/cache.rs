//! The blob cache: content-addressed files (`sha256/<hex>`), each written under a temporary
//! name and renamed only after its size and digest were verified, so whatever the cache
//! holds is complete; an interrupted run leaves only temporaries, swept on the next open.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::graph::Verified;
use ferry_core::digest::Digest;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Integrity(String),
    #[error(
        "the cache {0} is in use by a running bundle: nothing removed (try again when it ends)"
    )]
    InUse(String),
}

impl CacheError {
    /// What kind of failure this is.
    pub fn category(&self) -> ferry_core::error::Category {
        use ferry_core::error::{Category, io_category};
        match self {
            CacheError::Io { source, .. } => io_category(source, Category::Internal),
            CacheError::Integrity(_) => Category::Integrity,
            CacheError::InUse(_) => Category::Internal,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[derive(Debug, Clone)]
pub struct BlobCache {
    dir: PathBuf,
    /// A shared lock on `DIR/lock` for as long as the cache is open: `prune` takes it
    /// exclusively, so it never removes a blob a running bundle is about to write.
    _in_use: std::sync::Arc<std::fs::File>,
}

/// What a cache holds, or what a prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub blobs: u64,
    pub bytes: u64,
}

fn lock_file(dir: &Path) -> Result<std::fs::File, CacheError> {
    let path = dir.join("lock");
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))
}

/// Blobs in a cache directory and their bytes (temporaries of running writes left out).
pub fn usage(dir: &Path) -> Result<Usage, CacheError> {
    let mut u = Usage::default();
    for (_, meta) in blobs(dir)? {
        u.blobs += 1;
        u.bytes += meta.len();
    }
    Ok(u)
}

/// Removes the cached blobs last used (fetched, or checked by a bundle) more than
/// `older_than` ago, or all of them; refused while a bundle has the cache open.
pub fn prune(dir: &Path, older_than: Option<std::time::Duration>) -> Result<Usage, CacheError> {
    let lock = lock_file(dir)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(CacheError::InUse(dir.display().to_string()));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(&dir.join("lock"))(e)),
    }
    let now = std::time::SystemTime::now();
    let mut removed = Usage::default();
    for (path, meta) in blobs(dir)? {
        let old = match older_than {
            None => true,
            Some(d) => meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > d),
        };
        if old {
            std::fs::remove_file(&path).map_err(io(&path))?;
            removed.blobs += 1;
            removed.bytes += meta.len();
        }
    }
    Ok(removed)
}

fn blobs(dir: &Path) -> Result<Vec<(PathBuf, std::fs::Metadata)>, CacheError> {
    let blobs = dir.join("blobs/sha256");
    let entries = match std::fs::read_dir(&blobs) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&blobs)(e)),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        let meta = e.metadata().map_err(io(&e.path()))?;
        if meta.is_file() {
            out.push((e.path(), meta));
        }
    }
    Ok(out)
}

/// `$XDG_CACHE_HOME/ferry` or `~/.cache/ferry`.
pub fn default_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("ferry")
}

impl BlobCache {
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).map_err(io(&blobs))?;
        // Temporaries of interrupted runs are never valid blobs: sweep those of processes
        // that no longer run. A live one may be another run sharing this cache (CI jobs do).
        if let Ok(entries) = std::fs::read_dir(&blobs) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(".tmp-") && !owner_alive(&name) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let lock = lock_file(dir)?;
        lock.lock_shared().map_err(io(&dir.join("lock")))?;
        Ok(BlobCache {
            dir: dir.to_path_buf(),
            _in_use: std::sync::Arc::new(lock),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs/sha256").join(digest.hex())
    }

    /// True when the blob is cached with the expected size.
    pub fn has(&self, digest: &Digest, size: u64) -> bool {
        std::fs::metadata(self.path(digest)).is_ok_and(|m| m.len() == size)
    }

    /// Hashes a cached blob: true when its bytes match its digest and size. One that does
    /// not (a flipped bit on disk) is removed, so it is fetched again.
    pub fn check(&self, digest: &Digest, size: u64) -> Result<bool, CacheError> {
        let p = self.path(digest);
        let mut f = std::fs::File::open(&p).map_err(io(&p))?;
        let verdict = ferry_core::digest::Verifier::new(digest.clone(), Some(size))
            .read_all(&mut f, None)
            .map_err(io(&p))?;
        if verdict.is_err() {
            std::fs::remove_file(&p).map_err(io(&p))?;
        } else {
            // Its time is its last use: what `cache prune --older-than` goes by.
            let _ = f.set_modified(std::time::SystemTime::now());
        }
        Ok(verdict.is_ok())
    }

    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, CacheError> {
        let p = self.path(digest);
        std::fs::read(&p).map_err(io(&p))
    }

    /// Stores bytes already in memory (manifests), verifying them.
    pub fn put_bytes(&self, digest: &Digest, bytes: &[u8]) -> Result<(), CacheError> {
        if Digest::of(bytes) != *digest {
            return Err(CacheError::Integrity(format!(
                "bytes for {digest} hash to {}",
                Digest::of(bytes)
            )));
        }
        let path = self.path(digest);
        let tmp = self.temp_path(digest);
        std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }

    /// `.tmp-HEX-PID-ThreadId(N)`: the PID says whose it is.
    fn temp_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs/sha256").join(format!(
            ".tmp-{}-{}-{:?}",
            digest.hex(),
            std::process::id(),
            std::thread::current().id()
        ))
    }

    /// Streams a blob into the cache from a [`Verified`] stream, which fails before its last
    /// byte on a mismatch; the blob becomes visible only when the stream ended cleanly with
    /// every expected byte.
    pub async fn put_verified(
        &self,
        digest: &Digest,
        size: u64,
        mut stream: Verified,
    ) -> Result<(), CacheError> {
        let tmp = self.temp_path(digest);
        let result = async {
            let mut file = tokio::fs::File::create(&tmp).await.map_err(io(&tmp))?;
            let mut written = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(io(&tmp))?;
                file.write_all(&chunk).await.map_err(io(&tmp))?;
                written += chunk.len() as u64;
            }
            file.flush().await.map_err(io(&tmp))?;
            if written != size {
                return Err(CacheError::Integrity(format!(
                    "{digest}: {written} bytes arrived, {size} expected"
                )));
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                let path = self.path(digest);
                tokio::fs::rename(&tmp, &path).await.map_err(io(&path))
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }
}

/// Whether the process that named this temporary still runs; where /proc cannot tell, it
/// is assumed to, and the file is left alone.
fn owner_alive(temp_name: &str) -> bool {
    let pid = temp_name
        .strip_prefix(".tmp-")
        .and_then(|rest| rest.split('-').nth(1))
        .and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) if Path::new("/proc/self").exists() => {
            Path::new("/proc").join(pid.to_string()).exists()
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn temporaries_of_live_processes_are_kept() {
        let me = std::process::id();
        assert!(super::owner_alive(&format!(".tmp-ab12-{me}-ThreadId(3)")));
        // PIDs above the kernel's limit (2^22) never run.
        assert!(!super::owner_alive(".tmp-ab12-99999999-ThreadId(1)"));
        assert!(super::owner_alive(".tmp-garbage"));
    }
}
