//! What the site's OLM needs to use a mirrored catalog: a `CatalogSource` (OLM v0, gRPC from
//! the catalog image), a `ClusterCatalog` (OLM v1), both naming the image by digest; and an
//! `ImageDigestMirrorSet` (OpenShift) sending each source repository's digest pulls to the
//! target, since the catalog's references stay the vendor's, pinned by digest.

use std::collections::{BTreeMap, BTreeSet};

use super::{Result, WorkflowError};
use ferry_core::reference::Reference;
use ferry_core::target::{Layout, Target};

/// `(file name, YAML)` for each manifest.
pub(crate) fn manifests(
    package: &str,
    catalog: Option<&Reference>,
    images: &BTreeSet<Reference>,
    target: &Target,
    layout: Layout,
) -> Result<Vec<(String, String)>> {
    let name = format!("ferry-{}", dns_label(package));
    let mut out = Vec::new();
    if let Some(image) = catalog {
        out.push((
            "catalogsource.yaml".to_string(),
            format!(
                "apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nmetadata:\n  name: {name}\n  namespace: olm\nspec:\n  sourceType: grpc\n  image: {image}\n  displayName: {package} (mirrored by ferry)\n"
            ),
        ));
        out.push((
            "clustercatalog.yaml".to_string(),
            format!(
                "apiVersion: olm.operatorframework.io/v1\nkind: ClusterCatalog\nmetadata:\n  name: {name}\nspec:\n  source:\n    type: Image\n    image:\n      ref: {image}\n"
            ),
        ));
    }
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
    if !mirrors.is_empty() {
        let entries: String = mirrors
            .iter()
            .map(|(s, m)| format!("    - source: {s}\n      mirrors:\n        - {m}\n"))
            .collect();
        out.push((
            "imagedigestmirrorset.yaml".to_string(),
            format!(
                "apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata:\n  name: {name}\nspec:\n  imageDigestMirrors:\n{entries}"
            ),
        ));
    }
    Ok(out)
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
