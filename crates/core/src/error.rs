//! Errors at the ground: the [`Category`] every error of ferry's says it belongs to (the
//! edge maps categories to exit codes), an error chain as one line of text, and decisions
//! from an error's causes by their types: the `source()` chain, and inside each
//! `std::io::Error` the error it carries (which its `source()` skips: a TLS client wraps
//! rustls' refusal in one or two of them). Retries, hints and exit codes match here, never
//! on message text.

use std::error::Error;

/// What kind of failure an error is; each maps to one exit code at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Unexpected: ferry's own fault.
    Internal,
    /// A command line or an option the run cannot honour.
    Usage,
    /// Input that is not acceptable: YAML, a reference, rules, a bundle's structure, paths.
    InvalidInput,
    /// A registry or a transfer failed (after retries).
    Registry,
    /// The cluster failed or refused.
    Cluster,
    /// Bytes that do not match their digest or size; a bundle changed after it was made.
    Integrity,
    /// Not enough local disk space: found before writing, or the disk filled up.
    Space,
}

/// What a failed file operation is: a full disk or quota is [`Category::Space`], anything
/// else `otherwise` (a path the user gave, or ferry's own scratch files).
pub fn io_category(e: &std::io::Error, otherwise: Category) -> Category {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => Category::Space,
        _ => otherwise,
    }
}

/// An error and its causes on one line, `outer: inner: innermost`, as `{:#}` prints an
/// `anyhow` chain; a cause whose text its parent already shows is not repeated.
pub fn chain(err: &(dyn Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}

/// `e` and every cause under it: the `source()` chain and what each `std::io::Error` carries.
pub fn causes<'a>(e: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    let mut pending: Vec<&'a (dyn Error + 'static)> = vec![e];
    std::iter::from_fn(move || {
        let err = pending.pop()?;
        if let Some(source) = err.source() {
            pending.push(source);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            pending.push(inner);
        }
        Some(err)
    })
}

/// The first cause of type `T` in `e`'s chain, `e` included.
pub fn find<'a, T: Error + 'static>(e: &'a (dyn Error + 'static)) -> Option<&'a T> {
    causes(e).find_map(|c| c.downcast_ref::<T>())
}

/// Whether any cause of type `T` in `e`'s chain is one `pred` accepts.
pub fn any<T: Error + 'static>(e: &(dyn Error + 'static), pred: impl Fn(&T) -> bool) -> bool {
    causes(e).any(|c| c.downcast_ref::<T>().is_some_and(&pred))
}

/// The connection ended under the client after the TLS handshake: reset, broken, closed
/// before an answer, or ended by the server's alert (which the TLS stream hands over as
/// invalid data, the alert's type lost): what a TLS 1.3 server that wants a client
/// certificate does. A handshake the client refused is not this (its rustls error says why).
pub fn is_cut_after_handshake(e: &(dyn Error + 'static)) -> bool {
    use std::io::ErrorKind as K;
    let refused_in_handshake = find::<rustls::Error>(e).is_some();
    any::<hyper::Error>(e, |h| {
        h.is_canceled() || h.is_closed() || h.is_incomplete_message()
    }) || any::<std::io::Error>(e, |io| match io.kind() {
        K::ConnectionReset | K::BrokenPipe | K::ConnectionAborted | K::UnexpectedEof => true,
        K::InvalidData => !refused_in_handshake,
        _ => false,
    })
}

/// What a TLS failure means, in words, with what to do when something can be done.
pub fn tls_words(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => {
            let what = match c {
                C::UnknownIssuer => "is signed by an unknown authority",
                C::Expired | C::ExpiredContext { .. } => "has expired",
                C::NotValidYet | C::NotValidYetContext { .. } => "is not valid yet",
                C::NotValidForName | C::NotValidForNameContext { .. } => "does not name this host",
                C::Revoked => "is revoked",
                C::BadSignature => "has a bad signature",
                C::BadEncoding => "cannot be read",
                C::Other(other) => return certificate_words(other.0.as_ref()),
                _ => "was refused",
            };
            format!("the server's certificate {what}")
        }
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
            "the server answered in plain HTTP, not TLS".into()
        }
        rustls::Error::NoCertificatesPresented => "the server presented no certificate".into(),
        other => format!("TLS: {other}"),
    }
}

/// A certificate refusal rustls has no variant of: most come from the path check
/// (rustls-webpki), whose own text is its variant's name (`CaUsedAsEndEntity`).
fn certificate_words(e: &(dyn Error + 'static)) -> String {
    use webpki::Error as W;
    let Some(w) = e.downcast_ref::<W>() else {
        return format!("the server's certificate was refused: {e}");
    };
    let what = match w {
        W::CaUsedAsEndEntity => {
            "is a CA's certificate (self-signed and not trusted here, or a CA's served as \
             the server's own instead of one the CA signed for it)"
        }
        W::EndEntityUsedAsCa => "chain uses a server's certificate as a CA",
        W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => {
            "is not made for a TLS server (its extended key usage lacks serverAuth)"
        }
        W::CertDistrusted => "is distrusted",
        W::UnknownRevocationStatus => "has no known revocation status",
        W::PathLenConstraintViolated | W::NameConstraintViolation => {
            "chain breaks a constraint of its CA (path length or names)"
        }
        W::MaximumPathDepthExceeded | W::MaximumPathBuildCallsExceeded => {
            "chain is too long to check"
        }
        W::InvalidSignatureForPublicKey | W::SignatureAlgorithmMismatch => {
            "has a signature its issuer's key does not match"
        }
        W::BadDer | W::BadDerTime | W::TrailingData(_) | W::MalformedExtensions => {
            "cannot be read (malformed)"
        }
        W::InvalidCertValidity => "has an invalid validity period",
        W::UnsupportedCertVersion => "is of a version that cannot be checked (not X.509 v3)",
        W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "is signed with an algorithm that is not accepted"
        }
        _ => "was refused by the certificate path check",
    };
    format!("the server's certificate {what}")
}

/// Whether trusting a CA may mend the refusal: an issuer not trusted here, or a CA's
/// certificate served as the server's own (a self-signed one is accepted once trusted).
pub fn trusting_may_mend(e: &rustls::Error) -> bool {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => true,
        rustls::Error::InvalidCertificate(C::Other(other)) => matches!(
            other.0.downcast_ref::<webpki::Error>(),
            Some(webpki::Error::CaUsedAsEndEntity)
        ),
        _ => false,
    }
}

/// Whether the server answered a TLS handshake in plain text.
pub fn is_plain_http(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_inside_nested_io_errors_is_found() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let outer = std::io::Error::other(inner);
        // std's io::Error::source() skips the error it carries: only get_ref reaches it.
        assert!(
            outer
                .source()
                .is_none_or(|s| s.downcast_ref::<rustls::Error>().is_none())
        );
        let found = find::<rustls::Error>(&outer).expect("found through both io errors");
        assert_eq!(
            tls_words(found),
            "the server's certificate is signed by an unknown authority"
        );
        assert!(find::<std::fmt::Error>(&outer).is_none());
    }

    /// rustls passes most path-check refusals on as `Other`, whose text is webpki's variant
    /// name: said in words instead.
    #[test]
    fn a_path_check_refusal_is_said_in_words() {
        let other = rustls::OtherError(std::sync::Arc::new(webpki::Error::CaUsedAsEndEntity));
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other));
        let words = tls_words(&tls);
        assert!(
            words.starts_with("the server's certificate is a CA's certificate"),
            "{words}"
        );
        assert!(
            !words.contains("CaUsedAsEndEntity") && !words.contains("Other("),
            "{words}"
        );
    }

    /// A plain-HTTP answer to a TLS handshake is told apart by its type and said in words
    /// (the registry client adds the `--insecure-registry HOST` hint to it), never retried.
    #[test]
    fn a_plain_http_answer_is_told_apart() {
        let plain = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        assert!(is_plain_http(&plain));
        assert_eq!(
            tls_words(&plain),
            "the server answered in plain HTTP, not TLS"
        );
        let refused = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
        assert!(!is_plain_http(&refused));
        assert_eq!(tls_words(&refused), "the server's certificate has expired");
        let wrapped =
            std::io::Error::other(std::io::Error::new(std::io::ErrorKind::InvalidData, plain));
        assert!(
            !is_cut_after_handshake(&wrapped),
            "a refused handshake is not a cut"
        );
    }
}
