//! Verification in the stream: every byte the walker moves is hashed on its way, and the
//! stream fails before its last byte when size or digest do not match, so a sink that
//! reached the end of a [`Verified`] stream holds exactly the blob it was promised.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

use ferry_core::digest::{Mismatch, Verifier};
use ferry_core::observe::Observer;

/// Bytes from a registry response or a local file.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a stream ended before handing over a whole, verified blob.
pub(super) enum Broken {
    /// The bytes are not the blob.
    Mismatch(Mismatch),
    /// Reading from the source failed.
    Read(BoxError),
}

/// What a finished (or failed) stream said.
pub(super) type Verdict = Arc<Mutex<Option<Result<u64, Broken>>>>;

/// Where one transfer attempt reports its bytes, keeping count so that a failed attempt can
/// take them back.
pub(super) struct Progress {
    observer: Arc<dyn Observer>,
    image: usize,
    sent: Arc<AtomicU64>,
}

impl Progress {
    pub(super) fn new(observer: Arc<dyn Observer>, image: usize) -> Progress {
        Progress {
            observer,
            image,
            sent: Arc::default(),
        }
    }

    pub(super) fn sent(&self) -> Arc<AtomicU64> {
        self.sent.clone()
    }

    fn advance(&self, bytes: u64) {
        self.sent.fetch_add(bytes, Ordering::Relaxed);
        self.observer.advance(self.image, bytes);
    }
}

/// A blob's bytes passed through while being hashed; ends with an error on a mismatch,
/// before the last byte is handed over. Only the walker makes one.
pub struct Verified {
    inner: ByteStream,
    verifier: Option<Verifier>,
    verdict: Verdict,
    progress: Progress,
}

impl Verified {
    pub(super) fn new(
        inner: ByteStream,
        verifier: Verifier,
        verdict: Verdict,
        progress: Progress,
    ) -> Self {
        Verified {
            inner,
            verifier: Some(verifier),
            verdict,
            progress,
        }
    }

    fn fail(&mut self, m: Mismatch) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        let msg = m.to_string();
        *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(Err(Broken::Mismatch(m)));
        self.verifier = None;
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            msg,
        ))))
    }

    fn passed(&mut self, n: u64) {
        *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(Ok(n));
    }
}

impl Stream for Verified {
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
                // With a known length the consumer stops reading at the last byte, so the
                // digest is checked before that byte is handed over, never after.
                if self.verifier.as_ref().is_some_and(Verifier::is_complete) {
                    match self.verifier.take().map(Verifier::finish) {
                        Some(Err(m)) => return self.fail(m),
                        Some(Ok(n)) => self.passed(n),
                        None => {}
                    }
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.verifier = None;
                let message = e.to_string();
                *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Err(Broken::Read(e)));
                Poll::Ready(Some(Err(std::io::Error::other(message))))
            }
            Poll::Ready(None) => match self.verifier.take().map(Verifier::finish) {
                Some(Err(m)) => self.fail(m),
                Some(Ok(n)) => {
                    self.passed(n);
                    Poll::Ready(None)
                }
                None => Poll::Ready(None),
            },
        }
    }
}
