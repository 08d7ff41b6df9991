//! The shared operator corpus and the hand-checked image lists of fixtures and cases.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The shared corpus's cases (`CASE/manifests`). A missing corpus fails the tests that use
/// it unless `FERRY_CORPUS=none` turns them off on purpose.
pub fn corpus_cases() -> Vec<PathBuf> {
    let corpus = match std::env::var("FERRY_CORPUS") {
        Ok(v) if v == "none" => return Vec::new(),
        Ok(v) => PathBuf::from(v),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| {
            panic!(
                "the operator corpus {} is missing ({e}); FERRY_CORPUS=none skips it",
                corpus.display()
            )
        })
        .filter_map(Result::ok)
        .map(|e| e.path().join("manifests"))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", corpus.display());
    cases
}

/// The hand-checked image list of a fixture (`expected.txt`) or corpus case
/// (`expected-images.txt`, the lines above `# implied`), independent of ferry's scanner.
pub fn expected_images(input: &Path) -> BTreeSet<String> {
    let dir = if input.ends_with("manifests") {
        input.parent().unwrap().to_path_buf()
    } else {
        input.to_path_buf()
    };
    let file = [dir.join("expected.txt"), dir.join("expected-images.txt")]
        .into_iter()
        .find(|f| f.is_file())
        .unwrap_or_else(|| panic!("{}: no expected image list", dir.display()));
    std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with("# implied"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}
