//! A chart's values override: the values that point every image a chart renders from its
//! values at the private registry, in the chart's own shapes. An image's name is usually
//! joined by a template from several values (`imageRegistry` + `imageNamespace` +
//! `image.name`, `registry` + `repository`, one `repository` holding all): ferry finds the
//! values whose texts make up the name, `/` by `/`, and gives each its part of the target's
//! name. What the template adds (a tag from `appVersion`, a suffix) stays the template's.
//! The override is only a proposal: the workflow renders the chart with it and scans the
//! output, and that proves or refuses it.

use std::collections::BTreeMap;

use crate::scan::places::{Place, name_part};
use ferry_core::digest::Digest;
use ferry_core::reference::Reference;
use ferry_core::target::{Layout, Target};

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

/// What [`override_for`] makes.
#[derive(Debug, Default)]
pub struct Override {
    pub edits: Vec<ValueEdit>,
    /// Images no values make up.
    pub unreachable: Vec<Reference>,
    /// Images given a digest that no value can carry (no `digest` or `tag` value beside
    /// their name, and the name's value holds no tag).
    pub unpinned: Vec<Reference>,
}

/// The override for `images` (the images the chart renders), from `places` (the strings of
/// the values files it was rendered with, the user's first); `prefix_of` gives the keys a
/// values file's own keys sit under (a subchart's name), `None` for a file whose values
/// cannot be overridden. An image in `digests` is pinned to its digest where the chart's
/// values let it be: a `digest` value beside its name, else `TAG@DIGEST` in a `tag` value
/// beside it, else `@DIGEST` after a tag written with the name.
pub fn override_for(
    images: &[Reference],
    places: &[Place],
    prefix_of: &dyn Fn(&str) -> Option<Vec<String>>,
    target: &Target,
    layout: Layout,
    digests: &BTreeMap<Reference, Digest>,
) -> Override {
    // Every value at the keys Helm merges it under: a subchart's under its name, `global`
    // where it is; values that no override can reach are left out.
    let placed: Vec<Placed> = places
        .iter()
        .filter_map(|p| {
            let own = p.keys.clone()?;
            let keys = if own.first().is_some_and(|k| k == "global") {
                own
            } else {
                let mut k = prefix_of(&p.file)?;
                k.extend(own);
                k
            };
            Some((p, keys))
        })
        .flat_map(|(place, keys)| {
            // `host:5000` and `busybox:1` look alike: a bare text with a numeric suffix is
            // tried both as a registry with its port and as a name with its tag.
            let (name, suffix) = name_part(&place.text);
            let port_like = !place.text.contains('/')
                && suffix.len() > 1
                && suffix.starts_with(':')
                && suffix[1..].bytes().all(|b| b.is_ascii_digit());
            let mut out = vec![Placed {
                place,
                keys: keys.clone(),
                name: name.to_string(),
            }];
            if port_like {
                out.push(Placed {
                    place,
                    keys,
                    name: place.text.clone(),
                });
            }
            out
        })
        .collect();
    let mut edits: BTreeMap<Vec<String>, ValueEdit> = BTreeMap::new();
    let mut made = Override::default();
    for image in images {
        if target.holds(image) {
            continue;
        }
        let Ok(mapped) = target.map(image, layout) else {
            made.unreachable.push(image.clone());
            continue;
        };
        let sets = pieces(image, &placed);
        if sets.is_empty() {
            made.unreachable.push(image.clone());
        }
        for set in sets {
            let mut set_edits = assign(image, &mapped, &set);
            if let Some(digest) = digests.get(image)
                && !pin(image, digest, &set, &placed, &mut set_edits)
            {
                made.unpinned.push(image.clone());
            }
            for edit in set_edits {
                edits.insert(edit.keys.clone(), edit);
            }
        }
    }
    made.edits = edits.into_values().collect();
    made
}

/// Keys whose value is a digest, and keys whose value is a tag, as charts name them.
const DIGEST_KEYS: [&str; 2] = ["digest", "imageDigest"];
const TAG_KEYS: [&str; 4] = ["tag", "imageTag", "version", "versionTag"];

/// Pins `image` (made up by `set`, renamed by `edits`) to `digest`, adding to `edits`: a
/// `digest` value beside the name's, else a `tag` value beside it made `TAG@DIGEST`, else
/// the name's own value when it holds a tag (`repo:1.2` becomes `repo:1.2@DIGEST`). False
/// when no value can carry it.
fn pin(
    image: &Reference,
    digest: &Digest,
    set: &[&Placed],
    placed: &[Placed],
    edits: &mut Vec<ValueEdit>,
) -> bool {
    let Some(anchor) = set.last() else {
        return false;
    };
    let beside = |keys: &[&str]| {
        placed.iter().find(|p| {
            p.parent() == anchor.parent()
                && p.keys.last().is_some_and(|k| keys.contains(&k.as_str()))
        })
    };
    if let Some(p) = beside(&DIGEST_KEYS) {
        edits.push(p.edit(digest.to_string()));
        return true;
    }
    if let Some(p) = beside(&TAG_KEYS) {
        let tag = image.tag().unwrap_or("latest");
        edits.push(p.edit(format!("{tag}@{digest}")));
        return true;
    }
    let (_, suffix) = name_part(&anchor.place.text);
    let written_tag = suffix.split('@').next().unwrap_or("");
    if written_tag.is_empty() {
        return propose_digest(anchor, digest, edits);
    }
    // The name's own value, as `assign` renamed it (or as written, if the name stays).
    match edits.iter_mut().find(|e| e.keys == anchor.keys) {
        Some(e) => {
            let name = name_part(&e.new).0.to_string();
            e.new = format!("{name}{written_tag}@{digest}");
        }
        None => edits.push(anchor.edit(format!("{}{written_tag}@{digest}", anchor.name()))),
    }
    true
}

/// A `digest` value beside the name's that the chart's values do not set may still be read
/// by its templates (cert-manager's helpers read `.image.digest`, its values.yaml mentions
/// it only in a comment): proposed, and kept only when the render with the override shows
/// the image pinned (the caller renders and checks). Only for a name inside a map (`image:
/// {repository: ...}`), where such a key has a place.
fn propose_digest(anchor: &Placed, digest: &Digest, edits: &mut Vec<ValueEdit>) -> bool {
    let parent = anchor.parent();
    if parent.is_empty() {
        return false;
    }
    let mut keys = parent.to_vec();
    keys.push("digest".into());
    edits.push(ValueEdit {
        keys,
        old: String::new(),
        new: digest.to_string(),
        at: format!(
            "{}:{} (a digest value beside it, not set in the chart's values: its templates may read it)",
            anchor.place.file, anchor.place.line
        ),
    });
    true
}

/// A value and the keys it is merged under.
struct Placed<'p> {
    place: &'p Place,
    keys: Vec<String>,
    /// The part of its text that belongs to the name (without a tag or digest).
    name: String,
}

impl Placed<'_> {
    fn name(&self) -> &str {
        &self.name
    }
    fn parent(&self) -> &[String] {
        &self.keys[..self.keys.len().saturating_sub(1)]
    }
    /// The edit that sets this value to `new`.
    fn edit(&self, new: String) -> ValueEdit {
        ValueEdit {
            keys: self.keys.clone(),
            old: self.place.text.clone(),
            new,
            at: format!("{}:{}", self.place.file, self.place.line),
        }
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

/// Every set of values whose texts, joined by `/`, make up `image`'s name, left to right:
/// one for each value holding the name's end, the others looked for beside it, then in the
/// mappings above it, then under `global`. An image written in two places (an operator's
/// default and a custom resource's) has a set for each.
fn pieces<'a, 'p>(image: &Reference, placed: &'a [Placed<'p>]) -> Vec<Vec<&'a Placed<'p>>> {
    let full = format!("{}/{}", image.registry(), image.repository());
    let ends = |head: &str, text: &str| head == text || head.ends_with(&format!("/{text}"));
    let mut sets = Vec::new();
    let mut anchored: Vec<*const Placed> = Vec::new();
    for spelled in spellings(image) {
        let mut anchors: Vec<&Placed> = placed
            .iter()
            .filter(|p| !p.name().is_empty() && ends(&spelled, p.name()))
            .collect();
        anchors.sort_by_key(|p| std::cmp::Reverse(p.name().len()));
        for anchor in anchors {
            if anchored.contains(&(anchor as *const Placed)) {
                continue;
            }
            let mut chosen = vec![anchor];
            let mut head = spelled[..spelled.len() - anchor.name().len()]
                .trim_end_matches('/')
                .to_string();
            while !head.is_empty() {
                // `docker.io/library/x` is often written as a registry `docker.io` and `x`.
                let mut heads = vec![head.clone()];
                if head == "docker.io/library" {
                    heads.push("docker.io".to_string());
                }
                let found = heads.iter().find_map(|h| {
                    nearest(placed, anchor, |p| {
                        !chosen.iter().any(|c| std::ptr::eq(*c, p))
                            && !p.name().is_empty()
                            && ends(h, p.name())
                    })
                    .map(|p| (h.clone(), p))
                });
                let Some((h, p)) = found else { break };
                head = h[..h.len() - p.name().len()]
                    .trim_end_matches('/')
                    .to_string();
                chosen.insert(0, p);
            }
            // One bare name alone (`busybox`) is an image only under an image's key: a
            // container's `name: busybox` is not one.
            let bare = chosen.len() == 1 && !anchor.name().contains('/');
            if (head.is_empty() || implied(&head, &full, &spelled)) && (!bare || image_key(anchor))
            {
                anchored.push(anchor as *const Placed);
                sets.push(chosen);
            }
        }
    }
    sets
}

/// A value under a key that names an image (`image`, `repository`, `sidecarImage`, or any
/// key of an `image` mapping).
fn image_key(p: &Placed) -> bool {
    p.keys.iter().rev().take(2).any(|k| {
        let k = k.to_ascii_lowercase();
        k.contains("image") || k == "repository"
    })
}

/// A head Docker supplies when no value writes it.
fn implied(head: &str, full: &str, spelled: &str) -> bool {
    full.starts_with("docker.io/")
        && spelled == full
        && (head == "docker.io" || head == "docker.io/library")
}

/// The value `keep` accepts that is nearest to `anchor`: in the same mapping, then in each
/// mapping above it (the user's files first, as they come first), then under `global`.
fn nearest<'a, 'p>(
    placed: &'a [Placed<'p>],
    anchor: &Placed,
    keep: impl Fn(&Placed) -> bool,
) -> Option<&'a Placed<'p>> {
    let object = anchor.parent();
    let candidates: Vec<&Placed> = placed.iter().filter(|p| keep(p)).collect();
    for depth in (0..=object.len()).rev() {
        if let Some(p) = candidates.iter().find(|p| p.parent() == &object[..depth]) {
            return Some(p);
        }
    }
    candidates
        .iter()
        .find(|p| p.keys.first().is_some_and(|g| g == "global"))
        .copied()
}

/// The new texts of `pieces` so that, joined, they make up `mapped`'s name; tags and
/// digests written in them stay.
fn assign(image: &Reference, mapped: &Reference, pieces: &[&Placed]) -> Vec<ValueEdit> {
    let registry_piece =
        pieces[0].name() == image.registry() && !image.registry().contains('/') && pieces.len() > 1;
    // Keep values at the right that the target name still ends with.
    let mut path = mapped.repository().to_string();
    let mut kept = pieces.len();
    while kept > usize::from(registry_piece) + 1 {
        match path.strip_suffix(pieces[kept - 1].name()) {
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
        // Between the registry and the kept values, the first takes the path.
        for i in 1..kept {
            new_texts.push(if i == 1 { path.clone() } else { String::new() });
        }
    } else {
        for i in 0..kept {
            new_texts.push(if i == 0 {
                format!("{}/{}", mapped.registry(), path)
            } else {
                String::new()
            });
        }
    }
    pieces
        .iter()
        .zip(new_texts)
        .filter_map(|(piece, new)| {
            let suffix = &piece.place.text[piece.name.len()..];
            let new = format!("{new}{suffix}");
            (new != piece.place.text).then(|| piece.edit(new))
        })
        .collect()
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
        pinned_edits(image, places, to, layout, None).0
    }

    /// The edits for `image`, pinned to `digest` when given; and whether it was pinned.
    fn pinned_edits(
        image: &str,
        places: &[Place],
        to: &str,
        layout: Layout,
        digest: Option<&str>,
    ) -> (Vec<(String, String)>, bool) {
        let target: Target = to.parse().unwrap();
        let image: Reference = image.parse().unwrap();
        let digests = digest
            .map(|d| (image.clone(), d.parse().unwrap()))
            .into_iter()
            .collect();
        let made = override_for(
            &[image],
            places,
            &|_| Some(Vec::new()),
            &target,
            layout,
            &digests,
        );
        assert!(made.unreachable.is_empty(), "{:?}", made.unreachable);
        let edits = made
            .edits
            .into_iter()
            .map(|e| (e.keys.join("."), e.new))
            .collect();
        (edits, made.unpinned.is_empty())
    }

    #[test]
    fn a_digest_goes_where_the_chart_takes_one() {
        let d = "sha256:4bc453b53cb3d914b45f4b250294236adba2c0e09ff6f03793949e7e39fd4cc1";
        let to = "harbor.local/team";
        // A `digest` value beside the name (empty or not).
        let places = [
            place("v.yaml", &["image", "repository"], "quay.io/jetstack/ctl"),
            place("v.yaml", &["image", "digest"], "\"\""),
        ];
        let (edits, pinned) = pinned_edits(
            "quay.io/jetstack/ctl:v1",
            &places,
            to,
            Layout::Path,
            Some(d),
        );
        assert!(pinned);
        assert!(
            edits.contains(&("image.digest".into(), d.into())),
            "{edits:?}"
        );
        // Else a `tag` value beside it, with the tag the chart rendered.
        let places = [
            place("v.yaml", &["image", "repository"], "quay.io/jetstack/ctl"),
            place("v.yaml", &["image", "tag"], "\"\""),
        ];
        let (edits, _) = pinned_edits(
            "quay.io/jetstack/ctl:v1",
            &places,
            to,
            Layout::Path,
            Some(d),
        );
        assert!(
            edits.contains(&("image.tag".into(), format!("v1@{d}"))),
            "{edits:?}"
        );
        // Else after the tag written with the name.
        let places = [place("v.yaml", &["sidecar"], "quay.io/a/b:2")];
        let (edits, _) = pinned_edits("quay.io/a/b:2", &places, to, Layout::Path, Some(d));
        assert_eq!(
            edits,
            vec![("sidecar".into(), format!("harbor.local/team/a/b:2@{d}"))]
        );
        // A name alone in a map, its tag from the template: a `digest` beside it is proposed
        // (the render with the override decides whether the templates read it).
        let places = [place("v.yaml", &["image", "repository"], "quay.io/a/b")];
        let (edits, pinned) = pinned_edits("quay.io/a/b:2", &places, to, Layout::Path, Some(d));
        assert!(pinned);
        assert!(
            edits.contains(&("image.digest".into(), d.to_string())),
            "{edits:?}"
        );
        // A bare name at the top of the values: nowhere a digest could go.
        let places = [place("v.yaml", &["image"], "quay.io/a/b")];
        let (_, pinned) = pinned_edits("quay.io/a/b:2", &places, to, Layout::Path, Some(d));
        assert!(!pinned);
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
