//! Writes a bundle: fixed entry order and metadata (same inputs, same bytes), every blob
//! once, into a temporary file beside the output that is renamed only when complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use super::space::check_space;
use super::space::{header, tar_size};

use super::cache::BlobCache;
use super::compress::{Compression, Writer};
use super::pull::PulledImage;
use super::{
    BundleError, CONTAINERD_NAME, FORMAT, ImageMeta, ManifestMeta, Meta, REF_NAME, Totals, io_err,
};
use ferry_core::digest::Digest;

/// A file the bundle carries, by its name inside the bundle.
#[derive(Debug, Clone)]
pub struct ManifestFile {
    /// `manifests/...` (what install applies) or `sources/...` (what a render read).
    pub name: String,
    pub content: Content,
    /// For a kustomization's output: what rendered it, from which `sources/` directory.
    pub rendered: Option<super::RenderMeta>,
}

#[derive(Debug, Clone)]
pub enum Content {
    File(PathBuf),
    Text(String),
}

/// The name a kustomization's output gets, in its directory's place under `manifests/`.
pub const KUSTOMIZE_OUTPUT: &str = "kustomize-output.yaml";

/// The name a chart's output gets, in the chart's place under `manifests/`.
pub const HELM_OUTPUT: &str = "helm-output.yaml";

/// The versions of the renderers that made the rendered files, for the record.
#[derive(Debug, Clone, Default)]
pub struct RendererVersions {
    pub kustomize: Option<String>,
    pub helm: Option<String>,
}

/// Names what the bundle carries: every input file under `manifests/` (a file by its name, a
/// directory's files as `DIRNAME/relative/path`), except the files a kustomization root
/// covers: they go under `sources/` by the same names, and the root's rendered output under
/// `manifests/ROOT/kustomize-output.yaml`. Two inputs claiming one name are an error.
pub fn manifest_files(
    inputs: &[PathBuf],
    names: &BTreeMap<PathBuf, String>,
    sources: &[ferry_scan::render::Source],
    versions: &RendererVersions,
) -> Result<Vec<ManifestFile>, BundleError> {
    use ferry_scan::render::Origin;
    let named = ferry_scan::inputs::named_as(
        inputs,
        names,
        ferry_scan::inputs::Naming::Prefixed,
        "a bundle",
    )?;
    let name_of = |path: &Path| {
        named
            .iter()
            .find(|n| n.path == path)
            .map(|n| n.name.to_string_lossy().into_owned())
            .ok_or_else(|| {
                BundleError::Invalid(format!("{}: not among the inputs", path.display()))
            })
    };
    let mut out = Vec::new();
    for source in sources {
        match &source.origin {
            Origin::File(path) => out.push(ManifestFile {
                name: format!("manifests/{}", name_of(path)?),
                content: Content::File(path.clone()),
                rendered: None,
            }),
            Origin::Rendered { root, engine } => {
                let own = name_of(&root.file)?;
                let dir = Path::new(&own)
                    .parent()
                    .map(|d| d.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let under = |base: &str| match dir.as_str() {
                    "" => base.to_string(),
                    d => format!("{base}/{d}"),
                };
                for file in &root.covers {
                    out.push(ManifestFile {
                        name: format!("sources/{}", name_of(file)?),
                        content: Content::File(file.clone()),
                        rendered: None,
                    });
                }
                out.push(ManifestFile {
                    name: format!("{}/{KUSTOMIZE_OUTPUT}", under("manifests")),
                    content: Content::Text(source.text.clone()),
                    rendered: Some(super::RenderMeta {
                        by: engine.clone(),
                        version: versions.kustomize.clone(),
                        from: under("sources"),
                    }),
                });
            }
            Origin::Chart { chart, command, .. } => {
                let (dir, files) = if chart.packaged {
                    let own = name_of(&chart.path)?;
                    let dir = own
                        .strip_suffix(".tgz")
                        .or_else(|| own.strip_suffix(".tar.gz"))
                        .unwrap_or(&own)
                        .to_string();
                    let files = vec![(format!("sources/{own}"), chart.path.clone())];
                    (dir, files)
                } else {
                    let own = name_of(&chart.path.join("Chart.yaml"))?;
                    let dir = own.strip_suffix("/Chart.yaml").unwrap_or("").to_string();
                    let files = chart
                        .files()
                        .into_iter()
                        .map(|(inner, path)| (format!("sources/{dir}/{inner}"), path))
                        .collect();
                    (dir, files)
                };
                for (name, path) in files {
                    out.push(ManifestFile {
                        name,
                        content: Content::File(path),
                        rendered: None,
                    });
                }
                out.push(ManifestFile {
                    name: format!("manifests/{dir}/{HELM_OUTPUT}"),
                    content: Content::Text(source.text.clone()),
                    rendered: Some(super::RenderMeta {
                        by: command.clone(),
                        version: versions.helm.clone(),
                        from: format!("sources/{dir}"),
                    }),
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = out.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(BundleError::Invalid(format!(
            "two inputs would both be {} in the bundle",
            w[0].name
        )));
    }
    Ok(out)
}

/// Everything a bundle holds, decided before a byte is written.
pub struct Plan {
    pub meta: Meta,
    index_json: Vec<u8>,
    blobs: Vec<(Digest, u64)>,
    /// Blobs made here (charts), written from memory.
    made: Vec<(Digest, Vec<u8>)>,
    manifests: Vec<(ManifestFile, Vec<u8>)>,
    /// `ferry.json.sig`: the vendor's signature over `ferry.json` (`bundle --sign-key`).
    signature: Option<Vec<u8>>,
    pub size: u64,
}

impl Plan {
    /// `ferry.json`'s bytes as the bundle holds them.
    fn meta_json(&self) -> Result<Vec<u8>, BundleError> {
        serde_json::to_vec_pretty(&self.meta).map_err(|e| BundleError::Invalid(e.to_string()))
    }

    /// Names the product and version the bundle carries (before signing: it is in
    /// `ferry.json`).
    pub fn set_product(&mut self, product: super::Product) -> Result<(), BundleError> {
        let before = self.meta_json()?.len() as u64;
        self.meta.product = Some(product);
        // tar pads each entry to 512 bytes: the whole entry's size is what changes.
        let entry = |n: u64| tar_size([("ferry.json".len(), n)].into_iter());
        self.size = self.size - entry(before) + entry(self.meta_json()?.len() as u64);
        Ok(())
    }

    /// Makes the bundle a delta: `images` were planned without the blobs `delta` expects at
    /// the site (before signing: it is in `ferry.json`).
    pub fn set_delta(&mut self, delta: super::Delta) -> Result<(), BundleError> {
        let before = self.meta_json()?.len() as u64;
        self.meta.delta = Some(delta);
        let entry = |n: u64| tar_size([("ferry.json".len(), n)].into_iter());
        self.size = self.size - entry(before) + entry(self.meta_json()?.len() as u64);
        Ok(())
    }

    /// Names the OLM catalog selections the bundle carries (before signing).
    pub fn set_catalogs(&mut self, catalogs: Vec<super::CatalogMeta>) -> Result<(), BundleError> {
        let before = self.meta_json()?.len() as u64;
        self.meta.catalogs = catalogs;
        let entry = |n: u64| tar_size([("ferry.json".len(), n)].into_iter());
        self.size = self.size - entry(before) + entry(self.meta_json()?.len() as u64);
        Ok(())
    }

    /// Signs `ferry.json` and so the whole bundle (every other byte is pinned by it).
    pub fn sign(&mut self, key: &super::seal::SigningKey) -> Result<(), BundleError> {
        let signature = key.sign(&self.meta_json()?)?;
        self.size += tar_size([(super::SIGNATURE_ENTRY.len(), signature.len() as u64)].into_iter())
            - tar_size(std::iter::empty());
        self.signature = Some(signature);
        Ok(())
    }
}

pub fn plan(
    images: &[PulledImage],
    attachments: &BTreeMap<String, super::Attachment>,
    charts: &[super::chart::ChartArtifact],
    manifests: &[ManifestFile],
    excluded: Vec<super::Excluded>,
    proof: Option<super::Proof>,
    created: String,
) -> Result<Plan, BundleError> {
    let blobs: BTreeSet<(Digest, u64)> = images
        .iter()
        .flat_map(|i| i.blobs.iter().cloned())
        .collect();
    let blobs: Vec<(Digest, u64)> = blobs.into_iter().collect();
    let made: BTreeMap<Digest, Vec<u8>> = charts
        .iter()
        .flat_map(|c| c.blobs())
        .filter(|(d, _)| !blobs.iter().any(|(b, _)| b == d))
        .map(|(d, bytes)| (d, bytes.to_vec()))
        .collect();
    let made: Vec<(Digest, Vec<u8>)> = made.into_iter().collect();
    let mut read = Vec::new();
    let mut metas = Vec::new();
    for m in manifests {
        let bytes = match &m.content {
            Content::File(path) => std::fs::read(path).map_err(io_err(path))?,
            Content::Text(text) => text.as_bytes().to_vec(),
        };
        metas.push(ManifestMeta {
            path: m.name.clone(),
            sha256: Digest::of(&bytes),
            rendered: m.rendered.clone(),
        });
        read.push((m.clone(), bytes));
    }
    let mut sorted: Vec<&PulledImage> = images.iter().collect();
    sorted.sort_by_key(|i| i.source.to_string());
    let index_json = index_json(&sorted, charts)?;
    let meta = Meta {
        format: FORMAT.to_string(),
        ferry_version: env!("CARGO_PKG_VERSION").to_string(),
        created,
        images: sorted
            .iter()
            .map(|i| ImageMeta {
                source: i.source.to_string(),
                digest: i.digest().clone(),
                source_digest: i.graph.source_digest.clone(),
                media_type: i.graph.root.media_type.clone(),
                platforms: i.graph.platforms.clone(),
                size: i.size,
                attached_to: attachments.get(&i.source.to_string()).cloned(),
            })
            .collect(),
        charts: charts.iter().map(|c| c.meta.clone()).collect(),
        manifests: metas,
        totals: Totals {
            images: images.len(),
            blobs: blobs.len() + made.len(),
            blob_bytes: blobs.iter().map(|(_, s)| s).sum::<u64>()
                + made.iter().map(|(_, b)| b.len() as u64).sum::<u64>(),
            manifest_files: manifests.len(),
        },
        excluded,
        proof,
        index_json: Some(Digest::of(&index_json)),
        product: None,
        delta: None,
        catalogs: Vec::new(),
    };
    let size = planned_size(&meta, &index_json, &blobs, &made, &read)?;
    Ok(Plan {
        meta,
        index_json,
        blobs,
        made,
        manifests: read,
        signature: None,
        size,
    })
}

/// `index.json`: one descriptor per image and chart, named by its source reference, sorted.
fn index_json(
    sorted: &[&PulledImage],
    charts: &[super::chart::ChartArtifact],
) -> Result<Vec<u8>, BundleError> {
    let mut entries: Vec<(String, serde_json::Value)> = sorted
        .iter()
        .map(|i| {
            let name = i.source.to_string();
            let entry = serde_json::json!({
                "mediaType": i.graph.root.media_type,
                "digest": i.digest(),
                "size": i.graph.root.bytes.len(),
                "annotations": {REF_NAME: name, CONTAINERD_NAME: name},
            });
            (name, entry)
        })
        .collect();
    for c in charts {
        let entry = serde_json::json!({
            "mediaType": ferry_core::manifest::OCI_MANIFEST,
            "digest": c.meta.digest,
            "size": c.manifest.len(),
            "artifactType": super::chart::CONFIG_MEDIA_TYPE,
            "annotations": {REF_NAME: c.meta.source, CONTAINERD_NAME: c.meta.source},
        });
        entries.push((c.meta.source.clone(), entry));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": ferry_core::manifest::OCI_INDEX,
        "manifests": entries.into_iter().map(|(_, e)| e).collect::<Vec<_>>(),
    });
    serde_json::to_vec_pretty(&index).map_err(|e| BundleError::Invalid(e.to_string()))
}

/// The bundle's size as a plain tar: every entry's header and padded bytes.
fn planned_size(
    meta: &Meta,
    index_json: &[u8],
    blobs: &[(Digest, u64)],
    made: &[(Digest, Vec<u8>)],
    read: &[(ManifestFile, Vec<u8>)],
) -> Result<u64, BundleError> {
    let meta_len = serde_json::to_vec_pretty(meta)
        .map_err(|e| BundleError::Invalid(e.to_string()))?
        .len();
    Ok(tar_size(
        [
            ("ferry.json".len(), meta_len as u64),
            ("oci-layout".len(), 30),
            ("index.json".len(), index_json.len() as u64),
        ]
        .into_iter()
        .chain(blobs.iter().map(|(_, s)| ("blobs/sha256/".len() + 64, *s)))
        .chain(
            made.iter()
                .map(|(_, b)| ("blobs/sha256/".len() + 64, b.len() as u64)),
        )
        .chain(read.iter().map(|(m, b)| (m.name.len(), b.len() as u64))),
    ))
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    verifier: Option<ferry_core::digest::Verifier>,
    failed: Option<ferry_core::digest::Mismatch>,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(v) = &mut self.verifier
            && self.failed.is_none()
            && let Err(m) = v.update(&buf[..n])
        {
            self.failed = Some(m);
        }
        Ok(n)
    }
}

impl<R> Hashing<R> {
    /// The mismatch, if the bytes were not the expected ones.
    fn finish(&mut self) -> Option<ferry_core::digest::Mismatch> {
        match (self.failed.take(), self.verifier.take()) {
            (Some(m), _) => Some(m),
            (None, Some(v)) => v.finish().err(),
            (None, None) => None,
        }
    }
}

/// What [`write`] wrote, and what it cleared away.
#[derive(Debug, Default)]
pub struct Written {
    /// The partial files of killed runs removed on the way.
    pub removed: Vec<PathBuf>,
    /// With `--split`: the parts' index.
    pub parts: Option<super::parts::PartsIndex>,
}

/// Writes the planned bundle to `out` atomically (in parts of at most `split` bytes when
/// given: `out.part-NNN` and the index `out.parts.json`).
pub fn write(
    plan: &Plan,
    cache: &BlobCache,
    out: &Path,
    compression: Compression,
    split: Option<u64>,
    observer: &dyn ferry_core::observe::Observer,
) -> Result<Written, BundleError> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    check_space(&dir, plan.size)?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Parts are temporaries of their own names: a killed split run's are swept too.
    let removed = ferry_core::atomic::sweep(&dir, split.is_none().then_some(name.as_str()));
    let target = dir.join(&name);
    let file = super::parts::BundleFile::create(&target, split).map_err(io_err(&target))?;
    let tmp_path = file.temp_path();
    let writer = Writer::new(file, compression).map_err(io_err(&tmp_path))?;
    let mut tar = tar::Builder::new(writer);
    tar.mode(tar::HeaderMode::Deterministic);
    let mut add = |path: &str, size: u64, data: &mut dyn std::io::Read| {
        tar.append_data(&mut header(size), path, data)
            .map_err(io_err(&tmp_path))
    };
    let meta = plan.meta_json()?;
    add("ferry.json", meta.len() as u64, &mut meta.as_slice())?;
    if let Some(signature) = &plan.signature {
        add(
            super::SIGNATURE_ENTRY,
            signature.len() as u64,
            &mut signature.as_slice(),
        )?;
    }
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    add("oci-layout", layout.len() as u64, &mut layout.as_slice())?;
    add(
        "index.json",
        plan.index_json.len() as u64,
        &mut plan.index_json.as_slice(),
    )?;
    observer.expect(plan.blobs.iter().map(|(_, size)| size).sum());
    for (digest, size) in &plan.blobs {
        let path = cache.path(digest);
        let f = std::fs::File::open(&path).map_err(io_err(&path))?;
        let actual = f.metadata().map_err(io_err(&path))?.len();
        if actual != *size {
            return Err(BundleError::Integrity(format!(
                "cached {digest} has {actual} bytes, expected {size}"
            )));
        }
        // Hashed on the way: a cached blob that changed on disk never reaches a bundle.
        let mut reader = Hashing {
            inner: ferry_core::observe::Counting {
                inner: std::io::Read::take(f, *size),
                observer,
            },
            verifier: Some(ferry_core::digest::Verifier::new(
                digest.clone(),
                Some(*size),
            )),
            failed: None,
        };
        add(
            &format!("blobs/sha256/{}", digest.hex()),
            *size,
            &mut reader,
        )?;
        if let Some(m) = reader.finish() {
            return Err(BundleError::Integrity(format!(
                "cached {digest} ({}): {m}; nothing written (run again: the blob is fetched anew)",
                path.display()
            )));
        }
    }
    for (digest, bytes) in &plan.made {
        add(
            &format!("blobs/sha256/{}", digest.hex()),
            bytes.len() as u64,
            &mut bytes.as_slice(),
        )?;
    }
    for (m, bytes) in &plan.manifests {
        add(&m.name, bytes.len() as u64, &mut bytes.as_slice())?;
    }
    let writer = tar.into_inner().map_err(io_err(&tmp_path))?;
    let file = writer.finish().map_err(io_err(&tmp_path))?;
    let parts = file.finish().map_err(io_err(out))?;
    Ok(Written { removed, parts })
}
