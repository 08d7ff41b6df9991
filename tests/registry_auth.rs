//! Auth and TLS against real registries: TLS + htpasswd (Basic) and Harbor-style token auth
//! with a cross-repository mount; checked with skopeo.

mod support;

use support::*;

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
    let dst = TestRegistry::start(
        "tls-dst",
        &format!(
            "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: ferry-test\n    path: {}\n",
            crt.display(),
            key.display(),
            htpasswd.display()
        ),
    );
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
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).to_lowercase().contains("certificate"),
        "{}",
        text(&out.stdout)
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
    assert!(all.contains("authentication failed"), "{all}");
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
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
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
    let dst = TestRegistry::start(
        "token-dst",
        &format!(
            "auth:\n  token:\n    realm: {}\n    service: ferry-test-registry\n    issuer: ferry-test-issuer\n    rootcertbundle: {}\n",
            tokens.realm,
            tokens.cert.display()
        ),
    );
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
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
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
