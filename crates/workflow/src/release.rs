//! Day 2 on the cluster: `status`, `rollback` and `uninstall` of a release, from its record
//! alone (no bundle, no workdir).

use std::time::Instant;

use ferry_apply::cluster::Cluster;
use ferry_apply::plan;
use ferry_apply::release::status::MemberState;
use ferry_apply::release::uninstall::{UninstallOptions, UninstallReport};
use ferry_apply::release::upgrade::ReleaseOptions;
use ferry_apply::release::{History, ReleaseError, Revision, Status};
use ferry_apply::run::{ApplyOptions, ApplyReport, Listener};
use ferry_oci::registry::Registries;

use super::{Result, WorkflowError};

/// The cluster and the namespace the records are in (`-n`, else the context's).
pub(crate) async fn connect(opts: &ApplyOptions) -> Result<(Cluster, String)> {
    let cluster = Cluster::connect(opts.kubeconfig.as_deref(), opts.context.as_deref())
        .await
        .map_err(ferry_apply::run::ApplyError::from)?;
    cluster
        .discover()
        .await
        .map_err(ferry_apply::run::ApplyError::from)?;
    let ns = opts
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    Ok((cluster, ns))
}

/// A release's record, or an error saying there is none.
async fn history(cluster: &Cluster, release: &str, ns: &str) -> Result<History> {
    let h = History::read(cluster, release, ns).await?;
    if h.parent.is_none() && h.revisions.is_empty() {
        return Err(ReleaseError::NoRelease {
            release: release.to_string(),
            namespace: ns.to_string(),
        }
        .into());
    }
    Ok(h)
}

/// An image of the release and whether the registry still holds it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageState {
    pub image: String,
    /// `present`, `missing`, or why it could not be asked.
    pub state: String,
}

/// One release as `ferry status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReleaseStatus {
    pub release: String,
    pub namespace: String,
    /// The revision the cluster runs (the last deployed; else the last one).
    pub current: Revision,
    pub members: Vec<MemberState>,
    pub images: Vec<ImageState>,
    /// Every revision kept: number, status, version, time.
    pub history: Vec<(u32, Status, Option<String>, String)>,
    /// The charts the release installed, as Helm's records have them now.
    pub charts: Vec<ferry_apply::release::helm::Deployed>,
}

/// Each release of the namespace (or the one named), with its members and images now.
pub async fn status(
    opts: &ApplyOptions,
    release: Option<&str>,
    registries: &Registries,
) -> Result<Vec<ReleaseStatus>> {
    let (cluster, ns) = connect(opts).await?;
    let names = match release {
        Some(r) => vec![r.to_string()],
        None => release_names(&cluster, &ns).await?,
    };
    let mut out = Vec::new();
    for name in names {
        let h = history(&cluster, &name, &ns).await?;
        let Some(current) = h.deployed().or(h.last()).cloned() else {
            continue;
        };
        let members = ferry_apply::release::status::members(&cluster, &current.members)
            .await
            .map_err(ferry_apply::run::ApplyError::from)?;
        let images = image_states(&current.images, registries).await;
        let charts = charts_of(&cluster, &current).await?;
        out.push(ReleaseStatus {
            charts,
            release: name,
            namespace: ns.clone(),
            members,
            images,
            history: h
                .revisions
                .iter()
                .map(|r| (r.revision, r.status, r.version.clone(), r.time.clone()))
                .collect(),
            current,
        });
    }
    Ok(out)
}

/// The deployed Helm version of each chart `revision` installed.
async fn charts_of(
    cluster: &Cluster,
    revision: &Revision,
) -> Result<Vec<ferry_apply::release::helm::Deployed>> {
    use ferry_apply::release::helm::{self, Place};
    let mut out = Vec::new();
    for (name, namespace) in helm::releases_in(&revision.manifests) {
        let at = Place {
            name: &name,
            namespace: &namespace,
        };
        out.extend(helm::deployed(cluster, &at).await?);
    }
    Ok(out)
}

async fn release_names(cluster: &Cluster, ns: &str) -> Result<Vec<String>> {
    let parents = cluster
        .list(&format!(
            "/api/v1/namespaces/{ns}/secrets?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dferry,applyset.kubernetes.io%2Fid"
        ))
        .await
        .map_err(ferry_apply::run::ApplyError::from)?;
    let mut names: Vec<String> = parents
        .iter()
        .filter_map(|p| p["metadata"]["labels"][ferry_apply::release::RELEASE_LABEL].as_str())
        .map(str::to_string)
        .collect();
    names.sort();
    Ok(names)
}

/// Whether the registry still holds each image (by digest where pinned).
async fn image_states(images: &[String], registries: &Registries) -> Vec<ImageState> {
    let mut out = Vec::new();
    for image in images {
        let state = match image.parse::<ferry_core::reference::Reference>() {
            Err(e) => format!("not a reference: {e}"),
            Ok(r) => match registries.digest_of(&r).await {
                Ok(Some(_)) => "present".into(),
                Ok(None) => "missing".into(),
                Err(e) => format!("not checked: {}", ferry_core::error::chain(&e)),
            },
        };
        out.push(ImageState {
            image: image.clone(),
            state,
        });
    }
    out
}

#[derive(Debug, Clone)]
pub struct RollbackOptions {
    pub apply: ApplyOptions,
    pub release: String,
    /// Default: the revision before the deployed one.
    pub revision: Option<u32>,
    pub history_max: u32,
}

/// Applies a recorded revision again as a new revision (as `helm rollback`), pruning what
/// later ones added, once every image it names is known to be in the registry.
pub async fn rollback(
    opts: &RollbackOptions,
    registries: &Registries,
    listener: &dyn Listener,
) -> Result<ApplyReport> {
    let (cluster, ns) = connect(&opts.apply).await?;
    let h = history(&cluster, &opts.release, &ns).await?;
    let target = pick(&h, opts.revision)?;
    let missing: Vec<ImageState> = image_states(&target.images, registries)
        .await
        .into_iter()
        .filter(|i| i.state != "present")
        .collect();
    if !missing.is_empty() {
        return Err(WorkflowError::Incomplete {
            message: format!(
                "nothing rolled back: revision {} needs images the registry does not answer for:\n  {}",
                target.revision,
                missing
                    .iter()
                    .map(|i| format!("{} ({})", i.image, i.state))
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ),
            category: ferry_core::error::Category::Registry,
        });
    }
    let mut objects = Vec::new();
    for m in &target.manifests {
        objects.extend(plan::load_text(&m.file, &m.text)?);
    }
    let mut apply = opts.apply.clone();
    apply.namespace = Some(ns);
    apply.hook_event = Some(ferry_apply::plan::HookEvent::Rollback);
    apply.release = Some(ReleaseOptions {
        name: opts.release.clone(),
        namespace: None,
        version: target.version.clone(),
        bundle: target.bundle.clone(),
        images: target.images.clone(),
        history_max: opts.history_max,
        prune: true,
        prune_crds: false,
        pull_secret: h.last().and_then(|r| r.pull_secret.clone()),
        description: Some(format!("rollback to {}", target.revision)),
    });
    listener.info(&format!(
        "rolling {} back to revision {}{}",
        opts.release,
        target.revision,
        target
            .version
            .as_deref()
            .map(|v| format!(" (version {v})"))
            .unwrap_or_default()
    ));
    if apply.dry_run.is_none() {
        super::cluster_check::check(&objects, &apply, listener).await?;
    }
    let report = ferry_apply::run::apply(objects, &apply, listener).await?;
    if apply.dry_run.is_none() && report.failed == 0 {
        let (from, to) = (target.revision, h.next_number());
        roll_charts_back(&cluster, &opts.release, &target, (from, to), listener).await?;
    }
    Ok(report)
}

/// Helm's records of the charts revision `from` installed get that revision's versions
/// again as their next ones, as `helm rollback` writes them (`helm history` says "Rollback
/// to N"), written by revision `to`.
async fn roll_charts_back(
    cluster: &ferry_apply::cluster::Cluster,
    release: &str,
    target: &Revision,
    (from, to): (u32, u32),
    listener: &dyn Listener,
) -> Result<()> {
    use ferry_apply::release::helm::{self, Place, WrittenBy};
    for (name, namespace) in helm::releases_in(&target.manifests) {
        let at = Place {
            name: &name,
            namespace: &namespace,
        };
        let by = |revision| WrittenBy { release, revision };
        match helm::restore(cluster, &at, by(from), by(to)).await? {
            Some((restored, version)) => listener.info(&format!(
                "Helm release {name} in {namespace}: version {restored} restored as version {version} (helm history {name} -n {namespace})"
            )),
            None => listener.warning(&format!(
                "Helm release {name} in {namespace}: no version of its record was written by revision {from}, so Helm's record still shows the chart as it was before this rollback"
            )),
        }
    }
    Ok(())
}

/// The revision to roll back to: the one asked for, else the one before the deployed one.
fn pick(h: &History, revision: Option<u32>) -> std::result::Result<Revision, ReleaseError> {
    let have = || {
        h.revisions
            .iter()
            .map(|r| r.revision.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let wanted = match revision {
        Some(n) => n,
        None => {
            let current = h.deployed().or(h.last()).map_or(0, |r| r.revision);
            match h.revisions.iter().rev().find(|r| r.revision < current) {
                Some(r) => r.revision,
                None => {
                    return Err(ReleaseError::NoRevision {
                        release: h.release.clone(),
                        revision: current.saturating_sub(1),
                        have: have(),
                    });
                }
            }
        }
    };
    h.revisions
        .iter()
        .find(|r| r.revision == wanted)
        .cloned()
        .ok_or_else(|| ReleaseError::NoRevision {
            release: h.release.clone(),
            revision: wanted,
            have: have(),
        })
}

/// Deletes the release's members and its record.
pub async fn uninstall(
    apply: &ApplyOptions,
    release: &str,
    opts: &UninstallOptions,
    listener: &dyn Listener,
) -> Result<UninstallReport> {
    let (cluster, ns) = connect(apply).await?;
    let h = history(&cluster, release, &ns).await?;
    let deadline = Instant::now() + apply.timeout;
    let (pre, post) = delete_hooks(&h)?;
    let mut hooks = apply.clone();
    hooks.namespace = Some(ns);
    hooks.hook_event = Some(plan::HookEvent::Delete);
    hooks.dry_run = opts.dry_run.then_some(ferry_apply::DryRun::Server);
    if !pre.is_empty() {
        let ran = ferry_apply::run::apply(pre, &hooks, listener).await?;
        if ran.failed > 0 {
            return Err(WorkflowError::Incomplete {
                message: format!(
                    "release {release}: a pre-delete hook failed (above): nothing deleted"
                ),
                category: ferry_core::error::Category::Cluster,
            });
        }
    }
    let report =
        ferry_apply::release::uninstall::uninstall(&cluster, &h, opts, deadline, listener).await?;
    if !post.is_empty() && report.failed == 0 {
        ferry_apply::run::apply(post, &hooks, listener).await?;
    }
    Ok(report)
}

/// The release's `pre-delete` and `post-delete` hooks, from the revision the cluster runs.
fn delete_hooks(h: &History) -> Result<(Vec<plan::Object>, Vec<plan::Object>)> {
    let mut pre = Vec::new();
    let mut post = Vec::new();
    let Some(current) = h.deployed().or(h.last()) else {
        return Ok((pre, post));
    };
    for m in &current.manifests {
        for o in plan::load_text(&m.file, &m.text)? {
            match o.hook_for(plan::HookEvent::Delete) {
                Some(plan::Hook::Pre) => pre.push(o),
                Some(plan::Hook::Post) => post.push(o),
                None => {}
            }
        }
    }
    Ok((pre, post))
}
