//! `ferry.yaml`: a release described in a file kept in git (`apiVersion: ferry.dev/v1`,
//! `kind: Release`): the product's name, version and description; named inputs (manifests,
//! kustomizations, charts with their own release name, namespace and values); extra images,
//! exclusions, platforms, source mirrors, the signature policy and the part size. `bundle`,
//! `scan` and `mirror` read it in place of their inputs; flags still given win.
//! `docs/ferry.schema.json` is its JSON Schema, for editors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Result, WorkflowError};

pub const API_VERSION: &str = "ferry.dev/v1";
pub const KIND: &str = "Release";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReleaseSpec {
    pub api_version: String,
    pub kind: String,
    /// The product: install's release name.
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub inputs: Vec<SpecInput>,
    /// More images than the inputs name.
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// `all` (the default) or `os/arch[/variant]` each.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// `HOST` (or `*`) → the registry its images are pulled from.
    #[serde(default)]
    pub source_mirrors: BTreeMap<String, String>,
    #[serde(default)]
    pub signatures: Option<Signatures>,
    /// Part size (`4000M`), for `bundle`.
    #[serde(default)]
    pub split: Option<String>,
    /// OLM catalogs and the packages to carry from each.
    #[serde(default)]
    pub catalogs: Vec<SpecCatalog>,
}

/// An OLM catalog: a file-based catalog (directory or file) or a catalog image.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SpecCatalog {
    pub name: String,
    /// A directory or file, relative to `ferry.yaml`, or `oci://HOST/REPO:TAG`.
    pub catalog: String,
    pub packages: Vec<SpecPackage>,
    /// Where its CatalogSource goes [default: `olm`; OpenShift: `openshift-marketplace`].
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SpecPackage {
    pub name: String,
    /// None: every channel of the package.
    #[serde(default)]
    pub channel: Option<String>,
    /// `head` (the default), `all`, `MIN..MAX`, or `{minVersion, maxVersion}`.
    #[serde(default)]
    pub versions: Option<SpecVersions>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SpecVersions {
    Text(String),
    #[serde(rename_all = "camelCase")]
    Range {
        #[serde(default)]
        min_version: Option<String>,
        #[serde(default)]
        max_version: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signatures {
    /// Carry what is attached to each image (the default).
    Carry,
    /// Every image must be signed.
    Require,
    /// Carry none.
    Off,
}

/// One named input: its files go under `manifests/NAME/` in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SpecInput {
    pub name: String,
    /// Manifests: a file or a directory (a kustomization root is rendered).
    #[serde(default)]
    pub path: Option<String>,
    /// A Helm chart: a directory, a packaged `.tgz`, or `oci://HOST/REPO/CHART:VERSION`.
    #[serde(default)]
    pub chart: Option<String>,
    #[serde(default)]
    pub release_name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// Values files, relative to `ferry.yaml`.
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub set: Vec<String>,
    #[serde(default)]
    pub set_string: Vec<String>,
}

/// An input as the workflows take it: where, under what name, with which chart options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedInput {
    pub name: String,
    pub path: PathBuf,
    /// Chart options of its own (a chart input); none: the command's.
    pub chart: Option<ChartSettings>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChartSettings {
    pub release_name: Option<String>,
    pub namespace: Option<String>,
    pub values: Vec<PathBuf>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
}

/// Whether `path` is a release spec (not a manifest): a YAML file whose `apiVersion` and
/// `kind` say so.
pub fn is_spec(path: &Path) -> bool {
    let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if !yaml || !path.is_file() {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    text.lines()
        .any(|l| l.trim() == format!("apiVersion: {API_VERSION}"))
        && text.lines().any(|l| l.trim() == format!("kind: {KIND}"))
}

impl ReleaseSpec {
    /// Reads and checks a spec; every error names the file (and the line, for YAML).
    pub fn read(path: &Path) -> Result<ReleaseSpec> {
        let text = std::fs::read_to_string(path).map_err(super::io_error(path))?;
        let invalid = |m: String| WorkflowError::Invalid(format!("{}: {m}", path.display()));
        // serde-saphyr's message is `error: line L column C: what`, then a snippet.
        let spec: ReleaseSpec = serde_saphyr::from_str(&text).map_err(|e| {
            let message = e.to_string();
            let first = message.lines().next().unwrap_or_default();
            invalid(first.trim_start_matches("error: ").to_string())
        })?;
        spec.check().map_err(invalid)?;
        Ok(spec)
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.api_version != API_VERSION || self.kind != KIND {
            return Err(format!(
                "apiVersion {} kind {}: this ferry reads apiVersion {API_VERSION} kind {KIND}",
                self.api_version, self.kind
            ));
        }
        if let Err(why) = ferry_oci::bundle::trust::namespace(&self.name) {
            return Err(format!("name {:?}: {why}", self.name));
        }
        if let Some(v) = &self.version {
            ferry_oci::bundle::trust::version(v).map_err(|why| format!("version {v:?}: {why}"))?;
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, input) in self.inputs.iter().enumerate() {
            let at = format!("inputs[{i}] ({})", input.name);
            ferry_oci::bundle::trust::chart_name(&input.name)
                .map_err(|why| format!("{at}: name: {why}"))?;
            if !names.insert(&input.name) {
                return Err(format!("{at}: a second input of that name"));
            }
            match (&input.path, &input.chart) {
                (Some(_), None) => {
                    let chart_only = input.release_name.is_some()
                        || input.namespace.is_some()
                        || !input.values.is_empty()
                        || !input.set.is_empty()
                        || !input.set_string.is_empty();
                    if chart_only {
                        return Err(format!(
                            "{at}: releaseName, namespace, values, set and setString are for a chart input (chart:)"
                        ));
                    }
                }
                (None, Some(_)) => {}
                _ => return Err(format!("{at}: give exactly one of path: and chart:")),
            }
        }
        Ok(())
    }

    /// The catalogs with their selections; paths made absolute from `dir`.
    pub fn catalogs(&self, dir: &Path) -> std::result::Result<Vec<super::CatalogInput>, String> {
        use ferry_scan::catalog::select::{Selection, Versions};
        self.catalogs
            .iter()
            .map(|c| {
                ferry_oci::bundle::trust::chart_name(&c.name)
                    .map_err(|why| format!("catalogs: name {:?}: {why}", c.name))?;
                let catalog = match c.catalog.strip_prefix("oci://") {
                    Some(_) => PathBuf::from(&c.catalog),
                    None => dir.join(&c.catalog),
                };
                let selections = c
                    .packages
                    .iter()
                    .map(|p| {
                        let text = match &p.versions {
                            None => "head".to_string(),
                            Some(SpecVersions::Text(t)) => t.clone(),
                            Some(SpecVersions::Range {
                                min_version,
                                max_version,
                            }) => format!(
                                "{}..{}",
                                min_version.as_deref().unwrap_or(""),
                                max_version.as_deref().unwrap_or("")
                            ),
                        };
                        let versions: Versions = text.parse().map_err(|e| {
                            format!("catalogs {}: package {}: versions {e}", c.name, p.name)
                        })?;
                        Ok(Selection {
                            package: p.name.clone(),
                            channel: p.channel.clone(),
                            versions,
                        })
                    })
                    .collect::<std::result::Result<Vec<_>, String>>()?;
                let namespace = c.namespace.clone().unwrap_or_else(|| "olm".into());
                ferry_oci::bundle::trust::namespace(&namespace).map_err(|why| {
                    format!("catalogs {}: namespace {namespace:?}: {why}", c.name)
                })?;
                Ok(super::CatalogInput {
                    name: c.name.clone(),
                    catalog,
                    selections,
                    namespace,
                })
            })
            .collect()
    }

    /// The inputs with their paths made absolute from `dir` (the spec's directory);
    /// `oci://` charts stay as they are.
    pub fn inputs(&self, dir: &Path) -> Vec<ResolvedInput> {
        let at = |p: &str| match p.strip_prefix("oci://") {
            Some(_) => PathBuf::from(p),
            None => dir.join(p),
        };
        self.inputs
            .iter()
            .map(|i| ResolvedInput {
                name: i.name.clone(),
                path: at(i.path.as_deref().or(i.chart.as_deref()).unwrap_or_default()),
                chart: i.chart.as_ref().map(|_| ChartSettings {
                    release_name: i.release_name.clone(),
                    namespace: i.namespace.clone(),
                    values: i.values.iter().map(|v| dir.join(v)).collect(),
                    set: i.set.clone(),
                    set_string: i.set_string.clone(),
                }),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ReleaseSpec> {
        let dir = ferry_core::scratch::ScratchDir::for_test("spec");
        let p = dir.join("ferry.yaml");
        std::fs::write(&p, text).unwrap();
        ReleaseSpec::read(&p)
    }

    const HEAD: &str = "apiVersion: ferry.dev/v1\nkind: Release\nname: acme\n";

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let e = read(&format!("{HEAD}version: 1.0.0\nimage: [x]\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 5") && e.contains("image"), "{e}");
    }

    #[test]
    fn an_input_is_a_path_or_a_chart_and_chart_options_need_a_chart() {
        let both = read(&format!(
            "{HEAD}inputs:\n  - name: a\n    path: x\n    chart: y\n"
        ))
        .unwrap_err();
        assert!(
            both.to_string().contains("exactly one of path: and chart:"),
            "{both}"
        );
        let values = read(&format!(
            "{HEAD}inputs:\n  - name: a\n    path: x\n    values: [v.yaml]\n"
        ))
        .unwrap_err();
        assert!(
            values.to_string().contains("are for a chart input"),
            "{values}"
        );
        let twice = read(&format!(
            "{HEAD}inputs:\n  - name: a\n    path: x\n  - name: a\n    path: y\n"
        ))
        .unwrap_err();
        assert!(
            twice.to_string().contains("a second input of that name"),
            "{twice}"
        );
    }

    #[test]
    fn inputs_resolve_beside_the_spec() {
        let spec = read(&format!(
            "{HEAD}inputs:\n  - name: cm\n    chart: oci://quay.io/j/cm:1\n    namespace: cm\n    values: [v.yaml]\n  - name: op\n    path: deploy\n"
        ))
        .unwrap();
        let inputs = spec.inputs(Path::new("/r"));
        assert_eq!(inputs[0].path, PathBuf::from("oci://quay.io/j/cm:1"));
        let chart = inputs[0].chart.as_ref().unwrap();
        assert_eq!(chart.values, [PathBuf::from("/r/v.yaml")]);
        assert_eq!(chart.namespace.as_deref(), Some("cm"));
        assert_eq!(inputs[1].path, PathBuf::from("/r/deploy"));
        assert!(inputs[1].chart.is_none());
    }
}
