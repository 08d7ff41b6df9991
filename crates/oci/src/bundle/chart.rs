//! Helm charts as OCI artifacts, laid out as `helm push` lays them out: a manifest whose
//! config is the chart's metadata (`application/vnd.cncf.helm.config.v1+json`) and whose one
//! layer is the packaged chart (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`), so a
//! pushed bundle serves `helm pull oci://...`. A chart directory is packaged by Helm itself
//! (`helm package`, which honours `.helmignore`) and then written again with fixed metadata,
//! so the same chart gives the same bytes whenever and wherever it is bundled; a packaged
//! chart is carried byte for byte with its provenance file when one sits beside it (it signs
//! those bytes), as `helm push` carries it.

use std::io::{Read, Write};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::BundleError;
use ferry_core::digest::Digest;
use ferry_scan::render::{Chart, Helm};

pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
pub const CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
pub const PROVENANCE_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";

/// A chart ready to be written into a bundle: three blobs.
#[derive(Debug, Clone)]
pub struct ChartArtifact {
    pub meta: ChartEntry,
    pub package: Vec<u8>,
    /// `helm package --sign`'s provenance file, when one sits beside a packaged chart.
    pub provenance: Option<Vec<u8>>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
}

/// A chart as `ferry.json` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChartEntry {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Its name in the bundle's `index.json`: `localhost/charts/NAME:VERSION` (as podman
    /// names what comes from no registry), so push places it as it places images
    /// (`REGISTRY/PREFIX/charts/NAME:VERSION` with the default layout).
    pub source: String,
    /// The OCI manifest's digest.
    pub digest: Digest,
    /// The packaged chart's digest (the manifest's one layer).
    pub package: Digest,
    /// Where its rendered output is, under `manifests/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The images that output names, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// How `bundle` rendered it, so `install` can render it again the same way (with the
    /// customer's values on top).
    #[serde(default)]
    pub render: ChartRender,
    /// Where its templates call `lookup` (`FILE:LINE` inside the chart): what those keep
    /// from the cluster cannot be known offline, so each render makes it anew.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lookups: Vec<String>,
}

impl ChartEntry {
    /// The warning its `lookup` calls deserve, if it has any.
    pub fn lookup_warning(&self) -> Option<String> {
        let (first, more) = self.lookups.split_first()?;
        let more = match more.len() {
            0 => String::new(),
            n => format!(" (and {n} more)"),
        };
        Some(format!(
            "chart {} {}: {first}{more} calls lookup, which finds nothing offline: a value it \
             keeps from the cluster (a generated password, a volume name) is made anew by \
             every render, so applying this output replaces the live one; give it in the \
             chart's values to keep it",
            self.name, self.version
        ))
    }
}

/// The `helm template` options a chart was rendered with; values files by their path in
/// the bundle (`values/NAME/...`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChartRender {
    pub release_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_string: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_versions: Vec<String>,
}

impl ChartArtifact {
    /// Its blobs: the manifest, the config, the package and its provenance.
    pub fn blobs(&self) -> Vec<(Digest, &[u8])> {
        let mut out: Vec<(Digest, &[u8])> = vec![
            (self.meta.digest.clone(), &self.manifest),
            (Digest::of(&self.config), &self.config),
            (self.meta.package.clone(), &self.package),
        ];
        if let Some(p) = &self.provenance {
            out.push((Digest::of(p), p));
        }
        out
    }
}

/// Packages `chart` (a directory with `helm package`, a `.tgz` as it is) as an artifact.
pub fn package(
    chart: &Chart,
    helm: &Helm,
    output: Option<String>,
    images: Vec<String>,
    render: ChartRender,
) -> Result<ChartArtifact, BundleError> {
    let package = if chart.packaged {
        std::fs::read(&chart.path).map_err(super::io_err(&chart.path))?
    } else {
        normalized(&helm_package(chart, helm)?)
            .map_err(|e| BundleError::Invalid(format!("{}: helm package: {e}", chart.label())))?
    };
    // As `helm push` finds it: `NAME-VERSION.tgz.prov` beside the package.
    let provenance = if chart.packaged {
        let mut prov = chart.path.clone().into_os_string();
        prov.push(".prov");
        std::fs::read(prov).ok()
    } else {
        None
    };
    let meta = &chart.meta;
    let config = config_json(chart, &package)?;
    let config_digest = Digest::of(&config);
    let package_digest = Digest::of(&package);
    let mut layers = vec![serde_json::json!({
        "mediaType": CONTENT_MEDIA_TYPE,
        "digest": package_digest,
        "size": package.len(),
    })];
    if let Some(p) = &provenance {
        layers.push(serde_json::json!({
            "mediaType": PROVENANCE_MEDIA_TYPE,
            "digest": Digest::of(p),
            "size": p.len(),
        }));
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": ferry_core::manifest::OCI_MANIFEST,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "digest": config_digest,
            "size": config.len(),
        },
        "layers": layers,
        "annotations": {
            "org.opencontainers.image.title": meta.name,
            "org.opencontainers.image.version": meta.version,
        },
    }))
    .map_err(|e| BundleError::Invalid(e.to_string()))?;
    Ok(ChartArtifact {
        meta: ChartEntry {
            name: meta.name.clone(),
            version: meta.version.clone(),
            app_version: meta.app_version.clone(),
            source: format!("localhost/charts/{}:{}", meta.name, tag_of(&meta.version)),
            digest: Digest::of(&manifest),
            package: package_digest,
            output,
            images,
            render,
            lookups: ferry_scan::render::lookup::calls(chart),
        },
        package,
        provenance,
        config,
        manifest,
    })
}

/// A version as a tag: Helm writes SemVer build metadata's `+` as `_` in OCI tags.
fn tag_of(version: &str) -> String {
    version.replace('+', "_")
}

/// The chart's `Chart.yaml` as JSON, as `helm push` writes its config.
fn config_json(chart: &Chart, package: &[u8]) -> Result<Vec<u8>, BundleError> {
    let text = chart_yaml_in(package, &chart.meta.name).ok_or_else(|| {
        BundleError::Invalid(format!("{}: no Chart.yaml in the package", chart.label()))
    })?;
    let value: serde_json::Value = serde_saphyr::from_str(&text)
        .map_err(|e| BundleError::Invalid(format!("{}: Chart.yaml: {e}", chart.label())))?;
    serde_json::to_vec(&value).map_err(|e| BundleError::Invalid(e.to_string()))
}

fn chart_yaml_in(package: &[u8], name: &str) -> Option<String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(package));
    let wanted = format!("{name}/Chart.yaml");
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        if entry.path().ok()?.to_string_lossy() == wanted {
            let mut text = String::new();
            entry.read_to_string(&mut text).ok()?;
            return Some(text);
        }
    }
    None
}

/// `helm package DIR` into a scratch directory; the package's bytes.
fn helm_package(chart: &Chart, helm: &Helm) -> Result<Vec<u8>, BundleError> {
    let scratch = ferry_core::scratch::ScratchDir::new("package")
        .map_err(super::io_err(&ferry_core::scratch::dir()))?;
    let out = Command::new(&helm.program)
        .arg("package")
        .arg(&chart.path)
        .arg("--destination")
        .arg(scratch.path())
        .output()
        .map_err(super::io_err(&helm.program));
    out.and_then(|out| {
        if !out.status.success() {
            return Err(BundleError::Invalid(format!(
                "{}: helm package failed:\n{}",
                chart.label(),
                String::from_utf8_lossy(&out.stderr).trim_end()
            )));
        }
        let made = std::fs::read_dir(&scratch)
            .map_err(super::io_err(&scratch))?
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".tgz"))
            .ok_or_else(|| {
                BundleError::Invalid(format!("{}: helm package wrote no .tgz", chart.label()))
            })?;
        std::fs::read(made.path()).map_err(super::io_err(&made.path()))
    })
}

/// The package written again with fixed times and owners, entries in Helm's order.
fn normalized(package: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(package));
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    let mut out = tar::Builder::new(gz);
    out.mode(tar::HeaderMode::Deterministic);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        out.append_data(&mut header, &path, data.as_slice())?;
    }
    let mut gz = out.into_inner()?;
    gz.flush()?;
    gz.finish()
}
