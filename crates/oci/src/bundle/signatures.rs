//! cosign signatures checked offline, inside the air gap: for each image of a bundle, its
//! `sha256-<hex>.sig` artifact (carried with it) must hold a simple-signing payload whose
//! `critical.image.docker-manifest-digest` is the image's digest, signed by one of the keys
//! the vendor gave (ECDSA P-256 or Ed25519 public keys in PEM). No network and no
//! transparency log: an air gap has neither, and the key is the vendor's contract.

use std::path::Path;

use base64::Engine as _;
use rustls::pki_types::SubjectPublicKeyInfoDer;
use rustls::pki_types::pem::PemObject;
use serde::Serialize;

use super::BundleError;
use super::archive::Archive;
use ferry_core::digest::Digest;

/// cosign's payload layer.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding the base64 signature over the payload.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// A vendor's public key.
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// How reports name it (its file).
    pub label: String,
    algorithm: Algorithm,
    /// The key as ring takes it: an uncompressed P-256 point, or 32 Ed25519 bytes.
    key: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Algorithm {
    EcdsaP256,
    Ed25519,
}

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct KeyError {
    file: String,
    message: String,
}

/// Reads a `-----BEGIN PUBLIC KEY-----` file (as `cosign generate-key-pair` writes
/// `cosign.pub`, or `openssl pkey -pubout`).
pub fn load_key(path: &Path) -> Result<PublicKey, KeyError> {
    let bad = |message: &str| KeyError {
        file: path.display().to_string(),
        message: message.to_string(),
    };
    let der = SubjectPublicKeyInfoDer::from_pem_file(path)
        .map_err(|e| bad(&format!("not a PEM public key ({e})")))?;
    let (algorithm, key) = spki(der.as_ref()).ok_or_else(|| {
        bad("not an ECDSA P-256 or Ed25519 public key (the kinds cosign signs with)")
    })?;
    Ok(PublicKey {
        label: path.display().to_string(),
        algorithm,
        key,
    })
}

/// The algorithm and key bits of a SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { OID,
/// [curve OID] }, BIT STRING }.
fn spki(der: &[u8]) -> Option<(Algorithm, Vec<u8>)> {
    const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
    let (outer, _) = tlv(der, 0x30)?;
    let (alg, rest) = tlv(outer, 0x30)?;
    let (bits, _) = tlv(rest, 0x03)?;
    let (oid, params) = tlv(alg, 0x06)?;
    let key = bits.strip_prefix(&[0])?.to_vec();
    if oid == EC_PUBLIC_KEY && tlv(params, 0x06)?.0 == PRIME256V1 {
        Some((Algorithm::EcdsaP256, key))
    } else if oid == ED25519 {
        Some((Algorithm::Ed25519, key))
    } else {
        None
    }
}

/// One DER element of `tag`: its contents and what follows it.
fn tlv(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = der.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 2 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, b| a << 8 | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

impl PublicKey {
    pub(crate) fn verifies(&self, payload: &[u8], signature: &[u8]) -> bool {
        let alg: &dyn ring::signature::VerificationAlgorithm = match self.algorithm {
            Algorithm::EcdsaP256 => &ring::signature::ECDSA_P256_SHA256_ASN1,
            Algorithm::Ed25519 => &ring::signature::ED25519,
        };
        ring::signature::UnparsedPublicKey::new(alg, &self.key)
            .verify(payload, signature)
            .is_ok()
    }
}

/// What the check found for one image.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub image: String,
    pub digest: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "signature", rename_all = "kebab-case")]
pub enum Outcome {
    /// Signed by `key`; the payload names `identity` (`critical.identity.docker-reference`).
    Verified { key: String, identity: String },
    /// No `.sig` artifact in the bundle.
    Unsigned,
    /// A signature that does not hold, and why.
    Bad { reason: String },
}

impl Verdict {
    pub fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Verified { .. })
    }
}

/// Whether a name in the bundle is an attachment (a signature, attestation, SBOM or
/// referrers index), not an image of its own.
pub fn is_attachment(source: &str) -> bool {
    let tag = source.rsplit_once(':').map(|(_, t)| t).unwrap_or_default();
    tag.starts_with("sha256-") && !source.contains('@')
}

/// Checks every image of the bundle against `keys`.
pub fn check(archive: &Archive, keys: &[PublicKey]) -> Result<Vec<Verdict>, BundleError> {
    let Some(meta) = archive.meta()? else {
        return Ok(Vec::new());
    };
    let names: std::collections::BTreeMap<String, Digest> = archive
        .images()?
        .into_iter()
        .filter_map(|n| Some((n.name?, n.descriptor.digest)))
        .collect();
    let mut out = Vec::new();
    for image in meta
        .images
        .iter()
        .filter(|i| i.attached_to.is_none() && !is_attachment(&i.source))
    {
        // cosign signs the digest the image has at its source; a platform filter made a
        // new index, so the source's is the one signed.
        let signed = image.source_digest.as_ref().unwrap_or(&image.digest);
        let repo = image
            .source
            .split('@')
            .next()
            .map(|n| match n.rsplit_once(':') {
                Some((r, t)) if !t.contains('/') => r,
                _ => n,
            })
            .unwrap_or_default();
        let sig_name = format!("{repo}:sha256-{}.sig", signed.hex());
        let outcome = match names.get(&sig_name) {
            None => Outcome::Unsigned,
            Some(manifest) => judge(archive, manifest, signed, keys),
        };
        out.push(Verdict {
            image: image.source.clone(),
            digest: signed.to_string(),
            outcome,
        });
    }
    Ok(out)
}

/// The verdict of a `.sig` manifest: one of its payload layers must name `signed` and be
/// signed by one of `keys`.
fn judge(archive: &Archive, manifest: &Digest, signed: &Digest, keys: &[PublicKey]) -> Outcome {
    let bad = |reason: String| Outcome::Bad { reason };
    let Ok(bytes) = archive.read(&format!("blobs/sha256/{}", manifest.hex())) else {
        return bad(format!(
            "its signature manifest {manifest} is not in the bundle"
        ));
    };
    let Ok(m) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return bad("its signature manifest is not JSON".into());
    };
    let mut reasons = Vec::new();
    for layer in m["layers"].as_array().into_iter().flatten() {
        if layer["mediaType"] != SIMPLE_SIGNING {
            continue;
        }
        let Some(sig) = layer["annotations"][SIGNATURE_ANNOTATION]
            .as_str()
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        else {
            reasons.push("a payload without a readable signature annotation".to_string());
            continue;
        };
        let Some(payload) = layer["digest"]
            .as_str()
            .and_then(|d| d.parse::<Digest>().ok())
            .and_then(|d| archive.read(&format!("blobs/sha256/{}", d.hex())).ok())
        else {
            reasons.push("a payload that is not in the bundle".into());
            continue;
        };
        let Some(key) = keys.iter().find(|k| k.verifies(&payload, &sig)) else {
            reasons.push("no given key verifies its signature".into());
            continue;
        };
        let Ok(p) = serde_json::from_slice::<serde_json::Value>(&payload) else {
            reasons.push("a signed payload that is not JSON".into());
            continue;
        };
        let named = p["critical"]["image"]["docker-manifest-digest"]
            .as_str()
            .unwrap_or_default();
        if named != signed.as_str() {
            reasons.push(format!(
                "a valid signature of another image ({named}, not {signed})"
            ));
            continue;
        }
        return Outcome::Verified {
            key: key.label.clone(),
            identity: p["critical"]["identity"]["docker-reference"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
    }
    if reasons.is_empty() {
        reasons.push(format!("its .sig holds no {SIMPLE_SIGNING} layer"));
    }
    bad(reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_of_der_elements() {
        assert_eq!(
            tlv(&[0x30, 0x02, 1, 2, 9], 0x30),
            Some((&[1u8, 2][..], &[9u8][..]))
        );
        assert_eq!(
            tlv(&[0x30, 0x81, 0x01, 7], 0x30),
            Some((&[7u8][..], &[][..]))
        );
        assert_eq!(tlv(&[0x30, 0x05, 1], 0x30), None);
        assert_eq!(tlv(&[0x31, 0x00], 0x30), None);
    }

    #[test]
    fn attachments_are_told_from_images() {
        assert!(is_attachment("quay.io/a/b:sha256-0123.sig"));
        assert!(is_attachment("quay.io/a/b:sha256-0123"));
        assert!(!is_attachment("quay.io/a/b:1.0"));
        assert!(!is_attachment("localhost:5000/a/b"));
    }
}
