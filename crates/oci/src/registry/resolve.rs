//! Host names resolved by the system's resolver (`getaddrinfo`, as Go's clients and curl use
//! it), with its answer kept as a type: a name it does not know ([`Unresolved::unknown`])
//! will not be known a second later, so it is not retried, while a temporary failure
//! (`EAI_AGAIN`) is. Behind a proxy only the proxy's name is resolved here.

use std::net::SocketAddr;

use dns_lookup::{AddrInfoHints, LookupErrorKind, SockType};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A name the resolver could not turn into addresses.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}: {}", if *.unknown { "no such host" } else { "the resolver failed" })]
pub struct Unresolved {
    pub host: String,
    /// The resolver says the name does not exist (`EAI_NONAME`).
    pub unknown: bool,
    #[source]
    source: dns_lookup::LookupError,
}

/// The system resolver, its failures typed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::task::spawn_blocking(move || lookup(&host)).await??;
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

fn lookup(host: &str) -> Result<Vec<SocketAddr>, Unresolved> {
    let hints = AddrInfoHints {
        socktype: SockType::Stream.into(),
        ..AddrInfoHints::default()
    };
    let failed = |source: dns_lookup::LookupError| Unresolved {
        host: host.to_string(),
        unknown: matches!(source.kind(), LookupErrorKind::NoName),
        source,
    };
    let addrs = dns_lookup::getaddrinfo(Some(host), None, Some(hints)).map_err(failed)?;
    Ok(addrs.filter_map(Result::ok).map(|a| a.sockaddr).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_does_not_exist_is_unknown_and_localhost_resolves() {
        assert!(!lookup("localhost").unwrap().is_empty());
        // `.invalid` never resolves (RFC 6761): the resolver answers at once, without asking
        // a server.
        let err = lookup("nothing-here.invalid").unwrap_err();
        assert!(err.unknown, "{err}");
        assert_eq!(
            err.to_string(),
            "cannot resolve nothing-here.invalid: no such host"
        );
    }
}
