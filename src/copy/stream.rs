//! Verification in the stream: every byte a copy moves is hashed on its way, and the
//! stream fails before its last byte when size or digest do not match.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

use super::Progress;
use crate::digest::Verifier;

/// Bytes from a registry response or an archive entry.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Passes bytes through while hashing them; ends the stream with an error on a mismatch.
pub(super) struct VerifyingStream {
    pub inner: ByteStream,
    pub verifier: Option<Verifier>,
    pub verdict: Arc<Mutex<Option<Result<u64, crate::digest::Mismatch>>>>,
    pub progress: Progress,
}

impl VerifyingStream {
    fn fail(&mut self, m: crate::digest::Mismatch) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        let msg = m.to_string();
        *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(Err(m));
        self.verifier = None;
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            msg,
        ))))
    }
}

impl Stream for VerifyingStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.verifier.is_none() {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                let checked = self.verifier.as_mut().map(|v| v.update(&chunk));
                if let Some(Err(m)) = checked {
                    return self.fail(m);
                }
                self.progress.advance(chunk.len() as u64);
                // With a known length the uploader stops reading at the last byte, so the
                // digest is checked before that byte is handed over, never after.
                if self.verifier.as_ref().is_some_and(Verifier::is_complete) {
                    match self.verifier.take().map(Verifier::finish) {
                        Some(Err(m)) => return self.fail(m),
                        Some(Ok(n)) => {
                            *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(Ok(n))
                        }
                        None => {}
                    }
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.verifier = None;
                Poll::Ready(Some(Err(std::io::Error::other(e))))
            }
            Poll::Ready(None) => match self.verifier.take().map(Verifier::finish) {
                Some(Err(m)) => self.fail(m),
                Some(Ok(n)) => {
                    *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(Ok(n));
                    Poll::Ready(None)
                }
                None => Poll::Ready(None),
            },
        }
    }
}
