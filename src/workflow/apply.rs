//! `apply`: server-side apply of the planned objects phase by phase, CRDs established before
//! anything uses them, the pull secret before any workload, then optional waits.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use super::{Reporter, Result, WorkflowError};
use crate::apply::DryRun;
use crate::apply::cluster::{self, Cluster, Outcome};
use crate::apply::plan::{self, Object, Phase};
use crate::apply::pull_secret;
use crate::registry::{Credentials, config};

/// The pull secret to create, as asked for.
#[derive(Debug, Clone)]
pub struct PullSecretRequest {
    pub name: String,
    /// The registry it is for; default: the one registry the objects' images use.
    pub registry: Option<String>,
    /// User and password; default: the credentials files' entry for the registry.
    pub login: Option<(String, String)>,
    pub config_files: Vec<PathBuf>,
}

/// The pull secret to create, resolved: its name, registry host and credentials.
#[derive(Clone)]
pub struct PullSecret {
    pub name: String,
    pub host: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for PullSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PullSecret({} for {})", self.name, self.host)
    }
}

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// For namespaced objects that name none; default: the context's.
    pub namespace: Option<String>,
    pub force_conflicts: bool,
    pub wait: bool,
    pub timeout: Duration,
    pub dry_run: Option<DryRun>,
    pub pull_secret: Option<PullSecretRequest>,
}

/// What happened to one object.
#[derive(Debug)]
pub enum ApplyEvent<'a> {
    /// In the client-side plan: its phase and the namespace it lands in.
    Planned {
        phase: Phase,
        object: &'a Object,
        namespace: &'a str,
    },
    Applied {
        object: &'a Object,
        outcome: Outcome,
        dry_run: bool,
        /// One of the pull secret's objects.
        pull_secret: bool,
    },
    Failed {
        object: &'a Object,
        message: String,
    },
    Ready {
        object: &'a Object,
    },
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ApplyReport {
    pub objects: usize,
    pub changed: usize,
    pub failed: usize,
    pub dry_run: bool,
}

/// Resolves the secret's registry (from the objects' images when not given) and credentials.
pub fn resolve_pull_secret(request: &PullSecretRequest, objects: &[Object]) -> Result<PullSecret> {
    let host = match &request.registry {
        Some(h) => h.clone(),
        None => {
            let rules = crate::scan::UserRules::default();
            let mut hosts = BTreeSet::new();
            for o in objects {
                let found = crate::scan::scan_str(&o.file, &o.yaml, &rules)?;
                hosts.extend(
                    found
                        .hits
                        .iter()
                        .map(|h| h.reference.registry().to_string()),
                );
            }
            match hosts.into_iter().collect::<Vec<_>>().as_slice() {
                [one] => one.clone(),
                many => {
                    return Err(WorkflowError::Usage(format!(
                        "--pull-secret: the images use {} registries ({}); name one with --registry",
                        many.len(),
                        many.join(", ")
                    )));
                }
            }
        }
    };
    let (username, password) = match &request.login {
        Some((u, p)) => (u.clone(), p.clone()),
        None => match config::credentials_for(&host, &request.config_files)
            .map_err(|e| WorkflowError::Invalid(crate::exit::render(&e)))?
        {
            Credentials::Basic { username, password } => (username, password),
            Credentials::IdentityToken(_) => {
                return Err(WorkflowError::Invalid(format!(
                    "--pull-secret: the credentials for {host} are an identity token, which the kubelet cannot use; give --registry-username"
                )));
            }
            Credentials::Anonymous => {
                return Err(WorkflowError::Invalid(format!(
                    "--pull-secret: no credentials for {host} in the docker config; run ferry login or give --registry-username"
                )));
            }
        },
    };
    Ok(PullSecret {
        name: request.name.clone(),
        host,
        username,
        password,
    })
}

/// The ordered plan, for a client-side dry run: no cluster is contacted.
pub fn plan_only(
    objects: Vec<Object>,
    opts: &ApplyOptions,
    reporter: &dyn Reporter,
) -> ApplyReport {
    let planned = plan::order(objects);
    for (phase, o) in &planned {
        let namespace = if plan::CLUSTER_SCOPED_KINDS.contains(&o.kind.as_str()) {
            "(cluster)"
        } else {
            o.namespace
                .as_deref()
                .or(opts.namespace.as_deref())
                .unwrap_or("(default namespace)")
        };
        reporter.apply(&ApplyEvent::Planned {
            phase: *phase,
            object: o,
            namespace,
        });
    }
    ApplyReport {
        objects: planned.len(),
        dry_run: true,
        ..Default::default()
    }
}

/// Applies `objects` in order; a failed object is reported and the rest still applied.
pub async fn apply(
    objects: Vec<Object>,
    opts: &ApplyOptions,
    reporter: &dyn Reporter,
) -> Result<ApplyReport> {
    plan::check_duplicates(&objects)?;
    if opts.dry_run == Some(DryRun::Client) {
        return Ok(plan_only(objects, opts, reporter));
    }
    let pull = opts
        .pull_secret
        .as_ref()
        .map(|r| resolve_pull_secret(r, &objects))
        .transpose()?;
    let planned = plan::order(objects);
    let cluster = Cluster::connect(opts.kubeconfig.as_deref(), opts.context.as_deref()).await?;
    let default_ns = opts
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    let dry = opts.dry_run == Some(DryRun::Server);
    let mut report = ApplyReport {
        objects: planned.len(),
        dry_run: dry,
        ..Default::default()
    };
    let mut workloads = Vec::new();
    let mut phase_done = None;
    let mut pull_steps_done = (false, false);
    let run = Run {
        cluster: &cluster,
        default_ns: &default_ns,
        dry,
        reporter,
    };
    for (phase, o) in &planned {
        if let Some(p) = &pull {
            if *phase > Phase::Namespaces && !pull_steps_done.0 {
                pull_steps_done.0 = true;
                report.failed += run.pull_step(p, &planned, false).await;
            }
            if *phase > Phase::Foundations && !pull_steps_done.1 {
                pull_steps_done.1 = true;
                report.failed += run.pull_step(p, &planned, true).await;
            }
        }
        if phase_done == Some(Phase::Crds) && *phase != Phase::Crds && !dry {
            // New kinds are served once their CRDs are established: look again.
            cluster.discover().await?;
        }
        phase_done = Some(*phase);
        match cluster
            .apply(o, &default_ns, opts.force_conflicts, dry)
            .await
        {
            Ok(outcome) => {
                if outcome != Outcome::Unchanged {
                    report.changed += 1;
                }
                reporter.apply(&ApplyEvent::Applied {
                    object: o,
                    outcome,
                    dry_run: dry,
                    pull_secret: false,
                });
                if *phase == Phase::Crds && !dry {
                    let (url, _) = cluster.locate(o, &default_ns)?;
                    let label = format!("{}/{}", o.kind, o.name);
                    if let Err(e) = cluster
                        .wait(&url, &label, opts.timeout, cluster::crd_ready)
                        .await
                    {
                        report.failed += 1;
                        run.failed(o, &e);
                    }
                }
                if *phase == Phase::Workloads {
                    workloads.push(o);
                }
            }
            Err(e) => {
                report.failed += 1;
                run.failed(o, &e);
            }
        }
    }
    if let Some(p) = &pull {
        if !pull_steps_done.0 {
            report.failed += run.pull_step(p, &planned, false).await;
        }
        if !pull_steps_done.1 {
            report.failed += run.pull_step(p, &planned, true).await;
        }
    }
    if opts.wait && !dry {
        for o in workloads {
            let (url, _) = cluster.locate(o, &default_ns)?;
            let label = format!("{}/{}", o.kind, o.name);
            let kind = o.kind.clone();
            match cluster
                .wait(&url, &label, opts.timeout, |v| {
                    cluster::workload_ready(&kind, v)
                })
                .await
            {
                Ok(()) => reporter.apply(&ApplyEvent::Ready { object: o }),
                Err(e) => {
                    report.failed += 1;
                    run.failed(o, &e);
                }
            }
        }
    }
    Ok(report)
}

/// What every step of one apply run shares.
#[derive(Clone, Copy)]
struct Run<'a> {
    cluster: &'a Cluster,
    default_ns: &'a str,
    dry: bool,
    reporter: &'a dyn Reporter,
}

impl Run<'_> {
    fn failed(&self, object: &Object, e: &cluster::ClusterError) {
        self.reporter.apply(&ApplyEvent::Failed {
            object,
            message: crate::exit::render(e),
        });
    }

    /// Before workloads: the Secret and the `default` ServiceAccount in every namespace used
    /// (`accounts == false`), then the ServiceAccounts the manifests create (`accounts ==
    /// true`). Returns how many failed.
    async fn pull_step(
        &self,
        p: &PullSecret,
        planned: &[(Phase, Object)],
        accounts: bool,
    ) -> usize {
        let mut objects = Vec::new();
        if accounts {
            for (_, o) in planned
                .iter()
                .filter(|(_, o)| o.kind == "ServiceAccount" && o.api_version == "v1")
            {
                let ns = o
                    .namespace
                    .clone()
                    .unwrap_or_else(|| self.default_ns.to_string());
                objects.push((
                    pull_secret::service_account(&o.name, &ns, &p.name),
                    pull_secret::SA_MANAGER,
                ));
            }
        } else {
            let namespaces: BTreeSet<String> = planned
                .iter()
                .filter_map(|(_, o)| match self.cluster.locate(o, self.default_ns) {
                    Ok((_, ns)) => ns,
                    Err(_) => Some(
                        o.namespace
                            .clone()
                            .unwrap_or_else(|| self.default_ns.to_string()),
                    ),
                })
                .collect();
            for ns in namespaces {
                objects.push((
                    pull_secret::secret(&p.name, &ns, &p.host, &p.username, &p.password),
                    cluster::FIELD_MANAGER,
                ));
                objects.push((
                    pull_secret::service_account("default", &ns, &p.name),
                    pull_secret::SA_MANAGER,
                ));
            }
        }
        let mut failed = 0;
        for (o, manager) in &objects {
            match self
                .cluster
                .apply_as(o, self.default_ns, true, self.dry, manager)
                .await
            {
                Ok(outcome) => self.reporter.apply(&ApplyEvent::Applied {
                    object: o,
                    outcome,
                    dry_run: self.dry,
                    pull_secret: true,
                }),
                Err(e) => {
                    failed += 1;
                    self.failed(o, &e);
                }
            }
        }
        failed
    }
}
