//! What is attached to an image and must travel with it: cosign's signatures, attestations
//! and SBOMs under tags `sha256-<hex>.sig|.att|.sbom` in the image's repository, and OCI 1.1
//! referrers (the referrers API where the registry serves it, else the tag schema's index
//! `sha256-<hex>`). Each is a manifest of its own: found here, copied as an image is, its
//! digest unchanged, so it still names the image it signs.
//!
//! Looked for on the image, on each platform child of an index that is copied (`cosign sign
//! --recursive` signs those), and on what was found (a signature on an SBOM), [`MAX_DEPTH`]
//! levels down and at most [`MAX_PER_IMAGE`] artifacts per image: a registry cannot make
//! this endless.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::graph::GraphError;
use crate::registry::{Fetched, Registries, Registry, RegistryError};
use ferry_core::digest::Digest;
use ferry_core::manifest::{Parsed, PlatformFilter};
use ferry_core::reference::Reference;

/// cosign's tag suffixes, and what each holds.
const COSIGN: [(&str, &str); 3] = [
    (".sig", "signature"),
    (".att", "attestation"),
    (".sbom", "sbom"),
];

/// Artifacts on artifacts are followed this many levels below the image and its children.
pub const MAX_DEPTH: usize = 2;

/// No image plausibly has more attached to it; past this, the rest is passed over.
pub const MAX_PER_IMAGE: usize = 256;

/// Platform children of one index looked at together.
const CHILDREN_AT_ONCE: usize = 4;

/// One artifact attached to an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The image it travels with.
    pub of: Reference,
    /// The manifest it is attached to when that is not the image's own: a platform child
    /// of the image's index, or another artifact (a signature on an SBOM).
    pub subject: Option<Digest>,
    /// Where it is: `repo:sha256-<hex>.sig`, `repo:sha256-<hex>` (a referrers index),
    /// `repo@sha256:...` (a referrer the API listed).
    pub reference: Reference,
    /// `signature`, `attestation`, `sbom`, `referrers`, or a referrer's artifactType.
    pub kind: String,
}

impl Attached {
    /// A cosign signature of the image itself (not of a child or another artifact).
    pub fn signs_the_image(&self) -> bool {
        self.kind == "signature" && self.subject.is_none()
    }
}

/// The artifacts attached to each of `images` (source name, where it is read from: they
/// differ under `--source-mirror`), named under the source name, eight images looked at a
/// time. An image that cannot be read is passed over: its copy will say why.
pub async fn discover(
    images: &[(Reference, Reference)],
    platforms: &PlatformFilter,
    registries: &Registries,
) -> Vec<Attached> {
    use futures_util::StreamExt;
    let discovery = Discovery::new(platforms.clone());
    futures_util::stream::iter(images)
        .map(|(image, pull_from)| discovery.of(image, pull_from, registries))
        .buffered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Reads a manifest of the image's repository by tag: `None` where the tag names nothing.
pub type Look<'a> =
    dyn Fn(String) -> BoxFuture<'a, Result<Option<Fetched>, GraphError>> + Send + Sync + 'a;

/// A read of a manifest that did not find it: `None`; any other failure stays an error.
pub fn found(read: Result<Fetched, GraphError>) -> Result<Option<Fetched>, GraphError> {
    match read {
        Ok(f) => Ok(Some(f)),
        Err(GraphError::Registry(RegistryError::NotFound { .. })) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Looks for what is attached to images, remembering each repository's tag list for the run.
#[derive(Default)]
pub struct Discovery {
    tags: TagLists,
    /// The platform children of an index that are copied, and so looked at.
    platforms: PlatformFilter,
}

impl Discovery {
    /// Looks at the platform children `platforms` keeps (those copied), not the others.
    pub fn new(platforms: PlatformFilter) -> Self {
        Discovery {
            platforms,
            ..Discovery::default()
        }
    }

    /// What is attached to `image` (read at `pull_from`). An image that cannot be read has
    /// nothing found: its copy will say why.
    pub async fn of(
        &self,
        image: &Reference,
        pull_from: &Reference,
        registries: &Registries,
    ) -> Vec<Attached> {
        let Ok(registry) = registries.get(pull_from.registry()) else {
            return Vec::new();
        };
        let repo = pull_from.repository();
        let Ok(root) = registry.get_manifest(repo, pull_from.manifest_ref()).await else {
            return Vec::new();
        };
        let registry = registry.as_ref();
        let look = |tag: String| {
            async move { found(registry.get_manifest(repo, &tag).await.map_err(Into::into)) }
                .boxed()
        };
        self.on(image, registry, repo, &root, &look).await
    }

    /// What is attached to `image`, whose root manifest `root` was read from `repo` at
    /// `registry` already; the artifacts' manifests are read through `look`. Sorted by where
    /// each is, each once.
    pub async fn on(
        &self,
        image: &Reference,
        registry: &Registry,
        repo: &str,
        root: &Fetched,
        look: &Look<'_>,
    ) -> Vec<Attached> {
        let tags = self.tags.of(registry, repo).await;
        let children = kept_children(root, &self.platforms);
        let mut out = walk(image, registry, repo, root, &children, tags.as_ref(), look).await;
        out.sort_by(|a, b| a.reference.cmp(&b.reference));
        out.dedup_by(|a, b| a.reference == b.reference);
        out
    }
}

/// Each repository's tags, listed once per run: one request tells which of the cosign and
/// tag-schema tags exist for every image and child there, instead of four per manifest.
/// `None` where the registry does not list tags (each is then asked for).
#[derive(Default)]
struct TagLists(std::sync::Mutex<std::collections::HashMap<String, Arc<TagList>>>);

type TagList = tokio::sync::OnceCell<Option<BTreeSet<String>>>;

impl TagLists {
    async fn of(&self, registry: &Registry, repo: &str) -> Option<BTreeSet<String>> {
        let cell = {
            // Only cells live in the map: a panic elsewhere cannot leave it inconsistent.
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(format!("{}/{repo}", registry.host()))
                .or_default()
                .clone()
        };
        cell.get_or_init(|| async {
            let listed = registry.tags(repo).await.ok().flatten();
            listed.map(|t| t.into_iter().collect())
        })
        .await
        .clone()
    }
}

/// A manifest to look for artifacts on, and how far below the image it is.
struct Subject {
    digest: Digest,
    /// `None` for the image's own manifest.
    named: Option<Digest>,
    depth: usize,
}

async fn walk(
    image: &Reference,
    registry: &Registry,
    repo: &str,
    root: &Fetched,
    children: &[Digest],
    tags: Option<&BTreeSet<String>>,
    look: &Look<'_>,
) -> Vec<Attached> {
    use futures_util::StreamExt;
    let mut pending = vec![Subject {
        digest: root.digest.clone(),
        named: None,
        depth: 0,
    }];
    pending.extend(children.iter().map(|d| Subject {
        named: Some(d.clone()),
        digest: d.clone(),
        depth: 0,
    }));
    let mut seen: BTreeSet<Digest> = pending.iter().map(|s| s.digest.clone()).collect();
    let mut out = Vec::new();
    while !pending.is_empty() && out.len() < MAX_PER_IMAGE {
        let level = std::mem::take(&mut pending);
        let found: Vec<(Subject, Vec<Found>)> = futures_util::stream::iter(level)
            .map(|s| async move {
                let found = on_subject(registry, repo, &s.digest, tags, look).await;
                (s, found)
            })
            .buffer_unordered(CHILDREN_AT_ONCE)
            .collect()
            .await;
        for (subject, found) in found {
            for f in found {
                let Ok(reference) = (match &f.at {
                    At::Tag(t) => image.with_tag(t),
                    At::Digest(d) => image.with_only_digest(d.as_str()),
                }) else {
                    continue;
                };
                if out.len() >= MAX_PER_IMAGE {
                    break;
                }
                if subject.depth < MAX_DEPTH {
                    for d in f.digests.iter().filter(|d| seen.insert((*d).clone())) {
                        pending.push(Subject {
                            digest: d.clone(),
                            named: Some(d.clone()),
                            depth: subject.depth + 1,
                        });
                    }
                }
                out.push(Attached {
                    of: image.clone(),
                    subject: subject.named.clone(),
                    reference,
                    kind: f.kind,
                });
            }
        }
    }
    out
}

/// The children of an image's index that `platforms` keeps; none for an image manifest (or
/// one that does not parse: its copy will say why).
fn kept_children(root: &Fetched, platforms: &PlatformFilter) -> Vec<Digest> {
    match ferry_core::manifest::parse(&root.bytes, root.media_type.as_deref()) {
        Ok((_, Parsed::Index { manifests })) => manifests
            .into_iter()
            .filter(|d| platforms.keeps(d))
            .map(|d| d.digest)
            .collect(),
        _ => Vec::new(),
    }
}

/// The digests an index lists (`manifests[].digest`); none for anything else.
fn listed(bytes: &[u8]) -> Vec<Digest> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    v["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["digest"].as_str()?.parse().ok())
        .collect()
}

enum At {
    Tag(String),
    Digest(Digest),
}

/// An artifact found on a subject: where, what, and the manifests it is or lists (to look
/// for artifacts on in turn).
struct Found {
    at: At,
    kind: String,
    digests: Vec<Digest>,
}

/// Whether `tags` (the repository's list, when the registry gave one) may hold `tag`.
fn may_have(tags: Option<&BTreeSet<String>>, tag: &str) -> bool {
    tags.is_none_or(|t| t.contains(tag))
}

/// What `look` says of `tag`: nothing when it names nothing; a manifest that exists but
/// cannot be read is still found (with nothing to look for below it): its copy says why.
async fn looked(look: &Look<'_>, tag: &str) -> Option<Option<Fetched>> {
    match look(tag.to_string()).await {
        Ok(Some(f)) => Some(Some(f)),
        Ok(None) => None,
        Err(_) => Some(None),
    }
}

async fn on_subject(
    registry: &Registry,
    repo: &str,
    subject: &Digest,
    tags: Option<&BTreeSet<String>>,
    look: &Look<'_>,
) -> Vec<Found> {
    let tag = format!("sha256-{}", subject.hex());
    let mut out = Vec::new();
    for (suffix, kind) in COSIGN {
        let name = format!("{tag}{suffix}");
        if !may_have(tags, &name) {
            continue;
        }
        if let Some(fetched) = looked(look, &name).await {
            out.push(Found {
                at: At::Tag(name),
                kind: kind.to_string(),
                digests: fetched.map(|f| f.digest).into_iter().collect(),
            });
        }
    }
    match registry.referrers(repo, subject).await {
        Ok(Some(listed)) => out.extend(listed.into_iter().map(|(d, artifact_type)| Found {
            at: At::Digest(d.clone()),
            kind: artifact_type,
            digests: vec![d],
        })),
        // No referrers API: the tag schema's index, if there is one.
        Ok(None) if may_have(tags, &tag) => {
            if let Some(fetched) = looked(look, &tag).await {
                out.push(Found {
                    at: At::Tag(tag),
                    kind: "referrers".into(),
                    digests: fetched.map(|f| listed(&f.bytes)).unwrap_or_default(),
                });
            }
        }
        Ok(None) | Err(_) => {}
    }
    out
}
