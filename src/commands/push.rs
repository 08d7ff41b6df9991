//! `ferry push`: the customer side. Pushes a bundle's images into the private registry with
//! no other network, blobs read from the tar by offset and verified on the way.

use std::sync::Arc;

use anyhow::Result;

use super::options::{copy_options, print_summary, registries, runtime, target};
use super::report::Printer;
use crate::cli::PushArgs;
use crate::exit::{Exit, invalid};
use ferry_core::reference::Reference;
use ferry_workflow::{self as workflow, PushOptions};

pub(super) fn run(args: &PushArgs) -> Result<Exit> {
    let name = args
        .name
        .as_deref()
        .map(|n| Reference::parse(n).map_err(|e| invalid(format!("--name {n:?}: {e}"))))
        .transpose()?;
    let opts = PushOptions {
        bundle: args.bundle.clone(),
        name,
        target: target(&args.copy.to)?,
        layout: args.copy.layout,
        copy: copy_options(
            args.copy.platform.as_deref().unwrap_or("all"),
            args.copy.jobs,
        )?,
        dry_run: args.copy.dry_run.is_some(),
    };
    let printer = Arc::new(Printer::new(args.copy.output));
    let registries = registries(&args.registry);
    let outcome = runtime()?.block_on(workflow::push(&opts, &registries, printer.clone()));
    printer.finish();
    let outcome = outcome?;
    match &outcome.run {
        None => Ok(Exit::Success),
        Some(run) => print_summary(run, args.copy.output),
    }
}
