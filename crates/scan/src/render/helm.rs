//! Helm charts: which inputs are charts (a directory with `Chart.yaml`, a packaged `.tgz`),
//! what their `Chart.yaml` and values files say, and rendering with the real `helm template`.
//! ferry never evaluates a template itself: Helm decides subcharts, conditions and aliases.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use serde::Deserialize;

use super::RenderError;

/// `--helm`: which program renders charts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum HelmChoice {
    /// `helm` on PATH.
    #[default]
    Auto,
    Program(PathBuf),
}

impl FromStr for HelmChoice {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "auto" => HelmChoice::Auto,
            program => HelmChoice::Program(program.into()),
        })
    }
}

/// How charts are rendered: Helm's own options, under Helm's names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelmOptions {
    pub program: HelmChoice,
    /// `-f/--values` files, in order (a later one wins, as in Helm).
    pub values: Vec<PathBuf>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    /// `--namespace` [default: `default`, given to Helm: a render never depends on the
    /// kubeconfig of the machine it runs on, which Helm would read for its own default].
    pub namespace: Option<String>,
    /// `--release-name` [default: the chart's name].
    pub release_name: Option<String>,
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
    /// Leave the chart's `crds/` files out of the output. They are not templates and name
    /// no image (a CRD's schema is no pod spec), so a run that only looks for images
    /// (`scan`, `mirror`) skips their bulk: most of some charts' output. Whatever applies or
    /// carries the output keeps them.
    pub skip_crds: bool,
}

impl HelmOptions {
    /// The Helm program, or why there is none: a chart is never scanned without its renderer.
    pub fn engine(&self, chart: &Chart) -> Result<Helm, RenderError> {
        let found = match &self.program {
            HelmChoice::Program(p) => which::which(p).map_err(|_| RenderError::NoHelm {
                chart: chart.label(),
                asked: Some(p.display().to_string()),
            })?,
            HelmChoice::Auto => which::which("helm").map_err(|_| RenderError::NoHelm {
                chart: chart.label(),
                asked: None,
            })?,
        };
        Ok(Helm { program: found })
    }
}

/// The namespace a chart is rendered for when none is asked, as on a cluster without a
/// kubeconfig namespace.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The Helm program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helm {
    pub program: PathBuf,
}

impl Helm {
    /// The arguments after `helm` that render `chart` with `opts`. Every value is joined to
    /// its flag (`--set=VALUE`) and the release name and chart come after `--`: whatever a
    /// value holds (a bundle's `ferry.json` is untrusted), Helm reads it as data, never as a
    /// flag of its own.
    pub fn template_args(&self, chart: &Chart, opts: &HelmOptions) -> Vec<String> {
        let mut args = vec!["template".to_string()];
        let mut flag = |name: &str, value: &str| args.push(format!("--{name}={value}"));
        flag(
            "namespace",
            opts.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE),
        );
        for f in &opts.values {
            flag("values", &f.display().to_string());
        }
        for s in &opts.set {
            flag("set", s);
        }
        for s in &opts.set_string {
            flag("set-string", s);
        }
        if let Some(v) = &opts.kube_version {
            flag("kube-version", v);
        }
        for a in &opts.api_versions {
            flag("api-versions", a);
        }
        if !opts.skip_crds {
            args.push("--include-crds".into());
        }
        args.extend([
            "--".to_string(),
            chart.release_name(opts),
            chart.path.display().to_string(),
        ]);
        args
    }

    /// How a person would type the render: `helm template cert-manager deploy/chart`.
    pub fn command_line(&self, chart: &Chart, opts: &HelmOptions) -> String {
        let mut args = self.template_args(chart, opts);
        // As a person types it: the release and chart first, and no `--include-crds` or
        // `--`, which are ferry's business, not the user's.
        let positional = args.split_off(args.len() - 3);
        let shown: Vec<&str> = positional[1..]
            .iter()
            .chain(args.iter().skip(1))
            .map(String::as_str)
            .filter(|a| *a != "--include-crds")
            .collect();
        format!("helm template {}", shown.join(" "))
    }

    /// The objects `chart` renders to, with Helm's `# Source:` comments.
    pub fn render(&self, chart: &Chart, opts: &HelmOptions) -> Result<String, RenderError> {
        let out = Command::new(&self.program)
            .args(self.template_args(chart, opts))
            .output()
            .map_err(|source| RenderError::Spawn {
                program: self.program.display().to_string(),
                source,
            })?;
        if !out.status.success() {
            return Err(RenderError::Failed {
                input: chart.label(),
                engine: "helm template".into(),
                stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
            });
        }
        String::from_utf8(out.stdout).map_err(|_| RenderError::NotUtf8 {
            input: chart.label(),
            engine: "helm template".into(),
        })
    }

    /// Helm's version (`v4.1.4`), for the record.
    pub fn version(&self) -> Option<String> {
        let out = Command::new(&self.program)
            .args(["version", "--template", "{{.Version}}"])
            .output()
            .ok()?;
        let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !v.is_empty()).then_some(v)
    }
}

/// A chart among the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// The chart directory, or the packaged `.tgz`.
    pub path: PathBuf,
    pub packaged: bool,
    pub meta: ChartMeta,
    /// The manifest-like files the input walk found inside a chart directory: they belong to
    /// the chart and are not inputs of their own.
    pub covers: Vec<PathBuf>,
    /// How it is named when that is not its path (`oci://...` for a pulled chart).
    pub shown: Option<String>,
}

/// What `Chart.yaml` says that ferry uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub version: String,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    #[serde(default)]
    #[serde(skip_serializing)]
    pub annotations: BTreeMap<String, String>,
}

/// A chart file's text, by its path inside the chart (`values.yaml`,
/// `charts/grafana/values.yaml`), with how findings name it.
#[derive(Debug, Clone)]
pub struct ChartFile {
    pub inner: String,
    pub label: String,
    pub text: String,
}

/// An entry a packaged chart may not exceed when ferry reads it (a values file).
const MAX_CHART_FILE: u64 = 8 << 20;
/// What ferry reads of a packaged chart at most, decompressed.
const MAX_CHART_READ: u64 = 256 << 20;

impl Chart {
    /// How findings and errors name the chart.
    pub fn label(&self) -> String {
        self.shown
            .clone()
            .unwrap_or_else(|| self.path.display().to_string())
    }

    pub fn release_name(&self, opts: &HelmOptions) -> String {
        opts.release_name
            .clone()
            .unwrap_or_else(|| self.meta.name.clone())
    }

    /// The chart's directory `Chart.yaml`, or the archive's.
    fn chart_yaml_label(&self) -> String {
        if self.packaged {
            format!("{}:{}/Chart.yaml", self.label(), self.meta.name)
        } else {
            self.path.join("Chart.yaml").display().to_string()
        }
    }

    /// The file a `# Source: NAME/templates/x.yaml` line of the output names: a path under
    /// the chart directory, or `ARCHIVE:NAME/templates/x.yaml`.
    pub fn template_file(&self, source: &str) -> String {
        if self.packaged {
            return format!("{}:{source}", self.label());
        }
        match source.split_once('/') {
            Some((_, inside)) => self.path.join(inside).display().to_string(),
            None => source.to_string(),
        }
    }

    /// Every file of a chart directory (hidden ones too: `.helmignore` matters to Helm) by
    /// its path inside it, sorted; a packaged chart is one file.
    pub fn files(&self) -> Vec<(String, PathBuf)> {
        if self.packaged {
            let name = self
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return vec![(name, self.path.clone())];
        }
        walkdir::WalkDir::new(&self.path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| {
                let inner = e.path().strip_prefix(&self.path).ok()?;
                Some((
                    inner.to_string_lossy().replace('\\', "/"),
                    e.path().to_path_buf(),
                ))
            })
            .collect()
    }

    /// The chart's values files (its own and its subcharts', parent first) and `Chart.yaml`s,
    /// read as ferry reads them: where findings say an image is written.
    pub fn values_files(&self) -> Vec<ChartFile> {
        let wanted = |inner: &str| {
            let name = inner.rsplit('/').next().unwrap_or(inner);
            let depth_ok = inner
                .split('/')
                .collect::<Vec<_>>()
                .chunks(2)
                .all(|pair| pair.len() == 1 || pair[0] == "charts");
            (name == "values.yaml" || name == "Chart.yaml") && depth_ok
        };
        let mut files = if self.packaged {
            self.archive_files(|inner| inner.split_once('/').is_some_and(|(_, rest)| wanted(rest)))
        } else {
            self.files()
                .into_iter()
                .filter(|(inner, _)| wanted(inner))
                .filter_map(|(inner, path)| {
                    let text = std::fs::read_to_string(&path).ok()?;
                    Some(ChartFile {
                        label: path.display().to_string(),
                        inner,
                        text,
                    })
                })
                .collect()
        };
        // Parent before subcharts: the parent's values override a subchart's.
        files.sort_by_key(|f| (f.inner.matches('/').count(), f.inner.clone()));
        files
    }

    /// The chart's templates and its subcharts' (`templates/...`, `charts/NAME/templates/...`),
    /// by their path inside the chart.
    pub fn template_files(&self) -> Vec<ChartFile> {
        let wanted = |inner: &str| {
            let parts: Vec<&str> = inner.split('/').collect();
            parts.len() >= 2
                && parts[..parts.len() - 1]
                    .iter()
                    .enumerate()
                    .any(|(i, p)| *p == "templates" && i % 2 == 0)
        };
        if self.packaged {
            return self.archive_files(|inner| {
                inner.split_once('/').is_some_and(|(_, rest)| wanted(rest))
            });
        }
        self.files()
            .into_iter()
            .filter(|(inner, _)| wanted(inner))
            .filter_map(|(inner, path)| {
                let text = std::fs::read_to_string(&path).ok()?;
                Some(ChartFile {
                    label: path.display().to_string(),
                    inner,
                    text,
                })
            })
            .collect()
    }

    /// Files of a packaged chart whose path inside it `keep` selects, read with ceilings.
    fn archive_files(&self, keep: impl Fn(&str) -> bool) -> Vec<ChartFile> {
        let Ok(file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let plain = flate2::read::GzDecoder::new(file).take(MAX_CHART_READ);
        let mut archive = tar::Archive::new(plain);
        let Ok(entries) = archive.entries() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries {
            let Ok(entry) = entry else { break };
            let Ok(path) = entry.path() else { continue };
            let inner = path.to_string_lossy().replace('\\', "/");
            if !keep(&inner) || entry.size() > MAX_CHART_FILE {
                continue;
            }
            let mut text = String::new();
            if entry.take(MAX_CHART_FILE).read_to_string(&mut text).is_ok() {
                out.push(ChartFile {
                    label: format!("{}:{inner}", self.label()),
                    inner: inner
                        .split_once('/')
                        .map_or(inner.clone(), |(_, r)| r.to_string()),
                    text,
                });
            }
        }
        out
    }

    /// Images the chart's `artifacthub.io/images` annotation lists, with the line of
    /// `Chart.yaml` that names each.
    pub fn annotated_images(&self) -> Vec<AnnotatedImage> {
        #[derive(Deserialize)]
        struct Entry {
            #[serde(default)]
            image: String,
        }
        let Some(list) = self.meta.annotations.get("artifacthub.io/images") else {
            return Vec::new();
        };
        let entries: Vec<Entry> = serde_saphyr::from_str(list).unwrap_or_default();
        let text = self.chart_yaml_text().unwrap_or_default();
        entries
            .into_iter()
            .filter(|e| !e.image.is_empty())
            .map(|e| {
                let line = text
                    .lines()
                    .position(|l| l.contains(&e.image))
                    .map_or(1, |i| i + 1);
                AnnotatedImage {
                    file: self.chart_yaml_label(),
                    line,
                    image: e.image,
                }
            })
            .collect()
    }

    fn chart_yaml_text(&self) -> Option<String> {
        if self.packaged {
            let name = format!("{}/Chart.yaml", self.meta.name);
            self.archive_files(|inner| inner == name)
                .into_iter()
                .next()
                .map(|f| f.text)
        } else {
            std::fs::read_to_string(self.path.join("Chart.yaml")).ok()
        }
    }
}

/// One image of a chart's `artifacthub.io/images` annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotatedImage {
    pub file: String,
    pub line: usize,
    pub image: String,
}

/// The charts among `files` (the input walk's files): a directory holding `Chart.yaml` and
/// `templates/` or `charts/` that is not inside another chart (a subchart belongs to its
/// parent), and each file that is a packaged chart. Each chart lists the walked
/// files it covers.
pub fn charts(
    files: &[PathBuf],
    aliases: &BTreeMap<PathBuf, String>,
) -> Result<Vec<Chart>, RenderError> {
    // A Chart.yaml beside values but with no templates nor subcharts renders nothing: its
    // files are read as they are (values scanned as values), not as a chart.
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "Chart.yaml"))
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .filter(|d| d.join("templates").is_dir() || d.join("charts").is_dir())
        .collect();
    dirs.sort();
    let outermost: Vec<PathBuf> = dirs
        .iter()
        .filter(|d| !dirs.iter().any(|o| o != *d && d.starts_with(o)))
        .cloned()
        .collect();
    let mut charts = Vec::new();
    for dir in outermost {
        let chart_yaml = dir.join("Chart.yaml");
        let text = crate::inputs::read_text(&chart_yaml)?;
        let meta = parse_meta(&chart_yaml.display().to_string(), &text)?;
        let covers = files
            .iter()
            .filter(|f| f.starts_with(&dir))
            .cloned()
            .collect();
        charts.push(Chart {
            path: dir,
            packaged: false,
            meta,
            covers,
            shown: None,
        });
    }
    for file in files {
        if let Some(meta) = packaged_meta(file)? {
            charts.push(Chart {
                path: file.clone(),
                packaged: true,
                meta,
                covers: vec![file.clone()],
                shown: aliases.get(file).cloned(),
            });
        }
    }
    Ok(charts)
}

fn parse_meta(label: &str, text: &str) -> Result<ChartMeta, RenderError> {
    let meta: ChartMeta = serde_saphyr::from_str(text).map_err(|e| RenderError::Chart {
        file: label.to_string(),
        message: e.to_string(),
    })?;
    if meta.name.is_empty() {
        return Err(RenderError::Chart {
            file: label.to_string(),
            message: "no `name`".into(),
        });
    }
    Ok(meta)
}

/// A packaged chart's metadata, or `None` for a file that is not one (a gzip whose first
/// entries hold no `NAME/Chart.yaml`).
fn packaged_meta(file: &Path) -> Result<Option<ChartMeta>, RenderError> {
    let Ok(mut f) = std::fs::File::open(file) else {
        return Ok(None);
    };
    let mut magic = [0u8; 2];
    if f.read_exact(&mut magic).is_err() || magic != [0x1f, 0x8b] {
        return Ok(None);
    }
    let Ok(f) = std::fs::File::open(file) else {
        return Ok(None);
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(f).take(MAX_CHART_READ));
    let Ok(entries) = archive.entries() else {
        return Ok(None);
    };
    // `helm package` writes Chart.yaml first; a few entries of slack for other packers.
    for entry in entries.take(64) {
        let Ok(entry) = entry else { return Ok(None) };
        let Ok(path) = entry.path() else { continue };
        let parts: Vec<String> = path
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.len() == 2 && parts[1] == "Chart.yaml" && entry.size() <= MAX_CHART_FILE {
            let mut text = String::new();
            entry
                .take(MAX_CHART_FILE)
                .read_to_string(&mut text)
                .map_err(|_| RenderError::Chart {
                    file: format!("{}:{}/Chart.yaml", file.display(), parts[0]),
                    message: "not UTF-8 text".into(),
                })?;
            let label = format!("{}:{}/Chart.yaml", file.display(), parts[0]);
            return parse_meta(&label, &text).map(Some);
        }
    }
    Ok(None)
}

/// `# Source: NAME/templates/x.yaml` lines of Helm's output: (1-based line, template).
pub fn sources_of(output: &str) -> Vec<(usize, String)> {
    output
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            l.strip_prefix("# Source: ")
                .map(|s| (i + 1, s.trim().to_string()))
        })
        .collect()
}

/// The template the output line `line` came from.
pub fn template_at(sources: &[(usize, String)], line: usize) -> Option<&str> {
    let i = sources.partition_point(|(l, _)| *l <= line);
    i.checked_sub(1).map(|i| sources[i].1.as_str())
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient_opt_string(d)?.unwrap_or_default())
}

/// Chart versions written as numbers (`version: 1.0`, `appVersion: 2`) are strings to Helm.
fn lenient_opt_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        S(String),
        I(i64),
        F(f64),
    }
    Ok(Option::<Scalar>::deserialize(d)?.map(|s| match s {
        Scalar::S(s) => s,
        Scalar::I(i) => i.to_string(),
        Scalar::F(f) => f.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_the_last_source_line_before() {
        let out = "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/b.yaml\nkind: B\n";
        let s = sources_of(out);
        assert_eq!(template_at(&s, 3), Some("c/templates/a.yaml"));
        assert_eq!(template_at(&s, 6), Some("c/templates/b.yaml"));
        assert_eq!(template_at(&s, 1), None);
    }

    /// Values that look like Helm's flags stay values: each joined to its flag, the release
    /// name and chart after `--`.
    #[test]
    fn every_value_reaches_helm_as_data() {
        let chart = Chart {
            path: "/scratch/chart-0/chart.tgz".into(),
            packaged: true,
            meta: ChartMeta::default(),
            covers: Vec::new(),
            shown: None,
        };
        let flag = "--post-renderer=/bin/sh";
        let opts = HelmOptions {
            release_name: Some(flag.into()),
            namespace: Some("--set-file=a=/etc/hostname".into()),
            values: vec!["--output-dir=/tmp".into()],
            set: vec![flag.into()],
            set_string: vec!["-f".into()],
            kube_version: Some("--debug".into()),
            api_versions: vec!["--devel".into()],
            ..HelmOptions::default()
        };
        let helm = Helm {
            program: "helm".into(),
        };
        let args = helm.template_args(&chart, &opts);
        let end = args.iter().position(|a| a == "--").unwrap();
        assert_eq!(
            args[end + 1..],
            [flag.to_string(), "/scratch/chart-0/chart.tgz".into()]
        );
        for a in &args[1..end] {
            let known = [
                "--namespace=",
                "--values=",
                "--set=",
                "--set-string=",
                "--kube-version=",
                "--api-versions=",
            ];
            assert!(
                a == "--include-crds" || known.iter().any(|k| a.starts_with(k)),
                "{a}"
            );
        }
        assert_eq!(
            helm.command_line(&chart, &opts),
            format!(
                "helm template {flag} /scratch/chart-0/chart.tgz --namespace=--set-file=a=/etc/hostname \
                 --values=--output-dir=/tmp --set={flag} --set-string=-f --kube-version=--debug \
                 --api-versions=--devel"
            )
        );
    }

    #[test]
    fn numeric_versions_are_strings() {
        let m = parse_meta("Chart.yaml", "name: x\nversion: 1\nappVersion: 2\n").unwrap();
        assert_eq!(m.version, "1");
        assert_eq!(m.app_version.as_deref(), Some("2"));
        assert!(parse_meta("Chart.yaml", "version: 1\n").is_err());
    }
}
