//! What `bundle` checks before it pulls anything, so that what builds installs: every
//! manifest file (and each kustomization's rendered output) loads as Kubernetes objects the
//! way `install` will load it (values files apart), and no object is defined twice. Every problem is
//! collected and reported together, each with its file and line.

use ferry_apply::plan;
use ferry_scan::inputs;
use ferry_scan::render::Origin;

/// The problems of the loaded inputs (the files, and each kustomization's rendered output),
/// every one of them.
pub(crate) fn check(loaded: &super::Loaded) -> Vec<String> {
    let mut problems: Vec<String> = loaded
        .errors
        .iter()
        .map(|e| ferry_core::error::chain(e))
        .collect();
    let mut objects = Vec::new();
    for source in &loaded.sources {
        if matches!(&source.origin, Origin::File(path) if inputs::is_values_file(path)) {
            continue;
        }
        match plan::load_text(&source.label, &source.text) {
            Ok(found) => objects.extend(found),
            Err(e) => match template_line(&source.text) {
                // A template may even parse as YAML (`{{ .Values.x }}` is a flow mapping).
                Some(line) => problems.push(format!(
                    "{}:{line}: a Go/Helm template, not manifests: render it (helm template) and bundle the output",
                    source.label
                )),
                None => problems.push(ferry_core::error::chain(&e)),
            },
        }
    }
    if let Err(e) = plan::check_duplicates(&objects) {
        problems.push(ferry_core::error::chain(&e));
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
