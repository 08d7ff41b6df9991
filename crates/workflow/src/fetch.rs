//! Charts named by `oci://HOST/REPO/CHART:VERSION` among the inputs: pulled into a scratch
//! directory by [`ferry_oci::bundle::chart_pull`], as `helm pull` would, and read from there as
//! packaged charts under their `oci://` names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Result, WorkflowError};
use ferry_core::reference::Reference;
use ferry_oci::registry::Registries;

/// The inputs with every `oci://` chart replaced by its pulled package.
#[derive(Debug, Default)]
pub struct FetchedCharts {
    pub paths: Vec<PathBuf>,
    /// Pulled package → how findings name it (`oci://...`).
    pub aliases: BTreeMap<PathBuf, String>,
    /// The charts' references (without `oci://`), as a registry names them.
    pub references: Vec<Reference>,
    /// Where the pulled charts are, removed with them.
    scratch: Option<ferry_core::scratch::ScratchDir>,
}

/// Whether any input is an `oci://` reference.
pub fn any_remote(paths: &[PathBuf]) -> bool {
    paths.iter().any(|p| remote(p).is_some())
}

fn remote(path: &Path) -> Option<&str> {
    path.to_str()?.strip_prefix("oci://")
}

fn invalid(message: String) -> WorkflowError {
    WorkflowError::Invalid(message)
}

/// The inputs pulled (`oci://` charts) and loaded (read, rendered) as `scan` says; the
/// pulled charts stay on disk while the returned [`FetchedCharts`] lives.
pub(crate) async fn fetch_and_load(
    paths: &[PathBuf],
    scan: &super::ScanOptions,
    registries: &Registries,
    keep_going: bool,
) -> Result<(FetchedCharts, super::Loaded)> {
    let fetched = fetch_charts(paths, registries).await?;
    let mut render = scan.render.clone();
    fetched.point(&mut render);
    let loaded = super::load(&fetched.paths, &render, &scan.rules, keep_going);
    Ok((fetched, loaded))
}

impl FetchedCharts {
    /// Points `render` at the pulled packages: their `oci://` names, and an `oci://` input's
    /// own options (a release spec's) follow it to its package.
    pub fn point(&self, render: &mut ferry_scan::render::RenderOptions) {
        render.aliases = self.aliases.clone();
        for (pulled, shown) in &self.aliases {
            if let Some(own) = render.per_input.remove(Path::new(shown)) {
                render.per_input.insert(pulled.clone(), own);
            }
        }
    }
}

/// Pulls every `oci://` input; the others pass as they are.
pub async fn fetch_charts(paths: &[PathBuf], registries: &Registries) -> Result<FetchedCharts> {
    let mut out = FetchedCharts::default();
    for path in paths {
        let Some(name) = remote(path) else {
            out.paths.push(path.clone());
            continue;
        };
        let shown = format!("oci://{name}");
        let reference: Reference = name.parse().map_err(|e| invalid(format!("{shown}: {e}")))?;
        if !reference.is_pinned_or_tagged() {
            return Err(invalid(format!(
                "{shown}: name the chart's version (oci://{name}:VERSION)"
            )));
        }
        if out.scratch.is_none() {
            let made = ferry_core::scratch::ScratchDir::new("oci-charts")
                .map_err(super::io_error(&ferry_core::scratch::dir()))?;
            out.scratch = Some(made);
        }
        let scratch = out.scratch.as_deref().unwrap_or(std::path::Path::new("."));
        // Named as `helm pull` names it, in a directory of its own.
        let dir = scratch.join(out.paths.len().to_string());
        std::fs::create_dir_all(&dir).map_err(super::io_error(&dir))?;
        let file = ferry_oci::bundle::chart_pull::pull(&reference, registries, &dir)
            .await
            .map_err(|e| WorkflowError::from(e).in_step(format!("cannot pull {shown}")))?;
        out.aliases.insert(file.clone(), shown);
        out.paths.push(file);
        out.references.push(reference);
    }
    Ok(out)
}
