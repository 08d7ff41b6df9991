//! `ferry receipt`: what the site holds, for the vendor's delta bundle: from the bundles it
//! received, or read from its registry (`--to`).

use anyhow::Result;

use super::options::{registries, runtime, target};
use super::report::Printer;
use crate::cli::{CopyOutput, ReceiptArgs};
use crate::exit::Exit;
use ferry_oci::bundle::archive::Archive;
use ferry_oci::bundle::receipt::Receipt;
use ferry_workflow::{self as workflow, RegistryReceiptOptions};

pub(super) fn run(args: &ReceiptArgs) -> Result<Exit> {
    let receipt = match &args.to {
        Some(to) => {
            let opts = RegistryReceiptOptions {
                target: target(to)?,
                layout: args.layout,
                bundles: args.from_bundle.clone(),
                jobs: usize::from(args.jobs),
            };
            let printer = std::sync::Arc::new(Printer::new(CopyOutput::Text));
            let registries = registries(&args.registry);
            let made = runtime()?.block_on(workflow::registry_receipt(
                &opts,
                &registries,
                printer.as_ref(),
            ));
            printer.finish();
            made?
        }
        None => Receipt::merge(
            args.from_bundle
                .iter()
                .map(|b| Receipt::of_bundle(&Archive::open(b)?))
                .collect::<std::result::Result<Vec<_>, _>>()?,
        ),
    };
    receipt.write(&args.output)?;
    println!(
        "wrote {}: {} blobs ({}) the site holds, from {}; receipt {}",
        args.output.display(),
        receipt.blobs.len(),
        crate::output::Bytes(receipt.blobs.iter().map(|h| h.size).sum()),
        crate::output::printable(&receipt.from.join(", ")),
        receipt.digest()
    );
    Ok(Exit::Success)
}
