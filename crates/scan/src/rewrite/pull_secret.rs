//! `--pull-secret NAME`: `imagePullSecrets` added to pod specs, in each file's own style.

use super::{Edit, RewriteError};

/// `--pull-secret NAME`: inserts `imagePullSecrets: [{name: NAME}]`, in block style at the
/// indentation of `containers:`, into every pod spec (any mapping with a `containers` list)
/// that has no `imagePullSecrets`. Returns the edits and a note for each pod spec left alone.
pub fn pull_secret_edits(
    file: &str,
    source: &str,
    secret: &str,
) -> Result<(Vec<Edit>, Vec<String>), RewriteError> {
    let docs = ferry_core::yaml::parse_documents(source).map_err(|e| RewriteError::At {
        file: file.to_string(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    let mut edits = Vec::new();
    let mut notes = Vec::new();
    for doc in &docs {
        visit_pod_specs(&doc.root, &mut |spec| {
            // visit_pod_specs only passes mappings that have a `containers` key.
            let Some(key) = spec.key("containers") else {
                return;
            };
            let at_key = |m: &str| format!("{file}:{}:{}: {m}", key.pos.line, key.pos.column);
            if let Some(existing) = spec.get("imagePullSecrets") {
                let listed = existing
                    .as_seq()
                    .is_some_and(|items| items.iter().any(|i| i.get_str("name") == Some(secret)));
                if !listed {
                    notes.push(at_key(&format!(
                        "pod spec already has other imagePullSecrets; {secret} not added"
                    )));
                }
                return;
            }
            let start = key.span().start;
            let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
            let indent = &source[line_start..start];
            if !indent.bytes().all(|b| b == b' ') {
                notes.push(at_key(
                    "pod spec in flow style or after a `- `: imagePullSecrets not added",
                ));
                return;
            }
            // Follow the file's list style: items at the key's column or indented under it.
            let item_indent = match spec
                .get("containers")
                .and_then(|c| c.as_seq())
                .and_then(|s| s.first())
            {
                Some(first) if first.pos().column as usize >= indent.len() + 3 => {
                    first.pos().column as usize - 3
                }
                _ => indent.len(),
            };
            let eol = if source[start..]
                .find('\n')
                .is_some_and(|i| source[start..start + i].ends_with('\r'))
            {
                "\r\n"
            } else {
                "\n"
            };
            edits.push(Edit {
                start: line_start,
                end: line_start,
                text: format!(
                    "{indent}imagePullSecrets:{eol}{}- name: {secret}{eol}",
                    " ".repeat(item_indent)
                ),
            });
        });
    }
    Ok((edits, notes))
}

fn visit_pod_specs<'a>(
    node: &'a ferry_core::yaml::Node<'a>,
    f: &mut impl FnMut(&'a ferry_core::yaml::Node<'a>),
) {
    use ferry_core::yaml::Node;
    match node {
        Node::Map(entries, _) => {
            if node
                .get("containers")
                .and_then(|c| c.as_seq())
                .is_some_and(|s| s.iter().all(Node::is_map))
            {
                f(node);
            }
            for (_, v) in entries {
                visit_pod_specs(v, f);
            }
        }
        Node::Seq(items, _) => items.iter().for_each(|i| visit_pod_specs(i, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::apply;

    fn add(src: &str) -> String {
        let (edits, notes) = pull_secret_edits("t.yaml", src, "regcred").unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        apply(src, edits).unwrap()
    }

    #[test]
    fn inserted_in_the_files_own_style() {
        assert_eq!(
            add(
                "spec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: x\n"
            ),
            "spec:\n  template:\n    spec:\n      imagePullSecrets:\n        - name: regcred\n      containers:\n        - name: a\n          image: x\n"
        );
        assert_eq!(
            add("spec:\n  containers:\n  - name: a\n    image: x\n"),
            "spec:\n  imagePullSecrets:\n  - name: regcred\n  containers:\n  - name: a\n    image: x\n"
        );
    }

    #[test]
    fn existing_secrets_are_respected() {
        let src = "spec:\n  imagePullSecrets:\n    - name: regcred\n  containers:\n    - name: a\n";
        assert_eq!(add(src), src);
        let (edits, notes) = pull_secret_edits(
            "t.yaml",
            "spec:\n  imagePullSecrets: [{name: other}]\n  containers: [{name: a}]\n",
            "regcred",
        )
        .unwrap();
        assert!(edits.is_empty());
        assert_eq!(notes.len(), 1);
    }
}
