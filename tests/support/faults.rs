//! A loopback HTTP proxy that injects faults into a registry's answers: resets mid-body,
//! 503, 429 with Retry-After, truncated bodies, wrong bytes. One request per connection.
//! Requests in absolute form (`GET http://host/path`, as sent to an `HTTP_PROXY`) go to the
//! host they name and `CONNECT host:port` opens a tunnel, so it also serves as a forward proxy.
//! Names under `.test` resolve to 127.0.0.1 here only, as a proxy's own DNS would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Send half the body, then reset the connection.
    ResetMidBody,
    Status503,
    /// 429 with `Retry-After: 1`.
    TooMany,
    /// Full Content-Length header, half the body, then close.
    Truncated,
    /// Same length, one byte flipped.
    WrongBytes,
    /// Reads the request and never answers (holds the connection for a minute).
    Silent,
    /// The head at once, then the body one byte every 300 ms.
    Drip,
    /// The head at once, then the body 16 KiB every 100 ms (160 KiB/s): slow but moving.
    Slow,
    /// The request goes on without its `Range` header: the whole blob comes back (200), as
    /// from a registry or proxy that serves no ranges.
    NoRanges,
}

/// Applies `fault` to requests whose `METHOD path` contains `matcher`, `times` times
/// (`usize::MAX` for always).
#[derive(Debug, Clone)]
pub struct Rule {
    pub matcher: String,
    pub fault: Fault,
    pub times: usize,
}

pub struct FaultProxy {
    pub host: String,
    pub hits: Arc<Mutex<Vec<(String, Fault)>>>,
    /// Every request, as `METHOD target` with the target as the client wrote it.
    pub seen: Arc<Mutex<Vec<String>>>,
    /// Every request that asked for a range, as `METHOD target RANGE`.
    pub ranges: Arc<Mutex<Vec<String>>>,
}

/// What the proxy keeps of the requests it saw.
struct Log {
    hits: Arc<Mutex<Vec<(String, Fault)>>>,
    seen: Arc<Mutex<Vec<String>>>,
    ranges: Arc<Mutex<Vec<String>>>,
}

fn read_head(r: &mut BufReader<TcpStream>) -> Option<(String, Vec<String>)> {
    let mut first = String::new();
    r.read_line(&mut first).ok()?;
    if first.is_empty() {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).ok()?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        headers.push(line.trim_end().to_string());
    }
    Some((first.trim_end().to_string(), headers))
}

fn content_length(headers: &[String]) -> Option<usize> {
    headers.iter().find_map(|h| {
        let (k, v) = h.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())?
    })
}

fn handle(client: TcpStream, upstream: &str, rules: &Mutex<Vec<Rule>>, log: &Log) -> Option<()> {
    let (hits, seen) = (&log.hits, &log.seen);
    let mut reader = BufReader::new(client.try_clone().ok()?);
    let (request_line, headers) = read_head(&mut reader)?;
    let mut body = vec![0; content_length(&headers).unwrap_or(0)];
    reader.read_exact(&mut body).ok()?;
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next()?, parts.next()?);
    let key = format!("{method} {path}");
    seen.lock().unwrap().push(key.clone());
    if let Some(range) = headers.iter().find_map(|h| {
        let (k, v) = h.split_once(':')?;
        k.eq_ignore_ascii_case("range")
            .then(|| v.trim().to_string())
    }) {
        log.ranges.lock().unwrap().push(format!("{key} {range}"));
    }
    if method == "CONNECT" {
        return tunnel(client, &resolve(path));
    }
    let (upstream, request_line) = match path.strip_prefix("http://") {
        Some(rest) => {
            let (authority, origin) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let version = request_line.rsplit(' ').next()?;
            (resolve(authority), format!("{method} {origin} {version}"))
        }
        None => (upstream.to_string(), request_line.clone()),
    };

    let fault = {
        let mut rules = rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|r| r.times > 0 && key.contains(&r.matcher))
            .map(|r| {
                r.times = r.times.saturating_sub(1);
                r.fault
            })
    };
    if let Some(f) = fault {
        hits.lock().unwrap().push((key.clone(), f));
    }
    let mut out = client;
    match fault {
        Some(Fault::Status503) => {
            let _ = out.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return Some(());
        }
        Some(Fault::Silent) => {
            std::thread::sleep(std::time::Duration::from_secs(60));
            return Some(());
        }
        Some(Fault::TooMany) => {
            let _ = out.write_all(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return Some(());
        }
        _ => {}
    }

    let mut up = TcpStream::connect(&upstream).ok()?;
    let mut req = format!("{request_line}\r\n");
    let dropped = |h: &str| {
        let h = h.to_ascii_lowercase();
        h.starts_with("connection:") || (fault == Some(Fault::NoRanges) && h.starts_with("range:"))
    };
    for h in headers.iter().filter(|h| !dropped(h)) {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("Connection: close\r\n\r\n");
    up.write_all(req.as_bytes()).ok()?;
    up.write_all(&body).ok()?;
    let mut up_reader = BufReader::new(up);
    let (status_line, resp_headers) = read_head(&mut up_reader)?;
    let mut resp_body = Vec::new();
    up_reader.read_to_end(&mut resp_body).ok()?;
    let mut head = format!("{status_line}\r\n");
    for h in resp_headers
        .iter()
        .filter(|h| !h.to_ascii_lowercase().starts_with("connection:"))
    {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    out.write_all(head.as_bytes()).ok()?;
    match fault {
        Some(Fault::ResetMidBody) => {
            let _ = out.write_all(&resp_body[..resp_body.len() / 2]);
            let _ = socket2_reset(&out);
            drop(out);
            return Some(());
        }
        Some(Fault::Truncated) => {
            let _ = out.write_all(&resp_body[..resp_body.len() / 2]);
            let _ = out.shutdown(Shutdown::Both);
        }
        Some(Fault::Slow) => {
            for chunk in resp_body.chunks(16 << 10) {
                if out.write_all(chunk).is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        Some(Fault::Drip) => {
            for b in &resp_body {
                if out.write_all(std::slice::from_ref(b)).is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        }
        Some(Fault::WrongBytes) => {
            let middle = resp_body.len() / 2;
            if let Some(b) = resp_body.get_mut(middle) {
                *b ^= 0xff;
            }
            let _ = out.write_all(&resp_body);
        }
        _ => {
            let _ = out.write_all(&resp_body);
        }
    }
    Some(())
}

/// `name.test:port` -> `127.0.0.1:port`; anything else unchanged.
fn resolve(authority: &str) -> String {
    match authority.rsplit_once(':') {
        Some((host, port)) if host.ends_with(".test") => format!("127.0.0.1:{port}"),
        _ => authority.to_string(),
    }
}

/// Answers a CONNECT and copies bytes both ways until either side closes.
fn tunnel(mut client: TcpStream, upstream: &str) -> Option<()> {
    let Ok(up) = TcpStream::connect(upstream) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return None;
    };
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .ok()?;
    let (mut c_read, mut u_write) = (client.try_clone().ok()?, up.try_clone().ok()?);
    let forward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut u_write);
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (up, client);
    let _ = std::io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = forward.join();
    Some(())
}

/// Closes with RST rather than FIN: linger 0 then drop.
fn socket2_reset(s: &TcpStream) -> std::io::Result<()> {
    socket2::SockRef::from(s).set_linger(Some(std::time::Duration::ZERO))
}

impl FaultProxy {
    pub fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let rules = Arc::new(Mutex::new(rules));
        let log = Arc::new(Log {
            hits: Arc::default(),
            seen: Arc::default(),
            ranges: Arc::default(),
        });
        let (hits, seen, ranges) = (log.hits.clone(), log.seen.clone(), log.ranges.clone());
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let (upstream, rules, log) = (upstream.clone(), rules.clone(), log.clone());
                std::thread::spawn(move || handle(conn, &upstream, &rules, &log));
            }
        });
        FaultProxy {
            host,
            hits,
            seen,
            ranges,
        }
    }
}
