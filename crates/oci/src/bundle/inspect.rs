//! What `inspect` shows of an archive, read from its listing and small files only: the
//! archive's `ferry.json` (when it is a ferry bundle), the images its `index.json` names as
//! push will push them, and what the listing checks found.

use std::path::Path;

use serde::Serialize;

use super::archive::{Archive, Named};
use super::{BundleError, Meta};

/// An archive's contents, as `inspect` reports them.
#[derive(Debug, Serialize)]
pub struct Contents {
    pub bundle: String,
    /// `ferry.json`; none for an OCI layout archive that is not a ferry bundle.
    pub ferry: Option<Meta>,
    pub index: Vec<IndexEntry>,
    /// Files in the archive.
    pub entries: usize,
    /// Bytes under `blobs/`.
    pub blob_bytes: u64,
    /// What the listing checks found (`verify::check_listing`): shown as warnings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    #[serde(skip)]
    pub named: Vec<Named>,
}

/// An image `index.json` names.
#[derive(Debug, Serialize)]
pub struct IndexEntry {
    pub name: Option<String>,
    pub digest: ferry_core::digest::Digest,
    pub media_type: String,
    pub size: u64,
}

/// Reads what `inspect` shows; a compressed archive is streamed once, nothing written.
pub fn contents(path: &Path) -> Result<Contents, BundleError> {
    let archive = Archive::catalog(path)?;
    let ferry = archive.meta()?;
    let named = archive.images()?;
    let mut findings = super::verify::Findings::default();
    if ferry.is_some() {
        super::verify::check_listing(&archive, &mut findings)?;
    }
    Ok(Contents {
        bundle: path.display().to_string(),
        index: named
            .iter()
            .map(|n| IndexEntry {
                name: n.name.clone(),
                digest: n.descriptor.digest.clone(),
                media_type: n.descriptor.media_type.clone(),
                size: n.descriptor.size,
            })
            .collect(),
        entries: archive.entries.len(),
        blob_bytes: archive
            .entries
            .iter()
            .filter(|(k, _)| k.starts_with("blobs/"))
            .map(|(_, e)| e.size)
            .sum(),
        problems: findings.problems,
        ferry,
        named,
    })
}
