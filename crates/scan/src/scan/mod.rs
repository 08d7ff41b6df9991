//! `ferry scan`: find every image reference in manifests, custom resources and values files,
//! and say where and why.
//!
//! A scan walks each YAML document once ([`walk`]), applying the built-in rules ([`Rule`])
//! and the user's rules ([`UserRules`]). Each finding ([`Hit`]) carries the byte span of every
//! part it was read from, so `rewrite` can edit exactly those bytes.

pub mod consumers;
mod emit;
pub mod kustomize;
mod path;
pub mod places;
pub mod rendered;
mod rule;
mod user_rules;
mod walk;

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Serialize;

pub use path::{PathDisplay, Pattern, PatternSeg, Seg};
pub use rule::Rule;
pub use user_rules::{UserRule, UserRules, UserRulesError};

use ferry_core::reference::Reference;
use ferry_core::yaml::{self, YamlError};

/// How a reference is spelled in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// The whole scalar is the reference.
    Whole,
    /// The reference is a substring of a scalar (`--flag=IMAGE`, `VERSION=IMAGE` lines).
    Embedded,
    /// Registry, repository, tag and digest sit in separate fields.
    Split,
}

impl std::fmt::Display for Form {
    /// In words, as `--why` says it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Form::Whole => "the whole value",
            Form::Embedded => "part of the value",
            Form::Split => "joined from separate fields",
        })
    }
}

/// What one part of a reference holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A complete reference.
    Reference,
    Registry,
    /// A repository path, possibly with a host (`quay.io/prometheus/prometheus`).
    Repository,
    /// The last path element(s), joined to a `repository` namespace.
    Name,
    Tag,
    Digest,
}

/// One field (or substring of a field) a reference was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    pub role: Role,
    /// The mapping key holding the value (`image`, `versionTag`, or the env var's `value`).
    pub field: String,
    /// The text of this part, decoded.
    pub text: String,
    /// Byte range of `text` in the file; quotes are outside it.
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
}

impl Part {
    pub fn span(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// One image reference found in a file.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub reference: Reference,
    /// The text as written; split forms as `key=value + key=value`.
    pub written: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// 0-based index of the YAML document in the file.
    pub document: usize,
    pub yaml_path: String,
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub rule: Rule,
    /// For user rules: the rule's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_rule: Option<String>,
    pub why: &'static str,
    pub form: Form,
    pub parts: Vec<Part>,
    /// A build's output (`spec.build.output.image`): the operator pushes it, nothing pulls
    /// it. Rewritten to the private registry, never mirrored or bundled.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub output: bool,
    /// Found in a renderer's output: `file`, `line`, `column`, `written` and `parts` then say
    /// where a source file names the image; this says where the output holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendered: Option<Rendered>,
    /// For `configmap-image`: the workloads that read the ConfigMap, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<String>,
}

/// Where a rendered hit sits in the renderer's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// The command that rendered it: `kubectl kustomize config/default`.
    pub by: String,
    pub line: usize,
    pub column: usize,
    /// A source file names the image (else `file` is the kustomization: a remote base, a
    /// generator or a transformer produced it; or the chart template that writes it).
    pub located: bool,
    /// The chart template the output says made it (`# Source:`), as a file path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Where in the output object it sits, when `yaml_path` names the source's place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaml_path: Option<String>,
}

/// Something that looks like an image but cannot be used as one.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub yaml_path: String,
    pub value: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {} ({}: {:?})",
            self.file, self.line, self.column, self.message, self.yaml_path, self.value
        )
    }
}

/// Why a file could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Input(#[from] crate::inputs::InputError),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    /// The YAML error is shown as part of the message (`FILE:LINE:COLUMN: ...`).
    #[error("{file}:{error}")]
    Yaml { file: String, error: YamlError },
}

/// Findings of one file.
#[derive(Debug, Default)]
pub struct FileScan {
    pub hits: Vec<Hit>,
    pub warnings: Vec<Warning>,
    /// Its kustomizations, for [`kustomize::resolve`] across files.
    pub kustomizations: Vec<Kustomization>,
    /// The image fields it adds, when it is a transformer configuration.
    pub image_fields: Vec<FieldSpec>,
    /// Where its workloads read ConfigMaps by name, for [`consumers::link`] across files.
    pub config_map_uses: Vec<consumers::ConfigMapUse>,
}

/// A kustomization: what it includes and its `images:` entries.
impl FileScan {
    /// Adds a List document's own findings around those of its items, which start at
    /// `from` (hits, warnings): the ones written before `items_line` go before them.
    fn add_around(&mut self, own: FileScan, from: (usize, usize), items_line: usize) {
        let (before, after): (Vec<Hit>, Vec<Hit>) =
            own.hits.into_iter().partition(|h| h.line < items_line);
        self.hits.splice(from.0..from.0, before);
        self.hits.extend(after);
        let (before, after): (Vec<Warning>, Vec<Warning>) =
            own.warnings.into_iter().partition(|w| w.line < items_line);
        self.warnings.splice(from.1..from.1, before);
        self.warnings.extend(after);
        self.kustomizations.extend(own.kustomizations);
        self.image_fields.extend(own.image_fields);
        self.config_map_uses.extend(own.config_map_uses);
    }
}

#[derive(Debug, Clone, Default)]
pub struct Kustomization {
    pub file: String,
    /// `kind: Component`.
    pub component: bool,
    /// `resources` and `bases` entries as written.
    pub resources: Vec<String>,
    /// `components` entries as written.
    pub components: Vec<String>,
    /// `configurations` entries as written: files that extend the transformers' fields.
    pub configurations: Vec<String>,
    pub entries: Vec<KustomizeEntry>,
}

/// One `images:` entry of a kustomization.
#[derive(Debug, Clone)]
pub struct KustomizeEntry {
    /// The image name kustomize matches in the manifests it includes.
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
    /// The entry as a finding (`newName`/`name` + `newTag` + `digest` parts), completed per
    /// image it changes.
    pub template: Option<Box<Hit>>,
}

/// A field a transformer configuration (`configurations:`) adds to the images transformer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// `spec/template/spec/containers/env/value`: keys from the object's root, sequences
    /// passed through.
    pub path: String,
    pub kind: Option<String>,
}

/// The result of a scan over many inputs.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub files: Vec<String>,
    /// What could not be done the real way (no kustomize engine).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub hits: Vec<Hit>,
    pub warnings: Vec<Warning>,
    #[serde(serialize_with = "errors_as_strings")]
    pub errors: Vec<ScanError>,
}

fn errors_as_strings<S: serde::Serializer>(errors: &[ScanError], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(errors.iter().map(ToString::to_string))
}

impl Report {
    /// Distinct normalized references, sorted.
    pub fn images(&self) -> BTreeSet<&Reference> {
        self.hits.iter().map(|h| &h.reference).collect()
    }
}

/// Scans `source` (the text of `file`) with the built-in rules and `rules`.
pub fn scan_str(file: &str, source: &str, rules: &UserRules) -> Result<FileScan, ScanError> {
    let mut out = FileScan::default();
    let line_starts = emit::line_starts(source);
    let scan = |document: usize, node: &yaml::Node, at: &[Seg<'static>], into: &mut FileScan| {
        walk::scan_node(file, source, &line_starts, document, node, at, rules, into)
    };
    // A List's objects are scanned as they are parsed; the List's own findings then go
    // around theirs, those before its `items` first, as a walk of the whole tree gives them.
    let mut items_from = None;
    yaml::for_each_document_and_item(source, |parsed| match parsed {
        yaml::Parsed::Item(item) => {
            items_from.get_or_insert((out.hits.len(), out.warnings.len()));
            let at = [Seg::Key("items"), Seg::Index(item.index)];
            scan(item.document, &item.node, &at, &mut out);
        }
        yaml::Parsed::Document(doc) => match items_from.take() {
            None => scan(doc.index, &doc.root, &[], &mut out),
            Some(from) => {
                let mut own = FileScan::default();
                scan(doc.index, &doc.root, &[], &mut own);
                let items_line = doc.root.get("items").map_or(0, |n| n.pos().line as usize);
                out.add_around(own, from, items_line);
            }
        },
    })
    .map_err(|error| ScanError::Yaml {
        file: file.to_string(),
        error,
    })?;
    Ok(out)
}

/// Scans a file's text as [`scan_str`] does, except that a Go/Helm template (text with
/// `{{` that is not YAML) gives a warning to render it first instead of an error.
pub fn scan_text(file: &str, text: &str, rules: &UserRules) -> Result<FileScan, ScanError> {
    match scan_str(file, text, rules) {
        Err(ScanError::Yaml { error, .. }) if text.contains("{{") => Ok(FileScan {
            hits: Vec::new(),
            kustomizations: Vec::new(),
            image_fields: Vec::new(),
            config_map_uses: Vec::new(),
            warnings: vec![Warning {
                file: file.to_string(),
                line: error.line,
                column: error.column,
                yaml_path: ".".into(),
                value: String::new(),
                message: "a template, not YAML: render it first (helm template ...) to scan it"
                    .into(),
            }],
        }),
        other => other,
    }
}

/// The images a chart's `artifacthub.io/images` annotation lists, as findings of the
/// `chart-annotation` rule; an entry that is not a reference is passed over (Helm does not
/// read it either).
pub fn annotated(chart: &crate::render::Chart) -> Vec<Hit> {
    chart
        .annotated_images()
        .into_iter()
        .filter_map(|a| {
            let reference = a.image.parse::<Reference>().ok()?;
            Some(Hit {
                reference,
                written: a.image.clone(),
                file: a.file,
                line: a.line,
                column: 1,
                document: 0,
                yaml_path: r#".annotations["artifacthub.io/images"]"#.into(),
                api_version: None,
                kind: None,
                namespace: None,
                name: Some(chart.meta.name.clone()),
                rule: Rule::ChartAnnotation,
                user_rule: None,
                consumers: Vec::new(),
                why: Rule::ChartAnnotation.why(),
                form: Form::Whole,
                parts: Vec::new(),
                output: false,
                rendered: None,
            })
        })
        .collect()
}
