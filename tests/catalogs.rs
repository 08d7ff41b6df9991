//! OLM catalogs: every selection of `../shared/corpus-catalogs/*/selections.yaml` through
//! `ferry scan CATALOG --package ... --versions ...`: exactly the expected bundles and images,
//! refusals as `opm` refuses, and a filtered catalog holding exactly the selection with a
//! valid graph.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus-catalogs")
}

/// `--versions` as a selection says it.
fn versions(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => format!(
            "{}..{}",
            m.get("minVersion").and_then(|x| x.as_str()).unwrap_or(""),
            m.get("maxVersion").and_then(|x| x.as_str()).unwrap_or("")
        ),
        _ => "head".into(),
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

#[test]
fn every_corpus_selection_gives_exactly_its_bundles_and_images() {
    let dir = temp_dir("catalog-selections");
    let mut cases = 0;
    for case in std::fs::read_dir(corpus()).unwrap().flatten() {
        let selections = case.path().join("selections.yaml");
        if !selections.is_file() {
            continue;
        }
        let catalog = case.path().join("catalog");
        let list: Vec<serde_json::Value> =
            serde_saphyr::from_str(&std::fs::read_to_string(&selections).unwrap()).unwrap();
        for s in list {
            cases += 1;
            let name = s["name"].as_str().unwrap();
            let select = &s["select"];
            let filtered = dir.join(format!("{name}.json"));
            let mut args = vec![
                "scan".to_string(),
                catalog.display().to_string(),
                "--package".into(),
                select["package"].as_str().unwrap().into(),
                "--versions".into(),
                versions(&select["versions"]),
                "-o".into(),
                "json".into(),
                "--filtered-catalog".into(),
                filtered.display().to_string(),
            ];
            if let Some(c) = select["channel"].as_str() {
                args.extend(["--channel".into(), c.into()]);
            }
            let out = ferry(&args.iter().map(String::as_str).collect::<Vec<_>>());
            if s["expect_error"] == true {
                assert_exit(&out, 3);
                let err = s["error"].as_str().unwrap();
                assert!(
                    text(&out.stderr).contains(err),
                    "{name}: {}",
                    text(&out.stderr)
                );
                continue;
            }
            assert_exit(&out, 0);
            let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(got["schema"], "ferry.catalog-selection/v1");
            let mut bundles = strings(&got["bundles"]);
            bundles.sort();
            assert_eq!(bundles, strings(&s["bundles"]), "{name}: bundles");
            let images: Vec<String> = {
                let mut v: Vec<String> = got["images"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["image"].as_str().unwrap().to_string())
                    .collect();
                v.sort();
                v
            };
            assert_eq!(images, strings(&s["expected"]), "{name}: images");
            // The filtered catalog: exactly the selected bundles, a valid graph.
            let objects: Vec<serde_json::Value> =
                serde_json::Deserializer::from_slice(&std::fs::read(&filtered).unwrap())
                    .into_iter()
                    .collect::<Result<_, _>>()
                    .unwrap();
            let mut held: Vec<String> = objects
                .iter()
                .filter(|o| o["schema"] == "olm.bundle")
                .map(|o| o["name"].as_str().unwrap().to_string())
                .collect();
            held.sort();
            assert_eq!(held, strings(&s["bundles"]), "{name}: filtered bundles");
            let problems = ferry::catalog::filter::check(&objects);
            assert!(problems.is_empty(), "{name}: {problems:?}");
            // ferry reads its own filtered catalog, and it selects the same images again.
            let again = ferry(&[
                "scan",
                filtered.to_str().unwrap(),
                "--package",
                select["package"].as_str().unwrap(),
                "--versions",
                "all",
                "-o",
                "list",
            ]);
            assert_exit(&again, 0);
            let mut relisted: Vec<String> =
                text(&again.stdout).lines().map(str::to_string).collect();
            relisted.sort();
            assert_eq!(
                relisted,
                strings(&s["expected"]),
                "{name}: images of the filtered catalog"
            );
        }
    }
    assert!(cases >= 8, "the corpus holds {cases} selections");
}

#[test]
fn a_catalog_without_a_selection_says_what_it_holds() {
    let out = ferry(&[
        "scan",
        corpus().join("test-catalog/catalog").to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    let s = text(&out.stdout);
    assert!(
        s.contains("package test (default channel beta): 6 bundles")
            && s.contains("channel beta: 4 entries, head test-operator.1.0.4, test-operator.1.2.0"),
        "{s}"
    );
    let no_such = ferry(&[
        "scan",
        corpus().join("test-catalog/catalog").to_str().unwrap(),
        "--package",
        "nope",
    ]);
    assert_exit(&no_such, 3);
    assert!(
        text(&no_such.stderr).contains("no package \"nope\" (packages: dynamic,"),
        "{}",
        text(&no_such.stderr)
    );
}

/// A gzipped tar of `(name, bytes)` entries.
fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        tar.append_data(&mut h, name, *bytes).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

/// A catalog image as `opm` builds one: a base layer, the catalog under /configs, a
/// pre-built cache under /tmp/cache; the label and `opm serve` command; in an index.
fn catalog_image(layout: &Layout, catalog_yaml: &str) -> Desc {
    let base = tar_gz(&[("bin/opm", &noise(30, 200_000))]);
    let configs = tar_gz(&[("configs/acme/catalog.yaml", catalog_yaml.as_bytes())]);
    let cache = tar_gz(&[("tmp/cache/digest", b"stale")]);
    let layers: Vec<Desc> = [base, configs, cache]
        .iter()
        .map(|l| layout.blob("application/vnd.oci.image.layer.v1.tar+gzip", l))
        .collect();
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|_| {
            "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\""
                .to_string()
        })
        .collect();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Labels":{{"operators.operatorframework.io.index.configs.v1":"/configs"}},"Entrypoint":["/bin/opm"],"Cmd":["serve","/configs","--cache-dir=/tmp/cache"]}},"rootfs":{{"type":"layers","diff_ids":[{}]}},"history":[]}}"#,
        diff_ids.join(",")
    );
    let config = layout.blob(
        "application/vnd.oci.image.config.v1+json",
        config.as_bytes(),
    );
    let m = layout.manifest(&config, &layers);
    layout.index(&[(m, "linux", "amd64")])
}

/// Pushes a one-layer image to `host/repo:tag`; its digest.
fn seed(dir: &Path, host: &str, repo: &str, tag: &str, seed: u64) -> String {
    let layout = Layout::new(
        &dir.join(format!("seed-{}-{tag}", repo.replace('/', "-"))),
        false,
    );
    let root = layout.image("linux", "amd64", &[noise(seed, 20_000)]);
    layout.tag(&root, tag);
    skopeo_push(&layout.dir, tag, &format!("{host}/{repo}:{tag}"), &[]);
    sha256_of(&skopeo_raw(&format!("{host}/{repo}:{tag}"), &[]))
}

#[test]
fn a_catalog_image_is_read_selected_and_mirrored_reduced_on_its_own_base() {
    let src = TestRegistry::start("catalog-src", "");
    let dst = TestRegistry::start("catalog-dst", "");
    let dir = temp_dir("catalog-image");
    let h = &src.host;
    // Three releases of one operator, each a bundle image and an operator image by digest.
    let mut bundles = String::new();
    let mut entries = String::new();
    let mut previous: Option<String> = None;
    for (i, v) in ["1.0.0", "1.1.0", "2.0.0"].iter().enumerate() {
        let b = seed(&dir, h, "acme/bundle", &format!("v{v}"), 40 + i as u64);
        let o = seed(&dir, h, "acme/operator", &format!("v{v}"), 50 + i as u64);
        bundles.push_str(&format!(
            "---\nschema: olm.bundle\nname: acme.v{v}\npackage: acme\nimage: {h}/acme/bundle@{b}\nproperties:\n  - type: olm.package\n    value: {{packageName: acme, version: {v}}}\nrelatedImages:\n  - {{name: bundle, image: '{h}/acme/bundle@{b}'}}\n  - {{name: operator, image: '{h}/acme/operator@{o}'}}\n"
        ));
        entries.push_str(&format!("  - name: acme.v{v}\n"));
        if let Some(p) = &previous {
            entries.push_str(&format!("    replaces: {p}\n"));
        }
        previous = Some(format!("acme.v{v}"));
    }
    let catalog_yaml = format!(
        "schema: olm.package\nname: acme\ndefaultChannel: stable\n---\nschema: olm.channel\nname: stable\npackage: acme\nentries:\n{entries}{bundles}"
    );
    let layout = Layout::new(&dir.join("catalog-layout"), false);
    let index = catalog_image(&layout, &catalog_yaml);
    layout.tag(&index, "v4");
    skopeo_push(&layout.dir, "v4", &format!("{h}/olm/catalog:v4"), &[]);
    let source = format!("oci://{h}/olm/catalog:v4");

    // Read from the image: the catalog's packages, and a selection's images.
    let listed = ferry(&["scan", &source]);
    assert_exit(&listed, 0);
    assert!(
        text(&listed.stdout).contains("channel stable: 3 entries, head acme.v2.0.0"),
        "{}",
        text(&listed.stdout)
    );
    let all = ferry(&[
        "scan",
        &source,
        "--package",
        "acme",
        "--versions",
        "all",
        "-o",
        "list",
    ]);
    assert_exit(&all, 0);
    assert_eq!(
        text(&all.stdout).lines().count(),
        6,
        "{}",
        text(&all.stdout)
    );

    // Mirrored: the selection's images, and the catalog image rebuilt on its base.
    let to = format!("{}/site", dst.host);
    let manifests = dir.join("site-manifests");
    let out = ferry(&[
        "mirror",
        &source,
        "--package",
        "acme",
        "--versions",
        "1.1.0..",
        "--to",
        &to,
        "--catalog-manifests",
        manifests.to_str().unwrap(),
        "--catalog-namespace",
        "openshift-marketplace",
    ]);
    assert_exit(&out, 0);
    let err = text(&out.stderr);
    assert!(err.contains("--cache-enforce-integrity=false"), "{err}");
    for (repo, tag) in [("acme/bundle", "v1.1.0"), ("acme/operator", "v2.0.0")] {
        let d = sha256_of(&skopeo_raw(&format!("{h}/{repo}:{tag}"), &[]));
        assert!(
            skopeo_exists(&format!("{to}/{repo}@{d}"), &[]),
            "{repo}:{tag}"
        );
    }
    let old = sha256_of(&skopeo_raw(&format!("{h}/acme/operator:v1.0.0"), &[]));
    assert!(
        !skopeo_exists(&format!("{to}/acme/operator@{old}"), &[]),
        "1.0.0 is not selected"
    );
    // The rebuilt image: the same base layers, one new layer with only the selection.
    let index: serde_json::Value =
        serde_json::from_slice(&skopeo_raw(&format!("{to}/olm/catalog:v4"), &[])).unwrap();
    let child = index["manifests"][0]["digest"].as_str().unwrap();
    let rebuilt: serde_json::Value =
        serde_json::from_slice(&skopeo_raw(&format!("{to}/olm/catalog@{child}"), &[])).unwrap();
    let original_index: serde_json::Value =
        serde_json::from_slice(&skopeo_raw(&format!("{h}/olm/catalog:v4"), &[])).unwrap();
    let original_child = original_index["manifests"][0]["digest"].as_str().unwrap();
    let original: serde_json::Value = serde_json::from_slice(&skopeo_raw(
        &format!("{h}/olm/catalog@{original_child}"),
        &[],
    ))
    .unwrap();
    let layers = rebuilt["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 4);
    assert_eq!(
        &layers[..3],
        original["layers"].as_array().unwrap().as_slice()
    );
    // ferry reads its own rebuilt image: only the selected bundles.
    let again = ferry(&["scan", &format!("oci://{to}/olm/catalog:v4")]);
    assert_exit(&again, 0);
    assert!(
        text(&again.stdout).contains("package acme (default channel stable): 2 bundles")
            && text(&again.stdout).contains("channel stable: 2 entries, head acme.v2.0.0"),
        "{}",
        text(&again.stdout)
    );
    let config = Command::new("skopeo")
        .args(["inspect", "--config", "--tls-verify=false"])
        .arg(format!("docker://{to}/olm/catalog:v4"))
        .output()
        .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&config.stdout).unwrap();
    assert_eq!(
        config["config"]["Cmd"][3], "--cache-enforce-integrity=false",
        "{config}"
    );
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 4);
    // The site's manifests name the catalog by digest and redirect the source repositories.
    let source_yaml = std::fs::read_to_string(manifests.join("catalogsource.yaml")).unwrap();
    assert!(
        source_yaml.contains(&format!("image: {to}/olm/catalog:v4@sha256:"))
            || source_yaml.contains(&format!("image: {to}/olm/catalog@sha256:")),
        "{source_yaml}"
    );
    assert!(
        source_yaml.contains("  namespace: openshift-marketplace\n"),
        "{source_yaml}"
    );
    let bad = ferry(&[
        "mirror",
        &source,
        "--package",
        "acme",
        "--to",
        &to,
        "--catalog-namespace",
        "Bad\nkind: x",
    ]);
    assert_exit(&bad, 2);
    // A dry run plans the copy and writes nothing: it says where the site's files would go.
    let planned_dir = dir.join("planned-manifests");
    let planned = ferry(&[
        "mirror",
        &source,
        "--package",
        "acme",
        "--to",
        &format!("{}/planned", dst.host),
        "--catalog-manifests",
        planned_dir.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_exit(&planned, 0);
    assert!(!planned_dir.exists());
    assert!(
        text(&planned.stderr).contains(&format!(
            "would write {}",
            planned_dir.join("imagedigestmirrorset.yaml").display()
        )),
        "{}",
        text(&planned.stderr)
    );
    let idms = std::fs::read_to_string(manifests.join("imagedigestmirrorset.yaml")).unwrap();
    assert!(
        idms.contains(&format!(
            "- source: {h}/acme/operator\n      mirrors:\n        - {to}/acme/operator"
        )),
        "{idms}"
    );
    assert!(manifests.join("clustercatalog.yaml").is_file());
    let conf = std::fs::read_to_string(manifests.join("registries.conf")).unwrap();
    assert!(
        conf.contains(&format!("prefix = \"{h}/acme/operator\"\nlocation = \"{h}/acme/operator\"\n\n[[registry.mirror]]\nlocation = \"{to}/acme/operator\"")),
        "{conf}"
    );
    let hosts =
        std::fs::read_to_string(manifests.join(format!("containerd/{h}/hosts.toml"))).unwrap();
    assert!(
        hosts.contains(&format!("[host.\"https://{}/v2/site\"]", dst.host))
            && hosts.contains("override_path = true"),
        "{hosts}"
    );

    // Across the gap: the bundle carries the selection and the rebuilt catalog image; pushed
    // at the site, the same catalog image lands; install's rewrite names it by digest there.
    let bundle = dir.join("catalog.tar");
    let out = bundle_input(
        &source,
        &bundle,
        &dir.join("cache"),
        &["--package", "acme", "--versions", "1.1.0.."],
    );
    assert_exit(&out, 0);
    assert_exit(&ferry(&["verify", bundle.to_str().unwrap()]), 0);
    let meta: serde_json::Value = inspect_json(&bundle);
    assert_eq!(meta["ferry"]["catalogs"][0]["name"], "acme", "{meta}");
    assert_eq!(
        meta["ferry"]["catalogs"][0]["images"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "{meta}"
    );
    assert_eq!(
        meta["ferry"]["catalogs"][0]["image"],
        format!("{h}/olm/catalog:v4")
    );
    // A selection's image left out on purpose breaks the proof: nothing written.
    let partial = dir.join("partial.tar");
    let out = bundle_input(
        &source,
        &partial,
        &dir.join("cache"),
        &[
            "--package",
            "acme",
            "--versions",
            "1.1.0..",
            "--exclude",
            "*/acme/operator*",
        ],
    );
    assert_exit(&out, 3);
    assert!(
        text(&out.stderr).contains("the catalog selection is not complete")
            && text(&out.stderr)
                .contains("catalog bundle acme.v1.1.0 (relatedImages operator) needs"),
        "{}",
        text(&out.stderr)
    );
    assert!(!partial.exists());
    let gap = format!("{}/gap", dst.host);
    assert_exit(&ferry(&["push", bundle.to_str().unwrap(), "--to", &gap]), 0);
    assert_eq!(
        skopeo_raw(&format!("{gap}/olm/catalog:v4"), &[]),
        skopeo_raw(&format!("{to}/olm/catalog:v4"), &[]),
        "the bundled catalog image is the mirrored one"
    );
    let rebuilt = sha256_of(&skopeo_raw(&format!("{gap}/olm/catalog:v4"), &[]));
    let rewritten = dir.join("rewritten");
    let out = ferry(&[
        "rewrite",
        bundle.to_str().unwrap(),
        "--to",
        &gap,
        "--out",
        rewritten.to_str().unwrap(),
        "--pin-digests",
    ]);
    assert_exit(&out, 0);
    let source_yaml = std::fs::read_to_string(rewritten.join("acme/catalogsource.yaml")).unwrap();
    assert!(
        source_yaml.contains(&format!("image: {gap}/olm/catalog:v4@{rebuilt}"))
            && source_yaml.contains("ferry.dev/apply-when-served: OLM v0"),
        "{source_yaml}"
    );
    let cluster = std::fs::read_to_string(rewritten.join("acme/clustercatalog.yaml")).unwrap();
    assert!(
        cluster.contains(&format!("ref: {gap}/olm/catalog:v4@{rebuilt}")),
        "{cluster}"
    );

    // Installed on a cluster that runs no OLM: everything pushed, the CatalogSource and the
    // ClusterCatalog skipped, said, and a warning; the install succeeds.
    let server = support::apiserver::ApiServer::start();
    let kc = server.kubeconfig(&dir);
    let installed = ferry(&[
        "install",
        "--release",
        "acme-catalog",
        bundle.to_str().unwrap(),
        "--to",
        &format!("{}/installed", dst.host),
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--workdir",
        dir.join("install").to_str().unwrap(),
    ]);
    assert_exit(&installed, 0);
    let (said, err) = (text(&installed.stdout), text(&installed.stderr));
    assert!(
        said.contains("CatalogSource/ferry-acme skipped")
            && said.contains("ClusterCatalog/ferry-acme skipped"),
        "{said}"
    );
    // Said once: by the apply, not by the dry run before it.
    assert_eq!(
        err.matches("this cluster runs none of OLM v0, OLM v1")
            .count(),
        1,
        "{err}"
    );
    assert!(skopeo_exists(
        &format!("{}/installed/olm/catalog:v4", dst.host),
        &[]
    ));

    // The same selection from a release spec's `catalogs:` carries the same images.
    let spec = dir.join("ferry.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: ferry.dev/v1\nkind: Release\nname: acme\ncatalogs:\n  - name: olm\n    catalog: {source}\n    packages:\n      - name: acme\n        versions: {{minVersion: 1.1.0}}\n"
        ),
    )
    .unwrap();
    let by_spec = dir.join("by-spec.tar");
    let out = bundle_input(spec.to_str().unwrap(), &by_spec, &dir.join("cache"), &[]);
    assert_exit(&out, 0);
    // A warm cache: nothing to download.
    assert!(
        text(&out.stderr).contains("; 0.0 MB to download)"),
        "{}",
        text(&out.stderr)
    );
    let images = |b: &Path| -> serde_json::Value {
        let v: serde_json::Value = inspect_json(b);
        v["ferry"]["images"].clone()
    };
    assert_eq!(images(&by_spec), images(&bundle));
    let shown = text(&ferry(&["inspect", by_spec.to_str().unwrap()]).stdout);
    assert!(
        shown.contains("manifests/olm/catalogsource.yaml"),
        "{shown}"
    );

    // mirror of the spec: the same selection, the same rebuilt catalog image (its digest), and
    // the site's manifests under the catalog's name.
    let spec_to = format!("{}/by-spec", dst.host);
    let spec_manifests = dir.join("spec-manifests");
    let out = ferry(&[
        "mirror",
        spec.to_str().unwrap(),
        "--to",
        &spec_to,
        "--catalog-manifests",
        spec_manifests.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_exit(&out, 0);
    // For machines: a `catalog` event with what was pushed and written.
    let events: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let catalog = events.iter().find(|e| e["event"] == "catalog").unwrap();
    assert_eq!(catalog["name"], "olm", "{catalog}");
    assert_eq!(catalog["bundles"].as_array().unwrap().len(), 2, "{catalog}");
    assert!(
        catalog["image"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{spec_to}/olm/catalog")),
        "{catalog}"
    );
    assert!(
        catalog["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().ends_with("olm/catalogsource.yaml")),
        "{catalog}"
    );
    let pinned = |yaml: &str| yaml.split("@sha256:").nth(1).map(|d| d[..64].to_string());
    let by_spec_yaml =
        std::fs::read_to_string(spec_manifests.join("olm/catalogsource.yaml")).unwrap();
    assert!(
        by_spec_yaml.contains(&format!("image: {spec_to}/olm/catalog")),
        "{by_spec_yaml}"
    );
    assert_eq!(
        pinned(&by_spec_yaml),
        pinned(&source_yaml),
        "{by_spec_yaml}"
    );
    assert!(
        spec_manifests
            .join("olm/imagedigestmirrorset.yaml")
            .is_file()
    );
    assert!(
        !skopeo_exists(&format!("{spec_to}/acme/operator@{old}"), &[]),
        "1.0.0 is not selected"
    );
    // --package beside a spec is refused: the spec says its selections.
    let out = ferry(&[
        "mirror",
        spec.to_str().unwrap(),
        "--package",
        "acme",
        "--to",
        &spec_to,
    ]);
    assert_exit(&out, 2);

    // The next release widens the selection to every version: a delta on the first bundle
    // leaves out what the site holds (the catalog image's base layers, the images it had)
    // and the site's catalog image is rebuilt with the wider catalog on the same base.
    let wider = dir.join("wider.tar");
    let out = bundle_input(
        &source,
        &wider,
        &dir.join("cache"),
        &[
            "--package",
            "acme",
            "--versions",
            "all",
            "--since",
            bundle.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    let shown = text(&ferry(&["inspect", wider.to_str().unwrap()]).stdout);
    assert!(shown.contains("delta on receipt sha256:"), "{shown}");
    assert!(
        std::fs::metadata(&wider).unwrap().len() < std::fs::metadata(&bundle).unwrap().len(),
        "the delta carries less than the first bundle"
    );
    assert_exit(&ferry(&["push", wider.to_str().unwrap(), "--to", &gap]), 0);
    assert!(
        skopeo_exists(&format!("{gap}/acme/operator@{old}"), &[]),
        "1.0.0's operator is at the site now"
    );
    let index: serde_json::Value =
        serde_json::from_slice(&skopeo_raw(&format!("{gap}/olm/catalog:v4"), &[])).unwrap();
    let child = index["manifests"][0]["digest"].as_str().unwrap();
    let widened: serde_json::Value =
        serde_json::from_slice(&skopeo_raw(&format!("{gap}/olm/catalog@{child}"), &[])).unwrap();
    let layers = widened["layers"].as_array().unwrap();
    assert_eq!(
        &layers[..3],
        original["layers"].as_array().unwrap().as_slice(),
        "the same base"
    );
    let again = ferry(&["scan", &format!("oci://{gap}/olm/catalog:v4")]);
    assert!(
        text(&again.stdout).contains("package acme (default channel stable): 3 bundles"),
        "{}",
        text(&again.stdout)
    );
}
