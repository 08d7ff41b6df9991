//! cosign signatures checked offline: signatures made with openssl in cosign's format
//! (simple-signing payload, ECDSA P-256 over SHA-256 in ASN.1, or Ed25519, base64 in the
//! layer's `dev.cosignproject.cosign/signature` annotation, pushed as the image's
//! `sha256-<hex>.sig` tag), carried by bundle, verified by `ferry verify --key`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use support::*;

fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        text(&out.stderr)
    );
    out.stdout
}

/// A key pair of `kind` (`ec` or `ed25519`): (private key, public key) files.
fn key_pair(dir: &Path, name: &str, kind: &str) -> (PathBuf, PathBuf) {
    let key = format!("{name}.key");
    let public = format!("{name}.pub");
    match kind {
        "ec" => openssl(
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                &key,
            ],
            dir,
        ),
        _ => openssl(&["genpkey", "-algorithm", "ed25519", "-out", &key], dir),
    };
    openssl(&["pkey", "-in", &key, "-pubout", "-out", &public], dir);
    (dir.join(key), dir.join(public))
}

/// `key` as PKCS#8 (what `bundle --sign-key` reads; `ecparam -genkey` writes SEC1).
fn pkcs8(dir: &Path, key: &Path) -> PathBuf {
    let out = key.with_extension("p8");
    openssl(
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            key.to_str().unwrap(),
            "-out",
            out.to_str().unwrap(),
        ],
        dir,
    );
    out
}

/// Signs `payload` with `key` as cosign does for its kind.
fn sign(dir: &Path, key: &Path, kind: &str, payload: &[u8]) -> String {
    let file = dir.join("payload.json");
    std::fs::write(&file, payload).unwrap();
    let key = key.to_str().unwrap();
    let file = file.to_str().unwrap();
    let sig = match kind {
        "ec" => openssl(&["dgst", "-sha256", "-sign", key, file], dir),
        _ => openssl(
            &["pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", file],
            dir,
        ),
    };
    base64::engine::general_purpose::STANDARD.encode(sig)
}

/// Pushes a cosign signature of `repo@digest` (payload naming `named`) to `host`.
fn push_signature(host: &str, repo: &str, digest: &str, named: &str, signature: &str, dir: &Path) {
    let payload = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{host}/{repo}"}},"image":{{"docker-manifest-digest":"{named}"}},"type":"cosign container image signature"}},"optional":null}}"#
    );
    let layout = Layout::new(&dir.join(format!("sig-{}", &digest[7..19])), false);
    let config = layout.blob("application/vnd.oci.image.config.v1+json", b"{}");
    let layer = layout.blob(
        "application/vnd.dev.cosign.simplesigning.v1+json",
        payload.as_bytes(),
    );
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"{}","digest":"{}","size":{}}},"layers":[{{"mediaType":"{}","digest":"{}","size":{},"annotations":{{"dev.cosignproject.cosign/signature":"{signature}"}}}}]}}"#,
        config.media_type, config.digest, config.size, layer.media_type, layer.digest, layer.size
    );
    let root = layout.blob(
        "application/vnd.oci.image.manifest.v1+json",
        manifest.as_bytes(),
    );
    raw_push(
        &layout,
        host,
        repo,
        &root,
        &format!("sha256-{}.sig", &digest[7..]),
    );
}

fn payload_for(host: &str, repo: &str, named: &str) -> Vec<u8> {
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{host}/{repo}"}},"image":{{"docker-manifest-digest":"{named}"}},"type":"cosign container image signature"}},"optional":null}}"#
    )
    .into_bytes()
}

#[test]
fn verify_checks_every_image_against_the_vendors_keys_offline() {
    let f = fixture("cosign");
    let digest_of = |image: &str| {
        ferry::digest::Digest::of(&skopeo_raw(&format!("{}/{image}", f.src.host), &[])).to_string()
    };
    let web = digest_of("app/web:1.0");
    let tool = digest_of("lib/tool:2");
    let (ec_key, ec_pub) = key_pair(&f.dir, "vendor", "ec");
    let (ed_key, ed_pub) = key_pair(&f.dir, "other", "ed25519");

    // app/web signed with the ECDSA key.
    let payload = payload_for(&f.src.host, "app/web", &web);
    let sig = sign(&f.dir, &ec_key, "ec", &payload);
    push_signature(&f.src.host, "app/web", &web, &web, &sig, &f.dir);
    // lib/tool: a valid Ed25519 signature, but of app/web's digest (a replayed signature).
    let replayed = payload_for(&f.src.host, "lib/tool", &web);
    let sig = sign(&f.dir, &ed_key, "ed25519", &replayed);
    push_signature(&f.src.host, "lib/tool", &tool, &web, &sig, &f.dir);

    let bundle = f.dir.join("signed.tar");
    let vendor_key = pkcs8(&f.dir, &ec_key);
    let r = bundle_of(
        &f,
        &bundle,
        &f.dir.join("cache"),
        &["--sign-key", vendor_key.to_str().unwrap()],
    );
    assert_exit(&r, 0);

    let verify = |keys: &[&PathBuf]| {
        let mut args = vec!["verify".to_string(), bundle.display().to_string()];
        for k in keys {
            args.extend(["--key".to_string(), k.display().to_string()]);
        }
        ferry(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let out = verify(&[&ec_pub, &ed_pub]);
    assert_exit(&out, 6);
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&format!(
            "signed    {}/app/web:1.0 (key {}; identity {}/app/web)",
            f.src.host,
            ec_pub.display(),
            f.src.host
        )),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "BAD       {}/lib/tool:2: a valid signature of another image",
            f.src.host
        )),
        "{shown}"
    );
    assert!(
        shown.contains("signatures: 1 of 2 images verified"),
        "{shown}"
    );

    // Only the Ed25519 key: app/web's ECDSA signature verifies with no given key.
    let out = verify(&[&ed_pub]);
    assert_exit(&out, 6);
    assert!(
        text(&out.stdout).contains(&format!(
            "BAD       {}/app/web:1.0: no given key verifies",
            f.src.host
        )),
        "{}",
        text(&out.stdout)
    );

    // Without --key, verify is about bytes only.
    assert_exit(&verify(&[]), 0);

    // install --key refuses before pushing anything, naming the image and where the
    // manifests use it.
    let server = support::apiserver::ApiServer::start();
    let kc = server.kubeconfig(&f.dir);
    let to = format!("{}/team", f.dst.host);
    let out = ferry(&[
        "install",
        "--release",
        "app",
        bundle.to_str().unwrap(),
        "--to",
        &to,
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--key",
        ec_pub.to_str().unwrap(),
        "--key",
        ed_pub.to_str().unwrap(),
    ]);
    assert_exit(&out, 6);
    let err = text(&out.stderr);
    assert!(
        err.contains("nothing pushed: 1 of 2 images are not signed by the given keys")
            && err.contains(&format!(
                "{}/lib/tool:2 (bad signature: a valid signature of another image",
                f.src.host
            ))
            && err.contains(&format!(
                "used at {}:manifests/deploy.yaml:",
                bundle.display()
            )),
        "{err}"
    );
    assert!(!skopeo_exists(&format!("{to}/app/web:1.0"), &[]));

    // An image without any signature is UNSIGNED; JSON says the same.
    let unsigned = f.dir.join("unsigned.tar");
    let cache = f.dir.join("cache");
    assert_exit(&bundle_of(&f, &unsigned, &cache, &["--no-signatures"]), 0);
    let out = ferry(&[
        "verify",
        unsigned.to_str().unwrap(),
        "--key",
        ec_pub.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_exit(&out, 6);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes: Vec<&str> = v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signature"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["unsigned", "unsigned"], "{v:#}");

    // A key file that is not a public key: a clear error naming it.
    let out = ferry(&[
        "verify",
        bundle.to_str().unwrap(),
        "--key",
        ec_key.to_str().unwrap(),
    ]);
    assert_exit(&out, 3);
    assert!(
        text(&out.stderr).contains(&format!("{}: not a PEM public key", ec_key.display())),
        "{}",
        text(&out.stderr)
    );
}

/// A bundle signed as a whole: `ferry.json.sig` over `ferry.json`, which pins every other
/// byte. openssl checks the signature as ferry does; a changed ferry.json, a changed
/// manifest or an added file each fail verify naming what changed; install --key refuses an
/// unsigned bundle before anything is pushed.
#[test]
fn a_bundle_signed_as_a_whole_is_checked_by_ferry_and_openssl() {
    let f = fixture("sealed");
    let (ec_key, ec_pub) = key_pair(&f.dir, "vendor", "ec");
    let (ed_key, ed_pub) = key_pair(&f.dir, "other", "ed25519");
    let cache = f.dir.join("cache");
    let signed = f.dir.join("signed.tar");
    let ec_p8 = pkcs8(&f.dir, &ec_key);
    let out = bundle_of(
        &f,
        &signed,
        &cache,
        &["--no-signatures", "--sign-key", ec_p8.to_str().unwrap()],
    );
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).contains(&format!("signed as a whole with {}", ec_p8.display())),
        "{}",
        text(&out.stdout)
    );

    // openssl, on the two entries as tar extracts them.
    let unpacked = f.dir.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let tar = Command::new("tar")
        .args([
            "-xf",
            signed.to_str().unwrap(),
            "-C",
            unpacked.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(tar.success());
    let sig = base64::engine::general_purpose::STANDARD
        .decode(std::fs::read(unpacked.join("ferry.json.sig")).unwrap())
        .unwrap();
    std::fs::write(unpacked.join("sig.der"), sig).unwrap();
    let said = openssl(
        &[
            "dgst",
            "-sha256",
            "-verify",
            ec_pub.to_str().unwrap(),
            "-signature",
            "sig.der",
            "ferry.json",
        ],
        &unpacked,
    );
    assert_eq!(text(&said).trim(), "Verified OK");

    let verify = |bundle: &Path, key: &Path| {
        ferry(&[
            "verify",
            bundle.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ])
    };
    let out = verify(&signed, &ec_pub);
    // The images carry no cosign signatures (--no-signatures): those are reported apart.
    assert!(
        text(&out.stdout).contains(&format!(
            "signed    the bundle as a whole (ferry.json.sig; key {})",
            ec_pub.display()
        )),
        "{}",
        text(&out.stdout)
    );
    let out = verify(&signed, &ed_pub);
    assert_exit(&out, 6);
    assert!(
        text(&out.stdout).contains("BAD       ferry.json.sig: no given key verifies"),
        "{}",
        text(&out.stdout)
    );

    // Ed25519 signs too, and openssl checks it the same way.
    let ed_signed = f.dir.join("ed.tar");
    let out = bundle_of(
        &f,
        &ed_signed,
        &cache,
        &["--no-signatures", "--sign-key", ed_key.to_str().unwrap()],
    );
    assert_exit(&out, 0);
    assert!(text(&verify(&ed_signed, &ed_pub).stdout).contains("signed    the bundle as a whole"),);

    // Each change to a signed bundle is named.
    let cases = [
        (
            "meta",
            "meta['created'] = '2030-01-01T00:00:00Z'",
            "ferry.json.sig: no given key verifies",
        ),
        (
            "manifest",
            "name = next(n for n in files if n.startswith('manifests/')); files[name] += b'#'",
            "(ferry.json checksum)",
        ),
        (
            "added",
            "files['sources/extra.yaml'] = b'kind: ConfigMap\\n'",
            "sources/extra.yaml: not listed in ferry.json",
        ),
        (
            "index",
            "files['index.json'] = files['index.json'] + b' '",
            "index.json: sha256:",
        ),
    ];
    for (name, edit, named) in cases {
        let bad = f.dir.join(format!("{name}.tar"));
        tamper(&signed, &bad, edit);
        let out = verify(&bad, &ec_pub);
        assert_exit(&out, 6);
        assert!(
            text(&out.stdout).contains(named),
            "{name}: {}",
            text(&out.stdout)
        );
    }

    // install --key: an unsigned bundle is refused before anything is pushed.
    let unsigned = f.dir.join("unsigned.tar");
    assert_exit(&bundle_of(&f, &unsigned, &cache, &["--no-signatures"]), 0);
    let server = support::apiserver::ApiServer::start();
    let kc = server.kubeconfig(&f.dir);
    let to = format!("{}/team", f.dst.host);
    let out = ferry(&[
        "install",
        "--release",
        "app",
        unsigned.to_str().unwrap(),
        "--to",
        &to,
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--key",
        ec_pub.to_str().unwrap(),
    ]);
    assert_exit(&out, 6);
    assert!(
        text(&out.stderr).contains("nothing installed: ferry.json.sig: missing"),
        "{}",
        text(&out.stderr)
    );
    assert!(!skopeo_exists(&format!("{to}/app/web:1.0"), &[]));

    // A key file that is not a private key: named.
    let out = bundle_of(
        &f,
        &f.dir.join("x.tar"),
        &cache,
        &["--sign-key", ec_pub.to_str().unwrap()],
    );
    assert_exit(&out, 3);
    assert!(
        text(&out.stderr).contains(&format!("{}: not a PKCS#8 private key", ec_pub.display())),
        "{}",
        text(&out.stderr)
    );
}
