//! Templates that call Helm's `lookup`: offline (`helm template`, a bundle, an air gap) it
//! finds nothing, so a chart that keeps a generated value with it (a database password made
//! once and then read back from its Secret) makes a new one at every render, and applying
//! that render replaces the live value. ferry says where such calls are.

use super::helm::Chart;

/// `FILE:LINE` (the path inside the chart) of each template action that calls `lookup`.
pub fn calls(chart: &Chart) -> Vec<String> {
    let mut out = Vec::new();
    for file in chart.template_files() {
        for line in lines_calling_lookup(&file.text) {
            out.push(format!("{}:{line}", file.inner));
        }
    }
    out
}

/// The 1-based lines where an action (`{{ ... }}`) calls `lookup`.
fn lines_calling_lookup(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        let body_start = open + 2;
        let Some(len) = rest[body_start..].find("}}") else {
            break;
        };
        let body = &rest[body_start..body_start + len];
        if let Some(at) = call_in(body) {
            let line = text[..offset + body_start + at].matches('\n').count() + 1;
            if lines.last() != Some(&line) {
                lines.push(line);
            }
        }
        let consumed = body_start + len + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    lines
}

/// Where `lookup` stands as a function in an action's body (not inside a string, not part
/// of a longer name).
fn call_in(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut quoted: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quoted {
            Some(q) if b == q => quoted = None,
            Some(b'"') if b == b'\\' => i += 1,
            Some(_) => {}
            None if b == b'"' || b == b'`' => quoted = Some(b),
            None if body[i..].starts_with("lookup") => {
                let before = i.checked_sub(1).map(|j| bytes[j]);
                let after = bytes.get(i + 6).copied();
                let starts =
                    before.is_none_or(|c| c == b'(' || c == b'-' || c.is_ascii_whitespace());
                let ends = after.is_none_or(|c| c.is_ascii_whitespace() || c == b')');
                if starts && ends {
                    return Some(i);
                }
            }
            None => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_call_is_found_on_its_line() {
        let text = "a: 1\n{{- $s := (lookup \"v1\" \"Secret\" .Release.Namespace \"db\") }}\n\
                    b: {{ .Values.lookupVolumeName }}\n\
                    c: {{ printf \"lookup\" }}\n\
                    d: {{ lookup \"v1\" \"Namespace\" \"\" \"x\" }} {{ lookup \"a\" \"b\" \"\" \"\" }}\n";
        assert_eq!(lines_calling_lookup(text), vec![2, 5]);
    }

    #[test]
    fn names_that_contain_lookup_are_not_calls() {
        for body in [
            " .Values.lookup ",
            " mylookup 1 ",
            " lookupx ",
            " \"lookup\" ",
        ] {
            assert_eq!(call_in(body), None, "{body}");
        }
        assert_eq!(call_in(" lookup \"v1\""), Some(1));
        assert_eq!(call_in("-lookup \"v1\""), Some(1));
    }
}
