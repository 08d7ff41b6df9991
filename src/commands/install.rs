//! `ferry install`: the customer's one command (verify, rewrite, push, apply, wait).

use std::sync::Arc;

use anyhow::Result;

use super::apply::{apply_options, print_summary};
use super::options::{copy_options, registries, runtime, target};
use super::report::Printer;
use crate::cli::InstallArgs;
use crate::exit::Exit;
use ferry_apply::DryRun;
use ferry_workflow::{self as workflow, InstallOptions};

pub(super) fn run(args: &InstallArgs) -> Result<Exit> {
    let opts = InstallOptions {
        bundle: args.bundle.clone(),
        target: target(&args.to)?,
        layout: args.layout,
        copy: copy_options("all", args.jobs)?,
        workdir: args.workdir.clone(),
        pin_digests: !args.no_pin_digests,
        apply: apply_options(
            &args.cluster,
            args.dry_run,
            &args.pull,
            args.registry.registry_config.as_deref(),
        )?,
        keys: super::options::keys(&args.key)?,
        charts: workflow::CustomerValues {
            helm: super::options::helm_values(&args.charts),
        },
        release: workflow::ReleaseRequest {
            name: args.release.release.clone(),
            prune: !args.release.no_prune,
            prune_crds: args.release.prune_crds,
            history_max: args.release.history_max,
        },
    };
    let printer = Arc::new(Printer::new(args.output));
    let registries = registries(&args.registry);
    let report = runtime()?.block_on(workflow::install(&opts, &registries, printer.clone()));
    printer.finish();
    let report = report?;
    if args.dry_run == Some(DryRun::Client) {
        return Ok(Exit::Success);
    }
    Ok(print_summary(&report.apply, args.output))
}
