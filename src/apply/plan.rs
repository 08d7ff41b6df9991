//! The apply plan: every object of the manifests, with its document's own text (sent as
//! `application/apply-patch+yaml`, so YAML 1.1 values like `0644` reach the API server as
//! written), in the order that lets each apply succeed: CRDs (then wait for Established),
//! Namespaces, the objects others refer to, workloads, and custom resources last.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::yaml;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{file}: {message}")]
    Read { file: String, message: String },
    #[error("{file}:{line}: {message}")]
    Object {
        file: String,
        line: usize,
        message: String,
    },
}

/// One Kubernetes object to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub file: String,
    /// 1-based line of the document's first key.
    pub line: usize,
    pub document: usize,
    /// The document's text as written.
    pub yaml: String,
}

impl Object {
    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }
}

/// Apply order; objects keep their file order within a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// CustomResourceDefinitions, then a wait for Established and NamesAccepted.
    Crds,
    Namespaces,
    /// What workloads refer to: service accounts, RBAC, secrets, config maps, services, storage.
    Foundations,
    /// Deployments, StatefulSets, DaemonSets, Jobs and every other built-in kind.
    Workloads,
    /// Custom resources: kinds of the CRDs applied, or of groups Kubernetes does not ship.
    CustomResources,
}

/// Built-in kinds without a namespace (the client-side plan has no discovery to ask).
pub const CLUSTER_SCOPED_KINDS: [&str; 10] = [
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const FOUNDATION_KINDS: [&str; 16] = [
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "ClusterRole",
    "Role",
    "ClusterRoleBinding",
    "RoleBinding",
    "Service",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "StorageClass",
    "PriorityClass",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "PodDisruptionBudget",
];

/// Groups Kubernetes itself serves; anything else is a custom resource.
const BUILT_IN_GROUPS: [&str; 19] = [
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "rbac.authorization.k8s.io",
    "networking.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "events.k8s.io",
    "resource.k8s.io",
];

pub fn phase(o: &Object, crd_groups: &BTreeSet<String>) -> Phase {
    match o.kind.as_str() {
        "CustomResourceDefinition" if o.group() == "apiextensions.k8s.io" => Phase::Crds,
        "Namespace" if o.group().is_empty() => Phase::Namespaces,
        _ if crd_groups.contains(o.group()) || !BUILT_IN_GROUPS.contains(&o.group()) => {
            Phase::CustomResources
        }
        k if FOUNDATION_KINDS.contains(&k) => Phase::Foundations,
        _ => Phase::Workloads,
    }
}

/// Objects in apply order, each with its phase.
pub fn order(objects: Vec<Object>) -> Vec<(Phase, Object)> {
    let crd_groups: BTreeSet<String> = objects
        .iter()
        .filter(|o| o.kind == "CustomResourceDefinition")
        .filter_map(|o| {
            let docs = yaml::parse_documents(&o.yaml).ok()?;
            let spec = docs.first()?.root.get("spec")?;
            spec.get_str("group").map(str::to_string)
        })
        .collect();
    let mut planned: Vec<(Phase, Object)> = objects
        .into_iter()
        .map(|o| (phase(&o, &crd_groups), o))
        .collect();
    planned.sort_by_key(|(p, _)| *p);
    planned
}

/// Loads every object of the files (as `scan` expands paths). A document that is not a
/// Kubernetes object (no apiVersion, kind or metadata.name) is an error naming its line;
/// empty documents are skipped. `List` documents are not supported yet.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Object>, PlanError> {
    let files = crate::scan::expand_inputs(paths).map_err(|e| PlanError::Read {
        file: paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        message: e.to_string(),
    })?;
    let mut objects = Vec::new();
    for path in files {
        let file = crate::scan::display_path(&path);
        let source = if path == std::path::Path::new("-") {
            std::io::read_to_string(std::io::stdin())
        } else {
            std::fs::read_to_string(&path)
        }
        .map_err(|e| PlanError::Read {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let docs = yaml::parse_documents(&source).map_err(|e| PlanError::Object {
            file: file.clone(),
            line: e.line,
            message: format!("{}: {}", e.column, e.message),
        })?;
        for doc in docs {
            let line = doc.root.pos().line as usize;
            let bad = |message: &str| PlanError::Object {
                file: file.clone(),
                line,
                message: message.to_string(),
            };
            if !doc.root.is_map() {
                return Err(bad("not a Kubernetes object (not a mapping)"));
            }
            if doc.root.get_str("kind") == Some("Kustomization")
                || (doc.root.get_str("kind").is_none()
                    && crate::scan::kustomize::is_kustomization_file(&file))
            {
                return Err(bad(
                    "a kustomization, not objects: render it first (kubectl kustomize DIR > \
                     app.yaml) and apply the output",
                ));
            }
            let api_version = doc
                .root
                .get_str("apiVersion")
                .ok_or_else(|| bad("no apiVersion"))?;
            let kind = doc.root.get_str("kind").ok_or_else(|| bad("no kind"))?;
            if kind.ends_with("List") && doc.root.get("items").is_some() {
                return Err(bad(
                    "List documents are not supported by apply yet: give the items as documents",
                ));
            }
            let meta = doc.root.get("metadata");
            let name = meta
                .and_then(|m| m.get_str("name"))
                .ok_or_else(|| bad("no metadata.name"))?;
            objects.push(Object {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                name: name.to_string(),
                namespace: meta
                    .and_then(|m| m.get_str("namespace"))
                    .map(str::to_string),
                file: file.clone(),
                line,
                document: doc.index,
                yaml: doc.text(&source).to_string(),
            });
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ferry-plan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn crds_first_custom_resources_last_text_kept() {
        let d = temp("order");
        write(
            &d,
            "all.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: ns}\nspec:\n  template:\n    spec:\n      volumes: [{name: v, configMap: {name: c, defaultMode: 0644}}]\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n---\n\
             apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec: {group: example.com}\n",
        );
        let planned = order(load(std::slice::from_ref(&d)).unwrap());
        let kinds: Vec<(Phase, &str)> =
            planned.iter().map(|(p, o)| (*p, o.kind.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (Phase::Crds, "CustomResourceDefinition"),
                (Phase::Namespaces, "Namespace"),
                (Phase::Foundations, "ConfigMap"),
                (Phase::Workloads, "Deployment"),
                (Phase::CustomResources, "Widget"),
            ]
        );
        let dep = &planned[3].1;
        assert!(dep.yaml.contains("defaultMode: 0644"), "{}", dep.yaml);
        assert_eq!(
            (dep.line, dep.document, dep.namespace.as_deref()),
            (5, 1, Some("ns"))
        );
    }

    #[test]
    fn non_objects_are_errors_naming_the_line() {
        let d = temp("bad");
        write(
            &d,
            "a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkind: Secret\nmetadata: {name: x}\n",
        );
        let err = load(std::slice::from_ref(&d)).unwrap_err().to_string();
        assert!(err.ends_with("a.yaml:5: no apiVersion"), "{err}");
        write(
            &d,
            "a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n",
        );
        write(&d, "kustomization.yaml", "resources: [a.yaml]\n");
        let err = load(std::slice::from_ref(&d)).unwrap_err().to_string();
        assert!(
            err.contains("kustomization.yaml:1: a kustomization"),
            "{err}"
        );
        std::fs::remove_file(d.join("kustomization.yaml")).unwrap();
        write(&d, "a.yaml", "apiVersion: v1\nkind: List\nitems: []\n");
        assert!(load(&[d]).unwrap_err().to_string().contains("List"));
    }

    #[test]
    fn fixture_operators_order() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/prometheus");
        let planned = order(load(&[fixtures]).unwrap());
        let phases: Vec<Phase> = planned.iter().map(|(p, _)| *p).collect();
        assert!(phases.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(planned.first().unwrap().1.kind, "Namespace");
        assert_eq!(planned.last().unwrap().0, Phase::CustomResources);
    }
}
