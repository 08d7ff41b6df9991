//! Optional bundle compression. Layers are already compressed, so a bundle is a plain tar by
//! default (and is read in place by offset); gzip or zstd on request, by flag or extension.
//! A compressed bundle is decompressed to a temporary plain tar beside it to be read.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// From the bundle's name: `.tar.gz`/`.tgz` gzip, `.tar.zst`/`.tzst` zstd, else none.
    pub fn from_name(path: &Path) -> Compression {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".gz") || name.ends_with(".tgz") {
            Compression::Gzip
        } else if name.ends_with(".zst") || name.ends_with(".tzst") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// What a file's first bytes say it is.
    pub fn sniff(magic: &[u8]) -> Compression {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// The bundle writer: plain, gzip (fixed header, so output is reproducible) or zstd, into
/// a file or a set of parts.
pub enum Writer<W: Write> {
    Plain(BufWriter<W>),
    Gzip(flate2::write::GzEncoder<BufWriter<W>>),
    Zstd(zstd::Encoder<'static, BufWriter<W>>),
}

impl<W: Write> Writer<W> {
    pub fn new(inner: W, c: Compression) -> io::Result<Writer<W>> {
        let buffered = BufWriter::with_capacity(1 << 20, inner);
        Ok(match c {
            Compression::None => Writer::Plain(buffered),
            // GzBuilder writes mtime 0 and no name unless told: the same bytes every time.
            Compression::Gzip => {
                Writer::Gzip(flate2::GzBuilder::new().write(buffered, flate2::Compression::new(3)))
            }
            Compression::Zstd => {
                let mut e = zstd::Encoder::new(buffered, 3)?;
                // Multithreaded zstd output depends only on level and worker count: fixed here.
                e.multithread(2)?;
                Writer::Zstd(e)
            }
        })
    }

    /// Finishes the stream and returns what it wrote into.
    pub fn finish(self) -> io::Result<W> {
        let buffered = match self {
            Writer::Plain(b) => b,
            Writer::Gzip(g) => g.finish()?,
            Writer::Zstd(z) => z.finish()?,
        };
        buffered
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
    }
}

impl<W: Write> Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Writer::Plain(w) => w.write(buf),
            Writer::Gzip(w) => w.write(buf),
            Writer::Zstd(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Writer::Plain(w) => w.flush(),
            Writer::Gzip(w) => w.flush(),
            Writer::Zstd(w) => w.flush(),
        }
    }
}

/// The plain tar stream of `src`.
pub fn reader(src: &Path, c: Compression) -> io::Result<Box<dyn Read>> {
    reader_of(Box::new(File::open(src)?), c)
}

/// Decompresses what `input` yields (a file, a split bundle's parts in order).
pub fn reader_of(input: Box<dyn Read>, c: Compression) -> io::Result<Box<dyn Read>> {
    reader_of_any(input, c)
}

/// As [`reader_of`], for an input that borrows (a counted stream).
pub fn reader_of_any<'a>(
    input: Box<dyn Read + 'a>,
    c: Compression,
) -> io::Result<Box<dyn Read + 'a>> {
    let input = std::io::BufReader::new(input);
    Ok(match c {
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(input)),
        Compression::Zstd => Box::new(zstd::Decoder::new(input)?),
        Compression::None => Box::new(input),
    })
}
