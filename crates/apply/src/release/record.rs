//! One revision of a release as ferry records it in the cluster: a Secret per revision
//! (`ferry.release.NAME.vN`, type `ferry.dev/release.v1`) whose `release` key holds the
//! revision as gzipped JSON, so that status, rollback and uninstall need no bundle and no
//! workdir. Labels say the release, revision and status, so a label selector finds them.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

/// The schema id of a revision's JSON.
pub const SCHEMA: &str = "ferry.release/v1";
/// The Secret type of a revision.
pub const SECRET_TYPE: &str = "ferry.dev/release.v1";
/// A revision is one Secret, and a Secret holds at most 1 MiB.
const LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Being applied (or the run that applied it was cut off).
    Pending,
    Deployed,
    /// Applied, then replaced by a later revision.
    Superseded,
    /// Some of its objects failed; it is not what the cluster runs as a whole.
    Failed,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Pending => "pending",
            Status::Deployed => "deployed",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
        })
    }
}

/// One object of a revision.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Member {
    pub group: String,
    pub version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// Absent for an object the run did not get to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

impl Member {
    /// Group, kind, namespace, name: what makes it the same object across revisions.
    pub fn key(&self) -> (String, String, Option<String>, String) {
        (
            self.group.clone(),
            self.kind.clone(),
            self.namespace.clone(),
            self.name.clone(),
        )
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl std::fmt::Display for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)?;
        if let Some(ns) = &self.namespace {
            write!(f, " in {ns}")?;
        }
        Ok(())
    }
}

/// A document of the revision, as applied (without ferry's labels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub file: String,
    pub text: String,
}

/// The pull secret ferry made for the revision, so uninstall can take it away again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullSecretRecord {
    pub name: String,
    pub namespaces: Vec<String>,
    /// (namespace, ServiceAccount) whose `imagePullSecrets` ferry added it to.
    pub accounts: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub schema: String,
    pub release: String,
    /// Where the record lives.
    pub namespace: String,
    pub revision: u32,
    pub status: Status,
    /// The product's version (from the bundle), if it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The digest of the bundle's `ferry.json` (absent when rolled back or applied from files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    /// RFC 3339.
    pub time: String,
    /// Who ran it, as the API server knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// What the run said, for a failed revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub members: Vec<Member>,
    /// The images, as the site's registry holds them (digest-pinned when pinned).
    pub images: Vec<String>,
    pub manifests: Vec<Manifest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<PullSecretRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "revision {revision} of release {release} is {size} bytes as stored (gzip, base64); a Secret holds at most 1 MiB"
    )]
    TooLarge {
        release: String,
        revision: u32,
        size: usize,
    },
    #[error("the record {secret} cannot be read: {why}")]
    Unreadable { secret: String, why: String },
    #[error("the record {secret} is of {schema}, which this ferry does not know: upgrade ferry")]
    Schema { secret: String, schema: String },
}

impl Revision {
    /// The Secret's name: `ferry.release.NAME.vN`.
    pub fn secret_name(&self) -> String {
        secret_name(&self.release, self.revision)
    }

    /// The revision as a Secret, applied by server-side apply (JSON is YAML).
    pub fn to_secret(&self) -> Result<serde_json::Value, RecordError> {
        let json = serde_json::to_vec(self).expect("a revision serializes");
        let encoded = pack(&json, flate2::Compression::best());
        if encoded.len() > LIMIT {
            return Err(RecordError::TooLarge {
                release: self.release.clone(),
                revision: self.revision,
                size: encoded.len(),
            });
        }
        Ok(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": self.secret_name(),
                "namespace": self.namespace,
                "labels": {
                    super::RELEASE_LABEL: self.release,
                    "ferry.dev/revision": self.revision.to_string(),
                    "ferry.dev/status": self.status.to_string(),
                    "app.kubernetes.io/managed-by": "ferry",
                },
            },
            "type": SECRET_TYPE,
            "data": {"release": encoded},
        }))
    }

    /// A revision from its Secret as the API server returns it.
    pub fn from_secret(secret: &serde_json::Value) -> Result<Revision, RecordError> {
        let name = secret["metadata"]["name"]
            .as_str()
            .unwrap_or("(unnamed)")
            .to_string();
        let fail = |why: String| RecordError::Unreadable {
            secret: name.clone(),
            why,
        };
        let data = secret["data"]["release"]
            .as_str()
            .ok_or_else(|| fail("it has no data.release".into()))?;
        let json = unpack(data).map_err(fail)?;
        let value: serde_json::Value =
            serde_json::from_slice(&json).map_err(|e| fail(e.to_string()))?;
        if value["schema"] != SCHEMA {
            return Err(RecordError::Schema {
                secret: name,
                schema: value["schema"].as_str().unwrap_or("no schema").to_string(),
            });
        }
        serde_json::from_value(value).map_err(|e| fail(e.to_string()))
    }
}

/// `data.release` of a release Secret, ferry's and Helm's alike: the API's base64 of the
/// base64 of the gzipped JSON.
pub fn pack(json: &[u8], level: flate2::Compression) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), level);
    gz.write_all(json).expect("writes to memory");
    BASE64.encode(BASE64.encode(gz.finish().expect("writes to memory")))
}

/// The JSON bytes of a release Secret's `data.release` ([`pack`] undone), at most 64 MiB.
pub fn unpack(data: &str) -> Result<Vec<u8>, String> {
    let once = BASE64.decode(data).map_err(|e| e.to_string())?;
    let packed = BASE64.decode(&once).map_err(|e| e.to_string())?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(packed.as_slice())
        .take(64 << 20)
        .read_to_end(&mut json)
        .map_err(|e| format!("not gzip: {e}"))?;
    Ok(json)
}

pub fn secret_name(release: &str, revision: u32) -> String {
    format!("ferry.release.{release}.v{revision}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision() -> Revision {
        Revision {
            schema: SCHEMA.into(),
            release: "shop".into(),
            namespace: "shop".into(),
            revision: 2,
            status: Status::Deployed,
            version: Some("2.0.0".into()),
            bundle: Some("sha256:ab".into()),
            time: "2026-12-06T08:00:00Z".into(),
            user: Some("admin".into()),
            description: None,
            members: vec![Member {
                group: "apps".into(),
                version: "v1".into(),
                kind: "Deployment".into(),
                namespace: Some("shop".into()),
                name: "op".into(),
                uid: Some("u1".into()),
            }],
            images: vec!["reg/op@sha256:cd".into()],
            manifests: vec![Manifest {
                file: "op.yaml".into(),
                text: "kind: Deployment\n".into(),
            }],
            pull_secret: None,
        }
    }

    #[test]
    fn a_revision_goes_through_its_secret_unchanged() {
        let r = revision();
        let secret = r.to_secret().unwrap();
        assert_eq!(secret["metadata"]["name"], "ferry.release.shop.v2");
        assert_eq!(secret["metadata"]["labels"]["ferry.dev/status"], "deployed");
        assert_eq!(secret["type"], SECRET_TYPE);
        assert_eq!(Revision::from_secret(&secret).unwrap(), r);
    }

    #[test]
    fn a_record_of_another_schema_or_damaged_is_named() {
        let mut r = revision();
        r.schema = "ferry.release/v9".into();
        let e = Revision::from_secret(&r.to_secret().unwrap()).unwrap_err();
        assert!(
            e.to_string().contains("ferry.release/v9") && e.to_string().contains("upgrade ferry"),
            "{e}"
        );
        let mut s = revision().to_secret().unwrap();
        s["data"]["release"] = "bm90IGd6aXA=".into();
        let e = Revision::from_secret(&s).unwrap_err();
        assert!(e.to_string().contains("ferry.release.shop.v2"), "{e}");
    }
}
