//! Releases: what an install put on the cluster, recorded there so that the next install is
//! an upgrade that prunes, and status, rollback and uninstall need nothing but the cluster.
//!
//! The record is KEP-3659 ApplySet metadata as kubectl writes it (a parent Secret
//! `ferry.release.NAME` labelled `applyset.kubernetes.io/id`, annotated with the tooling,
//! the group kinds and the other namespaces of its members; every member labelled
//! `applyset.kubernetes.io/part-of`), plus one Secret per revision ([`record`]).

pub mod helm;
pub mod labels;
pub mod prune;
pub mod record;
pub mod status;
pub mod uninstall;
pub mod upgrade;

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::cluster::{Cluster, ClusterError};
use crate::plan::Object;
pub use record::{Manifest, Member, PullSecretRecord, RecordError, Revision, Status};

pub const PART_OF: &str = "applyset.kubernetes.io/part-of";
pub const APPLYSET_ID: &str = "applyset.kubernetes.io/id";
pub const TOOLING: &str = "applyset.kubernetes.io/tooling";
pub const GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
pub const NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";
/// On the parent and every revision: the release's name.
pub const RELEASE_LABEL: &str = "ferry.dev/release";
/// The field manager of the record (apart from the members' `ferry`).
pub const MANAGER: &str = "ferry-release";

/// The parent Secret's name.
pub fn parent_name(release: &str) -> String {
    format!("ferry.release.{release}")
}

/// KEP-3659's id of a parent: `applyset-` + base64url(sha256(NAME.NAMESPACE.KIND.GROUP)) + `-v1`.
pub fn applyset_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    let hash = sha2::Sha256::digest(format!("{name}.{namespace}.{kind}.{group}"));
    format!(
        "applyset-{}-v1",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash)
    )
}

/// A release's name: what Helm accepts for one (a DNS-1123 label, at most 53 characters),
/// the rule `ferry.json`'s `product.name` is checked by.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.len() <= 53 && ferry_oci::bundle::trust::namespace(name).is_ok() {
        Ok(())
    } else {
        Err(format!(
            "release name {name:?}: lower-case letters, digits and '-', at most 53 characters, starting and ending with a letter or digit"
        ))
    }
}

/// `Kind.group` as the ApplySet annotation lists it (`ConfigMap`, `Deployment.apps`).
pub fn group_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// What a release holds in the cluster: its parent and its revisions, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    pub release: String,
    pub namespace: String,
    pub id: String,
    pub parent: Option<Value>,
    pub revisions: Vec<Revision>,
}

impl History {
    /// Reads the parent and every revision Secret of `release` in `namespace`.
    pub async fn read(
        cluster: &Cluster,
        release: &str,
        namespace: &str,
    ) -> Result<History, ReleaseError> {
        let parent = cluster
            .get(&format!(
                "/api/v1/namespaces/{namespace}/secrets/{}",
                parent_name(release)
            ))
            .await?;
        let selector =
            format!("ferry.dev%2Frelease%3D{release}%2Capp.kubernetes.io%2Fmanaged-by%3Dferry");
        let secrets = cluster
            .list(&format!(
                "/api/v1/namespaces/{namespace}/secrets?labelSelector={selector}"
            ))
            .await?;
        let mut revisions = Vec::new();
        for s in secrets.iter().filter(|s| s["type"] == record::SECRET_TYPE) {
            revisions.push(Revision::from_secret(s)?);
        }
        revisions.sort_by_key(|r| r.revision);
        Ok(History {
            release: release.to_string(),
            namespace: namespace.to_string(),
            id: applyset_id(&parent_name(release), namespace, "Secret", ""),
            parent,
            revisions,
        })
    }

    /// Whether the cluster ran a revision of the release (so this run is an upgrade).
    pub fn has_run(&self) -> bool {
        self.revisions
            .iter()
            .any(|r| matches!(r.status, Status::Deployed | Status::Superseded))
    }

    /// The revision the cluster runs: the last deployed one.
    pub fn deployed(&self) -> Option<&Revision> {
        self.revisions
            .iter()
            .rev()
            .find(|r| r.status == Status::Deployed)
    }

    pub fn last(&self) -> Option<&Revision> {
        self.revisions.last()
    }

    pub fn next_number(&self) -> u32 {
        self.last().map_or(1, |r| r.revision + 1)
    }

    /// The group kinds the parent says its members have.
    pub fn group_kinds(&self) -> BTreeSet<String> {
        self.annotation(GROUP_KINDS)
    }

    /// The namespaces, besides its own, the parent says its members are in.
    pub fn namespaces(&self) -> BTreeSet<String> {
        self.annotation(NAMESPACES)
    }

    fn annotation(&self, key: &str) -> BTreeSet<String> {
        self.parent
            .as_ref()
            .and_then(|p| p["metadata"]["annotations"][key].as_str())
            .map(|s| {
                s.split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The parent Secret, listing `group_kinds` and `namespaces` (other than its own).
    pub fn parent_object(
        &self,
        group_kinds: &BTreeSet<String>,
        namespaces: &BTreeSet<String>,
    ) -> Object {
        let others: Vec<&str> = namespaces
            .iter()
            .filter(|n| **n != self.namespace)
            .map(String::as_str)
            .collect();
        let kinds: Vec<&str> = group_kinds.iter().map(String::as_str).collect();
        let doc = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": parent_name(&self.release),
                "namespace": self.namespace,
                "labels": {
                    APPLYSET_ID: self.id,
                    RELEASE_LABEL: self.release,
                    "app.kubernetes.io/managed-by": "ferry",
                },
                "annotations": {
                    TOOLING: format!("ferry/v{}", env!("CARGO_PKG_VERSION")),
                    GROUP_KINDS: kinds.join(","),
                    NAMESPACES: others.join(","),
                },
            },
            "type": "ferry.dev/release-parent",
        });
        record_object(&doc)
    }
}

/// A document of the record as an object to apply.
pub fn record_object(doc: &Value) -> Object {
    Object {
        api_version: doc["apiVersion"].as_str().unwrap_or("v1").to_string(),
        kind: doc["kind"].as_str().unwrap_or_default().to_string(),
        name: doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        namespace: doc["metadata"]["namespace"].as_str().map(str::to_string),
        file: "(release record)".into(),
        line: 0,
        document: 0,
        yaml: doc.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Label(#[from] labels::LabelError),
    #[error("release {release} has no revision {revision} (it has {have})")]
    NoRevision {
        release: String,
        revision: u32,
        have: String,
    },
    #[error("no release {release} in namespace {namespace}")]
    NoRelease { release: String, namespace: String },
}

impl ReleaseError {
    pub fn category(&self) -> ferry_core::error::Category {
        use ferry_core::error::Category;
        match self {
            ReleaseError::Cluster(e) => e.category(),
            ReleaseError::Record(_) => Category::Cluster,
            ReleaseError::Label(_) => Category::InvalidInput,
            ReleaseError::NoRevision { .. } | ReleaseError::NoRelease { .. } => Category::Usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_applyset_id_is_kubectls() {
        // From applyset-kubectl.json: kubectl's parent secret/rec-myapp in rec-applyset.
        assert_eq!(
            applyset_id("rec-myapp", "rec-applyset", "Secret", ""),
            "applyset-vBydE0k0UMYs1r0VNaPdipGhn3IfxOl1G1daYBXUpLc-v1"
        );
    }

    #[test]
    fn release_names_are_helms() {
        assert!(check_name("shop-2").is_ok());
        for bad in ["", "Shop", "-a", "a-", "a.b", &"x".repeat(54), "--set=x"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
