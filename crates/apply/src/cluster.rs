//! The cluster: kubeconfig or in-cluster config, discovery of kinds to resources
//! ([`super::discovery`]), server-side apply of each document's own YAML as
//! `application/apply-patch+yaml` (field manager `ferry`), and waits on status conditions.

use std::path::Path;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use http::Method;
use serde_json::Value;

use super::client::Api;
use super::discovery::{AGGREGATED, Discovery};
use super::plan::Object;

pub const FIELD_MANAGER: &str = "ferry";

pub use super::error::ClusterError;

/// What applying one object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
    /// Applied; whether it changed is unknown (the object could not be read first).
    Applied,
}

/// An applied object's outcome and the server's `Warning` headers about it.
#[derive(Debug, Clone)]
pub struct Applied {
    pub outcome: Outcome,
    pub warnings: Vec<String>,
    /// The object's uid, as the server answered (a dry-run create has one too).
    pub uid: Option<String>,
}

pub struct Cluster {
    api: Api,
    default_namespace: String,
    /// What the server serves, from the last discovery.
    discovery: RwLock<Discovery>,
}

impl Cluster {
    /// `--kubeconfig`, else `$KUBECONFIG` / `~/.kube/config`, else in-cluster; `--context`.
    /// Nothing is requested yet: [`Cluster::discover`] is the first call.
    pub async fn connect(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Cluster, ClusterError> {
        let options = kube::config::KubeConfigOptions {
            context: context.map(str::to_string),
            ..Default::default()
        };
        // The usual failure, said in words (kube's own quotes the path as Rust debug text).
        let missing = |path: &Path| {
            ClusterError::Config(format!(
                "{}: no such file (give --kubeconfig FILE, set KUBECONFIG, or run ferry in a pod of the cluster)",
                path.display()
            ))
        };
        if let Some(path) = kubeconfig
            && !path.exists()
        {
            return Err(missing(path));
        }
        let config = match kubeconfig {
            Some(path) => {
                let kc = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| ClusterError::Config(format!("{}: {e}", path.display())))?;
                kube::Config::from_custom_kubeconfig(kc, &options)
                    .await
                    .map_err(|e| ClusterError::Config(e.to_string()))?
            }
            None => match kube::Config::from_kubeconfig(&options).await {
                Ok(c) => c,
                Err(e) if context.is_none() => kube::Config::incluster().map_err(|_| {
                    match default_kubeconfig().filter(|p| !p.exists()) {
                        Some(path) => missing(&path),
                        None => ClusterError::Config(e.to_string()),
                    }
                })?,
                Err(e) => return Err(ClusterError::Config(e.to_string())),
            },
        };
        let mut config = config;
        if super::proxy::from_env_skips(&config) {
            config.proxy_url = None;
        }
        // kube's own retry layer waits up to 15 times, backing off to 1000 s, on every 503:
        // an aggregated API that is down would stall discovery for minutes. ferry's requests
        // retry on their own terms (`client::Api`), bounded and told.
        config.default_retry = false;
        let default_namespace = config.default_namespace.clone();
        let server = config.cluster_url.to_string();
        let client =
            kube::Client::try_from(config).map_err(|e| ClusterError::Config(e.to_string()))?;
        Ok(Cluster {
            api: Api::new(client, server, context.map(str::to_string)),
            default_namespace,
            discovery: RwLock::default(),
        })
    }

    /// The run's deadline: until then a server that does not answer (restarting) is asked
    /// again; past it, the request fails as unreachable.
    pub fn set_deadline(&self, deadline: Instant) {
        self.api.set_deadline(deadline);
    }

    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// Maps every served kind to its resource; run again after CRDs are established. Group
    /// versions the server lists but cannot serve now are skipped, each with a warning.
    pub async fn discover(&self) -> Result<Vec<String>, ClusterError> {
        let mut d = Discovery::default();
        let apis = self
            .api
            .request(Method::GET, "/apis", &[("Accept", AGGREGATED)], &[], true)
            .await?;
        if !apis.status.is_success() {
            return Err(ClusterError::Api(format!(
                "GET /apis: {}: {}",
                apis.status,
                apis.message()
            )));
        }
        let json = |body: &[u8], what: &str| {
            serde_json::from_slice::<Value>(body)
                .map_err(|e| ClusterError::Api(format!("GET {what}: {e}")))
        };
        if apis.content_type.contains("as=APIGroupDiscoveryList") {
            d.add_aggregated(&json(&apis.body, "/apis")?);
            let core = self
                .api
                .request(Method::GET, "/api", &[("Accept", AGGREGATED)], &[], true)
                .await?;
            d.add_aggregated(&json(&core.body, "/api")?);
        } else {
            // A server without aggregated discovery: one request per group version.
            if let Some(core) = self.api.get_json("/api/v1").await? {
                d.add_resource_list(&core);
            }
            let groups = json(&apis.body, "/apis")?;
            for g in groups["groups"].as_array().into_iter().flatten() {
                for v in g["versions"].as_array().into_iter().flatten() {
                    let Some(gv) = v["groupVersion"].as_str() else {
                        continue;
                    };
                    let uri = format!("/apis/{gv}");
                    let a = self.api.request(Method::GET, &uri, &[], &[], false).await?;
                    if a.status.is_success() {
                        d.add_resource_list(&json(&a.body, &uri)?);
                    } else {
                        d.unavailable.insert(
                            gv.to_string(),
                            format!("GET {uri}: {}: {}", a.status, a.message()),
                        );
                    }
                }
            }
        }
        let warnings = d
            .unavailable
            .iter()
            .map(|(gv, why)| format!("{gv} is not available on the server ({why}): skipped"))
            .collect();
        // Replaced whole: a panic elsewhere cannot leave it half-written.
        *self.discovery.write().unwrap_or_else(|e| e.into_inner()) = d;
        Ok(warnings)
    }

    /// The object's URL, and its namespace (None when cluster-scoped).
    pub fn locate(
        &self,
        o: &Object,
        default_ns: &str,
    ) -> Result<(String, Option<String>), ClusterError> {
        let d = self.discovery.read().unwrap_or_else(|e| e.into_inner());
        let r = d
            .resources
            .get(&(o.api_version.clone(), o.kind.clone()))
            .ok_or_else(|| ClusterError::Object {
                what: format!("{} {}", o.kind, o.name),
                message: d.missing(&o.api_version, &o.kind, super::plan::is_built_in(o.group())),
            })?;
        let prefix = if o.api_version.contains('/') {
            format!("/apis/{}", o.api_version)
        } else {
            format!("/api/{}", o.api_version)
        };
        Ok(if r.namespaced {
            let ns = o
                .namespace
                .clone()
                .unwrap_or_else(|| default_ns.to_string());
            (
                format!("{prefix}/namespaces/{ns}/{}/{}", r.plural, o.name),
                Some(ns),
            )
        } else {
            (format!("{prefix}/{}/{}", r.plural, o.name), None)
        })
    }

    /// Server-side applies the object's YAML as written.
    pub async fn apply(
        &self,
        o: &Object,
        default_ns: &str,
        force: bool,
        dry_run: bool,
    ) -> Result<Applied, ClusterError> {
        self.apply_as(o, default_ns, force, dry_run, FIELD_MANAGER)
            .await
    }

    /// As [`Cluster::apply`], under another field manager (so its fields merge with ours).
    pub async fn apply_as(
        &self,
        o: &Object,
        default_ns: &str,
        force: bool,
        dry_run: bool,
        manager: &str,
    ) -> Result<Applied, ClusterError> {
        let (url, _) = self.locate(o, default_ns)?;
        let what = format!("{} {}", o.kind, o.name);
        // Reading the object only labels the result: without `get` permission it is still
        // applied, and reported as such.
        let before = match self.api.get_json(&url).await {
            Ok(b) => Some(b),
            Err(ClusterError::Forbidden(_)) => None,
            Err(e) => return Err(e),
        };
        let mut query = format!("?fieldManager={manager}");
        if force {
            query.push_str("&force=true");
        }
        if dry_run {
            query.push_str("&dryRun=All");
        }
        let answer = self
            .api
            .request(
                Method::PATCH,
                &format!("{url}{query}"),
                &[("Content-Type", "application/apply-patch+yaml")],
                o.yaml.as_bytes(),
                true,
            )
            .await?;
        if !answer.status.is_success() {
            return Err(ClusterError::Refused {
                what,
                status: answer.status(),
            });
        }
        let after: Value =
            serde_json::from_slice(&answer.body).map_err(|e| ClusterError::Api(e.to_string()))?;
        // Compared by content, not resourceVersion: a dry run keeps the stored one, and the
        // server writes bookkeeping alone (a first `before-first-apply` entry) as a change.
        let outcome = match before {
            None => Outcome::Applied,
            Some(None) => Outcome::Created,
            Some(Some(b)) if content(&b) == content(&after) => Outcome::Unchanged,
            Some(Some(_)) => Outcome::Configured,
        };
        Ok(Applied {
            outcome,
            warnings: answer.warnings.iter().map(|w| warning_text(w)).collect(),
            uid: after["metadata"]["uid"].as_str().map(str::to_string),
        })
    }

    /// Deletes the object (its dependents in the background, as `kubectl delete` does) and
    /// waits until it is gone or `deadline` passes; an object that is not there is fine.
    pub async fn delete(
        &self,
        o: &Object,
        default_ns: &str,
        deadline: Instant,
    ) -> Result<(), ClusterError> {
        let (url, _) = self.locate(o, default_ns)?;
        let what = format!("{} {}", o.kind, o.name);
        if self.delete_at(&url, &what, false).await? {
            self.wait_gone(&url, &what, deadline).await?;
        }
        Ok(())
    }

    /// DELETE `url` (dependents in the background); false when it was not there.
    pub async fn delete_at(
        &self,
        url: &str,
        what: &str,
        dry_run: bool,
    ) -> Result<bool, ClusterError> {
        let dry = if dry_run { "&dryRun=All" } else { "" };
        let answer = self
            .api
            .request(
                Method::DELETE,
                &format!("{url}?propagationPolicy=Background{dry}"),
                &[],
                &[],
                true,
            )
            .await?;
        if answer.status == http::StatusCode::NOT_FOUND {
            return Ok(false);
        }
        if !answer.status.is_success() {
            return Err(ClusterError::Refused {
                what: format!("{what}: delete"),
                status: answer.status(),
            });
        }
        Ok(true)
    }

    /// Waits until `url` is gone; past `deadline`, names the finalizers that hold it.
    pub async fn wait_gone(
        &self,
        url: &str,
        what: &str,
        deadline: Instant,
    ) -> Result<(), ClusterError> {
        let mut delay = Duration::from_millis(50);
        while let Some(live) = self.api.get_json(url).await? {
            let now = Instant::now();
            if now >= deadline {
                let finalizers: Vec<&str> = live["metadata"]["finalizers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let message = if finalizers.is_empty() {
                    "deleted, but still there when the time ran out".to_string()
                } else {
                    format!(
                        "deleted, but still there when the time ran out: held by the finalizer {} (its controller removes it; if the controller is gone, remove the finalizer)",
                        finalizers.join(", ")
                    )
                };
                return Err(ClusterError::Object {
                    what: what.to_string(),
                    message,
                });
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
        Ok(())
    }

    /// Every item of a LIST (`url` may carry a label selector), page by page.
    pub async fn list(&self, url: &str) -> Result<Vec<Value>, ClusterError> {
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let sep = if url.contains('?') { '&' } else { '?' };
            let page = match &next {
                Some(token) => format!("{url}{sep}limit=500&continue={token}"),
                None => format!("{url}{sep}limit=500"),
            };
            let Some(v) = self.api.get_json(&page).await? else {
                return Ok(items);
            };
            items.extend(v["items"].as_array().cloned().unwrap_or_default());
            match v["metadata"]["continue"].as_str() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(items),
            }
        }
    }

    /// Whether discovery found `kind` served in `api_version`.
    pub fn serves(&self, api_version: &str, kind: &str) -> bool {
        let d = self.discovery.read().unwrap_or_else(|e| e.into_inner());
        d.resources
            .contains_key(&(api_version.to_string(), kind.to_string()))
    }

    /// The preferred version of `group`'s `kind` and its resource, as discovery found it.
    pub fn resource_of(
        &self,
        group: &str,
        kind: &str,
    ) -> Option<(String, super::discovery::Resource)> {
        let d = self.discovery.read().unwrap_or_else(|e| e.into_inner());
        d.versions.get(group)?.iter().find_map(|v| {
            let gv = if group.is_empty() {
                v.clone()
            } else {
                format!("{group}/{v}")
            };
            let r = d.resources.get(&(gv.clone(), kind.to_string()))?;
            Some((gv, r.clone()))
        })
    }

    /// Who the API server says we are (SelfSubjectReview), when it says.
    pub async fn whoami(&self) -> Option<String> {
        let body = br#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#;
        let answer = self
            .api
            .request(
                Method::POST,
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                &[("Content-Type", "application/json")],
                body,
                true,
            )
            .await
            .ok()?;
        let v: Value = serde_json::from_slice(&answer.body).ok()?;
        v["status"]["userInfo"]["username"]
            .as_str()
            .map(str::to_string)
    }

    /// Removes the label `key` from the object at `url` (a JSON merge patch, as `kubectl
    /// label KEY-` does); an object that is gone is fine.
    pub async fn remove_label(&self, url: &str, key: &str) -> Result<(), ClusterError> {
        let patch = serde_json::json!({"metadata": {"labels": {key: null}}});
        let answer = self
            .api
            .request(
                Method::PATCH,
                &format!("{url}?fieldManager={FIELD_MANAGER}"),
                &[("Content-Type", "application/merge-patch+json")],
                patch.to_string().as_bytes(),
                true,
            )
            .await?;
        if answer.status.is_success() || answer.status == http::StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(ClusterError::Refused {
            what: format!("{url}: remove the label {key}"),
            status: answer.status(),
        })
    }

    /// GET as JSON (`None` when absent).
    pub async fn get(&self, url: &str) -> Result<Option<Value>, ClusterError> {
        self.api.get_json(url).await
    }

    /// Polls `url` until `ready` says it is ready, or that it never will be (then fails at
    /// once, as `kubectl rollout status` does), or the run's `deadline` passes (then names the
    /// last state it saw).
    pub async fn wait(
        &self,
        url: &str,
        what: &str,
        deadline: Instant,
        ready: impl Fn(&Value) -> super::ready::State,
    ) -> Result<(), ClusterError> {
        use super::ready::State;
        let started = Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            let state = match self.api.get_json(url).await? {
                Some(v) => match ready(&v) {
                    State::Ready => return Ok(()),
                    State::Failed(why) => {
                        return Err(ClusterError::Object {
                            what: what.to_string(),
                            message: why,
                        });
                    }
                    State::Pending(why) => why,
                    State::NoStatus if started.elapsed() >= super::ready::CONTROLLER_GRACE => {
                        format!(
                            "no status after {}s: is a controller (kube-controller-manager) running?",
                            started.elapsed().as_secs()
                        )
                    }
                    State::NoStatus => "no status yet".to_string(),
                },
                None => "not found".to_string(),
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(ClusterError::Timeout {
                    what: what.to_string(),
                    seconds: now.duration_since(started).as_secs(),
                    state,
                });
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
}

/// The kubeconfig kubectl would read: the first of `$KUBECONFIG`, else `~/.kube/config`.
fn default_kubeconfig() -> Option<std::path::PathBuf> {
    match std::env::var_os("KUBECONFIG") {
        Some(list) if !list.is_empty() => std::env::split_paths(&list).next(),
        _ => dirs_home().map(|h| h.join(".kube").join("config")),
    }
}

fn dirs_home() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").map(std::path::PathBuf::from)
}

/// The text of a `Warning` header (`299 - "text"`), as kubectl shows it.
fn warning_text(header: &str) -> String {
    let rest = header.splitn(3, ' ').nth(2).unwrap_or(header);
    rest.trim().trim_matches('"').to_string()
}

/// What an object holds for its users: everything but the server's bookkeeping and status.
fn content(v: &Value) -> Value {
    let mut c = v.clone();
    if let Some(m) = c.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "uid",
        ] {
            m.remove(k);
        }
    }
    if let Some(o) = c.as_object_mut() {
        o.remove("status");
    }
    c
}
