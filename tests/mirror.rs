//! `ferry mirror` against real Distribution registries, checked with skopeo.

mod support;

use support::*;

fn children(index: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(index).unwrap();
    v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn mirror_copies_every_platform_byte_for_byte_and_second_run_copies_nothing() {
    let f = fixture("all");
    let to = format!("{}/mirror", f.dst.host);
    let out = ferry(&[
        "mirror",
        f.manifest.to_str().unwrap(),
        "--to",
        &to,
        "-o",
        "json",
    ]);
    assert_exit(&out, 0);

    for (src_name, dst_name) in [
        ("app/web:1.0", "mirror/app/web:1.0"),
        ("lib/tool:2", "mirror/lib/tool:2"),
    ] {
        let src_raw = skopeo_raw(&format!("{}/{src_name}", f.src.host), &[]);
        let dst_raw = skopeo_raw(&format!("{}/{dst_name}", f.dst.host), &[]);
        assert_eq!(src_raw, dst_raw, "{src_name}: index bytes differ");
        let repo = dst_name.split(':').next().unwrap();
        let src_repo = src_name.split(':').next().unwrap();
        for child in children(&src_raw) {
            let a = skopeo_raw(&format!("{}/{src_repo}@{child}", f.src.host), &[]);
            let b = skopeo_raw(&format!("{}/{repo}@{child}", f.dst.host), &[]);
            assert_eq!(a, b, "{child}");
        }
    }
    let events: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "copy-summary");
    assert!(
        events.iter().all(|e| e["schema"] == "ferry.events/v1"),
        "{events:?}"
    );
    assert_eq!(summary["failed"], 0);
    // The shared base layer goes across once per target repository at most, mounted or copied.
    let copied = summary["bytes_copied"].as_u64().unwrap();
    assert!(copied >= 300_000 + 50_000 + 60_000 + 10_000, "{summary}");
    assert!(
        copied < 2 * 300_000 + 50_000 + 60_000 + 10_000 + 10_000,
        "base layer copied twice: {summary}"
    );

    let again = ferry(&[
        "mirror",
        f.manifest.to_str().unwrap(),
        "--to",
        &to,
        "-o",
        "json",
    ]);
    assert_eq!(again.status.code(), Some(0));
    let last: serde_json::Value =
        serde_json::from_str(text(&again.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["bytes_copied"], 0, "{last}");
    assert!(text(&again.stdout).contains("\"up_to_date\":true"));
    let _ = &f.dir;
}

#[test]
fn platform_subset_gets_a_new_index_digest_reported() {
    let f = fixture("subset");
    let to = format!("{}/m", f.dst.host);
    let out = ferry(&[
        "mirror",
        f.manifest.to_str().unwrap(),
        "--to",
        &to,
        "--platform",
        "linux/arm64",
        "-o",
        "json",
    ]);
    let stdout = text(&out.stdout);
    // lib/tool has no arm64: that image fails clearly, the other lands.
    assert_eq!(
        out.status.code(),
        Some(4),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let web: serde_json::Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["source"].as_str().is_some_and(|s| s.contains("app/web")))
        .unwrap();
    assert!(web["error"].is_null(), "{web}");
    assert_eq!(web["platforms"], serde_json::json!(["linux/arm64"]));
    let src_raw = skopeo_raw(&format!("{}/app/web:1.0", f.src.host), &[]);
    let dst_raw = skopeo_raw(&format!("{}/m/app/web:1.0", f.dst.host), &[]);
    assert_eq!(children(&dst_raw).len(), 1);
    assert_eq!(children(&dst_raw)[0], children(&src_raw)[1]);
    assert_ne!(web["digest"], web["source_digest"]);
    assert!(
        !skopeo_exists(&format!("{}/m/lib/tool:2", f.dst.host), &[]),
        "failed image must not be tagged"
    );
}

#[test]
fn dry_run_prints_the_plan_and_copies_nothing() {
    let f = fixture("dry");
    let to = format!("{}/x", f.dst.host);
    let out = ferry(&[
        "mirror",
        f.manifest.to_str().unwrap(),
        "--to",
        &to,
        "--dry-run",
        "--layout",
        "flat",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(
        plan.contains(&format!(
            "{}/app/web:1.0 -> {}/x/web:1.0",
            f.src.host, f.dst.host
        )),
        "{plan}"
    );
    assert!(!skopeo_exists(&format!("{}/x/web:1.0", f.dst.host), &[]));
    // The same form as apply's: `=client` says the same; a server dry run is not a copy's.
    let manifest = f.manifest.to_str().unwrap();
    let again = ferry(&[
        "mirror",
        manifest,
        "--to",
        &to,
        "--dry-run=client",
        "--layout",
        "flat",
    ]);
    assert_eq!(text(&again.stdout), plan);
    let server = ferry(&["mirror", manifest, "--to", &to, "--dry-run=server"]);
    assert_eq!(server.status.code(), Some(2), "{}", text(&server.stderr));
}

#[test]
fn collisions_are_refused_before_copying() {
    let f = fixture("collide");
    let list = f.dir.join("images.txt");
    std::fs::write(
        &list,
        format!(
            "# two repos named web\n{0}/app/web:1.0\n{0}/other/web:1.0\n",
            f.src.host
        ),
    )
    .unwrap();
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &f.dst.host,
        "--layout",
        "flat",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("choose another --layout"),
        "{}",
        text(&out.stderr)
    );
    assert!(!skopeo_exists(&format!("{}/web:1.0", f.dst.host), &[]));
}

#[test]
fn a_missing_image_fails_alone_and_source_mirror_redirects_pulls() {
    let f = fixture("missing");
    let list = f.dir.join("images.txt");
    // Images "from quay.io" that actually live in the source registry, via --source-mirror.
    std::fs::write(&list, "quay.io/app/web:1.0\nquay.io/app/absent:9\n").unwrap();
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        &f.dst.host,
        "--source-mirror",
        &format!("quay.io={}", f.src.host),
    ]);
    let stdout = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("failed  quay.io/app/absent:9"), "{stdout}");
    assert!(stdout.contains("not found"), "{stdout}");
    assert_eq!(
        skopeo_raw(&format!("{}/app/web:1.0", f.dst.host), &[]),
        skopeo_raw(&format!("{}/app/web:1.0", f.src.host), &[])
    );
}

#[test]
fn bad_images_file_line_is_named() {
    let dir = temp_dir("badlist");
    let list = dir.join("images.txt");
    std::fs::write(&list, "quay.io/ok:1\nNot A Ref\n").unwrap();
    let out = ferry(&[
        "mirror",
        "--images",
        list.to_str().unwrap(),
        "--to",
        "127.0.0.1:1",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("images.txt:2:"),
        "{}",
        text(&out.stderr)
    );
}

/// An index whose child is itself an index (as some build tools write for attestations):
/// every level is walked by mirror, by bundle and by push, digests unchanged.
#[test]
fn nested_indexes_are_walked_by_mirror_bundle_and_push() {
    let src = TestRegistry::start("nested-src", "");
    let dst = TestRegistry::start("nested-dst", "");
    let dir = temp_dir("nested");
    let oci = Layout::new(&dir.join("oci"), false);
    let amd = oci.image("linux", "amd64", &[noise(11, 40_000)]);
    let arm = oci.image("linux", "arm64", &[noise(12, 30_000)]);
    let inner = oci.index(&[(arm, "linux", "arm64")]);
    let outer = oci.index(&[(amd, "linux", "amd64"), (inner, "linux", "arm64")]);
    raw_push(&oci, &src.host, "app/nested", &outer, "1");
    let image = format!("{}/app/nested:1", src.host);
    let images = dir.join("images.txt");
    std::fs::write(&images, format!("{image}\n")).unwrap();

    let out = ferry(&[
        "mirror",
        "--images",
        images.to_str().unwrap(),
        "--to",
        &format!("{}/m", dst.host),
    ]);
    assert_exit(&out, 0);
    let src_raw = skopeo_raw(&image, &[]);
    assert_eq!(
        skopeo_raw(&format!("{}/m/app/nested:1", dst.host), &[]),
        src_raw
    );
    let inner_digest = &children(&src_raw)[1];
    let inner_raw = skopeo_raw(&format!("{}/app/nested@{inner_digest}", src.host), &[]);
    assert_eq!(
        skopeo_raw(&format!("{}/m/app/nested@{inner_digest}", dst.host), &[]),
        inner_raw,
        "the inner index was not copied"
    );
    let arm_digest = &children(&inner_raw)[0];
    assert!(skopeo_exists(
        &format!("{}/m/app/nested@{arm_digest}", dst.host),
        &[]
    ));

    let bundle = dir.join("nested.tar");
    let cache = dir.join("cache");
    let out = ferry(&[
        "bundle",
        "--images",
        images.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    assert_exit(&ferry(&["verify", bundle.to_str().unwrap()]), 0);
    let out = ferry(&[
        "push",
        bundle.to_str().unwrap(),
        "--to",
        &format!("{}/p", dst.host),
    ]);
    assert_exit(&out, 0);
    assert_eq!(
        skopeo_raw(&format!("{}/p/app/nested:1", dst.host), &[]),
        src_raw
    );
    assert!(skopeo_exists(
        &format!("{}/p/app/nested@{arm_digest}", dst.host),
        &[]
    ));
}

/// `-v` logs each registry request with its answer and time; upload state in queries is
/// left out, and without -v nothing of the kind is printed.
#[test]
fn verbose_logs_every_registry_request() {
    let f = fixture("verbose");
    let to = format!("{}/v", f.dst.host);
    let out = ferry(&["mirror", "-v", f.manifest.to_str().unwrap(), "--to", &to]);
    assert_exit(&out, 0);
    let err = text(&out.stderr);
    for line in [
        format!("registry: GET http://{}/v2/ -> ", f.src.host),
        format!(
            "registry: GET http://{}/v2/app/web/manifests/1.0 -> 200 (",
            f.src.host
        ),
        format!(
            "registry: PUT http://{}/v2/v/app/web/manifests/1.0 -> 201 (",
            f.dst.host
        ),
    ] {
        assert!(err.contains(&line), "{line:?} not in:\n{err}");
    }
    // Blob uploads: the PUT to the upload location, its state elided.
    assert!(
        err.lines().any(
            |l| l.starts_with(&format!("registry: PUT http://{}/v2/v/", f.dst.host))
                && l.contains("/blobs/uploads/")
                && l.contains("?… -> 201")
        ),
        "{err}"
    );
    assert!(!err.contains("_state="), "{err}");
    let quiet = ferry(&["mirror", f.manifest.to_str().unwrap(), "--to", &to]);
    assert_exit(&quiet, 0);
    assert!(!text(&quiet.stderr).contains("registry: GET"));
}

/// What is attached to an image travels with it by default: a cosign signature tag
/// (`sha256-<hex>.sig`) and a referrers tag-schema index (`sha256-<hex>`) are copied by
/// mirror, and by bundle + push, digests unchanged; `--no-signatures` leaves them out.
#[test]
fn signatures_and_referrers_travel_with_their_images() {
    let f = fixture("signatures");
    let web = skopeo_raw(&format!("{}/app/web:1.0", f.src.host), &[]);
    let hex = ferry::digest::Digest::of(&web).hex().to_string();
    // A signature-shaped artifact (any manifest will do for carrying) and a referrers index.
    let art = Layout::new(&f.dir.join("sig"), false);
    let sig = art.image("linux", "amd64", &[noise(9, 500)]);
    raw_push(
        &art,
        &f.src.host,
        "app/web",
        &sig,
        &format!("sha256-{hex}.sig"),
    );
    let sbom = art.image("linux", "amd64", &[noise(10, 700)]);
    let sbom_hex = sbom.digest["sha256:".len()..].to_string();
    // As the tag schema has them: the referrer's descriptor has an artifactType, no platform.
    let index_type = "application/vnd.oci.image.index.v1+json";
    let referrers = serde_json::json!({"schemaVersion": 2, "mediaType": index_type, "manifests": [
        {"mediaType": sbom.media_type, "digest": sbom.digest, "size": sbom.size,
         "artifactType": "application/spdx+json"}]});
    let referrers = art.blob(index_type, &serde_json::to_vec(&referrers).unwrap());
    raw_push(
        &art,
        &f.src.host,
        "app/web",
        &referrers,
        &format!("sha256-{hex}"),
    );
    // A signature of one platform child (`cosign sign --recursive`), and one of the SBOM.
    let index: serde_json::Value = serde_json::from_slice(&web).unwrap();
    let child = index["manifests"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let child_hex = child["sha256:".len()..].to_string();
    let child_sig = art.image("linux", "amd64", &[noise(11, 300)]);
    let child_tag = format!("sha256-{child_hex}.sig");
    raw_push(&art, &f.src.host, "app/web", &child_sig, &child_tag);
    let sbom_sig = art.image("linux", "amd64", &[noise(12, 300)]);
    let sbom_tag = format!("sha256-{sbom_hex}.sig");
    raw_push(&art, &f.src.host, "app/web", &sbom_sig, &sbom_tag);

    let to = format!("{}/signed", f.dst.host);
    let out = ferry(&["mirror", f.manifest.to_str().unwrap(), "--to", &to]);
    assert_exit(&out, 0);
    let tags = [
        format!("sha256-{hex}.sig"),
        format!("sha256-{hex}"),
        child_tag.clone(),
        sbom_tag.clone(),
    ];
    for tag in &tags {
        assert_eq!(
            skopeo_raw(&format!("{to}/app/web:{tag}"), &[]),
            skopeo_raw(&format!("{}/app/web:{tag}", f.src.host), &[]),
            "{tag}"
        );
    }
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("signature of {}/app/web:1.0: ", f.src.host))
            && err.contains(&format!("(on {child}): {}/app/web:{child_tag}", f.src.host)),
        "{err}"
    );

    // Discovery reads nothing the copy reads again: the image's tag and its signature's tag
    // are each asked for once.
    let out = ferry(&[
        "mirror",
        f.manifest.to_str().unwrap(),
        "--to",
        &format!("{}/counted", f.dst.host),
        "-v",
    ]);
    assert_exit(&out, 0);
    let err = text(&out.stderr);
    let asked = |tag: &str| {
        let path = format!("http://{}/v2/app/web/manifests/{tag} ", f.src.host);
        err.lines().filter(|l| l.contains(&path)).count()
    };
    assert_eq!(
        (asked("1.0"), asked(&format!("sha256-{hex}.sig"))),
        (1, 1),
        "{err}"
    );

    // A platform left out takes its child's signature with it; the image's own still travels.
    let first = &index["manifests"][0]["platform"];
    let only = format!(
        "{}/{}",
        first["os"].as_str().unwrap(),
        first["architecture"].as_str().unwrap()
    );
    let filtered = format!("{}/filtered", f.dst.host);
    let out = ferry(&[
        "mirror",
        f.manifest.to_str().unwrap(),
        "--to",
        &filtered,
        "--platform",
        &only,
    ]);
    assert_exit(&out, 0);
    assert!(skopeo_exists(
        &format!("{filtered}/app/web:sha256-{hex}.sig"),
        &[]
    ));
    assert!(
        !skopeo_exists(&format!("{filtered}/app/web:{child_tag}"), &[]),
        "{}",
        text(&out.stderr)
    );
    // An artifact is copied whole whatever --platform says: its digest names it.
    assert_eq!(
        skopeo_raw(&format!("{filtered}/app/web:sha256-{hex}"), &[]),
        skopeo_raw(&format!("{}/app/web:sha256-{hex}", f.src.host), &[]),
    );

    let bare = format!("{}/bare", f.dst.host);
    let out = ferry(&[
        "mirror",
        f.manifest.to_str().unwrap(),
        "--to",
        &bare,
        "--no-signatures",
    ]);
    assert_exit(&out, 0);
    assert!(!skopeo_exists(
        &format!("{bare}/app/web:sha256-{hex}.sig"),
        &[]
    ));
    assert!(skopeo_exists(&format!("{bare}/app/web:1.0"), &[]));

    // --signatures=require: lib/tool has none, so nothing is copied.
    let strict = format!("{}/strict", f.dst.host);
    let out = ferry(&[
        "mirror",
        f.manifest.to_str().unwrap(),
        "--to",
        &strict,
        "--signatures=require",
    ]);
    assert_exit(&out, 6);
    let err = text(&out.stderr);
    assert!(
        err.contains("--signatures=require: 1 of 2 images have no cosign signature")
            && err.contains(&format!("{}/lib/tool:2 (", f.src.host)),
        "{err}"
    );
    assert!(!skopeo_exists(&format!("{strict}/app/web:1.0"), &[]));
    // An image left out by --exclude is not carried, so it need not be signed.
    let strict_bundle = f.dir.join("strict.tar");
    let out = bundle_of(
        &f,
        &strict_bundle,
        &f.dir.join("cache"),
        &["--signatures=require", "--exclude", "*/lib/tool:*"],
    );
    assert_exit(&out, 0);
    let shown = text(&ferry(&["inspect", strict_bundle.to_str().unwrap()]).stdout);
    assert!(
        shown.contains(&format!("{}/app/web:sha256-{hex}.sig", f.src.host))
            && !shown
                .lines()
                .any(|l| l.starts_with(&format!("{}/lib/tool", f.src.host)))
            && shown.contains("left out on purpose"),
        "{shown}"
    );

    // Bundle + push carry them the same way.
    let bundle = f.dir.join("signed.tar");
    assert_exit(&bundle_of(&f, &bundle, &f.dir.join("cache"), &[]), 0);
    let shown = text(&ferry(&["inspect", bundle.to_str().unwrap()]).stdout);
    assert!(
        shown.contains(&format!(
            "  + signature {}/app/web:sha256-{hex}.sig  ",
            f.src.host
        )) && shown.contains(&format!(
            "  + referrers {}/app/web:sha256-{hex}  ",
            f.src.host
        )),
        "attachments listed under their image: {shown}"
    );
    assert!(
        shown.contains(&format!("(on sha256:{sbom_hex})")) && shown.contains(&child_tag),
        "{shown}"
    );
    let pushed = format!("{}/pushed", f.dst.host);
    assert_exit(
        &ferry(&["push", bundle.to_str().unwrap(), "--to", &pushed]),
        0,
    );
    for tag in &tags {
        assert_eq!(
            skopeo_raw(&format!("{pushed}/app/web:{tag}"), &[]),
            skopeo_raw(&format!("{}/app/web:{tag}", f.src.host), &[]),
            "{tag}"
        );
    }
    // push --platform filters images, never the artifacts the bundle carries.
    let one = format!("{}/one-platform", f.dst.host);
    let out = ferry(&[
        "push",
        bundle.to_str().unwrap(),
        "--to",
        &one,
        "--platform",
        &only,
    ]);
    assert_exit(&out, 0);
    assert_eq!(
        skopeo_raw(&format!("{one}/app/web:sha256-{hex}"), &[]),
        skopeo_raw(&format!("{}/app/web:sha256-{hex}", f.src.host), &[]),
    );
}

/// A signature the source lists but cannot serve is not left behind unnoticed: the image is
/// copied, the signature's copy fails naming it, and the run says so (exit 4).
#[test]
fn a_signature_that_cannot_be_read_fails_its_copy() {
    let dst = TestRegistry::start("unreadable-sig-dst", "");
    let dir = temp_dir("unreadable-sig");
    let layout = Layout::new(&dir.join("src"), false);
    let image = layout.image("linux", "amd64", &[noise(22, 3000)]);
    let hex = &image.digest["sha256:".len()..];
    let sig_tag = format!("app/web:sha256-{hex}.sig");
    let src = ReferrersRegistry::start(
        &layout.dir,
        &[("app/web:1.0", &image.digest), (&sig_tag, "broken")],
    );
    let images = dir.join("images.txt");
    std::fs::write(&images, format!("{}/app/web:1.0\n", src.host)).unwrap();
    let to = format!("{}/m", dst.host);
    let out = ferry(&["mirror", "--images", images.to_str().unwrap(), "--to", &to]);
    assert_exit(&out, 4);
    let err = text(&out.stderr);
    assert!(
        err.lines()
            .any(|l| l.contains(&format!("{}/{sig_tag}", src.host)) && l.contains("500")),
        "{err}"
    );
    assert!(skopeo_exists(&format!("{to}/app/web:1.0"), &[]));
}

/// A source with the OCI 1.1 referrers API (a small in-test server: Distribution 2.8 has no
/// such API, so only the response format is this server's) lists an SBOM that names the
/// image as its `subject`. mirror carries it by digest, and since the target (Distribution)
/// has no referrers API, lists it under the target's tag-schema index `sha256-<hex>`, where
/// clients without the API look. A second run changes nothing.
#[test]
fn referrers_from_the_api_are_listed_by_tag_schema_where_the_target_has_no_api() {
    let dst = TestRegistry::start("referrers-dst", "");
    let dir = temp_dir("referrers-api");
    let layout = Layout::new(&dir.join("src"), false);
    let image = layout.image("linux", "amd64", &[noise(21, 4000)]);
    let empty = layout.blob("application/vnd.oci.empty.v1+json", b"{}");
    let sbom = layout.blob("application/spdx+json", br#"{"spdxVersion":"SPDX-2.3"}"#);
    let referrer = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/spdx+json",
        "config": {"mediaType": empty.media_type, "digest": empty.digest, "size": empty.size},
        "layers": [{"mediaType": sbom.media_type, "digest": sbom.digest, "size": sbom.size}],
        "subject": {"mediaType": image.media_type, "digest": image.digest, "size": image.size},
        "annotations": {"org.opencontainers.image.created": "2026-11-26T00:00:00Z"}
    });
    let referrer = layout.blob(
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(&referrer).unwrap(),
    );
    let src = ReferrersRegistry::start(&layout.dir, &[("app/web:1.0", &image.digest)]);
    let manifest = dir.join("deploy.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    image: {}/app/web:1.0\n",
            src.host
        ),
    )
    .unwrap();

    let to = format!("{}/m", dst.host);
    let out = ferry(&["mirror", manifest.to_str().unwrap(), "--to", &to]);
    assert_exit(&out, 0);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "application/spdx+json of {}/app/web:1.0: {}/app/web@{}",
            src.host, src.host, referrer.digest
        )),
        "{err}"
    );
    // The referrer, digest unchanged.
    let copied = skopeo_raw(&format!("{to}/app/web@{}", referrer.digest), &[]);
    assert_eq!(ferry::digest::Digest::of(&copied).as_str(), referrer.digest);
    // The tag schema's index lists it as the referrers API would.
    let hex = &image.digest["sha256:".len()..];
    let index = skopeo_raw(&format!("{to}/app/web:sha256-{hex}"), &[]);
    let index: serde_json::Value = serde_json::from_slice(&index).unwrap();
    let listed = index["manifests"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{index}");
    assert_eq!(listed[0]["digest"], referrer.digest.as_str());
    assert_eq!(listed[0]["artifactType"], "application/spdx+json");
    assert_eq!(listed[0]["size"], referrer.size);
    assert_eq!(
        listed[0]["annotations"]["org.opencontainers.image.created"],
        "2026-11-26T00:00:00Z"
    );

    // Again: the index already lists it, nothing is added twice.
    let out = ferry(&["mirror", manifest.to_str().unwrap(), "--to", &to]);
    assert_exit(&out, 0);
    let again = skopeo_raw(&format!("{to}/app/web:sha256-{hex}"), &[]);
    let again: serde_json::Value = serde_json::from_slice(&again).unwrap();
    assert_eq!(again, index);

    // Across the air gap: bundled from the API, pushed where there is none, listed the same.
    let bundle = dir.join("app.tar");
    let cache = dir.join("cache");
    let args = [
        "bundle",
        manifest.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
    ];
    assert_exit(
        &ferry(&[&args[..], &["--cache", cache.to_str().unwrap()]].concat()),
        0,
    );
    let pushed = format!("{}/pushed", dst.host);
    assert_exit(
        &ferry(&["push", bundle.to_str().unwrap(), "--to", &pushed]),
        0,
    );
    let there = skopeo_raw(&format!("{pushed}/app/web:sha256-{hex}"), &[]);
    let there: serde_json::Value = serde_json::from_slice(&there).unwrap();
    assert_eq!(there, index);
}

/// On a terminal (a pty made by `script`), mirror draws bars: never an empty `0 B/0 B` bar,
/// sizes in MB as every other line ferry prints; with `TERM=dumb` it prints plain lines, one
/// per image, and no escape sequences.
#[test]
fn a_terminal_gets_bars_in_megabytes_and_a_dumb_one_plain_lines() {
    assert!(have("script"), "script (util-linux) is needed for a pty");
    let f = fixture("pty");
    let run = |term: &str| {
        let command = format!(
            "'{}' mirror '{}' --to '{}/{term}'",
            env!("CARGO_BIN_EXE_ferry"),
            f.manifest.display(),
            f.dst.host
        );
        let out = on_terminal(&command, term);
        assert!(out.status.success(), "{term}: {}", text(&out.stdout));
        text(&out.stdout)
    };
    let live = run("xterm");
    assert!(
        live.contains("\u{1b}[") && live.contains("   total "),
        "{live:?}"
    );
    assert!(
        !live.contains("0 B/0 B"),
        "an empty bar was drawn: {live:?}"
    );
    assert!(!live.contains("iB"), "binary units: {live:?}");
    // Reading the manifests, before a layer moves, is shown as alive too.
    // (`manifests ⠁ reading`: the phase, a spinner, its word.)
    let phase = live.match_indices("manifests ").any(|(at, _)| {
        live[at + "manifests ".len()..]
            .chars()
            .skip(1)
            .collect::<String>()
            .starts_with(" reading")
    });
    assert!(phase, "{live:?}");
    assert_eq!(live.matches("copied  ").count(), 2, "{live:?}");
    let dumb = run("dumb");
    assert!(!dumb.contains('\u{1b}'), "{dumb:?}");
    assert_eq!(dumb.matches("copied  ").count(), 2, "{dumb:?}");
    assert!(dumb.contains("2 images: 2 ok, 0 failed"), "{dumb:?}");
}
