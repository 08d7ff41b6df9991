//! A registry repository as a [`Source`] and as a [`Sink`]: blobs mount across repositories
//! of one registry, uploads are one streamed PUT.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;

use super::GraphError;
use super::ends::{Sink, Source};
use super::stream::{BoxError, ByteStream, Verified};
use crate::registry::{Fetched, Registries, Registry};
use ferry_core::digest::Digest;
use ferry_core::manifest::Descriptor;
use ferry_core::reference::Reference;

/// One repository of one registry.
#[derive(Debug, Clone)]
pub struct Repository {
    registry: Arc<Registry>,
    repo: String,
}

impl Repository {
    pub fn new(registry: Arc<Registry>, repo: impl Into<String>) -> Self {
        Repository {
            registry,
            repo: repo.into(),
        }
    }

    /// The repository `reference` names, with the run's client for its registry.
    pub fn of(registries: &Registries, reference: &Reference) -> Result<Self, GraphError> {
        Ok(Repository::new(
            registries.get(reference.registry())?,
            reference.repository(),
        ))
    }
}

impl Source for Repository {
    fn label(&self) -> String {
        format!("{}/{}", self.registry.host(), self.repo)
    }

    async fn manifest(
        &self,
        reference: &str,
        _media_type: Option<&str>,
    ) -> Result<Fetched, GraphError> {
        Ok(self.registry.get_manifest(&self.repo, reference).await?)
    }

    async fn blob(&self, desc: &Descriptor) -> Result<ByteStream, GraphError> {
        let resp = self.registry.get_blob(&self.repo, &desc.digest).await?;
        let body = crate::registry::resume::resuming(
            self.registry.clone(),
            self.repo.clone(),
            desc.digest.clone(),
            desc.size,
            resp,
        );
        Ok(Box::pin(body.map_err(|e| Box::new(e) as BoxError)))
    }
}

impl Sink for Repository {
    fn store(&self) -> &str {
        self.registry.host()
    }

    fn place(&self) -> &str {
        &self.repo
    }

    fn label(&self) -> String {
        Source::label(self)
    }

    async fn manifest_digest(&self, reference: &str) -> Result<Option<Digest>, GraphError> {
        Ok(self.registry.head_manifest(&self.repo, reference).await?)
    }

    fn asking_is_remote(&self) -> bool {
        true
    }

    async fn has_blob(&self, desc: &Descriptor) -> Result<bool, GraphError> {
        Ok(self
            .registry
            .blob_size(&self.repo, &desc.digest)
            .await?
            .is_some())
    }

    async fn mount(&self, desc: &Descriptor, from: &str) -> Result<bool, GraphError> {
        Ok(self
            .registry
            .mount_blob(&self.repo, from, &desc.digest)
            .await?)
    }

    async fn put_blob(&self, desc: &Descriptor, body: Verified) -> Result<(), GraphError> {
        Ok(self
            .registry
            .push_blob(
                &self.repo,
                &desc.digest,
                desc.size,
                reqwest::Body::wrap_stream(body),
            )
            .await?)
    }

    async fn put_manifest(
        &self,
        reference: &str,
        bytes: &Bytes,
        media_type: &str,
    ) -> Result<(), GraphError> {
        self.registry
            .put_manifest(&self.repo, reference, bytes, media_type)
            .await?;
        Ok(())
    }
}
