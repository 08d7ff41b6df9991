//! Response bodies read with a ceiling, whatever `Content-Length` says: a registry (or
//! something posing as one) can send a chunked body that never ends.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// Error bodies are for messages: their first 64 KiB say all they will.
const ERROR_BODY_BYTES: usize = 64 << 10;

/// The whole body if it is at most `limit` bytes; `Ok(None)` as soon as it grows past it.
pub async fn up_to(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Option<Bytes>, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut out = BytesMut::new();
    while let Some(chunk) = resp.chunk().await? {
        if out.len() + chunk.len() > limit {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out.freeze()))
}

/// An error response's text for a message: at most its first 64 KiB, the rest never read.
pub async fn error_text(mut resp: reqwest::Response) -> String {
    let mut out = Vec::new();
    while out.len() < ERROR_BODY_BYTES {
        match resp.chunk().await {
            Ok(Some(chunk)) => out.extend_from_slice(&chunk),
            _ => break,
        }
    }
    out.truncate(ERROR_BODY_BYTES);
    String::from_utf8_lossy(&out).into_owned()
}

/// A blob body must move: at least this much in every period (the request timeout).
pub const MIN_BYTES_PER_PERIOD: u64 = 64 << 10;

/// Ends `body` with a timeout error when fewer than [`MIN_BYTES_PER_PERIOD`] bytes arrive in
/// a `period`: a body dripped a byte a minute would otherwise never end (a body that stops
/// altogether is the client's read timeout).
pub fn steady<E>(
    body: impl Stream<Item = Result<Bytes, E>>,
    period: Duration,
) -> impl Stream<Item = Result<Bytes, std::io::Error>>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    body.scan(
        (Instant::now(), 0u64, false),
        move |(since, moved, stalled), item| {
            if *stalled {
                return std::future::ready(None);
            }
            let out = match item {
                Err(e) => Err(std::io::Error::other(e)),
                Ok(chunk) => {
                    *moved += chunk.len() as u64;
                    if since.elapsed() < period {
                        Ok(chunk)
                    } else if *moved < MIN_BYTES_PER_PERIOD {
                        *stalled = true;
                        Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!(
                                "the blob stalls: {moved} bytes in {} s (at least {} KiB expected)",
                                since.elapsed().as_secs(),
                                MIN_BYTES_PER_PERIOD >> 10
                            ),
                        ))
                    } else {
                        (*since, *moved) = (Instant::now(), 0);
                        Ok(chunk)
                    }
                }
            };
            std::future::ready(Some(out))
        },
    )
}
