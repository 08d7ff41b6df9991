//! A bundle split into parts for size-limited media (`bundle --split SIZE`): `NAME.part-001`,
//! `NAME.part-002`, ... whose bytes in order are the whole bundle (`cat` joins them), and an
//! index `NAME.parts.json` naming each part's size and sha256. Readers take the set by the
//! index or its first part and read across the parts in place, never joining them on disk;
//! each part can also be checked alone.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::BundleError;
use ferry_core::atomic::Partial;
use ferry_core::digest::{Digest, Hasher};

/// `schema` of a parts index.
pub const SCHEMA: &str = "ferry.parts/v1";

/// The index of a split bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartsIndex {
    pub schema: String,
    /// The whole bundle's file name (`app.tar`): the parts are `app.tar.part-NNN` beside it.
    pub bundle: String,
    pub size: u64,
    pub sha256: Digest,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub name: String,
    pub size: u64,
    pub sha256: Digest,
}

/// The name of part `n` (from 1) of `bundle`.
pub fn part_name(bundle: &str, n: usize) -> String {
    format!("{bundle}.part-{n:03}")
}

/// The index's name for `bundle`.
pub fn index_name(bundle: &str) -> String {
    format!("{bundle}.parts.json")
}

/// What a path given as a bundle names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    /// A whole bundle.
    Whole,
    /// A split bundle, by its index or its first part: the index's path.
    Set(PathBuf),
    /// Another part alone: the index's path and the part's number.
    Part(PathBuf, usize),
}

impl Given {
    pub fn of(path: &Path) -> Given {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".parts.json") {
            return Given::Set(path.to_path_buf());
        }
        let Some((bundle, n)) = name.rsplit_once(".part-") else {
            return Given::Whole;
        };
        let Ok(n) = n.parse::<usize>() else {
            return Given::Whole;
        };
        let index = path.with_file_name(index_name(bundle));
        if n == 1 {
            Given::Set(index)
        } else {
            Given::Part(index, n)
        }
    }
}

impl PartsIndex {
    /// Reads an index and checks its shape: every part named exactly as `bundle`'s parts
    /// are, in order (the names become paths: nothing else may), sizes adding up.
    pub fn read(path: &Path) -> Result<PartsIndex, BundleError> {
        let bytes = std::fs::read(path).map_err(|e| missing(path, e))?;
        let index: PartsIndex = serde_json::from_slice(&bytes).map_err(|e| {
            BundleError::Invalid(format!("{}: not a parts index: {e}", path.display()))
        })?;
        let bad = |why: String| BundleError::Invalid(format!("{}: {why}", path.display()));
        if index.schema != SCHEMA {
            return Err(bad(format!(
                "schema {}, this ferry reads {SCHEMA}",
                ferry_core::text::printable(&index.schema)
            )));
        }
        if !is_file_name(&index.bundle) || index.parts.is_empty() {
            return Err(bad("names no bundle file or no parts".into()));
        }
        for (i, p) in index.parts.iter().enumerate() {
            if p.name != part_name(&index.bundle, i + 1) {
                return Err(bad(format!(
                    "part {} is named {}, not {}",
                    i + 1,
                    ferry_core::text::printable(&p.name),
                    part_name(&index.bundle, i + 1)
                )));
            }
        }
        if index.parts.iter().map(|p| p.size).sum::<u64>() != index.size {
            return Err(bad("the parts' sizes do not add up to the bundle's".into()));
        }
        Ok(index)
    }

    /// Hashes part `n` (from 1) in `dir`: `Ok` when intact, else what is wrong with it.
    pub fn check_part(&self, dir: &Path, n: usize) -> Result<Result<(), String>, BundleError> {
        let part = &self.parts[n - 1];
        let path = dir.join(&part.name);
        let label = format!("part {n} of {} ({})", self.parts.len(), part.name);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Err(format!("{label}: missing")));
            }
            Err(e) => return Err(super::io_err(&path)(e)),
        };
        let verdict = ferry_core::digest::Verifier::new(part.sha256.clone(), Some(part.size))
            .read_all(&mut file, None)
            .map_err(super::io_err(&path))?;
        Ok(verdict
            .map(|_| ())
            .map_err(|m| format!("{label}: damaged: {m}")))
    }
}

/// One part checked alone (`verify NAME.part-003`).
#[derive(Debug, Clone, Serialize)]
pub struct PartCheck {
    pub part: usize,
    pub of: usize,
    pub name: String,
    pub bundle: String,
    /// What is wrong with it; none when intact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Checks part `n` (from 1) of the set whose index is at `index_path`, or every part when
/// `n` is `None`.
pub fn check(index_path: &Path, n: Option<usize>) -> Result<Vec<PartCheck>, BundleError> {
    let index = PartsIndex::read(index_path)?;
    let dir = index_path.parent().unwrap_or(Path::new("."));
    let numbers: Vec<usize> = match n {
        Some(n) if n == 0 || n > index.parts.len() => {
            return Err(BundleError::Invalid(format!(
                "{}: names {} parts, there is no part {n}",
                index_path.display(),
                index.parts.len()
            )));
        }
        Some(n) => vec![n],
        None => (1..=index.parts.len()).collect(),
    };
    numbers
        .into_iter()
        .map(|n| {
            Ok(PartCheck {
                part: n,
                of: index.parts.len(),
                name: index.parts[n - 1].name.clone(),
                bundle: index.bundle.clone(),
                problem: index.check_part(dir, n)?.err(),
            })
        })
        .collect()
}

/// One plain file name (it becomes a path beside the index): no separator, not `.`/`..`.
fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
}

fn missing(path: &Path, e: io::Error) -> BundleError {
    BundleError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// A split bundle's parts, open, read as one file.
#[derive(Debug)]
pub struct PartSet {
    pub index: PartsIndex,
    files: Vec<File>,
    starts: Vec<u64>,
}

impl PartSet {
    /// Opens every part the index at `index_path` names; a missing or short one is named.
    pub fn open(index_path: &Path) -> Result<PartSet, BundleError> {
        let index = PartsIndex::read(index_path)?;
        let dir = index_path.parent().unwrap_or(Path::new("."));
        let (mut files, mut starts, mut at) = (Vec::new(), Vec::new(), 0);
        for (i, p) in index.parts.iter().enumerate() {
            let path = dir.join(&p.name);
            let file = File::open(&path).map_err(|e| {
                BundleError::Invalid(format!(
                    "{}: part {} of {} ({}) cannot be read: {e}",
                    index_path.display(),
                    i + 1,
                    index.parts.len(),
                    p.name
                ))
            })?;
            let len = file.metadata().map_err(super::io_err(&path))?.len();
            if len != p.size {
                return Err(BundleError::Invalid(format!(
                    "{}: part {} of {} ({}) has {len} bytes, the index says {}",
                    index_path.display(),
                    i + 1,
                    index.parts.len(),
                    p.name,
                    p.size
                )));
            }
            files.push(file);
            starts.push(at);
            at += p.size;
        }
        Ok(PartSet {
            index,
            files,
            starts,
        })
    }

    pub fn len(&self) -> u64 {
        self.index.size
    }

    pub fn is_empty(&self) -> bool {
        self.index.size == 0
    }

    /// Reads at `offset` of the whole, from the part that holds it (a read stops at the
    /// part's end; the caller reads again).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let Some((file, within, left)) = self.locate(offset) else {
            return Ok(0);
        };
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        file.read_at(&mut buf[..want], within)
    }

    /// The part holding the whole's byte `offset`: its file, the offset in it, and how many
    /// of the part's bytes are left from there. `None` past the end.
    pub fn locate(&self, offset: u64) -> Option<(&File, u64, u64)> {
        if offset >= self.index.size {
            return None;
        }
        let i = self.starts.partition_point(|s| *s <= offset) - 1;
        let within = offset - self.starts[i];
        Some((&self.files[i], within, self.index.parts[i].size - within))
    }

    /// The whole, read in order.
    pub fn reader(&self) -> io::Result<Box<dyn Read + Send>> {
        let mut chained: Box<dyn Read + Send> = Box::new(io::empty());
        for f in &self.files {
            let mut f = f.try_clone()?;
            std::io::Seek::seek(&mut f, io::SeekFrom::Start(0))?;
            chained = Box::new(chained.chain(f));
        }
        Ok(chained)
    }
}

/// Where a bundle is written: one file, or parts of at most `split` bytes (each one's
/// sha256 and the whole's taken on the way). Nothing takes its final name until
/// [`BundleFile::finish`]; dropped before, every temporary goes.
pub struct BundleFile {
    out: PathBuf,
    split: Option<u64>,
    done: Vec<(Partial, Part)>,
    current: Option<(Partial, io::BufWriter<File>, Hasher, u64)>,
    whole: Hasher,
    size: u64,
}

impl BundleFile {
    pub fn create(out: &Path, split: Option<u64>) -> io::Result<BundleFile> {
        let mut f = BundleFile {
            out: out.to_path_buf(),
            split: split.filter(|s| *s > 0),
            done: Vec::new(),
            current: None,
            whole: Hasher::default(),
            size: 0,
        };
        f.next_part()?;
        Ok(f)
    }

    /// The file being written now (for messages).
    pub fn temp_path(&self) -> PathBuf {
        self.current
            .as_ref()
            .map(|c| c.0.path().to_path_buf())
            .unwrap_or_else(|| self.out.clone())
    }

    fn bundle_name(&self) -> String {
        self.out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn next_part(&mut self) -> io::Result<()> {
        self.close_part()?;
        let target = match self.split {
            None => self.out.clone(),
            Some(_) => self
                .out
                .with_file_name(part_name(&self.bundle_name(), self.done.len() + 1)),
        };
        let partial = Partial::beside(&target);
        let file = partial.create(None)?;
        self.current = Some((
            partial,
            io::BufWriter::with_capacity(1 << 20, file),
            Hasher::default(),
            0,
        ));
        Ok(())
    }

    fn close_part(&mut self) -> io::Result<()> {
        let Some((partial, writer, hasher, size)) = self.current.take() else {
            return Ok(());
        };
        let file = writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        let name = match self.split {
            None => self.bundle_name(),
            Some(_) => part_name(&self.bundle_name(), self.done.len() + 1),
        };
        let sha256 = hasher.finish();
        self.done.push((partial, Part { name, size, sha256 }));
        Ok(())
    }

    /// Gives every part (or the one file) its name, then writes the index; returns it for a
    /// split bundle.
    pub fn finish(mut self) -> io::Result<Option<PartsIndex>> {
        self.close_part()?;
        let parts: Vec<Part> = self.done.iter().map(|(_, p)| p.clone()).collect();
        for (partial, _) in std::mem::take(&mut self.done) {
            partial.commit()?;
        }
        if self.split.is_none() {
            return Ok(None);
        }
        // Parts of an earlier, longer split of the same name would read as part of this one.
        for n in parts.len() + 1.. {
            let stale = self.out.with_file_name(part_name(&self.bundle_name(), n));
            if std::fs::remove_file(stale).is_err() {
                break;
            }
        }
        let index = PartsIndex {
            schema: SCHEMA.to_string(),
            bundle: self.bundle_name(),
            size: self.size,
            sha256: std::mem::take(&mut self.whole).finish(),
            parts,
        };
        let mut bytes = serde_json::to_vec_pretty(&index).map_err(io::Error::other)?;
        bytes.push(b'\n');
        ferry_core::atomic::write(&self.out.with_file_name(index_name(&index.bundle)), &bytes)?;
        Ok(Some(index))
    }
}

impl Write for BundleFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = match (self.split, &self.current) {
            (Some(limit), Some(c)) if c.3 >= limit => {
                self.next_part()?;
                limit
            }
            (Some(limit), Some(c)) => limit - c.3,
            _ => u64::MAX,
        };
        let n = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let (_, writer, hasher, size) = self.current.as_mut().expect("a part is open");
        let n = writer.write(&buf[..n])?;
        hasher.update(&buf[..n]);
        self.whole.update(&buf[..n]);
        *size += n as u64;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.current {
            Some((_, w, _, _)) => w.flush(),
            None => Ok(()),
        }
    }
}

/// `4G`, `700M`, `512K`, `1000000`: bytes (K, M, G, T are powers of 1024; FAT32 holds at
/// most 4G less one byte, so `4000M` there).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t.strip_suffix(['B', 'b']).unwrap_or(t);
    let t = t.strip_suffix(['i']).unwrap_or(t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("{text:?}: not a size (like 700M or 4G)")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: not a size (like 700M or 4G)"))?;
    let bytes = n
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{text:?}: too large"))?;
    if bytes < 1 << 20 {
        return Err(format!("{text:?}: a part must hold at least 1M"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("700M"), Ok(700 << 20));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("2097152"), Ok(2 << 20));
        assert!(parse_size("10K").is_err());
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn a_part_names_its_set() {
        let d = Path::new("/m");
        assert_eq!(Given::of(&d.join("a.tar")), Given::Whole);
        assert_eq!(
            Given::of(&d.join("a.tar.part-001")),
            Given::Set(d.join("a.tar.parts.json"))
        );
        assert_eq!(
            Given::of(&d.join("a.tar.part-003")),
            Given::Part(d.join("a.tar.parts.json"), 3)
        );
        assert_eq!(
            Given::of(&d.join("a.tar.parts.json")),
            Given::Set(d.join("a.tar.parts.json"))
        );
    }

    #[test]
    fn parts_join_to_the_whole_and_read_across_their_ends() {
        let dir = ferry_core::scratch::ScratchDir::for_test("parts");
        let out = dir.join("b.tar");
        let data: Vec<u8> = (0..(5u32 << 20) / 2).map(|i| (i % 251) as u8).collect();
        let mut f = BundleFile::create(&out, Some(1 << 20)).unwrap();
        f.write_all(&data).unwrap();
        let index = f.finish().unwrap().unwrap();
        assert_eq!(index.parts.len(), 3);
        assert_eq!(index.sha256, Digest::of(&data));
        let set = PartSet::open(&dir.join("b.tar.parts.json")).unwrap();
        let mut joined = Vec::new();
        set.reader().unwrap().read_to_end(&mut joined).unwrap();
        assert_eq!(joined, data);
        let mut buf = [0u8; 10];
        let n = set.read_at(&mut buf, (1 << 20) - 4).unwrap();
        assert_eq!(&buf[..n], &data[(1 << 20) - 4..1 << 20]);
        assert_eq!(index.check_part(&dir, 2).unwrap(), Ok(()));
        let mut bytes = std::fs::read(dir.join("b.tar.part-002")).unwrap();
        bytes[7] ^= 1;
        std::fs::write(dir.join("b.tar.part-002"), bytes).unwrap();
        let bad = index.check_part(&dir, 2).unwrap().unwrap_err();
        assert!(
            bad.starts_with("part 2 of 3 (b.tar.part-002): damaged"),
            "{bad}"
        );
    }
}
