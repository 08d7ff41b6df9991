//! Putting manifests on a cluster. So far: loading objects with their exact text and the
//! order they are applied in ([`plan`]); the server-side-apply calls and waits come next.

pub mod cluster;
pub mod plan;
mod proxy;
pub mod pull_secret;
