//! Uninstall: every object labelled as a member of the release deleted in the reverse of
//! apply order and waited for (a finalizer that holds one is named), CRDs, volume claims and
//! namespaces kept unless asked, the pull secret and the `imagePullSecrets` entries ferry
//! added taken away, then the record.

use std::time::Instant;

use super::{History, PullSecretRecord, ReleaseError};
use crate::cluster::Cluster;
use crate::listen::{ApplyEvent, Listener};
use crate::pull_secret;

#[derive(Debug, Clone, Default)]
pub struct UninstallOptions {
    pub dry_run: bool,
    pub delete_crds: bool,
    pub delete_namespaces: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct UninstallReport {
    pub deleted: usize,
    pub kept: usize,
    pub failed: usize,
    pub dry_run: bool,
}

fn kept_why(member: &super::Member, opts: &UninstallOptions) -> Option<&'static str> {
    match (member.group.as_str(), member.kind.as_str()) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") if !opts.delete_crds => Some(
            "kept: deleting a CRD deletes every resource of its kind in the cluster; --delete-crds deletes it",
        ),
        ("", "PersistentVolumeClaim") => {
            Some("kept: a volume claim holds data; delete it yourself if it is no longer needed")
        }
        ("", "Namespace") if !opts.delete_namespaces => Some(
            "kept: a namespace may hold objects outside the release; --delete-namespaces deletes it",
        ),
        _ => None,
    }
}

pub async fn uninstall(
    cluster: &Cluster,
    history: &History,
    opts: &UninstallOptions,
    deadline: Instant,
    listener: &dyn Listener,
) -> Result<UninstallReport, ReleaseError> {
    let mut report = UninstallReport {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let mut namespaces = history.namespaces();
    namespaces.insert(history.namespace.clone());
    let found =
        super::prune::members(cluster, &history.id, &history.group_kinds(), &namespaces).await?;
    let file = format!("(release {})", history.release);
    let all: Vec<&super::prune::Found> = found.iter().collect();
    let how = super::prune::Removal {
        why: &format!("uninstall {}", history.release),
        file: &file,
        dry: opts.dry_run,
        deadline,
    };
    let keep = |m: &super::Member| kept_why(m, opts).map(str::to_string);
    let removed = super::prune::remove(cluster, &all, keep, &how, listener).await;
    report.deleted += removed.deleted;
    report.kept += removed.kept;
    report.failed += removed.failed;
    if opts.dry_run {
        return Ok(report);
    }
    let pull = history
        .revisions
        .iter()
        .rev()
        .find_map(|r| r.pull_secret.clone());
    if let Some(p) = pull {
        remove_pull_secret(cluster, &p, listener, &mut report).await;
    }
    if report.failed > 0 {
        // The record stays: it is how the next uninstall finds what is left.
        return Ok(report);
    }
    forget_charts(cluster, history, listener).await?;
    for r in &history.revisions {
        let url = format!(
            "/api/v1/namespaces/{}/secrets/{}",
            history.namespace,
            r.secret_name()
        );
        cluster.delete_at(&url, &r.secret_name(), false).await?;
    }
    let parent = format!(
        "/api/v1/namespaces/{}/secrets/{}",
        history.namespace,
        super::parent_name(&history.release)
    );
    cluster
        .delete_at(&parent, "the release record", false)
        .await?;
    Ok(report)
}

/// Helm's records of the charts the release installed go with their objects, as `helm
/// uninstall` takes them: `helm list` no longer shows what is gone.
async fn forget_charts(
    cluster: &Cluster,
    history: &History,
    listener: &dyn Listener,
) -> Result<(), ReleaseError> {
    let Some(current) = history.deployed().or(history.last()) else {
        return Ok(());
    };
    for (name, namespace) in super::helm::releases_in(&current.manifests) {
        let at = super::helm::Place {
            name: &name,
            namespace: &namespace,
        };
        let versions = super::helm::forget(cluster, &at).await?;
        if versions > 0 {
            listener.info(&format!(
                "Helm release {name} in {namespace}: its records deleted ({}), as helm uninstall deletes them",
                ferry_core::text::counted(versions, "version")
            ));
        }
    }
    Ok(())
}

/// The pull secret's Secrets deleted, and its name taken out of the ServiceAccounts' lists
/// ferry added it to (the list is written by ferry's own manager, so the rest stays).
async fn remove_pull_secret(
    cluster: &Cluster,
    p: &PullSecretRecord,
    listener: &dyn Listener,
    report: &mut UninstallReport,
) {
    for (ns, account) in &p.accounts {
        let url = format!("/api/v1/namespaces/{ns}/serviceaccounts/{account}");
        let Ok(Some(live)) = cluster.get(&url).await else {
            continue;
        };
        let rest: Vec<String> = live["imagePullSecrets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["name"].as_str())
            .filter(|n| *n != p.name)
            .map(str::to_string)
            .collect();
        let listing = pull_secret::service_account_listing(account, ns, &rest);
        if let Err(e) = cluster
            .apply_as(&listing, ns, true, false, pull_secret::SA_MANAGER)
            .await
        {
            report.failed += 1;
            listener.apply(&ApplyEvent::Failed {
                object: &listing,
                message: ferry_core::error::chain(&e),
            });
        }
    }
    for ns in &p.namespaces {
        let url = format!("/api/v1/namespaces/{ns}/secrets/{}", p.name);
        let what = format!("Secret {}", p.name);
        match cluster.delete_at(&url, &what, false).await {
            Ok(_) => {
                report.deleted += 1;
                let object = pull_secret::secret(&p.name, ns, "", "", "");
                listener.apply(&ApplyEvent::Deleted {
                    object: &object,
                    why: "the pull secret ferry made".into(),
                    dry_run: false,
                });
            }
            Err(e) => {
                report.failed += 1;
                listener.warning(&ferry_core::error::chain(&e));
            }
        }
    }
}
