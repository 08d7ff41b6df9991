//! Delta bundles: a receipt of what the site holds, `bundle --since`, and the delta's
//! verify, inspect and push, checked against the full bundle's push with skopeo.

mod support;

use std::path::{Path, PathBuf};

use support::*;

/// Pushes an image of `layers` to `host/repo:tag` with skopeo.
fn image(dir: &Path, host: &str, repo: &str, tag: &str, layers: &[Vec<u8>]) {
    let layout = Layout::new(
        &dir.join(format!("{}-{tag}", repo.replace('/', "-"))),
        false,
    );
    let root = layout.image("linux", "amd64", layers);
    layout.tag(&root, tag);
    skopeo_push(&layout.dir, tag, &format!("{host}/{repo}:{tag}"), &[]);
}

/// A Deployment naming `images`, as a release's manifests would.
fn release(dir: &Path, name: &str, images: &[String]) -> PathBuf {
    let containers: String = images
        .iter()
        .enumerate()
        .map(|(i, img)| format!("        - name: c{i}\n          image: {img}\n"))
        .collect();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: op}}\nspec:\n  template:\n    spec:\n      containers:\n{containers}"
        ),
    )
    .unwrap();
    path
}

#[track_caller]
fn bundle(manifest: &Path, out: &Path, cache: &Path, extra: &[&str]) {
    assert_exit(
        &bundle_input(manifest.to_str().unwrap(), out, cache, extra),
        0,
    );
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

#[test]
fn a_delta_carries_only_what_the_site_lacks_and_lands_the_same_images() {
    let src = TestRegistry::start("delta-src", "");
    let dst = TestRegistry::start("delta-dst", "");
    let dir = temp_dir("delta");
    let h = &src.host;
    let base = noise(10, 400_000);
    image(
        &dir,
        h,
        "acme/op",
        "1.0",
        &[base.clone(), noise(11, 100_000)],
    );
    image(
        &dir,
        h,
        "acme/agent",
        "1.0",
        &[base.clone(), noise(12, 80_000)],
    );
    image(
        &dir,
        h,
        "acme/op",
        "2.0",
        &[base.clone(), noise(13, 120_000)],
    );
    // New in 2.0, in a repository the site does not have yet: its base is mounted there.
    image(
        &dir,
        h,
        "acme/new",
        "1.0",
        &[base.clone(), noise(14, 40_000)],
    );
    let v1 = release(
        &dir,
        "v1",
        &[format!("{h}/acme/op:1.0"), format!("{h}/acme/agent:1.0")],
    );
    let v2 = release(
        &dir,
        "v2",
        &[
            format!("{h}/acme/op:2.0"),
            format!("{h}/acme/agent:1.0"),
            format!("{h}/acme/new:1.0"),
        ],
    );
    let cache = dir.join("cache");
    let (b1, b2, d2) = (
        dir.join("v1.tar"),
        dir.join("v2.tar"),
        dir.join("v2-delta.tar"),
    );
    bundle(&v1, &b1, &cache, &[]);
    bundle(&v2, &b2, &cache, &[]);

    // The site pushed v1 and writes its receipt; the same bundle gives the same bytes.
    let site = format!("{}/site", dst.host);
    assert_exit(&ferry(&["push", b1.to_str().unwrap(), "--to", &site]), 0);
    let (r1, r2) = (dir.join("r1.json"), dir.join("r2.json"));
    for r in [&r1, &r2] {
        let out = ferry(&[
            "receipt",
            "--from-bundle",
            b1.to_str().unwrap(),
            "-o",
            r.to_str().unwrap(),
        ]);
        assert_exit(&out, 0);
        assert!(
            text(&out.stdout).contains("receipt sha256:"),
            "{}",
            text(&out.stdout)
        );
    }
    assert_eq!(std::fs::read(&r1).unwrap(), std::fs::read(&r2).unwrap());
    let receipt = text(&std::fs::read(&r1).unwrap());
    assert!(
        receipt.contains("\"schema\": \"ferry.receipt/v1\""),
        "{receipt}"
    );
    assert!(
        !receipt.contains("password") && !receipt.contains(&dst.host),
        "{receipt}"
    );

    // The vendor's delta: only the layers the site lacks, every manifest and config.
    bundle(&v2, &d2, &cache, &["--since", r1.to_str().unwrap()]);
    let new_layers = 120_000 + 40_000;
    // Left out: the base (400 KB) and the agent's unchanged layer (80 KB).
    assert!(
        size(&d2) + 480_000 <= size(&b2),
        "{} vs {}",
        size(&d2),
        size(&b2)
    );
    assert!(
        size(&d2) > new_layers && size(&d2) < new_layers + 64_000,
        "{}",
        size(&d2)
    );
    let shown = text(&ferry(&["inspect", d2.to_str().unwrap()]).stdout);
    assert!(
        shown.contains("delta on receipt sha256:")
            && shown.contains("left out, expected at the site"),
        "{shown}"
    );
    let verified = ferry(&["verify", d2.to_str().unwrap()]);
    assert_exit(&verified, 0);
    assert!(
        text(&verified.stdout).contains("expected at the site"),
        "{}",
        text(&verified.stdout)
    );
    // A bundle works as a receipt too: the same delta.
    let d2b = dir.join("v2-delta-b.tar");
    bundle(&v2, &d2b, &cache, &["--since", b1.to_str().unwrap()]);
    assert_eq!(std::fs::read(&d2).unwrap(), std::fs::read(&d2b).unwrap());

    // Pushed where the receipt's v1 is: the same images as the full bundle lands.
    let full = format!("{}/full", dst.host);
    assert_exit(&ferry(&["push", b2.to_str().unwrap(), "--to", &full]), 0);
    let pushed = ferry(&["push", d2.to_str().unwrap(), "--to", &site]);
    assert_exit(&pushed, 0);
    assert!(
        text(&pushed.stderr).contains("mounted"),
        "{}",
        text(&pushed.stderr)
    );
    for name in ["acme/op:2.0", "acme/agent:1.0", "acme/new:1.0"] {
        assert_eq!(
            skopeo_raw(&format!("{site}/{name}"), &[]),
            skopeo_raw(&format!("{full}/{name}"), &[]),
            "{name}"
        );
        // Every blob is there: an independent client copies the whole image out.
        let copy = std::process::Command::new("skopeo")
            .args(["copy", "--src-tls-verify=false"])
            .arg(format!("docker://{site}/{name}"))
            .arg(format!(
                "oci:{}:x",
                dir.join(format!("out-{}", name.replace(['/', ':'], "-")))
                    .display()
            ))
            .output()
            .unwrap();
        assert!(copy.status.success(), "{name}: {}", text(&copy.stderr));
    }

    // A receipt read from the site's registry itself gives a delta that leaves out the
    // same layers, and it pushes to a prefix holding only v1 (mounting from the
    // repositories the receipt names).
    let again = format!("{}/again", dst.host);
    assert_exit(&ferry(&["push", b1.to_str().unwrap(), "--to", &again]), 0);
    let read = dir.join("read.json");
    let out = ferry(&["receipt", "--to", &again, "-o", read.to_str().unwrap()]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).contains("from registry ")
            && text(&out.stdout).contains("2 repositories, 2 tags"),
        "{}",
        text(&out.stdout)
    );
    let d2r = dir.join("v2-delta-read.tar");
    bundle(&v2, &d2r, &cache, &["--since", read.to_str().unwrap()]);
    let left = |b: &Path| {
        let v: serde_json::Value = inspect_json(b);
        v["ferry"]["delta"]["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["digest"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(left(&d2r), left(&d2));
    assert_exit(&ferry(&["push", d2r.to_str().unwrap(), "--to", &again]), 0);
    for name in ["acme/op:2.0", "acme/new:1.0"] {
        assert_eq!(
            skopeo_raw(&format!("{again}/{name}"), &[]),
            skopeo_raw(&format!("{full}/{name}"), &[]),
            "{name}"
        );
    }

    // Where the base is missing, nothing is pushed and each missing blob is named.
    let empty = format!("{}/empty", dst.host);
    let refused = ferry(&["push", d2.to_str().unwrap(), "--to", &empty]);
    assert_exit(&refused, 4);
    let err = text(&refused.stderr);
    assert!(
        err.contains("the site lacks")
            && err.contains("nothing pushed")
            && err.contains("acme/op:2.0"),
        "{err}"
    );
    for name in ["acme/op:2.0", "acme/agent:1.0", "acme/new:1.0"] {
        assert!(!skopeo_exists(&format!("{empty}/{name}"), &[]), "{name}");
    }
}

#[test]
fn a_bundle_in_parts_checks_part_by_part_and_pushes_without_joining() {
    let src = TestRegistry::start("parts-src", "");
    let dst = TestRegistry::start("parts-dst", "");
    let dir = temp_dir("parts");
    let h = &src.host;
    // One layer (3 MB) larger than a part (1 MB): it spans parts.
    image(
        &dir,
        h,
        "acme/big",
        "1.0",
        &[noise(20, 3 << 20), noise(21, 200_000)],
    );
    let m = release(&dir, "big", &[format!("{h}/acme/big:1.0")]);
    let cache = dir.join("cache");
    let whole = dir.join("whole/big.tar");
    std::fs::create_dir_all(whole.parent().unwrap()).unwrap();
    bundle(&m, &whole, &cache, &[]);
    let split = dir.join("media/big.tar");
    std::fs::create_dir_all(split.parent().unwrap()).unwrap();
    let out = ferry(&[
        "bundle",
        m.to_str().unwrap(),
        "-o",
        split.to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        "--split",
        "1M",
    ]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stdout).contains("in 4 parts"),
        "{}",
        text(&out.stdout)
    );
    assert!(!split.exists(), "no whole file beside the parts");
    let media = dir.join("media");
    let part = |n: usize| media.join(format!("big.tar.part-{n:03}"));
    // `cat` of the parts in order is the whole bundle, byte for byte.
    let joined: Vec<u8> = (1..=4)
        .flat_map(|n| std::fs::read(part(n)).unwrap())
        .collect();
    assert_eq!(joined, std::fs::read(&whole).unwrap());
    for n in 1..=4 {
        assert!(std::fs::metadata(part(n)).unwrap().len() <= 1 << 20);
    }
    // Each part checks alone; the set verifies, is inspected and pushed in place.
    let three = ferry(&["verify", part(3).to_str().unwrap()]);
    assert_exit(&three, 0);
    assert!(
        text(&three.stdout).contains("part 3 of 4 of big.tar (big.tar.part-003): intact"),
        "{}",
        text(&three.stdout)
    );
    let index = media.join("big.tar.parts.json");
    for given in [&part(1), &index] {
        assert_exit(&ferry(&["verify", given.to_str().unwrap()]), 0);
    }
    let shown = text(&ferry(&["inspect", part(1).to_str().unwrap()]).stdout);
    assert!(shown.contains("acme/big:1.0"), "{shown}");
    let to = format!("{}/site", dst.host);
    assert_exit(&ferry(&["push", index.to_str().unwrap(), "--to", &to]), 0);
    assert_eq!(
        skopeo_raw(&format!("{to}/acme/big:1.0"), &[]),
        skopeo_raw(&format!("{h}/acme/big:1.0"), &[])
    );
    // A part given alone to push is refused, naming what to give.
    let alone = ferry(&["push", part(2).to_str().unwrap(), "--to", &to]);
    assert_exit(&alone, 3);
    assert!(
        text(&alone.stderr).contains("part 2 of a split bundle"),
        "{}",
        text(&alone.stderr)
    );

    // A flipped byte in part 2 is reported as part 2; a missing part is named.
    let mut bytes = std::fs::read(part(2)).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(part(2), &bytes).unwrap();
    let bad = ferry(&["verify", part(1).to_str().unwrap()]);
    assert_exit(&bad, 6);
    let said = text(&bad.stdout);
    assert!(
        said.contains("bad: part 2 of 4 (big.tar.part-002): damaged")
            && said.contains("part 1 of 4 of big.tar (big.tar.part-001): intact"),
        "{said}"
    );
    assert_exit(&ferry(&["verify", part(2).to_str().unwrap()]), 6);
    std::fs::remove_file(part(4)).unwrap();
    let gone = ferry(&["verify", index.to_str().unwrap()]);
    assert_exit(&gone, 6);
    assert!(
        text(&gone.stdout).contains("part 4 of 4 (big.tar.part-004): missing"),
        "{}",
        text(&gone.stdout)
    );
}
