//! The strings of values files, for tracing an image in a chart's output back to the value
//! that wrote part of it when no value holds the whole reference: a repository whose tag
//! the template takes from `appVersion`, a name joined to a global registry and namespace.

use super::{PathDisplay, Seg};
use ferry_core::reference::Reference;
use ferry_core::yaml::{self, Node};

/// A string value of a values file.
#[derive(Debug, Clone)]
pub struct Place {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The path of the mapping holding it (the image object), e.g. `.global.image`.
    pub object: String,
    /// The keys from its file's root to it; `None` under a list (Helm replaces lists
    /// whole, so no override can change one item).
    pub keys: Option<Vec<String>>,
    pub key: String,
    pub text: String,
    /// Its sibling `registry` value, when the mapping has one.
    registry: Option<String>,
}

/// Every string value of `text` (the file `file`), empty ones written as `""` too; a file
/// that is not YAML has none.
pub fn places(file: &str, text: &str) -> Vec<Place> {
    let mut out = Vec::new();
    let _ = yaml::for_each_document(text, |doc| {
        let mut path = Vec::new();
        walk(file, &doc.root, &mut path, &mut out);
    });
    out
}

fn walk<'a>(file: &str, node: &'a Node<'a>, path: &mut Vec<Seg<'a>>, out: &mut Vec<Place>) {
    match node {
        Node::Map(entries, _) => {
            let registry = node.get_str("registry").map(str::to_string);
            for (key, value) in entries {
                let Some(key) = key else { continue };
                match value {
                    // Quoted empty strings too (`tag: ""`): values an override may set.
                    Node::Scalar(s) if !s.is_plain_non_string() => {
                        let keys = path
                            .iter()
                            .map(|seg| match seg {
                                Seg::Key(k) => Some(k.to_string()),
                                Seg::Index(_) => None,
                            })
                            .chain([Some(key.text.to_string())])
                            .collect();
                        out.push(Place {
                            file: file.to_string(),
                            line: s.pos.line as usize,
                            column: s.pos.column as usize,
                            object: PathDisplay(path).to_string(),
                            keys,
                            key: key.text.to_string(),
                            text: s.text.to_string(),
                            registry: registry.clone(),
                        });
                    }
                    _ => {
                        path.push(Seg::Key(key.text.as_ref()));
                        walk(file, value, path, out);
                        path.pop();
                    }
                }
            }
        }
        Node::Seq(items, _) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk(file, item, path, out);
                path.pop();
            }
        }
        Node::Scalar(_) | Node::Alias(_) | Node::Taken(_) => {}
    }
}

/// The place that best names `image`'s repository, from `places` in order of preference:
/// the full name (`quay.io/argoproj/argocd`), else the path beside a `registry` that
/// matches, else the path alone, else its last element under an image-like key
/// (`name: cert-manager-controller`).
pub fn naming<'p>(places: &'p [Place], image: &Reference) -> Option<&'p Place> {
    let registry = image.registry();
    let path = image.repository();
    let full = format!("{registry}/{path}");
    let last = path.rsplit('/').next().unwrap_or(path);
    let image_key = |k: &str| {
        let k = k.to_ascii_lowercase();
        k == "name" || k == "repository" || k == "image" || k.ends_with("image")
    };
    places
        .iter()
        .find(|p| name_part(&p.text).0 == full)
        .or_else(|| {
            places
                .iter()
                .find(|p| name_part(&p.text).0 == path && p.registry.as_deref() == Some(registry))
        })
        .or_else(|| places.iter().find(|p| name_part(&p.text).0 == path))
        .or_else(|| {
            places
                .iter()
                .find(|p| image_key(&p.key) && name_part(&p.text).0 == last)
        })
}

/// A value's text split into the image name it holds and the `:tag`/`@digest` written after
/// it (`quay.io/a/b:1` → `quay.io/a/b`, `:1`).
pub fn name_part(text: &str) -> (&str, &str) {
    let at = text.find('@').unwrap_or(text.len());
    let (name, digest) = text.split_at(at);
    match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => (&name[..i], &text[i..]),
        _ => (name, digest),
    }
}
