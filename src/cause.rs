//! Decisions from an error's causes, by their types: the `source()` chain, and inside each
//! `std::io::Error` the error it carries (which its `source()` skips: a TLS client wraps
//! rustls' refusal in one or two of them). Retries, hints and exit codes match here, never
//! on message text.

use std::error::Error;

/// The first cause of type `T` in `e`'s chain, `e` included.
pub fn find<'a, T: Error + 'static>(e: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut pending: Vec<&'a (dyn Error + 'static)> = vec![e];
    while let Some(err) = pending.pop() {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(source) = err.source() {
            pending.push(source);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            pending.push(inner);
        }
    }
    None
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
                C::Other(other) => {
                    return format!("the server's certificate was refused ({other})");
                }
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
}
