//! Objects applied only where their kind is served: what ferry writes as alternatives for
//! clusters of different kinds (a catalog's `CatalogSource` for OLM v0 and `ClusterCatalog`
//! for OLM v1; a cluster runs one of them) carries [`WHEN_SERVED`], and the one this
//! cluster does not serve is skipped, said, instead of failing the whole install. An object
//! without the annotation whose kind is not served fails as before.

use std::collections::BTreeSet;

use crate::cluster::Cluster;
use crate::listen::{ApplyEvent, Listener};
use crate::plan::Object;

/// The annotation; its value says what serves the kind (`OLM v1`), for the message.
pub const WHEN_SERVED: &str = "ferry.dev/apply-when-served";

/// `objects` less those marked [`WHEN_SERVED`] whose kind the cluster does not serve and no
/// CRD among `objects` defines; each one left out is said, and `Listener::unserved` when
/// every marked one was.
pub fn where_served(
    objects: Vec<Object>,
    cluster: &Cluster,
    reporter: &dyn Listener,
) -> Vec<Object> {
    let defined: BTreeSet<(String, String)> = objects
        .iter()
        .filter(|o| o.kind == "CustomResourceDefinition")
        .filter_map(crate::plan::crd_names)
        .collect();
    let served = |o: &Object| {
        let group = o.api_version.split_once('/').map_or("", |(g, _)| g);
        cluster.serves(&o.api_version, &o.kind)
            || defined.contains(&(group.to_string(), o.kind.clone()))
    };
    let (mut marked, mut kept_marked, mut skipped) = (0, 0, BTreeSet::new());
    let kept = objects
        .into_iter()
        .filter(|o| {
            let Some(by) = o.annotation(WHEN_SERVED) else {
                return true;
            };
            marked += 1;
            if served(o) {
                kept_marked += 1;
                return true;
            }
            reporter.apply(&ApplyEvent::Skipped {
                object: o,
                why: format!(
                    "{} {} is not served here ({by} is not installed); ferry wrote it for \
                     clusters that run {by}",
                    o.api_version, o.kind
                ),
            });
            skipped.insert(by.to_string());
            false
        })
        .collect();
    if marked > 0 && kept_marked == 0 {
        reporter.unserved(&skipped.into_iter().collect::<Vec<_>>());
    }
    kept
}
