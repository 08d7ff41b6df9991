//! Who reads a ConfigMap that names images: a pod's `envFrom`, an env var's
//! `configMapKeyRef`, or a flag of the controller that names the ConfigMap
//! (`--config-map-name=NAME`). `--why` says it beside each `configmap-image` finding.

use serde::Serialize;

use super::{Hit, Rule};

/// One place a workload reads a ConfigMap by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigMapUse {
    pub config_map: String,
    /// The reader's namespace, as written (none: the one it is applied to).
    pub namespace: Option<String>,
    /// `Deployment/op`.
    pub by: String,
    pub how: How,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// `envFrom: [{configMapRef: {name}}]`: every key becomes an env var.
    EnvFrom,
    /// `env[].valueFrom.configMapKeyRef`: one key.
    EnvKey(String),
    /// A command-line flag whose value is the ConfigMap's name.
    Flag(String),
}

impl std::fmt::Display for ConfigMapUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.how {
            How::EnvFrom => write!(f, "loaded into the environment (envFrom) of {}", self.by),
            How::EnvKey(key) => write!(f, "key {key} read into an env var of {}", self.by),
            How::Flag(flag) => write!(f, "named by the flag {flag} of {}", self.by),
        }
    }
}

/// Gives each `configmap-image` finding the workloads that read its ConfigMap (same name,
/// same namespace where both say one); a key read alone (`configMapKeyRef`) counts only for
/// its own key.
pub fn link(hits: &mut [Hit], uses: &[ConfigMapUse]) {
    for hit in hits.iter_mut().filter(|h| h.rule == Rule::ConfigMapImage) {
        let key = hit
            .yaml_path
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_string();
        hit.consumers = uses
            .iter()
            .filter(|u| Some(&u.config_map) == hit.name.as_ref())
            .filter(|u| match (&u.namespace, &hit.namespace) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            })
            .filter(|u| !matches!(&u.how, How::EnvKey(k) if *k != key))
            .map(ToString::to_string)
            .collect();
        hit.consumers.sort();
        hit.consumers.dedup();
    }
}

/// A flag that names a configuration ConfigMap: `--config-map-name`, `--configmap`,
/// `-config`.
pub(super) fn is_config_flag(flag: &str) -> bool {
    let flag = flag.trim_start_matches('-').to_ascii_lowercase();
    flag.contains("configmap") || flag.contains("config-map") || flag.contains("config_map")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{UserRules, scan_str};

    fn why(text: &str) -> Vec<(String, Vec<String>)> {
        let mut found = scan_str("f.yaml", text, &UserRules::default()).unwrap();
        link(&mut found.hits, &found.config_map_uses);
        found
            .hits
            .iter()
            .filter(|h| h.rule == Rule::ConfigMapImage)
            .map(|h| (h.reference.to_string(), h.consumers.clone()))
            .collect()
    }

    const CONFIG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: images, namespace: op}\ndata:\n  RELATED_IMAGE_DB: quay.io/a/db:1\n  WEB_IMAGE: quay.io/a/web:2\n---\n";

    #[test]
    fn env_from_names_the_workload() {
        let text = format!(
            "{CONFIG}apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: op, namespace: op}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: quay.io/a/op:1\n          envFrom: [{{configMapRef: {{name: images}}}}]\n"
        );
        let found = why(&text);
        assert_eq!(found.len(), 2);
        for (_, consumers) in found {
            assert_eq!(
                consumers,
                ["loaded into the environment (envFrom) of Deployment/op"]
            );
        }
    }

    #[test]
    fn a_key_ref_counts_for_its_key_and_a_flag_for_all() {
        let text = format!(
            "{CONFIG}apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: op, namespace: op}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: quay.io/a/op:1\n          args: [--config-map-name=images]\n          env:\n            - name: DB\n              valueFrom: {{configMapKeyRef: {{name: images, key: RELATED_IMAGE_DB}}}}\n"
        );
        let found = why(&text);
        let db = &found.iter().find(|(r, _)| r.contains("db")).unwrap().1;
        let web = &found.iter().find(|(r, _)| r.contains("web")).unwrap().1;
        assert_eq!(
            db,
            &[
                "key RELATED_IMAGE_DB read into an env var of Deployment/op",
                "named by the flag --config-map-name of Deployment/op"
            ]
        );
        assert_eq!(
            web,
            &["named by the flag --config-map-name of Deployment/op"]
        );
    }

    #[test]
    fn another_namespace_or_name_is_not_a_reader() {
        let text = format!(
            "{CONFIG}apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: op, namespace: other}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: quay.io/a/op:1\n          envFrom: [{{configMapRef: {{name: images}}}}, {{configMapRef: {{name: else}}}}]\n"
        );
        assert!(why(&text).iter().all(|(_, c)| c.is_empty()));
    }
}
