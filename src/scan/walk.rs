//! The built-in rules, applied in one walk over a document.
//!
//! Precision comes from three checks applied everywhere: the value must parse as a
//! reference, a plain YAML boolean/number/null is never an image, and fields that are not
//! named for images need a fully qualified reference (registry host + tag or digest).

use super::emit::{Emitter, Match, Obj, PartSrc};
use super::{
    EntryChange, FileScan, Form, Kustomization, KustomizeEntry, Role, Rule, Seg, UserRules,
};
use crate::reference::Reference;
use crate::yaml::{Document, Node, Scalar};

const CONTAINER_KEYS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];
const REPOSITORY_KEYS: [&str; 4] = ["repository", "repo", "imageRepository", "imageRepo"];
const TAG_KEYS: [&str; 6] = [
    "tag",
    "versionTag",
    "imageTag",
    "image_tag",
    "image_version",
    "version",
];
const DIGEST_KEYS: [&str; 3] = ["digest", "sha", "sha256"];

pub(super) fn scan_document(
    file: &str,
    source: &str,
    line_starts: &[usize],
    doc: &Document,
    rules: &UserRules,
    out: &mut FileScan,
) {
    let mut emitter = Emitter::new(file, source, doc.index, line_starts, out);
    let mut walker = Walker {
        em: &mut emitter,
        path: Vec::new(),
        obj: Obj::default(),
    };
    walker.node(&doc.root, None);
    if !rules.is_empty() {
        rules.apply(&doc.root, &mut emitter);
    }
}

/// Keys that name one image: `image`, `imageName`, `*Image`, `*ImageName`, and the
/// snake_case spellings `image_name`, `*_image`.
pub(super) fn is_image_key(k: &str) -> bool {
    k == "image"
        || k == "imageName"
        || k.ends_with("Image")
        || k.ends_with("ImageName")
        || k == "image_name"
        || k.ends_with("_image")
}

/// `baseImage`-style keys hold a repository whose tag comes from elsewhere.
fn is_base_image_key(k: &str) -> bool {
    k == "baseImage" || k.ends_with("BaseImage")
}

/// Keys that list images: `images`, `*Images`.
fn is_images_key(k: &str) -> bool {
    k == "images" || k.ends_with("Images")
}

/// A scalar that may hold an image: a non-empty string, not a plain bool/number/null.
fn string_value<'s, 'a>(node: &'s Node<'a>) -> Option<&'s Scalar<'a>> {
    node.as_scalar()
        .filter(|s| !s.text.trim().is_empty() && !s.is_plain_non_string())
}

/// A reference that names its registry and a tag or digest: safe to report wherever it is.
pub(super) fn strong_reference(text: &str) -> Option<Reference> {
    let first = text.split_once('/')?.0;
    let explicit_host = first.contains(['.', ':']) || first == "localhost";
    let r = Reference::parse(text).ok()?;
    (explicit_host && r.is_pinned_or_tagged()).then_some(r)
}

struct Walker<'e, 'f, 'd> {
    em: &'e mut Emitter<'f>,
    path: Vec<Seg<'d>>,
    obj: Obj<'d>,
}

/// What split-form detection found in a mapping.
struct Split<'s, 'a> {
    rule: Rule,
    /// Keys whose values belong to the split reference.
    keys: Vec<&'s str>,
    parts: Vec<(Role, &'s str, &'s Scalar<'a>)>,
    /// No tag or digest written: not reported, only warned about.
    partial: bool,
    text: String,
}

impl<'d> Walker<'_, '_, 'd> {
    fn node(&mut self, node: &'d Node<'d>, parent_key: Option<&str>) {
        match node {
            Node::Map(..) => self.map(node, parent_key),
            Node::Seq(items, _) => {
                for (i, item) in items.iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    self.node(item, None);
                    self.path.pop();
                }
            }
            Node::Scalar(_) | Node::Alias(_) => {}
        }
    }

    fn map(&mut self, map: &'d Node<'d>, parent_key: Option<&str>) {
        let saved = self.obj;
        if let (Some(kind), Some(api_version)) = (map.get_str("kind"), map.get_str("apiVersion")) {
            if kind == "CustomResourceDefinition" {
                // A CRD declares fields; its schema names no image to pull.
                return;
            }
            let meta = map.get("metadata");
            self.obj = Obj {
                api_version: Some(api_version),
                kind: Some(kind),
                name: meta.and_then(|m| m.get_str("name")),
                namespace: meta.and_then(|m| m.get_str("namespace")),
            };
        }
        let is_kustomization = self.obj.kind == Some("Kustomization")
            || (self.obj.kind.is_none() && self.path.is_empty());
        if self.path.is_empty()
            && (self.obj.kind == Some("Kustomization")
                || (self.obj.kind.is_none()
                    && super::kustomize::is_kustomization_file(self.em.file)))
        {
            let includes = ["resources", "bases", "components"]
                .iter()
                .filter_map(|k| map.get(k).and_then(Node::as_seq))
                .flatten()
                .filter_map(|n| string_value(n).map(|s| s.text.trim().to_string()))
                .collect();
            self.em.out.kustomizations.push(Kustomization {
                file: self.em.file.to_string(),
                includes,
                entries: Vec::new(),
            });
        }

        let mut consumed: Vec<&str> = Vec::new();
        match self.split(map, parent_key) {
            Some(split) => {
                consumed = split.keys.clone();
                self.emit_split(split, map);
            }
            None if parent_key.is_some_and(|k| is_image_key(k) || is_images_key(k)) => {
                self.image_map_entries(map)
            }
            None => {}
        }

        for (key, value) in map.entries() {
            let Some(key) = key else { continue };
            let k: &str = &key.text;
            if consumed.contains(&k) {
                continue;
            }
            self.path.push(Seg::Key(k));
            match value {
                Node::Seq(items, _) if CONTAINER_KEYS.contains(&k) => {
                    for (i, item) in items.iter().enumerate() {
                        self.path.push(Seg::Index(i));
                        self.container(item);
                        self.path.pop();
                    }
                }
                Node::Seq(items, _) if k == "env" => self.env(items),
                Node::Seq(items, _) if k == "images" && is_kustomization => self.kustomize(items),
                Node::Scalar(_) if is_image_key(k) => self.image_field(k, value),
                Node::Seq(items, _) if is_images_key(k) => {
                    self.image_list(k, items);
                    self.node(value, Some(k));
                }
                _ => self.node(value, Some(k)),
            }
            self.path.pop();
        }
        self.obj = saved;
    }

    fn container(&mut self, c: &'d Node<'d>) {
        if !c.is_map() {
            return self.node(c, None);
        }
        for (key, value) in c.entries() {
            let Some(key) = key else { continue };
            let k: &str = &key.text;
            self.path.push(Seg::Key(k));
            match (k, value) {
                ("image", _) => match string_value(value) {
                    Some(s) => self.whole(Rule::ContainerImage, "image", s, true),
                    None => {
                        if let Some(s) = value.as_scalar() {
                            let message = if s.text.trim().is_empty() {
                                "container image is empty"
                            } else {
                                "container image is a YAML boolean, number or null, not a string"
                            };
                            self.em.warn(&self.path, s, message);
                        }
                    }
                },
                ("env", Node::Seq(items, _)) => self.env(items),
                ("args" | "command", Node::Seq(items, _)) => self.args(k, items),
                _ => self.node(value, Some(k)),
            }
            self.path.pop();
        }
    }

    /// Reports `s` whole if it parses; warns (when `warn`) if it does not.
    fn whole(&mut self, rule: Rule, field: &str, s: &Scalar, warn: bool) {
        match Reference::parse(s.text.trim()) {
            Ok(r) => self.em.hit(
                Match {
                    rule,
                    user_rule: None,
                    form: Form::Whole,
                },
                r,
                &self.path,
                &self.obj,
                &[PartSrc {
                    role: Role::Reference,
                    field,
                    scalar: s,
                    within: None,
                }],
            ),
            Err(e) if warn => {
                self.em
                    .warn(&self.path, s, &format!("not a valid image reference: {e}"))
            }
            Err(_) => {}
        }
    }

    fn embedded(
        &mut self,
        rule: Rule,
        field: &str,
        s: &Scalar,
        range: std::ops::Range<usize>,
        r: Reference,
    ) {
        self.em.hit(
            Match {
                rule,
                user_rule: None,
                form: Form::Embedded,
            },
            r,
            &self.path,
            &self.obj,
            &[PartSrc {
                role: Role::Reference,
                field,
                scalar: s,
                within: Some(range),
            }],
        );
    }

    fn image_field(&mut self, k: &str, value: &Node) {
        let Some(s) = string_value(value) else { return };
        let in_related = self.path.contains(&Seg::Key("relatedImages"));
        let rule = if in_related {
            Rule::RelatedImages
        } else {
            Rule::ImageField
        };
        if is_base_image_key(k)
            && Reference::parse(s.text.trim()).is_ok_and(|r| !r.is_pinned_or_tagged())
        {
            self.em.warn(
                &self.path,
                s,
                "repository without a tag (the operator adds its version): not reported",
            );
            return;
        }
        self.whole(rule, k, s, true);
    }

    /// `image: {application: IMAGE, init: IMAGE}`, `image: {reference: IMAGE}`.
    fn image_map_entries(&mut self, map: &'d Node<'d>) {
        for (key, value) in map.entries() {
            let (Some(key), Some(s)) = (key, string_value(value)) else {
                continue;
            };
            let Ok(r) = Reference::parse(s.text.trim()) else {
                continue;
            };
            if r.is_pinned_or_tagged() || s.text.contains('/') {
                self.path.push(Seg::Key(&key.text));
                self.em.hit(
                    Match {
                        rule: Rule::ImageMapEntry,
                        user_rule: None,
                        form: Form::Whole,
                    },
                    r,
                    &self.path,
                    &self.obj,
                    &[PartSrc {
                        role: Role::Reference,
                        field: &key.text,
                        scalar: s,
                        within: None,
                    }],
                );
                self.path.pop();
            }
        }
    }

    /// `additionalImages: [IMAGE, ...]`: scalar items that are tagged or pinned references.
    fn image_list(&mut self, k: &str, items: &[Node]) {
        for (i, item) in items.iter().enumerate() {
            let Some(s) = string_value(item) else {
                continue;
            };
            let Ok(r) = Reference::parse(s.text.trim()) else {
                continue;
            };
            if r.is_pinned_or_tagged() {
                self.path.push(Seg::Index(i));
                self.em.hit(
                    Match {
                        rule: Rule::ImageField,
                        user_rule: None,
                        form: Form::Whole,
                    },
                    r,
                    &self.path,
                    &self.obj,
                    &[PartSrc {
                        role: Role::Reference,
                        field: k,
                        scalar: s,
                        within: None,
                    }],
                );
                self.path.pop();
            }
        }
    }

    fn env(&mut self, items: &[Node]) {
        for (i, item) in items.iter().enumerate() {
            let (Some(name), Some(value)) = (
                item.get_str("name"),
                item.get("value").and_then(string_value),
            ) else {
                continue;
            };
            self.path.push(Seg::Index(i));
            self.path.push(Seg::Key("value"));
            self.env_value(name, value);
            self.path.pop();
            self.path.pop();
        }
    }

    fn env_value(&mut self, name: &str, s: &Scalar) {
        let related = name.starts_with("RELATED_IMAGE_") && !name.ends_with("_NAME");
        let image_named = related || name.contains("IMAGE");
        let text = s.text.trim();
        if let Ok(r) = Reference::parse(text) {
            if related || (image_named && r.is_pinned_or_tagged()) {
                return self.whole(Rule::EnvImage, "value", s, false);
            }
            if strong_reference(text).is_some() {
                return self.whole(Rule::EnvReference, "value", s, false);
            }
            return;
        }
        let mut found = false;
        for (start, token) in tokens(&s.text) {
            let Some((_, v)) = token.split_once('=') else {
                continue;
            };
            let offset = start + (token.len() - v.len());
            let r = match strong_reference(v) {
                Some(r) => r,
                None if image_named => match Reference::parse(v) {
                    Ok(r) if r.is_pinned_or_tagged() => r,
                    _ => continue,
                },
                None => continue,
            };
            found = true;
            self.embedded(Rule::EnvMap, "value", s, offset..offset + v.len(), r);
        }
        if !found && (related || name.ends_with("_IMAGE")) && !text.starts_with('/') {
            self.em.warn(
                &self.path,
                s,
                &format!("{name} does not hold a valid image reference"),
            );
        }
    }

    fn args(&mut self, field: &str, items: &[Node]) {
        let mut i = 0;
        while i < items.len() {
            self.path.push(Seg::Index(i));
            let next = items.get(i + 1).and_then(string_value);
            let consumed_next = match string_value(&items[i]) {
                Some(s) => self.arg(field, s, next),
                None => false,
            };
            self.path.pop();
            i += if consumed_next { 2 } else { 1 };
        }
    }

    /// One arg; returns true when it used `next` as its value (`--image IMAGE`).
    fn arg(&mut self, field: &str, s: &Scalar, next: Option<&Scalar>) -> bool {
        let text: &str = &s.text;
        if text.contains(char::is_whitespace) {
            return false;
        }
        if !text.starts_with('-') {
            if let Some(r) = strong_reference(text) {
                self.em.hit(
                    Match {
                        rule: Rule::ArgReference,
                        user_rule: None,
                        form: Form::Whole,
                    },
                    r,
                    &self.path,
                    &self.obj,
                    &[PartSrc {
                        role: Role::Reference,
                        field,
                        scalar: s,
                        within: None,
                    }],
                );
            }
            return false;
        }
        let names_image = |flag: &str| flag.to_ascii_lowercase().contains("image");
        if let Some((flag, value)) = text.split_once('=') {
            let start = flag.len() + 1;
            match Reference::parse(value) {
                Ok(r) if names_image(flag) => {
                    self.embedded(Rule::ArgImageFlag, field, s, start..text.len(), r)
                }
                Ok(_) => {
                    if let Some(r) = strong_reference(value) {
                        self.embedded(Rule::ArgReference, field, s, start..text.len(), r);
                    }
                }
                Err(e) if names_image(flag) && !value.is_empty() => self.em.warn(
                    &self.path,
                    s,
                    &format!("{flag} is not a valid image reference: {e}"),
                ),
                Err(_) => {}
            }
            return false;
        }
        let Some(next) = next.filter(|n| names_image(text) && !n.text.starts_with('-')) else {
            return false;
        };
        let Ok(r) = Reference::parse(next.text.trim()) else {
            return false;
        };
        let Some(Seg::Index(i)) = self.path.pop() else {
            return false;
        };
        self.path.push(Seg::Index(i + 1));
        self.em.hit(
            Match {
                rule: Rule::ArgImageFlag,
                user_rule: None,
                form: Form::Whole,
            },
            r,
            &self.path,
            &self.obj,
            &[PartSrc {
                role: Role::Reference,
                field,
                scalar: next,
                within: None,
            }],
        );
        self.path.pop();
        self.path.push(Seg::Index(i));
        true
    }

    fn kustomize(&mut self, items: &'d [Node<'d>]) {
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
            if new_tag.is_none() && digest.is_none() {
                // The tag comes from each manifest that uses `name`: completed across files.
                let change = match new_name.and_then(|n| Reference::parse(n.text.trim()).ok()) {
                    Some(r) => self
                        .em
                        .build(
                            Match {
                                rule: Rule::KustomizeImages,
                                user_rule: None,
                                form: Form::Split,
                            },
                            r,
                            &self.path,
                            &self.obj,
                            &[PartSrc {
                                role: Role::Repository,
                                field: "newName",
                                scalar: repo,
                                within: None,
                            }],
                        )
                        .map_or(EntryChange::Nothing, |h| EntryChange::NewName(Box::new(h))),
                    None => EntryChange::Nothing,
                };
                self.record_entry(name, change);
                self.path.pop();
                continue;
            }
            self.record_entry(name, EntryChange::Complete);
            let mut text = repo.text.trim().to_string();
            let mut parts = vec![(Role::Repository, repo_key, repo)];
            if let Some(t) = new_tag {
                text = format!("{text}:{}", t.text.trim());
                parts.push((Role::Tag, "newTag", t));
            }
            if let Some(d) = digest {
                text = format!("{text}@{}", d.text.trim());
                parts.push((Role::Digest, "digest", d));
            }
            match Reference::parse(&text) {
                Ok(r) => self.emit_parts(Rule::KustomizeImages, r, &parts),
                Err(e) => self.em.warn(
                    &self.path,
                    repo,
                    &format!("kustomize image {text:?} is not valid: {e}"),
                ),
            }
            self.path.pop();
        }
    }

    /// Notes an `images:` entry on this document's kustomization, if it is one.
    fn record_entry(&mut self, name: &Scalar, change: EntryChange) {
        if let Some(k) = self.em.out.kustomizations.last_mut() {
            k.entries.push(KustomizeEntry {
                name: name.text.trim().to_string(),
                change,
            });
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

    fn emit_split(&mut self, split: Split, map: &Node) {
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
    fn split<'s>(&self, map: &'s Node<'d>, parent_key: Option<&str>) -> Option<Split<'s, 'd>> {
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
        let nonempty = |f: Option<(&'static str, &'s Scalar<'d>)>| {
            f.filter(|(_, s)| !s.text.trim().is_empty())
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

/// Whitespace-, comma- or semicolon-separated tokens with their byte offsets.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| c.is_ascii_whitespace() || c == ',' || c == ';')
        .scan(0usize, |pos, tok| {
            let start = *pos;
            *pos += tok.len() + 1;
            Some((start, tok))
        })
        .filter(|(_, t)| !t.is_empty())
}
