//! A directory of an image as a container sees it: the layers applied in order, whiteouts
//! (`.wh.NAME`, and `.wh..wh..opq` for a directory made opaque) honoured, only regular files
//! kept, every name checked to stay inside the directory.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path};

use crate::bundle::cache::BlobCache;
use ferry_core::manifest::Descriptor;

/// The most a catalog directory may hold, uncompressed: the largest public catalogs are a
/// few hundred MiB.
const MAX_CATALOG: u64 = 2 << 30;

/// Writes the files under `dir` (an absolute path in the image) into `out`.
pub(super) fn extract(
    cache: &BlobCache,
    layers: &[Descriptor],
    dir: &str,
    out: &Path,
) -> Result<(), String> {
    let prefix = dir.trim_matches('/').to_string();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut total = 0u64;
    for layer in layers {
        let file = std::fs::File::open(cache.path(&layer.digest)).map_err(|e| e.to_string())?;
        let mut archive = tar::Archive::new(decompressed(file, &layer.media_type)?);
        for entry in archive
            .entries()
            .map_err(|e| format!("layer {}: {e}", layer.digest))?
        {
            let mut entry = entry.map_err(|e| format!("layer {}: {e}", layer.digest))?;
            let path = entry.path().map_err(|e| e.to_string())?.into_owned();
            let Some(name) = clean(&path) else { continue };
            let Some(inside) = under(&name, &prefix) else {
                continue;
            };
            let base = inside.rsplit('/').next().unwrap_or("");
            let parent = inside.rsplit_once('/').map_or("", |(p, _)| p);
            if base == ".wh..wh..opq" {
                // What lower layers put under `parent` (the directory itself when empty) goes.
                if parent.is_empty() {
                    files.clear();
                } else {
                    let p = format!("{parent}/");
                    files.retain(|k, _| !k.starts_with(&p));
                }
                continue;
            }
            if let Some(gone) = base.strip_prefix(".wh.") {
                let gone = if parent.is_empty() {
                    gone.to_string()
                } else {
                    format!("{parent}/{gone}")
                };
                files.retain(|k, _| k != &gone && !k.starts_with(&format!("{gone}/")));
                continue;
            }
            if !entry.header().entry_type().is_file() {
                continue;
            }
            total += entry.size();
            if total > MAX_CATALOG {
                return Err(format!(
                    "its catalog directory /{prefix} holds more than 2 GiB"
                ));
            }
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
            files.insert(inside, bytes);
        }
    }
    if files.is_empty() {
        return Err(format!("no files under /{prefix} in its layers"));
    }
    for (name, bytes) in files {
        let path = out.join(&name);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// A layer's tar stream, by its media type (gzip, zstd, or none).
fn decompressed(file: std::fs::File, media_type: &str) -> Result<Box<dyn Read>, String> {
    let buffered = std::io::BufReader::new(file);
    Ok(if media_type.ends_with("zstd") {
        Box::new(zstd::Decoder::new(buffered).map_err(|e| e.to_string())?)
    } else if media_type.ends_with("gzip") || media_type.ends_with(".tar.gzip") {
        Box::new(flate2::read::GzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    })
}

/// A layer entry's name as plain components; one that climbs out is passed over.
fn clean(path: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?.to_string()),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// `name` relative to `prefix`, when it is inside it (a whiteout of `prefix` itself counts
/// as its opaque marker).
fn under(name: &str, prefix: &str) -> Option<String> {
    if prefix.is_empty() {
        return Some(name.to_string());
    }
    let (parent, base) = name.rsplit_once('/').unwrap_or(("", name));
    if base == format!(".wh.{}", prefix.rsplit('/').next().unwrap_or(prefix))
        && parent == prefix.rsplit_once('/').map_or("", |(p, _)| p)
    {
        return Some(".wh..wh..opq".to_string());
    }
    name.strip_prefix(&format!("{prefix}/")).map(str::to_string)
}
