//! Rendering results for people (tables) and machines (lists, JSON).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use ferry_core::reference::Reference;
pub use ferry_core::text::{Bytes, counted, printable, printable_text};
use ferry_scan::scan::{Hit, Report};

/// Version of the `scan --output json` document; bumped on incompatible changes.
pub const SCAN_SCHEMA: &str = "ferry.scan/v1";

/// One normalized reference per line, sorted, each once.
pub fn scan_list(out: &mut impl Write, report: &Report) -> io::Result<()> {
    for image in report.images() {
        writeln!(out, "{image}")?;
    }
    Ok(())
}

/// The whole report as one JSON document (schema in the README), written as it is
/// serialized: no copy of the report is built first.
pub fn scan_json(out: &mut impl Write, report: &Report) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Doc<'r> {
        schema: &'static str,
        files: &'r [String],
        images: BTreeSet<&'r Reference>,
        hits: &'r [Hit],
        warnings: &'r [ferry_scan::scan::Warning],
        errors: Vec<String>,
    }
    let doc = Doc {
        schema: SCAN_SCHEMA,
        files: &report.files,
        images: report.images(),
        hits: &report.hits,
        warnings: &report.warnings,
        errors: report.errors.iter().map(ToString::to_string).collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn location(h: &Hit) -> String {
    format!("{}:{}:{}", h.file, h.line, h.column)
}

fn object(h: &Hit) -> String {
    match (&h.kind, &h.name) {
        (Some(k), Some(n)) => format!("{k}/{n}"),
        (Some(k), None) => k.clone(),
        _ => "-".to_string(),
    }
}

/// One row per distinct image: how often and where it was found; with `why`, every
/// occurrence with its rule and reasoning.
pub fn scan_table(out: &mut impl Write, report: &Report, why: bool) -> io::Result<()> {
    let mut by_image: BTreeMap<&Reference, Vec<&Hit>> = BTreeMap::new();
    for h in &report.hits {
        by_image.entry(&h.reference).or_default().push(h);
    }
    let width = by_image
        .keys()
        .map(|r| r.to_string().len())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(out, "{:width$}  {:>5}  WHERE", "IMAGE", "FOUND")?;
    for (image, hits) in &by_image {
        let first = hits[0];
        let more = match hits.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        writeln!(
            out,
            "{:width$}  {:>5}  {} {} {}{more}",
            image.to_string(),
            hits.len(),
            location(first),
            object(first),
            first.yaml_path
        )?;
        if why {
            for h in hits {
                let rule = match &h.user_rule {
                    Some(name) => format!("user rule {name:?}"),
                    None => h.rule.id().to_string(),
                };
                writeln!(out, "    {} {} {}", location(h), object(h), h.yaml_path)?;
                writeln!(
                    out,
                    "      {} ({}): {rule}: {}",
                    printable(&h.written),
                    h.form,
                    h.why
                )?;
                if let Some(r) = &h.rendered {
                    let whence = if let Some(t) = &r.template {
                        if r.located {
                            format!("from template {t}, the value named here")
                        } else {
                            format!("written in template {t}")
                        }
                    } else if r.located {
                        "named here".to_string()
                    } else {
                        "no local file names it (a remote base, a generator or a transformer made it)"
                            .to_string()
                    };
                    writeln!(
                        out,
                        "      in the output of `{}` (line {}): {whence}",
                        r.by, r.line
                    )?;
                }
                for c in &h.consumers {
                    writeln!(out, "      read by: {c}")?;
                }
                if h.rule == ferry_scan::scan::Rule::ConfigMapImage && h.consumers.is_empty() {
                    writeln!(
                        out,
                        "      read by: no workload among the inputs names this ConfigMap; carried by the operator convention of its key"
                    )?;
                }
                if h.output {
                    writeln!(
                        out,
                        "      a build output: the operator pushes it and nothing pulls it, so it is rewritten to the private registry but never mirrored or bundled"
                    )?;
                }
            }
        }
    }
    writeln!(
        out,
        "{}, {} in {}",
        counted(by_image.len(), "image"),
        counted(report.hits.len(), "reference"),
        counted(report.files.len(), "file")
    )
}

/// `-v`: ferry's request log (target `ferry::http`) on stderr, one line per request.
pub fn log_requests() {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, meta: &log::Metadata) -> bool {
            meta.target().starts_with("ferry::")
        }
        fn log(&self, record: &log::Record) {
            if self.enabled(record.metadata()) {
                eprintln!("{}", printable(&record.args().to_string()));
            }
        }
        fn flush(&self) {}
    }
    static LOGGER: Stderr = Stderr;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}

#[cfg(test)]
mod printable_tests {
    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(super::printable("quay.io/x:1"), "quay.io/x:1");
        assert_eq!(
            super::printable("a\u{1b}[2Jb\u{7}\r"),
            "a\\u{1b}[2Jb\\u{7}\\r"
        );
        assert_eq!(
            super::printable_text("one\ntwo\u{1b}", true),
            "one\ntwo\\u{1b}"
        );
    }
}
