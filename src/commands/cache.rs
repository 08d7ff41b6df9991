//! `ferry cache size|prune`: the blob cache bundles fill, shown and trimmed.

use anyhow::{Context, Result};

use crate::cli::{CacheArgs, CacheCommand};
use crate::exit::Exit;
use crate::output::Bytes;
use ferry_oci::bundle::cache::{self, default_dir};

fn dir(args: &CacheArgs) -> std::path::PathBuf {
    args.cache.clone().unwrap_or_else(default_dir)
}

pub(super) fn run(command: &CacheCommand) -> Result<Exit> {
    match command {
        CacheCommand::Size(args) => {
            let dir = dir(args);
            let u = cache::usage(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
            println!("{} blobs, {} in {}", u.blobs, Bytes(u.bytes), dir.display());
        }
        CacheCommand::Prune { cache, older_than } => {
            let dir = dir(cache);
            let removed = cache::prune(&dir, *older_than).map_err(|e| {
                crate::exit::Failure::new(Exit::InvalidInput, ferry_core::error::chain(&e))
            })?;
            let left = cache::usage(&dir)?;
            println!(
                "removed {} blobs, {}; {} blobs, {} left in {}",
                removed.blobs,
                Bytes(removed.bytes),
                left.blobs,
                Bytes(left.bytes),
                dir.display()
            );
        }
    }
    Ok(Exit::Success)
}
