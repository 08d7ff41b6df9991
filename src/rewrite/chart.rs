//! A chart's values override: the values that point every image a chart renders from its
//! values at the private registry, in the chart's own shapes. An image's name is usually
//! joined by a template from several values (`imageRegistry` + `imageNamespace` +
//! `image.name`, `registry` + `repository`, one `repository` holding all): ferry finds the
//! values whose texts make up the name, `/` by `/`, and gives each its part of the target's
//! name. What the template adds (a tag from `appVersion`, a suffix) stays the template's.
//! The override is only a proposal: the workflow renders the chart with it and scans the
//! output, and that proves or refuses it.

use std::collections::BTreeMap;

use crate::reference::Reference;
use crate::scan::places::Place;
use crate::target::{Layout, Target};

/// One value the override sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueEdit {
    /// Keys from the chart's values root (a subchart's values under its name or alias).
    pub keys: Vec<String>,
    pub old: String,
    pub new: String,
    /// `FILE:LINE` of the value it overrides.
    pub at: String,
}

/// The override for `images` (the images the chart renders), from `places` (the strings of
/// the values files it was rendered with, the user's first); `prefix_of` gives the keys a
/// values file's own keys sit under (a subchart's name), `None` for a file whose values
/// cannot be overridden. Images no values make up are returned as such.
pub fn override_for(
    images: &[Reference],
    places: &[Place],
    prefix_of: &dyn Fn(&str) -> Option<Vec<String>>,
    target: &Target,
    layout: Layout,
) -> (Vec<ValueEdit>, Vec<Reference>) {
    let mut edits: BTreeMap<Vec<String>, ValueEdit> = BTreeMap::new();
    let mut unreachable = Vec::new();
    for image in images {
        if target.holds(image) {
            continue;
        }
        let Ok(mapped) = target.map(image, layout) else {
            unreachable.push(image.clone());
            continue;
        };
        let planned =
            pieces(image, places).and_then(|pieces| assign(image, &mapped, &pieces, prefix_of));
        match planned {
            Some(new) => {
                for edit in new {
                    edits.entry(edit.keys.clone()).or_insert(edit);
                }
            }
            None => unreachable.push(image.clone()),
        }
    }
    (edits.into_values().collect(), unreachable)
}

/// The text of a value without the tag or digest it may carry.
fn name_part(text: &str) -> (&str, &str) {
    let at = text.find('@').unwrap_or(text.len());
    let (name, digest) = text.split_at(at);
    match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => (&name[..i], &text[i..]),
        _ => (name, digest),
    }
}

/// The ways `image`'s name may be written: in full, and without what Docker implies
/// (`docker.io/`, `docker.io/library/`).
fn spellings(image: &Reference) -> Vec<String> {
    let full = format!("{}/{}", image.registry(), image.repository());
    let mut out = vec![full];
    if image.registry() == "docker.io" {
        out.push(image.repository().to_string());
        if let Some(short) = image.repository().strip_prefix("library/") {
            out.push(short.to_string());
        }
    }
    out
}

/// Values whose texts, joined by `/`, make up `image`'s name, left to right; the last one
/// holds the name's last segment. Looked for beside the value that holds the last segment,
/// then in the mappings above it, then anywhere.
fn pieces<'p>(image: &Reference, places: &'p [Place]) -> Option<Vec<&'p Place>> {
    let full = format!("{}/{}", image.registry(), image.repository());
    let ends = |head: &str, text: &str| head == text || head.ends_with(&format!("/{text}"));
    for spelled in spellings(image) {
        // The value holding the end of the name: the longest such text first.
        let mut anchors: Vec<&Place> = places
            .iter()
            .filter(|p| p.keys.is_some() && ends(&spelled, name_part(&p.text).0))
            .collect();
        anchors.sort_by_key(|p| std::cmp::Reverse(name_part(&p.text).0.len()));
        for anchor in anchors {
            let mut chosen = vec![anchor];
            let mut head = spelled[..spelled.len() - name_part(&anchor.text).0.len()]
                .trim_end_matches('/')
                .to_string();
            while !head.is_empty() {
                // `docker.io/library/x` is often written as a registry `docker.io` and `x`.
                let mut heads = vec![head.clone()];
                if head == "docker.io/library" {
                    heads.push("docker.io".to_string());
                }
                let found = heads.iter().find_map(|h| {
                    nearest(places, anchor, |p| {
                        !chosen.iter().any(|c| std::ptr::eq(*c, p))
                            && !name_part(&p.text).0.is_empty()
                            && ends(h, name_part(&p.text).0)
                    })
                    .map(|p| (h.clone(), p))
                });
                let Some((h, p)) = found else { break };
                head = h[..h.len() - name_part(&p.text).0.len()]
                    .trim_end_matches('/')
                    .to_string();
                chosen.insert(0, p);
            }
            if head.is_empty() || implied(&head, &full, &spelled) {
                return Some(chosen);
            }
        }
    }
    None
}

/// A head Docker supplies when no value writes it.
fn implied(head: &str, full: &str, spelled: &str) -> bool {
    full.starts_with("docker.io/")
        && spelled == full
        && (head == "docker.io" || head == "docker.io/library")
}

/// The place `keep` accepts that is nearest to `anchor`: in the same mapping, then in each
/// mapping above it in the same file, then under `global` (seen by every chart).
fn nearest<'p>(
    places: &'p [Place],
    anchor: &Place,
    keep: impl Fn(&Place) -> bool,
) -> Option<&'p Place> {
    let anchor_keys = anchor.keys.as_deref().unwrap_or_default();
    let parent = |p: &Place| -> Vec<String> {
        let k = p.keys.clone().unwrap_or_default();
        k[..k.len().saturating_sub(1)].to_vec()
    };
    let object = &anchor_keys[..anchor_keys.len().saturating_sub(1)];
    let candidates: Vec<&Place> = places
        .iter()
        .filter(|p| p.keys.is_some() && keep(p))
        .collect();
    for depth in (0..=object.len()).rev() {
        let scope = &object[..depth];
        if let Some(p) = candidates
            .iter()
            .find(|p| p.file == anchor.file && parent(p) == scope)
        {
            return Some(p);
        }
    }
    candidates
        .iter()
        .find(|p| parent(p).first().is_some_and(|g| g == "global"))
        .copied()
}

/// The new texts of `pieces` so that, joined, they make up `mapped`'s name; tags and
/// digests written in them stay.
fn assign(
    image: &Reference,
    mapped: &Reference,
    pieces: &[&Place],
    prefix_of: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Option<Vec<ValueEdit>> {
    let registry_piece = name_part(&pieces[0].text).0 == image.registry()
        && !image.registry().contains('/')
        && pieces.len() > 1;
    // Keep values at the right that the target name still ends with.
    let mut path = mapped.repository().to_string();
    let mut kept = pieces.len();
    while kept > usize::from(registry_piece) + 1 {
        let text = name_part(&pieces[kept - 1].text).0;
        match path.strip_suffix(text) {
            Some(rest) if rest.is_empty() || rest.ends_with('/') => {
                path = rest.trim_end_matches('/').to_string();
                kept -= 1;
            }
            _ => break,
        }
    }
    let mut new_texts: Vec<String> = Vec::new();
    if registry_piece {
        new_texts.push(mapped.registry().to_string());
        // Every piece between the registry and the kept ones: the first takes the path.
        for (i, _) in pieces[1..kept].iter().enumerate() {
            new_texts.push(if i == 0 { path.clone() } else { String::new() });
        }
    } else {
        for (i, _) in pieces[..kept].iter().enumerate() {
            new_texts.push(if i == 0 {
                format!("{}/{}", mapped.registry(), path)
            } else {
                String::new()
            });
        }
    }
    let mut edits = Vec::new();
    for (piece, new) in pieces.iter().zip(new_texts) {
        let (_, suffix) = name_part(&piece.text);
        let new = format!("{new}{suffix}");
        if new == piece.text {
            continue;
        }
        let mut keys = prefix_of(&piece.file)?;
        let own = piece.keys.clone()?;
        if own.first().is_some_and(|k| k == "global") {
            keys = own;
        } else {
            keys.extend(own);
        }
        edits.push(ValueEdit {
            keys,
            old: piece.text.clone(),
            new,
            at: format!("{}:{}", piece.file, piece.line),
        });
    }
    Some(edits)
}

/// The override as a values file: nested mappings, every string double-quoted.
pub fn to_yaml(edits: &[ValueEdit], header: &str) -> String {
    #[derive(Default)]
    struct Node(BTreeMap<String, Node>, Option<String>);
    let mut root = Node::default();
    for e in edits {
        let mut node = &mut root;
        for k in &e.keys {
            node = node.0.entry(k.clone()).or_default();
        }
        node.1 = Some(e.new.clone());
    }
    fn quoted(s: &str) -> String {
        serde_json::Value::String(s.to_string()).to_string()
    }
    fn emit(node: &Node, depth: usize, out: &mut String) {
        for (k, child) in &node.0 {
            out.push_str(&"  ".repeat(depth));
            out.push_str(&quoted(k));
            match &child.1 {
                Some(v) if child.0.is_empty() => {
                    out.push_str(": ");
                    out.push_str(&quoted(v));
                    out.push('\n');
                }
                _ => {
                    out.push_str(":\n");
                    emit(child, depth + 1, out);
                }
            }
        }
    }
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    emit(&root, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(file: &str, keys: &[&str], text: &str) -> Place {
        let mut yaml = String::new();
        for (depth, k) in keys.iter().enumerate() {
            yaml.push_str(&"  ".repeat(depth));
            yaml.push_str(k);
            yaml.push(':');
            yaml.push(if depth + 1 == keys.len() { ' ' } else { '\n' });
        }
        yaml.push_str(text);
        yaml.push('\n');
        crate::scan::places::places(file, &yaml).remove(0)
    }

    fn edits_for(image: &str, places: &[Place], to: &str, layout: Layout) -> Vec<(String, String)> {
        let target: Target = to.parse().unwrap();
        let (edits, missing) = override_for(
            &[image.parse().unwrap()],
            places,
            &|_| Some(Vec::new()),
            &target,
            layout,
        );
        assert!(missing.is_empty(), "{missing:?}");
        edits
            .into_iter()
            .map(|e| (e.keys.join("."), e.new))
            .collect()
    }

    #[test]
    fn a_registry_a_namespace_and_a_name_each_get_their_part() {
        let places = [
            place("v.yaml", &["imageRegistry"], "quay.io"),
            place("v.yaml", &["imageNamespace"], "jetstack"),
            place("v.yaml", &["image", "name"], "cert-manager-controller"),
        ];
        let image = "quay.io/jetstack/cert-manager-controller:v1";
        assert_eq!(
            edits_for(image, &places, "reg.local/team", Layout::Path),
            [
                ("imageNamespace".into(), "team/jetstack".into()),
                ("imageRegistry".into(), "reg.local".into()),
            ]
        );
        assert_eq!(
            edits_for(image, &places, "reg.local", Layout::Flat),
            [
                ("imageNamespace".into(), String::new()),
                ("imageRegistry".into(), "reg.local".into()),
            ]
        );
    }

    #[test]
    fn a_whole_repository_and_an_implied_docker_hub() {
        let places = [
            place(
                "v.yaml",
                &["global", "image", "repository"],
                "quay.io/argoproj/argocd",
            ),
            place("v.yaml", &["busybox", "registry"], "docker.io"),
            place("v.yaml", &["busybox", "repository"], "busybox"),
            place("v.yaml", &["redis"], "bitnami/redis:7.2"),
        ];
        assert_eq!(
            edits_for(
                "quay.io/argoproj/argocd:v3",
                &places,
                "reg.local/m",
                Layout::Path
            ),
            [(
                "global.image.repository".into(),
                "reg.local/m/argoproj/argocd".into()
            )]
        );
        assert_eq!(
            edits_for("busybox:1.36", &places, "reg.local/m", Layout::Path),
            [
                ("busybox.registry".into(), "reg.local".into()),
                ("busybox.repository".into(), "m/library/busybox".into()),
            ]
        );
        assert_eq!(
            edits_for("bitnami/redis:7.2", &places, "reg.local/m", Layout::Path),
            [("redis".into(), "reg.local/m/bitnami/redis:7.2".into())]
        );
    }

    #[test]
    fn the_override_is_nested_quoted_yaml() {
        let edits = [
            ValueEdit {
                keys: vec!["a".into(), "b".into()],
                old: String::new(),
                new: "x".into(),
                at: String::new(),
            },
            ValueEdit {
                keys: vec!["a".into(), "c-d".into()],
                old: String::new(),
                new: "y: z".into(),
                at: String::new(),
            },
        ];
        assert_eq!(
            to_yaml(&edits, "made by ferry"),
            "# made by ferry\n\"a\":\n  \"b\": \"x\"\n  \"c-d\": \"y: z\"\n"
        );
    }
}
