//! `ferry cache size|prune`: the blob cache bundles fill, shown and trimmed, never while a
//! bundle has it open.

mod support;

use support::*;

fn blob_files(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(cache.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

#[test]
fn the_cache_is_measured_and_pruned_by_last_use() {
    let f = fixture("cache");
    let cache = f.dir.join("cache");
    let bundle = f.dir.join("b.tar");
    assert_exit(&bundle_of(&f, &bundle, &cache, &[]), 0);
    let blobs = blob_files(&cache);
    assert!(blobs.len() >= 5, "{blobs:?}");

    let out = ferry(&["cache", "size", "--cache", cache.to_str().unwrap()]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).starts_with(&format!("{} blobs, ", blobs.len())),
        "{}",
        text(&out.stdout)
    );

    // One blob last used 40 days ago: only it goes with --older-than 30d.
    let old = &blobs[0];
    std::fs::File::options()
        .write(true)
        .open(old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86400))
        .unwrap();
    let out = ferry(&[
        "cache",
        "prune",
        "--older-than",
        "30d",
        "--cache",
        cache.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).starts_with("removed 1 blobs, "),
        "{}",
        text(&out.stdout)
    );
    assert!(!old.exists());
    assert_eq!(blob_files(&cache).len(), blobs.len() - 1);

    // A bundle using the cache again marks what it used as used now: every blob is made
    // 20 days old first, so only the bundle's touch can make it young again.
    let twenty_days = std::time::SystemTime::now() - std::time::Duration::from_secs(20 * 86400);
    for b in blob_files(&cache) {
        std::fs::File::options()
            .write(true)
            .open(&b)
            .unwrap()
            .set_modified(twenty_days)
            .unwrap();
    }
    assert_exit(&bundle_of(&f, &bundle, &cache, &[]), 0);
    for b in blob_files(&cache) {
        let age = b.metadata().unwrap().modified().unwrap().elapsed().unwrap();
        assert!(age.as_secs() < 600, "{} not marked used", b.display());
    }

    // While a bundle holds the cache, prune removes nothing.
    let lock = std::fs::File::open(cache.join("lock")).unwrap();
    lock.lock_shared().unwrap();
    let out = ferry(&["cache", "prune", "--cache", cache.to_str().unwrap()]);
    assert_exit(&out, 3);
    assert!(
        text(&out.stderr).contains("in use by a running bundle"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(blob_files(&cache).len(), blobs.len());
    drop(lock);

    let out = ferry(&["cache", "prune", "--cache", cache.to_str().unwrap()]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).starts_with(&format!("removed {} blobs, ", blobs.len())),
        "{}",
        text(&out.stdout)
    );
    assert!(blob_files(&cache).is_empty());
    let out = ferry(&["cache", "size", "--cache", cache.to_str().unwrap()]);
    assert!(
        text(&out.stdout).starts_with("0 blobs, 0.0 MB"),
        "{}",
        text(&out.stdout)
    );
}
