//! What the site's OLM needs to use a mirrored catalog: a `CatalogSource` (OLM v0, gRPC from
//! the catalog image), a `ClusterCatalog` (OLM v1), both naming the image by digest; and an
//! `ImageDigestMirrorSet` (OpenShift) sending each source repository's digest pulls to the
//! target, since the catalog's references stay the vendor's, pinned by digest.

use std::collections::{BTreeMap, BTreeSet};

use super::{Result, WorkflowError};
use ferry_core::reference::Reference;
use ferry_core::target::{Layout, Target};

/// `(file name, YAML)` of each manifest: the catalog's (when there is an image) and the
/// mirror set (when there are images).
pub(crate) fn manifests(
    package: &str,
    catalog: Option<&Reference>,
    images: &BTreeSet<Reference>,
    target: &Target,
    layout: Layout,
) -> Result<Vec<(String, String)>> {
    let mut out = catalog.map(|c| olm(package, c)).unwrap_or_default();
    out.extend(mirror_set(package, images, target, layout)?);
    Ok(out)
}

/// The `CatalogSource` and `ClusterCatalog` serving the catalog image `image`.
pub(crate) fn olm(package: &str, image: &Reference) -> Vec<(String, String)> {
    let name = format!("ferry-{}", dns_label(package));
    vec![
        (
            "catalogsource.yaml".to_string(),
            format!(
                "apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nmetadata:\n  name: {name}\n  namespace: olm\nspec:\n  sourceType: grpc\n  image: {image}\n  displayName: {package} (mirrored by ferry)\n"
            ),
        ),
        (
            "clustercatalog.yaml".to_string(),
            format!(
                "apiVersion: olm.operatorframework.io/v1\nkind: ClusterCatalog\nmetadata:\n  name: {name}\nspec:\n  source:\n    type: Image\n    image:\n      ref: {image}\n"
            ),
        ),
    ]
}

/// An `ImageDigestMirrorSet` sending each source repository's digest pulls to its place
/// under the target; none without images.
fn mirror_set(
    package: &str,
    images: &BTreeSet<Reference>,
    target: &Target,
    layout: Layout,
) -> Result<Option<(String, String)>> {
    let mut mirrors: BTreeMap<String, String> = BTreeMap::new();
    for source in images {
        let mapped = target
            .map(source, layout)
            .map_err(|e| WorkflowError::Invalid(e.to_string()))?;
        mirrors.insert(
            format!("{}/{}", source.registry(), source.repository()),
            format!("{}/{}", mapped.registry(), mapped.repository()),
        );
    }
    if mirrors.is_empty() {
        return Ok(None);
    }
    let entries: String = mirrors
        .iter()
        .map(|(s, m)| format!("    - source: {s}\n      mirrors:\n        - {m}\n"))
        .collect();
    let name = format!("ferry-{}", dns_label(package));
    Ok(Some((
        "imagedigestmirrorset.yaml".to_string(),
        format!(
            "apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata:\n  name: {name}\nspec:\n  imageDigestMirrors:\n{entries}"
        ),
    )))
}

/// A DNS label made of `text`: lower case, other characters as `-`, at most 50.
fn dns_label(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-')
        .chars()
        .take(50)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}
