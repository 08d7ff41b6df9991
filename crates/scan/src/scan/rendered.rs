//! Findings in a renderer's output, traced back to the source files. The output is the
//! truth (what the cluster gets); the sources, read by ferry's own pass, say where a person
//! would change each image. A finding no source names (a remote base, a generator, an image
//! written in a chart template) stays with the kustomization or template that made it.

use super::places::{self, Place};
use super::{FileScan, Hit, Rendered};
use crate::render::{Chart, helm};

/// Gives every hit of `output` (labelled as the rendered unit) the source location that
/// names its image, from `sources` (the covered files as ferry's own pass reads them);
/// `root` is the kustomization file, for hits no source names.
pub fn attribute(output: &mut FileScan, sources: &[(String, FileScan)], root: &str, by: &str) {
    let candidates: Vec<&Hit> = sources.iter().flat_map(|(_, s)| &s.hits).collect();
    for hit in &mut output.hits {
        let rendered = rendered(by, hit);
        match best(&candidates, hit) {
            Some(source) => locate(hit, source, rendered),
            None => {
                hit.file = root.to_string();
                hit.line = 1;
                hit.column = 1;
                hit.parts.clear();
                hit.rendered = Some(rendered);
            }
        }
    }
}

/// The values a chart was rendered with, as ferry's own pass reads them.
#[derive(Debug, Default)]
pub struct ChartValues {
    /// The user's values files, last given first (it wins in Helm).
    pub user: Vec<(String, FileScan)>,
    /// The chart's own values files, parent first.
    pub chart: Vec<(String, FileScan)>,
    /// Every string of all of them, in the same order.
    pub places: Vec<Place>,
}

/// Gives every hit of a chart's output its template (the `# Source:` line above it) and,
/// where a values file writes the image, that file's place: the user's files first, then the
/// values of the (sub)chart whose template made it, then the chart's other values files.
/// Where no value holds a reference, `places` (the same files' strings) say which value
/// names its repository. A hit no values file names stays with its template, at the line that writes it when the
/// template holds the reference as written.
pub fn attribute_chart(
    output: &mut FileScan,
    text: &str,
    values: &ChartValues,
    chart: &Chart,
    by: &str,
) {
    let templates = helm::sources_of(text);
    let user: Vec<&Hit> = values.user.iter().flat_map(|(_, s)| &s.hits).collect();
    let own: Vec<&Hit> = values.chart.iter().flat_map(|(_, s)| &s.hits).collect();
    for hit in &mut output.hits {
        let template = helm::template_at(&templates, hit.line).map(|t| chart.template_file(t));
        let mut rendered = rendered(by, hit);
        rendered.template = template.clone();
        rendered.yaml_path = Some(hit.yaml_path.clone());
        // The values of the (sub)chart whose template made it, before its parents'.
        let near_file = template
            .as_deref()
            .and_then(|t| t.rsplit_once("/templates/"))
            .map(|(dir, _)| format!("{dir}/values.yaml"));
        let near: Vec<&Hit> = own
            .iter()
            .filter(|c| Some(&c.file) == near_file.as_ref())
            .copied()
            .collect();
        let found = best(&user, hit)
            .or_else(|| best(&near, hit))
            .or_else(|| best(&own, hit));
        match found {
            Some(source) => {
                hit.yaml_path = source.yaml_path.clone();
                locate(hit, source, rendered);
            }
            None if let Some(place) = places::naming(&values.places, &hit.reference) => {
                hit.file = place.file.clone();
                hit.line = place.line;
                hit.column = place.column;
                hit.yaml_path = place.object.clone();
                hit.written = format!("{}={}", place.key, place.text);
                hit.parts.clear();
                hit.rendered = Some(Rendered {
                    located: true,
                    ..rendered
                });
            }
            None => {
                let (file, line) = match &template {
                    Some(t) => (t.clone(), line_writing(t, &hit.written)),
                    None => (chart.label(), 1),
                };
                hit.file = file;
                hit.line = line;
                hit.column = 1;
                hit.parts.clear();
                hit.rendered = Some(rendered);
            }
        }
    }
}

/// The first line of the file `path` that holds `written`, else 1.
fn line_writing(path: &str, written: &str) -> usize {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.lines().position(|l| l.contains(written)))
        .map_or(1, |i| i + 1)
}

fn rendered(by: &str, hit: &Hit) -> Rendered {
    Rendered {
        by: by.to_string(),
        line: hit.line,
        column: hit.column,
        located: false,
        template: None,
        yaml_path: None,
    }
}

fn locate(hit: &mut Hit, source: &Hit, rendered: Rendered) {
    hit.file = source.file.clone();
    hit.line = source.line;
    hit.column = source.column;
    hit.written = source.written.clone();
    hit.form = source.form;
    hit.parts = source.parts.clone();
    hit.rendered = Some(Rendered {
        located: true,
        ..rendered
    });
}

/// The source naming the same image, else the same repository.
fn best<'a>(candidates: &[&'a Hit], hit: &Hit) -> Option<&'a Hit> {
    let same_image = |c: &&&Hit| c.reference == hit.reference;
    let same_repository = |c: &&&Hit| {
        c.reference.registry() == hit.reference.registry()
            && c.reference.repository() == hit.reference.repository()
    };
    pick(candidates, hit, same_image).or_else(|| pick(candidates, hit, same_repository))
}

/// The candidate that matches, preferring one at the same place of the same kind of object.
fn pick<'a>(
    candidates: &[&'a Hit],
    hit: &Hit,
    matches: impl Fn(&&&'a Hit) -> bool,
) -> Option<&'a Hit> {
    let matching: Vec<&&Hit> = candidates.iter().filter(|c| matches(c)).collect();
    matching
        .iter()
        .find(|c| c.kind == hit.kind && c.yaml_path == hit.yaml_path)
        .or_else(|| matching.iter().find(|c| c.yaml_path == hit.yaml_path))
        .or_else(|| matching.first())
        .map(|c| **c)
}
