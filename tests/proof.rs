//! The completeness proof `bundle` ends with, run on every fixture and corpus case against
//! their hand-checked image lists (not against ferry's own scan), and shown to fail, naming
//! file:line, when the bundle lacks an image or holds another digest than the one pinned.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ferry::digest::Digest;
use ferry::reference::Reference;
use ferry::scan::UserRules;
use ferry::workflow::{Held, HeldImage, prove};
use support::corpus::{corpus_cases, expected_images};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A bundle holding exactly `images`: a pinned one under its own digest, a tagged one under
/// a digest made up from its name.
fn holding(images: &BTreeSet<String>) -> BTreeMap<String, HeldImage> {
    images
        .iter()
        .map(|i| {
            let r: Reference = i.parse().unwrap();
            let digest = match r.digest() {
                Some(d) => d.parse().unwrap(),
                None => Digest::of(r.to_string().as_bytes()),
            };
            let image = HeldImage {
                digest,
                source_digest: None,
            };
            (r.to_string(), image)
        })
        .collect()
}

/// The inputs as install gets them (kustomizations rendered).
fn sources(input: &Path) -> Vec<ferry::render::Source> {
    let loaded = ferry::workflow::load(
        &[input.to_path_buf()],
        &Default::default(),
        &Default::default(),
        false,
    );
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded.sources
}

fn proven(name: &str, input: &Path, rules: &UserRules) -> ferry::bundle::Proof {
    let expected = expected_images(input);
    let held = Held {
        images: holding(&expected),
        excluded: BTreeSet::new(),
    };
    let proof =
        prove(&sources(input), rules, &held).unwrap_or_else(|e| panic!("{name}: not proven: {e}"));
    assert!(
        proof.references >= expected.len(),
        "{name}: {} references for {} images",
        proof.references,
        expected.len()
    );
    assert_eq!(proof.references, proof.held + proof.outputs, "{name}");
    proof
}

#[test]
fn every_fixture_and_corpus_case_is_proven_complete_by_its_image_list() {
    let none = UserRules::default();
    let mut outputs = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap().flatten() {
        let dir = entry.path();
        if dir.join("expected.txt").is_file() && !dir.ends_with("user-rules") {
            outputs += proven(&dir.display().to_string(), &dir, &none).outputs;
        }
    }
    // The Strimzi KafkaConnect's build output is rewritten but never pulled.
    assert_eq!(outputs, 1);
    let acme = UserRules::load(&fixtures().join("rules/acme.yaml")).unwrap();
    proven("user-rules", &fixtures().join("user-rules"), &acme);
    let cases = corpus_cases();
    for case in &cases {
        proven(&case.display().to_string(), case, &none);
    }
}

#[test]
fn an_image_missing_from_the_bundle_is_named_with_every_place_that_names_it() {
    let input = fixtures().join("prometheus");
    let mut expected = expected_images(&input);
    let dropped = "quay.io/prometheus-operator/prometheus-config-reloader:v0.84.1";
    assert!(expected.remove(dropped), "fixture changed: {expected:?}");
    let held = Held {
        images: holding(&expected),
        excluded: BTreeSet::new(),
    };
    let err = prove(&sources(&input), &UserRules::default(), &held)
        .unwrap_err()
        .to_string();
    let problems: Vec<&str> = err.lines().skip(1).map(str::trim).collect();
    assert!(!problems.is_empty(), "{err}");
    for p in &problems {
        assert!(
            p.contains(dropped) && p.contains("not in the bundle"),
            "{p}"
        );
        // file:line:column, and that line of the file names the image.
        let mut at = p.splitn(4, ':');
        let (file, line) = (at.next().unwrap(), at.next().unwrap());
        let line: usize = line.parse().unwrap();
        let named = std::fs::read_to_string(file).unwrap();
        let named = named.lines().nth(line - 1).unwrap();
        assert!(
            named.contains("prometheus-config-reloader"),
            "{file}:{line} is {named:?}"
        );
    }

    // Left out on purpose, it is accounted for instead.
    let held = Held {
        images: holding(&expected),
        excluded: BTreeSet::from([dropped]),
    };
    let proof = prove(&sources(&input), &UserRules::default(), &held).unwrap();
    assert_eq!(proof.excluded, problems.len());
    assert_eq!(proof.references, proof.held + proof.excluded);
}

#[test]
fn a_pinned_reference_needs_the_digest_it_pins() {
    let input = fixtures().join("olm-csv");
    let expected = expected_images(&input);
    let pinned = expected
        .iter()
        .find(|i| i.contains("@sha256:"))
        .expect("the OLM fixture pins by digest")
        .clone();
    let mut images = holding(&expected);
    let key = pinned.parse::<Reference>().unwrap().to_string();
    assert!(key.contains("@sha256:"), "{key}");
    let other = Digest::of(b"another index");
    images.get_mut(&key).unwrap().digest = other.clone();
    let held = Held {
        images,
        excluded: BTreeSet::new(),
    };
    let err = prove(&sources(&input), &UserRules::default(), &held)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("but the bundle holds") && err.contains(other.as_str()),
        "{err}"
    );

    // The index a platform filter made of the pinned one is what install pushes and names.
    let mut held = held;
    let own = pinned
        .rsplit_once('@')
        .unwrap()
        .1
        .parse::<Digest>()
        .unwrap();
    held.images.get_mut(&key).unwrap().source_digest = Some(own);
    let proof = prove(&sources(&input), &UserRules::default(), &held).unwrap();
    assert_eq!(proof.references, proof.held);
}
