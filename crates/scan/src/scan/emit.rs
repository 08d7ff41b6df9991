//! Turns a matched scalar (or several, for split forms) into a [`Hit`] or a [`Warning`],
//! with byte spans, lines and columns, once per span however many rules match it.

use std::collections::HashSet;

use super::{FileScan, Form, Hit, Part, PathDisplay, Role, Rule, Seg, Warning};
use ferry_core::reference::Reference;
use ferry_core::yaml::Scalar;

/// The Kubernetes object a node belongs to (empty for fragments and values files).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Obj<'d> {
    pub api_version: Option<&'d str>,
    pub kind: Option<&'d str>,
    pub name: Option<&'d str>,
    pub namespace: Option<&'d str>,
}

/// Which rule matched, and how the reference is spelled.
pub(super) struct Match<'r> {
    pub rule: Rule,
    pub user_rule: Option<&'r str>,
    pub form: Form,
}

/// Where a part's text sits: the scalar and the text's position inside its decoded value.
pub(super) struct PartSrc<'s, 'a> {
    pub role: Role,
    pub field: &'s str,
    pub scalar: &'s Scalar<'a>,
    /// Byte range in the decoded text; `None` means the trimmed whole value.
    pub within: Option<std::ops::Range<usize>>,
}

pub(super) struct Emitter<'f> {
    pub file: &'f str,
    pub source: &'f str,
    pub document: usize,
    line_starts: &'f [usize],
    claimed: HashSet<usize>,
    pub out: &'f mut FileScan,
}

/// Byte offsets where each line starts.
pub(super) fn line_starts(source: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            source
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect()
}

impl<'f> Emitter<'f> {
    pub(super) fn new(
        file: &'f str,
        source: &'f str,
        document: usize,
        line_starts: &'f [usize],
        out: &'f mut FileScan,
    ) -> Self {
        Emitter {
            file,
            source,
            document,
            line_starts,
            claimed: HashSet::new(),
            out,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self.source[start..offset].chars().count() + 1;
        (line, column)
    }

    /// Finds the source bytes of `src.within` (or the trimmed value): the same text, the
    /// same occurrence, inside the scalar as written. References hold no characters YAML
    /// escapes or folds, so their text appears verbatim in the source.
    fn locate(&self, src: &PartSrc) -> Option<Part> {
        let text: &str = &src.scalar.text;
        let within = src.within.clone().unwrap_or_else(|| {
            let trimmed = text.trim();
            let start = text.len() - text.trim_start().len();
            start..start + trimmed.len()
        });
        let needle = &text[within.clone()];
        if needle.is_empty() {
            return None;
        }
        let nth = text[..within.start].matches(needle).count();
        let raw = &self.source[src.scalar.span()];
        let (offset, _) = raw.match_indices(needle).nth(nth)?;
        let start = src.scalar.span().start + offset;
        let (line, column) = self.line_col(start);
        Some(Part {
            role: src.role,
            field: src.field.to_string(),
            text: needle.to_string(),
            start,
            end: start + needle.len(),
            line,
            column,
        })
    }

    /// Records a hit unless one of its spans was already reported.
    pub(super) fn hit(
        &mut self,
        m: Match,
        reference: Reference,
        path: &[Seg],
        obj: &Obj,
        parts: &[PartSrc],
    ) {
        if let Some(hit) = self.build(m, reference, path, obj, parts)
            && !hit.parts.iter().any(|p| self.claimed.contains(&p.start))
        {
            self.claimed.extend(hit.parts.iter().map(|p| p.start));
            self.out.hits.push(hit);
        }
    }

    /// The hit these parts make, located in the file, without recording it.
    pub(super) fn build(
        &mut self,
        m: Match,
        reference: Reference,
        path: &[Seg],
        obj: &Obj,
        parts: &[PartSrc],
    ) -> Option<Hit> {
        let Some(parts) = parts
            .iter()
            .map(|p| self.locate(p))
            .collect::<Option<Vec<_>>>()
        else {
            let first = &parts[0].scalar;
            self.warn(
                path,
                first,
                "reference found but its bytes could not be located in the file",
            );
            return None;
        };
        let written = match m.form {
            Form::Split => parts
                .iter()
                .map(|p| format!("{}={}", p.field, p.text))
                .collect::<Vec<_>>()
                .join(" + "),
            _ => parts[0].text.clone(),
        };
        let (line, column) = (parts[0].line, parts[0].column);
        // `….output.image`, `….output: {repository, tag}`: where a build pushes its result.
        let output = path
            .iter()
            .rev()
            .take(2)
            .any(|s| matches!(s, Seg::Key(k) if *k == "output"));
        Some(Hit {
            reference,
            written,
            file: self.file.to_string(),
            line,
            column,
            document: self.document,
            yaml_path: PathDisplay(path).to_string(),
            api_version: obj.api_version.map(str::to_string),
            kind: obj.kind.map(str::to_string),
            namespace: obj.namespace.map(str::to_string),
            name: obj.name.map(str::to_string),
            rule: m.rule,
            user_rule: m.user_rule.map(str::to_string),
            why: m.rule.why(),
            form: m.form,
            parts,
            output,
            rendered: None,
            consumers: Vec::new(),
        })
    }

    pub(super) fn warn(&mut self, path: &[Seg], at: &Scalar, message: &str) {
        self.out.warnings.push(Warning {
            file: self.file.to_string(),
            line: at.pos.line as usize,
            column: at.pos.column as usize,
            yaml_path: PathDisplay(path).to_string(),
            value: at.text.to_string(),
            message: message.to_string(),
        });
    }
}
