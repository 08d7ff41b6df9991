//! Docker image references: parse, validate, normalize, print, and map into a target registry.
//!
//! The grammar is the one of `distribution/reference` (`[host[:port]/]path[:tag][@digest]`),
//! with Docker's normalization: no host means `docker.io`, a one-element `docker.io` path gets
//! `library/`, and `index.docker.io` is `docker.io`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Docker Hub's canonical name.
pub const DOCKER_HUB: &str = "docker.io";
/// The API host that serves `docker.io`.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// The old name a reference may still be written with, read as `docker.io` (as docker's
/// own reference parser reads it).
pub const DOCKER_HUB_LEGACY: &str = "index.docker.io";

/// Whether `host` is one of the names Docker Hub is reached by: `docker.io`, its legacy
/// `index.docker.io`, or its API host. Credentials, logins and mirrors for any of them are
/// Docker Hub's; this is the one place that knows the names.
pub fn is_docker_hub(host: &str) -> bool {
    matches!(host, DOCKER_HUB | DOCKER_HUB_LEGACY | DOCKER_HUB_API_HOST)
}

/// `host`, with Docker Hub's other names read as `docker.io`.
pub fn hub_normalized(host: &str) -> &str {
    if is_docker_hub(host) {
        DOCKER_HUB
    } else {
        host
    }
}
/// Longest repository name (host + path) Distribution accepts.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;
const TAG_LENGTH_MAX: usize = 128;

/// Why a string is not a valid image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("empty reference")]
    Empty,
    #[error("repository name must be lowercase: {0:?}")]
    Uppercase(String),
    #[error("invalid reference format: {0:?}")]
    Format(String),
    #[error("invalid registry host {0:?}")]
    Host(String),
    #[error("invalid tag {0:?}")]
    Tag(String),
    #[error("invalid digest {0:?}")]
    Digest(String),
    #[error("repository name longer than {NAME_TOTAL_LENGTH_MAX} characters")]
    NameTooLong,
    #[error("{0:?} is a 64-character hexadecimal id, not a repository name")]
    HexId(String),
}

/// A parsed, normalized image reference. A name written without tag or digest means
/// `:latest`, and is equal to the same name written with `:latest`.
#[derive(Debug, Clone)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
    /// Neither a tag nor a digest was written (`tag` is then the implied `latest`).
    untagged: bool,
}

impl Reference {
    fn key(&self) -> (&str, &str, Option<&str>, Option<&str>) {
        (
            &self.registry,
            &self.repository,
            self.tag.as_deref(),
            self.digest.as_deref(),
        )
    }
}

impl PartialEq for Reference {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Reference {}

impl std::hash::Hash for Reference {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialOrd for Reference {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Reference {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl Reference {
    /// Parses and normalizes `s`, as `docker pull` would.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (name_and_tag, digest) = match s.split_once('@') {
            Some((n, d)) => {
                validate_digest(d)?;
                (n, Some(d.to_string()))
            }
            None => (s, None),
        };
        let (name, tag) = split_tag(name_and_tag);
        if let Some(t) = tag {
            validate_tag(t)?;
        }
        if name.is_empty() {
            return Err(ReferenceError::Format(s.to_string()));
        }
        if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReferenceError::HexId(name.to_string()));
        }
        let (host, path) = split_host(name);
        let registry = match host {
            Some(h) => {
                validate_host(h)?;
                if h == DOCKER_HUB_LEGACY {
                    DOCKER_HUB.to_string()
                } else {
                    h.to_string()
                }
            }
            None => DOCKER_HUB.to_string(),
        };
        validate_path(path, s)?;
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        if name.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(ReferenceError::NameTooLong);
        }
        let untagged = tag.is_none() && digest.is_none();
        Ok(Reference {
            registry,
            repository,
            tag: tag
                .map(str::to_string)
                .or_else(|| untagged.then(|| "latest".to_string())),
            digest,
            untagged,
        })
    }

    /// Builds a reference from parts, validating each.
    pub fn from_parts(
        registry: &str,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<Self, ReferenceError> {
        let mut s = format!("{registry}/{repository}");
        if let Some(t) = tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = digest {
            s.push('@');
            s.push_str(d);
        }
        Reference::parse(&s)
    }

    /// The registry host (with port), normalized: `docker.io` for Docker Hub.
    pub fn registry(&self) -> &str {
        &self.registry
    }
    /// The repository path inside the registry, e.g. `library/redis`.
    pub fn repository(&self) -> &str {
        &self.repository
    }
    /// The tag: as written, or `latest` when neither tag nor digest was written.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    /// The digest (`algorithm:hex`), if any.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }
    /// What a registry's manifests endpoint is asked for: the digest, else the tag, else
    /// `latest` (as a pull of a bare name does).
    pub fn manifest_ref(&self) -> &str {
        self.digest().or(self.tag()).unwrap_or("latest")
    }
    /// The host to talk to: Docker Hub's API host for `docker.io`, the registry otherwise.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }
    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
    /// True when a tag or a digest was written.
    pub fn is_pinned_or_tagged(&self) -> bool {
        !self.untagged
    }
    /// The same image under another name (registry + repository), tag and digest kept.
    pub fn with_name(&self, registry: &str, repository: &str) -> Result<Self, ReferenceError> {
        let tag = if self.untagged { None } else { self.tag() };
        Reference::from_parts(registry, repository, tag, self.digest())
    }
    /// Another tag of the same repository (no digest).
    pub fn with_tag(&self, tag: &str) -> Result<Self, ReferenceError> {
        Reference::from_parts(&self.registry, &self.repository, Some(tag), None)
    }
    /// A manifest of the same repository by its digest alone.
    pub fn with_only_digest(&self, digest: &str) -> Result<Self, ReferenceError> {
        Reference::from_parts(&self.registry, &self.repository, None, Some(digest))
    }
    /// The same reference with `digest` set (a written tag kept, the implied `latest` not),
    /// as `--pin-digests` writes it.
    pub fn with_digest(&self, digest: &str) -> Result<Self, ReferenceError> {
        validate_digest(digest)?;
        let mut r = self.clone();
        if r.untagged {
            r.tag = None;
            r.untagged = false;
        }
        r.digest = Some(digest.to_string());
        Ok(r)
    }
}

/// Prints the normalized form: `:latest` is added when neither tag nor digest was written.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Splits `name[:tag]`, where a colon followed by a `/` belongs to a host port.
fn split_tag(s: &str) -> (&str, Option<&str>) {
    match s.rfind(':') {
        Some(i) if !s[i + 1..].contains('/') => (&s[..i], Some(&s[i + 1..])),
        _ => (s, None),
    }
}

/// Splits a name into its host, if the first component is one, and the path.
/// The first component is a host when it contains `.` or `:`, is `localhost`, or has
/// uppercase letters (a path never does), as Docker decides it.
fn split_host(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn validate_host(h: &str) -> Result<(), ReferenceError> {
    let err = || ReferenceError::Host(h.to_string());
    let (host, port) = if let Some(rest) = h.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or_else(err)?;
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(err());
        }
        match after {
            "" => (None, None),
            p => (None, Some(p.strip_prefix(':').ok_or_else(err)?)),
        }
    } else {
        match h.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(h), None),
        }
    };
    if let Some(host) = host {
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !c.starts_with('-')
                && !c.ends_with('-')
        };
        if !host.split('.').all(component_ok) {
            return Err(err());
        }
    }
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(err());
    }
    Ok(())
}

/// path-component = [a-z0-9]+ (separator [a-z0-9]+)*, separator = `.` | `_` | `__` | `-`+
fn validate_path(path: &str, whole: &str) -> Result<(), ReferenceError> {
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::Uppercase(whole.to_string()));
    }
    for component in path.split('/') {
        if !valid_path_component(component) {
            return Err(ReferenceError::Format(whole.to_string()));
        }
    }
    Ok(())
}

fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn validate_tag(t: &str) -> Result<(), ReferenceError> {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let ok = !b.is_empty()
        && b.len() <= TAG_LENGTH_MAX
        && word(b[0])
        && b.iter().all(|&x| word(x) || x == b'.' || x == b'-');
    if ok {
        Ok(())
    } else {
        Err(ReferenceError::Tag(t.to_string()))
    }
}

/// Accepts the algorithms registries serve, with their exact lowercase-hex lengths.
pub fn validate_digest(d: &str) -> Result<(), ReferenceError> {
    let err = || ReferenceError::Digest(d.to_string());
    let (alg, hex) = d.split_once(':').ok_or_else(err)?;
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(err()),
    };
    if hex.len() == len
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(err())
    }
}

#[cfg(test)]
mod tests;
