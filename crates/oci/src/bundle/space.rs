//! The tar a bundle is, by size: each entry's header with fixed metadata, what entries of
//! given sizes take, and whether a filesystem can hold that much; shared by the writer and
//! the reader that decompresses a bundle.

use std::path::Path;

use super::{BundleError, io_err};

/// A regular file's header with fixed metadata (mode 0644, owner 0, time 0).
pub(crate) fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

/// Bytes a tar needs for entries of these sizes: headers (plus a long-name header for long
/// paths), padding to 512, and the two zero blocks at the end.
pub(crate) fn tar_size(entries: impl Iterator<Item = (usize, u64)>) -> u64 {
    let mut total = 1024;
    for (name_len, size) in entries {
        total += 512 + size.div_ceil(512) * 512;
        if name_len > 100 {
            total += 512 + (name_len as u64 + 1).div_ceil(512) * 512;
        }
    }
    total
}

/// Refuses early when `dir`'s filesystem cannot hold `needed` bytes.
pub fn check_space(dir: &Path, needed: u64) -> Result<(), BundleError> {
    let available = fs4::available_space(dir).map_err(io_err(dir))?;
    if available < needed {
        return Err(BundleError::NoSpace {
            dir: dir.display().to_string(),
            needed,
            available,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_check_refuses_with_the_figures() {
        let dir = std::env::temp_dir();
        assert!(check_space(&dir, 0).is_ok());
        let err = check_space(&dir, u64::MAX).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                BundleError::NoSpace {
                    needed: u64::MAX,
                    ..
                }
            ),
            "{msg}"
        );
        assert!(
            msg.contains(&u64::MAX.to_string()) && msg.contains(&dir.display().to_string()),
            "{msg}"
        );
    }

    #[test]
    fn tar_size_counts_headers_padding_and_long_names() {
        assert_eq!(tar_size(std::iter::empty()), 1024);
        assert_eq!(tar_size([(10, 1)].into_iter()), 1024 + 512 + 512);
        assert_eq!(tar_size([(10, 512)].into_iter()), 1024 + 512 + 512);
        assert_eq!(tar_size([(150, 0)].into_iter()), 1024 + 512 + 512 + 512);
    }
}
