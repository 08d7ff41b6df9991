//! A catalog image rebuilt on its own base: each platform's layers kept, one layer added
//! that makes the catalog directory opaque and holds the filtered catalog (`catalog.json`),
//! each config given the layer's diff id and a history entry, the manifests and the index
//! written anew. Where the image serves a pre-built cache (`opm serve --cache-dir=DIR`), the
//! cache goes with the old catalog and `--cache-enforce-integrity=false` lets `opm` build it
//! again at start: a stale cache would stop the catalog pod.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};

use super::CatalogImage;
use crate::bundle::BundleError;
use crate::graph::{ByteStream, Graph, GraphError, Node, Source};
use crate::registry::Fetched;
use ferry_core::digest::Digest;
use ferry_core::manifest::{self, Descriptor, Parsed};

/// The rebuilt image: its graph (base layers named, served by the source) and the blobs made
/// here (configs, the new layer, manifests, the index).
#[derive(Debug, Clone)]
pub struct Rebuilt {
    pub graph: Graph,
    pub made: Arc<BTreeMap<Digest, Bytes>>,
    pub notes: Vec<String>,
}

const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

fn invalid(image: &CatalogImage, m: impl std::fmt::Display) -> BundleError {
    BundleError::Invalid(format!("{}: {m}", image.reference))
}

/// Rebuilds `image` with `catalog` (a file-based catalog's bytes, JSON) as its catalog.
pub fn rebuild(image: &CatalogImage, catalog: &[u8]) -> Result<Rebuilt, BundleError> {
    let mut made = BTreeMap::new();
    let mut notes = Vec::new();
    let cache_dir = cache_dir(image);
    let tar = layer_tar(&image.configs_dir, cache_dir.as_deref(), catalog)
        .map_err(|e| invalid(image, format!("cannot write its new layer: {e}")))?;
    let diff_id = Digest::of(&tar);
    let layer = gzip(&tar).map_err(|e| invalid(image, e))?;
    let layer_digest = Digest::of(&layer);
    let layer_size = layer.len() as u64;
    made.insert(layer_digest.clone(), Bytes::from(layer));
    if let Some(dir) = &cache_dir {
        notes.push(format!(
            "{}: its pre-built catalog cache {dir} is removed with the old catalog, and opm serve builds it at start (--cache-enforce-integrity=false)",
            image.reference
        ));
    }
    let new_layer = |docker: bool| Descriptor {
        media_type: (if docker { DOCKER_LAYER } else { OCI_LAYER }).to_string(),
        digest: layer_digest.clone(),
        size: layer_size,
        platform: None,
        annotations: None,
    };
    let mut blobs: Vec<Descriptor> = Vec::new();
    let mut manifests: Vec<Node> = Vec::new();
    let mut rebuilt_image = |node: &Node| -> Result<Node, BundleError> {
        let (config, layers) = match manifest::parse(&node.bytes, Some(&node.media_type)) {
            Ok((_, Parsed::Image { config, layers })) => (config, layers),
            Ok(_) => return Err(invalid(image, "indexes nested in indexes are not rebuilt")),
            Err(e) => return Err(invalid(image, e)),
        };
        let docker = node.media_type == manifest::DOCKER_MANIFEST;
        let new_config = new_config(image, &config, &diff_id)?;
        let config_desc = Descriptor {
            digest: Digest::of(&new_config),
            size: new_config.len() as u64,
            ..config.clone()
        };
        made.insert(config_desc.digest.clone(), Bytes::from(new_config));
        // Edited in place: annotations and fields ferry does not model stay as they were.
        let mut m: Value = serde_json::from_slice(&node.bytes).map_err(|e| invalid(image, e))?;
        m["config"]["digest"] = Value::String(config_desc.digest.to_string());
        m["config"]["size"] = json!(config_desc.size);
        let added = new_layer(docker);
        m["layers"]
            .as_array_mut()
            .ok_or_else(|| invalid(image, "a manifest without layers"))?
            .push(json!({"mediaType": added.media_type, "digest": added.digest.to_string(), "size": added.size}));
        let mut all = layers.clone();
        all.push(added);
        let bytes = serde_json::to_vec(&m).map_err(|e| invalid(image, e))?;
        blobs.push(config_desc);
        blobs.extend(all);
        let node = Node {
            digest: Digest::of(&bytes),
            media_type: node.media_type.clone(),
            bytes: Bytes::from(bytes),
        };
        made.insert(node.digest.clone(), node.bytes.clone());
        Ok(node)
    };
    let root = match manifest::parse(&image.graph.root.bytes, Some(&image.graph.root.media_type)) {
        Ok((_, Parsed::Image { .. })) => rebuilt_image(&image.graph.root)?,
        Ok((_, Parsed::Index { .. })) => {
            let mut index: Value =
                serde_json::from_slice(&image.graph.root.bytes).map_err(|e| invalid(image, e))?;
            let children = index["manifests"]
                .as_array_mut()
                .ok_or_else(|| invalid(image, "an index without manifests"))?;
            for child in children.iter_mut() {
                let digest: Digest = child["digest"]
                    .as_str()
                    .unwrap_or("")
                    .parse()
                    .map_err(|e| invalid(image, e))?;
                let Some(node) = image.graph.manifests.iter().find(|n| n.digest == digest) else {
                    continue;
                };
                let new = rebuilt_image(node)?;
                child["digest"] = Value::String(new.digest.to_string());
                child["size"] = json!(new.bytes.len());
                manifests.push(new);
            }
            let bytes = serde_json::to_vec(&index).map_err(|e| invalid(image, e))?;
            let node = Node {
                digest: Digest::of(&bytes),
                media_type: image.graph.root.media_type.clone(),
                bytes: Bytes::from(bytes),
            };
            made.insert(node.digest.clone(), node.bytes.clone());
            node
        }
        Err(e) => return Err(invalid(image, e)),
    };
    let mut seen = std::collections::BTreeSet::new();
    blobs.retain(|d| seen.insert(d.digest.clone()));
    Ok(Rebuilt {
        graph: Graph {
            root,
            source_digest: None,
            platforms: image.graph.platforms.clone(),
            manifests,
            blobs,
        },
        made: Arc::new(made),
        notes,
    })
}

/// The `--cache-dir` of the image's `opm serve` command, if it has one.
fn cache_dir(image: &CatalogImage) -> Option<String> {
    let cmd = image.config["config"]["Cmd"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let args: Vec<&str> = cmd.iter().filter_map(Value::as_str).collect();
    args.iter()
        .enumerate()
        .find_map(|(i, a)| {
            a.strip_prefix("--cache-dir=")
                .map(str::to_string)
                .or_else(|| {
                    (*a == "--cache-dir").then(|| args.get(i + 1).map(|s| s.to_string()))?
                })
        })
        // The directory names a whiteout in the new layer: only a plain path in the image.
        .and_then(|dir| super::path_in_image(&dir))
}

/// The config with the new layer: its diff id, a history entry, and `opm serve` told not to
/// insist on the old cache.
fn new_config(
    image: &CatalogImage,
    config: &Descriptor,
    diff_id: &Digest,
) -> Result<Vec<u8>, BundleError> {
    let path = image.cache.path(&config.digest);
    let bytes = std::fs::read(&path).map_err(crate::bundle::io_err(&path))?;
    let mut c: Value =
        serde_json::from_slice(&bytes).map_err(|e| invalid(image, format!("config: {e}")))?;
    c["rootfs"]["diff_ids"]
        .as_array_mut()
        .ok_or_else(|| invalid(image, "config has no rootfs.diff_ids"))?
        .push(Value::String(diff_id.to_string()));
    if let Some(h) = c["history"].as_array_mut() {
        h.push(json!({
            "created": "1970-01-01T00:00:00Z",
            "created_by": "ferry: the catalog reduced to a selection",
        }));
    }
    if let Some(cmd) = c["config"]["Cmd"].as_array_mut() {
        let caches = cmd
            .iter()
            .any(|a| a.as_str().is_some_and(|a| a.starts_with("--cache-dir")));
        let told = cmd.iter().any(|a| {
            a.as_str()
                .is_some_and(|a| a.starts_with("--cache-enforce-integrity"))
        });
        if caches && !told {
            cmd.push(Value::String("--cache-enforce-integrity=false".into()));
        }
    }
    serde_json::to_vec(&c).map_err(|e| invalid(image, e))
}

/// The new layer: the catalog directory made opaque and holding `catalog.json`; the cache
/// directory, if any, removed.
fn layer_tar(configs: &str, cache: Option<&str>, catalog: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let dir = configs.trim_matches('/');
    let mut at = String::new();
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        at = if at.is_empty() {
            part.to_string()
        } else {
            format!("{at}/{part}")
        };
        append(&mut tar, &format!("{at}/"), tar::EntryType::Directory, &[])?;
    }
    append(
        &mut tar,
        &format!("{dir}/.wh..wh..opq"),
        tar::EntryType::Regular,
        &[],
    )?;
    append(
        &mut tar,
        &format!("{dir}/catalog.json"),
        tar::EntryType::Regular,
        catalog,
    )?;
    if let Some(cache) = cache.map(|c| c.trim_matches('/')).filter(|c| !c.is_empty()) {
        let (parent, name) = cache.rsplit_once('/').unwrap_or(("", cache));
        let whiteout = if parent.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{parent}/.wh.{name}")
        };
        append(&mut tar, &whiteout, tar::EntryType::Regular, &[])?;
    }
    tar.into_inner()
}

fn append(
    tar: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    data: &[u8],
) -> std::io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    tar.append_data(&mut h, name, data)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, std::io::Error> {
    use std::io::Write;
    let mut gz = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::new(6));
    gz.write_all(bytes)?;
    gz.finish()
}

/// A source serving what a rebuild made from memory and the rest from `base` (the catalog
/// image's own repository or archive).
pub struct Overlay<S> {
    pub made: Arc<BTreeMap<Digest, Bytes>>,
    pub base: S,
}

impl<S: Source> Source for Overlay<S> {
    fn label(&self) -> String {
        self.base.label()
    }

    async fn manifest(
        &self,
        reference: &str,
        media_type: Option<&str>,
    ) -> Result<Fetched, GraphError> {
        if let Some(bytes) = reference
            .parse::<Digest>()
            .ok()
            .and_then(|d| self.made.get(&d))
        {
            return Ok(Fetched {
                bytes: bytes.clone(),
                media_type: media_type.map(str::to_string),
                digest: Digest::of(bytes),
            });
        }
        self.base.manifest(reference, media_type).await
    }

    async fn blob(&self, desc: &Descriptor) -> Result<ByteStream, GraphError> {
        if let Some(bytes) = self.made.get(&desc.digest) {
            let one = bytes.clone();
            return Ok(Box::pin(futures_util::stream::once(async move { Ok(one) })));
        }
        self.base.blob(desc).await
    }
}
