//! Test harness: real Distribution registries on free loopback ports, synthetic images in
//! OCI layouts, and skopeo as the independent client.
#![allow(dead_code, unreachable_pub)]

pub mod apiserver;
pub mod corpus;
pub mod faults;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

/// A test's scratch directory, removed when the test ends; a failed test's is kept (it is
/// what one looks at), and the next run of the same test starts it afresh.
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn temp_dir(name: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!("ferry-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TempDir(d)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A child process that is killed when dropped.
pub struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to 20 s for `host` to accept connections; `why` explains a failure.
fn wait_for_port(host: &str, why: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(host).is_err() {
        assert!(Instant::now() < deadline, "{}", why());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `docker-registry serve` process on loopback, stopped on drop.
pub struct TestRegistry {
    // Stopped before its directory goes.
    _process: Running,
    pub host: String,
    pub dir: TempDir,
}

impl TestRegistry {
    /// Plain HTTP. `extra` is appended to the config (auth, tls sections).
    pub fn start(name: &str, extra: &str) -> TestRegistry {
        assert!(
            have("docker-registry"),
            "docker-registry not installed: run .ci/run or apt-get install docker-registry"
        );
        let dir = temp_dir(&format!("registry-{name}"));
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{extra}",
            dir.join("data").display()
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let host = format!("127.0.0.1:{port}");
        let process = Running(child);
        wait_for_port(&host, || {
            format!(
                "registry did not start: {}",
                std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
            )
        });
        TestRegistry {
            host,
            dir,
            _process: process,
        }
    }
}

/// tests/support/referrers-registry.py: a read-only registry with the OCI 1.1 referrers
/// API, serving an OCI layout's blobs and the given tags (`repo:tag` -> digest).
pub struct ReferrersRegistry {
    pub host: String,
    _process: Running,
}

impl ReferrersRegistry {
    pub fn start(layout: &Path, tags: &[(&str, &str)]) -> ReferrersRegistry {
        let tags: serde_json::Map<String, serde_json::Value> = tags
            .iter()
            .map(|(t, d)| (t.to_string(), serde_json::Value::from(*d)))
            .collect();
        std::fs::write(layout.join("tags.json"), serde_json::to_vec(&tags).unwrap()).unwrap();
        let port = free_port();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/referrers-registry.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(layout)
            .spawn()
            .unwrap();
        let host = format!("127.0.0.1:{port}");
        let process = Running(child);
        wait_for_port(&host, || "referrers-registry.py did not start".to_string());
        ReferrersRegistry {
            host,
            _process: process,
        }
    }
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Deterministic pseudo-random bytes.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// An OCI image layout under construction.
pub struct Layout {
    pub dir: PathBuf,
    docker_types: bool,
}

pub struct Desc {
    pub media_type: String,
    pub digest: String,
    pub size: usize,
}

impl Layout {
    pub fn new(dir: &Path, docker_types: bool) -> Layout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Layout {
            dir: dir.to_path_buf(),
            docker_types,
        }
    }

    pub fn blob(&self, media_type: &str, bytes: &[u8]) -> Desc {
        let hex = sha256_hex(bytes);
        std::fs::write(self.dir.join("blobs/sha256").join(&hex), bytes).unwrap();
        Desc {
            media_type: media_type.to_string(),
            digest: format!("sha256:{hex}"),
            size: bytes.len(),
        }
    }

    fn types(&self) -> (&'static str, &'static str, &'static str, &'static str) {
        if self.docker_types {
            (
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.docker.distribution.manifest.list.v2+json",
                "application/vnd.docker.container.image.v1+json",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
            )
        } else {
            (
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.oci.image.index.v1+json",
                "application/vnd.oci.image.config.v1+json",
                "application/vnd.oci.image.layer.v1.tar+gzip",
            )
        }
    }

    /// An image for one platform with the given layers (contents).
    pub fn image(&self, os: &str, arch: &str, layers: &[Vec<u8>]) -> Desc {
        let (_, _, config_t, layer_t) = self.types();
        let layer_descs: Vec<Desc> = layers.iter().map(|l| self.blob(layer_t, l)).collect();
        let diff_ids: Vec<String> = layer_descs
            .iter()
            .map(|d| format!("\"{}\"", d.digest))
            .collect();
        let config = format!(
            r#"{{"architecture":"{arch}","os":"{os}","config":{{}},"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
            diff_ids.join(",")
        );
        let config = self.blob(config_t, config.as_bytes());
        self.manifest(&config, &layer_descs)
    }

    /// An image manifest of `config` and `layers` (blobs of this layout), stored.
    pub fn manifest(&self, config: &Desc, layers: &[Desc]) -> Desc {
        let (manifest_t, _, _, _) = self.types();
        let layers_json: Vec<String> = layers
            .iter()
            .map(|d| {
                format!(
                    r#"{{"mediaType":"{}","digest":"{}","size":{}}}"#,
                    d.media_type, d.digest, d.size
                )
            })
            .collect();
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{manifest_t}","config":{{"mediaType":"{}","digest":"{}","size":{}}},"layers":[{}]}}"#,
            config.media_type,
            config.digest,
            config.size,
            layers_json.join(",")
        );
        self.blob(manifest_t, manifest.as_bytes())
    }

    pub fn index(&self, children: &[(Desc, &str, &str)]) -> Desc {
        let (_, index_t, _, _) = self.types();
        let items: Vec<String> = children
            .iter()
            .map(|(d, os, arch)| {
                format!(
                    r#"{{"mediaType":"{}","digest":"{}","size":{},"platform":{{"architecture":"{arch}","os":"{os}"}}}}"#,
                    d.media_type, d.digest, d.size
                )
            })
            .collect();
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{index_t}","manifests":[{}]}}"#,
            items.join(",")
        );
        self.blob(index_t, index.as_bytes())
    }

    /// Writes index.json naming `root` as `tag`.
    pub fn tag(&self, root: &Desc, tag: &str) {
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","digest":"{}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#,
            root.media_type, root.digest, root.size
        );
        std::fs::write(self.dir.join("index.json"), index).unwrap();
    }
}

/// `skopeo copy --all --preserve-digests oci:DIR:TAG docker://DEST` with skopeo's own flags.
pub fn skopeo_push(layout: &Path, tag: &str, dest: &str, extra: &[&str]) {
    let out = Command::new("skopeo")
        .args([
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
        ])
        .args(extra)
        .arg(format!("oci:{}:{tag}", layout.display()))
        .arg(format!("docker://{dest}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy to {dest}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `skopeo inspect --raw`: the manifest bytes as an independent client sees them.
pub fn skopeo_raw(image: &str, extra: &[&str]) -> Vec<u8> {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .args(extra)
        .arg(format!("docker://{image}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// skopeo's exit status for inspecting an image that should not exist.
pub fn skopeo_exists(image: &str, extra: &[&str]) -> bool {
    Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .args(extra)
        .arg(format!("docker://{image}"))
        .output()
        .unwrap()
        .status
        .success()
}

/// `ferry bundle` of a fixture's manifest into `out` with `cache`, plus `extra` arguments.
pub fn bundle_of(f: &Fixture, out: &Path, cache: &Path, extra: &[&str]) -> std::process::Output {
    bundle_input(f.manifest.to_str().unwrap(), out, cache, extra)
}

/// `ferry bundle INPUT -o OUT --cache CACHE EXTRA...` (INPUT: a path, `oci://...`, a spec).
pub fn bundle_input(input: &str, out: &Path, cache: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "bundle",
        input,
        "-o",
        out.to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ferry(&args)
}

/// Runs ferry with the variables in `unset` removed from its environment and `set` added.
pub fn ferry_env(
    args: &[&str],
    unset: &[&str],
    set: &[(&str, &std::ffi::OsStr)],
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    for v in unset {
        cmd.env_remove(v);
    }
    let out = cmd.args(args).envs(set.iter().copied()).output().unwrap();
    plain_words(args, &out);
    out
}

pub fn ferry(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .output()
        .unwrap();
    plain_words(args, &out);
    out
}

/// `ferry inspect -o json BUNDLE`, which must succeed, as JSON.
#[track_caller]
pub fn inspect_json(bundle: &Path) -> serde_json::Value {
    let out = ferry(&["inspect", "-o", "json", bundle.to_str().unwrap()]);
    assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `sha256:HEX` of `bytes`, computed here (not by ferry).
pub fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// What Rust's `Debug` output looks like, never what ferry says to a person.
const DEBUG_PATTERNS: [&str; 8] = [
    "Some(",
    "None)",
    "Other(",
    "Os { code",
    "Custom { kind",
    "\\\"",
    "PathBuf",
    "Error {",
];

/// Every message ferry prints on stderr in every test is plain words: no `Debug` output.
#[track_caller]
pub fn plain_words(args: &[&str], out: &std::process::Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    for pattern in DEBUG_PATTERNS {
        assert!(
            !err.contains(pattern),
            "ferry {args:?} printed Rust debug output ({pattern}):\n{err}"
        );
    }
    for phase in ["Crds", "PreHooks", "Foundations", "PostHooks"] {
        assert!(
            !err.split(|c: char| !c.is_alphanumeric())
                .any(|w| w == phase),
            "ferry {args:?} printed a plan phase's Rust name ({phase}):\n{err}"
        );
    }
}

/// Runs a shell `command` on a terminal (a pty made by `script`) with `TERM=term`; what the
/// terminal showed is `stdout`.
pub fn on_terminal(command: &str, term: &str) -> std::process::Output {
    assert!(have("script"), "script (util-linux) is needed for a pty");
    Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .env("TERM", term)
        .output()
        .unwrap()
}

/// Asserts a command's exit code, showing both of its streams when it differs.
#[track_caller]
pub fn assert_exit(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A raw HTTP GET, for checks that must not depend on ferry's own client.
pub fn http_get(host: &str, path: &str) -> String {
    let mut s = TcpStream::connect(host).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// An HTTP answer: status, headers (names lower-case), body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// One HTTP/1.1 request with `Connection: close`; returns (status, headers, body).
pub fn http(host: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    try_http(host, method, path, headers, body)
        .unwrap_or_else(|| panic!("{method} {path}: no HTTP answer"))
}

/// As [`http`]; `None` when the server closed the connection without an answer.
pub fn try_http(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Answer> {
    let mut s = TcpStream::connect(host).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some((status, headers, raw[split + 4..].to_vec()))
}

/// Pushes a layout's image graph (rooted at `root`) to a plain-HTTP registry, by hand:
/// seeding for cases skopeo's OCI reader refuses (Docker media types in a layout).
pub fn raw_push(layout: &Layout, host: &str, repo: &str, root: &Desc, tag: &str) {
    fn push_blob(layout: &Layout, host: &str, repo: &str, digest: &str) {
        let bytes = std::fs::read(layout.dir.join("blobs/sha256").join(&digest[7..])).unwrap();
        let (status, headers, _) = http(
            host,
            "POST",
            &format!("/v2/{repo}/blobs/uploads/"),
            &[],
            b"",
        );
        assert_eq!(status, 202);
        let loc = headers
            .iter()
            .find(|(k, _)| k == "location")
            .unwrap()
            .1
            .clone();
        let path = loc.split_once("://").map_or(loc.clone(), |(_, rest)| {
            rest[rest.find('/').unwrap()..].to_string()
        });
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, _, body) = http(
            host,
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            &bytes,
        );
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    }
    fn push_manifest(layout: &Layout, host: &str, repo: &str, d: &Desc, reference: &str) {
        let bytes = std::fs::read(layout.dir.join("blobs/sha256").join(&d.digest[7..])).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        if let Some(children) = v["manifests"].as_array() {
            for c in children {
                let child = Desc {
                    media_type: c["mediaType"].as_str().unwrap().to_string(),
                    digest: c["digest"].as_str().unwrap().to_string(),
                    size: c["size"].as_u64().unwrap() as usize,
                };
                push_manifest(layout, host, repo, &child, &child.digest.clone());
            }
        } else {
            push_blob(layout, host, repo, v["config"]["digest"].as_str().unwrap());
            for l in v["layers"].as_array().unwrap() {
                push_blob(layout, host, repo, l["digest"].as_str().unwrap());
            }
        }
        let (status, _, body) = http(
            host,
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("Content-Type", &d.media_type)],
            &bytes,
        );
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    }
    push_manifest(layout, host, repo, root, tag);
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it: (ca.crt, srv.crt, srv.key).
pub fn make_tls(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca_key, ca_crt) = (dir.join("ca.key"), dir.join("ca.crt"));
    run_ok(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=ferry test CA", "-keyout"])
            .arg(&ca_key)
            .arg("-out")
            .arg(&ca_crt),
    );
    let (crt, key) = signed(
        dir,
        "srv",
        "crt",
        "/CN=127.0.0.1",
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:registry.test",
    );
    (ca_crt, crt, key)
}

/// A client certificate (`client.cert`, `client.key`) signed by the CA `make_tls` made in `dir`.
pub fn make_client_cert(dir: &Path) -> (PathBuf, PathBuf) {
    signed(
        dir,
        "client",
        "cert",
        "/CN=ferry client",
        "extendedKeyUsage=clientAuth",
    )
}

/// A key and a certificate with `extension`, signed by `dir`'s CA: (NAME.EXT, NAME.key).
pub fn signed(
    dir: &Path,
    name: &str,
    ext: &str,
    subject: &str,
    extension: &str,
) -> (PathBuf, PathBuf) {
    let (key, csr, crt, extfile) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.csr")),
        dir.join(format!("{name}.{ext}")),
        dir.join(format!("{name}.ext")),
    );
    run_ok(
        Command::new("openssl")
            .args([
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&csr),
    );
    std::fs::write(&extfile, format!("{extension}\n")).unwrap();
    run_ok(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(dir.join("ca.crt"))
            .arg("-CAkey")
            .arg(dir.join("ca.key"))
            .arg("-out")
            .arg(&crt)
            .arg("-extfile")
            .arg(&extfile),
    );
    (crt, key)
}

/// An htpasswd file (bcrypt, the only scheme Distribution reads) for one user, made by
/// Apache's `htpasswd` (apache2-utils).
pub fn make_htpasswd(dir: &Path, user: &str, password: &str) -> PathBuf {
    let out = Command::new("htpasswd")
        .args(["-nbB", user, password])
        .output()
        .expect("htpasswd (apache2-utils) is needed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.starts_with(&format!("{user}:$2")), "no bcrypt: {line}");
    let f = dir.join("htpasswd");
    std::fs::write(&f, line.trim()).unwrap();
    f
}

/// A docker config.json with Basic credentials for `host`.
pub fn docker_config(dir: &Path, host: &str, user: &str, password: &str) -> PathBuf {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let f = dir.join("config.json");
    std::fs::write(
        &f,
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    f
}

/// The token server of tests/support/tokensrv.py, stopped on drop.
pub struct TokenServer {
    pub realm: String,
    pub log: PathBuf,
    pub cert: PathBuf,
    _process: Running,
}

impl TokenServer {
    pub fn start(dir: &Path, userpass: &str) -> TokenServer {
        let (key, cert) = (dir.join("token.key"), dir.join("token.crt"));
        run_ok(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=ferry token",
                ])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert),
        );
        let port = free_port();
        let log = dir.join("token.log");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/tokensrv.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(&key)
            .arg(&cert)
            .arg(port.to_string())
            .arg(&log)
            .arg(userpass)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let host = format!("127.0.0.1:{port}");
        let process = Running(child);
        wait_for_port(&host, || "token server did not start".to_string());
        TokenServer {
            realm: format!("http://{host}/token"),
            log,
            cert,
            _process: process,
        }
    }
}

pub fn ferry_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    plain_words(args, &out);
    out
}

pub struct Fixture {
    pub src: TestRegistry,
    pub dst: TestRegistry,
    pub dir: TempDir,
    pub manifest: std::path::PathBuf,
}

/// Seeds `src` with a two-platform OCI index (shared base layer) and a Docker schema2
/// manifest list, and writes a Deployment naming both.
pub fn fixture(name: &str) -> Fixture {
    let src = TestRegistry::start(&format!("{name}-src"), "");
    let dst = TestRegistry::start(&format!("{name}-dst"), "");
    let dir = temp_dir(name);
    let base = noise(1, 300_000);

    let oci = Layout::new(&dir.join("oci"), false);
    let amd = oci.image("linux", "amd64", &[base.clone(), noise(2, 50_000)]);
    let arm = oci.image("linux", "arm64", &[base.clone(), noise(3, 60_000)]);
    let idx = oci.index(&[(amd, "linux", "amd64"), (arm, "linux", "arm64")]);
    oci.tag(&idx, "1.0");
    skopeo_push(&oci.dir, "1.0", &format!("{}/app/web:1.0", src.host), &[]);

    let docker = Layout::new(&dir.join("docker"), true);
    let one = docker.image("linux", "amd64", &[base, noise(4, 10_000)]);
    let list = docker.index(&[(one, "linux", "amd64")]);
    raw_push(&docker, &src.host, "lib/tool", &list, "2");

    let manifest = dir.join("deploy.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: {0}/app/web:1.0\n        - name: tool\n          image: {0}/lib/tool:2\n",
            src.host
        ),
    )
    .unwrap();
    Fixture {
        src,
        dst,
        dir,
        manifest,
    }
}

/// Writes the tar `dst`: `src` with the Python statements `edit` applied to `meta` (its
/// `ferry.json` as a dict, written back only when changed) and `files` (entry name to bytes,
/// in the tar's order), as an attacker with the transfer disk would; `dst` ending in `.gz`
/// is gzipped.
pub fn tamper(src: &Path, dst: &Path, edit: &str) {
    let script = r#"
import hashlib, io, json, sys, tarfile
src, dst, edit = sys.argv[1], sys.argv[2], sys.argv[3]
with tarfile.open(src) as t:
    files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
meta = json.loads(files["ferry.json"])
before = json.dumps(meta, sort_keys=True)
exec(edit)
if json.dumps(meta, sort_keys=True) != before:
    files["ferry.json"] = json.dumps(meta, indent=2).encode()
with tarfile.open(dst, "w:gz" if dst.endswith(".gz") else "w", format=tarfile.GNU_FORMAT) as out:
    for name, data in files.items():
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        out.addfile(info, io.BytesIO(data))
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            src.to_str().unwrap(),
            dst.to_str().unwrap(),
            edit,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "tamper: {}", text(&out.stderr));
}
