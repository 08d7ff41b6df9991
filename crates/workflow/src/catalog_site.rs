//! What the site's OLM needs to use a mirrored catalog: a `CatalogSource` (OLM v0, gRPC from
//! the catalog image), a `ClusterCatalog` (OLM v1), both naming the image by digest; and an
//! `ImageDigestMirrorSet` (OpenShift) sending each source repository's digest pulls to the
//! target, since the catalog's references stay the vendor's, pinned by digest.

use std::collections::{BTreeMap, BTreeSet};

use super::{Result, WorkflowError};
use ferry_apply::served::WHEN_SERVED;
use ferry_core::reference::Reference;
use ferry_core::target::{Layout, Target};

/// `(file name, YAML)` of each manifest: the catalog's (when there is an image) and the
/// mirror set (when there are images).
pub(crate) fn manifests(
    package: &str,
    catalog: Option<(&Reference, &str)>,
    images: &BTreeSet<Reference>,
    target: &Target,
    layout: Layout,
) -> Result<Vec<(String, String)>> {
    let mut out = catalog
        .map(|(image, namespace)| olm(package, image, namespace))
        .unwrap_or_default();
    out.extend(mirror_config(package, images, target, layout)?);
    Ok(out)
}

/// The `CatalogSource` (in `namespace`: `olm`, OpenShift's `openshift-marketplace`) and the
/// `ClusterCatalog` serving the catalog image `image`; a cluster runs OLM v0 or v1, so each is
/// marked to be applied only where its kind is served.
pub(crate) fn olm(package: &str, image: &Reference, namespace: &str) -> Vec<(String, String)> {
    let name = format!("ferry-{}", dns_label(package));
    vec![
        (
            "catalogsource.yaml".to_string(),
            format!(
                "apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  annotations:\n    {WHEN_SERVED}: OLM v0\nspec:\n  sourceType: grpc\n  image: {image}\n  displayName: {package} (mirrored by ferry)\n"
            ),
        ),
        (
            "clustercatalog.yaml".to_string(),
            format!(
                "apiVersion: olm.operatorframework.io/v1\nkind: ClusterCatalog\nmetadata:\n  name: {name}\n  annotations:\n    {WHEN_SERVED}: OLM v1\nspec:\n  source:\n    type: Image\n    image:\n      ref: {image}\n"
            ),
        ),
    ]
}

/// The mirror configuration for clusters that redirect pulls: an `ImageDigestMirrorSet`
/// (OpenShift), a `registries.conf` snippet (CRI-O, podman) and, where the layout keeps the
/// source path, a containerd `hosts.toml` per source registry (`containerd/HOST/hosts.toml`).
/// None without images.
pub(crate) fn mirror_config(
    name: &str,
    images: &BTreeSet<Reference>,
    target: &Target,
    layout: Layout,
) -> Result<Vec<(String, String)>> {
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
        return Ok(Vec::new());
    }
    let name = format!("ferry-{}", dns_label(name));
    let idms: String = mirrors
        .iter()
        .map(|(s, m)| format!("    - source: {s}\n      mirrors:\n        - {m}\n"))
        .collect();
    let conf: String = mirrors
        .iter()
        .map(|(s, m)| {
            format!("[[registry]]\nprefix = \"{s}\"\nlocation = \"{s}\"\n\n[[registry.mirror]]\nlocation = \"{m}\"\n\n")
        })
        .collect();
    let mut out = vec![
        (
            "imagedigestmirrorset.yaml".to_string(),
            format!(
                "apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata:\n  name: {name}\nspec:\n  imageDigestMirrors:\n{idms}"
            ),
        ),
        (
            "registries.conf".to_string(),
            format!("# /etc/containers/registries.conf.d/{name}.conf (CRI-O, podman)\n\n{conf}"),
        ),
    ];
    out.extend(containerd(images, target, layout));
    Ok(out)
}

/// `containerd/HOST/hosts.toml` for each source registry: its pulls go to the target, the
/// source path kept under the target's prefix (`override_path`). Not for `--layout flat`,
/// which drops the path.
fn containerd(
    images: &BTreeSet<Reference>,
    target: &Target,
    layout: Layout,
) -> Vec<(String, String)> {
    if layout == Layout::Flat {
        return Vec::new();
    }
    let hosts: BTreeSet<&str> = images.iter().map(|r| r.registry()).collect();
    hosts
        .into_iter()
        .map(|host| {
            let mut path = target.prefix().map(|p| format!("/{p}")).unwrap_or_default();
            if layout == Layout::HostPath {
                path.push_str(&format!("/{host}"));
            }
            // Docker Hub's name is not its endpoint (containerd's own docs say so).
            let server = match host {
                "docker.io" => "registry-1.docker.io",
                other => other,
            };
            (
                format!("containerd/{host}/hosts.toml"),
                format!(
                    "# /etc/containerd/certs.d/{host}/hosts.toml\nserver = \"https://{server}\"\n\n[host.\"https://{}/v2{path}\"]\n  capabilities = [\"pull\", \"resolve\"]\n  override_path = true\n",
                    target.registry()
                ),
            )
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn images() -> BTreeSet<Reference> {
        ["quay.io/acme/op@sha256:1111111111111111111111111111111111111111111111111111111111111111"]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect()
    }

    #[test]
    fn the_host_path_layout_keeps_the_host_in_containerds_path_and_flat_has_none() {
        let target: Target = "harbor.local/team".parse().unwrap();
        let files = mirror_config("acme", &images(), &target, Layout::HostPath).unwrap();
        let (name, hosts) = files
            .iter()
            .find(|(n, _)| n.starts_with("containerd/"))
            .unwrap();
        assert_eq!(name, "containerd/quay.io/hosts.toml");
        assert!(
            hosts.contains("[host.\"https://harbor.local/v2/team/quay.io\"]"),
            "{hosts}"
        );
        let idms = &files
            .iter()
            .find(|(n, _)| n == "imagedigestmirrorset.yaml")
            .unwrap()
            .1;
        assert!(
            idms.contains("- source: quay.io/acme/op\n      mirrors:\n        - harbor.local/team/quay.io/acme/op"),
            "{idms}"
        );
        let flat = mirror_config("acme", &images(), &target, Layout::Flat).unwrap();
        assert!(flat.iter().all(|(n, _)| !n.starts_with("containerd/")));
        assert!(
            mirror_config("acme", &BTreeSet::new(), &target, Layout::Path)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn docker_hubs_hosts_file_names_its_endpoint() {
        let target: Target = "harbor.local/team".parse().unwrap();
        let hub: BTreeSet<Reference> = ["docker.io/library/busybox:1.36"]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect();
        let files = mirror_config("acme", &hub, &target, Layout::Path).unwrap();
        let (name, hosts) = files
            .iter()
            .find(|(n, _)| n.starts_with("containerd/"))
            .unwrap();
        assert_eq!(name, "containerd/docker.io/hosts.toml");
        assert!(
            hosts.contains("server = \"https://registry-1.docker.io\""),
            "{hosts}"
        );
    }
}
