//! The two ends of a walk: a [`Source`] that serves manifests and blobs, a [`Sink`] that
//! stores them. Registries, archives and the blob cache each implement one or both; the
//! walker asks only what these traits offer.

use std::future::Future;

use bytes::Bytes;

use super::GraphError;
use super::stream::{ByteStream, Verified};
use crate::registry::Fetched;
use ferry_core::digest::Digest;
use ferry_core::manifest::Descriptor;

/// Where an image graph is read from.
pub trait Source: Send + Sync {
    /// Names the source in messages (`host/repository`, an archive's path).
    fn label(&self) -> String;

    /// True when the bytes are local: a digest mismatch there will not heal on a retry.
    fn is_local(&self) -> bool {
        false
    }

    /// A manifest by tag or digest (local sources: by digest, typed by `media_type`), its
    /// bytes checked against the digest when one is asked for.
    fn manifest(
        &self,
        reference: &str,
        media_type: Option<&str>,
    ) -> impl Future<Output = Result<Fetched, GraphError>> + Send;

    /// Whether this source holds the blob at all (a delta bundle leaves layers the site
    /// has out): one it lacks is looked for at the sink, never read from here.
    fn holds(&self, _desc: &Descriptor) -> bool {
        true
    }

    /// A blob's bytes as a stream; the walker verifies them.
    fn blob(
        &self,
        desc: &Descriptor,
    ) -> impl Future<Output = Result<ByteStream, GraphError>> + Send;
}

/// Where an image graph is written to.
pub trait Sink: Send + Sync {
    /// The store blobs are deduplicated in during a run (a registry host, a cache directory).
    fn store(&self) -> &str;

    /// The place in that store (a repository; a cache has one place).
    fn place(&self) -> &str;

    /// Names the sink in messages.
    fn label(&self) -> String;

    /// The digest `reference` (a tag or digest) already names here; `None` when it names
    /// nothing, or when this sink cannot tell cheaply.
    fn manifest_digest(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<Digest>, GraphError>> + Send;

    /// Whether the blob is already here.
    fn has_blob(&self, desc: &Descriptor) -> impl Future<Output = Result<bool, GraphError>> + Send;

    /// Asking [`Sink::has_blob`] costs a request (a registry), not a look at a local store.
    fn asking_is_remote(&self) -> bool {
        false
    }

    /// Makes a blob that place `from` of the same store holds available here without moving
    /// its bytes; false when this sink cannot (the walker then transfers it).
    fn mount(
        &self,
        _desc: &Descriptor,
        _from: &str,
    ) -> impl Future<Output = Result<bool, GraphError>> + Send {
        async { Ok(false) }
    }

    /// Stores a blob from a verified stream. A stream that ends early or fails verification
    /// ends with an error, which must leave nothing visible.
    fn put_blob(
        &self,
        desc: &Descriptor,
        body: Verified,
    ) -> impl Future<Output = Result<(), GraphError>> + Send;

    /// Stores manifest bytes as they are under `reference` (a tag or their digest).
    fn put_manifest(
        &self,
        reference: &str,
        bytes: &Bytes,
        media_type: &str,
    ) -> impl Future<Output = Result<(), GraphError>> + Send;
}
