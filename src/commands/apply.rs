//! `ferry apply`: the ordered plan, then server-side apply phase by phase, CRDs established
//! before anything uses them, and optional waits for workloads.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::apply::cluster::{self, Cluster, Outcome};
use crate::apply::plan::{self, Phase};
use crate::cli::{ApplyArgs, CopyOutput, DryRun};
use crate::exit::{Exit, Failure};

fn say(output: CopyOutput, event: serde_json::Value, text: String) {
    let mut out = std::io::stdout().lock();
    let _ = match output {
        CopyOutput::Json => writeln!(out, "{event}"),
        CopyOutput::Text => writeln!(out, "{text}"),
    };
}

pub fn run(args: &ApplyArgs) -> Result<Exit> {
    let objects =
        plan::load(&args.paths).map_err(|e| Failure::new(Exit::InvalidInput, e.to_string()))?;
    let planned = plan::order(objects);
    if args.dry_run == Some(DryRun::Client) {
        for (phase, o) in &planned {
            let ns = match o.namespace.as_deref().or(args.cluster.namespace.as_deref()) {
                Some(ns) => ns,
                None if plan::CLUSTER_SCOPED_KINDS.contains(&o.kind.as_str()) => "(cluster)",
                None => "(default namespace)",
            };
            say(
                args.output,
                serde_json::json!({"event": "plan", "phase": phase, "apiVersion": o.api_version, "kind": o.kind, "namespace": o.namespace, "name": o.name, "file": o.file, "line": o.line}),
                format!(
                    "{:<16} {}/{} {} ({}:{})",
                    format!("{phase:?}"),
                    o.kind,
                    o.name,
                    ns,
                    o.file,
                    o.line
                ),
            );
        }
        return Ok(Exit::Success);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(apply(args, planned))
}

/// The secret to create: its name, registry host and credentials.
struct Pull {
    name: String,
    host: String,
    username: String,
    password: String,
}

fn pull_secret(args: &ApplyArgs) -> Result<Option<Pull>> {
    let Some(name) = &args.pull.pull_secret else {
        return Ok(None);
    };
    let host = match &args.pull.registry {
        Some(h) => h.clone(),
        None => {
            let report =
                crate::workflow::scan_paths(&args.paths, &crate::scan::UserRules::default(), true);
            let hosts: std::collections::BTreeSet<&str> =
                report.hits.iter().map(|h| h.reference.registry()).collect();
            match hosts.into_iter().collect::<Vec<_>>().as_slice() {
                [one] => one.to_string(),
                many => {
                    return Err(Failure::new(
                        Exit::Usage,
                        format!("--pull-secret: the images use {} registries ({}); name one with --registry", many.len(), many.join(", ")),
                    )
                    .into());
                }
            }
        }
    };
    let (username, password) = match &args.pull.registry_username {
        Some(u) => {
            let p = std::io::read_to_string(std::io::stdin())
                .context("cannot read the password from standard input")?;
            (u.clone(), p.trim_end_matches(['\n', '\r']).to_string())
        }
        None => {
            let files = crate::registry::config::config_files(args.registry_config.as_deref());
            match crate::registry::config::credentials_for(&host, &files)
                .map_err(|e| Failure::new(Exit::InvalidInput, e.to_string()))?
            {
                crate::registry::Credentials::Basic { username, password } => (username, password),
                crate::registry::Credentials::IdentityToken(_) => {
                    return Err(Failure::new(Exit::InvalidInput, format!("--pull-secret: the credentials for {host} are an identity token, which the kubelet cannot use; give --registry-username")).into());
                }
                crate::registry::Credentials::Anonymous => {
                    return Err(Failure::new(Exit::InvalidInput, format!("--pull-secret: no credentials for {host} in the docker config; run ferry login or give --registry-username")).into());
                }
            }
        }
    };
    Ok(Some(Pull {
        name: name.clone(),
        host,
        username,
        password,
    }))
}

async fn apply(args: &ApplyArgs, planned: Vec<(Phase, plan::Object)>) -> Result<Exit> {
    let pull = pull_secret(args)?;
    let mut cluster = Cluster::connect(
        args.cluster.kubeconfig.as_deref(),
        args.cluster.context.as_deref(),
    )
    .await
    .map_err(|e| Failure::new(Exit::Cluster, e.to_string()))?;
    let default_ns = args
        .cluster
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    let dry = args.dry_run == Some(DryRun::Server);
    let timeout = Duration::from_secs(args.cluster.timeout);
    let (mut failed, mut changed) = (0usize, 0usize);
    let mut workloads = Vec::new();
    let mut phase_done = None;
    let mut pull_steps_done = (false, false);
    for (phase, o) in &planned {
        if let Some(p) = &pull {
            if *phase > Phase::Namespaces && !pull_steps_done.0 {
                pull_steps_done.0 = true;
                failed += pull_step(&cluster, args, p, &planned, &default_ns, dry, false).await;
            }
            if *phase > Phase::Foundations && !pull_steps_done.1 {
                pull_steps_done.1 = true;
                failed += pull_step(&cluster, args, p, &planned, &default_ns, dry, true).await;
            }
        }
        if phase_done == Some(Phase::Crds) && *phase != Phase::Crds && !dry {
            // New kinds are served once their CRDs are established: look again.
            cluster
                .discover()
                .await
                .map_err(|e| Failure::new(Exit::Cluster, e.to_string()))?;
        }
        phase_done = Some(*phase);
        let place = format!("{}:{}", o.file, o.line);
        let label = format!("{}/{}", o.kind, o.name);
        match cluster
            .apply(o, &default_ns, args.cluster.force_conflicts, dry)
            .await
        {
            Ok(outcome) => {
                if outcome != Outcome::Unchanged {
                    changed += 1;
                }
                let verb = match (outcome, dry) {
                    (Outcome::Created, false) => "created",
                    (Outcome::Configured, false) => "configured",
                    (Outcome::Unchanged, _) => "unchanged",
                    (Outcome::Created, true) => "would be created",
                    (Outcome::Configured, true) => "would be configured",
                };
                say(
                    args.output,
                    serde_json::json!({"event": "applied", "kind": o.kind, "name": o.name, "namespace": o.namespace, "outcome": outcome, "dry_run": dry, "file": o.file, "line": o.line}),
                    format!("{label} {verb}"),
                );
                if *phase == Phase::Crds && !dry {
                    let (url, _) = cluster
                        .locate(o, &default_ns)
                        .map_err(|e| Failure::new(Exit::Cluster, e.to_string()))?;
                    if let Err(e) = cluster
                        .wait(&url, &label, timeout, cluster::crd_ready)
                        .await
                    {
                        failed += 1;
                        say(
                            args.output,
                            serde_json::json!({"event": "error", "kind": o.kind, "name": o.name, "message": e.to_string(), "file": o.file, "line": o.line}),
                            format!("error: {label} ({place}): {e}"),
                        );
                    }
                }
                if *phase == Phase::Workloads {
                    workloads.push(o);
                }
            }
            Err(e) => {
                failed += 1;
                say(
                    args.output,
                    serde_json::json!({"event": "error", "kind": o.kind, "name": o.name, "namespace": o.namespace, "message": e.to_string(), "file": o.file, "line": o.line}),
                    format!("error: {label} ({place}): {e}"),
                );
            }
        }
    }
    if let Some(p) = &pull {
        if !pull_steps_done.0 {
            failed += pull_step(&cluster, args, p, &planned, &default_ns, dry, false).await;
        }
        if !pull_steps_done.1 {
            failed += pull_step(&cluster, args, p, &planned, &default_ns, dry, true).await;
        }
    }
    if args.cluster.wait && !dry {
        for o in workloads {
            let (url, _) = cluster
                .locate(o, &default_ns)
                .map_err(|e| Failure::new(Exit::Cluster, e.to_string()))?;
            let label = format!("{}/{}", o.kind, o.name);
            let kind = o.kind.clone();
            match cluster
                .wait(&url, &label, timeout, |v| cluster::workload_ready(&kind, v))
                .await
            {
                Ok(()) => say(
                    args.output,
                    serde_json::json!({"event": "ready", "kind": o.kind, "name": o.name}),
                    format!("{label} ready"),
                ),
                Err(e) => {
                    failed += 1;
                    say(
                        args.output,
                        serde_json::json!({"event": "error", "kind": o.kind, "name": o.name, "message": e.to_string()}),
                        format!("error: {e}"),
                    );
                }
            }
        }
    }
    let summary = if changed == 0 && failed == 0 {
        "nothing changed".to_string()
    } else {
        format!("{changed} changed, {failed} failed")
    };
    say(
        args.output,
        serde_json::json!({"event": "summary", "objects": planned.len(), "changed": changed, "failed": failed}),
        format!("{} objects: {summary}", planned.len()),
    );
    Ok(if failed == 0 {
        Exit::Success
    } else {
        Exit::Cluster
    })
}

/// Before workloads: the Secret and the `default` ServiceAccount in every namespace used
/// (`accounts == false`), then the ServiceAccounts the manifests create (`accounts == true`).
/// Returns how many failed.
async fn pull_step(
    cluster: &Cluster,
    args: &ApplyArgs,
    p: &Pull,
    planned: &[(Phase, plan::Object)],
    default_ns: &str,
    dry: bool,
    accounts: bool,
) -> usize {
    use crate::apply::pull_secret;
    let mut objects = Vec::new();
    if accounts {
        for (_, o) in planned
            .iter()
            .filter(|(_, o)| o.kind == "ServiceAccount" && o.api_version == "v1")
        {
            let ns = o
                .namespace
                .clone()
                .unwrap_or_else(|| default_ns.to_string());
            objects.push((
                pull_secret::service_account(&o.name, &ns, &p.name),
                pull_secret::SA_MANAGER,
            ));
        }
    } else {
        let namespaces: std::collections::BTreeSet<String> = planned
            .iter()
            .filter_map(|(_, o)| match cluster.locate(o, default_ns) {
                Ok((_, ns)) => ns,
                Err(_) => Some(
                    o.namespace
                        .clone()
                        .unwrap_or_else(|| default_ns.to_string()),
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
    for (o, manager) in objects {
        let label = format!(
            "{}/{} in {}",
            o.kind,
            o.name,
            o.namespace.as_deref().unwrap_or("")
        );
        match cluster.apply_as(&o, default_ns, true, dry, manager).await {
            Ok(outcome) => say(
                args.output,
                serde_json::json!({"event": "applied", "kind": o.kind, "name": o.name, "namespace": o.namespace, "outcome": outcome, "dry_run": dry, "pull_secret": true}),
                format!(
                    "{label} {} (pull secret)",
                    match outcome {
                        Outcome::Created => "created",
                        Outcome::Configured => "configured",
                        Outcome::Unchanged => "unchanged",
                    }
                ),
            ),
            Err(e) => {
                failed += 1;
                say(
                    args.output,
                    serde_json::json!({"event": "error", "kind": o.kind, "name": o.name, "message": e.to_string()}),
                    format!("error: {label}: {e}"),
                );
            }
        }
    }
    failed
}
