//! What the API server serves: kinds mapped to resources and scope, from aggregated discovery
//! (one request each for `/api` and `/apis`, apidiscovery.k8s.io/v2) or, on servers without
//! it, from the legacy documents. Discovery is partial, as client-go's: a group version whose
//! backend is down (an aggregated API without endpoints) is recorded as unavailable and
//! skipped, and only an object that needs it fails.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

/// `Accept` for aggregated discovery, falling back to the legacy documents.
pub const AGGREGATED: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub plural: String,
    pub namespaced: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// (apiVersion, kind) → resource.
    pub resources: HashMap<(String, String), Resource>,
    /// Group versions listed but not served now, with why.
    pub unavailable: BTreeMap<String, String>,
    /// Versions each group serves (`""` is the core group).
    pub versions: BTreeMap<String, Vec<String>>,
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

impl Discovery {
    /// Adds an `APIGroupDiscoveryList` (the answer to `/api` or `/apis`).
    pub fn add_aggregated(&mut self, doc: &Value) {
        for item in doc["items"].as_array().into_iter().flatten() {
            let group = item["metadata"]["name"].as_str().unwrap_or_default();
            for v in item["versions"].as_array().into_iter().flatten() {
                let Some(version) = v["version"].as_str() else {
                    continue;
                };
                let gv = group_version(group, version);
                self.versions
                    .entry(group.to_string())
                    .or_default()
                    .push(version.to_string());
                if v["freshness"] == "Stale" {
                    self.unavailable.insert(
                        gv,
                        "its discovery is stale (the API's backend is unavailable)".into(),
                    );
                    continue;
                }
                for r in v["resources"].as_array().into_iter().flatten() {
                    let (Some(plural), Some(kind)) =
                        (r["resource"].as_str(), r["responseKind"]["kind"].as_str())
                    else {
                        continue;
                    };
                    self.resources.insert(
                        (gv.clone(), kind.to_string()),
                        Resource {
                            plural: plural.to_string(),
                            namespaced: r["scope"] == "Namespaced",
                        },
                    );
                }
            }
        }
    }

    /// Adds a legacy `APIResourceList` (the answer to `/api/v1` or `/apis/GROUP/VERSION`).
    pub fn add_resource_list(&mut self, list: &Value) {
        let Some(gv) = list["groupVersion"].as_str() else {
            return;
        };
        let (group, version) = gv.rsplit_once('/').unwrap_or(("", gv));
        self.versions
            .entry(group.to_string())
            .or_default()
            .push(version.to_string());
        for r in list["resources"].as_array().into_iter().flatten() {
            let (Some(name), Some(kind)) = (r["name"].as_str(), r["kind"].as_str()) else {
                continue;
            };
            if name.contains('/') {
                continue;
            }
            self.resources.insert(
                (gv.to_string(), kind.to_string()),
                Resource {
                    plural: name.to_string(),
                    namespaced: r["namespaced"].as_bool().unwrap_or(false),
                },
            );
        }
    }

    /// Why `kind` in `api_version` cannot be applied, in words for the user.
    pub fn missing(&self, api_version: &str, kind: &str, built_in: bool) -> String {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        if let Some(why) = self.unavailable.get(api_version) {
            return format!("{api_version} is not available on the server: {why}");
        }
        match self.versions.get(group) {
            Some(served) if !served.iter().any(|v| v == version) => format!(
                "the server does not serve {api_version} (removed or not yet in this Kubernetes version); it serves {}",
                served
                    .iter()
                    .map(|v| group_version(group, v))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ if built_in => format!("the server has no resource for kind {kind} in {api_version}"),
            _ => format!(
                "the server has no resource for kind {kind} in {api_version} (is its CRD installed?)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stale_group_versions_are_unavailable_not_fatal() {
        let mut d = Discovery::default();
        d.add_aggregated(&json!({"items": [
            {"metadata": {"name": "apps"}, "versions": [{"version": "v1", "freshness": "Current",
              "resources": [{"resource": "deployments", "responseKind": {"kind": "Deployment"}, "scope": "Namespaced"}]}]},
            {"metadata": {"name": "metrics.k8s.io"}, "versions": [{"version": "v1beta1", "freshness": "Stale"}]}]}));
        assert_eq!(
            d.resources[&("apps/v1".into(), "Deployment".into())],
            Resource {
                plural: "deployments".into(),
                namespaced: true
            }
        );
        assert!(
            d.missing("metrics.k8s.io/v1beta1", "PodMetrics", false)
                .contains("not available on the server")
        );
        let removed = d.missing("apps/v1beta1", "Deployment", true);
        assert!(
            removed.contains("does not serve apps/v1beta1") && removed.contains("serves apps/v1"),
            "{removed}"
        );
        assert!(
            d.missing("example.com/v1", "Widget", false)
                .contains("is its CRD installed?")
        );
    }
}
