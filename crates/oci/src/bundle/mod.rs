//! The airgap bundle (format v1, `../shared/DESIGN.md`): a tar whose root is an OCI image
//! layout, plus `ferry.json` and the scanned manifests. Written deterministically and
//! atomically ([`write`]), read without extraction and checked entry by entry ([`archive`]).

pub mod archive;
pub mod cache;
pub mod chart;
pub mod chart_json;
pub mod chart_pull;
pub mod compress;
pub mod ends;
pub mod inspect;
pub mod parts;
pub mod pull;
pub mod receipt;
pub mod seal;
pub mod signatures;
pub mod space;
pub mod trust;
pub mod verify;
pub mod write;

use serde::{Deserialize, Serialize};

use crate::graph::GraphError;
use crate::registry::RegistryError;
use ferry_core::digest::Digest;
use ferry_core::error::Category;

/// `format` of `ferry.json`.
pub const FORMAT: &str = "ferry.bundle/v1";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";
/// The vendor's signature over `ferry.json`'s bytes (`bundle --sign-key`): base64, as
/// `cosign sign-blob` writes it.
pub const SIGNATURE_ENTRY: &str = "ferry.json.sig";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Cache(#[from] cache::CacheError),
    #[error(transparent)]
    Input(#[from] ferry_scan::inputs::InputError),
    /// What `install` would refuse, found before anything is pulled.
    #[error("{} in the inputs, nothing pulled:\n  {}", ferry_core::text::counted(.0.len(), "problem"), .0.join("\n  "))]
    Preflight(Vec<String>),
    /// Images that could not be read, each with where the manifests name it.
    #[error("{} could not be read, nothing written:\n  {}", ferry_core::text::counted(.problems.len(), "image"), .problems.join("\n  "))]
    Unavailable {
        problems: Vec<String>,
        integrity: bool,
    },
    /// References the completeness proof could not account for, each with its file:line.
    #[error("{} in the manifests would be pulled from outside the bundle, nothing written:\n  {}", ferry_core::text::counted(.0.len(), "reference"), .0.join("\n  "))]
    Unproven(Vec<String>),
    #[error("{path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The input or the bundle is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Bytes that do not match their digest or size.
    #[error("integrity: {0}")]
    Integrity(String),
    #[error(
        "not enough space in {dir}: {} needed ({needed} bytes), {} available",
        ferry_core::text::Bytes(*needed),
        ferry_core::text::Bytes(*available)
    )]
    NoSpace {
        dir: String,
        needed: u64,
        available: u64,
    },
}

impl BundleError {
    pub fn is_integrity(&self) -> bool {
        match self {
            BundleError::Integrity(_) | BundleError::Cache(cache::CacheError::Integrity(_)) => true,
            BundleError::Registry(e) => e.is_integrity(),
            BundleError::Graph(e) => e.is_integrity(),
            _ => false,
        }
    }

    /// What kind of failure this is (the edge maps it to an exit code).
    pub fn category(&self) -> Category {
        use ferry_core::error::io_category;
        match self {
            _ if self.is_integrity() => Category::Integrity,
            BundleError::Registry(e) => e.category(),
            BundleError::Graph(e) => e.category(),
            BundleError::Cache(e) => e.category(),
            BundleError::Input(e) => e.category(),
            BundleError::NoSpace { .. } => Category::Space,
            // A bundle that cannot be read, an output that cannot be written: the user's
            // paths, not ferry's fault (unless the disk is full).
            BundleError::Io { source, .. } => io_category(source, Category::InvalidInput),
            BundleError::Invalid(_) | BundleError::Preflight(_) | BundleError::Unproven(_) => {
                Category::InvalidInput
            }
            BundleError::Unavailable {
                integrity: true, ..
            } => Category::Integrity,
            BundleError::Unavailable { .. } => Category::Registry,
            BundleError::Integrity(_) => Category::Integrity,
        }
    }
}

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `ferry.json`: what the bundle holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Meta {
    pub format: String,
    pub ferry_version: String,
    /// RFC 3339; from `SOURCE_DATE_EPOCH` (default 0) so bundles are reproducible.
    pub created: String,
    pub images: Vec<ImageMeta>,
    /// Helm charts, as OCI charts in the layout (absent in bundles of older ferry versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<chart::ChartEntry>,
    pub manifests: Vec<ManifestMeta>,
    pub totals: Totals,
    /// Images the manifests name that were left out on purpose (`--exclude`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<Excluded>,
    /// What `bundle` proved before writing (absent in bundles of older ferry versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Proof>,
    /// The digest of `index.json`: with the blobs named by their digests and every other
    /// file listed with its own, `ferry.json` pins every byte of the bundle, and a signature
    /// over it signs the whole (absent in bundles of older ferry versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_json: Option<Digest>,
    /// What the bundle delivers: install's default release name and the version it
    /// records (absent when the vendor named none, and in older bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Product>,
    /// A delta bundle (`bundle --since`): the layers the site already holds, left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<Delta>,
    /// OLM catalog selections the bundle carries: install writes the site's mirror
    /// configuration for their images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catalogs: Vec<CatalogMeta>,
}

/// One OLM catalog selection a bundle carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogMeta {
    /// Names its files (`manifests/NAME/`) and the mirror configuration install writes.
    pub name: String,
    /// The rebuilt catalog image, under its source name (a file-based catalog has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The images its bundles name, as the catalog names them (by digest).
    pub images: Vec<String>,
}

/// What a delta bundle leaves out and expects the site to hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    /// The receipt it was made against (its sha256), and what that receipt was made from.
    pub receipt: Digest,
    pub receipt_from: Vec<String>,
    /// Each layer left out, with where the receipt says the site holds it.
    pub expected: Vec<receipt::Held>,
}

impl Delta {
    pub fn bytes(&self) -> u64 {
        self.expected.iter().map(|h| h.size).sum()
    }

    /// The expected blob of this digest and size, if it is one.
    pub fn expects(&self, digest: &Digest, size: u64) -> Option<&receipt::Held> {
        self.expected
            .binary_search_by(|h| h.digest.cmp(digest))
            .ok()
            .map(|i| &self.expected[i])
            .filter(|h| h.size == size)
    }
}

/// The product a bundle delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// A release name (a DNS-1123 label of at most 53 characters).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// In words, for people (`inspect` shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl std::fmt::Display for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ferry_core::text::counted;
        if self.files == 0 {
            return write!(f, "no manifests: only the listed images, nothing to prove");
        }
        write!(
            f,
            "rewritten to {}, the manifests name only images in the bundle: {} in {}",
            self.stand_in,
            counted(self.references, "reference"),
            counted(self.files, "file")
        )?;
        let mut others = Vec::new();
        if self.outputs > 0 {
            others.push(format!(
                "{} pushed by operators",
                counted(self.outputs, "build output")
            ));
        }
        if self.excluded > 0 {
            others.push(format!("{} left out with --exclude", self.excluded));
        }
        if !others.is_empty() {
            write!(f, " ({})", others.join(", "))?;
        }
        Ok(())
    }
}

/// The completeness proof: the manifests, rewritten in memory as `install` rewrites them (to
/// a stand-in registry), scanned again; every reference found points at the stand-in and is
/// an image the bundle holds (by digest where pinned), a build output, or left out on purpose.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Proof {
    /// The registry the manifests were rewritten to; nothing is ever sent there.
    pub stand_in: String,
    /// Manifest files rewritten and scanned again.
    pub files: usize,
    /// Image references found after the rewrite.
    pub references: usize,
    /// Of them, references to images in the bundle.
    pub held: usize,
    /// Of them, build outputs: pushed by an operator, never pulled.
    pub outputs: usize,
    /// Of them, images left out with `--exclude`.
    pub excluded: usize,
}

/// An image left out of the bundle on purpose.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Excluded {
    pub reference: String,
    /// The `--exclude` pattern that matched it.
    pub pattern: String,
    /// Where the manifests name it (`file:line`).
    pub named_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageMeta {
    /// The full source reference, also the `ref.name` annotation in `index.json`.
    pub source: String,
    pub digest: Digest,
    /// The source's own digest, when a platform filter made a new index (`digest`): pinned
    /// references that name it are rewritten to `digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_digest: Option<Digest>,
    pub media_type: String,
    pub platforms: Vec<String>,
    /// Bytes of every blob of this image, manifests included (shared blobs counted in each).
    pub size: u64,
    /// For a signature, attestation, SBOM or referrer: the image it is attached to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached_to: Option<Attachment>,
}

/// What an attached artifact belongs to, and what it is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attachment {
    pub image: String,
    /// `signature`, `attestation`, `sbom`, `referrers`, or a referrer's artifactType.
    pub kind: String,
    /// The manifest it is attached to when that is not the image's own: a platform child
    /// of the image's index, or another artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Digest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestMeta {
    /// Path inside the bundle: under `manifests/` (applied by install) or `sources/` (read
    /// by a render, carried as given, never applied).
    pub path: String,
    pub sha256: Digest,
    /// A kustomization's output, rendered when the bundle was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<RenderMeta>,
}

/// What rendered a manifest file of the bundle, from what.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RenderMeta {
    /// `kubectl kustomize`, `kustomize build`.
    pub by: String,
    /// The kustomize version, when the program tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The kustomization's directory inside the bundle (`sources/...`).
    pub from: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Totals {
    pub images: usize,
    pub blobs: usize,
    /// Bytes of unique blobs: the bundle's size less tar headers and the small files.
    pub blob_bytes: u64,
    pub manifest_files: usize,
}

pub use ferry_core::scratch::dir as scratch_dir;

/// `created` for a bundle: `SOURCE_DATE_EPOCH` if set, else the epoch, as RFC 3339 UTC.
pub fn created_timestamp() -> String {
    let secs: i64 = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    rfc3339(secs)
}

fn rfc3339(secs: i64) -> String {
    // Out of jiff's range (years -9999..=9999) only for absurd SOURCE_DATE_EPOCH values.
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
