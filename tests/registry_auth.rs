//! Auth and TLS against real registries: TLS + htpasswd (Basic) and Harbor-style token auth
//! with a cross-repository mount; checked with skopeo.

mod support;

use support::*;

/// Registry config: token auth against `tokens`.
fn token_auth_config(tokens: &TokenServer) -> String {
    format!(
        "auth:\n  token:\n    realm: {}\n    service: ferry-test-registry\n    issuer: ferry-test-issuer\n    rootcertbundle: {}\n",
        tokens.realm,
        tokens.cert.display()
    )
}

/// Registry config: TLS with `crt`/`key` and Basic auth from `htpasswd`.
fn tls_htpasswd_config(
    crt: &std::path::Path,
    key: &std::path::Path,
    htpasswd: &std::path::Path,
) -> String {
    format!(
        "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: ferry-test\n    path: {}\n",
        crt.display(),
        key.display(),
        htpasswd.display()
    )
}

/// `ferry login HOST -u bob --password-stdin` with `password` typed in, credentials saved to
/// `config`, the server's CA from `ca`.
fn login_as_bob(host: &str, config: &str, ca: &str, password: &str) -> std::process::Output {
    ferry_stdin(
        &[
            "login",
            host,
            "-u",
            "bob",
            "--password-stdin",
            "--registry-config",
            config,
            "--ca-file",
            ca,
        ],
        password,
    )
}

/// Seeds `src` with two images sharing a 400 kB base layer.
fn seed(src: &TestRegistry, dir: &std::path::Path) {
    let base = noise(10, 400_000);
    for (i, name) in ["one", "two"].iter().enumerate() {
        let l = Layout::new(&dir.join(name), false);
        let img = l.image(
            "linux",
            "amd64",
            &[base.clone(), noise(20 + i as u64, 20_000)],
        );
        l.tag(&img, "1");
        skopeo_push(&l.dir, "1", &format!("{}/team/{name}:1", src.host), &[]);
    }
}

#[test]
fn tls_with_basic_auth_via_ca_file_and_config() {
    let dir = temp_dir("tls");
    let (ca, crt, key) = make_tls(&dir);
    let htpasswd = make_htpasswd(&dir, "alice", "s3cret");
    let src = TestRegistry::start("tls-src", "");
    let dst = TestRegistry::start("tls-dst", &tls_htpasswd_config(&crt, &key, &htpasswd));
    seed(&src, &dir);
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{0}/team/one:1\n{0}/team/two:1\n", src.host)).unwrap();
    let good = docker_config(&dir, &dst.host, "alice", "s3cret");

    // Untrusted certificate: a clear failure, nothing pushed, no fallback to plain HTTP.
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &dst.host,
        "--registry-config",
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).to_lowercase().contains("certificate"),
        "{}",
        text(&out.stderr)
    );

    // Wrong password: authentication failure, and the password is never printed.
    let bad_dir = dir.join("bad");
    std::fs::create_dir_all(&bad_dir).unwrap();
    let bad = docker_config(&bad_dir, &dst.host, "alice", "wrong-pass-xyz");
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &dst.host,
        "--ca-file",
        ca.to_str().unwrap(),
        "--registry-config",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4));
    let all = text(&out.stdout) + &text(&out.stderr);
    // Said once, before any image is queued, with the next step.
    let said = format!(
        "cannot push to {0}: authentication required (GET /v2/: 401",
        dst.host
    );
    assert_eq!(all.matches(&said).count(), 1, "{all}");
    assert!(
        all.contains(&format!(
            "(the credentials from {} were refused; run: ferry login {})",
            bad.display(),
            dst.host
        )),
        "{all}"
    );
    assert!(!all.contains("team/one"), "no image was queued: {all}");
    assert!(!all.contains("wrong-pass-xyz"));

    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &format!("{}/mirror", dst.host),
        "--ca-file",
        ca.to_str().unwrap(),
        "--registry-config",
        good.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    let creds = ["--creds", "alice:s3cret"];
    for name in ["one", "two"] {
        assert_eq!(
            skopeo_raw(&format!("{}/mirror/team/{name}:1", dst.host), &creds),
            skopeo_raw(&format!("{}/team/{name}:1", src.host), &[])
        );
    }
}

#[test]
fn token_auth_with_cross_repository_mount() {
    let dir = temp_dir("token");
    let tokens = TokenServer::start(&dir, "alice:s3cret");
    let src = TestRegistry::start("token-src", "");
    let dst = TestRegistry::start("token-dst", &token_auth_config(&tokens));
    seed(&src, &dir);
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{0}/team/one:1\n{0}/team/two:1\n", src.host)).unwrap();
    let config = docker_config(&dir, &dst.host, "alice", "s3cret");
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &dst.host,
        "--registry-config",
        config.to_str().unwrap(),
        "-o",
        "json",
        "--jobs",
        "1",
    ]);
    assert_exit(&out, 0);
    let summary: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(
        summary["blobs_mounted"], 1,
        "the shared base layer is mounted, not copied again: {summary}"
    );
    assert!(summary["bytes_copied"].as_u64().unwrap() < 2 * 400_000);

    let log = std::fs::read_to_string(&tokens.log).unwrap();
    let mount_scopes = log.lines().any(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let s: Vec<&str> = v["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_str())
            .collect();
        v["user"] == "alice"
            && s.iter().any(|x| x.ends_with(":pull,push"))
            && s.iter().any(|x| {
                x.starts_with("repository:team/") && x.ends_with(":pull") && !x.ends_with("push")
            })
    });
    assert!(
        mount_scopes,
        "no token request with both repositories' scopes:\n{log}"
    );

    for name in ["one", "two"] {
        assert_eq!(
            skopeo_raw(
                &format!("{}/team/{name}:1", dst.host),
                &["--creds", "alice:s3cret"]
            ),
            skopeo_raw(&format!("{}/team/{name}:1", src.host), &[])
        );
    }
}

#[test]
fn login_checks_credentials_before_saving_them() {
    let dir = temp_dir("login");
    let (ca, crt, key) = make_tls(&dir);
    let htpasswd = make_htpasswd(&dir, "bob", "hunter2");
    let reg = TestRegistry::start("login", &tls_htpasswd_config(&crt, &key, &htpasswd));
    let config = dir.join("docker/config.json");
    let cfg = config.to_str().unwrap();
    let ca = ca.to_str().unwrap();

    let out = login_as_bob(&reg.host, cfg, ca, "nope\n");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(!config.exists(), "rejected credentials were saved");
    assert!(!text(&out.stderr).contains("nope"));

    let out = login_as_bob(&reg.host, cfg, ca, "hunter2\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert!(saved["auths"][&reg.host]["auth"].is_string(), "{saved}");

    // Without --password-stdin: asked on a terminal (no echo), refused elsewhere.
    let asked = dir.join("asked.json");
    let command = format!(
        "'{}' login '{}' -u bob --registry-config '{}' --ca-file '{ca}'",
        env!("CARGO_BIN_EXE_ferry"),
        reg.host,
        asked.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Typed once the prompt is up (so the terminal has echo off by then).
    let mut screen = Vec::new();
    {
        use std::io::{Read as _, Write as _};
        let mut stdout = child.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        while !String::from_utf8_lossy(&screen).contains("Password for") {
            assert_eq!(stdout.read(&mut byte).unwrap(), 1, "no prompt: {screen:?}");
            screen.push(byte[0]);
        }
        // The prompt is printed just before echo goes off: a person types after reading
        // it; so does this, a moment later.
        std::thread::sleep(std::time::Duration::from_secs(1));
        child.stdin.take().unwrap().write_all(b"hunter2\n").unwrap();
        stdout.read_to_end(&mut screen).unwrap();
    }
    let status = child.wait().unwrap();
    let screen = text(&screen);
    assert!(status.success(), "{screen}");
    assert!(
        screen.contains(&format!("Password for bob@{}: ", reg.host)),
        "{screen}"
    );
    assert!(
        !screen.contains("hunter2"),
        "the password was echoed: {screen}"
    );
    assert!(asked.is_file());
    let out = ferry(&["login", &reg.host, "-u", "bob", "--registry-config", cfg]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("no password: pipe it in with --password-stdin"),
        "{}",
        text(&out.stderr)
    );

    // A linked config is written through its link (dotfiles managers link it).
    let linked = dir.join("linked.json");
    std::os::unix::fs::symlink(&config, &linked).unwrap();
    let out = login_as_bob(&reg.host, linked.to_str().unwrap(), ca, "hunter2\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(linked.is_symlink(), "the link was replaced by a file");

    // The saved entry is what mirror then uses.
    let src = TestRegistry::start("login-src", "");
    seed(&src, &dir);
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{}/team/one:1\n", src.host)).unwrap();
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &reg.host,
        "--registry-config",
        cfg,
        "--ca-file",
        ca,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // logout takes them away: the next mirror is refused, the file keeps its other entries.
    let out = ferry(&["logout", &reg.host, "--registry-config", cfg]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Removing login credentials"),
        "{}",
        text(&out.stderr)
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert!(saved["auths"].get(&reg.host).is_none(), "{saved}");
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &reg.host,
        "--registry-config",
        cfg,
        "--ca-file",
        ca,
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    let out = ferry(&["logout", &reg.host, "--registry-config", cfg]);
    assert!(
        text(&out.stderr).contains("Not logged in"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn identity_token_is_exchanged_at_the_token_realm() {
    let dir = temp_dir("idtoken");
    let tokens = TokenServer::start(&dir, "alice:s3cret");
    let src = TestRegistry::start("idtoken-src", "");
    let dst = TestRegistry::start("idtoken-dst", &token_auth_config(&tokens));
    seed(&src, &dir);
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths":{{"{}":{{"identitytoken":"refresh-alice"}}}}}}"#,
            dst.host
        ),
    )
    .unwrap();
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{}/team/one:1\n", src.host)).unwrap();
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &dst.host,
        "--registry-config",
        config.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    let log = std::fs::read_to_string(&tokens.log).unwrap();
    assert!(log.contains(r#""grant": "refresh_token""#), "{log}");
    assert!(!text(&out.stdout).contains("refresh-alice"));
}

#[test]
fn certs_d_directory_trusts_its_host_only() {
    use ferry::graph::{CopyJob, CopyOptions, Engine};
    use ferry::reference::Reference;
    use ferry::registry::{Registries, RegistryOptions, TransportOptions};

    ferry::init_crypto();
    let dir = temp_dir("certsd");
    let (ca, crt, key) = make_tls(&dir);
    let dst = TestRegistry::start(
        "certsd",
        &format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            crt.display(),
            key.display()
        ),
    );
    let src = TestRegistry::start("certsd-src", "");
    seed(&src, &dir);
    let certs_d = dir.join("certs.d");
    std::fs::create_dir_all(certs_d.join(&dst.host)).unwrap();
    std::fs::copy(&ca, certs_d.join(&dst.host).join("ca.crt")).unwrap();

    let copy = |certs_dirs: Vec<std::path::PathBuf>| {
        let options = RegistryOptions {
            transport: TransportOptions {
                certs_dirs,
                ..Default::default()
            },
            ..Default::default()
        };
        let registries = Registries::new(options);
        let engine = Engine::new(CopyOptions::default());
        let source = Reference::parse(&format!("{}/team/one:1", src.host)).unwrap();
        let target = Reference::parse(&format!("{}/team/one:1", dst.host)).unwrap();
        let job = CopyJob::pull(&registries, &source, source.clone(), target).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut reports = rt.block_on(engine.copy_all(&registries, &[job], |_, _| {}));
        reports.remove(0)
    };
    let without = copy(Vec::new());
    assert!(
        without.error.is_some(),
        "trusted an unknown CA: {without:?}"
    );
    let with = copy(vec![certs_d]);
    assert!(with.error.is_none(), "{:?}", with.error);
    assert_eq!(
        skopeo_raw(&format!("{}/team/one:1", dst.host), &[]),
        skopeo_raw(&format!("{}/team/one:1", src.host), &[])
    );
}

#[test]
fn client_certificates_from_a_certs_dir() {
    let dir = temp_dir("mtls");
    let (ca, crt, key) = make_tls(&dir);
    let (client_crt, client_key) = make_client_cert(&dir);
    let dst = TestRegistry::start(
        "mtls",
        &format!(
            "  tls:\n    certificate: {}\n    key: {}\n    clientcas:\n      - {}\n",
            crt.display(),
            key.display(),
            ca.display()
        ),
    );
    let src = TestRegistry::start("mtls-src", "");
    seed(&src, &dir);
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{}/team/one:1\n", src.host)).unwrap();
    let certs_dir = |name: &str, files: &[(&std::path::Path, &str)]| {
        let root = dir.join(name);
        let host_dir = root.join(&dst.host);
        std::fs::create_dir_all(&host_dir).unwrap();
        for (from, to) in files {
            std::fs::copy(from, host_dir.join(to)).unwrap();
        }
        root
    };
    let mirror = |certs: &std::path::Path, prefix: &str| {
        ferry(&[
            "mirror",
            "--images",
            list.to_str().unwrap(),
            "--to",
            &format!("{}/{prefix}", dst.host),
            "--certs-dir",
            certs.to_str().unwrap(),
        ])
    };

    // The CA alone: the registry asks for a client certificate and the copy fails.
    let ca_only = certs_dir("ca-only", &[(&ca, "ca.crt")]);
    let out = mirror(&ca_only, "none");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("if it requires a client certificate, put client.cert"),
        "{}",
        text(&out.stderr)
    );

    // A certificate without its key: refused, naming the file.
    let half = certs_dir("half", &[(&ca, "ca.crt"), (&client_crt, "client.cert")]);
    let out = mirror(&half, "half");
    let all = text(&out.stdout) + &text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("client.cert") && all.contains("without its key"),
        "{all}"
    );

    // The pair, as docker and podman read it: the copy succeeds.
    let full = certs_dir(
        "full",
        &[
            (&ca, "ca.crt"),
            (&client_crt, "client.cert"),
            (&client_key, "client.key"),
        ],
    );
    let out = mirror(&full, "mtls");
    assert_exit(&out, 0);
    let skopeo_certs = full.join(&dst.host);
    assert_eq!(
        skopeo_raw(
            &format!("{}/mtls/team/one:1", dst.host),
            &["--cert-dir", skopeo_certs.to_str().unwrap()]
        ),
        skopeo_raw(&format!("{}/team/one:1", src.host), &[])
    );
}

#[test]
fn podman_and_skopeo_login_files_are_read() {
    let dir = temp_dir("podman-auth");
    let (ca, crt, key) = make_tls(&dir);
    let htpasswd = make_htpasswd(&dir, "alice", "s3cret");
    let src = TestRegistry::start("podman-src", "");
    let dst = TestRegistry::start("podman-dst", &tls_htpasswd_config(&crt, &key, &htpasswd));
    seed(&src, &dir);
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{}/team/one:1\n", src.host)).unwrap();
    // `podman login` writes $XDG_RUNTIME_DIR/containers/auth.json; HOME has no docker config.
    let (runtime, home) = (dir.join("run"), dir.join("home"));
    std::fs::create_dir_all(runtime.join("containers")).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let auth = docker_config(&dir, &dst.host, "alice", "s3cret");
    std::fs::copy(&auth, runtime.join("containers/auth.json")).unwrap();
    let mirror = |runtime_dir: Option<&std::path::Path>| {
        let mut set = vec![("HOME", home.as_os_str())];
        set.extend(runtime_dir.map(|d| ("XDG_RUNTIME_DIR", d.as_os_str())));
        ferry_env(
            &[
                "mirror",
                "--images",
                list.to_str().unwrap(),
                "--to",
                &dst.host,
                "--ca-file",
                ca.to_str().unwrap(),
            ],
            &[
                "REGISTRY_AUTH_FILE",
                "DOCKER_CONFIG",
                "XDG_CONFIG_HOME",
                "XDG_RUNTIME_DIR",
            ],
            &set,
        )
    };
    let out = mirror(None);
    assert_exit(&out, 4);
    assert!(
        text(&out.stderr).contains("authentication"),
        "{}",
        text(&out.stderr)
    );
    assert_exit(&mirror(Some(&runtime)), 0);
    // `skopeo login` without a runtime dir: ~/.config/containers/auth.json.
    std::fs::create_dir_all(home.join(".config/containers")).unwrap();
    std::fs::copy(&auth, home.join(".config/containers/auth.json")).unwrap();
    assert_exit(&mirror(None), 0);
}

#[test]
fn ssl_cert_file_is_trusted_like_go_clients_trust_it() {
    let dir = temp_dir("ssl-cert-file");
    let (ca, crt, key) = make_tls(&dir);
    let src = TestRegistry::start("sslcf-src", "");
    let dst = TestRegistry::start(
        "sslcf-dst",
        &format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            crt.display(),
            key.display()
        ),
    );
    seed(&src, &dir);
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{}/team/one:1\n", src.host)).unwrap();
    let mirror = |ca_file: Option<&std::path::Path>| {
        let set: Vec<_> = ca_file
            .map(|f| ("SSL_CERT_FILE", f.as_os_str()))
            .into_iter()
            .collect();
        ferry_env(
            &[
                "mirror",
                "--images",
                list.to_str().unwrap(),
                "--to",
                &dst.host,
            ],
            &["SSL_CERT_FILE", "SSL_CERT_DIR"],
            &set,
        )
    };
    assert_exit(&mirror(None), 4);
    assert_exit(&mirror(Some(&ca)), 0);
}

/// With `credsStore` in the config, `login` stores through the helper as docker does (no
/// password in the file), and later runs read it back through the same helper.
#[test]
fn login_stores_through_the_credential_helper_the_config_names() {
    use std::os::unix::fs::PermissionsExt;

    let dir = temp_dir("login-helper");
    let (ca, crt, key) = make_tls(&dir);
    let htpasswd = make_htpasswd(&dir, "bob", "hunter2");
    let reg = TestRegistry::start("login-helper", &tls_htpasswd_config(&crt, &key, &htpasswd));
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let store = dir.join("store.json");
    // A credential helper speaking docker's protocol, keeping one entry in a file.
    let helper = bin.join("docker-credential-fake");
    std::fs::write(
        &helper,
        format!(
            "#!/usr/bin/env python3\nimport json, sys\nstore = {store:?}\nif sys.argv[1] == 'store':\n    open(store, 'w').write(sys.stdin.read())\nelif sys.argv[1] == 'get':\n    host = sys.stdin.read().strip()\n    try:\n        e = json.load(open(store))\n    except OSError:\n        e = {{}}\n    if e.get('ServerURL') != host:\n        print('credentials not found in native keychain'); sys.exit(1)\n    print(json.dumps({{'Username': e['Username'], 'Secret': e['Secret']}}))\n",
            store = store.display().to_string()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.join("config.json");
    std::fs::write(&config, r#"{"credsStore": "fake", "other": 1}"#).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let run = |args: &[&str], stdin: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(args)
            .env("PATH", &path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        plain_words(args, &out);
        out
    };
    let (cfg, ca) = (config.to_str().unwrap(), ca.to_str().unwrap());
    let out = run(
        &[
            "login",
            &reg.host,
            "-u",
            "bob",
            "--password-stdin",
            "--registry-config",
            cfg,
            "--ca-file",
            ca,
        ],
        "hunter2\n",
    );
    assert_exit(&out, 0);
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&store).unwrap()).unwrap();
    assert_eq!(stored["ServerURL"], reg.host.as_str());
    assert_eq!(stored["Secret"], "hunter2");
    let file = std::fs::read_to_string(&config).unwrap();
    assert!(
        !file.contains("hunter2") && !file.contains("aHVudGVy"),
        "{file}"
    );
    let saved: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(saved["other"], 1, "{file}");
    assert_eq!(saved["auths"][&reg.host], serde_json::json!({}), "{file}");

    // Read back through the helper: a mirror into the registry authenticates.
    let src = TestRegistry::start("login-helper-src", "");
    seed(&src, &dir);
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{}/team/one:1\n", src.host)).unwrap();
    let out = run(
        &[
            "mirror",
            "--images",
            list.to_str().unwrap(),
            "--to",
            &reg.host,
            "--registry-config",
            cfg,
            "--ca-file",
            ca,
        ],
        "",
    );
    assert_exit(&out, 0);
}

/// Eight transfers at once need one token per scope set, not one each.
#[test]
fn one_token_request_per_scope_set() {
    let dir = temp_dir("token-once");
    let tokens = TokenServer::start(&dir, "alice:s3cret");
    let src = TestRegistry::start("token-once-src", "");
    let dst = TestRegistry::start("token-once-dst", &token_auth_config(&tokens));
    seed(&src, &dir);
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{0}/team/one:1\n{0}/team/two:1\n", src.host)).unwrap();
    let config = docker_config(&dir, &dst.host, "alice", "s3cret");
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &dst.host,
        "--registry-config",
        config.to_str().unwrap(),
        "--jobs",
        "8",
    ]);
    assert_exit(&out, 0);
    let log = std::fs::read_to_string(&tokens.log).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut scopes: Vec<String> = v["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        scopes.sort();
        assert!(
            seen.insert((v["user"].to_string(), scopes.clone())),
            "token for {scopes:?} requested twice:\n{log}"
        );
    }
    assert!(!seen.is_empty());
}

/// A registry serving a self-signed certificate made with `openssl req -x509` (which marks
/// it a CA, and which webpki alone refuses as a server's own): trusted with --ca-file or
/// certs.d it is accepted, its name still checked; untrusted it is refused.
#[test]
fn a_self_signed_registry_certificate_the_user_trusts_is_accepted() {
    let dir = temp_dir("self-signed");
    let (crt, key) = (dir.join("self.crt"), dir.join("self.key"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made.stderr));
    let info = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&crt)
        .output()
        .unwrap();
    assert!(
        text(&info.stdout).contains("CA:TRUE"),
        "not the case under test"
    );
    let tls = format!(
        "  tls:\n    certificate: {}\n    key: {}\n",
        crt.display(),
        key.display()
    );
    let dst = TestRegistry::start("self-signed-dst", &tls);
    let src = TestRegistry::start("self-signed-src", "");
    seed(&src, &dir);
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{}/team/one:1\n", src.host)).unwrap();
    let mirror = |extra: &[&str]| {
        let mut args = vec![
            "mirror",
            "--images",
            list.to_str().unwrap(),
            "--to",
            &dst.host,
        ];
        args.extend_from_slice(extra);
        ferry(&args)
    };
    let out = mirror(&[]);
    assert_exit(&out, 4);
    assert!(
        text(&out.stderr).to_lowercase().contains("certificate")
            && text(&out.stderr).contains("trust its CA with --ca-file"),
        "{}",
        text(&out.stderr)
    );

    let out = mirror(&["--ca-file", crt.to_str().unwrap()]);
    assert_exit(&out, 0);
    // Checked by an independent client trusting the same certificate.
    let certs = dir.join("skopeo-certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(&crt, certs.join("ca.crt")).unwrap();
    assert!(skopeo_exists(
        &format!("{}/team/one:1", dst.host),
        &["--cert-dir", certs.to_str().unwrap()]
    ));

    // The same through certs.d; and reached by a name the certificate does not carry, it
    // is refused even though trusted.
    let certs_d = dir.join("certs.d");
    std::fs::create_dir_all(certs_d.join(&dst.host)).unwrap();
    std::fs::copy(&crt, certs_d.join(&dst.host).join("ca.crt")).unwrap();
    let out = mirror(&["--certs-dir", certs_d.to_str().unwrap()]);
    assert_exit(&out, 0);
    let port = dst.host.rsplit_once(':').unwrap().1;
    let by_name = format!("localhost:{port}");
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &by_name,
        "--ca-file",
        crt.to_str().unwrap(),
    ]);
    assert_exit(&out, 4);
    assert!(
        text(&out.stderr).to_lowercase().contains("certificate"),
        "{}",
        text(&out.stderr)
    );
}

/// Certificate refusals in words, each with the hint that can mend it: a CA's certificate
/// served as the server's own (rustls passes the path check's refusal on under a name,
/// `CaUsedAsEndEntity`), and a certificate for another host (trusting a CA does not mend it).
#[test]
fn certificate_refusals_are_said_in_words_with_their_own_hint() {
    let dir = temp_dir("tls-refusals");
    let (ca, _, _) = make_tls(&dir);
    let htpasswd = make_htpasswd(&dir, "bob", "hunter2");
    let cases = [
        (
            "basicConstraints=critical,CA:TRUE\nsubjectAltName=IP:127.0.0.1",
            "certificate is a CA's certificate",
            "trust its CA",
        ),
        (
            "subjectAltName=DNS:elsewhere.test",
            "certificate does not name this host",
            "must be mended there",
        ),
    ];
    for (i, (extension, said_what, hint)) in cases.into_iter().enumerate() {
        let (crt, key) = signed(&dir, &format!("srv{i}"), "crt", "/CN=srv", extension);
        let reg = TestRegistry::start(
            &format!("tls-refusal-{i}"),
            &tls_htpasswd_config(&crt, &key, &htpasswd),
        );
        let config = dir.join(format!("docker{i}/config.json"));
        let out = login_as_bob(
            &reg.host,
            config.to_str().unwrap(),
            ca.to_str().unwrap(),
            "hunter2\n",
        );
        assert_exit(&out, 4);
        let said = text(&out.stderr);
        assert!(said.contains(said_what) && said.contains(hint), "{said}");
        assert!(!said.contains("CaUsedAsEndEntity"), "{said}");
        assert!(!config.exists());
    }
}
