//! One install of a release: every install is an upgrade. Before the objects are applied,
//! each member is labelled and the parent and a pending revision are written (so a run that
//! is cut off leaves a record that says so); after, when every object went through, what
//! the new revision dropped is pruned and the revision is recorded as deployed (the previous
//! one superseded), else as failed, and nothing is pruned.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::{History, Manifest, Member, PART_OF, ReleaseError, Revision, Status, group_kind};
use crate::cluster::Cluster;
use crate::listen::{ApplyReport, Listener};
use crate::plan::{Object, Phase};

/// What the install says of the release it makes.
#[derive(Debug, Clone, Default)]
pub struct ReleaseOptions {
    pub name: String,
    /// Where the record lives; default the run's namespace.
    pub namespace: Option<String>,
    /// The product's version, from the bundle.
    pub version: Option<String>,
    /// The digest of the bundle's `ferry.json`.
    pub bundle: Option<String>,
    /// The images, as the site's registry holds them.
    pub images: Vec<String>,
    /// Revisions kept (the deployed one always is).
    pub history_max: u32,
    /// Delete what the new revision dropped.
    pub prune: bool,
    /// ... CRDs included.
    pub prune_crds: bool,
    /// The pull secret an earlier revision made, carried when this run makes none
    /// (a rollback), so uninstall still takes it away.
    pub pull_secret: Option<super::PullSecretRecord>,
    /// What the revision is, in words (`rollback to 1`).
    pub description: Option<String>,
}

/// (group, kind, namespace, name).
type Key = (String, String, Option<String>, String);

pub struct Upgrade {
    opts: ReleaseOptions,
    history: History,
    revision: Revision,
    /// The members (their text is not kept here), in apply order.
    members: Vec<Object>,
    default_ns: String,
    dry: bool,
}

/// A member: an object the release owns (Helm hooks are not: Helm does not track them).
pub fn is_member(o: &Object) -> bool {
    !o.is_hook()
}

impl Upgrade {
    /// Reads the release and labels every member of `planned`.
    /// `other_hooks` (hooks of other events) are not applied but recorded, for the runs
    /// whose hooks they are (rollback, uninstall).
    pub async fn begin(
        cluster: &Cluster,
        opts: &ReleaseOptions,
        history: History,
        planned: &mut [(Phase, Object)],
        other_hooks: &[Object],
        default_ns: &str,
        dry: bool,
    ) -> Result<Upgrade, ReleaseError> {
        let record_ns = history.namespace.clone();
        let mut manifests: Vec<Manifest> = planned
            .iter()
            .map(|(_, o)| o)
            .chain(other_hooks)
            .map(|o| Manifest {
                file: o.file.clone(),
                text: o.yaml.clone(),
            })
            .collect();
        manifests.dedup();
        let mut members = Vec::new();
        for (_, o) in planned.iter_mut().filter(|(_, o)| is_member(o)) {
            members.push(Object {
                yaml: String::new(),
                ..o.clone()
            });
            o.yaml = super::labels::with_label(&o.file, &o.yaml, PART_OF, &history.id)?;
        }
        let revision = Revision {
            schema: super::record::SCHEMA.into(),
            release: opts.name.clone(),
            namespace: record_ns,
            revision: history.next_number(),
            status: Status::Pending,
            version: opts.version.clone(),
            bundle: opts.bundle.clone(),
            time: jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
            user: if dry { None } else { cluster.whoami().await },
            description: opts.description.clone(),
            members: Vec::new(),
            images: opts.images.clone(),
            manifests,
            pull_secret: None,
        };
        // Too big for its Secret: said now, before anything is applied.
        revision.to_secret()?;
        Ok(Upgrade {
            opts: opts.clone(),
            history,
            revision,
            members,
            default_ns: default_ns.to_string(),
            dry,
        })
    }

    /// Writes the parent and the pending revision: once the release's namespaces exist
    /// (the record's own may be one of them), before anything else is applied.
    pub async fn start(&self, cluster: &Cluster) -> Result<(), ReleaseError> {
        if self.dry {
            return Ok(());
        }
        let (kinds, namespaces) = self.union(&self.keys(cluster));
        self.write_parent(cluster, &kinds, &namespaces).await?;
        self.write(cluster, &self.revision).await
    }

    pub fn number(&self) -> u32 {
        self.revision.revision
    }

    /// The members' keys, namespaces as the server scopes their kinds (known once their
    /// CRDs are established: asked again after the apply).
    fn keys(&self, cluster: &Cluster) -> Vec<Key> {
        self.members
            .iter()
            .map(|o| {
                let namespace = match cluster.locate(o, &self.default_ns) {
                    Ok((_, ns)) => ns,
                    Err(_) if crate::plan::CLUSTER_SCOPED_KINDS.contains(&o.kind.as_str()) => None,
                    Err(_) => Some(o.namespace.clone().unwrap_or(self.default_ns.clone())),
                };
                (
                    o.group().to_string(),
                    o.kind.clone(),
                    namespace,
                    o.name.clone(),
                )
            })
            .collect()
    }

    /// The group kinds and namespaces of the new members and of what the parent had.
    fn union(&self, keys: &[Key]) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut kinds = self.history.group_kinds();
        let mut namespaces = self.history.namespaces();
        namespaces.insert(self.history.namespace.clone());
        for (group, kind, ns, _) in keys {
            kinds.insert(group_kind(group, kind));
            namespaces.extend(ns.clone());
        }
        (kinds, namespaces)
    }

    async fn write_parent(
        &self,
        cluster: &Cluster,
        kinds: &BTreeSet<String>,
        namespaces: &BTreeSet<String>,
    ) -> Result<(), ReleaseError> {
        let parent = self.history.parent_object(kinds, namespaces);
        cluster
            .apply_as(
                &parent,
                &self.history.namespace,
                true,
                false,
                super::MANAGER,
            )
            .await?;
        Ok(())
    }

    async fn write(&self, cluster: &Cluster, revision: &Revision) -> Result<(), ReleaseError> {
        let secret = super::record_object(&revision.to_secret()?);
        cluster
            .apply_as(
                &secret,
                &self.history.namespace,
                true,
                false,
                super::MANAGER,
            )
            .await?;
        Ok(())
    }

    /// After the apply: prune (each deletion counted in `report`) and record. `uids` are
    /// the applied objects' uids by key.
    pub async fn finish(
        mut self,
        cluster: &Cluster,
        report: &mut ApplyReport,
        uids: &BTreeMap<Key, String>,
        pull_secret: Option<super::PullSecretRecord>,
        deadline: Instant,
        listener: &dyn Listener,
    ) -> Result<(), ReleaseError> {
        let keys = self.keys(cluster);
        if !self.dry {
            report.revision = Some(self.revision.revision);
        }
        self.revision.members = keys
            .iter()
            .map(|k| {
                let (group, kind, namespace, name) = k.clone();
                let version = cluster
                    .resource_of(&group, &kind)
                    .map(|(gv, _)| gv.rsplit('/').next().unwrap_or_default().to_string())
                    .unwrap_or_default();
                Member {
                    group,
                    version,
                    kind,
                    namespace,
                    name,
                    uid: uids.get(k).cloned(),
                }
            })
            .collect();
        self.revision.pull_secret = pull_secret.or(self.opts.pull_secret.clone());
        if report.failed > 0 {
            self.revision.status = Status::Failed;
            self.revision.description = Some(format!(
                "{} of {} objects failed; nothing was pruned",
                report.failed, report.objects
            ));
            if !self.dry {
                self.write(cluster, &self.revision).await?;
            }
            return Ok(());
        }
        let failed_before = report.failed;
        if self.opts.prune {
            self.prune(cluster, &keys, report, deadline, listener)
                .await?;
        }
        if self.dry {
            return Ok(());
        }
        self.revision.status = Status::Deployed;
        self.write(cluster, &self.revision).await?;
        for old in &self.history.revisions {
            if matches!(old.status, Status::Deployed | Status::Pending) {
                let mut old = old.clone();
                old.status = Status::Superseded;
                self.write(cluster, &old).await?;
            }
        }
        if report.failed > failed_before {
            // What could not be pruned stays findable by the next run's prune.
            return self.trim(cluster).await;
        }
        // As kubectl: after pruning, the parent names only what the members now are.
        let mut kinds = BTreeSet::new();
        let mut namespaces = BTreeSet::from([self.history.namespace.clone()]);
        for (group, kind, ns, _) in &keys {
            kinds.insert(group_kind(group, kind));
            namespaces.extend(ns.clone());
        }
        self.write_parent(cluster, &kinds, &namespaces).await?;
        self.trim(cluster).await
    }

    /// Deletes the members of earlier revisions that this one lacks.
    async fn prune(
        &self,
        cluster: &Cluster,
        keys: &[Key],
        report: &mut ApplyReport,
        deadline: Instant,
        listener: &dyn Listener,
    ) -> Result<(), ReleaseError> {
        let (kinds, namespaces) = self.union(keys);
        let keep: BTreeSet<&Key> = keys.iter().collect();
        let mut found =
            super::prune::members(cluster, &self.history.id, &kinds, &namespaces).await?;
        if let Some(previous) = self.history.deployed() {
            let more = super::prune::recorded(cluster, &previous.members, &found).await?;
            found.extend(more);
            found.sort_by_key(|f| std::cmp::Reverse(f.phase()));
        }
        let file = format!("(release {})", self.opts.name);
        let because = match &self.opts.version {
            Some(v) => format!("not in {v}"),
            None => format!("not in revision {}", self.revision.revision),
        };
        let dropped: Vec<&super::prune::Found> = found
            .iter()
            .filter(|f| !keep.contains(&f.member.key()))
            .collect();
        let prune_crds = self.opts.prune_crds;
        let keep_why = |m: &Member| {
            super::prune::keep_reason(m, prune_crds).map(|why| format!("{because}, kept: {why}"))
        };
        let how = super::prune::Removal {
            why: &because,
            file: &file,
            dry: self.dry,
            deadline,
        };
        let removed = super::prune::remove(cluster, &dropped, keep_why, &how, listener).await;
        report.pruned += removed.deleted;
        report.failed += removed.failed;
        Ok(())
    }

    /// Deletes the oldest revisions beyond `--history-max` (never the deployed one).
    async fn trim(&self, cluster: &Cluster) -> Result<(), ReleaseError> {
        let max = self.opts.history_max.max(1) as usize;
        let total = self.history.revisions.len() + 1;
        for old in self
            .history
            .revisions
            .iter()
            .take(total.saturating_sub(max))
        {
            let url = format!(
                "/api/v1/namespaces/{}/secrets/{}",
                self.history.namespace,
                old.secret_name()
            );
            cluster.delete_at(&url, &old.secret_name(), false).await?;
        }
        Ok(())
    }
}
