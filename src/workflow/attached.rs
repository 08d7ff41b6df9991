//! What is attached to an image and must travel with it: cosign's signatures, attestations
//! and SBOMs under tags `sha256-<hex>.sig|.att|.sbom` in the image's repository, and OCI 1.1
//! referrers (the referrers API where the registry serves it, else the tag schema's index
//! `sha256-<hex>`). Each is a manifest of its own: found here, copied as an image is, its
//! digest unchanged, so it still names the image it signs.

use crate::reference::Reference;
use crate::registry::Registries;

/// cosign's tag suffixes, and what each holds.
const COSIGN: [(&str, &str); 3] = [
    (".sig", "signature"),
    (".att", "attestation"),
    (".sbom", "sbom"),
];

/// One artifact attached to an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The image it is attached to.
    pub of: Reference,
    /// Where it is: `repo:sha256-<hex>.sig`, `repo:sha256-<hex>` (a referrers index),
    /// `repo@sha256:...` (a referrer the API listed).
    pub reference: Reference,
    /// `signature`, `attestation`, `sbom`, `referrers`, or a referrer's artifactType.
    pub kind: String,
}

/// The artifacts attached to each of `images` (source name, where it is read from: they
/// differ under `--source-mirror`), named under the source name, eight images looked at a
/// time. An image that cannot be resolved is passed over: its copy will say why.
pub async fn discover(images: &[(Reference, Reference)], registries: &Registries) -> Vec<Attached> {
    use futures_util::StreamExt;
    let mut out: Vec<Attached> = futures_util::stream::iter(images)
        .map(|(image, pull_from)| of_one(image, pull_from, registries))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    out.sort_by(|a, b| (&a.of, &a.reference).cmp(&(&b.of, &b.reference)));
    out
}

async fn of_one(
    image: &Reference,
    pull_from: &Reference,
    registries: &Registries,
) -> Vec<Attached> {
    let mut out = Vec::new();
    let Ok(registry) = registries.get(pull_from.registry()) else {
        return out;
    };
    let repo = pull_from.repository();
    let at = pull_from
        .digest()
        .or(pull_from.tag())
        .unwrap_or("latest")
        .to_string();
    let Ok(Some(digest)) = registry.head_manifest(repo, &at).await else {
        return out;
    };
    let tag = format!("sha256-{}", digest.hex());
    for (suffix, kind) in COSIGN {
        let name = format!("{tag}{suffix}");
        if let Ok(Some(_)) = registry.head_manifest(repo, &name).await
            && let Ok(r) = image.with_tag(&name)
        {
            out.push(Attached {
                of: image.clone(),
                reference: r,
                kind: kind.to_string(),
            });
        }
    }
    match registry.referrers(repo, &digest).await {
        Ok(Some(listed)) => {
            for (d, artifact_type) in listed {
                if let Ok(r) = image.with_only_digest(d.as_str()) {
                    out.push(Attached {
                        of: image.clone(),
                        reference: r,
                        kind: artifact_type,
                    });
                }
            }
        }
        // No referrers API: the tag schema's index, if there is one.
        Ok(None) => {
            if let Ok(Some(_)) = registry.head_manifest(repo, &tag).await
                && let Ok(r) = image.with_tag(&tag)
            {
                out.push(Attached {
                    of: image.clone(),
                    reference: r,
                    kind: "referrers".into(),
                });
            }
        }
        Err(_) => {}
    }
    out
}
