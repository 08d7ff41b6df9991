//! A site receipt: what the site's registry already holds, for the vendor to make a delta
//! bundle against (`bundle --since`). Blobs by digest and size, each with where the site
//! holds it: an image of a bundle delivered before (its source name, which push maps to the
//! site's repository as it mapped that bundle's), or a repository of the site's registry.
//! Nothing secret; sorted and pretty-printed, so the same holdings give the same bytes, and
//! its own sha256 names it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::archive::Archive;
use super::{BundleError, io_err};
use ferry_core::digest::Digest;

/// `schema` of a receipt file.
pub const SCHEMA: &str = "ferry.receipt/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub schema: String,
    /// What it was made from, in words (`bundle acme 1.0 (sha256:...)`).
    pub from: Vec<String>,
    /// Every blob the site holds, by digest.
    pub blobs: Vec<Held>,
}

/// One blob the site holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub digest: Digest,
    pub size: u64,
    #[serde(flatten)]
    pub at: Place,
}

/// Where the site holds a blob.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// In the image of this source name, pushed from a bundle: push maps it with `--to`.
    Image(String),
    /// In this repository of the site's registry (`host/path`).
    Repository(String),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Image(i) => write!(f, "image {}", ferry_core::text::printable(i)),
            Place::Repository(r) => write!(f, "repository {}", ferry_core::text::printable(r)),
        }
    }
}

impl Receipt {
    /// The file's bytes: the same holdings, the same bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// The receipt's name: the sha256 of its bytes.
    pub fn digest(&self) -> Digest {
        Digest::of(&self.to_bytes())
    }

    /// Joins receipts (several bundles delivered); a blob held in several places keeps the
    /// first in sort order.
    pub fn merge(parts: Vec<Receipt>) -> Receipt {
        let mut from = Vec::new();
        let mut blobs: BTreeMap<Digest, Held> = BTreeMap::new();
        for r in parts {
            from.extend(r.from);
            for h in r.blobs {
                match blobs.get(&h.digest) {
                    Some(have) if have.at <= h.at => {}
                    _ => {
                        blobs.insert(h.digest.clone(), h);
                    }
                }
            }
        }
        from.sort();
        from.dedup();
        Receipt {
            schema: SCHEMA.to_string(),
            from,
            blobs: blobs.into_values().collect(),
        }
    }

    /// What a bundle leaves at the site once pushed: every blob its images use (those it
    /// carries, and those it expected the site to hold already), each at the first image of
    /// the bundle (in sort order) that uses it.
    pub fn of_bundle(archive: &Archive) -> Result<Receipt, BundleError> {
        let meta = archive.meta()?.ok_or_else(|| {
            BundleError::Invalid(format!(
                "{}: not a ferry bundle (no ferry.json): a receipt names the images a bundle delivered",
                archive.path.display()
            ))
        })?;
        let mut blobs: BTreeMap<Digest, Held> = BTreeMap::new();
        let mut named = archive.images()?;
        named.sort_by(|a, b| a.name.cmp(&b.name));
        for n in named {
            let Some(name) = n.name else { continue };
            for (digest, size) in archive.blobs_of(&n.descriptor)? {
                blobs.entry(digest.clone()).or_insert(Held {
                    digest,
                    size,
                    at: Place::Image(name.clone()),
                });
            }
        }
        let label = match &meta.product {
            Some(p) => format!("{} {}", p.name, p.version.as_deref().unwrap_or("")),
            None => archive
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        Ok(Receipt {
            schema: SCHEMA.to_string(),
            from: vec![format!(
                "bundle {} ({})",
                label.trim(),
                Digest::of(&archive.read("ferry.json")?)
            )],
            blobs: blobs.into_values().collect(),
        })
    }

    /// A receipt file, or the receipt of a bundle (`bundle --since` takes either).
    pub fn load(path: &Path) -> Result<Receipt, BundleError> {
        let mut head = [0u8; 1];
        let first = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .map_err(io_err(path))?;
        let split = super::parts::Given::of(path) != super::parts::Given::Whole;
        if first == 1 && head[0] == b'{' && !split {
            return Receipt::read(path);
        }
        Receipt::of_bundle(&Archive::open(path)?)
    }

    /// Reads a receipt file; another kind of file is said so.
    pub fn read(path: &Path) -> Result<Receipt, BundleError> {
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        let not = |why: String| {
            BundleError::Invalid(format!(
                "{}: not a ferry receipt ({why}); give a receipt (ferry receipt) or a bundle",
                path.display()
            ))
        };
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| not(e.to_string()))?;
        match v.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => {}
            Some(other) => {
                return Err(not(format!(
                    "schema {}; this ferry reads {SCHEMA}",
                    ferry_core::text::printable(other)
                )));
            }
            None => return Err(not("no schema".into())),
        }
        serde_json::from_value(v).map_err(|e| not(e.to_string()))
    }

    /// Writes the receipt whole (a partial file never takes its name).
    pub fn write(&self, path: &Path) -> Result<(), BundleError> {
        ferry_core::atomic::write(path, &self.to_bytes()).map_err(io_err(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(n: u8, at: Place) -> Held {
        Held {
            digest: Digest::of(&[n]),
            size: n as u64,
            at,
        }
    }

    #[test]
    fn merged_receipts_are_sorted_and_the_same_bytes_whatever_the_order() {
        let a = Receipt {
            schema: SCHEMA.into(),
            from: vec!["bundle b".into()],
            blobs: vec![held(1, Place::Image("quay.io/a/x:1".into()))],
        };
        let b = Receipt {
            schema: SCHEMA.into(),
            from: vec!["bundle a".into()],
            blobs: vec![
                held(2, Place::Repository("site/x".into())),
                held(1, Place::Image("quay.io/a/a:1".into())),
            ],
        };
        let ab = Receipt::merge(vec![a.clone(), b.clone()]);
        let ba = Receipt::merge(vec![b, a]);
        assert_eq!(ab.to_bytes(), ba.to_bytes());
        assert_eq!(ab.digest(), ba.digest());
        assert_eq!(ab.from, ["bundle a", "bundle b"]);
        assert_eq!(ab.blobs.len(), 2);
        let one = ab.blobs.iter().find(|h| h.size == 1).unwrap();
        assert_eq!(one.at, Place::Image("quay.io/a/a:1".into()));
        let text = String::from_utf8(ab.to_bytes()).unwrap();
        assert!(text.contains("\"image\": \"quay.io/a/a:1\""), "{text}");
        assert!(text.contains("\"repository\": \"site/x\""), "{text}");
    }

    #[test]
    fn another_file_is_not_read_as_a_receipt() {
        let dir = ferry_core::scratch::ScratchDir::for_test("receipt-read");
        let p = dir.join("r.json");
        std::fs::write(&p, br#"{"schema":"ferry.status/v1"}"#).unwrap();
        let e = Receipt::read(&p).unwrap_err().to_string();
        assert!(
            e.contains("not a ferry receipt (schema ferry.status/v1"),
            "{e}"
        );
    }
}
