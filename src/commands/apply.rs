//! `ferry apply`: the ordered plan, then server-side apply phase by phase.

use anyhow::{Context, Result};

use super::options::runtime;
use super::report::Printer;
use crate::cli::{ApplyArgs, ClusterArgs, CopyOutput, PullSecretArgs};
use crate::exit::Exit;
use ferry_apply::DryRun;
use ferry_apply::plan;
use ferry_oci::registry::config;
use ferry_workflow::{self as workflow, ApplyOptions, ApplyReport, PullSecretRequest};

/// The apply options of `apply` and `install`.
pub(super) fn apply_options(
    cluster: &ClusterArgs,
    dry_run: Option<DryRun>,
    pull: &PullSecretArgs,
    registry_config: Option<&std::path::Path>,
) -> Result<ApplyOptions> {
    let pull_secret = match &pull.pull_secret {
        None => None,
        Some(name) => {
            let login = match &pull.registry_username {
                Some(u) => {
                    let p = std::io::read_to_string(std::io::stdin())
                        .context("cannot read the password from standard input")?;
                    Some((u.clone(), p.trim_end_matches(['\n', '\r']).to_string()))
                }
                None => None,
            };
            Some(PullSecretRequest {
                name: name.clone(),
                registry: pull.registry.clone(),
                login,
                config_files: config::config_files(registry_config),
            })
        }
    };
    Ok(ApplyOptions {
        kubeconfig: cluster.connect.kubeconfig.clone(),
        context: cluster.connect.context.clone(),
        namespace: cluster.connect.namespace.clone(),
        force_conflicts: cluster.force_conflicts,
        wait: cluster.wait,
        timeout: cluster.timeout,
        dry_run,
        pull_secret,
        release: None,
        hook_event: None,
        create_namespace: cluster.create_namespace,
        helm_files: Default::default(),
    })
}

/// The summary line (or event) of an apply, and its exit code.
pub(super) fn print_summary(report: &ApplyReport, output: CopyOutput) -> Exit {
    let mut summary = match (report.changed, report.failed, report.dry_run) {
        (0, 0, false) => "nothing changed".to_string(),
        (0, 0, true) => "nothing would change".to_string(),
        (c, f, false) => format!("{c} changed, {f} failed"),
        (c, f, true) => format!("{c} would change, {f} failed"),
    };
    if report.pull_secret_objects > 0 {
        summary.push_str(&format!(
            "; pull secret: {} applied (Secrets, ServiceAccount entries)",
            crate::output::counted(report.pull_secret_objects, "object")
        ));
    }
    if report.pruned > 0 {
        let verb = if report.dry_run {
            "would be deleted"
        } else {
            "deleted"
        };
        summary.push_str(&format!(", {} {verb} (pruned)", report.pruned));
    }
    if report.not_checked > 0 {
        summary.push_str(&format!(
            ", {} not checked (they need what this input creates first)",
            report.not_checked
        ));
    }
    match output {
        CopyOutput::Json => crate::events::emit(&crate::events::Event::ApplySummary(report)),
        CopyOutput::Text => println!(
            "{}: {summary}",
            crate::output::counted(report.objects, "object")
        ),
    }
    if report.failed == 0 {
        Exit::Success
    } else {
        Exit::Cluster
    }
}

pub(super) fn run(args: &ApplyArgs) -> Result<Exit> {
    let render =
        super::options::render_options(&args.render, args.cluster.connect.namespace.as_deref());
    let (objects, notes) =
        plan::load(&args.paths, &render).map_err(ferry_workflow::WorkflowError::from)?;
    for n in notes {
        eprintln!("note: {}", crate::output::printable(&n));
    }
    let mut opts = apply_options(
        &args.cluster,
        args.dry_run,
        &args.pull,
        args.registry_config.as_deref(),
    )?;
    if let Some(name) = &args.release {
        ferry_apply::release::check_name(name)
            .map_err(|why| ferry_workflow::WorkflowError::Usage(format!("--release: {why}")))?;
        opts.release = Some(ferry_apply::release::upgrade::ReleaseOptions {
            name: name.clone(),
            history_max: args.history_max,
            prune: !args.no_prune,
            prune_crds: args.prune_crds,
            ..Default::default()
        });
    }
    let printer = Printer::new(args.output);
    let report = runtime()?.block_on(async {
        // A release is never half applied: it is checked whole first. Plain apply applies
        // what it can, as kubectl does.
        if opts.dry_run.is_none() && opts.release.is_some() {
            workflow::check_on_cluster(&objects, &opts, &printer).await?;
        }
        Ok::<_, ferry_workflow::WorkflowError>(workflow::apply(objects, &opts, &printer).await?)
    })?;
    // A client-side plan has no summary: the plan is the output.
    if args.dry_run == Some(DryRun::Client) {
        return Ok(Exit::Success);
    }
    Ok(print_summary(&report, args.output))
}
