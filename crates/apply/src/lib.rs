//! Putting manifests on a cluster: the objects with their exact text and the order they are
//! applied in ([`plan`]), the cluster calls ([`cluster`]: discovery, server-side apply,
//! readiness), and the pull secret's objects ([`pull_secret`]).

mod client;
pub mod cluster;
pub mod discovery;
pub mod error;
pub mod listen;
pub mod plan;
mod proxy;
pub mod pull_secret;
pub mod ready;
pub mod release;
pub mod run;
pub mod served;

/// `--dry-run` of `apply` and `install`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DryRun {
    /// Print the ordered plan; contact no cluster
    Client,
    /// Send every request with dryRun=All and report what would change
    Server,
}
