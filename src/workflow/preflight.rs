//! What `bundle` checks before it pulls anything, so that what builds installs: every
//! manifest file loads as Kubernetes objects the way `install` will load it (values files
//! apart), no object is defined twice, and there are images to carry. Every problem is
//! collected and reported together, each with its file and line.

use std::path::PathBuf;

use crate::apply::plan;
use crate::inputs;

/// The problems of the manifest inputs, and whether there are images at all.
pub fn check(paths: &[PathBuf], images: usize, allow_empty: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut objects = Vec::new();
    let files = match inputs::expand(paths) {
        Ok(f) => f,
        Err(e) => return vec![crate::exit::render(&e)],
    };
    for path in files {
        if inputs::is_values_file(&path) {
            continue;
        }
        let label = inputs::display(&path);
        let text = match inputs::read_text(&path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(crate::exit::render(&e));
                continue;
            }
        };
        match plan::load_text(&label, &text) {
            Ok(found) => objects.extend(found),
            Err(e) => match template_line(&text) {
                // A template may even parse as YAML (`{{ .Values.x }}` is a flow mapping).
                Some(line) => problems.push(format!(
                    "{label}:{line}: a Go/Helm template, not manifests: render it (helm template) and bundle the output"
                )),
                None => problems.push(crate::exit::render(&e)),
            },
        }
    }
    if let Err(e) = plan::check_duplicates(&objects) {
        problems.push(crate::exit::render(&e));
    }
    if images == 0 && !allow_empty {
        problems.push(
            "no images found in the inputs: nothing to carry (give --allow-empty to bundle manifests alone)"
                .into(),
        );
    }
    problems
}

/// The first line holding a Go template action (`{{ .Values.x }}`, `{{- if ...}}`).
fn template_line(text: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.find("{{").is_some_and(|at| {
                let rest = l[at + 2..].trim_start_matches('-').trim_start();
                rest.starts_with(['.', '$', '/'])
                    || [
                        "if ",
                        "range ",
                        "with ",
                        "end",
                        "include ",
                        "template ",
                        "define ",
                        "else",
                        "toYaml",
                        "tpl ",
                    ]
                    .iter()
                    .any(|w| rest.starts_with(w))
            }) && l.contains("}}")
        })
        .map(|i| i + 1)
}

/// `*` matches any run of characters, everything else itself: `ttl.sh/*`, `*:latest`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("ttl.sh/*", "ttl.sh/a:1"));
        assert!(glob_match("*:latest", "docker.io/library/x:latest"));
        assert!(glob_match(
            "quay.io/*/kafka:*",
            "quay.io/strimzi/kafka:0.45"
        ));
        assert!(!glob_match(
            "quay.io/*/kafka:*",
            "quay.io/strimzi/operator:0.45"
        ));
        assert!(glob_match("exact", "exact") && !glob_match("exact", "exactly"));
        assert!(!glob_match("a*b*c", "acb"));
    }
}
