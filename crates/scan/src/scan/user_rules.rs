//! User rules (`--rules FILE`): image fields the built-ins miss, scoped by kind and path.
//!
//! ```yaml
//! rules:
//!   - name: redis-enterprise
//!     kinds: [app.redislabs.com/RedisEnterpriseCluster]  # Kind, GROUP/Kind or APIVERSION/Kind
//!     paths:
//!       - spec.redisEnterpriseImageSpec     # a mapping: split fields
//!       - spec.sidecars[*].image            # a string: a whole reference
//!     fields: {tag: versionTag}             # names of the split fields, when not the usual
//! ```
//! Paths are relative to the object (the document for fragments); `*` is any key,
//! `[*]` any index and `**` any depth.

use std::path::Path;

use serde::Deserialize;

use super::emit::{Emitter, Match, Obj, PartSrc};
use super::{Form, Pattern, Role, Rule, Seg};
use ferry_core::reference::Reference;
use ferry_core::yaml::{Node, Scalar};

#[derive(Debug, thiserror::Error)]
pub enum UserRulesError {
    #[error("{file}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    #[serde(default)]
    kinds: Vec<String>,
    paths: Vec<String>,
    #[serde(default)]
    fields: Fields,
}

/// Field names of a split object; each `None` means the usual names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    pub registry: Option<String>,
    pub repository: Option<String>,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// One user rule, parsed.
#[derive(Debug, Clone)]
pub struct UserRule {
    pub name: String,
    pub kinds: Vec<String>,
    pub paths: Vec<Pattern>,
    pub fields: Fields,
}

impl UserRule {
    fn applies_to(&self, obj: &Obj) -> bool {
        if self.kinds.is_empty() {
            return true;
        }
        let Some(kind) = obj.kind else { return false };
        let api = obj.api_version.unwrap_or("");
        let group = api.rsplit_once('/').map_or("", |(g, _)| g);
        self.kinds.iter().any(|spec| match spec.rsplit_once('/') {
            None => spec == kind,
            Some((scope, k)) => k == kind && (scope == api || scope == group),
        })
    }
}

/// The rules of a `--rules` file (none by default).
#[derive(Debug, Clone, Default)]
pub struct UserRules(Vec<UserRule>);

impl UserRules {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn rules(&self) -> &[UserRule] {
        &self.0
    }

    pub fn load(path: &Path) -> Result<Self, UserRulesError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| UserRulesError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse(&file, &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<Self, UserRulesError> {
        let invalid = |message: String| UserRulesError::Invalid {
            file: file.to_string(),
            message,
        };
        // serde-saphyr's message is `error: line L column C: what`, then a source snippet;
        // the first line says it all.
        let raw: RulesFile = serde_saphyr::from_str(text).map_err(|e| {
            let message = e.to_string();
            let first = message.lines().next().unwrap_or_default();
            invalid(first.trim_start_matches("error: ").to_string())
        })?;
        let mut rules = Vec::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let name = r.name.unwrap_or_else(|| format!("rule {}", i + 1));
            if r.paths.is_empty() {
                return Err(invalid(format!("{name}: `paths` is empty")));
            }
            let paths = r
                .paths
                .iter()
                .map(|p| Pattern::parse(p).map_err(|e| invalid(format!("{name}: path {p:?}: {e}"))))
                .collect::<Result<_, _>>()?;
            rules.push(UserRule {
                name,
                kinds: r.kinds,
                paths,
                fields: r.fields,
            });
        }
        Ok(UserRules(rules))
    }

    /// Applies every rule to one document.
    pub(super) fn apply<'d>(&self, root: &'d Node<'d>, at: &[Seg<'static>], em: &mut Emitter) {
        let mut w = RuleWalk {
            rules: self,
            em,
            path: at.to_vec(),
            object_root: 0,
            obj: Obj::default(),
        };
        w.node(root);
    }
}

struct RuleWalk<'r, 'e, 'f, 'd> {
    rules: &'r UserRules,
    em: &'e mut Emitter<'f>,
    path: Vec<Seg<'d>>,
    /// Index in `path` where the current object's own paths start.
    object_root: usize,
    obj: Obj<'d>,
}

impl<'d> RuleWalk<'_, '_, '_, 'd> {
    fn node(&mut self, node: &'d Node<'d>) {
        let saved = (self.obj, self.object_root);
        if let (Some(kind), Some(api_version)) = (node.get_str("kind"), node.get_str("apiVersion"))
        {
            let meta = node.get("metadata");
            self.obj = Obj {
                api_version: Some(api_version),
                kind: Some(kind),
                name: meta.and_then(|m| m.get_str("name")),
                namespace: meta.and_then(|m| m.get_str("namespace")),
            };
            self.object_root = self.path.len();
        }
        let rules = self.rules;
        for rule in rules.rules() {
            if rule.applies_to(&self.obj)
                && rule
                    .paths
                    .iter()
                    .any(|p| p.matches(&self.path[self.object_root..]))
            {
                self.apply(rule, node);
            }
        }
        match node {
            Node::Map(entries, _) => {
                for (k, v) in entries {
                    let Some(k) = k else { continue };
                    self.path.push(Seg::Key(&k.text));
                    self.node(v);
                    self.path.pop();
                }
            }
            Node::Seq(items, _) => {
                for (i, v) in items.iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    self.node(v);
                    self.path.pop();
                }
            }
            _ => {}
        }
        (self.obj, self.object_root) = saved;
    }

    fn apply(&mut self, rule: &crate::scan::UserRule, node: &'d Node<'d>) {
        let field = match self.path.last() {
            Some(Seg::Key(k)) => (*k).to_string(),
            _ => String::new(),
        };
        match node {
            Node::Scalar(s) if !s.text.trim().is_empty() => match Reference::parse(s.text.trim()) {
                Ok(r) => self.emit(rule, Form::Whole, r, &[(Role::Reference, &field, s)]),
                Err(e) => self.em.warn(
                    &self.path,
                    s,
                    &format!("rule {:?}: not a valid image reference: {e}", rule.name),
                ),
            },
            Node::Map(..) => self.apply_split(rule, node),
            _ => {}
        }
    }

    fn apply_split(&mut self, rule: &UserRule, map: &'d Node<'d>) {
        let f = &rule.fields;
        let pick = |given: &Option<String>, usual: &[&str]| -> Option<(String, &'d Scalar<'d>)> {
            let names: Vec<&str> = match given {
                Some(g) => vec![g.as_str()],
                None => usual.to_vec(),
            };
            names.iter().find_map(|k| {
                map.get(k)
                    .and_then(Node::as_scalar)
                    .filter(|s| !s.text.trim().is_empty())
                    .map(|s| (k.to_string(), s))
            })
        };
        let registry = pick(&f.registry, &["registry"]);
        let repo = pick(&f.repository, &["repository", "repo", "image", "name"]);
        let tag = pick(&f.tag, &["tag", "versionTag", "version"]);
        let digest = pick(&f.digest, &["digest", "sha"]);
        let Some(repo) = repo else {
            if let Some(first) = map.entries().iter().find_map(|(k, _)| k.as_ref()) {
                self.em.warn(
                    &self.path,
                    first,
                    &format!("rule {:?}: no repository field here", rule.name),
                );
            }
            return;
        };
        let mut text = repo.1.text.trim().to_string();
        let mut parts = vec![(Role::Repository, repo.0.as_str(), repo.1)];
        if let Some((k, g)) = &registry {
            text = format!("{}/{text}", g.text.trim().trim_end_matches('/'));
            parts.insert(0, (Role::Registry, k.as_str(), *g));
        }
        if let Some((k, t)) = &tag {
            text = format!("{text}:{}", t.text.trim());
            parts.push((Role::Tag, k.as_str(), *t));
        }
        if let Some((k, d)) = &digest {
            let hex = d.text.trim();
            text = if hex.contains(':') {
                format!("{text}@{hex}")
            } else {
                format!("{text}@sha256:{hex}")
            };
            parts.push((Role::Digest, k.as_str(), *d));
        }
        match Reference::parse(&text) {
            Ok(r) => {
                parts.sort_by_key(|p| p.2.span().start);
                self.emit(rule, Form::Split, r, &parts)
            }
            Err(e) => self.em.warn(
                &self.path,
                repo.1,
                &format!("rule {:?}: {text:?}: {e}", rule.name),
            ),
        }
    }

    fn emit(&mut self, rule: &UserRule, form: Form, r: Reference, parts: &[(Role, &str, &Scalar)]) {
        let srcs: Vec<PartSrc> = parts
            .iter()
            .map(|&(role, field, scalar)| PartSrc {
                role,
                field,
                scalar,
                within: None,
            })
            .collect();
        self.em.hit(
            Match {
                rule: Rule::User,
                user_rule: Some(&rule.name),
                form,
            },
            r,
            &self.path,
            &self.obj,
            &srcs,
        );
    }
}
