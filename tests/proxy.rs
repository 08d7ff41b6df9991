//! Registries behind an HTTP proxy from the environment: names only the proxy can resolve,
//! HTTPS through a CONNECT tunnel with the certificate still checked, plain HTTP forwarded,
//! `NO_PROXY` honoured, loopback never proxied.

mod support;

use support::faults::FaultProxy;
use support::*;

const PROXY_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

fn ferry_with_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let set: Vec<(&str, &std::ffi::OsStr)> = env.iter().map(|(k, v)| (*k, v.as_ref())).collect();
    ferry_env(args, &PROXY_VARS, &set)
}

fn port(host: &str) -> &str {
    host.rsplit_once(':').unwrap().1
}

#[test]
fn registries_behind_a_proxy_from_the_environment() {
    let dir = temp_dir("proxy");
    let (ca, crt, key) = make_tls(&dir);
    let src = TestRegistry::start("proxy-src", "");
    let tls = format!(
        "  tls:\n    certificate: {}\n    key: {}\n",
        crt.display(),
        key.display()
    );
    let dst = TestRegistry::start("proxy-dst", &tls);
    let direct = TestRegistry::start("proxy-direct", "");
    let l = Layout::new(&dir.join("img"), false);
    let img = l.image("linux", "amd64", &[noise(70, 120_000), noise(71, 30_000)]);
    l.tag(&img, "1");
    skopeo_push(&l.dir, "1", &format!("{}/app/p:1", src.host), &[]);

    // Both registries by a name that only the proxy resolves.
    let src_name = format!("registry.test:{}", port(&src.host));
    let dst_name = format!("registry.test:{}", port(&dst.host));
    let proxy = FaultProxy::start("127.0.0.1:1", vec![]);
    let proxy_url = format!("http://{}", proxy.host);
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{src_name}/app/p:1\n")).unwrap();
    let args = [
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &dst_name,
        "--ca-file",
        ca.to_str().unwrap(),
        "--insecure-registry",
        &src_name,
    ];
    let env = [
        ("HTTPS_PROXY", proxy_url.as_str()),
        ("HTTP_PROXY", proxy_url.as_str()),
    ];
    let out = ferry_with_env(&args, &env);
    assert_exit(&out, 0);
    let seen = proxy.seen.lock().unwrap().clone();
    assert!(
        seen.contains(&format!("CONNECT {dst_name}")),
        "TLS registry not tunnelled: {seen:?}"
    );
    assert!(
        seen.contains(&format!("GET http://{src_name}/v2/app/p/manifests/1")),
        "plain HTTP registry not forwarded: {seen:?}"
    );
    assert_eq!(
        skopeo_raw(&format!("{}/app/p:1", dst.host), &[]),
        skopeo_raw(&format!("{}/app/p:1", src.host), &[])
    );

    // NO_PROXY: ferry goes direct, where the name does not resolve: a clear failure.
    let before = proxy.seen.lock().unwrap().len();
    let env_no = [
        ("HTTPS_PROXY", proxy_url.as_str()),
        ("HTTP_PROXY", proxy_url.as_str()),
        ("NO_PROXY", "registry.test"),
    ];
    let out = ferry_with_env(&args, &env_no);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("registry.test"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(proxy.seen.lock().unwrap().len(), before, "NO_PROXY ignored");

    // Loopback registries are never proxied, even with a proxy set for everything.
    let list = dir.join("loopback.txt");
    std::fs::write(&list, format!("{}/app/p:1\n", src.host)).unwrap();
    let out = ferry_with_env(
        &[
            "mirror",
            "--images",
            list.to_str().unwrap(),
            "--to",
            &direct.host,
        ],
        &[
            ("HTTPS_PROXY", proxy_url.as_str()),
            ("HTTP_PROXY", proxy_url.as_str()),
            ("ALL_PROXY", proxy_url.as_str()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(proxy.seen.lock().unwrap().len(), before, "loopback proxied");
    assert!(skopeo_exists(&format!("{}/app/p:1", direct.host), &[]));
}

#[test]
fn the_cluster_behind_a_proxy_from_the_environment() {
    use support::apiserver::ApiServer;

    let server = ApiServer::start();
    let dir = temp_dir("proxy-cluster");
    let manifest = dir.join("cm.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: via-proxy, namespace: default}\n",
    )
    .unwrap();
    let port = server.url.rsplit_once(':').unwrap().1.to_string();
    let kc = server.kubeconfig(&dir);
    let by_name = dir.join("kubeconfig-by-name");
    std::fs::write(
        &by_name,
        std::fs::read_to_string(&kc)
            .unwrap()
            .replace(&server.url, &format!("http://apiserver.test:{port}")),
    )
    .unwrap();
    let proxy = FaultProxy::start("127.0.0.1:1", vec![]);
    let proxy_url = format!("http://{}", proxy.host);
    let apply = |kubeconfig: &std::path::Path, env: &[(&str, &str)]| {
        ferry_with_env(
            &[
                "apply",
                manifest.to_str().unwrap(),
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
            ],
            env,
        )
    };

    // Through the proxy, by a name only the proxy resolves (kube tunnels with CONNECT).
    let out = apply(&by_name, &[("HTTPS_PROXY", &proxy_url)]);
    assert_exit(&out, 0);
    let seen = proxy.seen.lock().unwrap().clone();
    assert!(
        seen.contains(&format!("CONNECT apiserver.test:{port}")),
        "{seen:?}"
    );
    assert!(
        server
            .get("/api/v1/namespaces/default/configmaps/via-proxy")
            .is_some()
    );

    // NO_PROXY: straight to a name that does not resolve here.
    let out = apply(
        &by_name,
        &[("HTTPS_PROXY", &proxy_url), ("NO_PROXY", "apiserver.test")],
    );
    assert_exit(&out, 5);

    // A loopback API server is never proxied, even through a proxy that is not there.
    let before = proxy.seen.lock().unwrap().len();
    let out = apply(&kc, &[("HTTPS_PROXY", "http://127.0.0.1:1")]);
    assert_exit(&out, 0);
    assert_eq!(proxy.seen.lock().unwrap().len(), before);
}

/// A registry reached over TLS whose token realm is plain HTTP on another host: the password
/// is not sent there in clear (exit 4, the token server never asked) unless that host is named
/// with --insecure-registry.
#[test]
fn a_plain_http_token_realm_gets_no_password() {
    let dir = temp_dir("proxy-realm");
    let (ca, crt, key) = make_tls(&dir);
    let tokens = TokenServer::start(&dir, "alice:s3cret");
    let tokens_port = port(
        tokens
            .realm
            .trim_end_matches("/token")
            .trim_start_matches("http://"),
    );
    let realm_host = format!("tokens.test:{tokens_port}");
    let config = format!(
        "  tls:\n    certificate: {}\n    key: {}\nauth:\n  token:\n    realm: http://{realm_host}/token\n    service: ferry-test-registry\n    issuer: ferry-test-issuer\n    rootcertbundle: {}\n",
        crt.display(),
        key.display(),
        tokens.cert.display()
    );
    let dst = TestRegistry::start("proxy-realm-dst", &config);
    let src = TestRegistry::start("proxy-realm-src", "");
    let l = Layout::new(&dir.join("img"), false);
    let img = l.image("linux", "amd64", &[noise(80, 50_000)]);
    l.tag(&img, "1");
    skopeo_push(&l.dir, "1", &format!("{}/app/r:1", src.host), &[]);
    let dst_name = format!("registry.test:{}", port(&dst.host));
    let creds = docker_config(&dir, &dst_name, "alice", "s3cret");
    let list = dir.join("images.txt");
    std::fs::write(&list, format!("{}/app/r:1\n", src.host)).unwrap();
    let proxy = FaultProxy::start("127.0.0.1:1", vec![]);
    let proxy_url = format!("http://{}", proxy.host);
    let env = [
        ("HTTPS_PROXY", proxy_url.as_str()),
        ("HTTP_PROXY", proxy_url.as_str()),
    ];
    let mut args = vec![
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &dst_name,
        "--ca-file",
        ca.to_str().unwrap(),
        "--registry-config",
        creds.to_str().unwrap(),
    ];
    let out = ferry_with_env(&args, &env);
    assert_exit(&out, 4);
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(
        said.contains("is plain HTTP: credentials are not sent"),
        "{said}"
    );
    let asked = std::fs::read_to_string(&tokens.log).unwrap_or_default();
    assert!(
        asked.trim().is_empty(),
        "the token server was asked: {asked}"
    );

    args.extend(["--insecure-registry", &realm_host]);
    let out = ferry_with_env(&args, &env);
    assert_exit(&out, 0);
    assert!(
        !std::fs::read_to_string(&tokens.log)
            .unwrap()
            .trim()
            .is_empty()
    );
}
