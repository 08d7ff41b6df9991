//! A label added to a document's own text, in the style it is written in: the document is
//! sent to the API server as written (YAML 1.1 as the server reads it: `0644` stays an
//! octal number), so the label is an edit of the text, never a re-serialization.

use crate::pull_secret::line_offset;
use ferry_core::yaml::{Node, parse_documents};

/// Why a label, an annotation or a namespace could not be written into a document.
#[derive(Debug, thiserror::Error)]
#[error("{file}: cannot write {key} into its metadata: {why}")]
pub struct LabelError {
    pub file: String,
    pub key: String,
    pub why: &'static str,
}

/// `text` with `key: value` in `metadata.labels` (replacing a value it has).
pub fn with_label(file: &str, text: &str, key: &str, value: &str) -> Result<String, LabelError> {
    with_metadata(file, text, "labels", key, value)
}

/// `text` with `key: value` in `metadata.annotations` (replacing a value it has).
pub fn with_annotation(
    file: &str,
    text: &str,
    key: &str,
    value: &str,
) -> Result<String, LabelError> {
    with_metadata(file, text, "annotations", key, value)
}

/// `text` with `namespace: NAMESPACE` in its metadata (replacing one it names): an object
/// placed in a namespace says so itself, to the server and to the release's record that a
/// rollback applies again.
pub fn with_namespace(file: &str, text: &str, namespace: &str) -> Result<String, LabelError> {
    edit_metadata(file, text, "namespace", |metadata, scalar| {
        if !metadata.is_map() {
            return Err("its metadata is not a map");
        }
        let entry = format!("{}: {}", scalar("namespace"), scalar(namespace));
        Ok(into_map(text, metadata, "namespace", &entry))
    })
}

/// `text` with `key: value` in the map `metadata.<field>`.
fn with_metadata(
    file: &str,
    text: &str,
    field: &str,
    key: &str,
    value: &str,
) -> Result<String, LabelError> {
    edit_metadata(file, text, key, |metadata, scalar| {
        let entry = format!("{}: {}", scalar(key), scalar(value));
        Ok(match metadata.get(field) {
            Some(map) if map.is_map() => into_map(text, map, key, &entry),
            Some(map) if map.as_scalar().is_some_and(|s| s.is_plain_null()) => None,
            Some(_) => return Err("its metadata.labels or annotations is not a map"),
            None => into_map(
                text,
                metadata,
                field,
                &format!("{}: {{{entry}}}", scalar(field)),
            ),
        })
    })
}

/// The document's text as `edit` makes it from its `metadata` node, given how a scalar is
/// written in the document's style; `None` from `edit`: written in a way not edited here.
fn edit_metadata(
    file: &str,
    text: &str,
    key: &str,
    edit: impl FnOnce(&Node<'_>, &dyn Fn(&str) -> String) -> Result<Option<String>, &'static str>,
) -> Result<String, LabelError> {
    let fail = |why| LabelError {
        file: file.to_string(),
        key: key.to_string(),
        why,
    };
    let docs = parse_documents(text).map_err(|_| fail("the document is not YAML"))?;
    let root = &docs.first().ok_or_else(|| fail("the file is empty"))?.root;
    let metadata = root
        .get("metadata")
        .ok_or_else(|| fail("it has no metadata"))?;
    // JSON is YAML, but a JSON document stays JSON for whoever reads it next.
    let json = text.trim_start().starts_with('{');
    let scalar = |s: &str| {
        if json {
            serde_json::Value::String(s.to_string()).to_string()
        } else {
            quoted(s)
        }
    };
    edit(metadata, &scalar)
        .map_err(fail)?
        .ok_or_else(|| fail("its metadata is written in a way ferry does not edit"))
}

/// A value as a YAML scalar: plain when YAML reads it back as the same string.
fn quoted(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '-');
    if plain {
        value.to_string()
    } else {
        serde_json::Value::String(value.to_string()).to_string()
    }
}

/// `entry` (`key: value`) into the map `map`: replacing the value of `key` when the map has
/// it, else as the map's first entry, in the map's own style (flow or block).
fn into_map(text: &str, map: &Node<'_>, key: &str, entry: &str) -> Option<String> {
    if let Some(existing) = map.get(key) {
        let span = existing.as_scalar()?.span();
        let value = entry.rsplit_once(": ").map(|(_, v)| v)?;
        return Some(format!(
            "{}{value}{}",
            &text[..span.start],
            &text[span.end..]
        ));
    }
    let at = line_offset(text, map.pos())?;
    if text[at..].starts_with('{') {
        let sep = if text[at + 1..].trim_start().starts_with('}') {
            ""
        } else {
            ", "
        };
        return Some(format!("{}{{{entry}{sep}{}", &text[..at], &text[at + 1..]));
    }
    // Block map: a new first line with the first entry's indentation.
    let (first, _) = map.entries().first()?;
    let first = line_offset(text, first.as_ref()?.pos)?;
    let line_start = text[..first].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[line_start..first];
    if !indent.chars().all(|c| c == ' ') {
        return None;
    }
    Some(format!(
        "{}{indent}{entry}\n{}",
        &text[..line_start],
        &text[line_start..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "applyset.kubernetes.io/part-of";
    const V: &str = "applyset-abc-v1";

    fn labels_of(text: &str) -> serde_json::Value {
        let docs = parse_documents(text).unwrap();
        let labels = docs[0].root.get("metadata").unwrap().get("labels").unwrap();
        serde_json::Value::Object(
            labels
                .entries()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_ref().unwrap().text.to_string(),
                        v.as_str().unwrap().into(),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn the_label_joins_each_style_and_nothing_else_changes() {
        let block = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    app: x\ndata:\n  mode: 0644\n";
        let out = with_label("f", block, K, V).unwrap();
        assert_eq!(
            out,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    applyset.kubernetes.io/part-of: applyset-abc-v1\n    app: x\ndata:\n  mode: 0644\n"
        );
        let none = "kind: ConfigMap\nmetadata:\n    name: a\n";
        let out = with_label("f", none, K, V).unwrap();
        assert_eq!(
            out,
            "kind: ConfigMap\nmetadata:\n    labels: {applyset.kubernetes.io/part-of: applyset-abc-v1}\n    name: a\n"
        );
        let flow = "kind: ConfigMap\nmetadata: {name: a, labels: {}}\n";
        assert_eq!(labels_of(&with_label("f", flow, K, V).unwrap())[K], V);
        let flow_meta = "kind: ConfigMap\nmetadata: {name: a}\n";
        let out = with_label("f", flow_meta, K, V).unwrap();
        assert_eq!(labels_of(&out)[K], V);
        let json = r#"{"kind":"ConfigMap","metadata":{"name":"a","labels":{"app":"x"}}}"#;
        let out = with_label("f", json, K, V).unwrap();
        assert_eq!(labels_of(&out)[K], V);
        assert_eq!(labels_of(&out)["app"], "x");
        assert!(
            serde_json::from_str::<serde_json::Value>(&out).is_ok(),
            "{out}"
        );
    }

    #[test]
    fn a_label_it_has_is_replaced_and_odd_values_are_quoted() {
        let had = "kind: ConfigMap\nmetadata:\n  labels:\n    applyset.kubernetes.io/part-of: old\n  name: a\n";
        let out = with_label("f", had, K, V).unwrap();
        assert_eq!(out, had.replace("old", V));
        let out = with_label("f", had, "ferry.dev/version", "2.0.0").unwrap();
        assert_eq!(labels_of(&out)["ferry.dev/version"], "2.0.0");
        assert!(out.contains("\"2.0.0\""), "{out}");
    }

    #[test]
    fn metadata_it_cannot_edit_is_an_error_naming_the_file() {
        let e = with_label("dir/x.yaml", "kind: ConfigMap\n", K, V).unwrap_err();
        assert_eq!(
            e.to_string(),
            "dir/x.yaml: cannot write applyset.kubernetes.io/part-of into its metadata: it has no metadata"
        );
        assert!(with_label("f", "metadata:\n  labels: [a]\n", K, V).is_err());
    }

    #[test]
    fn a_namespace_joins_the_metadata_in_its_style_or_replaces_one() {
        let block = "kind: ConfigMap\nmetadata:\n  name: a\ndata:\n  mode: 0644\n";
        assert_eq!(
            with_namespace("f", block, "shop").unwrap(),
            "kind: ConfigMap\nmetadata:\n  namespace: shop\n  name: a\ndata:\n  mode: 0644\n"
        );
        let flow = "kind: ConfigMap\nmetadata: {name: a}\n";
        assert_eq!(
            with_namespace("f", flow, "shop").unwrap(),
            "kind: ConfigMap\nmetadata: {namespace: shop, name: a}\n"
        );
        let had = "kind: ConfigMap\nmetadata:\n  name: a\n  namespace: old\n";
        assert_eq!(
            with_namespace("f", had, "shop").unwrap(),
            had.replace("old", "shop")
        );
        let e = with_namespace("x.yaml", "kind: ConfigMap\nmetadata: []\n", "shop").unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.yaml: cannot write namespace into its metadata: its metadata is not a map"
        );
    }
}
