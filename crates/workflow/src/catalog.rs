//! An OLM catalog as an input: what it holds, and with a selection, the bundles chosen and
//! every image they need (with why), and the catalog reduced to them.

use std::path::Path;

use ferry_scan::catalog::filter::{Filtered, filter};
use ferry_scan::catalog::select::{self, Needed, Selected, Selection};
use ferry_scan::catalog::{Catalog, CatalogError};

/// What a catalog holds, per package.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PackageSummary {
    pub name: String,
    pub default_channel: Option<String>,
    /// Each channel with its entries and heads.
    pub channels: Vec<ChannelSummary>,
    pub bundles: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ChannelSummary {
    pub name: String,
    pub entries: usize,
    pub heads: Vec<String>,
}

/// A selection's outcome.
#[derive(Debug, Clone)]
pub struct CatalogSelection {
    pub selected: Selected,
    pub images: Vec<Needed>,
    pub filtered: Filtered,
}

pub fn read_catalog(path: &Path) -> Result<Catalog, CatalogError> {
    Catalog::read(path)
}

pub fn summarize(catalog: &Catalog) -> Vec<PackageSummary> {
    let mut names: std::collections::BTreeSet<&String> = catalog.packages.keys().collect();
    names.extend(catalog.bundles.iter().map(|b| &b.package));
    names
        .into_iter()
        .map(|name| PackageSummary {
            name: name.clone(),
            default_channel: catalog
                .packages
                .get(name)
                .and_then(|p| p.get("defaultChannel"))
                .and_then(|c| c.as_str())
                .map(str::to_string),
            channels: catalog
                .channels_of(name)
                .map(|c| ChannelSummary {
                    name: c.name.clone(),
                    entries: c.entries.len(),
                    heads: select::heads(c),
                })
                .collect(),
            bundles: catalog
                .bundles
                .iter()
                .filter(|b| &b.package == name)
                .count(),
        })
        .collect()
}

/// The bundles `selection` chooses, their images and the filtered catalog.
pub fn select_from(
    catalog: &Catalog,
    selection: &Selection,
) -> Result<CatalogSelection, CatalogError> {
    let selected = select::select(catalog, selection)?;
    let images = select::images(catalog, &selected);
    let filtered = filter(catalog, &selected);
    Ok(CatalogSelection {
        selected,
        images,
        filtered,
    })
}

/// What several selections from one catalog choose together.
#[derive(Debug, Clone, Default)]
pub struct Chosen {
    pub bundles: Vec<String>,
    /// Each image once, with the first bundle that needs it.
    pub images: Vec<Needed>,
    /// The catalog reduced to every selection.
    pub filtered: Filtered,
    pub notes: Vec<String>,
}

impl Chosen {
    /// The images as the copy takes them, each said with the bundle that needs it.
    pub fn listed(&self) -> crate::Result<Vec<(ferry_core::reference::Reference, String)>> {
        self.images
            .iter()
            .map(|n| {
                let r = n.image.parse().map_err(|e| {
                    crate::WorkflowError::Invalid(format!("bundle {}: {}: {e}", n.bundle, n.image))
                })?;
                Ok((r, format!("catalog bundle {} ({})", n.bundle, n.why)))
            })
            .collect()
    }
}

/// Every selection from `catalog`, together; a package selected twice is refused (its
/// channels and versions belong in one selection).
pub fn choose(catalog: &Catalog, selections: &[Selection]) -> Result<Chosen, CatalogError> {
    let mut out = Chosen::default();
    let mut packages = std::collections::BTreeSet::new();
    let mut seen = std::collections::BTreeSet::new();
    for s in selections {
        if !packages.insert(&s.package) {
            return Err(CatalogError::Select(format!(
                "package {} is selected twice: give its channel and versions once",
                s.package
            )));
        }
        let one = select_from(catalog, s)?;
        out.bundles.extend(one.selected.bundles);
        out.notes.extend(one.selected.notes);
        out.notes.extend(one.filtered.notes);
        out.filtered.objects.extend(one.filtered.objects);
        out.images.extend(
            one.images
                .into_iter()
                .filter(|n| seen.insert(n.image.clone())),
        );
    }
    out.images.sort();
    Ok(out)
}

/// An `oci://` input that is an OLM catalog image, read into `dir` (its blobs into the cache
/// at `cache_dir`, else under `dir`); `None` for anything else (a Helm chart's manifest
/// names Helm's config type).
pub async fn catalog_image(
    path: &Path,
    registries: &ferry_oci::registry::Registries,
    dir: &Path,
    cache_dir: Option<&Path>,
) -> crate::Result<Option<ferry_oci::catalog::CatalogImage>> {
    let Some(name) = path.to_str().and_then(|p| p.strip_prefix("oci://")) else {
        return Ok(None);
    };
    let reference: ferry_core::reference::Reference = name
        .parse()
        .map_err(|e| crate::WorkflowError::Invalid(format!("{}: {e}", path.display())))?;
    if !reference.is_pinned_or_tagged() {
        // Not looked at here: the chart path says what a versionless `oci://` lacks.
        return Ok(None);
    }
    let blobs = cache_dir.map_or_else(|| dir.join(".blobs"), Path::to_path_buf);
    Ok(ferry_oci::catalog::read(&reference, registries, dir, &blobs).await?)
}
