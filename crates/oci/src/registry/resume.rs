//! A blob's body that picks up where it was cut off. A read that fails after its connection
//! brought at least [`MIN_PROGRESS`] bytes goes on with a range request from the first byte
//! not yet read (as containers/image's body reader does), so a layer of gigabytes cut off at
//! 90% costs its last 10% again, not the whole. The bytes flow on into the same verifier:
//! the digest is still checked over every byte, whichever connection brought it.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::Response;

use super::Registry;
use ferry_core::digest::Digest;

/// What a connection must have brought for its failure to be resumed rather than retried
/// from the blob's start: a connection that fails at once each time is not chased forever.
pub const MIN_PROGRESS: u64 = 1 << 20;

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// The blob `digest` of `repo` (`size` bytes) as `first` begins to bring it, resumed where
/// a read fails (see the module).
pub fn resuming(
    registry: Arc<Registry>,
    repo: String,
    digest: Digest,
    size: u64,
    first: Response,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let body = steady(&registry, first);
    let state = Reading {
        blob: Blob {
            registry,
            repo,
            digest,
            size,
        },
        body: Some(body),
        delivered: 0,
        since_resumed: 0,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            let next = st.body.as_mut()?.next().await;
            match next {
                None => return None,
                Some(Ok(chunk)) => {
                    st.delivered += chunk.len() as u64;
                    st.since_resumed += chunk.len() as u64;
                    return Some((Ok(chunk), st));
                }
                Some(Err(cut)) => match st.blob.rest(st.delivered, st.since_resumed, &cut).await {
                    Some(rest) => {
                        st.body = Some(rest);
                        st.since_resumed = 0;
                    }
                    None => {
                        st.body = None;
                        return Some((Err(cut), st));
                    }
                },
            }
        }
    })
}

/// A body read with the registry's watch on its pace.
fn steady(registry: &Registry, resp: Response) -> Body {
    Box::pin(super::body::steady(resp.bytes_stream(), registry.timeout()))
}

/// The blob being read, and where from.
struct Blob {
    registry: Arc<Registry>,
    repo: String,
    digest: Digest,
    size: u64,
}

/// A blob's body as far as it has come.
struct Reading {
    blob: Blob,
    /// `None` once the body has ended with an error.
    body: Option<Body>,
    delivered: u64,
    since_resumed: u64,
}

impl Blob {
    /// The rest of the blob after `delivered` bytes, when a read failed with `cut` after
    /// its connection brought `since_resumed` bytes, enough to resume, and the registry
    /// answers the range; `None`: the failure stands (the copy's own retry reads the blob
    /// again from its start).
    async fn rest(&self, delivered: u64, since_resumed: u64, cut: &std::io::Error) -> Option<Body> {
        if since_resumed < MIN_PROGRESS || delivered >= self.size {
            return None;
        }
        let rest = self
            .registry
            .get_blob_from(&self.repo, &self.digest, delivered)
            .await
            .ok()??;
        self.registry.tell(&format!(
            "{}: blob {} cut off after {delivered} of {} bytes ({}): resumed there",
            self.registry.host(),
            self.digest.short(),
            self.size,
            ferry_core::error::chain(cut)
        ));
        Some(steady(&self.registry, rest))
    }
}
