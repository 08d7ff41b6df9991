//! Naming in the target registry: `--to REGISTRY[/PREFIX]` and the three `--layout`s.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::reference::{Reference, ReferenceError};

/// How source repositories are named under the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `quay.io/prometheus/prometheus` → `TARGET/prometheus/prometheus`
    #[default]
    Path,
    /// `quay.io/prometheus/prometheus` → `TARGET/quay.io/prometheus/prometheus`
    HostPath,
    /// `quay.io/prometheus/prometheus` → `TARGET/prometheus`
    Flat,
}

/// Errors in naming images under the target.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("invalid target {target:?}: {reason}")]
    Invalid { target: String, reason: String },
    #[error("{source_ref} cannot be named under {target}: {error}")]
    Unmappable {
        source_ref: String,
        target: String,
        error: ReferenceError,
    },
    #[error("{first} and {second} would both be pushed as {target}; choose another --layout")]
    Collision {
        first: String,
        second: String,
        target: String,
    },
}

/// A target registry with an optional repository prefix, e.g. `harbor.example.com/team`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    registry: String,
    prefix: Option<String>,
}

impl Target {
    pub fn registry(&self) -> &str {
        &self.registry
    }
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// Whether `r` already names an image under this target (its registry, under its
    /// prefix).
    pub fn holds(&self, r: &Reference) -> bool {
        r.registry() == self.registry
            && self
                .prefix
                .as_deref()
                .is_none_or(|p| r.repository().starts_with(&format!("{p}/")))
    }

    /// The name `source` gets under this target; one already under it keeps its name, so a
    /// second rewrite (after a kill, or by mistake) changes nothing.
    pub fn map(&self, source: &Reference, layout: Layout) -> Result<Reference, TargetError> {
        if self.holds(source) {
            return Ok(source.clone());
        }
        let tail = match layout {
            Layout::Path => source.repository().to_string(),
            Layout::HostPath => format!(
                "{}/{}",
                host_component(source.registry()),
                source.repository()
            ),
            Layout::Flat => source
                .repository()
                .rsplit('/')
                .next()
                .unwrap_or(source.repository())
                .to_string(),
        };
        let repository = match &self.prefix {
            Some(p) => format!("{p}/{tail}"),
            None => tail,
        };
        source
            .with_name(&self.registry, &repository)
            .map_err(|error| TargetError::Unmappable {
                source_ref: source.to_string(),
                target: self.to_string(),
                error,
            })
    }

    /// Maps every source, failing before anything is copied when two different sources
    /// would land on one target reference.
    pub fn map_all<'a>(
        &self,
        sources: impl IntoIterator<Item = &'a Reference>,
        layout: Layout,
    ) -> Result<BTreeMap<Reference, Reference>, TargetError> {
        let mut by_target: BTreeMap<String, &Reference> = BTreeMap::new();
        let mut out = BTreeMap::new();
        for source in sources {
            let mapped = self.map(source, layout)?;
            let key = mapped.to_string();
            if let Some(previous) = by_target.get(&key)
                && *previous != source
            {
                let (first, second) = if previous.to_string() <= source.to_string() {
                    (previous.to_string(), source.to_string())
                } else {
                    (source.to_string(), previous.to_string())
                };
                return Err(TargetError::Collision {
                    first,
                    second,
                    target: key,
                });
            }
            by_target.insert(key, source);
            out.insert(source.clone(), mapped);
        }
        Ok(out)
    }
}

/// A registry host as one repository path component: `127.0.0.1:5000` → `127.0.0.1-5000`.
/// Path components allow only `[a-z0-9]` joined by `.`, `_` or `-`.
fn host_component(host: &str) -> String {
    let mut out = String::with_capacity(host.len());
    for c in host.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches(['-', '.']).to_string()
}

impl FromStr for Target {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| TargetError::Invalid {
            target: s.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = s.trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(invalid("empty"));
        }
        if trimmed.contains("://") {
            return Err(invalid("give a registry host, not a URL"));
        }
        if trimmed.contains(['@']) {
            return Err(invalid("a target has no digest"));
        }
        let (registry, prefix) = match trimmed.split_once('/') {
            Some((r, p)) => (r, Some(p)),
            None => (trimmed, None),
        };
        // Validate with a probe reference: the registry must read as a host, the prefix as a path.
        let probe = match prefix {
            Some(p) => format!("{registry}/{p}/probe"),
            None => format!("{registry}/probe"),
        };
        let parsed = Reference::parse(&probe).map_err(|e| invalid(&e.to_string()))?;
        if parsed.registry() != registry && registry != crate::reference::DOCKER_HUB_LEGACY {
            return Err(invalid(
                "the first component must be a registry host (with a dot or a port, or localhost)",
            ));
        }
        Ok(Target {
            registry: parsed.registry().to_string(),
            prefix: prefix.map(str::to_string),
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.prefix {
            Some(p) => write!(f, "{}/{}", self.registry, p),
            None => write!(f, "{}", self.registry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn layouts_follow_the_design() {
        let t: Target = "harbor.example.com/team".parse().unwrap();
        let src = r("quay.io/prometheus/prometheus:v2.45.0");
        assert_eq!(
            t.map(&src, Layout::Path).unwrap().to_string(),
            "harbor.example.com/team/prometheus/prometheus:v2.45.0"
        );
        assert_eq!(
            t.map(&src, Layout::HostPath).unwrap().to_string(),
            "harbor.example.com/team/quay.io/prometheus/prometheus:v2.45.0"
        );
        assert_eq!(
            t.map(&src, Layout::Flat).unwrap().to_string(),
            "harbor.example.com/team/prometheus:v2.45.0"
        );
    }

    #[test]
    fn digest_and_tag_are_kept() {
        let t: Target = "127.0.0.1:5000".parse().unwrap();
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let src = r(&format!("nginx:1.25@{d}"));
        assert_eq!(
            t.map(&src, Layout::Path).unwrap().to_string(),
            format!("127.0.0.1:5000/library/nginx:1.25@{d}")
        );
    }

    #[test]
    fn host_with_port_becomes_a_valid_component() {
        let t: Target = "reg.local/mirror".parse().unwrap();
        let src = r("127.0.0.1:5000/app/x:1");
        assert_eq!(
            t.map(&src, Layout::HostPath).unwrap().to_string(),
            "reg.local/mirror/127.0.0.1-5000/app/x:1"
        );
    }

    #[test]
    fn flat_collisions_are_reported_before_copying() {
        let t: Target = "harbor.example.com".parse().unwrap();
        let a = r("quay.io/a/kafka:1");
        let b = r("docker.io/b/kafka:1");
        let err = t.map_all([&a, &b], Layout::Flat).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("docker.io/b/kafka:1") && msg.contains("quay.io/a/kafka:1"),
            "{msg}"
        );
        assert!(t.map_all([&a, &b], Layout::Path).is_ok());
    }

    #[test]
    fn same_source_twice_is_not_a_collision() {
        let t: Target = "harbor.example.com".parse().unwrap();
        let a = r("quay.io/a/kafka:1");
        assert_eq!(t.map_all([&a, &a.clone()], Layout::Flat).unwrap().len(), 1);
    }

    #[test]
    fn bad_targets_are_rejected() {
        for bad in [
            "",
            "https://harbor.example.com",
            "team/only",
            "Harbor.example.com/Team",
            "h.io/x@sha256:00",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad} accepted");
        }
        let t: Target = "localhost:5000/".parse().unwrap();
        assert_eq!(t.to_string(), "localhost:5000");
    }
}
