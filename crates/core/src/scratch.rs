//! Scratch space, in one place: where work files go ([`dir`]), and directories of ferry's
//! own there that remove themselves with everything in them ([`ScratchDir`]), for the
//! product and its tests alike.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where work files go (a compressed bundle's plain copy, a chart pulled or extracted for a
/// render, install's manifests when the bundle's directory is read-only): `$TMPDIR`, else
/// `/var/tmp` (big files do not belong in a RAM-backed /tmp), as skopeo and podman choose.
pub fn dir() -> PathBuf {
    match std::env::var_os("TMPDIR") {
        Some(d) if !d.is_empty() => d.into(),
        _ if Path::new("/var/tmp").is_dir() => "/var/tmp".into(),
        _ => std::env::temp_dir(),
    }
}

/// A directory of its own, `ferry-PURPOSE-PID-N`, removed with its contents when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// A new, empty directory under [`dir`].
    pub fn new(purpose: &str) -> std::io::Result<ScratchDir> {
        ScratchDir::under(&dir(), purpose)
    }

    /// A new, empty directory under `base`.
    pub fn under(base: &Path, purpose: &str) -> std::io::Result<ScratchDir> {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("ferry-{purpose}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(ScratchDir { path })
    }

    /// For a unit test: under the system's temporary directory, named by the test.
    pub fn for_test(test: &str) -> ScratchDir {
        ScratchDir::under(&std::env::temp_dir(), &format!("test-{test}"))
            .expect("a scratch directory for a test")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::ops::Deref for ScratchDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for ScratchDir {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_dir_is_its_own_and_goes_with_its_contents() {
        let a = ScratchDir::for_test("scratch");
        let b = ScratchDir::for_test("scratch");
        assert_ne!(a.path(), b.path());
        std::fs::create_dir_all(a.join("deep/er")).unwrap();
        std::fs::write(a.join("deep/er/file"), b"x").unwrap();
        let gone = a.path().to_path_buf();
        drop(a);
        assert!(!gone.exists());
        assert!(b.is_dir());
    }
}
