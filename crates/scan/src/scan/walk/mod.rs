//! The built-in rules, applied in one walk over a document.
//!
//! Precision comes from three checks applied everywhere: the value must parse as a
//! reference, a plain YAML boolean/number/null is never an image, and fields that are not
//! named for images need a fully qualified reference (registry host + tag or digest).

mod split;

use super::consumers::{self, ConfigMapUse, How};
use super::emit::{Emitter, Match, Obj, PartSrc};
use super::{FieldSpec, FileScan, Form, Kustomization, Role, Rule, Seg, UserRules};
use ferry_core::reference::Reference;
use ferry_core::yaml::{Node, Scalar};

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

/// Scans `node`, found at `at` in document `document` (the root: `at` is empty).
#[allow(clippy::too_many_arguments)] // the scan's context, each part needed by the emitter
pub(super) fn scan_node(
    file: &str,
    source: &str,
    line_starts: &[usize],
    document: usize,
    node: &Node,
    at: &[Seg<'static>],
    rules: &UserRules,
    out: &mut FileScan,
) {
    let mut emitter = Emitter::new(file, source, document, line_starts, out);
    let csv_installs_nothing = node.get_str("kind") == Some("ClusterServiceVersion")
        && node
            .get("spec")
            .and_then(|s| s.get("install"))
            .and_then(|i| i.get("spec"))
            .and_then(|s| s.get("deployments"))
            .and_then(Node::as_seq)
            .is_none_or(<[Node]>::is_empty);
    let mut walker = Walker {
        em: &mut emitter,
        path: at.to_vec(),
        obj: Obj::default(),
        csv_installs_nothing,
    };
    walker.node(node, None);
    if !rules.is_empty() {
        rules.apply(node, at, &mut emitter);
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

/// `*ImageName` keys: an untagged value is a repository whose tag the operator supplies.
fn is_image_name_key(k: &str) -> bool {
    k == "imageName" || k.ends_with("ImageName") || k == "image_name"
}

/// `version`, `*Version` (not `apiVersion`): usually a version, sometimes a whole image.
fn is_version_key(k: &str) -> bool {
    (k == "version" || k.ends_with("Version")) && k != "apiVersion"
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
    /// A ClusterServiceVersion template: `install.spec.deployments` is null or empty.
    csv_installs_nothing: bool,
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
            Node::Scalar(_) | Node::Alias(_) | Node::Taken(_) => {}
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
        // A kustomization may have a kind without an apiVersion, or neither.
        let declares = self.path.is_empty()
            && super::kustomize::is_kustomization(
                map.get_str("apiVersion"),
                map.get_str("kind"),
                self.em.file,
            );
        let is_kustomization = declares || (self.path.is_empty() && map.get("kind").is_none());
        if declares {
            let strings = |keys: &[&str]| -> Vec<String> {
                keys.iter()
                    .filter_map(|k| map.get(k).and_then(Node::as_seq))
                    .flatten()
                    .filter_map(|n| string_value(n).map(|s| s.text.trim().to_string()))
                    .collect()
            };
            self.em.out.kustomizations.push(Kustomization {
                file: self.em.file.to_string(),
                component: map.get_str("kind") == Some("Component"),
                resources: strings(&["resources", "bases"]),
                components: strings(&["components"]),
                configurations: strings(&["configurations"]),
                entries: Vec::new(),
            });
        } else if self.path.is_empty() && map.get("kind").is_none() {
            self.em.out.image_fields.extend(image_field_specs(map));
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
                Node::Map(..) if k == "data" && self.is_config_map_data() => {
                    self.config_map_data(value);
                    self.node(value, Some(k));
                }
                Node::Seq(items, _) if k == "images" && is_kustomization => self.kustomize(items),
                Node::Scalar(_) if is_image_key(k) => self.image_field(k, value),
                Node::Scalar(_) if is_version_key(k) => self.version_field(k, value),
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
                ("envFrom", Node::Seq(items, _)) => {
                    for name in items
                        .iter()
                        .filter_map(|i| i.get("configMapRef")?.get_str("name"))
                    {
                        self.config_map_use(name, How::EnvFrom);
                    }
                }
                ("args" | "command", Node::Seq(items, _)) => self.args(k, items),
                _ => self.node(value, Some(k)),
            }
            self.path.pop();
        }
    }

    /// Records `r`, read from the whole of scalar `s` under `field`, at the current path.
    fn emit_whole(&mut self, rule: Rule, r: Reference, field: &str, s: &Scalar) {
        let m = Match {
            rule,
            user_rule: None,
            form: Form::Whole,
        };
        let part = PartSrc {
            role: Role::Reference,
            field,
            scalar: s,
            within: None,
        };
        self.em.hit(m, r, &self.path, &self.obj, &[part]);
    }

    /// Reports `s` whole if it parses; warns (when `warn`) if it does not.
    fn whole(&mut self, rule: Rule, field: &str, s: &Scalar, warn: bool) {
        match Reference::parse(s.text.trim()) {
            Ok(r) => self.emit_whole(rule, r, field, s),
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
        let untagged = Reference::parse(s.text.trim()).is_ok_and(|r| !r.is_pinned_or_tagged());
        if (is_base_image_key(k) || is_image_name_key(k)) && untagged {
            self.em.warn(
                &self.path,
                s,
                "repository without a tag (the operator adds its version): not reported",
            );
            return;
        }
        if self.csv_installs_nothing && self.path.contains(&Seg::Key("annotations")) {
            self.em.warn(
                &self.path,
                s,
                "a ClusterServiceVersion that installs no deployments (a template): its annotation names nothing to pull",
            );
            return;
        }
        self.whole(rule, k, s, true);
    }

    /// A version field that holds a whole image: a path (`/`) with a tag or digest.
    fn version_field(&mut self, k: &str, value: &Node) {
        let Some(s) = string_value(value) else { return };
        let text = s.text.trim();
        if !text.contains('/') && !text.contains("@sha256:") {
            return;
        }
        if let Ok(r) = Reference::parse(text)
            && r.is_pinned_or_tagged()
        {
            self.emit_whole(Rule::VersionImage, r, k, s);
        }
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
                self.emit_whole(Rule::ImageMapEntry, r, &key.text, s);
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
                self.emit_whole(Rule::ImageField, r, k, s);
                self.path.pop();
            }
        }
    }

    fn env(&mut self, items: &[Node]) {
        for (i, item) in items.iter().enumerate() {
            if let Some(r) = item.get("valueFrom").and_then(|v| v.get("configMapKeyRef"))
                && let (Some(name), Some(key)) = (r.get_str("name"), r.get_str("key"))
            {
                self.config_map_use(name, How::EnvKey(key.to_string()));
            }
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

    /// A workload of this document reads ConfigMap `name`.
    fn config_map_use(&mut self, name: &str, how: How) {
        let by = format!(
            "{}/{}",
            self.obj.kind.unwrap_or("object"),
            self.obj.name.unwrap_or("(unnamed)")
        );
        self.em.out.config_map_uses.push(ConfigMapUse {
            config_map: name.to_string(),
            namespace: self.obj.namespace.map(str::to_string),
            by,
            how,
        });
    }

    /// `data` of a ConfigMap (the object's own, not a field of that name deeper down).
    fn is_config_map_data(&self) -> bool {
        self.obj.kind == Some("ConfigMap")
            && self.obj.api_version == Some("v1")
            && self.path.len() == 1
    }

    /// A ConfigMap's keys read as env var names (`envFrom` makes them env vars; operator
    /// configuration uses the same names): RELATED_IMAGE_* and *_IMAGE* keys that hold a
    /// reference. Other keys are left alone: a ConfigMap holds any text.
    fn config_map_data(&mut self, data: &'d Node<'d>) {
        for (key, value) in data.entries() {
            let (Some(key), Some(s)) = (key, string_value(value)) else {
                continue;
            };
            let name: &str = &key.text;
            let related = name.starts_with("RELATED_IMAGE_") && !name.ends_with("_NAME");
            if !(related || name.contains("IMAGE")) {
                continue;
            }
            self.path.push(Seg::Key(name));
            match Reference::parse(s.text.trim()) {
                Ok(r) if related || r.is_pinned_or_tagged() => {
                    self.emit_whole(Rule::ConfigMapImage, r, name, s)
                }
                Ok(_) => {}
                Err(_) if related || name.ends_with("_IMAGE") => self.em.warn(
                    &self.path,
                    s,
                    &format!("{name} does not hold a valid image reference"),
                ),
                Err(_) => {}
            }
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
                self.emit_whole(Rule::ArgReference, r, field, s);
            }
            return false;
        }
        let names_image = |flag: &str| flag.to_ascii_lowercase().contains("image");
        let config_flag = text
            .split_once('=')
            .map(|(flag, value)| (flag, Some(value)))
            .unwrap_or((text, next.map(|n| &*n.text)));
        if let (flag, Some(name)) = config_flag
            && consumers::is_config_flag(flag)
            && !name.is_empty()
        {
            self.config_map_use(name, How::Flag(flag.to_string()));
        }
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
        self.emit_whole(Rule::ArgImageFlag, r, field, next);
        self.path.pop();
        self.path.push(Seg::Index(i));
        true
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

/// The `images:` field specs of a transformer configuration (`images: [{path, kind}]`).
fn image_field_specs(map: &Node) -> Vec<FieldSpec> {
    let Some(items) = map.get("images").and_then(Node::as_seq) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let path = item.get_str("path")?;
            Some(FieldSpec {
                path: path
                    .split('/')
                    .map(|seg| seg.split('[').next().unwrap_or(seg))
                    .collect::<Vec<_>>()
                    .join("/"),
                kind: item.get_str("kind").map(str::to_string),
            })
        })
        .collect()
}
