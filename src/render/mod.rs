//! Inputs a tool must render before they are objects. A kustomization is rendered by
//! kustomize itself (`kustomize build`, or the copy inside `kubectl kustomize`): ferry never
//! re-implements a renderer where the real one can run. [`sources`] turns the files the
//! paths expand to into what a cluster would get: each kustomization root rendered, every
//! other file as it is.

pub mod kustomize;

use std::path::PathBuf;

pub use kustomize::{Engine, KustomizeChoice, Root};

/// Which renderers to use.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    pub kustomize: KustomizeChoice,
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
}

/// What the paths hold, in order: files, and kustomization roots in place of the files they
/// cover (where the first of them was).
#[derive(Debug, Clone)]
pub enum Unit {
    File(PathBuf),
    Kustomization(Root),
}

/// The inputs, and the engine that renders their kustomizations.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub units: Vec<Unit>,
    pub engine: Option<Engine>,
    /// What could not be done the real way (no kustomize engine), for the user.
    pub notes: Vec<String>,
}

/// Expands the paths and finds kustomization roots. Without a kustomize engine
/// (`--kustomize none`, or none on PATH) kustomizations stay files, as ferry's own
/// images-transformer pass reads them; a note says so unless `none` asked for it.
pub fn plan(paths: &[PathBuf], opts: &RenderOptions) -> Result<Plan, RenderError> {
    let (files, skipped) = crate::inputs::expand_noting(paths)?;
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
    for file in files {
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
        }
    }

    /// Every unit loaded; the first failure ends it.
    pub fn load_all(&self) -> Result<Vec<Source>, RenderError> {
        self.units.iter().map(|u| self.load(u)).collect()
    }
}
