//! OLM catalog images: an image whose config labels `operators.operatorframework.io.index.
//! configs.v1` with the directory it serves its file-based catalog from (`/configs`). Read
//! ([`read`]: the catalog's files, out of the layers as a container would see them) and
//! rebuilt on the same base ([`rebuild`]: every base layer kept, one layer on top that
//! replaces the catalog directory with the filtered catalog), for every platform of it.

mod layers;
mod rebuild;

pub use rebuild::{Overlay, Rebuilt, rebuild};

use std::path::{Path, PathBuf};

use crate::bundle::BundleError;
use crate::bundle::cache::BlobCache;
use crate::graph::Graph;
use crate::registry::Registries;
use ferry_core::manifest::{self, Descriptor, Parsed};
use ferry_core::reference::Reference;

/// The label naming the catalog directory in the image.
pub const CONFIGS_LABEL: &str = "operators.operatorframework.io.index.configs.v1";

/// A catalog image as read: its graph, the platform manifest its catalog was read from,
/// and where its files were written.
#[derive(Debug, Clone)]
pub struct CatalogImage {
    pub reference: Reference,
    pub graph: Graph,
    /// The catalog directory in the image (`/configs`).
    pub configs_dir: String,
    /// The config of the platform the catalog was read from (its labels, its command).
    pub config: serde_json::Value,
    /// The catalog's files, extracted (`dir/configs/...`).
    pub catalog: PathBuf,
    /// The blob cache its blobs went through (kept with `dir`).
    pub cache: BlobCache,
}

fn invalid(reference: &Reference, m: impl std::fmt::Display) -> BundleError {
    BundleError::Invalid(format!("{reference}: {m}"))
}

/// Reads the catalog image `reference` names: its graph (every platform), its blobs into the
/// cache at `cache_dir` (a bundle's own: what the bundle carries is then read once), and the
/// catalog directory of its first platform (a catalog's files are the same on every
/// platform) extracted into `dir/configs`. `None`, with no layer read, for a Helm chart (an
/// `oci://` input is either).
pub async fn read(
    reference: &Reference,
    registries: &Registries,
    dir: &Path,
    cache_dir: &Path,
) -> Result<Option<CatalogImage>, BundleError> {
    let not_a_chart = |graph: &Graph| Ok(!is_chart(&graph.root.bytes));
    let pulled = crate::bundle::pull::whole(reference, registries, cache_dir, not_a_chart).await?;
    let Some((graph, cache)) = pulled else {
        return Ok(None);
    };
    let (config, layers) = first_image(reference, &graph, &cache)?;
    let label = config["config"]["Labels"][CONFIGS_LABEL]
        .as_str()
        .ok_or_else(|| {
            invalid(
                reference,
                format!("not an OLM catalog image (its config has no {CONFIGS_LABEL} label)"),
            )
        })?;
    // The vendor's label names entries of the layer a rebuild writes: a path in the image.
    let configs_dir = path_in_image(label).ok_or_else(|| {
        invalid(
            reference,
            format!("its {CONFIGS_LABEL} label {label:?} is not a directory in the image"),
        )
    })?;
    let catalog = dir.join("configs");
    layers::extract(&cache, &layers, &configs_dir, &catalog).map_err(|m| invalid(reference, m))?;
    Ok(Some(CatalogImage {
        reference: reference.clone(),
        graph,
        configs_dir,
        config,
        catalog,
        cache,
    }))
}

/// Whether a root manifest is a Helm chart's (its config's media type says so).
fn is_chart(manifest: &[u8]) -> bool {
    let manifest: serde_json::Value = serde_json::from_slice(manifest).unwrap_or_default();
    manifest["config"]["mediaType"] == crate::bundle::chart::CONFIG_MEDIA_TYPE
}

/// A directory in an image as `/a/b`: plain names only (no `.`, `..` or empty path), so what
/// is written under it stays inside it.
pub(crate) fn path_in_image(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let plain = |p: &&str| *p != "." && *p != ".." && !p.contains('\\');
    (!parts.is_empty() && parts.iter().all(plain)).then(|| format!("/{}", parts.join("/")))
}

/// The config and layers of the image's first platform manifest (or of the image itself).
fn first_image(
    reference: &Reference,
    graph: &Graph,
    cache: &BlobCache,
) -> Result<(serde_json::Value, Vec<Descriptor>), BundleError> {
    let nodes = std::iter::once(&graph.root).chain(&graph.manifests);
    for node in nodes {
        let (_, parsed) = manifest::parse(&node.bytes, Some(&node.media_type))
            .map_err(|e| invalid(reference, e))?;
        if let Parsed::Image { config, layers } = parsed {
            let path = cache.path(&config.digest);
            let bytes = std::fs::read(&path).map_err(crate::bundle::io_err(&path))?;
            let config: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| invalid(reference, format!("config: {e}")))?;
            return Ok((config, layers));
        }
    }
    Err(invalid(reference, "no image manifest in it"))
}

#[cfg(test)]
mod tests {
    use super::path_in_image;

    #[test]
    fn a_directory_label_is_a_plain_path_in_the_image() {
        assert_eq!(path_in_image("/configs").as_deref(), Some("/configs"));
        assert_eq!(path_in_image("configs/").as_deref(), Some("/configs"));
        assert_eq!(path_in_image("//a//b").as_deref(), Some("/a/b"));
        for bad in ["", "/", "/configs/../etc", "..", "./configs", "a\\..\\b"] {
            assert_eq!(path_in_image(bad), None, "{bad:?}");
        }
    }
}
