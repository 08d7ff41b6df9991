//! Referrers at a target that has no referrers API (Distribution 2.8, older Harbor and
//! Artifactory): after a referrer is pushed by digest, the index tagged
//! `sha256-<subject hex>` in its repository must list it, or nothing there finds it (OCI
//! distribution spec 1.1, "referrers tag schema"). Where the API answers, the registry
//! indexes the `subject` itself and nothing is written.

use std::collections::BTreeMap;

use crate::graph::{CopyReport, Node};
use crate::registry::{Registries, RegistryError};
use ferry_core::digest::Digest;
use ferry_core::manifest::OCI_INDEX;
use ferry_core::reference::Reference;

/// A pushed manifest's entry in its subject's referrers index.
struct Referrer {
    report: usize,
    descriptor: serde_json::Value,
}

/// Lists every referrer pushed by digest (`targets[i]`, the name `reports[i]` was pushed
/// to, has no tag; `roots[i]`, the manifest pushed) under its subject's tag-schema index
/// where the target has no referrers API. A failure is put on that referrer's report (the
/// run then fails) and returned as words.
pub async fn list_without_api(
    reports: &mut [CopyReport],
    targets: &[&Reference],
    roots: &[Option<Node>],
    registries: &Registries,
) -> Vec<String> {
    let mut by_subject: BTreeMap<(String, String, Digest), Vec<Referrer>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, ((report, target), root)) in reports.iter().zip(targets).zip(roots).enumerate() {
        if report.error.is_some() || target.tag().is_some() {
            continue;
        }
        let Some((subject, descriptor)) = root.as_ref().and_then(referrer) else {
            continue;
        };
        let key = (
            target.registry().to_string(),
            target.repository().to_string(),
            subject,
        );
        by_subject.entry(key).or_default().push(Referrer {
            report: i,
            descriptor,
        });
    }
    for ((host, repo, subject), listed) in by_subject {
        if let Err(e) = list(registries, &host, &repo, &subject, &listed).await {
            let message = format!(
                "{host}/{repo}: cannot list referrers of {subject} in its tag sha256-{} (no \
                 referrers API there): {e}",
                subject.hex()
            );
            problems.extend(listed.iter().map(|r| (r.report, message.clone())));
        }
    }
    let mut said = Vec::new();
    for (i, message) in problems {
        reports[i].error.get_or_insert_with(|| message.clone());
        if !said.contains(&message) {
            said.push(message);
        }
    }
    said
}

/// The subject a pushed manifest names, and its descriptor for the referrers index; `None`
/// for a manifest without a subject.
fn referrer(pushed: &Node) -> Option<(Digest, serde_json::Value)> {
    let doc = serde_json::from_slice::<serde_json::Value>(&pushed.bytes).ok()?;
    let subject = doc["subject"]["digest"].as_str()?.parse().ok()?;
    let media_type = doc["mediaType"].as_str().unwrap_or(&pushed.media_type);
    let mut descriptor = serde_json::json!({
        "mediaType": media_type,
        "digest": pushed.digest.as_str(),
        "size": pushed.bytes.len(),
    });
    // The spec's artifactType: the manifest's own, else its config's media type.
    if let Some(kind) = doc["artifactType"]
        .as_str()
        .or(doc["config"]["mediaType"].as_str())
    {
        descriptor["artifactType"] = kind.into();
    }
    if doc["annotations"].is_object() {
        descriptor["annotations"] = doc["annotations"].clone();
    }
    Some((subject, descriptor))
}

/// Adds `listed` to the tag-schema index of `subject`, unless the referrers API answers.
async fn list(
    registries: &Registries,
    host: &str,
    repo: &str,
    subject: &Digest,
    listed: &[Referrer],
) -> Result<(), RegistryError> {
    let registry = registries.get(host)?;
    if registry.referrers(repo, subject).await?.is_some() {
        return Ok(());
    }
    let tag = format!("sha256-{}", subject.hex());
    let mut index = match registry.get_manifest(repo, &tag).await {
        Ok(f) => match serde_json::from_slice::<serde_json::Value>(&f.bytes) {
            Ok(v) if v["manifests"].is_array() => v,
            // Never overwrite what someone else keeps under that tag.
            _ => {
                return Err(RegistryError::Integrity(format!(
                    "{host}/{repo}:{tag} holds something other than an index"
                )));
            }
        },
        Err(RegistryError::NotFound { .. }) => {
            serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
        }
        Err(e) => return Err(e),
    };
    let mut manifests = index["manifests"].as_array().cloned().unwrap_or_default();
    let before = manifests.len();
    for r in listed {
        if !manifests
            .iter()
            .any(|m| m["digest"] == r.descriptor["digest"])
        {
            manifests.push(r.descriptor.clone());
        }
    }
    if manifests.len() == before {
        return Ok(());
    }
    index["manifests"] = manifests.into();
    let bytes = bytes::Bytes::from(index.to_string());
    registry.put_manifest(repo, &tag, &bytes, OCI_INDEX).await?;
    Ok(())
}
