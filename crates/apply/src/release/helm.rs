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

fn secret(release: &Value, namespace: &str, status: &str, stamp: (&str, String)) -> Object {
    let name = release["name"].as_str().unwrap_or_default();
    let version = release["version"].as_u64().unwrap_or(1);
    super::record_object(&json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(name, version),
            "namespace": namespace,
            "labels": {
                "name": name, "owner": "helm", "status": status,
                "version": version.to_string(), stamp.0: stamp.1,
            },
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

/// Records `rel` as the chart release's next version (deployed); returns that version.
pub async fn record(cluster: &Cluster, rel: &HelmRelease<'_>) -> Result<u64, ReleaseError> {
    let url = format!(
        "/api/v1/namespaces/{}/secrets?labelSelector=name%3D{}%2Cowner%3Dhelm",
        rel.namespace, rel.name
    );
    let existing = cluster.list(&url).await?;
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
            let o = secret(
                &old,
                rel.namespace,
                "superseded",
                ("modifiedAt", unix.clone()),
            );
            cluster
                .apply_as(&o, rel.namespace, true, false, super::MANAGER)
                .await?;
        }
    }
    version += 1;
    let (hooks, members): (Vec<&Object>, Vec<&Object>) =
        rel.objects.iter().partition(|o| o.is_hook());
    let manifest: String = members
        .iter()
        .map(|o| format!("---\n{}\n", o.yaml.trim_end()))
        .collect();
    let release = json!({
        "name": rel.name,
        "info": {
            "first_deployed": first,
            "last_deployed": now.to_string(),
            "description": if version == 1 { "Install complete" } else { "Upgrade complete" },
            "status": "deployed",
            "notes": "installed by ferry",
        },
        "chart": rel.chart,
        "config": rel.config,
        "manifest": manifest,
        "hooks": hooks.iter().map(|o| hook(o)).collect::<Vec<_>>(),
        "version": version,
        "namespace": rel.namespace,
        "apply_method": "ssa",
    });
    let stamp = if version == 1 {
        "createdAt"
    } else {
        "modifiedAt"
    };
    let o = secret(&release, rel.namespace, "deployed", (stamp, unix));
    cluster
        .apply_as(&o, rel.namespace, true, false, super::MANAGER)
        .await?;
    Ok(version)
}

/// Deletes every version of the chart release `name` in `namespace`, as `helm uninstall`
/// does once its objects are gone; how many there were.
pub async fn forget(cluster: &Cluster, name: &str, namespace: &str) -> Result<usize, ReleaseError> {
    let url = format!(
        "/api/v1/namespaces/{namespace}/secrets?labelSelector=name%3D{name}%2Cowner%3Dhelm"
    );
    let versions = cluster.list(&url).await?;
    for s in &versions {
        let Some(secret) = s["metadata"]["name"].as_str() else {
            continue;
        };
        let at = format!("/api/v1/namespaces/{namespace}/secrets/{secret}");
        cluster
            .delete_at(&at, &format!("Helm's record {secret}"), false)
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
            Some((
                o.annotation("meta.helm.sh/release-name")?,
                o.annotation("meta.helm.sh/release-namespace")?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_helm_writes_it() {
        let release = json!({"name": "cm", "version": 2, "info": {"status": "deployed"}});
        let o = secret(&release, "ns", "deployed", ("modifiedAt", "1".into()));
        assert_eq!(o.name, "sh.helm.release.v1.cm.v2");
        let v: Value = serde_json::from_str(&o.yaml).unwrap();
        assert_eq!(v["type"], "helm.sh/release.v1");
        assert_eq!(v["metadata"]["labels"]["owner"], "helm");
        assert_eq!(v["metadata"]["labels"]["version"], "2");
        assert_eq!(decode(&v).unwrap(), release);
    }
}
