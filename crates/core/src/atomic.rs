//! Files written whole or not at all, in one place: the bytes go to a temporary beside the
//! file (`.NAME.partial-PID`), are flushed, and the temporary is renamed onto the name; a
//! temporary left uncommitted is removed when dropped, and one a killed run left is
//! recognised by its dead process and swept.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file being written beside `target`: renamed onto it by [`Partial::commit`], removed
/// when dropped uncommitted.
#[derive(Debug)]
pub struct Partial {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Partial {
    /// `.NAME.partial-PID` in `target`'s directory (so the rename stays on one filesystem).
    pub fn beside(target: &Path) -> Partial {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Partial {
            temp: target.with_file_name(format!(".{name}.partial-{}", std::process::id())),
            target: target.to_path_buf(),
            committed: false,
        }
    }

    /// The temporary's path.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Creates the temporary; `mode` (0600 for credentials) is its permission from the start.
    pub fn create(&self, mode: Option<u32>) -> std::io::Result<File> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        if let Some(mode) = mode {
            options.mode(mode);
        }
        options.open(&self.temp)
    }

    /// Renames the temporary onto the target.
    pub fn commit(mut self) -> std::io::Result<()> {
        std::fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` whole or not at all (its directory made if missing).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, bytes, None)
}

/// As [`write`], the file readable by its owner only (0600): credentials.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, bytes, Some(0o600))
}

fn write_with(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let partial = Partial::beside(path);
    let mut file = partial.create(mode)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    partial.commit()
}

/// Removes the temporaries (`.NAME.partial-PID`; only `name`'s when given) that processes no
/// longer running left in `dir`, returning what it removed. Where `/proc` cannot tell
/// whether a process runs, nothing is removed.
pub fn sweep(dir: &Path, name: Option<&str>) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    if !Path::new("/proc/self").exists() {
        return removed;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return removed;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some((of, pid)) = file
            .to_str()
            .and_then(|f| f.strip_prefix('.'))
            .and_then(|f| f.rsplit_once(".partial-"))
        else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if name.is_some_and(|n| n != of) || Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        if std::fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::ScratchDir;

    #[test]
    fn a_write_is_whole_or_absent() {
        let dir = ScratchDir::for_test("atomic");
        let path = dir.join("sub/file.json");
        write(&path, b"one").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        let partial = Partial::beside(&path);
        partial.create(None).unwrap().write_all(b"half").unwrap();
        let temp = partial.path().to_path_buf();
        drop(partial);
        assert!(!temp.exists(), "an uncommitted temporary stays");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
    }

    #[test]
    fn a_private_write_is_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = ScratchDir::for_test("atomic-private");
        let path = dir.join("config.json");
        write_private(&path, b"{}").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn only_dead_processes_temporaries_are_swept() {
        let dir = ScratchDir::for_test("atomic-sweep");
        let dead = dir.join(".a.yaml.partial-99999999");
        let other = dir.join(".b.yaml.partial-99999999");
        let live = dir.join(format!(".a.yaml.partial-{}", std::process::id()));
        for f in [&dead, &other, &live] {
            std::fs::write(f, b"x").unwrap();
        }
        assert_eq!(sweep(&dir, Some("a.yaml")), vec![dead.clone()]);
        assert!(other.exists() && live.exists());
        assert_eq!(sweep(&dir, None), vec![other]);
        assert!(live.exists());
    }
}
