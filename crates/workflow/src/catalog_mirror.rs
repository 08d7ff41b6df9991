//! `ferry mirror CATALOG --package ... --to REGISTRY` (or a release spec's `catalogs:`): the
//! images each selection from an OLM catalog needs, copied as `mirror` copies images, in one
//! run with the spec's other images; a catalog image rebuilt with the catalog
//! reduced to the selection and pushed beside them; and the manifests the site's OLM needs
//! to use it: a `CatalogSource` (OLM v0), a `ClusterCatalog` (OLM v1) naming the pushed
//! catalog by digest, and an `ImageDigestMirrorSet` for clusters that redirect pulls.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::catalog::{catalog_image, choose};
use super::{CopyOutcome, MirrorOptions, Reporter, Result, WorkflowError};
use ferry_core::reference::Reference;
use ferry_oci::catalog::{CatalogImage, Overlay, rebuild};
use ferry_oci::graph::{Engine, Repository, Tally};
use ferry_oci::registry::Registries;
use ferry_scan::catalog::Catalog;

#[derive(Debug, Clone)]
pub struct CatalogMirrorOptions {
    /// Each catalog (a file-based catalog or a catalog image) with what to take from it.
    pub catalogs: Vec<super::CatalogInput>,
    /// How and where the images go, and what else to mirror (a release spec's inputs and
    /// images); the selections' images are added to its `listed`.
    pub mirror: MirrorOptions,
}

#[derive(Debug, Default)]
pub struct CatalogMirrorReport {
    pub outcome: CopyOutcome,
    pub catalogs: Vec<MirroredCatalog>,
    pub notes: Vec<String>,
}

/// One catalog's part of a mirror run.
#[derive(Debug, Default)]
pub struct MirroredCatalog {
    pub name: String,
    pub bundles: Vec<String>,
    /// The filtered catalog image at the target, by digest (a catalog image's selection).
    pub catalog_image: Option<Reference>,
    /// `(file name, YAML)` for the site: CatalogSource, ClusterCatalog, mirror sets.
    pub manifests: Vec<(String, String)>,
}

/// A catalog read and its selections chosen.
struct ReadCatalog {
    input: super::CatalogInput,
    image: Option<CatalogImage>,
    chosen: super::catalog::Chosen,
    listed: Vec<(Reference, String)>,
}

pub async fn mirror_catalog(
    opts: &CatalogMirrorOptions,
    registries: &Registries,
    reporter: Arc<dyn Reporter>,
) -> Result<CatalogMirrorReport> {
    let scratch = ferry_core::scratch::ScratchDir::new("catalog")
        .map_err(super::io_error(&ferry_core::scratch::dir()))?;
    let mut read = Vec::with_capacity(opts.catalogs.len());
    for (i, input) in opts.catalogs.iter().enumerate() {
        // Each catalog image extracts into a place of its own.
        let place = scratch.path().join(i.to_string());
        read.push(read_one(input, registries, &place).await?);
    }
    let mut mirror = opts.mirror.clone();
    for r in &read {
        mirror.listed.extend(r.listed.iter().cloned());
    }
    let mut report = CatalogMirrorReport {
        notes: read.iter().flat_map(|r| r.chosen.notes.clone()).collect(),
        ..Default::default()
    };
    report.outcome = super::mirror(&mirror, registries, reporter.clone()).await?;
    let copied = report.outcome.run.as_ref().is_some_and(|r| r.failed() == 0);
    for r in read {
        let mut done = MirroredCatalog {
            name: r.input.name.clone(),
            bundles: r.chosen.bundles.clone(),
            ..Default::default()
        };
        if let Some(image) = r.image.as_ref().filter(|_| copied) {
            let filtered = r.chosen.filtered.to_json();
            let (pushed, notes) =
                push_rebuilt(image, &filtered, &mirror, registries, reporter.as_ref()).await?;
            report.notes.extend(notes);
            done.catalog_image = Some(pushed);
        }
        let sources: BTreeSet<Reference> = r.listed.iter().map(|(i, _)| i.clone()).collect();
        let olm = done
            .catalog_image
            .as_ref()
            .map(|i| (i, r.input.namespace.as_str()));
        done.manifests = super::catalog_site::manifests(
            &r.input.name,
            olm,
            &sources,
            &mirror.target,
            mirror.layout,
        )?;
        report.catalogs.push(done);
    }
    Ok(report)
}

/// One catalog read (a catalog image extracted under `place`) and its selections chosen.
async fn read_one(
    input: &super::CatalogInput,
    registries: &Registries,
    place: &std::path::Path,
) -> Result<ReadCatalog> {
    std::fs::create_dir_all(place).map_err(super::io_error(place))?;
    let image = catalog_image(&input.catalog, registries, place, None).await?;
    let dir = image
        .as_ref()
        .map_or(input.catalog.clone(), |i| i.catalog.clone());
    let catalog = Catalog::read(&dir)?;
    let chosen = choose(&catalog, &input.selections)?;
    let listed = chosen.listed()?;
    Ok(ReadCatalog {
        input: input.clone(),
        image,
        chosen,
        listed,
    })
}

/// The catalog image rebuilt on its base with the filtered catalog, pushed under its own
/// name at the target; its name there, by digest.
async fn push_rebuilt(
    image: &CatalogImage,
    catalog: &[u8],
    mirror: &MirrorOptions,
    registries: &Registries,
    reporter: &dyn Reporter,
) -> Result<(Reference, Vec<String>)> {
    let rebuilt = rebuild(image, catalog)?;
    let target = mirror
        .target
        .map(&image.reference, mirror.layout)
        .map_err(|e| WorkflowError::Invalid(e.to_string()))?;
    let source = Overlay {
        made: rebuilt.made.clone(),
        base: Repository::of(registries, &image.reference)?,
    };
    let sink = Repository::of(registries, &target)?;
    let name = target.tag().map(str::to_string);
    Engine::new(mirror.copy.clone())
        .put(
            0,
            &source,
            &rebuilt.graph,
            &sink,
            name.as_deref(),
            &Tally::default(),
        )
        .await?;
    let digest = rebuilt.graph.root.digest.to_string();
    let pinned = target
        .with_digest(&digest)
        .map_err(|e| WorkflowError::Invalid(e.to_string()))?;
    reporter.info(&format!(
        "catalog {} reduced to the selection and pushed as {pinned}",
        image.reference
    ));
    Ok((pinned, rebuilt.notes))
}
