//! Which proxy reaches the API server. kube reads `HTTPS_PROXY` for every cluster and checks
//! `NO_PROXY` against the proxy's own address; ferry follows client-go instead (kubectl's
//! behaviour): `NO_PROXY` is matched against the API server, and loopback is never proxied.

use std::net::IpAddr;

/// True when kube took its proxy from the environment and client-go would not use it for
/// this cluster.
pub(super) fn from_env_skips(config: &kube::Config) -> bool {
    let Some(proxy) = &config.proxy_url else {
        return false;
    };
    let env = |names: [&str; 2]| names.iter().find_map(|v| std::env::var(v).ok());
    let from_env = env(["HTTPS_PROXY", "https_proxy"])
        .is_some_and(|p| p.trim_end_matches('/') == proxy.to_string().trim_end_matches('/'));
    let Some(host) = config.cluster_url.host() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    from_env
        && (ferry_oci::registry::transport::is_loopback(host)
            || env(["NO_PROXY", "no_proxy"])
                .is_some_and(|list| no_proxy_matches(&list, host, config.cluster_url.port_u16())))
}

/// Go's `NO_PROXY` rules: `*`; an IP or CIDR; a domain matching itself and its subdomains
/// (a leading `.` or `*.` changes nothing); any of them with `:port` for that port only.
fn no_proxy_matches(list: &str, host: &str, port: Option<u16>) -> bool {
    let host = host.to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let (name, entry_port) = match entry.rsplit_once(':') {
                Some((n, p)) if !n.contains(':') || n.ends_with(']') => (n, p.parse::<u16>().ok()),
                _ => (entry, None),
            };
            if entry_port.is_some() && entry_port != port {
                return false;
            }
            let name = name.trim_start_matches('[').trim_end_matches(']');
            if let Some((net, bits)) = name.split_once('/') {
                return match (net.parse::<IpAddr>(), bits.parse::<u32>(), ip) {
                    (Ok(net), Ok(bits), Some(ip)) => in_cidr(ip, net, bits),
                    _ => false,
                };
            }
            if let (Ok(entry_ip), Some(ip)) = (name.parse::<IpAddr>(), ip) {
                return entry_ip == ip;
            }
            let domain = name
                .trim_start_matches('*')
                .trim_start_matches('.')
                .to_ascii_lowercase();
            host == domain || host.ends_with(&format!(".{domain}"))
        })
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    match bits {
        0 => true,
        b if b > width => false,
        b => ip >> (width - b) == net >> (width - b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_as_go_reads_it() {
        let list = "example.com, .corp.local, 10.0.0.0/8, 192.168.1.5, api.test:6443, [fd00::1]";
        for (host, port) in [
            ("example.com", Some(443)),
            ("a.example.com", Some(443)),
            ("x.corp.local", None),
            ("corp.local", None),
            ("10.20.30.40", Some(6443)),
            ("192.168.1.5", Some(6443)),
            ("api.test", Some(6443)),
            ("fd00::1", Some(6443)),
        ] {
            assert!(no_proxy_matches(list, host, port), "{host}");
        }
        for (host, port) in [
            ("notexample.com", Some(443)),
            ("11.0.0.1", Some(6443)),
            ("192.168.1.6", Some(6443)),
            ("api.test", Some(443)),
            ("fd00::2", Some(6443)),
        ] {
            assert!(!no_proxy_matches(list, host, port), "{host}");
        }
        assert!(no_proxy_matches("*", "anything", None));
        assert!(!no_proxy_matches("", "anything", None));
        assert!(no_proxy_matches("2001:db8::/32", "2001:db8::5", None));
        assert!(!no_proxy_matches("10.0.0.0/33", "10.0.0.1", None));
    }
}
