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
        let (rest, before) = self
            .registry
            .get_blob_from(&self.repo, &self.digest, delivered)
            .await
            .ok()??;
        let how = if before == 0 {
            "resumed there".to_string()
        } else {
            format!("read again, its first {before} bytes skipped (the registry serves no ranges)")
        };
        self.registry.tell(&format!(
            "{}: blob {} cut off after {delivered} of {} bytes ({}): {how}",
            self.registry.host(),
            self.digest.short(),
            self.size,
            ferry_core::error::chain(cut)
        ));
        Some(skipping(steady(&self.registry, rest), before))
    }
}

/// `body` without its first `skip` bytes (what the reader already has).
fn skipping(body: Body, skip: u64) -> Body {
    if skip == 0 {
        return body;
    }
    Box::pin(futures_util::stream::unfold(
        (body, skip),
        |(mut body, mut left)| async move {
            loop {
                match body.next().await? {
                    Ok(chunk) if left >= chunk.len() as u64 => left -= chunk.len() as u64,
                    Ok(chunk) => return Some((Ok(chunk.slice(left as usize..)), (body, 0))),
                    Err(e) => return Some((Err(e), (body, left))),
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> Body {
        let items: Vec<Result<Bytes, std::io::Error>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Box::pin(futures_util::stream::iter(items))
    }

    async fn all(body: Body) -> Vec<u8> {
        body.map(|c| c.unwrap().to_vec()).concat().await
    }

    #[tokio::test]
    async fn skipping_drops_the_bytes_already_read_across_chunks() {
        let parts: &[&'static [u8]] = &[b"abc", b"", b"defg", b"hi"];
        assert_eq!(all(skipping(chunks(parts), 0)).await, b"abcdefghi");
        assert_eq!(all(skipping(chunks(parts), 3)).await, b"defghi");
        assert_eq!(all(skipping(chunks(parts), 5)).await, b"fghi");
        assert_eq!(all(skipping(chunks(parts), 9)).await, b"");
    }
}
