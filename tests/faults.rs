//! Transient faults end in a complete verified copy; persistent ones in a clear failure
//! with no tag written. The faults come from a proxy in front of the source registry.

mod support;

use std::path::Path;

use support::faults::{Fault, FaultProxy, Rule};
use support::*;

struct Setup {
    src: TestRegistry,
    dst: TestRegistry,
    dir: TempDir,
    layers: Vec<String>,
}

fn setup(name: &str) -> Setup {
    let src = TestRegistry::start(&format!("{name}-src"), "");
    let dst = TestRegistry::start(&format!("{name}-dst"), "");
    let dir = temp_dir(name);
    let l = Layout::new(&dir.join("img"), false);
    let contents: Vec<Vec<u8>> = (0..4)
        .map(|i| noise(100 + i, 200_000 + i as usize * 1000))
        .collect();
    let img = l.image("linux", "amd64", &contents);
    l.tag(&img, "1");
    skopeo_push(&l.dir, "1", &format!("{}/app/x:1", src.host), &[]);
    let raw = skopeo_raw(&format!("{}/app/x:1", src.host), &[]);
    let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let layers = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();
    Setup {
        src,
        dst,
        dir,
        layers,
    }
}

/// `ferry mirror --images FILE --to TO EXTRA...`, FILE written into `dir` with `images`.
fn mirror_images(dir: &Path, images: &str, to: &str, extra: &[&str]) -> std::process::Output {
    let list = dir.join("images.txt");
    std::fs::write(&list, images).unwrap();
    let mut args = vec!["mirror", "--images", list.to_str().unwrap(), "--to", to];
    args.extend_from_slice(extra);
    ferry(&args)
}

fn rule(matcher: &str, fault: Fault, times: usize) -> Rule {
    Rule {
        matcher: matcher.to_string(),
        fault,
        times,
    }
}

/// `app/big:1` in a source registry: one layer of 4 MiB, big enough to be resumed.
struct Big {
    src: TestRegistry,
    dst: TestRegistry,
    dir: TempDir,
    layer: String,
}

fn big_image(name: &str) -> Big {
    let src = TestRegistry::start(&format!("{name}-src"), "");
    let dst = TestRegistry::start(&format!("{name}-dst"), "");
    let dir = temp_dir(name);
    let l = Layout::new(&dir.join("img"), false);
    let big = noise(7, 4 << 20);
    let layer = sha256_of(&big);
    let img = l.image("linux", "amd64", &[big]);
    l.tag(&img, "1");
    skopeo_push(&l.dir, "1", &format!("{}/app/big:1", src.host), &[]);
    Big {
        src,
        dst,
        dir,
        layer,
    }
}

/// skopeo copies `app/big:1` out of `dst` (checking every digest) and its layer is `layer`.
fn assert_layer_copied(dst: &TestRegistry, dir: &Path, layer: &str) {
    let copied = dir.join("copied");
    let check = std::process::Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{}/app/big:1", dst.host))
        .arg(format!("dir:{}", copied.display()))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check.stderr));
    let hex = layer.trim_start_matches("sha256:");
    assert_eq!(sha256_of(&std::fs::read(copied.join(hex)).unwrap()), layer);
}

/// A layer cut off after more than a MiB goes on from the first byte not yet read (a range
/// request), not from its start, and the copy holds the same bytes (skopeo checks them).
#[test]
fn a_large_blob_cut_off_is_resumed_where_it_stopped() {
    let Big {
        src,
        dst,
        dir,
        layer,
    } = big_image("faults-resume");
    let proxy = FaultProxy::start(
        &src.host,
        vec![rule(
            &format!("GET /v2/app/big/blobs/{layer}"),
            Fault::Truncated,
            1,
        )],
    );
    let out = mirror_images(&dir, &format!("{}/app/big:1\n", proxy.host), &dst.host, &[]);
    assert_exit(&out, 0);
    let ranges = proxy.ranges.lock().unwrap().clone();
    assert_eq!(
        ranges,
        [format!("GET /v2/app/big/blobs/{layer} bytes={}-", 2 << 20)],
        "one range request, from where the body was cut off"
    );
    let gets = proxy
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.contains(&layer))
        .count();
    assert_eq!(gets, 2, "no read from the start again");
    assert!(
        text(&out.stderr).contains(&format!(
            "blob {} cut off after {} of {} bytes",
            &layer[..19],
            2 << 20,
            4 << 20
        )),
        "{}",
        text(&out.stderr)
    );
    assert_layer_copied(&dst, &dir, &layer);
}

/// A registry (or a proxy before it) that serves no ranges answers the resume with the whole
/// blob: its first bytes, which ferry already has, are skipped, and the copy goes on.
#[test]
fn a_resume_answered_with_the_whole_blob_skips_what_was_read() {
    let Big {
        src,
        dst,
        dir,
        layer,
    } = big_image("faults-noranges");
    let blob = format!("GET /v2/app/big/blobs/{layer}");
    let proxy = FaultProxy::start(
        &src.host,
        vec![
            rule(&blob, Fault::Truncated, 1),
            rule(&blob, Fault::NoRanges, 1),
        ],
    );
    let images = format!("{}/app/big:1\n", proxy.host);
    let out = mirror_images(&dir, &images, &dst.host, &[]);
    assert_exit(&out, 0);
    assert_eq!(
        proxy.ranges.lock().unwrap().len(),
        1,
        "the rest was asked for"
    );
    assert!(
        text(&out.stderr).contains(&format!(
            "read again, its first {} bytes skipped (the registry serves no ranges)",
            2 << 20
        )),
        "{}",
        text(&out.stderr)
    );
    assert_layer_copied(&dst, &dir, &layer);
}

#[test]
fn transient_faults_still_give_a_complete_verified_copy() {
    let s = setup("faults-ok");
    let proxy = FaultProxy::start(
        &s.src.host,
        vec![
            rule("GET /v2/app/x/manifests/1", Fault::Status503, 1),
            rule(
                &format!("GET /v2/app/x/blobs/{}", s.layers[0]),
                Fault::TooMany,
                1,
            ),
            rule(
                &format!("GET /v2/app/x/blobs/{}", s.layers[1]),
                Fault::ResetMidBody,
                1,
            ),
            rule(
                &format!("GET /v2/app/x/blobs/{}", s.layers[2]),
                Fault::Truncated,
                1,
            ),
            rule(
                &format!("GET /v2/app/x/blobs/{}", s.layers[3]),
                Fault::WrongBytes,
                1,
            ),
        ],
    );
    // The proxy is on loopback, so plain HTTP is allowed.
    let out = mirror_images(
        &s.dir,
        &format!("{}/app/x:1\n", proxy.host),
        &s.dst.host,
        &["--jobs", "2"],
    );
    assert_exit(&out, 0);
    let hits = proxy.hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 5, "every fault fired: {hits:?}");
    assert_eq!(
        skopeo_raw(&format!("{}/app/x:1", s.dst.host), &[]),
        skopeo_raw(&format!("{}/app/x:1", s.src.host), &[])
    );
    // skopeo verifies every blob digest while copying out of the target.
    let check = std::process::Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{}/app/x:1", s.dst.host))
        .arg(format!("oci:{}:check", s.dir.join("out").display()))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check.stderr));
}

#[test]
fn persistent_wrong_bytes_fail_with_integrity_and_no_tag() {
    let s = setup("faults-bad");
    let proxy = FaultProxy::start(
        &s.src.host,
        vec![rule(
            &format!("GET /v2/app/x/blobs/{}", s.layers[2]),
            Fault::WrongBytes,
            usize::MAX,
        )],
    );
    let out = mirror_images(
        &s.dir,
        &format!("{}/app/x:1\n", proxy.host),
        &s.dst.host,
        &[],
    );
    assert_exit(&out, 6);
    let stdout = text(&out.stderr);
    assert!(
        stdout.contains("integrity") && stdout.contains(&s.layers[2]),
        "{stdout}"
    );
    assert!(
        !skopeo_exists(&format!("{}/app/x:1", s.dst.host), &[]),
        "tag written for a failed copy"
    );
}

#[test]
fn persistent_resets_fail_as_transfer_errors_and_no_tag() {
    let s = setup("faults-reset");
    let proxy = FaultProxy::start(
        &s.src.host,
        vec![rule(
            &format!("GET /v2/app/x/blobs/{}", s.layers[0]),
            Fault::ResetMidBody,
            usize::MAX,
        )],
    );
    let out = mirror_images(
        &s.dir,
        &format!("{}/app/x:1\n", proxy.host),
        &s.dst.host,
        &[],
    );
    assert_exit(&out, 4);
    assert!(!skopeo_exists(&format!("{}/app/x:1", s.dst.host), &[]));

    // Two tags of the image fail for the same blob: the summary says the cause once more,
    // counted, after the line of each image.
    let again = s.dir.join("two.txt");
    std::fs::write(
        &again,
        format!("{0}/app/x:1\n{0}/app/x:1@{1}\n", proxy.host, digest_of(&s)),
    )
    .unwrap();
    let out = ferry(&[
        "mirror",
        "--images",
        again.to_str().unwrap(),
        "--to",
        &s.dst.host,
    ]);
    assert_exit(&out, 4);
    let err = text(&out.stderr);
    assert_eq!(
        err.matches("2 images failed for one cause: ").count(),
        1,
        "{err}"
    );
}

/// The digest of the setup's image.
fn digest_of(s: &Setup) -> String {
    let raw = skopeo_raw(&format!("{}/app/x:1", s.src.host), &[]);
    ferry::digest::Digest::of(&raw).to_string()
}

/// A request the client already retried is not retried again by the whole-transfer retry
/// (5 tries, not 5 x 5): a blob that always answers 503 is asked for five times.
#[test]
fn retries_are_not_nested() {
    let s = setup("faults-nested");
    let proxy = FaultProxy::start(
        &s.src.host,
        vec![rule(
            &format!("GET /v2/app/x/blobs/{}", s.layers[0]),
            Fault::Status503,
            usize::MAX,
        )],
    );
    let out = mirror_images(
        &s.dir,
        &format!("{}/app/x:1\n", proxy.host),
        &s.dst.host,
        &[],
    );
    assert_exit(&out, 4);
    let tries = proxy.hits.lock().unwrap().len();
    assert_eq!(tries, 5, "the blob was asked for {tries} times");
}

/// Counts what the engine reports: totals, bytes done, bytes taken back.
#[derive(Default)]
struct Tally {
    expected: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
    rewound: std::sync::atomic::AtomicU64,
    /// Bytes that moved before the run's total was given.
    early: std::sync::atomic::AtomicU64,
}

impl ferry::progress::Observer for Tally {
    fn expect(&self, bytes: u64) {
        self.expected
            .fetch_add(bytes, std::sync::atomic::Ordering::SeqCst);
    }
    fn add_total(&self, _: usize, bytes: u64) {
        self.total
            .fetch_add(bytes, std::sync::atomic::Ordering::SeqCst);
    }
    fn advance(&self, _: usize, bytes: u64) {
        if self.expected.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            self.early
                .fetch_add(bytes, std::sync::atomic::Ordering::SeqCst);
        }
        self.done
            .fetch_add(bytes, std::sync::atomic::Ordering::SeqCst);
    }
    fn rewind(&self, _: usize, bytes: u64) {
        self.rewound
            .fetch_add(bytes, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Progress is honest: the run's total is given before a byte moves (every manifest read
/// first) and equals what the images then account for, and bytes of a failed attempt are
/// taken back, so the bar ends at its total, not past it.
#[test]
fn progress_takes_back_the_bytes_of_a_failed_attempt() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering::SeqCst;

    use ferry::graph::{CopyJob, CopyOptions, Engine};
    use ferry::reference::Reference;
    use ferry::registry::{Registries, RegistryOptions};

    ferry::init_crypto();
    let s = setup("faults-progress");
    let proxy = FaultProxy::start(
        &s.src.host,
        vec![
            rule(
                &format!("GET /v2/app/x/blobs/{}", s.layers[1]),
                Fault::ResetMidBody,
                1,
            ),
            rule(
                &format!("GET /v2/app/x/blobs/{}", s.layers[2]),
                Fault::WrongBytes,
                1,
            ),
        ],
    );
    let tally = Arc::new(Tally::default());
    let registries = Registries::new(RegistryOptions::default());
    let engine = Engine::new(CopyOptions::default()).with_observer(tally.clone());
    let source = Reference::parse(&format!("{}/app/x:1", proxy.host)).unwrap();
    let target = Reference::parse(&format!("{}/app/x:1", s.dst.host)).unwrap();
    let job = CopyJob::pull(&registries, &source, source.clone(), target).unwrap();
    let reports = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(engine.copy_all(&registries, &[job], |_, _| {}));
    assert!(reports[0].error.is_none(), "{:?}", reports[0].error);
    assert_eq!(proxy.hits.lock().unwrap().len(), 2);
    let (total, done, rewound) = (
        tally.total.load(SeqCst),
        tally.done.load(SeqCst),
        tally.rewound.load(SeqCst),
    );
    assert!(rewound > 0, "nothing taken back after two failed attempts");
    assert_eq!(
        done - rewound,
        total,
        "progress ends past or short of the total"
    );
    assert_eq!(
        tally.expected.load(SeqCst),
        total,
        "the total given up front"
    );
    assert_eq!(
        tally.early.load(SeqCst),
        0,
        "bytes moved before the total was known"
    );
}

/// A source registry that does not answer is found out once, before anything is queued:
/// three images behind a /v2/ that always answers 503 cost one ping's five tries, the
/// registry's answer is said once with every image that comes from there, nothing copied.
#[test]
fn an_unreachable_registry_is_tried_once_per_run() {
    let s = setup("faults-unreachable");
    let proxy = FaultProxy::start(
        &s.src.host,
        vec![rule("GET /v2/", Fault::Status503, usize::MAX)],
    );
    let list = s.dir.join("images.txt");
    std::fs::write(
        &list,
        format!("{0}/app/x:1\n{0}/app/y:1\n{0}/app/z:1\n", proxy.host),
    )
    .unwrap();
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &s.dst.host,
    ]);
    assert_exit(&out, 4);
    let tries = proxy.hits.lock().unwrap().len();
    assert_eq!(tries, 5, "/v2/ was asked {tries} times");
    let err = text(&out.stderr) + &text(&out.stdout);
    for image in ["app/x:1", "app/y:1", "app/z:1"] {
        assert!(err.contains(image), "{image} not named: {err}");
    }
    assert!(err.contains("GET /v2/: 503"), "{err}");
    let said = format!("cannot pull from {}, where 3 of the images are", proxy.host);
    assert_eq!(err.matches(&said).count(), 1, "{err}");
    assert!(!skopeo_exists(&format!("{}/app/x:1", s.dst.host), &[]));
}

/// A loopback "registry" whose manifest and error bodies never end: counts what it managed
/// to send before the client hung up.
fn endless_registry() -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicU64, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let sent = std::sync::Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split(' ').nth(1).unwrap_or("").to_string();
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                    }
                    if path == "/v2/" {
                        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
                        continue;
                    }
                    let status = if path.contains("/manifests/ok") {
                        "200 OK"
                    } else {
                        "500 Internal Server Error"
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    );
                    if conn.write_all(head.as_bytes()).is_err() {
                        return;
                    }
                    let chunk = format!("{:x}\r\n{}\r\n", 65536, " ".repeat(65536));
                    while conn.write_all(chunk.as_bytes()).is_ok() {
                        counter.fetch_add(65536, Ordering::Relaxed);
                    }
                    return;
                }
            });
        }
    });
    (host, sent)
}

/// Bodies are read with a ceiling whatever the server says: an endless manifest stops at
/// 4 MiB, an endless error body at its first 64 KiB (each try), and the run ends with the
/// reason instead of growing without bound.
#[test]
fn endless_bodies_are_cut_off() {
    let s = setup("faults-endless");
    let (host, sent) = endless_registry();
    for (image, said) in [
        ("app/x:ok", "manifest larger than 4 MiB"),
        ("app/x:err", "500"),
    ] {
        let list = s.dir.join("images.txt");
        std::fs::write(&list, format!("{host}/{image}\n")).unwrap();
        sent.store(0, std::sync::atomic::Ordering::Relaxed);
        let out = ferry(&[
            "mirror",
            "--images",
            list.to_str().unwrap(),
            "--to",
            &s.dst.host,
        ]);
        assert!(
            matches!(out.status.code(), Some(4 | 6)),
            "{image}: {}",
            text(&out.stdout)
        );
        let all = text(&out.stdout) + &text(&out.stderr);
        assert!(all.contains(said), "{image}: {all}");
        // Socket buffers hold a few MiB per connection; an unbounded read would go on forever.
        let bytes = sent.load(std::sync::atomic::Ordering::Relaxed);
        assert!(bytes < 64 << 20, "{image}: the server sent {bytes} bytes");
    }
}

/// A registry that accepts and never answers, and one that drips a blob a byte at a time,
/// end in an error naming what happened (each try bounded by --registry-timeout) instead of
/// silence.
#[test]
fn stalled_registries_end_in_an_error_that_says_so() {
    let s = setup("faults-stalled");
    let list = s.dir.join("images.txt");

    let silent = FaultProxy::start(
        &s.src.host,
        vec![rule("GET /v2/", Fault::Silent, usize::MAX)],
    );
    std::fs::write(&list, format!("{}/app/x:1\n", silent.host)).unwrap();
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &s.dst.host,
        "--registry-timeout",
        "1s",
    ]);
    assert_exit(&out, 4);
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(
        said.contains("plain HTTP:") && said.contains("timed out"),
        "{said}"
    );

    let drip = FaultProxy::start(
        &s.src.host,
        vec![rule(
            &format!("/blobs/{}", s.layers[0]),
            Fault::Drip,
            usize::MAX,
        )],
    );
    std::fs::write(&list, format!("{}/app/x:1\n", drip.host)).unwrap();
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &s.dst.host,
        "--registry-timeout",
        "1s",
    ]);
    assert_exit(&out, 4);
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(said.contains("the blob stalls"), "{said}");
    assert!(!skopeo_exists(&format!("{}/app/x:1", s.dst.host), &[]));

    // Slower than the timeout but moving: every blob takes longer than 1 s to stream from
    // source to target (the upload's answer comes only after), and the copy completes.
    let slow = FaultProxy::start(
        &s.src.host,
        vec![rule("/blobs/sha256:", Fault::Slow, usize::MAX)],
    );
    std::fs::write(&list, format!("{}/app/x:1\n", slow.host)).unwrap();
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &s.dst.host,
        "--registry-timeout",
        "1s",
        "--jobs",
        "1",
    ]);
    assert_exit(&out, 0);
    assert_eq!(
        skopeo_raw(&format!("{}/app/x:1", s.dst.host), &[]),
        skopeo_raw(&format!("{}/app/x:1", s.src.host), &[])
    );
}

/// A host the resolver does not know is said once, typed by the resolver's own answer
/// (`EAI_NONAME`), and not retried: `.invalid` never resolves (RFC 6761).
#[test]
fn an_unknown_host_is_not_retried() {
    let dir = temp_dir("unknown-host");
    let list = dir.join("images.txt");
    std::fs::write(&list, "nothing-here.invalid/app/x:1\n").unwrap();
    let out = ferry(&[
        "mirror",
        "-v",
        "--images",
        list.to_str().unwrap(),
        "--to",
        "127.0.0.1:1/m",
    ]);
    assert_exit(&out, 4);
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot resolve nothing-here.invalid: no such host"),
        "{err}"
    );
    assert!(!err.contains("trying again"), "{err}");
    assert_eq!(
        err.matches("GET https://nothing-here.invalid/v2/").count(),
        1,
        "{err}"
    );
}

/// Every source registry that cannot be reached is said in one run, each once with its images
/// and why, and what to do; nothing is copied.
#[test]
fn every_unreachable_registry_is_said_in_one_run() {
    let dir = temp_dir("unreachable-several");
    let (a, b) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let list = dir.join("images.txt");
    std::fs::write(
        &list,
        format!("{a}/app/x:1\n{a}/app/y:1\n{b}/lib/z:2\nnothing-here.invalid/lib/w:3\n"),
    )
    .unwrap();
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        "127.0.0.1:1/m",
    ]);
    assert_exit(&out, 4);
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot pull from 3 registries, nothing copied"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{a} (2 of the images: {a}/app/x:1, {a}/app/y:1): "
        )) && err.contains(&format!("{b} (1 of the images: {b}/lib/z:2): ")),
        "{err}"
    );
    assert!(
        err.contains("--source-mirror HOST=REGISTRY") && err.contains("HTTPS_PROXY"),
        "{err}"
    );
    // Why, in words (not the HTTP client's chain of wrappers), in the retries' notes too.
    assert!(
        err.contains("connection refused (nothing listens there)"),
        "{err}"
    );
    assert!(
        err.contains("cannot resolve nothing-here.invalid: no such host"),
        "{err}"
    );
    assert!(
        !err.contains("error sending request") && !err.contains("os error"),
        "{err}"
    );
}

/// `bundle` says a registry it cannot reach once, with every image that comes from it and
/// the next step, not once per image.
#[test]
fn bundle_says_an_unreachable_registry_once() {
    let dir = temp_dir("bundle-unreachable");
    let host = format!("127.0.0.1:{}", free_port());
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{host}/app/x:1\n{host}/app/y:1\n")).unwrap();
    let out = ferry(&[
        "bundle",
        "--images",
        list.to_str().unwrap(),
        "-o",
        dir.join("b.tar").to_str().unwrap(),
        "--cache",
        dir.join("cache").to_str().unwrap(),
    ]);
    assert_exit(&out, 4);
    let err = text(&out.stderr);
    let said = format!("{host} cannot be reached (2 images: {host}/app/x:1, {host}/app/y:1): ");
    assert_eq!(err.matches(&said).count(), 1, "{err}");
    assert!(
        err.contains(&format!("--source-mirror {host}=REGISTRY")),
        "{err}"
    );
    assert!(!dir.join("b.tar").exists());
}
