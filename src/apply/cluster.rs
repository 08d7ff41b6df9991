//! Talking to the cluster through the `kube` client: kubeconfig or in-cluster config,
//! discovery of kinds to resources, server-side apply of each document's own YAML as
//! `application/apply-patch+yaml` (field manager `ferry`), and waits on status conditions.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use http::{Method, Request, StatusCode};
use kube::client::Body;
use serde_json::Value;

use super::plan::Object;

pub const FIELD_MANAGER: &str = "ferry";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("kubeconfig: {0}")]
    Config(String),
    #[error("{0}")]
    Api(String),
    /// The API server refused a read (403).
    #[error("{0}")]
    Forbidden(String),
    #[error("{what}: {message}")]
    Object { what: String, message: String },
    #[error("timed out after {seconds}s waiting for {what}: {state}")]
    Timeout {
        what: String,
        seconds: u64,
        state: String,
    },
}

impl ClusterError {
    /// The exit code this error ends a run with: a bad kubeconfig is bad input, anything
    /// the cluster did is a cluster failure.
    pub fn exit_code(&self) -> crate::exit::Exit {
        match self {
            ClusterError::Config(_) => crate::exit::Exit::InvalidInput,
            _ => crate::exit::Exit::Cluster,
        }
    }
}

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

#[derive(Debug, Clone)]
struct Resource {
    plural: String,
    namespaced: bool,
}

pub struct Cluster {
    client: kube::Client,
    default_namespace: String,
    /// Kinds to resources, from the last discovery.
    resources: std::sync::RwLock<HashMap<(String, String), Resource>>,
}

fn status_message(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v["kind"] == "Status" => v["message"].as_str().unwrap_or("").to_string(),
        _ => String::from_utf8_lossy(body).chars().take(300).collect(),
    }
}

impl Cluster {
    /// `--kubeconfig`, else `$KUBECONFIG` / `~/.kube/config`, else in-cluster; `--context`.
    pub async fn connect(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Cluster, ClusterError> {
        let options = kube::config::KubeConfigOptions {
            context: context.map(str::to_string),
            ..Default::default()
        };
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
                Err(e) if context.is_none() => {
                    kube::Config::incluster().map_err(|_| ClusterError::Config(e.to_string()))?
                }
                Err(e) => return Err(ClusterError::Config(e.to_string())),
            },
        };
        let mut config = config;
        if super::proxy::from_env_skips(&config) {
            config.proxy_url = None;
        }
        let default_namespace = config.default_namespace.clone();
        let client =
            kube::Client::try_from(config).map_err(|e| ClusterError::Config(e.to_string()))?;
        let c = Cluster {
            client,
            default_namespace,
            resources: Default::default(),
        };
        c.discover().await?;
        Ok(c)
    }

    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Vec<u8>), ClusterError> {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            req = req.header(http::header::CONTENT_TYPE, ct);
        }
        let req = req
            .body(Body::from(body))
            .map_err(|e| ClusterError::Api(e.to_string()))?;
        let resp = self
            .client
            .send(req)
            .await
            .map_err(|e| ClusterError::Api(e.to_string()))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| ClusterError::Api(e.to_string()))?;
        Ok((status, bytes.to_vec()))
    }

    async fn get_json(&self, uri: &str) -> Result<Option<Value>, ClusterError> {
        let (status, body) = self.call(Method::GET, uri, None, Vec::new()).await?;
        match status {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| ClusterError::Api(format!("GET {uri}: {e}"))),
            StatusCode::FORBIDDEN => Err(ClusterError::Forbidden(format!(
                "GET {uri}: {status}: {}",
                status_message(&body)
            ))),
            s => Err(ClusterError::Api(format!(
                "GET {uri}: {s}: {}",
                status_message(&body)
            ))),
        }
    }

    /// Maps every served kind to its resource; run again after CRDs are established.
    pub async fn discover(&self) -> Result<(), ClusterError> {
        let mut lists = vec!["/api/v1".to_string()];
        if let Some(groups) = self.get_json("/apis").await? {
            for g in groups["groups"].as_array().into_iter().flatten() {
                for v in g["versions"].as_array().into_iter().flatten() {
                    if let Some(gv) = v["groupVersion"].as_str() {
                        lists.push(format!("/apis/{gv}"));
                    }
                }
            }
        }
        let mut resources = HashMap::new();
        for uri in lists {
            let Some(list) = self.get_json(&uri).await? else {
                continue;
            };
            let Some(gv) = list["groupVersion"].as_str() else {
                continue;
            };
            for r in list["resources"].as_array().into_iter().flatten() {
                let (Some(name), Some(kind)) = (r["name"].as_str(), r["kind"].as_str()) else {
                    continue;
                };
                if name.contains('/') {
                    continue;
                }
                resources.insert(
                    (gv.to_string(), kind.to_string()),
                    Resource {
                        plural: name.to_string(),
                        namespaced: r["namespaced"].as_bool().unwrap_or(false),
                    },
                );
            }
        }
        // The map is replaced whole: a panic elsewhere cannot leave it half-written.
        *self.resources.write().unwrap_or_else(|e| e.into_inner()) = resources;
        Ok(())
    }

    /// The object's URL, and its namespace (None when cluster-scoped).
    pub fn locate(
        &self,
        o: &Object,
        default_ns: &str,
    ) -> Result<(String, Option<String>), ClusterError> {
        let resources = self.resources.read().unwrap_or_else(|e| e.into_inner());
        let r = resources
            .get(&(o.api_version.clone(), o.kind.clone()))
            .ok_or_else(|| ClusterError::Object {
                what: format!("{} {}", o.kind, o.name),
                message: format!(
                    "the server has no resource for kind {} in {} (is its CRD installed?)",
                    o.kind, o.api_version
                ),
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
    ) -> Result<Outcome, ClusterError> {
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
    ) -> Result<Outcome, ClusterError> {
        let (url, _) = self.locate(o, default_ns)?;
        let what = format!("{} {}", o.kind, o.name);
        // Reading the object only labels the result: without `get` permission it is still
        // applied, and reported as such.
        let before = match self.get_json(&url).await {
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
        let (status, body) = self
            .call(
                Method::PATCH,
                &format!("{url}{query}"),
                Some("application/apply-patch+yaml"),
                o.yaml.clone().into_bytes(),
            )
            .await?;
        if !status.is_success() {
            return Err(ClusterError::Object {
                what,
                message: format!("{status}: {}", status_message(&body)),
            });
        }
        let after: Value =
            serde_json::from_slice(&body).map_err(|e| ClusterError::Api(e.to_string()))?;
        // Compared by content, not resourceVersion: a dry run keeps the stored one, and the
        // server writes bookkeeping alone (a first `before-first-apply` entry) as a change.
        Ok(match before {
            None => Outcome::Applied,
            Some(None) => Outcome::Created,
            Some(Some(b)) if content(&b) == content(&after) => Outcome::Unchanged,
            Some(Some(_)) => Outcome::Configured,
        })
    }

    /// Polls until `ready` says so, or the deadline passes (then names what it saw).
    pub async fn wait(
        &self,
        url: &str,
        what: &str,
        timeout: Duration,
        ready: impl Fn(&Value) -> Result<(), String>,
    ) -> Result<(), ClusterError> {
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(50);
        loop {
            let state = match self.get_json(url).await? {
                Some(v) => match ready(&v) {
                    Ok(()) => return Ok(()),
                    Err(s) => s,
                },
                None => "not found".to_string(),
            };
            if Instant::now() >= deadline {
                return Err(ClusterError::Timeout {
                    what: what.to_string(),
                    seconds: timeout.as_secs(),
                    state,
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
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

/// True conditions of `status.conditions` by type.
fn condition<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// CRD readiness: Established and NamesAccepted both True.
pub fn crd_ready(v: &Value) -> Result<(), String> {
    for kind in ["NamesAccepted", "Established"] {
        match condition(v, kind) {
            Some(c) if c["status"] == "True" => {}
            Some(c) => {
                return Err(format!(
                    "{kind} is {}: {}",
                    c["status"],
                    c["message"].as_str().unwrap_or("")
                ));
            }
            None => return Err(format!("no {kind} condition yet")),
        }
    }
    Ok(())
}

/// Workload readiness as kubectl rollout status sees it; other kinds are ready at once.
pub fn workload_ready(kind: &str, v: &Value) -> Result<(), String> {
    let status = &v["status"];
    let n = |p: &str| status[p].as_u64().unwrap_or(0);
    let observed = status["observedGeneration"].as_u64().unwrap_or(0)
        >= v["metadata"]["generation"].as_u64().unwrap_or(0);
    let conditions = || {
        status["conditions"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        format!(
                            "{}={} {}",
                            c["type"].as_str().unwrap_or("?"),
                            c["status"].as_str().unwrap_or("?"),
                            c["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    };
    let ok = match kind {
        "Deployment" | "StatefulSet" => {
            let want = v["spec"]["replicas"].as_u64().unwrap_or(1);
            observed && n("readyReplicas") >= want && n("updatedReplicas") >= want
        }
        "DaemonSet" => observed && n("numberReady") >= n("desiredNumberScheduled"),
        "Job" => condition(v, "Complete").is_some_and(|c| c["status"] == "True"),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("not ready ({})", conditions()))
    }
}
