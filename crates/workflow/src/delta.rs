//! `bundle --since RECEIPT|BUNDLE...`: the layers the site already holds are left out of the
//! bundle (and not downloaded); manifests, indexes and configs always travel, so the bundle
//! still verifies and push can check the rest is at the site before it writes anything.

use std::collections::BTreeMap;
use std::path::PathBuf;

use futures_util::StreamExt;

use super::{Result, WorkflowError};
use ferry_core::digest::Digest;
use ferry_core::error::Category;
use ferry_core::manifest::Descriptor;
use ferry_core::reference::Reference;
use ferry_core::target::{Layout, Target};
use ferry_oci::bundle::Delta;
use ferry_oci::bundle::ends::ArchiveSource;
use ferry_oci::bundle::pull::PulledImage;
use ferry_oci::bundle::receipt::{Held, Place, Receipt};
use ferry_oci::graph::{CopyJob, Graph, GraphError, Repository, Sink, Source};
use ferry_oci::registry::Registries;

/// Leaves out of `pulled` every layer the receipts list (same digest, same size) and says
/// which, against which receipt.
pub(crate) fn leave_out(since: &[PathBuf], pulled: &mut [PulledImage]) -> Result<Delta> {
    let parts = since
        .iter()
        .map(|p| Receipt::load(p))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let receipt = Receipt::merge(parts);
    let held: BTreeMap<&Digest, &Held> = receipt.blobs.iter().map(|h| (&h.digest, h)).collect();
    let mut expected: BTreeMap<Digest, Held> = BTreeMap::new();
    for image in pulled.iter_mut() {
        let graph = &mut image.graph;
        graph.blobs.retain(|d| match held.get(&d.digest) {
            Some(h) if h.size == d.size && !is_config(&d.media_type) => {
                expected.insert(d.digest.clone(), (*h).clone());
                false
            }
            _ => true,
        });
        image
            .blobs
            .retain(|(digest, _)| !expected.contains_key(digest));
    }
    Ok(Delta {
        receipt: receipt.digest(),
        receipt_from: receipt.from,
        expected: expected.into_values().collect(),
    })
}

/// A config travels with its manifest: small, and what verify and the site's tools read.
fn is_config(media_type: &str) -> bool {
    media_type.contains("config") || media_type == "application/vnd.docker.container.image.v1+json"
}

/// Before a delta's push writes anything: each layer it left out must be in every target
/// repository an image that uses it goes to, there already or mounted from where the
/// receipt says the site holds it. Returns how many were mounted; any missing is an error
/// naming each blob, its image and the receipt, and nothing is pushed.
pub(crate) async fn check_site(
    delta: &Delta,
    jobs: &[CopyJob<ArchiveSource>],
    graphs: &[std::result::Result<Graph, GraphError>],
    site: (&Target, Layout),
    registries: &Registries,
) -> Result<usize> {
    let mut asks = Vec::new();
    for (job, graph) in jobs.iter().zip(graphs) {
        let Ok(graph) = graph else { continue };
        for desc in graph.blobs.iter().filter(|d| !job.from.holds(d)) {
            let Some(held) = delta.expects(&desc.digest, desc.size) else {
                continue;
            };
            asks.push(async move {
                let found = find_at_site(desc, held, &job.target, site, registries).await;
                (job, desc, held, found)
            });
        }
    }
    let results: Vec<_> = futures_util::stream::iter(asks)
        .buffer_unordered(8)
        .collect()
        .await;
    let mut missing = Vec::new();
    let mut mounted = 0;
    for (job, desc, held, found) in results {
        match found {
            Ok(Found::Present) => {}
            Ok(Found::Mounted) => mounted += 1,
            Ok(Found::Missing) => missing.push(format!(
                "{} ({}), a layer of {}: not in {}/{}, nor mountable from the {} the receipt names",
                desc.digest,
                ferry_core::text::Bytes(desc.size),
                job.source,
                job.target.registry(),
                job.target.repository(),
                held.at,
            )),
            Err(e) => {
                return Err(WorkflowError::from(e)
                    .in_step("checking the site for the delta's layers: nothing pushed"));
            }
        }
    }
    missing.sort();
    if missing.is_empty() {
        return Ok(mounted);
    }
    Err(WorkflowError::Incomplete {
        message: format!(
            "this is a delta bundle on receipt {} ({}), and the site lacks {} it left out: nothing pushed\n  {}\n(push the bundle the receipt was made from first, to the same --to, or ask the vendor for a full bundle)",
            delta.receipt,
            delta.receipt_from.join(", "),
            ferry_core::text::counted(missing.len(), "layer"),
            missing.join("\n  ")
        ),
        category: Category::Registry,
    })
}

enum Found {
    Present,
    Mounted,
    Missing,
}

/// The blob in `target`'s repository, else mounted there from the receipt's place when that
/// place is a repository of the same registry.
async fn find_at_site(
    desc: &Descriptor,
    held: &Held,
    target: &Reference,
    site: (&Target, Layout),
    registries: &Registries,
) -> std::result::Result<Found, GraphError> {
    let repo = Repository::of(registries, target)?;
    if repo.has_blob(desc).await? {
        return Ok(Found::Present);
    }
    let from = match &held.at {
        Place::Image(source) => source
            .parse::<Reference>()
            .ok()
            .and_then(|r| site.0.map(&r, site.1).ok()),
        Place::Repository(r) => format!("{r}:t").parse::<Reference>().ok(),
    };
    match from.filter(|f| f.registry() == target.registry()) {
        Some(from) if from.repository() != target.repository() => {
            if repo.mount(desc, from.repository()).await? && repo.has_blob(desc).await? {
                Ok(Found::Mounted)
            } else {
                Ok(Found::Missing)
            }
        }
        _ => Ok(Found::Missing),
    }
}
