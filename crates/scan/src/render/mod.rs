//! Inputs a tool must render before they are objects. A kustomization is rendered by
//! kustomize itself (`kustomize build`, or the copy inside `kubectl kustomize`), a Helm chart
//! by `helm template`: ferry never re-implements a renderer where the real one can run. [`sources`] turns the files the
//! paths expand to into what a cluster would get: each kustomization root rendered, every
//! other file as it is.

pub mod helm;
pub mod kustomize;
pub mod lookup;

use std::path::PathBuf;

pub use helm::{Chart, ChartMeta, Helm, HelmChoice, HelmOptions};
pub use kustomize::{Engine, KustomizeChoice, Root};

/// Which renderers to use.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    pub kustomize: KustomizeChoice,
    pub helm: HelmOptions,
    /// Names for inputs that are not what they were given as (a pulled `oci://` chart).
    pub aliases: std::collections::BTreeMap<PathBuf, String>,
    /// Chart inputs rendered with options of their own (a release spec's), by path; the
    /// others with `helm`.
    pub per_input: std::collections::BTreeMap<PathBuf, HelmOptions>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Input(#[from] crate::inputs::InputError),
    #[error("--kustomize {0}: no such program")]
    NotFound(String),
    #[error("{program}: cannot run it")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The renderer refused the input; its own words follow.
    #[error("{input}: {engine} failed:\n{stderr}")]
    Failed {
        input: String,
        engine: String,
        stderr: String,
    },
    #[error("{input}: {engine} wrote output that is not UTF-8")]
    NotUtf8 { input: String, engine: String },
    #[error(
        "{0}: scan, mirror and bundle pull charts; here give a chart directory or .tgz (helm pull {0})"
    )]
    Remote(String),
    #[error("{file}: not a chart's Chart.yaml: {message}")]
    Chart { file: String, message: String },
    /// A chart is never scanned without its renderer: values alone miss what templates add.
    #[error("{chart} is a Helm chart, and {}: install Helm 3.8 or later (https://helm.sh/docs/intro/install/) or give --helm BIN", match asked { Some(p) => format!("--helm {p} is no such program"), None => "helm is not on PATH".to_string() })]
    NoHelm {
        chart: String,
        asked: Option<String>,
    },
}

/// One input as the cluster would get it.
#[derive(Debug, Clone)]
pub struct Source {
    /// How findings and errors name it: a file's path, or `DIR (rendered)`.
    pub label: String,
    pub text: String,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub enum Origin {
    /// A file, as written.
    File(PathBuf),
    /// A kustomization root's output.
    Rendered { root: Root, engine: String },
    /// A chart's output: `command` as a person would type it; `helm` the options it was
    /// rendered with (the user's values files among them).
    Chart {
        chart: Chart,
        command: String,
        helm: Box<HelmOptions>,
    },
}

/// What the paths hold, in order: files, and kustomization roots in place of the files they
/// cover (where the first of them was).
#[derive(Debug, Clone)]
pub enum Unit {
    File(PathBuf),
    Kustomization(Root),
    Chart(Chart),
}

impl Unit {
    /// The input files the unit stands for.
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            Unit::File(f) => vec![f.clone()],
            Unit::Kustomization(root) => root.covers.iter().cloned().collect(),
            Unit::Chart(chart) => chart.covers.clone(),
        }
    }
}

/// The inputs, and the engine that renders their kustomizations.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub units: Vec<Unit>,
    pub engine: Option<Engine>,
    /// Helm, when a chart is among the inputs.
    pub helm: Option<Helm>,
    pub helm_options: HelmOptions,
    /// What could not be done the real way (no kustomize engine), for the user.
    pub notes: Vec<String>,
}

/// Expands the paths and finds charts and kustomization roots; a chart without Helm is an
/// error. Without a kustomize engine
/// (`--kustomize none`, or none on PATH) kustomizations stay files, as ferry's own
/// images-transformer pass reads them; a note says so unless `none` asked for it.
pub fn plan(paths: &[PathBuf], opts: &RenderOptions) -> Result<Plan, RenderError> {
    if let Some(remote) = paths
        .iter()
        .find(|p| p.to_str().is_some_and(|s| s.starts_with("oci://")))
    {
        return Err(RenderError::Remote(remote.display().to_string()));
    }
    let (all_files, skipped) = crate::inputs::expand_noting(paths)?;
    let charts = helm::charts(&all_files, &opts.aliases)?;
    let helm = match charts.first() {
        Some(chart) => Some(opts.helm.engine(chart)?),
        None => None,
    };
    let owner: std::collections::HashMap<&PathBuf, usize> = charts
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.covers.iter().map(move |f| (f, i)))
        .collect();
    let chart_of = |file: &PathBuf| owner.get(file).copied();
    let files: Vec<PathBuf> = all_files
        .iter()
        .filter(|f| chart_of(f).is_none())
        .cloned()
        .collect();
    let roots = kustomize::roots(&files);
    let engine = if roots.is_empty() {
        None
    } else {
        opts.kustomize.engine()?
    };
    let mut notes = skipped;
    if engine.is_none() && !roots.is_empty() && opts.kustomize != KustomizeChoice::Off {
        notes.push(format!(
            "no kustomize found (kustomize or kubectl on PATH, or --kustomize BIN): {} read by \
             ferry's own images pass, which knows images: entries but not patches, \
             replacements, generators or remote bases",
            roots
                .iter()
                .map(|r| r.dir.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut units = Vec::new();
    let mut placed = vec![false; roots.len()];
    let mut charts_placed = vec![false; charts.len()];
    for file in all_files {
        if let Some(i) = chart_of(&file) {
            if !charts_placed[i] {
                charts_placed[i] = true;
                units.push(Unit::Chart(charts[i].clone()));
            }
            continue;
        }
        let owner = engine
            .as_ref()
            .and_then(|_| roots.iter().position(|r| r.covers.contains(&file)));
        match owner {
            None => units.push(Unit::File(file)),
            Some(i) if !placed[i] => {
                placed[i] = true;
                units.push(Unit::Kustomization(roots[i].clone()));
            }
            Some(_) => {}
        }
    }
    Ok(Plan {
        units,
        engine,
        helm,
        helm_options: opts.helm.clone(),
        notes,
    })
}

impl Plan {
    /// One unit's text as the cluster would get it.
    pub fn load(&self, unit: &Unit) -> Result<Source, RenderError> {
        match (unit, &self.engine) {
            (Unit::File(path), _) => Ok(Source {
                label: crate::inputs::display(path),
                text: crate::inputs::read_text(path)?,
                origin: Origin::File(path.clone()),
            }),
            (Unit::Kustomization(root), Some(engine)) => Ok(Source {
                label: root.label(),
                text: engine.render(&root.dir)?,
                origin: Origin::Rendered {
                    root: root.clone(),
                    engine: engine.name.clone(),
                },
            }),
            // `plan` makes kustomization units only when an engine was found.
            (Unit::Kustomization(root), None) => Err(RenderError::NotFound(root.label())),
            (Unit::Chart(chart), _) => {
                let helm = self.helm.as_ref().ok_or_else(|| RenderError::NoHelm {
                    chart: chart.label(),
                    asked: None,
                })?;
                Ok(Source {
                    label: format!("{} (rendered)", chart.label()),
                    text: helm.render(chart, &self.helm_options)?,
                    origin: Origin::Chart {
                        chart: chart.clone(),
                        command: helm.command_line(chart, &self.helm_options),
                        helm: Box::new(self.helm_options.clone()),
                    },
                })
            }
        }
    }

    /// Every unit loaded; the first failure ends it.
    pub fn load_all(&self) -> Result<Vec<Source>, RenderError> {
        self.units.iter().map(|u| self.load(u)).collect()
    }
}
