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
        let under_image_key = parent_key.is_some_and(is_image_key);
        if !may_split(map, under_image_key) {
            return None;
        }
        let tag = nonempty(field(map, &TAG_KEYS));
        let digest = nonempty(field(map, &DIGEST_KEYS));
        let registry = nonempty(field(map, &["registry"]));
        let mut split = named(map, tag.is_some(), under_image_key)?;
        if let Some((k, g)) = registry {
            let host = g.text.trim().trim_end_matches('/');
            if !(host.contains(['.', ':']) || host == "localhost") {
                return None;
            }
            split.keys.push(k);
            split.parts.insert(0, (Role::Registry, k, g));
            split.text = format!("{host}/{}", split.text);
        }
        split.partial = tag.is_none() && digest.is_none();
        if let Some((k, t)) = tag {
            split.keys.push(k);
            split.parts.push((Role::Tag, k, t));
            split.text = format!("{}:{}", split.text, t.text.trim());
        }
        if let Some((k, d)) = digest {
            split.keys.push(k);
            split.parts.push((Role::Digest, k, d));
            let d = d.text.trim();
            let algorithm = if d.contains(':') { "" } else { "sha256:" };
            split.text = format!("{}@{algorithm}{d}", split.text);
        }
        // Every key of the form is consumed, filled or empty, so no other rule reads it.
        for k in TAG_KEYS
            .iter()
            .chain(&DIGEST_KEYS)
            .chain(["registry"].iter())
        {
            if map.get(k).is_some() && !split.keys.contains(k) {
                split.keys.push(k);
            }
        }
        if split.partial && Reference::parse(&split.text).is_err() {
            return None;
        }
        Some(split)
    }
}

/// One cheap pass first: most mappings have none of the keys a split form needs.
fn may_split(map: &Node<'_>, under_image_key: bool) -> bool {
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
    has_repo || (has_image && has_tag) || (under_image_key && has_name)
}

/// The first of `keys` the mapping gives a scalar for.
fn field<'s, 'd>(
    map: &'s Node<'d>,
    keys: &[&'static str],
) -> Option<(&'static str, &'s Scalar<'d>)> {
    keys.iter()
        .find_map(|k| map.get(k).and_then(|v| v.as_scalar()).map(|s| (*k, s)))
}

/// `null`, `~` and empty values are absent, never the text "null".
fn nonempty<'s, 'd>(
    f: Option<(&'static str, &'s Scalar<'d>)>,
) -> Option<(&'static str, &'s Scalar<'d>)> {
    f.filter(|(_, s)| !s.text.trim().is_empty() && !s.is_plain_null())
}

/// The name part of a split form (repository, `NAMESPACE` + `name`, an untagged image, or a
/// `name` under an image key), before registry, tag and digest are added.
fn named<'s, 'd>(map: &'s Node<'d>, has_tag: bool, under_image_key: bool) -> Option<Split<'s, 'd>> {
    let one = |rule, key: &'s str, value: &'s Scalar<'d>| Split {
        rule,
        keys: vec![key],
        parts: vec![(Role::Repository, key, value)],
        partial: false,
        text: value.text.trim().to_string(),
    };
    if let Some((repo_key, repo)) = nonempty(field(map, &REPOSITORY_KEYS)) {
        let repo_text = repo.text.trim();
        if repo_text.contains("://") || repo.is_plain_non_string() {
            return None;
        }
        let mut split = one(Rule::SplitImage, repo_key, repo);
        let tag_is_tag = nonempty(field(map, &TAG_KEYS)).is_some_and(|(k, _)| k == "tag");
        // `{repository: NAMESPACE, name, tag}`: a one-word namespace anywhere, or any
        // repository under an image key (as a rewrite leaves it: `REGISTRY/PREFIX/NAMESPACE`).
        if let Some(name) = map.get("name").and_then(string_value)
            && tag_is_tag
            && !name.text.contains(['/', ':', '@'])
            && (!repo_text.contains(['/', '.', ':']) || under_image_key)
        {
            split.keys.push("name");
            split.parts.push((Role::Name, "name", name));
            split.text = format!("{repo_text}/{}", name.text.trim());
        }
        return Some(split);
    }
    let image = map.entries().iter().find_map(|(k, v)| {
        let k = k.as_ref()?;
        (is_image_key(&k.text) && has_tag).then_some(())?;
        string_value(v).map(|s| (&*k.text, s))
    });
    if let Some((image_key, image)) = image {
        let untagged = Reference::parse(image.text.trim()).is_ok_and(|r| !r.is_pinned_or_tagged());
        return untagged.then(|| one(Rule::ImagePlusVersion, image_key, image));
    }
    if under_image_key && let Some(name) = map.get("name").and_then(string_value) {
        return Some(one(Rule::SplitImage, "name", name));
    }
    None
}
