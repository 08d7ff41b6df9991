//! `oci://` charts pulled as `helm pull` pulls them, through the image-graph walker: the
//! registry client's credentials, TLS and retries, every byte verified in the stream, and
//! failures typed as the walker types them (a cut connection is a registry failure, bytes
//! that do not match their digest an integrity failure).

use std::path::{Path, PathBuf};

use super::BundleError;
use super::cache::BlobCache;
use super::chart::{CONFIG_MEDIA_TYPE, CONTENT_MEDIA_TYPE, PROVENANCE_MEDIA_TYPE};

use crate::registry::Registries;
use ferry_core::digest::Digest;
use ferry_core::reference::Reference;

/// The most a chart's package may weigh: a registry that names more is not serving a chart.
const MAX_CHART: u64 = 64 << 20;

/// Pulls the chart `reference` names into `dir`: `CHART-VERSION.tgz`, and beside it its
/// provenance file when it was pushed with one. Its blobs pass through a cache under `dir`.
pub async fn pull(
    reference: &Reference,
    registries: &Registries,
    dir: &Path,
) -> Result<PathBuf, BundleError> {
    let mut layers = None;
    let pulled = super::pull::whole(reference, registries, &dir.join(".blobs"), |graph| {
        layers = Some(chart_layers(reference, &graph.root.bytes)?);
        Ok(true)
    })
    .await?;
    let no_chart = || BundleError::Invalid(format!("{reference}: no chart"));
    let (_, cache) = pulled.ok_or_else(no_chart)?;
    let layers = layers.ok_or_else(no_chart)?;
    let chart = reference.repository().rsplit('/').next().unwrap_or("chart");
    let version = reference.tag().unwrap_or("chart");
    let package = dir.join(format!("{chart}-{version}.tgz"));
    copy_out(&cache, &layers.package, &package)?;
    if let Some(prov) = &layers.provenance {
        let mut path = package.as_os_str().to_owned();
        path.push(".prov");
        copy_out(&cache, prov, Path::new(&path))?;
    }
    Ok(package)
}

/// The digests of a chart manifest's package and provenance layers.
struct ChartLayers {
    package: Digest,
    provenance: Option<Digest>,
}

fn chart_layers(reference: &Reference, manifest: &[u8]) -> Result<ChartLayers, BundleError> {
    let invalid = |m: String| BundleError::Invalid(format!("{reference}: {m}"));
    let manifest: serde_json::Value =
        serde_json::from_slice(manifest).map_err(|e| invalid(format!("manifest: {e}")))?;
    if manifest["config"]["mediaType"] != CONFIG_MEDIA_TYPE {
        return Err(invalid(format!(
            "not a Helm chart (config media type {}, a chart's is {CONFIG_MEDIA_TYPE})",
            manifest["config"]["mediaType"]
        )));
    }
    let layer = |media_type: &str| -> Result<Option<Digest>, BundleError> {
        let Some(l) = manifest["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["mediaType"] == media_type)
        else {
            return Ok(None);
        };
        if l["size"].as_u64().is_none_or(|s| s > MAX_CHART) {
            return Err(invalid(format!(
                "a chart layer of {} bytes (at most {MAX_CHART})",
                l["size"]
            )));
        }
        let digest = l["digest"].as_str().unwrap_or_default();
        digest
            .parse()
            .map(Some)
            .map_err(|e| invalid(format!("chart layer digest {digest:?}: {e}")))
    };
    Ok(ChartLayers {
        package: layer(CONTENT_MEDIA_TYPE)?
            .ok_or_else(|| invalid("the chart manifest has no chart layer".into()))?,
        provenance: layer(PROVENANCE_MEDIA_TYPE)?,
    })
}

fn copy_out(cache: &BlobCache, digest: &Digest, to: &Path) -> Result<(), BundleError> {
    let from = cache.path(digest);
    std::fs::copy(&from, to)
        .map(|_| ())
        .map_err(super::io_err(to))
}
