//! A bundle signed as a whole: the vendor signs `ferry.json`'s bytes, and `ferry.json` pins
//! every other byte (blobs by their names, `index.json` and every listed file by digest,
//! nothing unlisted allowed). The signature is the `ferry.json.sig` entry, base64 of an
//! ECDSA P-256 (SHA-256, ASN.1 DER) or Ed25519 signature: what `cosign sign-blob --key`
//! writes, so `cosign verify-blob --key KEY.pub --signature ferry.json.sig ferry.json` and
//! `openssl dgst -sha256 -verify KEY.pub -signature <(base64 -d ferry.json.sig) ferry.json`
//! check it too, offline.

use std::path::Path;

use base64::Engine as _;
use ring::signature;
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;

use super::archive::Archive;
use super::signatures::PublicKey;
use super::{BundleError, SIGNATURE_ENTRY};

/// The vendor's private key (PKCS#8 PEM, unencrypted: `openssl genpkey`).
pub struct SigningKey {
    label: String,
    pair: Pair,
}

enum Pair {
    EcdsaP256(signature::EcdsaKeyPair),
    Ed25519(signature::Ed25519KeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// A private key that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct SigningKeyError {
    file: String,
    message: String,
}

impl SigningKey {
    /// Reads a `-----BEGIN PRIVATE KEY-----` file holding an ECDSA P-256 or Ed25519 key.
    pub fn load(path: &Path) -> Result<SigningKey, SigningKeyError> {
        let bad = |message: String| SigningKeyError {
            file: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        if text.contains("ENCRYPTED") {
            return Err(bad(
                "an encrypted key: give an unencrypted PKCS#8 key (openssl pkcs8 -topk8 -nocrypt)"
                    .into(),
            ));
        }
        let der =
            PrivatePkcs8KeyDer::from_pem_slice(text.as_bytes()).map_err(|_| {
                bad("not a PKCS#8 private key (-----BEGIN PRIVATE KEY-----; openssl genpkey writes \
                 one, openssl pkcs8 -topk8 -nocrypt converts an EC PRIVATE KEY)"
                .into())
            })?;
        let der = der.secret_pkcs8_der();
        let rng = ring::rand::SystemRandom::new();
        let pair = signature::EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            der,
            &rng,
        )
        .map(Pair::EcdsaP256)
        .or_else(|_| signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map(Pair::Ed25519))
        .map_err(|_| bad("not an ECDSA P-256 or Ed25519 private key".into()))?;
        Ok(SigningKey {
            label: path.display().to_string(),
            pair,
        })
    }

    /// `ferry.json.sig`'s content for `bytes`: the signature, base64.
    pub fn sign(&self, bytes: &[u8]) -> Result<Vec<u8>, BundleError> {
        let raw = match &self.pair {
            Pair::EcdsaP256(pair) => pair
                .sign(&ring::rand::SystemRandom::new(), bytes)
                .map_err(|_| BundleError::Invalid(format!("{}: signing failed", self.label)))?
                .as_ref()
                .to_vec(),
            Pair::Ed25519(pair) => pair.sign(bytes).as_ref().to_vec(),
        };
        Ok(base64::engine::general_purpose::STANDARD
            .encode(raw)
            .into_bytes())
    }
}

/// What checking `ferry.json.sig` against the vendor's keys found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "signature", rename_all = "snake_case")]
pub enum Seal {
    /// One of the keys verifies the signature over `ferry.json`, and so the whole bundle.
    Verified { key: String },
    /// The bundle carries no `ferry.json.sig`.
    Unsigned,
    /// It carries one that no given key verifies, or that is not a signature.
    Bad { reason: String },
}

impl Seal {
    pub fn ok(&self) -> bool {
        matches!(self, Seal::Verified { .. })
    }

    /// The problem to report, if it is one.
    pub fn problem(&self) -> Option<String> {
        match self {
            Seal::Verified { .. } => None,
            Seal::Unsigned => Some(format!(
                "{SIGNATURE_ENTRY}: missing: the bundle is not signed as a whole (bundle \
                 --sign-key), so its manifests are covered by no signature"
            )),
            Seal::Bad { reason } => Some(format!("{SIGNATURE_ENTRY}: {reason}")),
        }
    }
}

/// Checks the bundle's signature over `ferry.json` with each of `keys`.
pub fn check(archive: &Archive, keys: &[PublicKey]) -> Result<Seal, BundleError> {
    if !archive.entries.contains_key(SIGNATURE_ENTRY) {
        return Ok(Seal::Unsigned);
    }
    if !archive.entries.contains_key("ferry.json") {
        return Ok(Seal::Bad {
            reason: "there is no ferry.json to have signed".into(),
        });
    }
    let text = archive.read(SIGNATURE_ENTRY)?;
    let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(text.trim_ascii()) else {
        return Ok(Seal::Bad {
            reason: "not base64".into(),
        });
    };
    let signed = archive.read("ferry.json")?;
    Ok(keys
        .iter()
        .find(|k| k.verifies(&signed, &signature))
        .map(|k| Seal::Verified {
            key: k.label.clone(),
        })
        .unwrap_or_else(|| Seal::Bad {
            reason: "no given key verifies the signature over ferry.json: it or ferry.json \
                     changed after signing, or another key signed it"
                .into(),
        }))
}
