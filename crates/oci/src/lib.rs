//! Images and bundles, without a cluster: the distribution API client ([`registry`]), the one
//! image-graph walker that reads and writes images between sources and sinks ([`graph`]), and
//! the bundle format with its archive reader, verification, blob cache and trust checks
//! ([`bundle`]).

pub mod bundle;
pub mod catalog;
pub mod graph;
pub mod registry;
