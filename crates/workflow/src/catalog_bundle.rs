//! `ferry bundle CATALOG --package ...`: a selection from an OLM catalog carried across the
//! gap: the images its bundles need; for a catalog image, the image rebuilt with the catalog
//! reduced to the selection (its base layers travel too); the filtered catalog as a file
//! (`sources/catalog/catalog.json`, for people); and the `CatalogSource` and
//! `ClusterCatalog` install applies, naming the rebuilt catalog by digest under its source
//! name, which install points at the private registry as it points every image.

use std::path::Path;

use super::catalog::{catalog_image, choose};
use super::{Result, WorkflowError};
use ferry_core::reference::Reference;
use ferry_oci::bundle::cache::BlobCache;
use ferry_oci::bundle::pull::PulledImage;
use ferry_oci::bundle::write::{Content, ManifestFile};
use ferry_oci::catalog::rebuild;
use ferry_oci::registry::Registries;
use ferry_scan::catalog::Catalog;
use ferry_scan::catalog::select::Selection;

/// What a catalog selection adds to a bundle.
pub(crate) struct CatalogPart {
    pub name: String,
    /// The selection's images, each with the bundle that needs it.
    pub listed: Vec<(Reference, String)>,
    /// The rebuilt catalog image, already in the cache.
    pub image: Option<PulledImage>,
    pub manifests: Vec<ManifestFile>,
    pub notes: Vec<String>,
    /// What makes the filtered catalog invalid (nothing, when ferry made it right).
    problems: Vec<String>,
}

impl CatalogPart {
    /// What `ferry.json` says of it.
    pub(crate) fn meta(&self) -> ferry_oci::bundle::CatalogMeta {
        ferry_oci::bundle::CatalogMeta {
            name: self.name.clone(),
            image: self.image.as_ref().map(|i| i.source.to_string()),
            images: self.listed.iter().map(|(r, _)| r.to_string()).collect(),
        }
    }

    /// The catalog's proof: every image a selected bundle needs is carried, and the
    /// filtered catalog names no bundle it does not hold.
    pub(crate) fn prove(&self, pulled: &[PulledImage]) -> Result<()> {
        let carried: std::collections::BTreeSet<&Reference> =
            pulled.iter().map(|p| &p.source).collect();
        let mut problems = self.problems.clone();
        for (image, why) in &self.listed {
            if !carried.contains(image) {
                problems.push(format!(
                    "{why} needs {image}, which the bundle does not carry"
                ));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(WorkflowError::Invalid(format!(
            "the catalog selection is not complete, nothing written:\n  {}",
            problems.join("\n  ")
        )))
    }
}

pub(crate) async fn catalog_part(
    (name, namespace): (&str, &str),
    catalog: &Path,
    selections: &[Selection],
    registries: &Registries,
    cache: &BlobCache,
) -> Result<CatalogPart> {
    let scratch = ferry_core::scratch::ScratchDir::new("catalog")
        .map_err(super::io_error(&ferry_core::scratch::dir()))?;
    let image = catalog_image(catalog, registries, scratch.path(), Some(cache.dir())).await?;
    let dir = image
        .as_ref()
        .map_or(catalog.to_path_buf(), |i| i.catalog.clone());
    let chosen = choose(&Catalog::read(&dir)?, selections)?;
    let listed = chosen.listed()?;
    let fbc = chosen.filtered.to_json();
    let problems = ferry_scan::catalog::filter::check(&chosen.filtered.objects);
    let mut manifests = vec![ManifestFile {
        name: format!("sources/{name}/catalog.json"),
        content: Content::Text(String::from_utf8_lossy(&fbc).into_owned()),
        rendered: None,
    }];
    let mut notes = chosen.notes.clone();
    let mut pulled = None;
    if let Some(image) = image {
        let rebuilt = rebuild(&image, &fbc)?;
        notes.extend(rebuilt.notes.clone());
        // The base's blobs are in the cache already (read there); what the rebuild made
        // joins them, so the bundle's pull finds the whole image there.
        for (digest, bytes) in rebuilt.made.iter() {
            cache
                .put_bytes(digest, bytes)
                .map_err(ferry_oci::bundle::BundleError::from)?;
        }
        let pinned = image
            .reference
            .with_digest(rebuilt.graph.root.digest.as_str())
            .map_err(|e| WorkflowError::Invalid(e.to_string()))?;
        for (file, yaml) in super::catalog_site::olm(name, &pinned, namespace) {
            manifests.push(ManifestFile {
                name: format!("manifests/{name}/{file}"),
                content: Content::Text(yaml),
                rendered: None,
            });
        }
        pulled = Some(PulledImage::new(
            image.reference.clone(),
            image.reference.clone(),
            rebuilt.graph,
        ));
    }
    Ok(CatalogPart {
        name: name.to_string(),
        listed,
        image: pulled,
        manifests,
        notes,
        problems,
    })
}
