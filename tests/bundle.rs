//! `ferry bundle`, `inspect`, `verify` on real registries, read back by skopeo.

mod support;

use std::process::Command;

use support::*;

use support::bundle_of as bundle;

fn skopeo(args: &[&str]) -> std::process::Output {
    Command::new("skopeo").args(args).output().unwrap()
}

#[test]
fn bundle_is_deterministic_and_readable_by_skopeo() {
    let f = fixture("bundle");
    let out1 = f.dir.join("one/app.tar");
    let out2 = f.dir.join("two/app.tar");
    std::fs::create_dir_all(out1.parent().unwrap()).unwrap();
    std::fs::create_dir_all(out2.parent().unwrap()).unwrap();
    let r = bundle(&f, &out1, &f.dir.join("cache1"), &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let r = bundle(&f, &out2, &f.dir.join("cache2"), &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    // A second run with a warm cache downloads nothing.
    let out3 = f.dir.join("three.tar");
    let r = bundle(&f, &out3, &f.dir.join("cache1"), &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("0.0 MB to download"),
        "{}",
        text(&r.stderr)
    );
    let (a, b) = (std::fs::read(&out1).unwrap(), std::fs::read(&out2).unwrap());
    assert!(a == b, "two runs gave different bundles");
    let leftovers: Vec<_> = std::fs::read_dir(out1.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");

    // skopeo 1.9's OCI layout reader skips index.json entries with Docker media types, so
    // only the OCI image is read back through skopeo; the Docker list is checked by verify.
    {
        let name = "app/web:1.0";
        let source = format!("{}/{name}", f.src.host);
        let raw = skopeo(&[
            "inspect",
            "--raw",
            &format!("oci-archive:{}:{source}", out1.display()),
        ]);
        assert!(raw.status.success(), "{}", text(&raw.stderr));
        assert_eq!(raw.stdout, skopeo_raw(&source, &[]), "{name}");
    }
    // skopeo copies out of the bundle into a registry, digests unchanged.
    let source = format!("{}/app/web:1.0", f.src.host);
    let copied = skopeo(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &format!("oci-archive:{}:{source}", out1.display()),
        &format!("docker://{}/from-bundle/web:1.0", f.dst.host),
    ]);
    assert!(copied.status.success(), "{}", text(&copied.stderr));
    assert_eq!(
        skopeo_raw(&format!("{}/from-bundle/web:1.0", f.dst.host), &[]),
        skopeo_raw(&source, &[])
    );

    // Every blob once: the tar is the unique blobs plus headers and small files.
    let inspect = ferry(&["inspect", out1.to_str().unwrap(), "-o", "json"]);
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    let v: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(v["ferry"]["totals"]["images"], 2);
    assert_eq!(v["ferry"]["manifests"][0]["path"], "manifests/deploy.yaml");
    let blob_bytes = v["ferry"]["totals"]["blob_bytes"].as_u64().unwrap();
    assert_eq!(blob_bytes, v["blob_bytes"].as_u64().unwrap());
    let size = a.len() as u64;
    assert!(
        size > blob_bytes && size < blob_bytes + 40 * 1024,
        "tar {size} vs blobs {blob_bytes}"
    );

    let verify = ferry(&["verify", out1.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

#[test]
fn verify_names_every_bad_entry() {
    let f = fixture("bundle-verify");
    let out = f.dir.join("app.tar");
    let r = bundle(
        &f,
        &out,
        &f.dir.join("cache"),
        &["--platform", "linux/amd64"],
    );
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let mut bytes = std::fs::read(&out).unwrap();
    // Flip one byte in the middle of the largest entry: a layer.
    let inspect = ferry(&["inspect", out.to_str().unwrap(), "-o", "json"]);
    assert!(inspect.status.success());
    // The filtered index is a new manifest; ferry.json keeps the source's digest beside it
    // (what pinned references name), and only for the image that was filtered.
    let doc: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let images = doc["ferry"]["images"].as_array().unwrap();
    let web = images
        .iter()
        .find(|i| i["source"].as_str().unwrap().contains("app/web"))
        .unwrap();
    let src_digest = sha256_of(&skopeo_raw(&format!("{}/app/web:1.0", f.src.host), &[]));
    assert_eq!(web["source_digest"], src_digest.as_str(), "{web}");
    assert_ne!(web["digest"], web["source_digest"]);
    let tool = images
        .iter()
        .find(|i| i["source"].as_str().unwrap().contains("lib/tool"))
        .unwrap();
    assert!(tool.get("source_digest").is_none(), "{tool}");
    let pos = bytes.len() / 2;
    bytes[pos] ^= 0xff;
    let bad = f.dir.join("bad.tar");
    std::fs::write(&bad, &bytes).unwrap();
    let v = ferry(&["verify", bad.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(6), "{}", text(&v.stdout));
    let report = text(&v.stdout);
    assert!(report.contains("bad: blobs/sha256/"), "{report}");
}

#[test]
fn hostile_archives_are_refused() {
    let dir = temp_dir("hostile");
    let script = r#"
import io, sys, tarfile
def add(t, name, data=b"x", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name); info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.type = kind; info.linkname = link
    t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
cases = {
  "dotdot": [("oci-layout", b"{}"), ("index.json", b"{}"), ("../evil", b"x")],
  "absolute": [("oci-layout", b"{}"), ("index.json", b"{}"), ("/etc/evil", b"x")],
  "symlink": [("oci-layout", b"{}"), ("index.json", b"{}"), ("blobs/sha256/aa", None, tarfile.SYMTYPE, "/etc/passwd")],
  "hardlink": [("oci-layout", b"{}"), ("index.json", b"{}"), ("blobs/sha256/bb", None, tarfile.LNKTYPE, "oci-layout")],
  "device": [("oci-layout", b"{}"), ("index.json", b"{}"), ("blobs/sha256/cc", None, tarfile.CHRTYPE)],
  "duplicate": [("oci-layout", b"{}"), ("index.json", b"{}"), ("index.json", b"{}")],
}
for name, entries in cases.items():
    with tarfile.open(sys.argv[1] + "/" + name + ".tar", "w", format=tarfile.GNU_FORMAT) as t:
        for e in entries:
            if e[1] is None:
                add(t, e[0], b"", e[2], e[3] if len(e) > 3 else "")
            else:
                add(t, e[0], e[1])
"#;
    let ok = Command::new("python3")
        .args(["-c", script, dir.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success());
    for (case, expect) in [
        ("dotdot", "escapes"),
        ("absolute", "escapes"),
        ("symlink", "not a regular file"),
        ("hardlink", "not a regular file"),
        ("device", "not a regular file"),
        ("duplicate", "twice"),
    ] {
        let path = dir.join(format!("{case}.tar"));
        for cmd in ["inspect", "verify"] {
            let out = ferry(&[cmd, path.to_str().unwrap()]);
            assert_eq!(
                out.status.code(),
                Some(3),
                "{case} {cmd}: {}",
                text(&out.stderr)
            );
            assert!(
                text(&out.stderr).contains(expect),
                "{case} {cmd}: {}",
                text(&out.stderr)
            );
        }
    }
    // A truncated bundle and an unknown format version.
    let f = fixture("hostile-src");
    let good = f.dir.join("good.tar");
    let r = bundle(&f, &good, &f.dir.join("cache"), &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let bytes = std::fs::read(&good).unwrap();
    let cut = f.dir.join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = ferry(&["inspect", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));

    // A format this ferry does not know.
    let future = f.dir.join("future.tar");
    let script = r#"
import io, json, sys, tarfile
with tarfile.open(sys.argv[1]) as t, tarfile.open(sys.argv[2], "w", format=tarfile.GNU_FORMAT) as out:
    for m in t.getmembers():
        data = t.extractfile(m).read()
        if m.name == "ferry.json":
            meta = json.loads(data); meta["format"] = "ferry.bundle/v9"; data = json.dumps(meta).encode()
            m.size = len(data)
        out.addfile(m, io.BytesIO(data))
"#;
    let ok = Command::new("python3")
        .args([
            "-c",
            script,
            good.to_str().unwrap(),
            future.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    for cmd in ["inspect", "verify", "push"] {
        let mut args = vec![cmd, future.to_str().unwrap()];
        if cmd == "push" {
            args.extend(["--to", "127.0.0.1:1"]);
        }
        let out = ferry(&args);
        assert_eq!(out.status.code(), Some(3), "{cmd}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(
            err.contains("a bundle of format ferry.bundle/v9 made by ferry ")
                && err.contains("use a ferry that reads it")
                && !err.contains("Some("),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn push_a_bundle_then_a_skopeo_archive() {
    let f = fixture("push");
    let out = f.dir.join("app.tar");
    let r = bundle(&f, &out, &f.dir.join("cache"), &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let to = format!("{}/private", f.dst.host);
    let p = ferry(&["push", out.to_str().unwrap(), "--to", &to, "-o", "json"]);
    assert_exit(&p, 0);
    for name in ["app/web:1.0", "lib/tool:2"] {
        assert_eq!(
            skopeo_raw(&format!("{to}/{name}"), &[]),
            skopeo_raw(&format!("{}/{name}", f.src.host), &[]),
            "{name}"
        );
    }
    let again = ferry(&["push", out.to_str().unwrap(), "--to", &to, "-o", "json"]);
    let last: serde_json::Value =
        serde_json::from_str(text(&again.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["bytes_copied"], 0, "{last}");

    // An archive skopeo wrote, with no name inside: --name supplies it.
    let sk = f.dir.join("skopeo.tar");
    let c = skopeo(&[
        "copy",
        "--all",
        "--src-tls-verify=false",
        &format!("docker://{}/app/web:1.0", f.src.host),
        &format!("oci-archive:{}", sk.display()),
    ]);
    assert!(c.status.success(), "{}", text(&c.stderr));
    let unnamed = ferry(&["push", sk.to_str().unwrap(), "--to", &f.dst.host]);
    assert_eq!(unnamed.status.code(), Some(3), "{}", text(&unnamed.stderr));
    assert!(
        text(&unnamed.stderr).contains("--name"),
        "{}",
        text(&unnamed.stderr)
    );
    let p = ferry(&[
        "push",
        sk.to_str().unwrap(),
        "--to",
        &format!("{}/sk", f.dst.host),
        "--name",
        "quay.io/app/web:1.0",
    ]);
    assert_exit(&p, 0);
    let pushed = skopeo_raw(&format!("{}/sk/app/web:1.0", f.dst.host), &[]);
    let from_archive = skopeo(&["inspect", "--raw", &format!("oci-archive:{}", sk.display())]);
    assert_eq!(pushed, from_archive.stdout);
}

#[test]
fn a_broken_bundle_pushes_nothing() {
    let f = fixture("push-broken");
    let out = f.dir.join("app.tar");
    let r = bundle(
        &f,
        &out,
        &f.dir.join("cache"),
        &["--platform", "linux/amd64"],
    );
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    // Drop the largest blob from the tar.
    let missing = f.dir.join("missing.tar");
    let script = r#"
import sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src) as t:
    members = t.getmembers()
    biggest = max((m for m in members if m.name.startswith("blobs/")), key=lambda m: m.size)
    with tarfile.open(dst, "w", format=tarfile.GNU_FORMAT) as out:
        for m in members:
            if m.name != biggest.name:
                out.addfile(m, t.extractfile(m))
"#;
    let ok = Command::new("python3")
        .args([
            "-c",
            script,
            out.to_str().unwrap(),
            missing.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let p = ferry(&[
        "push",
        missing.to_str().unwrap(),
        "--to",
        &format!("{}/m", f.dst.host),
    ]);
    assert_exit(&p, 6);
    assert!(text(&p.stderr).contains("missing"), "{}", text(&p.stderr));
    assert!(!skopeo_exists(
        &format!("{}/m/app/web:1.0", f.dst.host),
        &[]
    ));

    // Wrong bytes inside a layer: found while streaming, nothing tagged.
    let mut bytes = std::fs::read(&out).unwrap();
    let pos = bytes.len() / 2;
    bytes[pos] ^= 0xff;
    let bad = f.dir.join("bad.tar");
    std::fs::write(&bad, &bytes).unwrap();
    let p = ferry(&[
        "push",
        bad.to_str().unwrap(),
        "--to",
        &format!("{}/b", f.dst.host),
    ]);
    assert_exit(&p, 6);
    assert!(!skopeo_exists(
        &format!("{}/b/app/web:1.0", f.dst.host),
        &[]
    ));

    // Absurd sizes: index.json claims an exabyte for every image; a blob's tar header claims
    // a petabyte. Both refused before anything reaches the registry.
    let script = r#"
import io, json, sys, tarfile
src, dst, how = sys.argv[1], sys.argv[2], sys.argv[3]
with tarfile.open(src) as t, tarfile.open(dst, "w", format=tarfile.GNU_FORMAT) as out:
    members = t.getmembers()
    biggest = max((m for m in members if m.name.startswith("blobs/")), key=lambda m: m.size)
    for m in members:
        data = t.extractfile(m).read()
        if how == "index" and m.name == "index.json":
            index = json.loads(data)
            for d in index["manifests"]:
                d["size"] = 1 << 60
            data = json.dumps(index).encode(); m.size = len(data)
        if how == "header" and m.name == biggest.name:
            m.size = 1 << 50
            out.fileobj.write(m.tobuf(tarfile.GNU_FORMAT)); out.fileobj.write(data)
            break
        out.addfile(m, io.BytesIO(data))
"#;
    for (how, repo) in [("index", "z1"), ("header", "z2")] {
        let absurd = f.dir.join(format!("absurd-{how}.tar"));
        let ok = Command::new("python3")
            .args([
                "-c",
                script,
                out.to_str().unwrap(),
                absurd.to_str().unwrap(),
                how,
            ])
            .status()
            .unwrap();
        assert!(ok.success());
        let p = ferry(&[
            "push",
            absurd.to_str().unwrap(),
            "--to",
            &format!("{}/{repo}", f.dst.host),
        ]);
        let err = text(&p.stderr);
        assert!(matches!(p.status.code(), Some(3 | 6)), "{how}: {err}");
        assert!(
            err.contains(if how == "index" {
                "1152921504606846976"
            } else {
                "truncated"
            }),
            "{how}: {err}"
        );
        let catalog = http_get(&f.dst.host, "/v2/_catalog");
        assert!(
            !catalog.contains(&format!("{repo}/")),
            "{how}: pushed: {catalog}"
        );
        let v = ferry(&["verify", absurd.to_str().unwrap()]);
        assert!(
            matches!(v.status.code(), Some(3 | 6)),
            "{how}: {}",
            text(&v.stderr)
        );
    }
}

#[test]
fn bundle_pulls_through_a_source_mirror_and_keeps_original_names() {
    let f = fixture("bundle-mirror");
    let list = f.dir.join("images.txt");
    std::fs::write(&list, "quay.io/app/web:1.0\n").unwrap();
    let out = f.dir.join("m.tar");
    let r = ferry(&[
        "bundle",
        "--images",
        list.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--cache",
        f.dir.join("cache").to_str().unwrap(),
        "--source-mirror",
        &format!("quay.io={}", f.src.host),
    ]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let raw = skopeo(&[
        "inspect",
        "--raw",
        &format!("oci-archive:{}:quay.io/app/web:1.0", out.display()),
    ]);
    assert!(raw.status.success(), "{}", text(&raw.stderr));
    assert_eq!(
        raw.stdout,
        skopeo_raw(&format!("{}/app/web:1.0", f.src.host), &[])
    );
}

#[test]
fn rewrite_pins_digests_from_a_bundle_or_the_target_registry() {
    let f = fixture("rewrite-pin");
    let out = f.dir.join("app.tar");
    let r = bundle(&f, &out, &f.dir.join("cache"), &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let web_digest = sha256_of(&skopeo_raw(&format!("{}/app/web:1.0", f.src.host), &[]));

    // From the bundle: its manifests/, digests from ferry.json, no network needed.
    let dir = f.dir.join("rewritten");
    let rw = ferry(&[
        "rewrite",
        out.to_str().unwrap(),
        "--to",
        "harbor.example.com/team",
        "--out",
        dir.to_str().unwrap(),
        "--pin-digests",
    ]);
    assert_eq!(rw.status.code(), Some(0), "{}", text(&rw.stderr));
    let yaml = std::fs::read_to_string(dir.join("deploy.yaml")).unwrap();
    assert!(
        yaml.contains(&format!(
            "image: harbor.example.com/team/app/web:1.0@{web_digest}"
        )),
        "{yaml}"
    );
    let inplace = ferry(&[
        "rewrite",
        out.to_str().unwrap(),
        "--to",
        "h.io",
        "--in-place",
    ]);
    assert_eq!(inplace.status.code(), Some(2));

    // From the target registry: only once the images are there.
    let to = format!("{}/m", f.dst.host);
    let early = ferry(&[
        "rewrite",
        f.manifest.to_str().unwrap(),
        "--to",
        &to,
        "--diff",
        "--pin-digests",
    ]);
    assert_eq!(early.status.code(), Some(4), "{}", text(&early.stderr));
    assert!(
        text(&early.stderr).contains(&format!("{to}/app/web:1.0")),
        "{}",
        text(&early.stderr)
    );
    let p = ferry(&["push", out.to_str().unwrap(), "--to", &to]);
    assert_eq!(p.status.code(), Some(0), "{}", text(&p.stdout));
    let diff = ferry(&[
        "rewrite",
        f.manifest.to_str().unwrap(),
        "--to",
        &to,
        "--diff",
        "--pin-digests",
    ]);
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff.stderr));
    assert!(
        text(&diff.stdout).contains(&format!("+          image: {to}/app/web:1.0@{web_digest}")),
        "{}",
        text(&diff.stdout)
    );

    // A bundle that left an image out (--exclude): its digest comes from the target, where
    // the site has the image already.
    let lean = f.dir.join("lean.tar");
    let r = bundle(
        &f,
        &lean,
        &f.dir.join("cache"),
        &["--exclude", &format!("{}/lib/*", f.src.host)],
    );
    assert_exit(&r, 0);
    let tool_digest = sha256_of(&skopeo_raw(&format!("{to}/lib/tool:2"), &[]));
    let lean_dir = f.dir.join("lean-rewritten");
    let rw = ferry(&[
        "rewrite",
        lean.to_str().unwrap(),
        "--to",
        &to,
        "--out",
        lean_dir.to_str().unwrap(),
        "--pin-digests",
    ]);
    assert_exit(&rw, 0);
    let yaml = std::fs::read_to_string(lean_dir.join("deploy.yaml")).unwrap();
    assert!(
        yaml.contains(&format!("image: {to}/lib/tool:2@{tool_digest}"))
            && yaml.contains(&format!("image: {to}/app/web:1.0@{web_digest}")),
        "{yaml}"
    );
}

#[test]
fn compressed_bundles_are_reproducible_and_readable() {
    let f = fixture("bundle-compressed");
    for ext in ["tar.gz", "tar.zst"] {
        let dir = f.dir.join(ext.replace('.', "-"));
        std::fs::create_dir_all(&dir).unwrap();
        let (one, two) = (
            dir.join(format!("one.{ext}")),
            dir.join(format!("two.{ext}")),
        );
        for out in [&one, &two] {
            let r = bundle(&f, out, &f.dir.join("cache"), &[]);
            assert_eq!(r.status.code(), Some(0), "{ext}: {}", text(&r.stderr));
        }
        let bytes = std::fs::read(&one).unwrap();
        assert_eq!(
            bytes,
            std::fs::read(&two).unwrap(),
            "{ext}: not reproducible"
        );
        let magic: &[u8] = if ext.ends_with("gz") {
            &[0x1f, 0x8b]
        } else {
            &[0x28, 0xb5, 0x2f, 0xfd]
        };
        assert!(bytes.starts_with(magic), "{ext}: not compressed");
        // inspect streams a compressed bundle: the same report, no decompressed copy.
        let catalog = ferry::bundle::archive::Archive::catalog(&one).unwrap();
        let temporaries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".plain-"))
            .collect();
        assert!(temporaries.is_empty(), "{ext}: {temporaries:?}");
        let opened = ferry::bundle::archive::Archive::open(&one).unwrap();
        assert_eq!(catalog.entries.len(), opened.entries.len(), "{ext}");
        assert_eq!(catalog.meta().unwrap(), opened.meta().unwrap(), "{ext}");
        assert!(
            catalog
                .read_blob(&opened.images().unwrap()[0].descriptor.digest)
                .is_err()
        );
        drop((catalog, opened));
        let i = ferry(&["inspect", one.to_str().unwrap(), "-o", "json"]);
        assert_exit(&i, 0);
        let report: serde_json::Value = serde_json::from_slice(&i.stdout).unwrap();
        assert_eq!(report["ferry"]["totals"]["images"], 2, "{ext}: {report}");

        let v = ferry(&["verify", one.to_str().unwrap()]);
        assert_eq!(v.status.code(), Some(0), "{ext}: {}", text(&v.stdout));
        // verify streams it too, hashing every blob on the way.
        let hashed =
            ferry::bundle::archive::Archive::catalog_hashed(&one, &ferry::observe::Silent).unwrap();
        let found = ferry::bundle::verify::verify(&hashed).unwrap();
        assert!(found.problems.is_empty(), "{ext}: {:?}", found.problems);
        assert_eq!(
            found.blobs_checked,
            hashed
                .entries
                .keys()
                .filter(|k| k.starts_with("blobs/"))
                .count()
        );
        assert!(found.manifests_checked >= 3, "{ext}: {found:?}");
        drop(hashed);
        let to = format!("{}/{}", f.dst.host, ext.replace('.', "-"));
        let p = ferry(&["push", one.to_str().unwrap(), "--to", &to]);
        assert_eq!(p.status.code(), Some(0), "{ext}: {}", text(&p.stdout));
        assert_eq!(
            skopeo_raw(&format!("{to}/app/web:1.0"), &[]),
            skopeo_raw(&format!("{}/app/web:1.0", f.src.host), &[])
        );
        // rewrite reads a compressed bundle's manifests as it reads a plain one's.
        let r = ferry(&[
            "rewrite",
            one.to_str().unwrap(),
            "--to",
            &to,
            "--diff",
            "--pin-digests",
        ]);
        assert_exit(&r, 0);
        let diff = text(&r.stdout);
        assert!(
            diff.contains(&format!("+          image: {to}/app/web:1.0@sha256:")),
            "{ext}: {diff}"
        );
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "{ext}: temporaries left: {left:?}");
    }
}

/// Runs `ferry bundle` with a 200 KiB tmpfs mounted at `small`, in a private mount namespace
/// (`unshare --map-root-user` needs no privileges); prints the files over 4 KiB (not manifests) left on it.
fn bundle_on_small_fs(
    f: &Fixture,
    small: &std::path::Path,
    out: &str,
    cache: &str,
) -> (i32, String, String) {
    std::fs::create_dir_all(small).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=200k tmpfs '{small}' || exit 99\n\
         '{ferry}' bundle '{manifest}' -o '{out}' --cache '{cache}'\nrc=$?\n\
         echo \"left: $(find '{small}' -type f -size +4k)\" >&2\nexit $rc",
        small = small.display(),
        ferry = env!("CARGO_BIN_EXE_ferry"),
        manifest = f.manifest.display(),
    );
    let r = Command::new("unshare")
        .args(["--map-root-user", "--mount", "sh", "-c", &script])
        .output()
        .unwrap();
    let code = r.status.code().unwrap_or(-1);
    assert_ne!(code, 99, "cannot mount a tmpfs: {}", text(&r.stderr));
    (code, text(&r.stdout), text(&r.stderr))
}

#[test]
fn bundle_refuses_early_when_a_filesystem_is_too_small() {
    // The fixture's blobs are about 420 KB, more than the 200 KiB filesystem holds.
    let f = fixture("bundle-space");
    let small = f.dir.join("small");

    // Output on the small filesystem: refused before any download, nothing left there.
    let cache = f.dir.join("cache");
    let out = small.join("app.tar");
    let (code, _, err) =
        bundle_on_small_fs(&f, &small, out.to_str().unwrap(), cache.to_str().unwrap());
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains(&format!("not enough space in {}", small.display())) && err.contains("needed"),
        "{err}"
    );
    assert!(
        err.contains("left: \n"),
        "a file was left on the small filesystem: {err}"
    );
    // Resolving reads the manifests (they give the sizes); no layer or config is fetched.
    // (`lock` is the cache's lock file, no blob.)
    for file in walk_files(&cache)
        .into_iter()
        .filter(|f| !f.ends_with("lock"))
    {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap())
            .unwrap_or_else(|_| panic!("{}: a blob downloaded before refusing", file.display()));
        assert!(
            v.get("manifests").is_some() || v.get("layers").is_some(),
            "{}: not a manifest: {v}",
            file.display()
        );
    }

    // Cache on the small filesystem: refused before any download, no bundle written.
    let out = f.dir.join("app.tar");
    let (code, _, err) = bundle_on_small_fs(
        &f,
        &small,
        out.to_str().unwrap(),
        small.join("cache").to_str().unwrap(),
    );
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains(&format!(
            "not enough space in {}",
            small.join("cache").display()
        )),
        "{err}"
    );
    assert!(!out.exists());
    assert!(
        err.contains("left: \n"),
        "layers were cached before refusing: {err}"
    );
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    files
}

#[test]
fn an_interrupted_bundle_downloads_only_what_is_missing() {
    use support::faults::{Fault, FaultProxy, Rule};

    let f = fixture("bundle-resume");
    let base = sha256_of(&noise(1, 300_000));
    // Every download of the shared base layer is cut off halfway: the run fails after the
    // other blobs are cached.
    let proxy = FaultProxy::start(
        &f.src.host,
        vec![Rule {
            matcher: format!("/blobs/{base}"),
            fault: Fault::ResetMidBody,
            times: usize::MAX,
        }],
    );
    let cache = f.dir.join("cache");
    let out = f.dir.join("out/app.tar");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let mirror = format!("{}={}", f.src.host, proxy.host);
    let r = bundle(&f, &out, &cache, &["--source-mirror", &mirror]);
    assert_eq!(r.status.code(), Some(4), "{}", text(&r.stderr));
    assert!(text(&r.stderr).contains(&base), "{}", text(&r.stderr));
    let left: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "a failed run left {left:?}");
    assert!(!proxy.hits.lock().unwrap().is_empty());

    // What a killed run leaves is cleared by the next one, unless its process still runs.
    let dead = {
        let mut child = Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        child.id()
    };
    let stale = out.with_file_name(format!(".app.tar.partial-{dead}"));
    let running = out.with_file_name(format!(".app.tar.partial-{}", std::process::id()));
    std::fs::write(&stale, b"half a bundle").unwrap();
    std::fs::write(&running, b"another run's bundle").unwrap();

    // The next run fetches the base layer alone (0.3 of the 0.4 MB), and gives the same
    // bundle as a run from an empty cache.
    let r = bundle(&f, &out, &cache, &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert!(!stale.exists(), "{}", text(&r.stderr));
    assert!(running.exists());
    std::fs::remove_file(&running).unwrap();
    assert!(
        text(&r.stderr).contains("0.3 MB to download"),
        "{}",
        text(&r.stderr)
    );
    let clean = f.dir.join("clean.tar");
    let r = bundle(&f, &clean, &f.dir.join("fresh-cache"), &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("0.4 MB to download"),
        "{}",
        text(&r.stderr)
    );
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&clean).unwrap());
}

#[test]
fn a_corrupt_compressed_bundle_is_named_by_a_streamed_verify() {
    use std::io::Write as _;

    let f = fixture("bundle-corrupt-gz");
    let plain = f.dir.join("app.tar");
    assert_exit(&bundle(&f, &plain, &f.dir.join("cache"), &[]), 0);
    let mut bytes = std::fs::read(&plain).unwrap();
    // The middle of the tar is inside the 300 kB base layer.
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let gz = f.dir.join("bad.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&bytes).unwrap();
    enc.finish().unwrap();
    let v = ferry(&["verify", gz.to_str().unwrap()]);
    assert_exit(&v, 6);
    let base = sha256_of(&noise(1, 300_000));
    let out = text(&v.stdout);
    assert!(
        out.contains(&format!("bad: blobs/sha256/{}", &base["sha256:".len()..])),
        "{out}"
    );
    let left: Vec<_> = std::fs::read_dir(&f.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".plain-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// What a reviewer sees is what gets pushed: a bundle whose index.json names an image that
/// ferry.json does not (here with terminal escapes in the name) is refused by verify and push
/// (exit 6, nothing pushed), and inspect shows the name push would use, escaped, with a warning.
#[test]
fn an_index_that_disagrees_with_ferry_json_is_refused() {
    let f = fixture("bundle-renamed");
    let out = f.dir.join("app.tar");
    let r = bundle(&f, &out, &f.dir.join("cache"), &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let evil = "docker.io/evil/miner:latest\u{1b}]0;pwned\u{7}\u{1b}[2J";
    let renamed = f.dir.join("renamed.tar");
    let script = r#"
import io, json, sys, tarfile
src, dst, name = sys.argv[1], sys.argv[2], sys.argv[3]
with tarfile.open(src) as t, tarfile.open(dst, "w", format=tarfile.GNU_FORMAT) as out:
    for m in t.getmembers():
        data = t.extractfile(m).read()
        if m.name == "index.json":
            index = json.loads(data)
            index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = name
            data = json.dumps(index).encode()
            m.size = len(data)
        out.addfile(m, io.BytesIO(data))
"#;
    let ok = Command::new("python3")
        .args([
            "-c",
            script,
            out.to_str().unwrap(),
            renamed.to_str().unwrap(),
            evil,
        ])
        .status()
        .unwrap();
    assert!(ok.success());

    let v = ferry(&["verify", renamed.to_str().unwrap()]);
    assert_exit(&v, 6);
    let said = text(&v.stdout);
    assert!(
        said.contains("which ferry.json does not list")
            && said.contains("which index.json does not name"),
        "{said}"
    );
    assert!(!said.contains('\u{1b}'), "raw escape printed: {said:?}");

    let to = format!("{}/site", f.dst.host);
    let p = ferry(&["push", renamed.to_str().unwrap(), "--to", &to]);
    assert_exit(&p, 6);
    assert!(!skopeo_exists(&format!("{to}/app/web:1.0"), &[]));
    assert!(!skopeo_exists(&format!("{to}/lib/tool:2"), &[]));

    let rw = ferry(&["rewrite", renamed.to_str().unwrap(), "--to", &to, "--diff"]);
    assert_exit(&rw, 6);

    let i = ferry(&["inspect", renamed.to_str().unwrap()]);
    assert_exit(&i, 0);
    let shown = text(&i.stdout);
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
    assert!(
        shown.contains("docker.io/evil/miner:latest\\u{1b}]0;pwned\\u{7}")
            && shown.contains("WARNING: index.json names"),
        "{shown}"
    );
}

/// A cached blob that changed on disk (one flipped bit, same size) never reaches a bundle:
/// it is hashed again, removed and fetched anew, and the bundle verifies. A temporary of a
/// process that still runs (another bundle sharing the cache) is left alone; a dead one's is
/// swept.
#[test]
fn a_corrupt_cache_is_healed_and_shared_caches_are_safe() {
    let f = fixture("bundle-cache-bitflip");
    let cache = f.dir.join("cache");
    let first = f.dir.join("first.tar");
    let r = bundle(&f, &first, &cache, &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let base = sha256_of(&noise(1, 300_000));
    let cached = cache
        .join("blobs/sha256")
        .join(base.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&cached).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&cached, &bytes).unwrap();
    let blobs = cache.join("blobs/sha256");
    let live = blobs.join(format!(
        ".tmp-{}-{}-ThreadId(2)",
        "ab".repeat(32),
        std::process::id()
    ));
    let dead = blobs.join(format!(".tmp-{}-99999999-ThreadId(2)", "cd".repeat(32)));
    std::fs::write(&live, b"in flight").unwrap();
    std::fs::write(&dead, b"left by a killed run").unwrap();

    let second = f.dir.join("second.tar");
    let r = bundle(&f, &second, &cache, &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains(&format!("cached {base} did not match its digest")),
        "{}",
        text(&r.stderr)
    );
    assert_exit(&ferry(&["verify", second.to_str().unwrap()]), 0);
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
    assert!(live.exists(), "another run's download was deleted");
    assert!(!dead.exists(), "a dead run's temporary was kept");
}

/// Tar records read with a ceiling: a GNU long name claiming 64 MiB (in a small .tar.gz) is
/// refused before it is read, a non-UTF-8 name is called that, and a valid PAX archive with
/// a global header (as `git archive` and Python write) is read like any other.
#[test]
fn tar_records_are_bounded_and_pax_archives_are_read() {
    let dir = temp_dir("tar-records");
    let script = r#"
import gzip, io, sys, tarfile
out = sys.argv[1]
# A GNU long name record claiming 64 MiB, then the entry it names.
def header(name, size, kind):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"; h[108:116] = b"0000000\0"; h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size; h[136:148] = b"00000000000\0"
    h[156:157] = kind; h[257:265] = b"ustar  \0"
    h[148:156] = b"        "
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)
size = 64 << 20
with gzip.open(out + "/longname.tar.gz", "wb") as g:
    g.write(header(b"././@LongLink", size, b"L"))
    block = b"a" * (1 << 20)
    for _ in range(size >> 20):
        g.write(block)
    g.write(header(b"short", 1, b"0")); g.write(b"x" + b"\0" * 511)
    g.write(b"\0" * 1024)
with tarfile.open(out + "/latin1.tar", "w", format=tarfile.GNU_FORMAT, encoding="latin-1") as t:
    for name, data in [("oci-layout", b"{}"), ("index.json", b"{}"), ("blobs/caf\xe9", b"x")]:
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
"#;
    let ok = Command::new("python3")
        .args(["-c", script, dir.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success());
    let bomb = dir.join("longname.tar.gz");
    assert!(std::fs::metadata(&bomb).unwrap().len() < 1 << 20);
    for cmd in ["inspect", "verify"] {
        let out = ferry(&[cmd, bomb.to_str().unwrap()]);
        assert_exit(&out, 3);
        assert!(
            text(&out.stderr).contains("a long entry name of 67108864 bytes"),
            "{cmd}: {}",
            text(&out.stderr)
        );
    }
    let out = ferry(&["inspect", dir.join("latin1.tar").to_str().unwrap()]);
    assert_exit(&out, 3);
    assert!(
        text(&out.stderr).contains("not UTF-8"),
        "{}",
        text(&out.stderr)
    );

    // A ferry bundle rewritten as a PAX archive with a global header reads and verifies.
    let f = fixture("tar-pax");
    let good = f.dir.join("good.tar");
    let r = bundle(&f, &good, &f.dir.join("cache"), &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let pax = f.dir.join("pax.tar");
    let script = r#"
import sys, tarfile
with tarfile.open(sys.argv[1]) as t, tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "made by git archive"}) as out:
    for m in t.getmembers():
        out.addfile(m, t.extractfile(m))
"#;
    let ok = Command::new("python3")
        .args(["-c", script, good.to_str().unwrap(), pax.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success());
    let v = ferry(&["verify", pax.to_str().unwrap()]);
    assert_exit(&v, 0);
    let to = format!("{}/pax", f.dst.host);
    assert_exit(&ferry(&["push", pax.to_str().unwrap(), "--to", &to]), 0);
    assert!(skopeo_exists(&format!("{to}/app/web:1.0"), &[]));
}

/// A compressed bundle's entries are checked as it is decompressed for push: a hostile
/// entry ends it with the entry named, and nothing is left in the scratch directory.
#[test]
fn a_hostile_compressed_bundle_is_refused_while_decompressing() {
    let dir = temp_dir("hostile-gz");
    let script = r#"
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.GNU_FORMAT) as t:
    for name, data in [("oci-layout", b"{}"), ("../../evil", b"x"), ("blobs/sha256/zz", b"\0" * (32 << 20))]:
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
"#;
    let bomb = dir.join("bomb.tar.gz");
    let ok = Command::new("python3")
        .args(["-c", script, bomb.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success());
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    // What a killed push left is swept; a running one's copy is not.
    let stale = scratch.join(".app.tar.gz.plain-99999999.tar");
    let live = scratch.join(format!(".app.tar.gz.plain-{}.tar", std::process::id()));
    std::fs::write(&stale, b"half a copy").unwrap();
    std::fs::write(&live, b"another push's copy").unwrap();
    let out = ferry_env(
        &["push", bomb.to_str().unwrap(), "--to", "127.0.0.1:1/x"],
        &[],
        &[("TMPDIR", scratch.as_os_str())],
    );
    assert_exit(&out, 3);
    assert!(
        text(&out.stderr).contains("escapes the bundle"),
        "{}",
        text(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(left, vec![live], "left behind or swept wrongly");
}

/// A push of a compressed bundle reads its decompressed copy through an open file whose
/// name is already gone: killed while it pushes, it leaves nothing in the scratch directory.
#[test]
fn a_pushed_compressed_bundle_keeps_no_named_copy() {
    use support::faults::{Fault, FaultProxy, Rule};

    let f = fixture("bundle-unlinked-copy");
    let gz = f.dir.join("app.tar.gz");
    let r = bundle(&f, &gz, &f.dir.join("cache"), &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    // The target answers its ping and then never answers about a blob: the push waits
    // there, after the bundle was decompressed and opened.
    let proxy = FaultProxy::start(
        &f.dst.host,
        vec![Rule {
            matcher: "/blobs/".into(),
            fault: Fault::Silent,
            times: usize::MAX,
        }],
    );
    let scratch = f.dir.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let to = format!("{}/x", proxy.host);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["push", gz.to_str().unwrap(), "--to", &to])
        .env("TMPDIR", &scratch)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !proxy
        .seen
        .lock()
        .unwrap()
        .iter()
        .any(|r| r.contains("/blobs/"))
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the push never reached a blob"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let named: Vec<_> = std::fs::read_dir(&scratch)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(named.is_empty(), "a running push shows {named:?}");
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
}

/// A compressed bundle is decompressed into the scratch directory (TMPDIR): when that
/// cannot hold even the compressed size, push says so before writing a byte there.
/// Runs `ferry push BUNDLE --to HOST/x` with TMPDIR on a tmpfs of `size` mounted at `small`,
/// in a private mount namespace; stderr ends with `left: ` and the files left on the tmpfs.
fn push_with_small_tmpdir(
    small: &std::path::Path,
    size: &str,
    bundle: &std::path::Path,
    host: &str,
) -> (Option<i32>, String) {
    std::fs::create_dir_all(small).unwrap();
    let script = format!(
        "mount -t tmpfs -o size={size} tmpfs '{small}' || exit 99\n\
         TMPDIR='{small}' '{ferry}' push '{bundle}' --to '{host}/x'\nrc=$?\n\
         echo \"left: $(find '{small}' -type f)\" >&2\nexit $rc",
        small = small.display(),
        ferry = env!("CARGO_BIN_EXE_ferry"),
        bundle = bundle.display(),
    );
    let r = Command::new("unshare")
        .args(["--map-root-user", "--mount", "sh", "-c", &script])
        .output()
        .unwrap();
    let err = text(&r.stderr);
    assert_ne!(r.status.code(), Some(99), "cannot mount a tmpfs: {err}");
    (r.status.code(), err)
}

#[test]
fn push_refuses_to_decompress_into_a_scratch_directory_too_small() {
    let f = fixture("push-scratch-space");
    let gz = f.dir.join("app.tar.gz");
    let r = bundle(&f, &gz, &f.dir.join("cache"), &[]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let small = f.dir.join("small");
    let (code, err) = push_with_small_tmpdir(&small, "200k", &gz, &f.dst.host);
    assert_eq!(code, Some(7), "{err}");
    assert!(
        err.contains(&format!(
            "not enough space in {} (to decompress",
            small.display()
        )),
        "{err}"
    );
    assert!(err.contains("left: \n"), "{err}");
}

/// Bytes that never match their digest stop a bundle with an integrity error that names
/// the blob, the image that needs it and the registry it came from.
#[test]
fn a_blob_with_wrong_bytes_is_named_with_its_image_and_registry() {
    use support::faults::{Fault, FaultProxy, Rule};

    let f = fixture("bundle-wrong-bytes");
    let base = sha256_of(&noise(1, 300_000));
    let proxy = FaultProxy::start(
        &f.src.host,
        vec![Rule {
            matcher: format!("/blobs/{base}"),
            fault: Fault::WrongBytes,
            times: usize::MAX,
        }],
    );
    let out = f.dir.join("app.tar");
    let mirror = format!("{}={}", f.src.host, proxy.host);
    let r = bundle(
        &f,
        &out,
        &f.dir.join("cache"),
        &["--source-mirror", &mirror],
    );
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(6), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains(&base))
        .unwrap_or_else(|| panic!("no line names {base}: {err}"));
    assert!(
        line.contains("app/web:1.0") || line.contains("lib/tool:2"),
        "{err}"
    );
    assert!(line.contains(&proxy.host), "{err}");
    assert!(!out.exists());
}

/// `verify` refuses what `push` refuses: indexes nested deeper than the graph walker reads.
#[test]
fn verify_refuses_indexes_nested_deeper_than_push_reads() {
    let f = fixture("deep-index");
    let good = f.dir.join("good.tar");
    assert_exit(&bundle(&f, &good, &f.dir.join("cache"), &[]), 0);
    let deep = f.dir.join("deep.tar");
    // The first image wrapped in six indexes, ferry.json and index.json agreeing.
    tamper(
        &good,
        &deep,
        r#"
def put(b):
    d = hashlib.sha256(b).hexdigest()
    files['blobs/sha256/' + d] = b
    return 'sha256:' + d
index = json.loads(files['index.json'])
top = index['manifests'][0]
child = {k: top[k] for k in ('mediaType', 'digest', 'size')}
for _ in range(6):
    b = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
                    'manifests': [child]}).encode()
    child = {'mediaType': 'application/vnd.oci.image.index.v1+json', 'digest': put(b), 'size': len(b)}
top.update(child)
files['index.json'] = json.dumps(index).encode()
name = top['annotations']['org.opencontainers.image.ref.name']
image = next(i for i in meta['images'] if i['source'] == name)
image['digest'] = child['digest']
image['media_type'] = child['mediaType']
meta.pop('index_json', None)
"#,
    );
    let v = ferry(&["verify", deep.to_str().unwrap()]);
    assert_exit(&v, 6);
    assert!(
        text(&v.stdout).contains("indexes nested more than 4 deep"),
        "{}",
        text(&v.stdout)
    );
    let to = format!("{}/site", f.dst.host);
    let p = ferry(&["push", deep.to_str().unwrap(), "--to", &to]);
    assert_exit(&p, 6);
    assert!(
        text(&p.stderr).contains("indexes nested more than 4 deep"),
        "{}",
        text(&p.stderr)
    );
}

/// A compressed bundle is decompressed only as far as its images need: a 64 MiB blob no
/// image uses is never written to the scratch directory (a 16 MiB tmpfs here), and verify
/// and push name it.
#[test]
fn push_decompresses_only_what_the_images_use() {
    let f = fixture("push-unused-blob");
    let good = f.dir.join("good.tar");
    assert_exit(&bundle(&f, &good, &f.dir.join("cache"), &[]), 0);
    let gz = f.dir.join("padded.tar.gz");
    tamper(
        &good,
        &gz,
        "z = bytes(64 << 20); files['blobs/sha256/' + hashlib.sha256(z).hexdigest()] = z",
    );
    assert!(std::fs::metadata(&gz).unwrap().len() < 2 << 20);
    let v = ferry(&["verify", gz.to_str().unwrap()]);
    assert_exit(&v, 6);
    assert!(
        text(&v.stdout).contains("no image of the bundle uses it"),
        "{}",
        text(&v.stdout)
    );

    let small = f.dir.join("small");
    let (code, err) = push_with_small_tmpdir(&small, "16m", &gz, &f.dst.host);
    assert_eq!(code, Some(6), "{err}");
    assert!(
        err.contains("no image of the bundle uses it") && !err.contains("No space left"),
        "{err}"
    );
    assert!(err.contains("left: \n"), "{err}");
    assert!(!skopeo_exists(
        &format!("{}/x/app/web:1.0", f.dst.host),
        &[]
    ));
}

/// A disk that fills up while ferry writes (no estimate ahead of the write: `rewrite --out`)
/// is a disk-space failure (exit 7), not an internal error.
#[test]
fn a_disk_that_fills_up_while_writing_exits_7() {
    let dir = temp_dir("disk-full");
    let manifest = dir.join("big.yaml");
    let padding = "#".repeat(200);
    let docs: String = (0..400)
        .map(|i| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\n# {padding}\nspec:\n  \
                 containers: [{{name: c, image: quay.io/app/web:1.0}}]\n---\n"
            )
        })
        .collect();
    std::fs::write(&manifest, docs).unwrap();
    let small = dir.join("small");
    std::fs::create_dir_all(&small).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=16k tmpfs '{small}' || exit 99\n\
         '{ferry}' rewrite '{manifest}' --to harbor.local/x --out '{small}/out'",
        small = small.display(),
        ferry = env!("CARGO_BIN_EXE_ferry"),
        manifest = manifest.display(),
    );
    let r = Command::new("unshare")
        .args(["--map-root-user", "--mount", "sh", "-c", &script])
        .output()
        .unwrap();
    let err = text(&r.stderr);
    assert_ne!(r.status.code(), Some(99), "cannot mount a tmpfs: {err}");
    assert_eq!(r.status.code(), Some(7), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// verify of a big bundle is never silent: on a terminal (a pty made by `script`) a bar
/// from the start, in MB; the bundle plain and compressed.
#[test]
fn verify_shows_progress_on_a_terminal() {
    assert!(have("script"), "script (util-linux) is needed for a pty");
    let f = fixture("verify-progress");
    // What a terminal shows of `command`, which must succeed.
    let screen = |command: &str, name: &str| {
        let run = on_terminal(command, "xterm");
        let shown = text(&run.stdout);
        assert!(run.status.success(), "{name}: {shown}");
        shown
    };
    for name in ["app.tar", "app.tar.gz"] {
        let out = f.dir.join(name);
        // Made on a terminal: a bar while the tar is written, finished images on one line.
        let command = format!(
            "'{}' bundle '{}' -o '{}' --cache '{}'",
            env!("CARGO_BIN_EXE_ferry"),
            f.manifest.display(),
            out.display(),
            f.dir.join(format!("cache-{name}")).display(),
        );
        let shown = screen(&command, name);
        // The phase's bar (or its spinner: so small a write may end before a total is drawn).
        assert!(shown.contains("   write "), "{name}: {shown:?}");
        let pulled: Vec<&str> = shown.lines().filter(|l| l.contains("pulled  ")).collect();
        assert!(!pulled.is_empty(), "{name}: {shown:?}");
        for line in pulled {
            let digest = line.split("@sha256:").nth(1).unwrap_or_default();
            assert_eq!(digest.find(' '), Some(12), "a short digest: {line:?}");
        }
        let command = format!(
            "'{}' verify '{}'",
            env!("CARGO_BIN_EXE_ferry"),
            out.display()
        );
        let shown = screen(&command, name);
        assert!(
            shown.contains("  verify [")
                && (shown.contains(" kB ") || shown.contains(" MB "))
                && !shown.contains("iB")
                && !shown.contains("0 B/0 B"),
            "{name}: {shown:?}"
        );
        assert!(shown.contains("0 problems"), "{name}: {shown:?}");
        // install's verify step shows the same.
        let command = format!(
            "'{}' install '{}' --release demo --to 127.0.0.1:1/site --dry-run client",
            env!("CARGO_BIN_EXE_ferry"),
            out.display()
        );
        let shown = screen(&command, name);
        assert!(
            shown.contains("== verify ")
                && shown.contains("  verify [")
                && !shown.contains("0 B/0 B"),
            "{name}: {shown:?}"
        );
        // push reads a compressed bundle twice before a byte moves: shown as it goes.
        let command = format!(
            "'{}' push '{}' --to {}/site",
            env!("CARGO_BIN_EXE_ferry"),
            out.display(),
            f.dst.host
        );
        let shown = screen(&command, name);
        assert_eq!(
            shown.contains("decompress "),
            name.ends_with(".gz"),
            "{name}: {shown:?}"
        );
    }
}
