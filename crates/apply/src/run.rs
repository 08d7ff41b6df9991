//! `apply`: server-side apply of the planned objects phase by phase. CRDs first, all waited
//! for until Established; namespaces; the objects others refer to; the pull secret; workloads;
//! then, once the services behind them answer, webhooks and aggregated APIs; custom resources
//! last. One deadline (`--timeout`) bounds every wait of the run, and waits run in parallel.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::DryRun;
use crate::cluster::{self, Cluster, ClusterError, Outcome};
use crate::plan::{self, Object, Phase};
use crate::release::History;
use crate::release::upgrade::Upgrade;
use crate::{pull_secret, ready};
use ferry_oci::registry::{Credentials, config};

pub use crate::listen::{ApplyEvent, ApplyReport, Listener};

/// Why an apply stopped before it went through its objects (an object that fails is
/// reported and the rest still applied).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// An option the run cannot honour.
    #[error("{0}")]
    Usage(String),
    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Scan(#[from] ferry_scan::scan::ScanError),
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error(transparent)]
    Credentials(#[from] ferry_oci::registry::config::ConfigError),
    #[error(transparent)]
    Release(#[from] crate::release::ReleaseError),
    /// The objects' namespace does not exist and nothing creates it.
    #[error(
        "namespace {namespace} does not exist: --create-namespace creates it (as helm install --create-namespace does), or create it first; nothing was applied"
    )]
    NoNamespace { namespace: String },
    /// The API server stopped answering and did not come back before the deadline.
    #[error(
        "{message}; the run stopped there ({remaining} objects not tried): run the same command again once the API server answers, and it completes the install"
    )]
    Lost { message: String, remaining: usize },
}

impl ApplyError {
    /// What kind of failure this is.
    pub fn category(&self) -> ferry_core::error::Category {
        use ferry_core::error::Category;
        match self {
            ApplyError::Usage(_) => Category::Usage,
            ApplyError::Cluster(e) => e.category(),
            ApplyError::Release(e) => e.category(),
            ApplyError::Lost { .. } | ApplyError::NoNamespace { .. } => Category::Cluster,
            ApplyError::Invalid(_)
            | ApplyError::Scan(_)
            | ApplyError::Plan(_)
            | ApplyError::Credentials(_) => Category::InvalidInput,
        }
    }
}

type Result<T> = std::result::Result<T, ApplyError>;

/// Helm's field manager for server-side apply (Helm 4 sends `fieldManager=helm`).
pub const HELM_MANAGER: &str = "helm";

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
    /// The longest the whole run waits: for CRDs, webhook backends and `--wait` together.
    pub timeout: Duration,
    pub dry_run: Option<DryRun>,
    pub pull_secret: Option<PullSecretRequest>,
    /// Install as this release: members labelled, the record written, the dropped pruned.
    pub release: Option<crate::release::upgrade::ReleaseOptions>,
    /// Whose Helm hooks run; default: an upgrade when the release has a revision the cluster
    /// ran, else an install.
    pub hook_event: Option<plan::HookEvent>,
    /// Create `namespace` first when it does not exist (Helm's `--create-namespace`).
    pub create_namespace: bool,
    /// Files whose objects Helm owns as a release's (a chart's output): applied with Helm's
    /// field manager (`helm`), so that `helm upgrade` and ferry's next install each take
    /// back their own fields without conflicts.
    pub helm_files: BTreeSet<String>,
}

/// Resolves the secret's registry (from the objects' images when not given) and credentials.
pub fn resolve_pull_secret(request: &PullSecretRequest, objects: &[Object]) -> Result<PullSecret> {
    let host = match &request.registry {
        Some(h) => h.clone(),
        None => {
            let rules = ferry_scan::scan::UserRules::default();
            let mut hosts = BTreeSet::new();
            for o in objects {
                let found = ferry_scan::scan::scan_str(&o.file, &o.yaml, &rules)?;
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
                    return Err(ApplyError::Usage(format!(
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
        None => match config::credentials_for(&host, &request.config_files)? {
            Credentials::Basic { username, password } => (username, password),
            Credentials::IdentityToken(_) => {
                return Err(ApplyError::Invalid(format!(
                    "--pull-secret: the credentials for {host} are an identity token, which the kubelet cannot use; give --registry-username"
                )));
            }
            Credentials::Anonymous => {
                return Err(ApplyError::Invalid(format!(
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
fn plan_only(objects: Vec<Object>, opts: &ApplyOptions, reporter: &dyn Listener) -> ApplyReport {
    // No cluster, no record: whose hooks would run is what the options say, else an install's.
    let event = opts.hook_event.unwrap_or_default();
    let (planned, other) = plan::order_for(objects, event);
    if opts.hook_event.is_none() && !other.is_empty() {
        reporter.info(
            "planned as a first install: a client dry run reads no cluster, so it cannot know \
             of an earlier revision (--dry-run server plans an upgrade's hooks when there is one)",
        );
    }
    skipped_hooks(&other, event, reporter);
    if let Some(p) = &opts.pull_secret {
        let namespaces: BTreeSet<&str> = planned
            .iter()
            .filter(|(phase, o)| {
                POD_KINDS.contains(&o.kind.as_str()) || *phase == Phase::CustomResources
            })
            .filter_map(|(_, o)| o.namespace.as_deref().or(opts.namespace.as_deref()))
            .collect();
        let listed: Vec<&str> = namespaces.into_iter().collect();
        reporter.info(&format!(
            "pull secret {}: a Secret in {} (where pods run), listed in the imagePullSecrets of their default ServiceAccounts and those the pods name",
            p.name,
            if listed.is_empty() {
                "the default namespace".to_string()
            } else {
                listed.join(", ")
            }
        ));
    }
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
    reporter: &dyn Listener,
) -> Result<ApplyReport> {
    plan::check_duplicates(&objects)?;
    if opts.dry_run == Some(DryRun::Client) {
        return Ok(plan_only(objects, opts, reporter));
    }
    let (objects, pull) = with_pull_secret(objects, opts)?;
    let deadline = Instant::now() + opts.timeout;
    let cluster = Cluster::connect(opts.kubeconfig.as_deref(), opts.context.as_deref()).await?;
    cluster.set_deadline(deadline);
    let mut warned = BTreeSet::new();
    for w in cluster.discover().await? {
        if warned.insert(w.clone()) {
            reporter.warning(&w);
        }
    }
    let default_ns = opts
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    let objects = crate::served::where_served(objects, &cluster, reporter);
    let objects = with_namespace(objects, opts, &cluster, &default_ns).await?;
    let objects = placed(objects, &cluster, &default_ns)?;
    let (planned, upgrade) = plan_release(objects, opts, &cluster, &default_ns, reporter).await?;
    let mut run = Run::new(&cluster, opts, &default_ns, reporter, deadline, &planned);
    let phases = [
        Phase::Crds,
        Phase::Namespaces,
        Phase::PreHooks,
        Phase::Foundations,
        Phase::Workloads,
        Phase::Webhooks,
        Phase::CustomResources,
        Phase::PostHooks,
    ];
    for phase in phases {
        if run.lost.is_some() {
            break;
        }
        let objects: Vec<&Object> = planned
            .iter()
            .filter(|(p, _)| *p == phase)
            .map(|(_, o)| o)
            .collect();
        if matches!(phase, Phase::PreHooks | Phase::PostHooks) {
            if !run.hooks(&objects).await && phase == Phase::PreHooks {
                // As `helm install`: a failed pre-install hook stops the install.
                reporter.warning("a pre-install hook failed: the chart's objects were not applied");
                break;
            }
            continue;
        }
        if phase == Phase::Workloads
            && let Some(p) = &pull
        {
            run.pull_secret(p, &planned).await;
        }
        let objects = if phase == Phase::Webhooks && !run.dry && !objects.is_empty() {
            // A webhook whose Service never answered is not registered: it would fail
            // every request it admits, across the cluster.
            run.wait_for_backends(objects).await
        } else {
            objects
        };
        let mut applied = Vec::new();
        for o in objects {
            if run.lost.is_some() {
                break;
            }
            if run.apply_one(o).await {
                applied.push(o);
            }
        }
        if phase == Phase::Namespaces
            && let Some(up) = &upgrade
        {
            up.start(&cluster).await?;
        }
        if phase == Phase::Crds && !run.dry && !applied.is_empty() {
            run.wait_all(&applied, |_, v| ready::crd(v)).await;
            // The new kinds are served once their CRDs are established: look again.
            for w in cluster.discover().await? {
                if warned.insert(w.clone()) {
                    reporter.warning(&w);
                }
            }
        }
        if phase == Phase::Workloads && opts.wait && !run.dry {
            let workloads: Vec<&Object> = applied
                .into_iter()
                .filter(|o| ready::is_workload(&o.kind))
                .collect();
            let ready = run.wait_all(&workloads, ready::workload).await;
            for o in ready {
                reporter.apply(&ApplyEvent::Ready { object: o });
            }
        }
    }
    if let Some(message) = run.lost.take() {
        let done = run.report.changed + run.report.failed;
        return Err(ApplyError::Lost {
            message,
            remaining: run.report.objects.saturating_sub(done),
        });
    }
    if let Some(up) = upgrade {
        let (uids, pull) = (std::mem::take(&mut run.uids), run.pull_record.take());
        up.finish(&cluster, &mut run.report, &uids, pull, deadline, reporter)
            .await?;
    }
    Ok(run.report)
}

/// The objects, and with `--create-namespace` the namespace they land in when it does not
/// exist; without it, a namespace that does not exist (and that the objects do not create) is
/// an error now, naming the flag, before anything is applied.
async fn with_namespace(
    mut objects: Vec<Object>,
    opts: &ApplyOptions,
    cluster: &Cluster,
    namespace: &str,
) -> Result<Vec<Object>> {
    let created: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o.kind == "Namespace" && o.api_version == "v1")
        .map(|o| o.name.as_str())
        .collect();
    // The release namespaces objects land in, as `helm install --create-namespace` makes
    // its release's: the run's, and each chart's (its objects carry Helm's annotation).
    // Those the input creates are not asked for; an object naming another is the server's
    // to refuse, as kubectl's are.
    let landing: BTreeSet<String> = objects
        .iter()
        .filter_map(|o| {
            let (_, ns) = cluster.locate(o, namespace).ok()?;
            let ns = ns?;
            let release = || o.annotation("meta.helm.sh/release-namespace");
            (ns == namespace || release().as_deref() == Some(ns.as_str())).then_some(ns)
        })
        .filter(|ns| !created.contains(ns.as_str()))
        .collect();
    let mut missing = Vec::new();
    for ns in landing {
        match cluster.get(&format!("/api/v1/namespaces/{ns}")).await {
            Ok(Some(_)) => {}
            Ok(None) => missing.push(ns),
            // Who may apply objects into a namespace need not read it: the apply says.
            Err(ClusterError::Forbidden(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(first) = missing.first().filter(|_| !opts.create_namespace) {
        return Err(ApplyError::NoNamespace {
            namespace: first.clone(),
        });
    }
    for ns in missing.into_iter().rev() {
        let doc =
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        let mut created = crate::release::record_object(&doc);
        created.file = "(--create-namespace)".into();
        objects.insert(0, created);
    }
    Ok(objects)
}

/// Objects placed in a namespace their text does not name (a chart's, in its release's)
/// say it in their own metadata when their kind is namespaced, so the release's record, which
/// a rollback applies again, keeps them there; a cluster-scoped one has no namespace.
fn placed(mut objects: Vec<Object>, cluster: &Cluster, default_ns: &str) -> Result<Vec<Object>> {
    for o in objects.iter_mut().filter(|o| o.namespace.is_some()) {
        match cluster.locate(o, default_ns) {
            Ok((_, Some(ns))) if o.written_namespace().is_none() => {
                o.yaml = crate::release::labels::with_namespace(&o.file, &o.yaml, &ns)
                    .map_err(crate::release::ReleaseError::from)?;
            }
            Ok((_, None)) if o.written_namespace().is_none() => o.namespace = None,
            _ => {}
        }
    }
    Ok(objects)
}

/// The objects in apply order for this run's hook event (an upgrade when the release has
/// run before), and the release's upgrade begun (its members labelled) when there is one.
async fn plan_release(
    objects: Vec<Object>,
    opts: &ApplyOptions,
    cluster: &Cluster,
    default_ns: &str,
    reporter: &dyn Listener,
) -> Result<(Vec<(Phase, Object)>, Option<Upgrade>)> {
    let history = match &opts.release {
        Some(r) => {
            let record_ns = r.namespace.as_deref().unwrap_or(default_ns);
            Some(History::read(cluster, &r.name, record_ns).await?)
        }
        None => None,
    };
    let event = opts.hook_event.unwrap_or(match &history {
        Some(h) if h.has_run() => plan::HookEvent::Upgrade,
        _ => plan::HookEvent::Install,
    });
    // The pull secret an earlier revision added to the manifests' own ServiceAccount lists
    // stays there when this run names none (applying the list without it would drop it).
    let carried = match (&opts.pull_secret, &history) {
        (None, Some(h)) => h.last().and_then(|r| r.pull_secret.clone()),
        _ => None,
    };
    let mut objects = objects;
    if let Some(p) = &carried {
        add_to_accounts(&mut objects, &p.name);
    }
    let (mut planned, other_hooks) = plan::order_for(objects, event);
    skipped_hooks(&other_hooks, event, reporter);
    let dry = opts.dry_run == Some(DryRun::Server);
    let upgrade = match (&opts.release, history) {
        (Some(r), Some(h)) => {
            let mut r = r.clone();
            r.pull_secret = r.pull_secret.or(carried);
            let begun = Upgrade::begin(cluster, &r, h, &mut planned, &other_hooks, default_ns, dry);
            Some(begun.await?)
        }
        _ => None,
    };
    Ok((planned, upgrade))
}

/// Says each hook this run does not apply, and why.
fn skipped_hooks(hooks: &[Object], event: plan::HookEvent, reporter: &dyn Listener) {
    for o in hooks {
        reporter.apply(&ApplyEvent::Skipped {
            object: o,
            why: format!("a Helm {} hook; this is {event}", o.helm_hooks().join(",")),
        });
    }
}

/// The resolved pull secret, and the objects with it added to the lists of the accounts
/// that list pull secrets themselves (so the manifest's manager keeps its whole list).
fn with_pull_secret(
    mut objects: Vec<Object>,
    opts: &ApplyOptions,
) -> Result<(Vec<Object>, Option<PullSecret>)> {
    let pull = opts
        .pull_secret
        .as_ref()
        .map(|r| resolve_pull_secret(r, &objects))
        .transpose()?;
    if let Some(p) = &pull {
        add_to_accounts(&mut objects, &p.name);
    }
    Ok((objects, pull))
}

/// `secret` added to the lists of the accounts that list pull secrets themselves (so the
/// manifest's manager keeps its whole list).
fn add_to_accounts(objects: &mut [Object], secret: &str) {
    for o in objects.iter_mut().filter(|o| is_account(o)) {
        if let Some(text) = pull_secret::add_to_account(&o.yaml, secret) {
            o.yaml = text;
        }
    }
}

fn is_account(o: &Object) -> bool {
    o.kind == "ServiceAccount" && o.api_version == "v1"
}

/// Namespaces where pods will run: of the workloads, and of the custom resources (their
/// operators start pods there).
const POD_KINDS: [&str; 8] = [
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// Every `serviceAccountName` a document names.
fn service_accounts(o: &Object) -> Vec<String> {
    fn walk(n: &ferry_core::yaml::Node, out: &mut Vec<String>) {
        for (k, v) in n.entries() {
            match k.as_ref().map(|k| k.text.as_ref()) {
                Some("serviceAccountName" | "serviceAccount") => {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                    }
                }
                _ => walk(v, out),
            }
        }
        for item in n.as_seq().into_iter().flatten() {
            walk(item, out);
        }
    }
    let mut out = Vec::new();
    if let Ok(docs) = ferry_core::yaml::parse_documents(&o.yaml) {
        for d in &docs {
            walk(&d.root, &mut out);
        }
    }
    out
}

/// The services a webhook configuration or APIService calls: (namespace, name).
fn backends(o: &Object) -> Vec<(String, String)> {
    let Ok(docs) = ferry_core::yaml::parse_documents(&o.yaml) else {
        return Vec::new();
    };
    let Some(root) = docs.first().map(|d| &d.root) else {
        return Vec::new();
    };
    let service = |n: &ferry_core::yaml::Node| {
        Some((
            n.get_str("namespace")?.to_string(),
            n.get_str("name")?.to_string(),
        ))
    };
    let mut out = Vec::new();
    for hook in root
        .get("webhooks")
        .and_then(|w| w.as_seq())
        .into_iter()
        .flatten()
    {
        if let Some(s) = hook
            .get("clientConfig")
            .and_then(|c| c.get("service"))
            .and_then(service)
        {
            out.push(s);
        }
    }
    if let Some(s) = root
        .get("spec")
        .and_then(|s| s.get("service"))
        .and_then(service)
    {
        out.push(s);
    }
    out.sort();
    out.dedup();
    out
}

/// One apply run: the cluster, its options, one deadline, and the tally.
struct Run<'a> {
    cluster: &'a Cluster,
    opts: &'a ApplyOptions,
    default_ns: &'a str,
    dry: bool,
    reporter: &'a dyn Listener,
    deadline: Instant,
    report: ApplyReport,
    /// Namespaces this input creates (a server dry run cannot check what goes in them).
    new_namespaces: BTreeSet<String>,
    /// (group, kind) of the input's CRDs → the CRD's name.
    input_crds: BTreeMap<(String, String), String>,
    /// The applied objects' uids by (group, kind, namespace, name), for the release record.
    uids: BTreeMap<(String, String, Option<String>, String), String>,
    /// What the pull secret step made, for the release record.
    pull_record: Option<crate::release::PullSecretRecord>,
    /// The API server stopped answering for the rest of the run's time: why. The run stops
    /// there rather than fail every remaining object the same way.
    lost: Option<String>,
}

impl<'a> Run<'a> {
    fn new(
        cluster: &'a Cluster,
        opts: &'a ApplyOptions,
        default_ns: &'a str,
        reporter: &'a dyn Listener,
        deadline: Instant,
        planned: &[(Phase, Object)],
    ) -> Run<'a> {
        let dry = opts.dry_run == Some(DryRun::Server);
        Run {
            cluster,
            opts,
            default_ns,
            dry,
            reporter,
            deadline,
            report: ApplyReport {
                objects: planned.len(),
                dry_run: dry,
                ..Default::default()
            },
            new_namespaces: BTreeSet::new(),
            input_crds: planned
                .iter()
                .filter(|(p, _)| *p == Phase::Crds)
                .filter_map(|(_, o)| plan::crd_names(o).map(|(g, k)| ((g, k), o.name.clone())))
                .collect(),
            uids: BTreeMap::new(),
            pull_record: None,
            lost: None,
        }
    }

    fn failed(&mut self, object: &Object, e: &ClusterError) {
        if matches!(e, ClusterError::Unreachable { .. }) && self.lost.is_none() {
            self.lost = Some(ferry_core::error::chain(e));
        }
        self.report.failed += 1;
        self.reporter.apply(&ApplyEvent::Failed {
            object,
            message: ferry_core::error::chain(e),
        });
    }

    fn namespace_of(&self, o: &Object) -> Option<String> {
        if plan::CLUSTER_SCOPED_KINDS.contains(&o.kind.as_str()) {
            return None;
        }
        Some(
            o.namespace
                .clone()
                .unwrap_or_else(|| self.default_ns.to_string()),
        )
    }

    /// Under a server dry run, what `o` needs that this input creates first.
    fn needs(&self, o: &Object) -> Option<String> {
        if !self.dry {
            return None;
        }
        if let Some(ns) = self.namespace_of(o)
            && self.new_namespaces.contains(&ns)
        {
            return Some(format!("Namespace {ns} from this input"));
        }
        let kind = (o.group().to_string(), o.kind.clone());
        match (
            self.cluster.locate(o, self.default_ns),
            self.input_crds.get(&kind),
        ) {
            (Err(_), Some(crd)) => Some(format!("CRD {crd} from this input")),
            _ => None,
        }
    }

    /// Applies one object of the input and reports it; true when it was applied.
    async fn apply_one(&mut self, o: &Object) -> bool {
        if let Some(needs) = self.needs(o) {
            self.report.not_checked += 1;
            self.reporter
                .apply(&ApplyEvent::NotChecked { object: o, needs });
            return false;
        }
        let manager = if self.opts.helm_files.contains(&o.file) {
            HELM_MANAGER
        } else {
            cluster::FIELD_MANAGER
        };
        match self
            .cluster
            .apply_as(
                o,
                self.default_ns,
                self.opts.force_conflicts,
                self.dry,
                manager,
            )
            .await
        {
            Ok(applied) => {
                if applied.outcome != Outcome::Unchanged {
                    self.report.changed += 1;
                }
                if let Some(uid) = applied.uid.clone() {
                    let key = (
                        o.group().to_string(),
                        o.kind.clone(),
                        self.cluster
                            .locate(o, self.default_ns)
                            .ok()
                            .and_then(|(_, ns)| ns),
                        o.name.clone(),
                    );
                    self.uids.insert(key, uid);
                }
                if o.kind == "Namespace" && applied.outcome == Outcome::Created && self.dry {
                    self.new_namespaces.insert(o.name.clone());
                }
                self.reporter.apply(&ApplyEvent::Applied {
                    object: o,
                    outcome: applied.outcome,
                    dry_run: self.dry,
                    pull_secret: false,
                });
                for message in applied.warnings {
                    self.reporter
                        .apply(&ApplyEvent::Warned { object: o, message });
                }
                true
            }
            Err(e) => {
                self.failed(o, &e);
                false
            }
        }
    }

    /// Helm hooks, weight by weight, as `helm install` runs them: each first deleted when
    /// its policy says `before-hook-creation` (Helm's default), then applied; the weight's
    /// Jobs and Pods run to completion before the next weight. When every weight succeeded,
    /// the hooks whose policy says `hook-succeeded` are deleted; when one failed, its
    /// weight's `hook-failed` ones, and the later weights are not applied. False then.
    async fn hooks(&mut self, objects: &[&Object]) -> bool {
        let has = |o: &Object, policy: &str| o.hook_delete_policies().iter().any(|p| p == policy);
        for group in objects.chunk_by(|a, b| a.hook_weight() == b.hook_weight()) {
            let mut ok = true;
            for o in group {
                if !self.dry
                    && has(o, "before-hook-creation")
                    && let Err(e) = self.cluster.delete(o, self.default_ns, self.deadline).await
                {
                    self.failed(o, &e);
                    ok = false;
                    continue;
                }
                ok &= self.apply_one(o).await;
            }
            if self.dry {
                continue;
            }
            let runs: Vec<&Object> = group
                .iter()
                .filter(|o| matches!(o.kind.as_str(), "Job" | "Pod"))
                .copied()
                .collect();
            let done = self.wait_all(&runs, ready::hook).await;
            for o in &done {
                self.reporter.apply(&ApplyEvent::Ready { object: o });
            }
            if !ok || done.len() < runs.len() {
                let failed: Vec<&Object> = group
                    .iter()
                    .copied()
                    .filter(|o| has(o, "hook-failed"))
                    .collect();
                self.delete_hooks(&failed, "hook-failed").await;
                let weight = group.first().map_or(0, |o| o.hook_weight());
                for later in objects.iter().filter(|o| o.hook_weight() > weight) {
                    self.reporter.apply(&ApplyEvent::Skipped {
                        object: later,
                        why: format!("a hook of weight {weight} before it failed"),
                    });
                }
                return false;
            }
        }
        if !self.dry {
            let succeeded: Vec<&Object> = objects
                .iter()
                .copied()
                .filter(|o| has(o, "hook-succeeded"))
                .collect();
            self.delete_hooks(&succeeded, "hook-succeeded").await;
        }
        true
    }

    async fn delete_hooks(&mut self, objects: &[&Object], policy: &str) {
        for o in objects {
            match self.cluster.delete(o, self.default_ns, self.deadline).await {
                Ok(()) => self.reporter.info(&format!(
                    "{}/{} deleted (helm.sh/hook-delete-policy: {policy})",
                    o.kind, o.name
                )),
                Err(e) => self.failed(o, &e),
            }
        }
    }

    /// Waits for every object at once until the run's deadline; returns those that became
    /// ready, reports the others.
    async fn wait_all<'o>(
        &mut self,
        objects: &[&'o Object],
        ready: impl Fn(&str, &serde_json::Value) -> ready::State + Copy,
    ) -> Vec<&'o Object> {
        let (cluster, default_ns, deadline) = (self.cluster, self.default_ns, self.deadline);
        let waits = objects.iter().map(|o| async move {
            let result = match cluster.locate(o, default_ns) {
                Ok((url, _)) => {
                    let what = format!("{}/{}", o.kind, o.name);
                    cluster
                        .wait(&url, &what, deadline, |v| ready(&o.kind, v))
                        .await
                }
                Err(e) => Err(e),
            };
            (*o, result)
        });
        let results = futures_util::future::join_all(waits).await;
        let mut done = Vec::new();
        for (o, result) in results {
            match result {
                Ok(()) => done.push(o),
                Err(e) => self.failed(o, &e),
            }
        }
        done
    }

    /// Before webhooks and aggregated APIs are registered, the services they call must have
    /// ready endpoints, or every object they admit fails with "no endpoints available".
    /// Returns the objects whose services answer; the others are reported failed.
    async fn wait_for_backends<'o>(&mut self, objects: Vec<&'o Object>) -> Vec<&'o Object> {
        let mut ready_ones = Vec::new();
        for o in objects {
            let mut ok = true;
            for (ns, name) in backends(o) {
                let url = format!("/api/v1/namespaces/{ns}/endpoints/{name}");
                let what = format!("the service {ns}/{name} behind {}/{}", o.kind, o.name);
                let waited =
                    self.cluster
                        .wait(&url, &what, self.deadline, |v| {
                            let ready =
                                v["subsets"].as_array().into_iter().flatten().any(|s| {
                                    s["addresses"].as_array().is_some_and(|a| !a.is_empty())
                                });
                            if ready {
                                ready::State::Ready
                            } else {
                                ready::State::Pending(
                                    "no ready endpoints yet (its pods are not ready)".into(),
                                )
                            }
                        })
                        .await;
                if let Err(e) = waited {
                    self.failed(o, &e);
                    ok = false;
                    break;
                }
            }
            if ok {
                ready_ones.push(o);
            }
        }
        ready_ones
    }

    /// The Secret in every namespace where pods run, and listed by the ServiceAccounts those
    /// pods use: `default`, the ones pod specs name, the ones the manifests create there.
    async fn pull_secret(&mut self, p: &PullSecret, planned: &[(Phase, Object)]) {
        let mut namespaces = BTreeSet::new();
        let mut accounts: BTreeSet<(String, String)> = BTreeSet::new();
        for (phase, o) in planned {
            if !(POD_KINDS.contains(&o.kind.as_str()) || *phase == Phase::CustomResources) {
                continue;
            }
            let Some(ns) = self.namespace_of(o) else {
                continue;
            };
            for sa in service_accounts(o) {
                accounts.insert((ns.clone(), sa));
            }
            namespaces.insert(ns);
        }
        for (_, o) in planned.iter().filter(|(_, o)| is_account(o)) {
            if let Some(ns) = self.namespace_of(o)
                && namespaces.contains(&ns)
            {
                accounts.insert((ns, o.name.clone()));
            }
        }
        for ns in &namespaces {
            accounts.insert((ns.clone(), "default".into()));
            let secret = pull_secret::secret(&p.name, ns, &p.host, &p.username, &p.password);
            self.pull_object(&secret, cluster::FIELD_MANAGER).await;
        }
        let mut added = Vec::new();
        for (ns, sa) in accounts {
            if self.add_to_account(p, &ns, &sa).await {
                added.push((ns, sa));
            }
        }
        self.pull_record = Some(crate::release::PullSecretRecord {
            name: p.name.clone(),
            namespaces: namespaces.into_iter().collect(),
            accounts: added,
        });
    }

    /// Adds the secret to a live ServiceAccount's list, never removing others and never
    /// taking over a list another manager applies.
    async fn add_to_account(&mut self, p: &PullSecret, ns: &str, name: &str) -> bool {
        let account = pull_secret::service_account(name, ns, &p.name);
        if self.needs(&account).is_some() {
            return false;
        }
        let url = format!("/api/v1/namespaces/{ns}/serviceaccounts/{name}");
        let live = match self.cluster.get(&url).await {
            Ok(v) => v,
            Err(e) => {
                self.failed(&account, &e);
                return false;
            }
        };
        let listed: Vec<String> = live
            .as_ref()
            .and_then(|v| v["imagePullSecrets"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s["name"].as_str().map(str::to_string))
            .collect();
        if listed.contains(&p.name) {
            return true;
        }
        let owners: Vec<String> = live
            .as_ref()
            .and_then(|v| v["metadata"]["managedFields"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter(|e| e["fieldsV1"]["f:imagePullSecrets"].is_object())
            .filter_map(|e| e["manager"].as_str().map(str::to_string))
            .filter(|m| m != pull_secret::SA_MANAGER)
            .collect();
        if let Some(owner) = owners.first() {
            self.reporter.warning(&format!(
                "ServiceAccount {name} in {ns}: its imagePullSecrets list belongs to {owner}; {} was not added (add it there, or pods using {name} cannot pull from {})",
                p.name, p.host
            ));
            return false;
        }
        let mut all = listed;
        all.push(p.name.clone());
        let union = pull_secret::service_account_listing(name, ns, &all);
        self.pull_object(&union, pull_secret::SA_MANAGER).await
    }

    async fn pull_object(&mut self, o: &Object, manager: &str) -> bool {
        if let Some(needs) = self.needs(o) {
            self.reporter
                .apply(&ApplyEvent::NotChecked { object: o, needs });
            return false;
        }
        self.report.pull_secret_objects += 1;
        match self
            .cluster
            .apply_as(o, self.default_ns, true, self.dry, manager)
            .await
        {
            Ok(applied) => {
                self.reporter.apply(&ApplyEvent::Applied {
                    object: o,
                    outcome: applied.outcome,
                    dry_run: self.dry,
                    pull_secret: true,
                });
                true
            }
            Err(e) => {
                self.failed(o, &e);
                false
            }
        }
    }
}
