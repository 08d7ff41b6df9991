//! A chart installed by ferry recorded as Helm records its releases, so `helm list`,
//! `helm history`, `helm get manifest|values|hooks` and `helm status` read it: the Secret
//! `sh.helm.release.v1.NAME.vN` (type `helm.sh/release.v1`, labels `name`, `owner: helm`,
//! `status`, `version`), its `release` the base64 of the gzipped release JSON, as Helm 4.1.4
//! writes it (`../shared/apiserver-transcripts/day2/decoded/helm-release-record.json`).
//! The previous deployed version becomes `superseded`, as `helm upgrade` leaves it.

use serde_json::{Value, json};

use super::ReleaseError;
use crate::cluster::Cluster;
use crate::plan::Object;

/// One chart's revision, as ferry applied it.
pub struct HelmRelease<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    /// `release.chart` (`ferry_oci::bundle::chart_json`).
    pub chart: Value,
    /// The values given on top of the chart's own (`release.config`).
    pub config: Value,
    /// The chart's objects as applied, hooks included (they go to `hooks`).
    pub objects: &'a [Object],
}

fn secret_name(name: &str, version: u64) -> String {
    format!("sh.helm.release.v1.{name}.v{version}")
}

fn encode(release: &Value) -> String {
    super::record::pack(
        release.to_string().as_bytes(),
        flate2::Compression::default(),
    )
}

fn decode(secret: &Value) -> Option<Value> {
    let json = super::record::unpack(secret["data"]["release"].as_str()?).ok()?;
    serde_json::from_slice(&json).ok()
}

/// The ferry revision a Helm version was written by, kept as labels of its Secret (Helm
/// keeps labels it does not know), so a rollback of the ferry release finds the version to
/// restore.
#[derive(Debug, Clone, Copy)]
pub struct WrittenBy<'a> {
    pub release: &'a str,
    pub revision: u32,
}

const BY_RELEASE: &str = "ferry.dev/release";
const BY_REVISION: &str = "ferry.dev/revision";

impl WrittenBy<'_> {
    fn labels(&self) -> Vec<(String, String)> {
        vec![
            (BY_RELEASE.into(), self.release.into()),
            (BY_REVISION.into(), self.revision.to_string()),
        ]
    }

    fn wrote(&self, secret: &Value) -> bool {
        let labels = &secret["metadata"]["labels"];
        let revision = self.revision.to_string();
        labels[BY_RELEASE].as_str() == Some(self.release)
            && labels[BY_REVISION].as_str() == Some(revision.as_str())
    }
}

/// ferry's labels of a Secret Helm's record is kept in, to keep them when it is rewritten.
fn by_labels(secret: &Value) -> Vec<(String, String)> {
    [BY_RELEASE, BY_REVISION]
        .iter()
        .filter_map(|k| {
            Some((
                k.to_string(),
                secret["metadata"]["labels"][k].as_str()?.into(),
            ))
        })
        .collect()
}

fn secret(
    release: &Value,
    namespace: &str,
    status: &str,
    stamp: (&str, String),
    by: Vec<(String, String)>,
) -> Object {
    let name = release["name"].as_str().unwrap_or_default();
    let version = release["version"].as_u64().unwrap_or(1);
    let mut labels = json!({
        "name": name, "owner": "helm", "status": status,
        "version": version.to_string(), stamp.0: stamp.1,
    });
    for (k, v) in by {
        labels[k] = json!(v);
    }
    super::record_object(&json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(name, version),
            "namespace": namespace,
            "labels": labels,
        },
        "type": "helm.sh/release.v1",
        "data": {"release": encode(release)},
    }))
}

/// A hook as Helm lists it in the record.
fn hook(o: &Object) -> Value {
    let path = o
        .yaml
        .lines()
        .find_map(|l| l.strip_prefix("# Source: "))
        .unwrap_or(&o.file)
        .to_string();
    json!({
        "name": o.name,
        "kind": o.kind,
        "path": path,
        "manifest": o.yaml.trim_end(),
        "events": o.helm_hooks(),
        "last_run": {"phase": ""},
        "delete_policies": o.hook_delete_policies(),
    })
}

/// Records `rel` as the chart release's next version (deployed), written by `by`; returns
/// that version.
pub async fn record(
    cluster: &Cluster,
    rel: &HelmRelease<'_>,
    by: Option<WrittenBy<'_>>,
) -> Result<u64, ReleaseError> {
    let (hooks, members): (Vec<&Object>, Vec<&Object>) =
        rel.objects.iter().partition(|o| o.is_hook());
    let manifest: String = members
        .iter()
        .map(|o| format!("---\n{}\n", o.yaml.trim_end()))
        .collect();
    let release = json!({
        "name": rel.name,
        "info": {"notes": "installed by ferry"},
        "chart": rel.chart,
        "config": rel.config,
        "manifest": manifest,
        "hooks": hooks.iter().map(|o| hook(o)).collect::<Vec<_>>(),
        "namespace": rel.namespace,
        "apply_method": "ssa",
    });
    let at = Place {
        name: rel.name,
        namespace: rel.namespace,
    };
    write_next(
        cluster,
        &at,
        release,
        |v| {
            if v == 1 {
                "Install complete"
            } else {
                "Upgrade complete"
            }
            .to_string()
        },
        by,
    )
    .await
}

/// Writes the version of chart release `name` that `from` wrote again as its next version
/// (deployed), written by `by`, as `helm rollback` does; the version restored and the new
/// one, or `None` when no version was written by `from`.
pub async fn restore(
    cluster: &Cluster,
    at: &Place<'_>,
    from: WrittenBy<'_>,
    by: WrittenBy<'_>,
) -> Result<Option<(u64, u64)>, ReleaseError> {
    let versions = cluster.list(&versions_url(at)).await?;
    let Some(release) = versions
        .iter()
        .filter(|s| from.wrote(s))
        .filter_map(decode)
        .max_by_key(|r| r["version"].as_u64().unwrap_or(0))
    else {
        return Ok(None);
    };
    let restored = release["version"].as_u64().unwrap_or(0);
    let version = write_next(
        cluster,
        at,
        release,
        |_| format!("Rollback to {restored}"),
        Some(by),
    )
    .await?;
    Ok(Some((restored, version)))
}

/// A chart release: its name and namespace.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
}

fn versions_url(at: &Place<'_>) -> String {
    format!(
        "/api/v1/namespaces/{}/secrets?labelSelector=name%3D{}%2Cowner%3Dhelm",
        at.namespace, at.name
    )
}

/// `release` written as the next version of the chart release at `at`, deployed, the one
/// deployed before superseded (as `helm upgrade` leaves it); that version.
async fn write_next(
    cluster: &Cluster,
    at: &Place<'_>,
    mut release: Value,
    description: impl Fn(u64) -> String,
    by: Option<WrittenBy<'_>>,
) -> Result<u64, ReleaseError> {
    let existing = cluster.list(&versions_url(at)).await?;
    let now = jiff::Timestamp::now();
    let unix = now.as_second().to_string();
    let mut first = now.to_string();
    let mut version = 0;
    for s in &existing {
        let Some(mut old) = decode(s) else { continue };
        version = version.max(old["version"].as_u64().unwrap_or(0));
        if old["version"] == 1 {
            first = old["info"]["first_deployed"]
                .as_str()
                .unwrap_or(&first)
                .to_string();
        }
        if s["metadata"]["labels"]["status"] == "deployed" {
            old["info"]["status"] = json!("superseded");
            let stamp = ("modifiedAt", unix.clone());
            let o = secret(&old, at.namespace, "superseded", stamp, by_labels(s));
            cluster
                .apply_as(&o, at.namespace, true, false, super::MANAGER)
                .await?;
        }
    }
    version += 1;
    let notes = release["info"]["notes"].clone();
    release["version"] = json!(version);
    release["info"] = json!({
        "first_deployed": first,
        "last_deployed": now.to_string(),
        "description": description(version),
        "status": "deployed",
        "notes": notes,
    });
    let stamp = if version == 1 {
        "createdAt"
    } else {
        "modifiedAt"
    };
    let labels = by.map(|b| b.labels()).unwrap_or_default();
    let o = secret(&release, at.namespace, "deployed", (stamp, unix), labels);
    cluster
        .apply_as(&o, at.namespace, true, false, super::MANAGER)
        .await?;
    Ok(version)
}

/// The version of a chart release Helm's records say is deployed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deployed {
    pub name: String,
    pub namespace: String,
    pub version: u64,
    /// The ferry revision that wrote it; `None`: Helm wrote it (a `helm upgrade` or
    /// `helm rollback` since), or a ferry before these labels.
    pub revision: Option<u32>,
}

/// Whether ferry wrote this Secret itself: Helm copies the labels of the version it rolls
/// back to into the new one, ferry's among them, so only the Secret's field manager tells.
fn written_by_ferry(secret: &Value) -> bool {
    secret["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|fields| fields.iter().any(|f| f["manager"] == super::MANAGER))
}

/// The deployed version of the chart release at `at`, if Helm's records have one.
pub async fn deployed(cluster: &Cluster, at: &Place<'_>) -> Result<Option<Deployed>, ReleaseError> {
    let versions = cluster.list(&versions_url(at)).await?;
    Ok(versions
        .iter()
        .filter(|s| s["metadata"]["labels"]["status"] == "deployed")
        .filter_map(|s| {
            let labels = &s["metadata"]["labels"];
            Some(Deployed {
                name: at.name.to_string(),
                namespace: at.namespace.to_string(),
                version: labels["version"].as_str()?.parse().ok()?,
                revision: labels[BY_REVISION]
                    .as_str()
                    .filter(|_| written_by_ferry(s))
                    .and_then(|r| r.parse().ok()),
            })
        })
        .max_by_key(|d| d.version))
}

/// Deletes every version of the chart release at `at`, as `helm uninstall`
/// does once its objects are gone; how many there were.
pub async fn forget(cluster: &Cluster, at: &Place<'_>) -> Result<usize, ReleaseError> {
    let versions = cluster.list(&versions_url(at)).await?;
    for s in &versions {
        let Some(secret) = s["metadata"]["name"].as_str() else {
            continue;
        };
        let url = format!("/api/v1/namespaces/{}/secrets/{secret}", at.namespace);
        cluster
            .delete_at(&url, &format!("Helm's record {secret}"), false)
            .await?;
    }
    Ok(versions.len())
}

/// The chart releases (name, namespace) whose objects `manifests` hold, by Helm's
/// ownership annotations.
pub fn releases_in(manifests: &[super::Manifest]) -> std::collections::BTreeSet<(String, String)> {
    manifests
        .iter()
        .filter_map(|m| crate::plan::load_text(&m.file, &m.text).ok())
        .flatten()
        .filter_map(|o| {
            o.read_metadata(|m| {
                let annotations = m.get("annotations")?;
                let of = |key| annotations.get_str(key).map(str::to_string);
                Some((
                    of("meta.helm.sh/release-name")?,
                    of("meta.helm.sh/release-namespace")?,
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_helm_writes_it() {
        let release = json!({"name": "cm", "version": 2, "info": {"status": "deployed"}});
        let by = WrittenBy {
            release: "shop",
            revision: 3,
        };
        let o = secret(
            &release,
            "ns",
            "deployed",
            ("modifiedAt", "1".into()),
            by.labels(),
        );
        assert_eq!(o.name, "sh.helm.release.v1.cm.v2");
        let v: Value = serde_json::from_str(&o.yaml).unwrap();
        assert_eq!(v["type"], "helm.sh/release.v1");
        assert_eq!(v["metadata"]["labels"]["owner"], "helm");
        assert_eq!(v["metadata"]["labels"]["version"], "2");
        assert_eq!(decode(&v).unwrap(), release);
        assert!(by.wrote(&v), "{v}");
        assert_eq!(by_labels(&v), by.labels());
    }
}
