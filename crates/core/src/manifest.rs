//! Manifests and indexes as the copy engine needs them: media types, children, platforms.
//! Raw bytes are always kept and copied as they are: re-serializing would change digests.

use serde::Deserialize;

use crate::digest::Digest;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Every manifest type we copy, for `Accept` (Distribution answers 404 without it).
pub const ACCEPT: [&str; 4] = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "Docker schema 1 manifests are not supported (deprecated since 2017); push the image again with a current client"
    )]
    Schema1,
    #[error("unsupported manifest media type {0:?}")]
    Unsupported(String),
    #[error("malformed manifest: {0}")]
    Malformed(String),
}

/// A content descriptor.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
    /// Strings only, as the OCI image spec says and registries enforce: a manifest a
    /// registry would refuse does not parse here, so `verify` refuses what `push` would.
    #[serde(default)]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A parsed manifest or index.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// An image: config and layers (all blobs).
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    /// An index or manifest list: child manifests.
    Index { manifests: Vec<Descriptor> },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    /// Parsed only to be checked, as a descriptor's are.
    #[serde(default, rename = "annotations")]
    _annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// Decides the media type (the header, else the body's `mediaType`, else the shape) and parses.
pub fn parse(bytes: &[u8], header_type: Option<&str>) -> Result<(String, Parsed), ManifestError> {
    let raw: Raw =
        serde_json::from_slice(bytes).map_err(|e| ManifestError::Malformed(e.to_string()))?;
    if raw.schema_version == Some(1) {
        return Err(ManifestError::Schema1);
    }
    let header_type = header_type
        .map(|h| h.split(';').next().unwrap_or(h).trim())
        .filter(|h| !h.is_empty() && *h != "application/json" && *h != "text/plain");
    let media_type = match (header_type, raw.media_type.as_deref()) {
        (Some(h), _) => h.to_string(),
        (None, Some(b)) => b.to_string(),
        (None, None) if raw.manifests.is_some() => OCI_INDEX.to_string(),
        (None, None) => OCI_MANIFEST.to_string(),
    };
    let parsed = match media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => Parsed::Index {
            manifests: raw
                .manifests
                .ok_or_else(|| ManifestError::Malformed("index without manifests".into()))?,
        },
        OCI_MANIFEST | DOCKER_MANIFEST => Parsed::Image {
            config: raw
                .config
                .ok_or_else(|| ManifestError::Malformed("manifest without config".into()))?,
            layers: raw.layers.unwrap_or_default(),
        },
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => return Err(ManifestError::Schema1),
        other => return Err(ManifestError::Unsupported(other.to_string())),
    };
    Ok((media_type, parsed))
}

/// Which platforms of an index to copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PlatformFilter {
    #[default]
    All,
    /// `os/arch[/variant]` entries.
    Only(Vec<String>),
}

impl std::str::FromStr for PlatformFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(PlatformFilter::All);
        }
        let list: Vec<String> = s.split(',').map(|p| p.trim().to_string()).collect();
        for p in &list {
            let n = p.split('/').count();
            if !(2..=3).contains(&n) || p.split('/').any(str::is_empty) {
                return Err(format!(
                    "invalid platform {p:?}: expected os/arch[/variant]"
                ));
            }
        }
        Ok(PlatformFilter::Only(list))
    }
}

impl PlatformFilter {
    pub fn is_all(&self) -> bool {
        *self == PlatformFilter::All
    }
    /// Whether a child of an index is kept. Children without a platform (attestations,
    /// signatures) are kept only when everything is copied.
    pub fn keeps(&self, d: &Descriptor) -> bool {
        match (self, &d.platform) {
            (PlatformFilter::All, _) => true,
            (PlatformFilter::Only(_), None) => false,
            (PlatformFilter::Only(list), Some(p)) => list.iter().any(|want| {
                let mut parts = want.split('/');
                let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
                os == Some(p.os.as_str())
                    && arch == Some(p.architecture.as_str())
                    && variant.is_none_or(|v| p.variant.as_deref() == Some(v))
            }),
        }
    }
}

/// What a platform filter keeps of an index.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The index to push: the original bytes when every child is kept, else a new index
    /// (with a new digest).
    pub bytes: bytes::Bytes,
    pub kept: Vec<Descriptor>,
    /// `os/arch[/variant]` of the kept children that name one.
    pub platforms: Vec<String>,
}

impl PlatformFilter {
    /// The children of `index` (whose parsed `manifests` are given) this filter keeps;
    /// `None` when it keeps none.
    pub fn select(
        &self,
        index: &bytes::Bytes,
        manifests: &[Descriptor],
    ) -> Result<Option<Selection>, ManifestError> {
        let kept: Vec<Descriptor> = manifests
            .iter()
            .filter(|d| self.keeps(d))
            .cloned()
            .collect();
        if kept.is_empty() {
            return Ok(None);
        }
        let bytes = if kept.len() == manifests.len() {
            index.clone()
        } else {
            bytes::Bytes::from(filter_index(index, |d| self.keeps(d))?)
        };
        let platforms = kept
            .iter()
            .filter_map(|d| d.platform.as_ref().map(ToString::to_string))
            .collect();
        Ok(Some(Selection {
            bytes,
            kept,
            platforms,
        }))
    }
}

/// Rewrites an index to keep only `kept` of its children, preserving every other field.
/// The result is a new manifest with a new digest.
pub fn filter_index(
    bytes: &[u8],
    keep: impl Fn(&Descriptor) -> bool,
) -> Result<Vec<u8>, ManifestError> {
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ManifestError::Malformed(e.to_string()))?;
    let manifests = value
        .get_mut("manifests")
        .and_then(|m| m.as_array_mut())
        .ok_or_else(|| ManifestError::Malformed("index without manifests".into()))?;
    let mut err = None;
    manifests.retain(|m| match serde_json::from_value::<Descriptor>(m.clone()) {
        Ok(d) => keep(&d),
        Err(e) => {
            err = Some(ManifestError::Malformed(e.to_string()));
            false
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    serde_json::to_vec(&value).map_err(|e| ManifestError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:4bc453b53cb3d914b45f4b250294236adba2c0e09ff6f03793949e7e39fd4cc1";

    /// Annotations are strings: a nested value (a registry answers MANIFEST_INVALID), even
    /// 100k levels deep, is malformed here, without exhausting the stack.
    #[test]
    fn annotations_that_are_not_strings_are_malformed() {
        let manifest = |annotations: &str| {
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"c","digest":"{D}","size":1}},"layers":[{{"mediaType":"l","digest":"{D}","size":1,"annotations":{{"sig":"x"}}}}],"annotations":{annotations}}}"#
            )
        };
        assert!(parse(manifest(r#"{"a":"b"}"#).as_bytes(), None).is_ok());
        let deep = format!(r#"{{"a":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        for bad in [r#"{"a":{"b":"c"}}"#, r#"{"a":1}"#, deep.as_str()] {
            assert!(
                matches!(
                    parse(manifest(bad).as_bytes(), None),
                    Err(ManifestError::Malformed(_))
                ),
                "{}",
                &bad[..bad.len().min(40)]
            );
        }
    }

    #[test]
    fn schema1_is_refused_clearly() {
        let body = br#"{"schemaVersion": 1, "name": "x", "fsLayers": []}"#;
        assert!(matches!(parse(body, None), Err(ManifestError::Schema1)));
        assert!(matches!(
            parse(b"{}", Some(DOCKER_SCHEMA1_SIGNED)),
            Err(ManifestError::Schema1)
        ));
    }

    #[test]
    fn index_children_and_platform_filter() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[
            {{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":10,"platform":{{"os":"linux","architecture":"amd64"}}}},
            {{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":11,"platform":{{"os":"linux","architecture":"arm","variant":"v7"}}}},
            {{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":12}}]}}"#
        );
        let (mt, parsed) = parse(body.as_bytes(), Some("application/json")).unwrap();
        assert_eq!(mt, OCI_INDEX);
        let Parsed::Index { manifests } = parsed else {
            panic!()
        };
        let f: PlatformFilter = "linux/arm/v7".parse().unwrap();
        let kept: Vec<u64> = manifests
            .iter()
            .filter(|d| f.keeps(d))
            .map(|d| d.size)
            .collect();
        assert_eq!(kept, vec![11]);
        let filtered = filter_index(body.as_bytes(), |d| f.keeps(d)).unwrap();
        let (_, Parsed::Index { manifests }) = parse(&filtered, None).unwrap() else {
            panic!()
        };
        assert_eq!(manifests.len(), 1);
        assert!("linux".parse::<PlatformFilter>().is_err());
        assert!(PlatformFilter::All.keeps(&manifests[0]));
    }
}
