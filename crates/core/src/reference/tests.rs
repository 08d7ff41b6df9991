use super::*;

const HEX64: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

fn norm(s: &str) -> String {
    Reference::parse(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .to_string()
}

#[test]
fn docker_normalization() {
    assert_eq!(norm("redis"), "docker.io/library/redis:latest");
    assert_eq!(norm("redis:7"), "docker.io/library/redis:7");
    assert_eq!(
        norm("grafana/grafana:13.1.3"),
        "docker.io/grafana/grafana:13.1.3"
    );
    assert_eq!(
        norm("index.docker.io/library/redis:7"),
        "docker.io/library/redis:7"
    );
    assert_eq!(
        norm("index.docker.io/redis"),
        "docker.io/library/redis:latest"
    );
    assert_eq!(norm("docker.io/redis"), "docker.io/library/redis:latest");
    assert_eq!(
        norm("public.ecr.aws/docker/library/redis:8.2.3-alpine"),
        "public.ecr.aws/docker/library/redis:8.2.3-alpine"
    );
    assert_eq!(norm("localhost/app"), "localhost/app:latest");
    assert_eq!(norm("localhost:5000/app:1"), "localhost:5000/app:1");
}

#[test]
fn tag_and_digest_are_both_kept() {
    let d = format!("sha256:{HEX64}");
    let r = Reference::parse(&format!("quay.io/a/b:v1@{d}")).unwrap();
    assert_eq!(r.tag(), Some("v1"));
    assert_eq!(r.digest(), Some(d.as_str()));
    assert_eq!(r.to_string(), format!("quay.io/a/b:v1@{d}"));
    assert_eq!(
        norm(&format!("quay.io/a/b@{d}")),
        format!("quay.io/a/b@{d}")
    );
}

#[test]
fn comparison_is_on_normalized_form() {
    assert_eq!(
        Reference::parse("redis").unwrap(),
        Reference::parse("docker.io/library/redis").unwrap()
    );
    assert_eq!(
        Reference::parse("index.docker.io/library/redis").unwrap(),
        Reference::parse("redis").unwrap()
    );
    assert_ne!(
        Reference::parse("redis").unwrap(),
        Reference::parse("redis:latest")
            .unwrap()
            .with_digest(&format!("sha256:{HEX64}"))
            .unwrap()
    );
}

#[test]
fn api_host_of_docker_hub() {
    assert_eq!(
        Reference::parse("redis").unwrap().api_host(),
        "registry-1.docker.io"
    );
    assert_eq!(
        Reference::parse("quay.io/a/b").unwrap().api_host(),
        "quay.io"
    );
}

// Cases from distribution/reference's reference_test.go and normalize_test.go.
#[test]
fn grammar_valid_cases() {
    let cases = [
        ("test_com", "docker.io/library/test_com:latest"),
        ("test.com:tag", "docker.io/library/test.com:tag"),
        ("test.com:5000", "docker.io/library/test.com:5000"),
        ("test.com/repo:tag", "test.com/repo:tag"),
        ("test:5000/repo", "test:5000/repo:latest"),
        ("test:5000/repo:tag", "test:5000/repo:tag"),
        (
            "lowercase:Uppercase",
            "docker.io/library/lowercase:Uppercase",
        ),
        (
            "sub-dom1.foo.com/bar/baz/quux",
            "sub-dom1.foo.com/bar/baz/quux:latest",
        ),
        (
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
        ),
        (
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "b.gcr.io/test.example.com/my-app:test.example.com",
        ),
        (
            "xn--n3h.com/myimage:xn--n3h.com",
            "xn--n3h.com/myimage:xn--n3h.com",
        ),
        ("foo_bar.com:8080", "docker.io/library/foo_bar.com:8080"),
        ("foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080"),
        ("a__b/c--d/e.f", "docker.io/a__b/c--d/e.f:latest"),
        ("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000/repo:latest"),
        ("[2001:db8::1]/repo:tag", "[2001:db8::1]/repo:tag"),
        ("[::1]:5000/a/b", "[::1]:5000/a/b:latest"),
        ("Foo.com/bar", "Foo.com/bar:latest"),
    ];
    for (input, want) in cases {
        assert_eq!(norm(input), want, "{input}");
    }
    let with_digest = format!("test:5000/repo:tag@sha256:{HEX64}");
    assert_eq!(norm(&with_digest), with_digest);
    let tag128 = format!("repo:{}", "a".repeat(128));
    assert!(Reference::parse(&tag128).is_ok());
}

#[test]
fn grammar_invalid_cases() {
    let name_too_long = format!("{}/{}", "a".repeat(200), "b".repeat(60));
    let tag_too_long = format!("repo:{}", "a".repeat(129));
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "empty"),
        (":justtag".into(), "format"),
        (format!("@sha256:{HEX64}"), "format"),
        ("repo@sha256:ffffff".into(), "digest"),
        (format!("repo@sha256:{}", HEX64.to_uppercase()), "digest"),
        ("repo@md5:d41d8cd98f00b204e9800998ecf8427e".into(), "digest"),
        ("validname@invaliddigest:ecc".into(), "digest"),
        ("Uppercase:tag".into(), "uppercase"),
        ("test:5000/Uppercase/lowercase:tag".into(), "uppercase"),
        ("aa/asdf$$^/aa".into(), "format"),
        ("aa/-aa".into(), "format"),
        ("aa/aa-".into(), "format"),
        ("aa/a...a".into(), "format"),
        ("aa/a___a".into(), "format"),
        ("a//b".into(), "format"),
        ("repo:-tag".into(), "tag"),
        ("repo:ta g".into(), "tag"),
        (tag_too_long, "tag"),
        (name_too_long, "too long"),
        (HEX64.into(), "hex"),
        ("-host.com/repo".into(), "host"),
        ("host.com:port/repo".into(), "host"),
        ("[fe80::1%eth0]:5000/repo".into(), "host"),
        ("[2001:db8::1]".into(), "format"),
        ("https://quay.io/a/b".into(), "scheme"),
        ("quay.io/a/b:".into(), "tag"),
        ("repo with space".into(), "space"),
    ];
    for (input, why) in cases {
        assert!(
            Reference::parse(&input).is_err(),
            "{input:?} accepted ({why})"
        );
    }
}

#[test]
fn uppercase_repository_has_its_own_error() {
    assert!(matches!(
        Reference::parse("Uppercase:tag"),
        Err(ReferenceError::Uppercase(_))
    ));
}

#[test]
fn from_parts_validates_each_part() {
    let r = Reference::from_parts("quay.io", "thanos/thanos", Some("v0.42.4"), None).unwrap();
    assert_eq!(r.to_string(), "quay.io/thanos/thanos:v0.42.4");
    assert!(Reference::from_parts("quay.io", "thanos/thanos", Some("bad tag"), None).is_err());
}
