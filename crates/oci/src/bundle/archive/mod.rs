//! Reads an OCI-layout tar (a ferry bundle, or any `oci-archive`) without extracting it:
//! one pass over the headers records where each file's bytes are, refusing anything hostile
//! (absolute or `..` paths, links, devices, duplicates, truncation); blobs are then read
//! straight from the tar by offset.

use std::collections::{BTreeMap, BTreeSet};

mod walk;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
pub use walk::Walk;

use super::compress::{Compression, reader_of_any};
use super::{BundleError, FORMAT, Meta, REF_NAME, io_err};
use ferry_core::digest::{Digest, Verifier};
use ferry_core::manifest::Descriptor;

/// Small files (index.json, manifests, ferry.json) are read whole; a bigger one is refused.
const MAX_SMALL_FILE: u64 = 64 << 20;

/// What [`Archive::catalog`] keeps of a compressed bundle.
const METADATA: [&str; 3] = ["ferry.json", "index.json", "oci-layout"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub offset: u64,
    pub size: u64,
}

#[derive(Debug)]
pub struct Archive {
    /// The bundle as given (for messages).
    pub path: PathBuf,
    /// The plain tar the offsets refer to, open: `path`, or a decompressed copy already
    /// unlinked (so a killed run leaves nothing behind); `None` for a streamed catalog.
    data: Option<Arc<Data>>,
    /// How a streamed catalog's bundle is compressed (`None` once it has random access).
    compression: Option<Compression>,
    /// The blobs `materialize` left out of the decompressed copy: no image uses them.
    pub left_out: Vec<String>,
    pub entries: BTreeMap<String, Entry>,
    /// Files read whole while streaming a compressed bundle: `METADATA`, and with hashing
    /// also `manifests/` and JSON blobs up to `MAX_MANIFEST` (manifests and configs).
    small: BTreeMap<String, Vec<u8>>,
    /// Blobs hashed while streaming (`catalog_hashed`): bytes checked, or the problem.
    hashed: BTreeMap<String, Result<u64, String>>,
    /// `ferry.json` once read: verify, push and install ask for it several times.
    meta: std::sync::OnceLock<Option<Meta>>,
}

/// The largest blob `catalog_hashed` keeps in memory to be read as a manifest later.
const MAX_MANIFEST: u64 = 4 << 20;

/// All that a streamed pass keeps in memory, together: a thousand images' manifests and
/// configs are a few tens of MiB; more is not a plausible bundle.
const MAX_KEPT: usize = 256 << 20;

/// The plain tar's bytes: one file, or a split bundle's parts read as one.
#[derive(Debug)]
pub(crate) enum Data {
    File(File),
    Parts(super::parts::PartSet),
}

impl Data {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        match self {
            Data::File(f) => f.read_at(buf, offset),
            Data::Parts(p) => p.read_at(buf, offset),
        }
    }

    fn len(&self) -> std::io::Result<u64> {
        match self {
            Data::File(f) => Ok(f.metadata()?.len()),
            Data::Parts(p) => Ok(p.len()),
        }
    }

    /// The file holding byte `offset`, the offset in it, and how many bytes from there are
    /// in that one file (a part's rest; a whole file's: unbounded here).
    fn contiguous(&self, offset: u64) -> Option<(&File, u64, u64)> {
        match self {
            Data::File(f) => Some((f, offset, u64::MAX)),
            Data::Parts(p) => p.locate(offset),
        }
    }
}

/// `Data` read in order from a position, for the tar crate's header pass.
struct Cursor<'a> {
    data: &'a Data,
    at: u64,
}

impl Read for Cursor<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for Cursor<'_> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let base = match to {
            std::io::SeekFrom::Start(n) => Some(n),
            std::io::SeekFrom::Current(d) => self.at.checked_add_signed(d),
            std::io::SeekFrom::End(d) => self.data.len()?.checked_add_signed(d),
        };
        self.at = base.ok_or_else(|| std::io::Error::other("seek before the start"))?;
        Ok(self.at)
    }
}

/// What a path given as a bundle is read from: the file, or the parts its index names.
fn open_data(path: &Path) -> Result<Data, BundleError> {
    use super::parts::{Given, PartSet};
    match Given::of(path) {
        Given::Whole => Ok(Data::File(std::fs::File::open(path).map_err(io_err(path))?)),
        Given::Set(index) => Ok(Data::Parts(PartSet::open(&index)?)),
        Given::Part(_, n) => Err(invalid(
            path,
            format!(
                "part {n} of a split bundle: give its first part (.part-001) or its index \
                 (.parts.json) to read the bundle; verify checks a part alone"
            ),
        )),
    }
}

/// The whole tar stream (still compressed, if it is), from the start.
fn stream_of(data: &Data) -> std::io::Result<Box<dyn Read>> {
    match data {
        Data::File(f) => {
            let mut f = f.try_clone()?;
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0))?;
            Ok(Box::new(f))
        }
        Data::Parts(p) => Ok(p.reader()?),
    }
}

/// An entry's bytes, read at their offsets (`pread`): readers of one archive share its
/// open file and never each other's position.
pub struct EntryReader {
    file: Arc<Data>,
    at: u64,
    end: u64,
}

impl EntryReader {
    /// The next at most `max` bytes, read into a buffer of their size that is never zeroed
    /// first (`Read::read_to_end` zeroes each one: 5% of a push's CPU). Shorter at the end
    /// of a part; empty at the entry's end.
    pub fn next_chunk(&mut self, max: usize) -> std::io::Result<Vec<u8>> {
        let Some((file, within, in_file)) = self.file.contiguous(self.at) else {
            return Ok(Vec::new());
        };
        let want = (self.end - self.at).min(in_file).min(max as u64);
        // At most `max`, a usize. `with_capacity` gives exactly this capacity (Vec's
        // guarantee), so a read into the spare capacity never passes the entry's end.
        let mut chunk = Vec::with_capacity(want as usize);
        while chunk.len() < chunk.capacity() {
            let at = within + chunk.len() as u64;
            match rustix::io::pread(file, rustix::buffer::spare_capacity(&mut chunk), at) {
                Ok(0) => break,
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.at += chunk.len() as u64;
        Ok(chunk)
    }
}

impl Read for EntryReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = usize::try_from(self.end - self.at).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// One image named by `index.json`.
#[derive(Debug, Clone)]
pub struct Named {
    pub descriptor: Descriptor,
    /// The `org.opencontainers.image.ref.name` annotation, if any.
    pub name: Option<String>,
}

/// A tar that fails before its first entry is no tar at all; later, it is a damaged one.
fn unreadable(path: &Path, nothing_read: bool, e: std::io::Error) -> BundleError {
    if nothing_read {
        invalid(path, format!("not a bundle (not a tar archive: {e})"))
    } else {
        invalid(path, format!("truncated or corrupt tar: {e}"))
    }
}

fn invalid(path: &Path, message: impl std::fmt::Display) -> BundleError {
    BundleError::Invalid(format!("{}: {message}", path.display()))
}

/// The digest a `blobs/sha256/HEX` entry is named by.
pub(crate) fn blob_digest(name: &str) -> Option<Digest> {
    name.strip_prefix("blobs/sha256/")
        .and_then(|hex| format!("sha256:{hex}").parse::<Digest>().ok())
}

/// Bytes that may be a manifest or config: a JSON object.
fn is_json(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().first() == Some(&b'{')
}

/// What a streamed pass keeps in memory.
#[derive(Debug, Clone, Copy)]
struct Keep {
    /// Every file that is not a blob (`manifests/`, `sources/`, `values/`).
    files: bool,
    /// JSON blobs up to `MAX_MANIFEST`: manifests and configs, for the graph walk.
    json: bool,
    /// Hash every blob on the way (JSON blobs kept as with `json`).
    hash: bool,
}

impl Keep {
    const METADATA: Keep = Keep {
        files: false,
        json: false,
        hash: false,
    };
    const FILES: Keep = Keep {
        files: true,
        ..Keep::METADATA
    };
    const JSON: Keep = Keep {
        json: true,
        ..Keep::METADATA
    };
    const HASHED: Keep = Keep {
        files: true,
        json: true,
        hash: true,
    };
}

/// A safe relative path: no root, no `..`, `./` dropped.
fn clean_name(raw: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in raw.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?.to_string()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The bundle's compression, from its first bytes.
fn compression_of(path: &Path, data: &Data) -> Result<Compression, BundleError> {
    let mut magic = [0u8; 4];
    let n = data.read_at(&mut magic, 0).map_err(io_err(path))?;
    Ok(Compression::sniff(&magic[..n]))
}

/// The longest GNU long name or PAX record block read: names of a few KiB are already
/// absurd, and a hostile header may claim gigabytes.
const MAX_NAME_BYTES: u64 = 4 << 10;
const MAX_PAX_BYTES: u64 = 64 << 10;

/// Names entries from raw tar records: GNU long names and PAX `path` records (read with a
/// ceiling, unlike the tar crate's own processing), global PAX headers passed over (`git
/// archive` writes one), every real entry checked.
#[derive(Default)]
struct Naming {
    long_name: Option<Vec<u8>>,
    pax_path: Option<Vec<u8>>,
}

/// What a raw record is.
enum Record {
    /// Describes the next entry (a long name, a PAX header) or the archive (global PAX).
    Extension,
    Directory,
    File(String),
}

impl Naming {
    fn record<R: Read>(
        &mut self,
        path: &Path,
        entry: &mut tar::Entry<R>,
    ) -> Result<Record, BundleError> {
        let kind = entry.header().entry_type();
        let capped =
            |entry: &mut tar::Entry<R>, cap: u64, what: &str| -> Result<Vec<u8>, BundleError> {
                if entry.size() > cap {
                    return Err(invalid(
                        path,
                        format!(
                            "a {what} of {} bytes (at most {cap} are read)",
                            entry.size()
                        ),
                    ));
                }
                let mut bytes = Vec::new();
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| invalid(path, format!("truncated or corrupt tar: {e}")))?;
                Ok(bytes)
            };
        if kind.is_gnu_longname() {
            let mut name = capped(entry, MAX_NAME_BYTES, "long entry name")?;
            while name.last() == Some(&0) {
                name.pop();
            }
            self.long_name = Some(name);
            return Ok(Record::Extension);
        }
        if kind.is_gnu_longlink() {
            capped(entry, MAX_NAME_BYTES, "long link name")?;
            return Ok(Record::Extension);
        }
        if kind.is_pax_local_extensions() || kind.is_pax_global_extensions() {
            let records = capped(entry, MAX_PAX_BYTES, "PAX header")?;
            if kind.is_pax_local_extensions() {
                self.pax_path = tar::PaxExtensions::new(&records)
                    .filter_map(Result::ok)
                    .find(|r| r.key_bytes() == b"path")
                    .map(|r| r.value_bytes().to_vec());
            }
            return Ok(Record::Extension);
        }
        let raw = self
            .pax_path
            .take()
            .or_else(|| self.long_name.take())
            .unwrap_or_else(|| entry.path_bytes().into_owned());
        let Ok(name) = String::from_utf8(raw.clone()) else {
            return Err(invalid(
                path,
                format!(
                    "entry {:?} has a name that is not UTF-8",
                    String::from_utf8_lossy(&raw)
                ),
            ));
        };
        let shown = format!("{name:?}");
        let name = Path::new(&name);
        if kind.is_dir() {
            if clean_name(name).is_none() && name != Path::new("./") && name != Path::new(".") {
                return Err(invalid(path, format!("entry {shown} escapes the bundle")));
            }
            return Ok(Record::Directory);
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(invalid(
                path,
                format!(
                    "entry {shown} is a {kind:?}, not a regular file: links and devices are refused"
                ),
            ));
        }
        clean_name(name)
            .map(Record::File)
            .ok_or_else(|| invalid(path, format!("entry {shown} escapes the bundle")))
    }
}

impl Archive {
    /// Opens a bundle for random access; a compressed one is read once to learn what its
    /// images use, then decompressed into the scratch directory ([`super::scratch_dir`]),
    /// never beside the bundle, which may sit on read-only media ([`Archive::materialize`]).
    pub fn open(path: &Path) -> Result<Archive, BundleError> {
        Self::open_observed(path, &ferry_core::observe::Silent)
    }

    /// Whether the bundle at `path` is compressed: opening it then reads it twice.
    pub fn is_compressed(path: &Path) -> Result<bool, BundleError> {
        let data = open_data(path)?;
        Ok(compression_of(path, &data)? != Compression::None)
    }

    /// Whether this streamed catalog's bundle is compressed ([`Archive::materialize`] then
    /// decompresses it).
    pub fn streamed_compressed(&self) -> bool {
        self.compression.is_some()
    }

    /// [`Archive::open`], telling `observer` of the compressed bytes as both passes read
    /// them (the catalog's, then the copy's): minutes of a large bundle, seen as they pass.
    pub fn open_observed(
        path: &Path,
        observer: &dyn ferry_core::observe::Observer,
    ) -> Result<Archive, BundleError> {
        // What killed runs left goes first, whatever becomes of this one.
        sweep_stale_copies(&super::scratch_dir());
        Self::stream_observed(path, Keep::JSON, observer)?.materialize_observed(observer)
    }

    /// This archive with random access: a plain tar as it is; a streamed catalog of a
    /// compressed one decompressed into the scratch directory, with only what can be
    /// needed (the layout, every other file, the blobs reached from `index.json`: a blob no
    /// image uses is never written), and the space it takes checked first. The bytes kept
    /// while streaming are kept, so what was read (and verified) then is what is used.
    pub fn materialize(self) -> Result<Archive, BundleError> {
        self.materialize_observed(&ferry_core::observe::Silent)
    }

    /// [`Archive::materialize`], telling `observer` of the compressed bytes as they are read.
    pub fn materialize_observed(
        self,
        observer: &dyn ferry_core::observe::Observer,
    ) -> Result<Archive, BundleError> {
        let Some(compression) = self.compression else {
            return Ok(self);
        };
        let path = self.path.clone();
        let reached = self.walk()?.reached;
        let needed: BTreeMap<&String, u64> = self
            .entries
            .iter()
            .filter(|(name, _)| blob_digest(name).is_none_or(|d| reached.contains(&d)))
            .map(|(name, e)| (name, e.size))
            .collect();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let scratch = super::scratch_dir();
        sweep_stale_copies(&scratch);
        let size = super::space::tar_size(needed.iter().map(|(n, s)| (n.len(), *s)));
        super::space::check_space(&scratch, size).map_err(|e| match e {
            BundleError::NoSpace {
                dir,
                needed,
                available,
            } => BundleError::NoSpace {
                dir: format!("{dir} (to decompress {}; TMPDIR moves it)", path.display()),
                needed,
                available,
            },
            other => other,
        })?;
        let plain = scratch.join(format!(".{name}.plain-{}.tar", std::process::id()));
        let wanted: BTreeSet<&str> = needed.keys().map(|n| n.as_str()).collect();
        let decompressed = Self::decompress_checked(&path, compression, &plain, &wanted, observer);
        let opened = decompressed.and_then(|()| {
            std::fs::File::open(&plain)
                .map(Data::File)
                .map_err(|e| invalid(&path, format!("cannot read its copy: {e}")))
        });
        // Read through the open file from here on: the name is not needed any more.
        let _ = std::fs::remove_file(&plain);
        let mut archive = Self::open_plain(&path, opened?)?;
        archive.left_out = self
            .entries
            .keys()
            .filter(|n| !wanted.contains(n.as_str()))
            .cloned()
            .collect();
        archive.small = self.small;
        archive.hashed = self.hashed;
        archive.meta = self.meta;
        Ok(archive)
    }

    /// The entries and metadata without random access: for a compressed bundle, one streamed
    /// pass that keeps `ferry.json`, `index.json` and `oci-layout` and writes nothing to disk
    /// (`open` decompresses to a temporary file); a plain tar is simply opened.
    pub fn catalog(path: &Path) -> Result<Archive, BundleError> {
        Self::stream(path, Keep::METADATA)
    }

    /// A catalog that also keeps the `manifests/` files: all `rewrite` needs.
    pub fn catalog_manifests(path: &Path) -> Result<Archive, BundleError> {
        Self::stream(path, Keep::FILES)
    }

    /// A catalog whose blobs were hashed on the way, with `manifests/` files and JSON blobs
    /// kept: all `verify` needs, in one pass without a decompressed copy on disk. A
    /// compressed bundle's bytes are told to `observer` as they are read (a plain one is
    /// read by the hashing that follows).
    pub fn catalog_hashed(
        path: &Path,
        observer: &dyn ferry_core::observe::Observer,
    ) -> Result<Archive, BundleError> {
        Self::stream_observed(path, Keep::HASHED, observer)
    }

    fn stream(path: &Path, keep: Keep) -> Result<Archive, BundleError> {
        Self::stream_observed(path, keep, &ferry_core::observe::Silent)
    }

    fn stream_observed(
        path: &Path,
        keep: Keep,
        observer: &dyn ferry_core::observe::Observer,
    ) -> Result<Archive, BundleError> {
        let data = open_data(path)?;
        let compression = compression_of(path, &data)?;
        if compression == Compression::None {
            return Self::open_plain(path, data);
        }
        observer.expect(data.len().map_err(io_err(path))?);
        let counted = ferry_core::observe::Counting {
            inner: stream_of(&data).map_err(io_err(path))?,
            observer,
        };
        // The counted stream borrows the observer for this pass only.
        let counted: Box<dyn Read + '_> = Box::new(counted);
        let stream = reader_of_any(counted, compression).map_err(io_err(path))?;
        let mut archive = tar::Archive::new(stream);
        let mut entries = BTreeMap::new();
        let mut small = BTreeMap::new();
        let mut hashed = BTreeMap::new();
        let mut kept_bytes = 0usize;
        let corrupt = |e: std::io::Error| invalid(path, format!("truncated or corrupt tar: {e}"));
        let iter = archive
            .entries()
            .map_err(|e| invalid(path, format!("not a tar: {e}")))?
            .raw(true);
        let mut naming = Naming::default();
        for entry in iter {
            let mut entry = entry.map_err(|e| unreadable(path, entries.is_empty(), e))?;
            let Record::File(name) = naming.record(path, &mut entry)? else {
                continue;
            };
            let size = entry.size();
            let offset = entry.raw_file_position();
            let blob = blob_digest(&name);
            let kept_file = METADATA.contains(&name.as_str())
                || (keep.files && blob.is_none() && !name.starts_with("blobs/"));
            let mut kept = None;
            if kept_file && size <= MAX_SMALL_FILE {
                let mut bytes = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut bytes).map_err(corrupt)?;
                kept = Some(bytes);
            } else if let (true, Some(digest)) = (keep.hash, &blob) {
                // Manifests and configs (JSON) are kept for the descriptor walk.
                let mut bytes = (size <= MAX_MANIFEST).then(Vec::new);
                let result = Verifier::new(digest.clone(), Some(size))
                    .read_all(&mut entry, bytes.as_mut())
                    .map_err(corrupt)?
                    .map_err(|m| format!("{name}: {m}"));
                kept = bytes.filter(|k| is_json(k));
                hashed.insert(name.clone(), result);
            } else if keep.json && blob.is_some() && size <= MAX_MANIFEST {
                let mut bytes = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut bytes).map_err(corrupt)?;
                kept = Some(bytes).filter(|k| is_json(k));
            }
            if let Some(bytes) = kept {
                kept_bytes += bytes.len();
                small.insert(name.clone(), bytes);
            }
            if kept_bytes > MAX_KEPT {
                return Err(invalid(
                    path,
                    format!(
                        "its metadata, manifests and JSON blobs exceed {} MiB: not a plausible bundle",
                        MAX_KEPT >> 20
                    ),
                ));
            }
            if entries
                .insert(name.clone(), Entry { offset, size })
                .is_some()
            {
                return Err(invalid(path, format!("entry {name:?} appears twice")));
            }
        }
        let archive = Archive {
            path: path.to_path_buf(),
            data: None,
            compression: Some(compression),
            left_out: Vec::new(),
            entries,
            small,
            hashed,
            meta: Default::default(),
        };
        archive.check_layout()?;
        Ok(archive)
    }

    fn check_layout(&self) -> Result<(), BundleError> {
        if !self.entries.contains_key("oci-layout") || !self.entries.contains_key("index.json") {
            return Err(invalid(
                &self.path,
                "not an OCI image layout (no oci-layout or index.json)",
            ));
        }
        Ok(())
    }

    /// Decompresses the `wanted` entries into the tar `plain`, every entry's record checked
    /// as it passes (a hostile one stops the copy at once, not after gigabytes).
    fn decompress_checked(
        path: &Path,
        compression: Compression,
        plain: &Path,
        wanted: &BTreeSet<&str>,
        observer: &dyn ferry_core::observe::Observer,
    ) -> Result<(), BundleError> {
        let out = std::fs::File::create(plain).map_err(io_err(plain))?;
        let mut copy = tar::Builder::new(std::io::BufWriter::new(out));
        let data = open_data(path)?;
        observer.expect(data.len().map_err(io_err(path))?);
        let input = ferry_core::observe::Counting {
            inner: stream_of(&data).map_err(io_err(path))?,
            observer,
        };
        let input: Box<dyn Read + '_> = Box::new(input);
        let mut archive =
            tar::Archive::new(reader_of_any(input, compression).map_err(io_err(path))?);
        let mut naming = Naming::default();
        let mut seen = BTreeSet::new();
        let fail = |e: std::io::Error| invalid(path, format!("cannot decompress: {e}"));
        for entry in archive.entries().map_err(fail)?.raw(true) {
            let mut entry = entry.map_err(fail)?;
            let Record::File(name) = naming.record(path, &mut entry)? else {
                continue;
            };
            if !seen.insert(name.clone()) {
                return Err(invalid(path, format!("entry {name:?} appears twice")));
            }
            if wanted.contains(name.as_str()) {
                let mut header = super::space::header(entry.size());
                copy.append_data(&mut header, &name, &mut entry)
                    .map_err(io_err(plain))?;
            }
        }
        let mut out = copy.into_inner().map_err(io_err(plain))?;
        std::io::Write::flush(&mut out).map_err(io_err(plain))?;
        Ok(())
    }

    fn open_plain(path: &Path, data: Data) -> Result<Archive, BundleError> {
        let len = data.len().map_err(io_err(path))?;
        let mut archive = tar::Archive::new(Cursor { data: &data, at: 0 });
        let mut entries = BTreeMap::new();
        let iter = archive
            .entries_with_seek()
            .map_err(|e| invalid(path, format!("not a tar: {e}")))?
            .raw(true);
        let mut naming = Naming::default();
        for entry in iter {
            let mut entry = entry.map_err(|e| unreadable(path, entries.is_empty(), e))?;
            let Record::File(name) = naming.record(path, &mut entry)? else {
                continue;
            };
            let size = entry.size();
            let offset = entry.raw_file_position();
            if offset.checked_add(size).is_none_or(|end| end > len) {
                return Err(invalid(
                    path,
                    format!("entry {name:?} claims {size} bytes past the end: truncated bundle"),
                ));
            }
            if entries
                .insert(name.clone(), Entry { offset, size })
                .is_some()
            {
                return Err(invalid(path, format!("entry {name:?} appears twice")));
            }
        }
        let opened = Archive {
            path: path.to_path_buf(),
            data: Some(Arc::new(data)),
            compression: None,
            left_out: Vec::new(),
            entries,
            small: BTreeMap::new(),
            hashed: BTreeMap::new(),
            meta: Default::default(),
        };
        opened.check_layout()?;
        Ok(opened)
    }

    /// Reads a small file whole.
    pub fn read(&self, name: &str) -> Result<Vec<u8>, BundleError> {
        if let Some(bytes) = self.small.get(name) {
            return Ok(bytes.clone());
        }
        let e = *self
            .entries
            .get(name)
            .ok_or_else(|| invalid(&self.path, format!("{name} is missing")))?;
        if e.size > MAX_SMALL_FILE {
            return Err(invalid(
                &self.path,
                format!("{name} is {} bytes, too large to be metadata", e.size),
            ));
        }
        let mut buf = vec![0; e.size as usize];
        let mut f = self.open_at(e)?;
        f.read_exact(&mut buf).map_err(io_err(&self.path))?;
        Ok(buf)
    }

    /// What hashing `name` while streaming found, for a `catalog_hashed` archive.
    pub fn hashed(&self, name: &str) -> Option<&Result<u64, String>> {
        self.hashed.get(name)
    }

    /// Bytes read whole while streaming.
    pub fn kept(&self, name: &str) -> Option<&[u8]> {
        self.small.get(name).map(Vec::as_slice)
    }

    /// A reader of an entry's bytes, limited to its size.
    pub fn open_at(&self, e: Entry) -> Result<EntryReader, BundleError> {
        let Some(file) = &self.data else {
            return Err(invalid(
                &self.path,
                "a catalog of a compressed bundle has no random access (open it instead)",
            ));
        };
        Ok(EntryReader {
            file: Arc::clone(file),
            at: e.offset,
            end: e.offset + e.size,
        })
    }

    pub fn blob(&self, digest: &Digest) -> Option<Entry> {
        self.entries
            .get(&format!("blobs/sha256/{}", digest.hex()))
            .copied()
    }

    /// Reads a manifest blob, checking it against its digest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, BundleError> {
        let bytes = self.read(&format!("blobs/sha256/{}", digest.hex()))?;
        let actual = Digest::of(&bytes);
        if actual != *digest {
            return Err(BundleError::Integrity(format!(
                "blobs/sha256/{} holds {actual}",
                digest.hex()
            )));
        }
        Ok(bytes)
    }

    /// `ferry.json`, if this is a ferry bundle; an unknown format version is an error.
    pub fn meta(&self) -> Result<Option<Meta>, BundleError> {
        if let Some(meta) = self.meta.get() {
            return Ok(meta.clone());
        }
        let meta = self.read_meta()?;
        Ok(self.meta.get_or_init(|| meta).clone())
    }

    fn read_meta(&self) -> Result<Option<Meta>, BundleError> {
        if !self.entries.contains_key("ferry.json") {
            return Ok(None);
        }
        let bytes = self.read("ferry.json")?;
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(&self.path, format!("ferry.json: {e}")))?;
        match v.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            other => {
                let made_by = v
                    .get("ferry_version")
                    .and_then(|f| f.as_str())
                    .map(|f| format!(" made by ferry {}", ferry_core::text::printable(f)))
                    .unwrap_or_default();
                let what = match other {
                    Some(f) => format!(
                        "a bundle of format {}{made_by}",
                        ferry_core::text::printable(f)
                    ),
                    None => format!("ferry.json names no format{made_by}"),
                };
                return Err(invalid(
                    &self.path,
                    format!(
                        "{what}; this ferry ({}) reads {FORMAT}: use a ferry that reads it",
                        env!("CARGO_PKG_VERSION")
                    ),
                ));
            }
        }
        serde_json::from_value(v)
            .map(Some)
            .map_err(|e| invalid(&self.path, format!("ferry.json: {e}")))
    }

    /// The images `index.json` names.
    pub fn images(&self) -> Result<Vec<Named>, BundleError> {
        #[derive(serde::Deserialize)]
        struct Index {
            manifests: Vec<serde_json::Value>,
        }
        let bytes = self.read("index.json")?;
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(&self.path, format!("index.json: {e}")))?;
        index
            .manifests
            .into_iter()
            .map(|m| {
                let name = m
                    .get("annotations")
                    .and_then(|a| a.get(REF_NAME))
                    .and_then(|n| n.as_str())
                    .map(str::to_string);
                let descriptor: Descriptor = serde_json::from_value(m)
                    .map_err(|e| invalid(&self.path, format!("index.json: {e}")))?;
                Ok(Named { descriptor, name })
            })
            .collect()
    }
}

/// Removes decompressed copies (`.NAME.plain-PID.tar`) that killed runs left in the scratch
/// directory; a copy whose process still runs is another push's.
fn sweep_stale_copies(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tar"))
            .and_then(|n| n.rsplit_once(".plain-"))
            .and_then(|(_, pid)| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new("/proc").join(pid.to_string()).exists()
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_escape_are_refused() {
        assert_eq!(
            clean_name(Path::new("./blobs/sha256/ab")),
            Some("blobs/sha256/ab".into())
        );
        assert_eq!(clean_name(Path::new("../etc/passwd")), None);
        assert_eq!(clean_name(Path::new("/etc/passwd")), None);
        assert_eq!(clean_name(Path::new("a/../../b")), None);
        assert_eq!(clean_name(Path::new(".")), None);
    }
}
