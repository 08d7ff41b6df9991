//! `ferry mirror CATALOG --package ... --to REGISTRY`: the images a selection from an OLM
//! catalog needs, copied as `mirror` copies images; a catalog image rebuilt with the catalog
//! reduced to the selection and pushed beside them; and the manifests the site's OLM needs
//! to use it: a `CatalogSource` (OLM v0), a `ClusterCatalog` (OLM v1) naming the pushed
//! catalog by digest, and an `ImageDigestMirrorSet` for clusters that redirect pulls.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use super::catalog::{catalog_image, choose};
use super::{CopyOutcome, MirrorOptions, Reporter, Result, WorkflowError};
use ferry_core::reference::Reference;
use ferry_oci::catalog::{CatalogImage, Overlay, rebuild};
use ferry_oci::graph::{Engine, Repository, Tally};
use ferry_oci::registry::Registries;
use ferry_scan::catalog::Catalog;
use ferry_scan::catalog::select::Selection;

#[derive(Debug, Clone)]
pub struct CatalogMirrorOptions {
    /// A file-based catalog (directory or file) or a catalog image (`oci://...`).
    pub catalog: PathBuf,
    pub selection: Selection,
    /// Where the CatalogSource goes (`olm`; OpenShift: `openshift-marketplace`).
    pub namespace: String,
    /// How and where the images go (its `listed` is filled from the selection).
    pub mirror: MirrorOptions,
}

#[derive(Debug, Default)]
pub struct CatalogMirrorReport {
    pub outcome: CopyOutcome,
    pub bundles: Vec<String>,
    /// The filtered catalog image at the target, by digest (a catalog image's selection).
    pub catalog_image: Option<Reference>,
    pub notes: Vec<String>,
    /// `(file name, YAML)` for the site: CatalogSource, ClusterCatalog, ImageDigestMirrorSet.
    pub manifests: Vec<(String, String)>,
}

pub async fn mirror_catalog(
    opts: &CatalogMirrorOptions,
    registries: &Registries,
    reporter: Arc<dyn Reporter>,
) -> Result<CatalogMirrorReport> {
    let scratch = ferry_core::scratch::ScratchDir::new("catalog")
        .map_err(super::io_error(&ferry_core::scratch::dir()))?;
    let image = catalog_image(&opts.catalog, registries, scratch.path()).await?;
    let dir = image
        .as_ref()
        .map_or(opts.catalog.clone(), |i| i.catalog.clone());
    let catalog = Catalog::read(&dir)?;
    let chosen = choose(&catalog, std::slice::from_ref(&opts.selection))?;
    let mut mirror = opts.mirror.clone();
    mirror.paths.clear();
    mirror.listed = chosen.listed()?;
    let mut report = CatalogMirrorReport {
        bundles: chosen.bundles.clone(),
        notes: chosen.notes.clone(),
        ..Default::default()
    };
    report.outcome = super::mirror(&mirror, registries, reporter.clone()).await?;
    let copied = report.outcome.run.as_ref().is_some_and(|r| r.failed() == 0);
    if let Some(image) = image.filter(|_| copied) {
        let (pushed, notes) = push_rebuilt(
            &image,
            &chosen.filtered.to_json(),
            &mirror,
            registries,
            reporter.as_ref(),
        )
        .await?;
        report.notes.extend(notes);
        report.catalog_image = Some(pushed);
    }
    let sources: BTreeSet<Reference> = mirror.listed.iter().map(|(r, _)| r.clone()).collect();
    report.manifests = super::catalog_site::manifests(
        &opts.selection.package,
        report
            .catalog_image
            .as_ref()
            .map(|i| (i, opts.namespace.as_str())),
        &sources,
        &mirror.target,
        mirror.layout,
    )?;
    Ok(report)
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
