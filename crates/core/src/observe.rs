//! What the copy engine tells about bytes as they move: the graph calls an [`Observer`];
//! the edge draws bars or prints lines from it.

/// Receives byte counts from the copy engine; `image` is the job's index.
pub trait Observer: Send + Sync {
    /// Bytes the whole run will account for, known before any moves (every image's
    /// manifests were read first); then `add_total` no longer grows the overall total.
    fn expect(&self, _bytes: u64) {}
    /// More bytes this image will account for (learned as manifests are read).
    fn add_total(&self, _image: usize, _bytes: u64) {}
    /// Bytes of an image found complete at the target: done, without moving.
    fn settled(&self, _image: usize, _bytes: u64) {}
    /// Bytes done: transferred, or found already present.
    fn advance(&self, _image: usize, _bytes: u64) {}
    /// Bytes of a failed attempt, to be transferred again.
    fn rewind(&self, _image: usize, _bytes: u64) {}
}

/// Reports nothing.
pub struct Silent;
impl Observer for Silent {}

/// A reader that tells `observer` (as image 0) how many bytes passed: a long read of a file
/// (verify's hashing) shows progress the way a copy does.
pub struct Counting<'o, R> {
    pub inner: R,
    pub observer: &'o dyn Observer,
}

impl<R: std::io::Read> std::io::Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observer.advance(0, n as u64);
        Ok(n)
    }
}
