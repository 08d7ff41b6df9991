//! `images:` entries added to a kustomization, as `kustomize edit set image NAME=NEWNAME`
//! adds them: for images no file among the inputs names (a remote base, a generator), which
//! only the kustomization that builds them can redirect. Every existing byte stays.

use super::{Edit, RewriteError};

/// The edits that add `- name: NAME` / `newName: NEW` entries to the kustomization in
/// `source`: after the last item of its `images:` list, in that list's style, or as a new
/// `images:` list at the end of the document.
pub fn image_entry_edits(
    file: &str,
    source: &str,
    entries: &[(String, String)],
) -> Result<Vec<Edit>, RewriteError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let at = |line: usize, column: usize, message: &str| RewriteError::At {
        file: file.to_string(),
        line,
        column,
        message: message.to_string(),
    };
    let docs =
        ferry_core::yaml::parse_documents(source).map_err(|e| at(e.line, e.column, &e.message))?;
    let doc = docs
        .first()
        .ok_or_else(|| at(1, 1, "an empty kustomization"))?;
    let eol = if source.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let Some(key) = doc.root.key("images") else {
        let end = doc.span.end;
        let lead = if source[..end].ends_with('\n') || end == 0 {
            ""
        } else {
            eol
        };
        let items: String = entries
            .iter()
            .map(|(name, new)| format!("- name: {name}{eol}  newName: {new}{eol}"))
            .collect();
        return Ok(vec![Edit {
            start: end,
            end,
            text: format!("{lead}images:{eol}{items}"),
        }]);
    };
    let key_start = key.span().start;
    let key_line_start = source[..key_start].rfind('\n').map_or(0, |i| i + 1);
    let key_indent = key_start - key_line_start;
    let key_line_end = source[key_start..]
        .find('\n')
        .map_or(source.len(), |i| key_start + i);
    let after_key = source[key.span().end..key_line_end]
        .trim_start_matches([':', ' ', '\t'])
        .trim_end_matches('\r');
    if !after_key.is_empty() && !after_key.starts_with('#') {
        return Err(at(
            key.pos.line as usize,
            key.pos.column as usize,
            "images: is in flow style: cannot add entries to it",
        ));
    }
    // The list runs while lines are blank, comments, indented deeper, or `- ` items at the
    // key's own column; new items go after its last line of content.
    let mut insert_at = (key_line_end + 1).min(source.len());
    let mut item_indent = None;
    let mut field_indent = None;
    let mut offset = insert_at;
    for line in source[insert_at..].split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let indent = content.len() - content.trim_start_matches(' ').len();
        let rest = &content[indent..];
        let blank = rest.is_empty() || rest.starts_with('#');
        let item = rest.starts_with("- ") || rest == "-";
        if !blank && indent <= key_indent && !(indent == key_indent && item) {
            break;
        }
        if item && item_indent.is_none() {
            item_indent = Some(indent);
            let after_dash = &rest[1..];
            field_indent = Some(indent + 1 + (after_dash.len() - after_dash.trim_start().len()));
        }
        offset += line.len();
        if !blank {
            insert_at = offset;
        }
    }
    let item_indent = item_indent.unwrap_or(key_indent);
    let field_indent = field_indent.unwrap_or(item_indent + 2);
    let lead = if source[..insert_at].ends_with('\n') {
        ""
    } else {
        eol
    };
    let items: String = entries
        .iter()
        .map(|(name, new)| {
            format!(
                "{}- name: {name}{eol}{}newName: {new}{eol}",
                " ".repeat(item_indent),
                " ".repeat(field_indent)
            )
        })
        .collect();
    Ok(vec![Edit {
        start: insert_at,
        end: insert_at,
        text: format!("{lead}{items}"),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::apply;

    fn add(src: &str) -> String {
        let entries = [("quay.io/x/y".to_string(), "reg.local/x/y".to_string())];
        apply(src, image_entry_edits("k.yaml", src, &entries).unwrap()).unwrap()
    }

    #[test]
    fn appended_to_the_list_in_its_style() {
        assert_eq!(
            add(
                "resources: [a.yaml]\nimages:\n  - name: a  # keep\n    newTag: v1\n\n# tail\nnamespace: n\n"
            ),
            "resources: [a.yaml]\nimages:\n  - name: a  # keep\n    newTag: v1\n  - name: quay.io/x/y\n    newName: reg.local/x/y\n\n# tail\nnamespace: n\n"
        );
        assert_eq!(
            add("images:\n- name: a\n  newTag: v1\n"),
            "images:\n- name: a\n  newTag: v1\n- name: quay.io/x/y\n  newName: reg.local/x/y\n"
        );
    }

    #[test]
    fn a_new_list_when_there_is_none() {
        assert_eq!(
            add("resources:\n- a.yaml"),
            "resources:\n- a.yaml\nimages:\n- name: quay.io/x/y\n  newName: reg.local/x/y\n"
        );
        assert_eq!(
            add("resources:\r\n- a.yaml\r\n"),
            "resources:\r\n- a.yaml\r\nimages:\r\n- name: quay.io/x/y\r\n  newName: reg.local/x/y\r\n"
        );
    }

    #[test]
    fn a_flow_list_is_refused() {
        let e = image_entry_edits(
            "k.yaml",
            "images: [{name: a}]\n",
            &[("b".into(), "c".into())],
        );
        assert!(e.unwrap_err().to_string().contains("flow style"));
    }
}
