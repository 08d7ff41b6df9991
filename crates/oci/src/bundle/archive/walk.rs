//! The walk from `index.json` down to configs and layers, through the archive's own bytes:
//! what `verify` checks, and what `materialize` keeps of a compressed bundle.

use std::collections::BTreeSet;

use super::Archive;
use crate::bundle::BundleError;
use ferry_core::digest::Digest;
use ferry_core::manifest::{self, Descriptor, Parsed};

/// What the walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// Every digest reached, present or not.
    pub reached: BTreeSet<Digest>,
    /// Manifests and indexes read and parsed.
    pub manifests_checked: usize,
    /// Each descriptor that is missing, of the wrong size, or does not parse, named.
    pub problems: Vec<String>,
    /// Blobs a delta left out, reached and expected at the site (digest, size).
    pub expected: BTreeSet<(Digest, u64)>,
}

impl Archive {
    /// Walks every descriptor reachable from `index.json`: present, of the right size, each
    /// manifest's bytes matching its digest, indexes nested no deeper than the graph walker
    /// reads them (`push` refuses deeper ones). Blob contents are not hashed here.
    pub fn walk(&self) -> Result<Walk, BundleError> {
        let mut walk = Walk::default();
        // A delta's layers are named but absent: the receipt says the site holds them.
        let delta = self.meta().ok().flatten().and_then(|m| m.delta);
        let mut pending: Vec<(String, Descriptor, usize)> = self
            .images()?
            .into_iter()
            .map(|n| {
                let from = format!("index.json ({})", n.name.as_deref().unwrap_or("unnamed"));
                (from, n.descriptor, 0)
            })
            .collect();
        while let Some((from, d, depth)) = pending.pop() {
            if !walk.reached.insert(d.digest.clone()) {
                continue;
            }
            let name = format!("blobs/sha256/{}", d.digest.hex());
            match self.blob(&d.digest) {
                None if !is_manifest(&d.media_type)
                    && delta
                        .as_ref()
                        .is_some_and(|x| x.expects(&d.digest, d.size).is_some()) =>
                {
                    walk.expected.insert((d.digest.clone(), d.size));
                    continue;
                }
                None => {
                    walk.problems
                        .push(format!("{name}: missing (named by {from})"));
                    continue;
                }
                Some(e) if e.size != d.size => {
                    walk.problems
                        .push(format!("{name}: {} bytes, {from} says {}", e.size, d.size));
                    continue;
                }
                Some(_) => {}
            }
            if !is_manifest(&d.media_type) {
                continue;
            }
            if depth > crate::graph::MAX_DEPTH {
                walk.problems.push(format!(
                    "{name}: indexes nested more than {} deep (named by {from}): push refuses it",
                    crate::graph::MAX_DEPTH
                ));
                continue;
            }
            let bytes = match self.read_blob(&d.digest) {
                Ok(b) => b,
                Err(e) => {
                    walk.problems.push(ferry_core::error::chain(&e));
                    continue;
                }
            };
            walk.manifests_checked += 1;
            let children = match manifest::parse(&bytes, Some(&d.media_type)) {
                Ok((_, Parsed::Index { manifests })) => manifests,
                Ok((_, Parsed::Image { config, layers })) => {
                    std::iter::once(config).chain(layers).collect()
                }
                Err(e) => {
                    walk.problems.push(format!("{name}: {e}"));
                    continue;
                }
            };
            pending.extend(children.into_iter().map(|c| (name.clone(), c, depth + 1)));
        }
        Ok(walk)
    }
}

impl Archive {
    /// Every digest one image's graph names (itself, child manifests, configs, layers), with
    /// its size as the descriptors say, present in the archive or not (a delta's expected
    /// blobs are named but absent).
    pub fn blobs_of(&self, root: &Descriptor) -> Result<Vec<(Digest, u64)>, BundleError> {
        let mut seen: std::collections::BTreeMap<Digest, u64> = Default::default();
        let mut pending = vec![(root.clone(), 0)];
        while let Some((d, depth)) = pending.pop() {
            if seen.insert(d.digest.clone(), d.size).is_some()
                || !is_manifest(&d.media_type)
                || depth > crate::graph::MAX_DEPTH
                || self.blob(&d.digest).is_none()
            {
                continue;
            }
            let bytes = self.read_blob(&d.digest)?;
            let children = match manifest::parse(&bytes, Some(&d.media_type)) {
                Ok((_, Parsed::Index { manifests })) => manifests,
                Ok((_, Parsed::Image { config, layers })) => {
                    std::iter::once(config).chain(layers).collect()
                }
                Err(_) => continue,
            };
            pending.extend(children.into_iter().map(|c| (c, depth + 1)));
        }
        Ok(seen.into_iter().collect())
    }
}

fn is_manifest(media_type: &str) -> bool {
    matches!(
        media_type,
        manifest::OCI_INDEX
            | manifest::OCI_MANIFEST
            | manifest::DOCKER_LIST
            | manifest::DOCKER_MANIFEST
    )
}
