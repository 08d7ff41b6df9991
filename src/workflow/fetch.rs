//! Charts named by `oci://HOST/REPO/CHART:VERSION` among the inputs: pulled with ferry's own
//! registry client (its credentials, TLS and retries) into a scratch directory, as
//! `helm pull` would, and read from there as packaged charts under their `oci://` names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;

use super::{Result, WorkflowError};
use crate::bundle::chart::{CONFIG_MEDIA_TYPE, CONTENT_MEDIA_TYPE};
use crate::reference::Reference;
use crate::registry::Registries;

/// The inputs with every `oci://` chart replaced by its pulled package.
#[derive(Debug, Default)]
pub struct FetchedCharts {
    pub paths: Vec<PathBuf>,
    /// Pulled package → how findings name it (`oci://...`).
    pub aliases: BTreeMap<PathBuf, String>,
    /// The charts' references (without `oci://`), as a registry names them.
    pub references: Vec<Reference>,
    scratch: Option<PathBuf>,
}

impl Drop for FetchedCharts {
    fn drop(&mut self) {
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Whether any input is an `oci://` reference.
pub fn any_remote(paths: &[PathBuf]) -> bool {
    paths.iter().any(|p| remote(p).is_some())
}

fn remote(path: &Path) -> Option<&str> {
    path.to_str()?.strip_prefix("oci://")
}

fn invalid(message: String) -> WorkflowError {
    WorkflowError::Invalid(message)
}

/// The inputs pulled (`oci://` charts) and loaded (read, rendered) as `scan` says; the
/// pulled charts stay on disk while the returned [`FetchedCharts`] lives.
pub async fn fetch_and_load(
    paths: &[PathBuf],
    scan: &super::ScanOptions,
    registries: &Registries,
    keep_going: bool,
) -> Result<(FetchedCharts, super::Loaded)> {
    let fetched = fetch_charts(paths, registries).await?;
    let mut render = scan.render.clone();
    render.aliases = fetched.aliases.clone();
    let loaded = super::load(&fetched.paths, &render, &scan.rules, keep_going);
    Ok((fetched, loaded))
}

/// Pulls every `oci://` input; the others pass as they are.
pub async fn fetch_charts(paths: &[PathBuf], registries: &Registries) -> Result<FetchedCharts> {
    let mut out = FetchedCharts::default();
    for path in paths {
        let Some(name) = remote(path) else {
            out.paths.push(path.clone());
            continue;
        };
        let shown = format!("oci://{name}");
        let reference: Reference = name.parse().map_err(|e| invalid(format!("{shown}: {e}")))?;
        if !reference.is_pinned_or_tagged() {
            return Err(invalid(format!(
                "{shown}: name the chart's version (oci://{name}:VERSION)"
            )));
        }
        let scratch = out.scratch.get_or_insert_with(|| {
            crate::bundle::scratch_dir().join(format!("ferry-oci-charts-{}", std::process::id()))
        });
        std::fs::create_dir_all(&*scratch).map_err(super::io_error(scratch))?;
        // Named as `helm pull` names it, in a directory of its own.
        let dir = scratch.join(out.paths.len().to_string());
        std::fs::create_dir_all(&dir).map_err(super::io_error(&dir))?;
        let chart = reference.repository().rsplit('/').next().unwrap_or("chart");
        let version = reference.tag().unwrap_or("chart");
        let file = dir.join(format!("{chart}-{version}.tgz"));
        pull_chart(&reference, registries, &file)
            .await
            .map_err(|e| e.in_step(format!("cannot pull {shown}")))?;
        out.aliases.insert(file.clone(), shown);
        out.paths.push(file);
        out.references.push(reference);
    }
    Ok(out)
}

/// The chart's package, its bytes checked against the manifest's digest.
async fn pull_chart(reference: &Reference, registries: &Registries, into: &Path) -> Result<()> {
    let registry = registries.get(reference.registry())?;
    let repo = reference.repository();
    let at = reference
        .digest()
        .or(reference.tag())
        .unwrap_or("latest")
        .to_string();
    let fetched = registry.get_manifest(repo, &at).await?;
    let manifest: serde_json::Value = serde_json::from_slice(&fetched.bytes)
        .map_err(|e| invalid(format!("{reference}: manifest: {e}")))?;
    if manifest["config"]["mediaType"] != CONFIG_MEDIA_TYPE {
        return Err(invalid(format!(
            "{reference}: not a Helm chart (config media type {}, a chart's is {CONFIG_MEDIA_TYPE})",
            manifest["config"]["mediaType"]
        )));
    }
    let layer = manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["mediaType"] == CONTENT_MEDIA_TYPE)
        .ok_or_else(|| {
            invalid(format!(
                "{reference}: the chart manifest has no chart layer"
            ))
        })?;
    std::fs::write(into, download(reference, registry.as_ref(), layer).await?)
        .map_err(super::io_error(into))?;
    // Its provenance, where the chart was pushed with one: beside it, as `helm pull` puts it.
    if let Some(prov) = manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["mediaType"] == crate::bundle::chart::PROVENANCE_MEDIA_TYPE)
    {
        let mut path = into.as_os_str().to_owned();
        path.push(".prov");
        let path = PathBuf::from(path);
        std::fs::write(&path, download(reference, registry.as_ref(), prov).await?)
            .map_err(super::io_error(&path))?;
    }
    Ok(())
}

/// A chart's layer, every byte checked against its descriptor; a chart's worth at most.
async fn download(
    reference: &Reference,
    registry: &crate::registry::Registry,
    layer: &serde_json::Value,
) -> Result<Vec<u8>> {
    let repo = reference.repository();
    let digest: crate::digest::Digest = layer["digest"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| invalid(format!("{reference}: chart layer digest: {e}")))?;
    let size = layer["size"].as_u64();
    let resp = registry.get_blob(repo, &digest).await?;
    let mut verifier = crate::digest::Verifier::new(digest.clone(), size);
    let mut bytes = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| invalid(format!("{reference}: chart layer: {e}")))?;
        verifier
            .update(&chunk)
            .map_err(|m| invalid(format!("{reference}: chart layer {digest}: {m}")))?;
        // A chart is small; a registry that sends more than a chart's worth is refused.
        if bytes.len() + chunk.len() > 64 << 20 {
            return Err(invalid(format!("{reference}: chart layer over 64 MiB")));
        }
        bytes.extend_from_slice(&chunk);
    }
    verifier
        .finish()
        .map_err(|m| invalid(format!("{reference}: chart layer {digest}: {m}")))?;
    Ok(bytes)
}
