//! OLM catalogs: every selection of `../shared/corpus-catalogs/*/selections.yaml` through
//! `ferry scan CATALOG --package ... --versions ...`: exactly the expected bundles and images,
//! refusals as `opm` refuses, and a filtered catalog holding exactly the selection with a
//! valid graph.

mod support;

use std::path::{Path, PathBuf};

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
