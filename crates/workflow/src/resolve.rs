//! Reading what a run will copy before a byte of it moves: every image's graph and, when
//! signatures travel, what is attached to each image. An image's attachments are looked for
//! as soon as its root manifest is read, alongside the rest of its graph, and each manifest
//! discovery reads is the one its copy resolves from: a round of discovery of its own, with
//! its own reads, cost as much as carrying the signatures did.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use futures_util::{FutureExt, StreamExt};

use super::Result;
use ferry_core::reference::Reference;
use ferry_core::target::Target;
use ferry_oci::graph::attached::{Attached, Discovery, found};
use ferry_oci::graph::{Engine, Graph, GraphError, Repository, Root};
use ferry_oci::registry::{Fetched, Registries};

/// One image or attached artifact, and its graph (or why it could not be read).
pub(crate) struct Resolved {
    pub source: Reference,
    /// Where it is read from (`source`, or its name under a `--source-mirror`).
    pub pull_from: Reference,
    pub graph: std::result::Result<Graph, GraphError>,
    /// For an artifact attached to another image: what it is and whose.
    pub attached: Option<Attached>,
}

/// Reads every image of `images` and, when `signatures` is on, what is attached to each
/// (right after it), as many images at a time as the engine copies.
pub(crate) async fn resolve_all(
    images: &[Reference],
    mirrors: &BTreeMap<String, Target>,
    registries: &Registries,
    engine: &Engine,
    signatures: bool,
) -> Result<Vec<Resolved>> {
    let discovery = Discovery::new(engine.options().platforms.clone());
    let reader = Reader {
        mirrors,
        registries,
        engine,
        discovery: signatures.then_some(&discovery),
    };
    let per_image: Vec<Result<Vec<Resolved>>> =
        futures_util::stream::iter(images.iter().map(|image| reader.image(image)))
            .buffered(engine.options().jobs.max(1))
            .collect()
            .await;
    let mut out = Vec::new();
    for resolved in per_image {
        out.extend(resolved?);
    }
    Ok(out)
}

struct Reader<'a> {
    mirrors: &'a BTreeMap<String, Target>,
    registries: &'a Registries,
    engine: &'a Engine,
    /// `None`: attachments stay behind.
    discovery: Option<&'a Discovery>,
}

impl Reader<'_> {
    /// One image, then what is attached to it.
    async fn image(&self, image: &Reference) -> Result<Vec<Resolved>> {
        let pull_from = pull_from(image, self.mirrors)?;
        let repo = Repository::of(self.registries, &pull_from)?;
        let root = Root::of(&pull_from);
        let label = image.to_string();
        let fetched = match self.engine.read_root(&repo, &root, &label).await {
            Ok(f) => f,
            Err(e) => return Ok(vec![resolved(image.clone(), pull_from, Err(e), None)]),
        };
        let attachments = async {
            match self.discovery {
                Some(d) => {
                    self.attachments(d, image, &pull_from, &repo, &fetched)
                        .await
                }
                None => Ok(Vec::new()),
            }
        };
        let own = self
            .engine
            .resolve_from(&repo, &root, fetched.clone(), &label);
        let (own, attachments) = futures_util::future::join(own, attachments).await;
        let mut all = vec![resolved(image.clone(), pull_from, own, None)];
        all.extend(attachments?);
        Ok(all)
    }

    /// What is attached to `image` (its root `fetched` from `repo`), each with its graph,
    /// resolved from the manifest discovery read where it read one.
    async fn attachments(
        &self,
        discovery: &Discovery,
        image: &Reference,
        image_from: &Reference,
        repo: &Repository,
        fetched: &Fetched,
    ) -> Result<Vec<Resolved>> {
        let registry = self.registries.get(image_from.registry())?;
        let read: Mutex<HashMap<String, Fetched>> = Mutex::default();
        let look = |tag: String| {
            let read = &read;
            async move {
                let root = Root {
                    reference: tag.clone(),
                    media_type: None,
                    digest: None,
                    whole: true,
                };
                let got = found(self.engine.read_root(repo, &root, &tag).await)?;
                if let Some(f) = &got {
                    // Only this image's reads live in the map: a poisoned lock is still whole.
                    read.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(tag, f.clone());
                }
                Ok(got)
            }
            .boxed()
        };
        let found = discovery
            .on(image, &registry, image_from.repository(), fetched, &look)
            .await;
        let mut read = read.into_inner().unwrap_or_else(|e| e.into_inner());
        let graphs = found.into_iter().map(|a| {
            let early = a.reference.tag().and_then(|t| read.remove(t));
            async move {
                let pull_from = pull_from(&a.reference, self.mirrors)?;
                let repo = Repository::of(self.registries, &pull_from)?;
                let root = Root {
                    whole: true,
                    ..Root::of(&pull_from)
                };
                let label = a.reference.to_string();
                let graph = match early {
                    Some(f) => self.engine.resolve_from(&repo, &root, f, &label).await,
                    None => self.engine.resolve(&repo, &root, &label).await,
                };
                Ok(resolved(a.reference.clone(), pull_from, graph, Some(a)))
            }
        });
        futures_util::future::join_all(graphs)
            .await
            .into_iter()
            .collect()
    }
}

fn resolved(
    source: Reference,
    pull_from: Reference,
    graph: std::result::Result<Graph, GraphError>,
    attached: Option<Attached>,
) -> Resolved {
    Resolved {
        source,
        pull_from,
        graph,
        attached,
    }
}

/// Where `source` is read from: itself, or its name under its host's `--source-mirror`.
pub(super) fn pull_from(
    source: &Reference,
    mirrors: &BTreeMap<String, Target>,
) -> Result<Reference> {
    // The host's own entry, else the most specific pattern that matches it (`*.corp`, `*`).
    let host = source.registry();
    let found = mirrors.get(host).or_else(|| {
        mirrors
            .iter()
            .filter(|(pattern, _)| pattern.contains('*') && super::glob_match(pattern, host))
            .max_by_key(|(pattern, _)| pattern.len())
            .map(|(_, m)| m)
    });
    Ok(match found {
        Some(m) => m
            .map(source, ferry_core::target::Layout::Path)
            .map_err(|e| super::WorkflowError::Invalid(e.to_string()))?,
        None => source.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_takes_its_own_mirror_else_the_most_specific_pattern() {
        let mirrors: BTreeMap<String, Target> = [
            ("quay.io", "own.example/quay"),
            ("*.corp.example", "corp.example/internal"),
            ("*", "everything.example/all"),
        ]
        .into_iter()
        .map(|(h, t)| (h.to_string(), t.parse().unwrap()))
        .collect();
        let from = |r: &str| {
            pull_from(&r.parse().unwrap(), &mirrors)
                .unwrap()
                .to_string()
        };
        assert_eq!(from("quay.io/a/b:1"), "own.example/quay/a/b:1");
        assert_eq!(
            from("git.corp.example/team/x:2"),
            "corp.example/internal/team/x:2"
        );
        assert_eq!(from("ghcr.io/o/y:3"), "everything.example/all/o/y:3");
    }
}
