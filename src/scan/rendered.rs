//! Findings in a renderer's output, traced back to the source files. The output is the
//! truth (what the cluster gets); the sources, read by ferry's own pass, say where a person
//! would change each image. A finding no source names (a remote base, a generator) stays
//! with the kustomization that rendered it.

use super::{FileScan, Hit, Rendered};

/// Gives every hit of `output` (labelled as the rendered unit) the source location that
/// names its image, from `sources` (the covered files as ferry's own pass reads them);
/// `root` is the kustomization file, for hits no source names.
pub fn attribute(output: &mut FileScan, sources: &[(String, FileScan)], root: &str, by: &str) {
    let candidates: Vec<&Hit> = sources.iter().flat_map(|(_, s)| &s.hits).collect();
    for hit in &mut output.hits {
        let rendered = Rendered {
            by: by.to_string(),
            line: hit.line,
            column: hit.column,
            located: false,
        };
        let same_image = |c: &&&Hit| c.reference == hit.reference;
        let same_repository = |c: &&&Hit| {
            c.reference.registry() == hit.reference.registry()
                && c.reference.repository() == hit.reference.repository()
        };
        let best =
            pick(&candidates, hit, same_image).or_else(|| pick(&candidates, hit, same_repository));
        match best {
            Some(source) => {
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
