//! Generated inputs against the three parsers that read what others wrote: image
//! references, YAML with byte spans, and bundle tars. None may panic; what they accept must
//! hold together (a reference prints as itself, a span lies inside its source on character
//! boundaries, an archive's entries lie inside the file).

use std::io::Write;

use ferry::reference::Reference;
use ferry::yaml::{Node, parse_documents};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

/// Strings shaped like references, with the characters that make parsing hard.
fn reference_like() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9./:@_-]{0,12}(/[a-z0-9._-]{0,10}){0,3}(:[A-Za-z0-9._-]{0,8})?(@sha256:[0-9a-f]{0,64})?"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_reference_prints_as_itself(text in prop_oneof![reference_like(), any::<String>()]) {
        if let Ok(r) = Reference::parse(&text) {
            let printed = r.to_string();
            let again = Reference::parse(&printed);
            prop_assert!(again.is_ok(), "{text:?} printed as {printed:?}, which does not parse");
            prop_assert_eq!(again.unwrap(), r);
        }
    }

    #[test]
    fn yaml_spans_stay_inside_their_source(text in yaml_like()) {
        if let Ok(docs) = parse_documents(&text) {
            for doc in &docs {
                prop_assert!(doc.span.end <= text.len());
                check_spans(&doc.root, &text)?;
            }
        }
        // The scanner on the same text: every part it reports is a slice of the source.
        if let Ok(found) = ferry::scan::scan_str("p.yaml", &text, &Default::default()) {
            for hit in &found.hits {
                for part in &hit.parts {
                    prop_assert!(part.end <= text.len() && part.start <= part.end);
                    prop_assert!(text.is_char_boundary(part.start) && text.is_char_boundary(part.end));
                }
            }
        }
    }

    #[test]
    fn any_bytes_as_a_bundle_are_read_or_refused(bytes in tar_like()) {
        let dir = ferry::scratch::ScratchDir::for_test("prop-tar");
        let file = dir.join("b.tar");
        std::fs::File::create(&file).unwrap().write_all(&bytes).unwrap();
        let len = bytes.len() as u64;
        let opened = [
            ferry::bundle::archive::Archive::open(&file),
            ferry::bundle::archive::Archive::catalog(&file),
        ];
        for archive in opened.iter().flatten() {
            for (name, e) in &archive.entries {
                prop_assert!(e.offset + e.size <= len, "{name} past the end");
                prop_assert!(!name.starts_with('/') && !name.split('/').any(|c| c == ".."));
            }
        }
    }
}

fn check_spans(node: &Node<'_>, text: &str) -> Result<(), TestCaseError> {
    match node {
        Node::Scalar(s) => {
            let span = s.span();
            prop_assert!(span.start <= span.end && span.end <= text.len());
            prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        }
        Node::Map(entries, _) => {
            for (k, v) in entries {
                if let Some(k) = k {
                    check_spans(&Node::Scalar(k.clone()), text)?;
                }
                check_spans(v, text)?;
            }
        }
        Node::Seq(items, _) => {
            for i in items {
                check_spans(i, text)?;
            }
        }
        Node::Alias(_) | Node::Taken(_) => {}
    }
    Ok(())
}

/// YAML-ish text: keys, indentation, flow brackets, quotes, anchors, multi-byte characters.
fn yaml_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("- ".to_string()),
        Just("image: ".to_string()),
        Just("key: ".to_string()),
        Just("---\n".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(", ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("|\n".to_string()),
        Just("# c\n".to_string()),
        Just("é".to_string()),
        Just("quay.io/x/y:1".to_string()),
        "[a-z0-9:/.@-]{1,8}",
    ];
    proptest::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

/// Bytes shaped like a tar: a valid small archive with some bytes changed, or noise.
fn tar_like() -> impl Strategy<Value = Vec<u8>> {
    let valid = {
        let mut out = tar::Builder::new(Vec::new());
        for (name, data) in [
            ("oci-layout", &b"{\"imageLayoutVersion\":\"1.0.0\"}"[..]),
            ("index.json", &b"{\"schemaVersion\":2,\"manifests\":[]}"[..]),
            ("blobs/sha256/00", &b"x"[..]),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            out.append_data(&mut h, name, data).unwrap();
        }
        out.into_inner().unwrap()
    };
    let len = valid.len();
    prop_oneof![
        proptest::collection::vec((0..len, any::<u8>()), 1..8).prop_map(move |flips| {
            let mut b = valid.clone();
            for (at, byte) in flips {
                b[at] = byte;
            }
            b
        }),
        proptest::collection::vec(any::<u8>(), 0..4096),
    ]
}
