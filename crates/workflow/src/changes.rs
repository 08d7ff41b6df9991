//! A file as a rewrite leaves it: what `rewrite` makes and `rerender` proves.

use std::path::PathBuf;

/// One file, before and after.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// Where it was read (a bundle's files as `BUNDLE:manifests/...`).
    pub label: String,
    pub path: PathBuf,
    /// Its path under the output root.
    pub relative: PathBuf,
    pub before: String,
    pub after: String,
}
