//! Content digests (`sha256:<hex>`): parsing, computing, and verifying streams against them.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A validated `sha256` digest. Other algorithms are refused: every registry serves sha256.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid digest {0:?}: expected sha256:<64 lowercase hex>")]
pub struct DigestError(pub String);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex(&Sha256::digest(bytes))))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The hex part, as used in blob paths (`blobs/sha256/<hex>`).
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }
    /// `sha256:` and the first 12 hex digits, as `docker images` shows an id: enough to tell
    /// images apart on a line of a terminal.
    pub fn short(&self) -> &str {
        &self.0[.."sha256:".len() + 12]
    }
}

/// The digest of bytes fed in pieces (a file written in parts).
#[derive(Debug, Clone, Default)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> Digest {
        Digest(format!("sha256:{}", hex(&self.0.finalize())))
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.strip_prefix("sha256:").is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if ok {
            Ok(Digest(s.to_string()))
        } else {
            Err(DigestError(s.to_string()))
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Hashes bytes as they pass and checks size and digest at the end.
pub struct Verifier {
    expected: Digest,
    expected_size: Option<u64>,
    hasher: Sha256,
    seen: u64,
}

/// What a verified stream turned out to be, when it is not what was expected.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Mismatch {
    #[error("expected {expected} bytes, got {actual} or more")]
    TooLong { expected: u64, actual: u64 },
    #[error("expected {expected} bytes, got {actual}")]
    Size { expected: u64, actual: u64 },
    #[error("expected {expected}, got {actual}")]
    Digest { expected: Digest, actual: Digest },
}

impl Verifier {
    pub fn new(expected: Digest, expected_size: Option<u64>) -> Self {
        Verifier {
            expected,
            expected_size,
            hasher: Sha256::new(),
            seen: 0,
        }
    }
    /// Feeds a chunk; fails as soon as the stream is longer than expected.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), Mismatch> {
        self.seen += chunk.len() as u64;
        if let Some(expected) = self.expected_size
            && self.seen > expected
        {
            return Err(Mismatch::TooLong {
                expected,
                actual: self.seen,
            });
        }
        self.hasher.update(chunk);
        Ok(())
    }
    pub fn seen(&self) -> u64 {
        self.seen
    }
    /// All the expected bytes have arrived (never true when the size is unknown).
    pub fn is_complete(&self) -> bool {
        self.expected_size == Some(self.seen)
    }
    /// Hashes everything `reader` yields and finishes; `keep` receives a copy of the bytes.
    /// Only I/O errors are `Err`; a mismatch is the inner error (the first one seen).
    pub fn read_all(
        mut self,
        reader: &mut dyn std::io::Read,
        mut keep: Option<&mut Vec<u8>>,
    ) -> std::io::Result<Result<u64, Mismatch>> {
        let mut buf = vec![0; 1 << 20];
        let mut mismatch = None;
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            if let Some(k) = keep.as_deref_mut() {
                k.extend_from_slice(&buf[..n]);
            }
            if mismatch.is_none()
                && let Err(m) = self.update(&buf[..n])
            {
                mismatch = Some(m);
            }
        }
        Ok(match mismatch {
            Some(m) => Err(m),
            None => self.finish(),
        })
    }

    pub fn finish(self) -> Result<u64, Mismatch> {
        if let Some(expected) = self.expected_size
            && self.seen != expected
        {
            return Err(Mismatch::Size {
                expected,
                actual: self.seen,
            });
        }
        let actual = Digest(format!("sha256:{}", hex(&self.hasher.finalize())));
        if actual != self.expected {
            return Err(Mismatch::Digest {
                expected: self.expected,
                actual,
            });
        }
        Ok(self.seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_empty_is_the_well_known_one() {
        assert_eq!(
            Digest::of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn verifier_catches_size_and_content() {
        let d = Digest::of(b"hello world");
        let mut v = Verifier::new(d.clone(), Some(11));
        v.update(b"hello ").unwrap();
        v.update(b"world").unwrap();
        assert_eq!(v.finish().unwrap(), 11);

        let mut v = Verifier::new(d.clone(), Some(11));
        v.update(b"hello").unwrap();
        assert!(matches!(v.finish(), Err(Mismatch::Size { .. })));

        let mut v = Verifier::new(d.clone(), Some(11));
        assert!(matches!(
            v.update(b"hello world!"),
            Err(Mismatch::TooLong { .. })
        ));

        let mut v = Verifier::new(d, None);
        v.update(b"hello wor1d").unwrap();
        assert!(matches!(v.finish(), Err(Mismatch::Digest { .. })));
    }

    #[test]
    fn parse_rejects_other_forms() {
        assert!("sha256:ABC".parse::<Digest>().is_err());
        assert!(
            "md5:d41d8cd98f00b204e9800998ecf8427e"
                .parse::<Digest>()
                .is_err()
        );
        assert!(Digest::of(b"x").as_str().parse::<Digest>().is_ok());
    }
}
