//! Split references and kustomize `images:` entries: a reference spread over several fields
//! of one mapping (`repository` + `tag`, `registry` + `repository` + `digest`, `newName` +
//! `newTag`), found and emitted with every part's span.

use super::super::emit::{Match, PartSrc};
use super::super::{Form, KustomizeEntry, Role, Rule, Seg};
use super::{DIGEST_KEYS, REPOSITORY_KEYS, TAG_KEYS, Walker, is_image_key, string_value};
use ferry_core::reference::Reference;
use ferry_core::yaml::{Node, Scalar};

/// What split-form detection found in a mapping.
pub(super) struct Split<'s, 'a> {
    rule: Rule,
    /// Keys whose values belong to the split reference.
    pub(super) keys: Vec<&'s str>,
    parts: Vec<(Role, &'s str, &'s Scalar<'a>)>,
    /// No tag or digest written: not reported, only warned about.
    partial: bool,
    text: String,
}

impl<'d> Walker<'_, '_, 'd> {
    /// Records a kustomization's `images:` entries; [`super::super::kustomize::resolve`]
    /// decides which become findings (an entry pulls nothing unless an image uses it).
    pub(super) fn kustomize(&mut self, items: &'d [Node<'d>]) {
        for (i, item) in items.iter().enumerate() {
            let Some(name) = item.get("name").and_then(string_value) else {
                continue;
            };
            let new_name = item.get("newName").and_then(string_value);
            let new_tag = item
                .get("newTag")
                .and_then(|n| n.as_scalar())
                .filter(|s| !s.text.is_empty());
            let digest = item.get("digest").and_then(string_value);
            self.path.push(Seg::Index(i));
            let (repo_key, repo) = match new_name {
                Some(n) => ("newName", n),
                None => ("name", name),
            };
            let mut text = repo.text.trim().to_string();
            let mut parts = vec![PartSrc {
                role: Role::Repository,
                field: repo_key,
                scalar: repo,
                within: None,
            }];
            if let Some(t) = new_tag {
                text = format!("{text}:{}", t.text.trim());
                parts.push(PartSrc {
                    role: Role::Tag,
                    field: "newTag",
                    scalar: t,
                    within: None,
                });
            }
            if let Some(d) = digest {
                text = format!("{text}@{}", d.text.trim());
                parts.push(PartSrc {
                    role: Role::Digest,
                    field: "digest",
                    scalar: d,
                    within: None,
                });
            }
            parts.sort_by_key(|p| p.scalar.span().start);
            let template = match Reference::parse(&text) {
                Ok(r) => self.em.build(
                    Match {
                        rule: Rule::KustomizeImages,
                        user_rule: None,
                        form: Form::Split,
                    },
                    r,
                    &self.path,
                    &self.obj,
                    &parts,
                ),
                Err(e) => {
                    self.em.warn(
                        &self.path,
                        repo,
                        &format!("kustomize image {text:?} is not valid: {e}"),
                    );
                    None
                }
            };
            if let Some(k) = self.em.out.kustomizations.last_mut() {
                let value = |s: Option<&Scalar>| s.map(|s| s.text.trim().to_string());
                k.entries.push(KustomizeEntry {
                    name: name.text.trim().to_string(),
                    new_name: value(new_name),
                    new_tag: value(new_tag),
                    digest: value(digest),
                    template: template.map(Box::new),
                });
            }
            self.path.pop();
        }
    }

    fn emit_parts(&mut self, rule: Rule, r: Reference, parts: &[(Role, &str, &Scalar)]) {
        let mut srcs: Vec<PartSrc> = parts
            .iter()
            .map(|&(role, field, scalar)| PartSrc {
                role,
                field,
                scalar,
                within: None,
            })
            .collect();
        srcs.sort_by_key(|p| p.scalar.span().start);
        self.em.hit(
            Match {
                rule,
                user_rule: None,
                form: Form::Split,
            },
            r,
            &self.path,
            &self.obj,
            &srcs,
        );
    }

    pub(super) fn emit_split(&mut self, split: Split, map: &Node) {
        if split.partial {
            if let Some(first) = map.entries().iter().find_map(|(k, _)| k.as_ref()) {
                let at = split.parts.first().map_or(first, |p| p.2);
                self.em.warn(
                    &self.path,
                    at,
                    &format!(
                        "{} has no tag or digest (it comes from the chart or operator version): not reported",
                        split.text
                    ),
                );
            }
            return;
        }
        match Reference::parse(&split.text) {
            Ok(r) => self.emit_parts(split.rule, r, &split.parts),
            Err(e) => {
                if let Some(&(_, _, s)) = split.parts.first() {
                    self.em.warn(
                        &self.path,
                        s,
                        &format!("{} is not a valid image reference: {e}", split.text),
                    );
                }
            }
        }
    }

    /// Split forms: `{registry, repository, tag|version|versionTag, digest|sha}`,
    /// `{repository: NAMESPACE, name, tag}`, `{image|baseImage: REPO, version|tag}` and,
    /// under an image key, `{name, tag}`.
    pub(super) fn split<'s>(
        &self,
        map: &'s Node<'d>,
        parent_key: Option<&str>,
    ) -> Option<Split<'s, 'd>> {
        // One cheap pass first: most mappings have none of the keys a split form needs.
        let (mut has_repo, mut has_tag, mut has_image, mut has_name) = (false, false, false, false);
        for k in map.entries().iter().filter_map(|(k, _)| k.as_ref()) {
            match &*k.text {
                k if REPOSITORY_KEYS.contains(&k) => has_repo = true,
                k if TAG_KEYS.contains(&k) => has_tag = true,
                "name" => has_name = true,
                t if is_image_key(t) => has_image = true,
                _ => {}
            }
        }
        let under_image_key = parent_key.is_some_and(is_image_key);
        let candidate = has_repo || (has_image && has_tag) || (under_image_key && has_name);
        if !candidate {
            return None;
        }
        let field = |keys: &[&'static str]| -> Option<(&'static str, &'s Scalar<'d>)> {
            keys.iter()
                .find_map(|k| map.get(k).and_then(|v| v.as_scalar()).map(|s| (*k, s)))
        };
        // `null`, `~` and empty values are absent, never the text "null".
        let nonempty = |f: Option<(&'static str, &'s Scalar<'d>)>| {
            f.filter(|(_, s)| !s.text.trim().is_empty() && !s.is_plain_null())
        };
        let tag = nonempty(field(&TAG_KEYS));
        let digest = nonempty(field(&DIGEST_KEYS));
        let registry = nonempty(field(&["registry"]));

        let mut keys: Vec<&'s str> = Vec::new();
        let mut parts: Vec<(Role, &'s str, &'s Scalar<'d>)> = Vec::new();
        let mut name_text;
        let rule;
        if let Some((repo_key, repo)) = nonempty(field(&REPOSITORY_KEYS)) {
            let repo_text = repo.text.trim();
            if repo_text.contains("://") || repo.is_plain_non_string() {
                return None;
            }
            rule = Rule::SplitImage;
            keys.push(repo_key);
            parts.push((Role::Repository, repo_key, repo));
            name_text = repo_text.to_string();
            let tag_is_tag = tag.is_some_and(|(k, _)| k == "tag");
            // `{repository: NAMESPACE, name, tag}`: a one-word namespace anywhere, or any
            // repository under an image key (as a rewrite leaves it: `REGISTRY/PREFIX/NAMESPACE`).
            if let Some(name) = map.get("name").and_then(string_value)
                && tag_is_tag
                && !name.text.contains(['/', ':', '@'])
                && (!repo_text.contains(['/', '.', ':']) || under_image_key)
            {
                keys.push("name");
                parts.push((Role::Name, "name", name));
                name_text = format!("{repo_text}/{}", name.text.trim());
            }
        } else if let Some((image_key, image)) = map.entries().iter().find_map(|(k, v)| {
            let k = k.as_ref()?;
            (is_image_key(&k.text) && tag.is_some()).then_some(())?;
            string_value(v).map(|s| (&*k.text, s))
        }) {
            let untagged =
                Reference::parse(image.text.trim()).is_ok_and(|r| !r.is_pinned_or_tagged());
            if !untagged {
                return None;
            }
            rule = Rule::ImagePlusVersion;
            keys.push(image_key);
            parts.push((Role::Repository, image_key, image));
            name_text = image.text.trim().to_string();
        } else if under_image_key && let Some(name) = map.get("name").and_then(string_value) {
            rule = Rule::SplitImage;
            keys.push("name");
            parts.push((Role::Repository, "name", name));
            name_text = name.text.trim().to_string();
        } else {
            return None;
        }
        if let Some((k, g)) = registry {
            let host = g.text.trim().trim_end_matches('/');
            if !(host.contains(['.', ':']) || host == "localhost") {
                return None;
            }
            keys.push(k);
            parts.insert(0, (Role::Registry, k, g));
            name_text = format!("{}/{name_text}", g.text.trim().trim_end_matches('/'));
        }
        let partial = tag.is_none() && digest.is_none();
        let mut text = name_text;
        if let Some((k, t)) = tag {
            keys.push(k);
            parts.push((Role::Tag, k, t));
            text = format!("{text}:{}", t.text.trim());
        }
        if let Some((k, d)) = digest {
            keys.push(k);
            parts.push((Role::Digest, k, d));
            let d = d.text.trim();
            if d.contains(':') {
                text = format!("{text}@{d}");
            } else {
                text = format!("{text}@sha256:{d}");
            }
        }
        // Every key of the form is consumed, filled or empty, so no other rule reads it.
        for k in TAG_KEYS
            .iter()
            .chain(&DIGEST_KEYS)
            .chain(["registry"].iter())
        {
            if map.get(k).is_some() && !keys.contains(k) {
                keys.push(k);
            }
        }
        if partial && Reference::parse(&text).is_err() {
            return None;
        }
        Some(Split {
            rule,
            keys,
            parts,
            partial,
            text,
        })
    }
}
