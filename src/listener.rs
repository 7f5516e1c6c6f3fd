//! Binding the listening socket(s): one per reactor with `SO_REUSEPORT`, or one shared.
//!
//! Called once by [`crate::server::Server::start`] on the JS thread, so a bind failure
//! reaches `useServer()`/`listen()` as a synchronous error with a code.

use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::config::{Config, ListenerMode};
use crate::error::{Code, SubwireError};

const BACKLOG: i32 = 4096;

/// Resolves the `host` option: an IP literal, `localhost`, or empty for all interfaces.
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, SubwireError> {
    let ip = match host {
        "" | "0.0.0.0" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        "::" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        h => h.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| {
            SubwireError::new(
                Code::InvalidOption,
                format!("host {host:?} is not an IP address: use an address such as 127.0.0.1, 0.0.0.0 or ::, or 'localhost'"),
            )
        })?,
    };
    Ok(SocketAddr::new(ip, port))
}

fn bind_one(addr: SocketAddr, reuse_port: bool) -> std::io::Result<std::net::TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    if reuse_port {
        sock.set_reuse_port(true)?;
    }
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    sock.listen(BACKLOG)?;
    Ok(sock.into())
}

/// Binds the listeners the reactors will use: `count` of them (each its own socket with
/// SO_REUSEPORT, or clones of one). Returns them and the bound address; none for
/// [`ListenerMode::None`] (attached to Node's `http.Server`).
pub fn bind(
    config: &Config,
    count: usize,
) -> Result<(Vec<std::net::TcpListener>, Option<SocketAddr>), SubwireError> {
    if config.listener == ListenerMode::None {
        return Ok((Vec::new(), None));
    }
    let addr = resolve(&config.host, config.port)?;
    let shown = addr.to_string();
    let reuse = config.listener == ListenerMode::ReusePort && count > 1;
    let first = bind_one(addr, reuse).map_err(|e| SubwireError::from_bind(&e, &shown))?;
    let local = first
        .local_addr()
        .map_err(|e| SubwireError::new(Code::Io, format!("cannot read the bound address: {e}")))?;
    let mut out = Vec::with_capacity(count);
    for _ in 1..count {
        let next = if reuse {
            // Same port as the first (port 0 has been resolved to a real one by now).
            bind_one(local, true)
        } else {
            first.try_clone()
        };
        out.push(next.map_err(|e| SubwireError::from_bind(&e, &local.to_string()))?);
    }
    out.insert(0, first);
    Ok((out, Some(local)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_resolve_or_explain() {
        assert_eq!(
            resolve("localhost", 80).unwrap().to_string(),
            "127.0.0.1:80"
        );
        assert_eq!(resolve("::1", 1).unwrap().to_string(), "[::1]:1");
        assert_eq!(resolve("[::1]", 1).unwrap().to_string(), "[::1]:1");
        let e = resolve("example.com", 1).unwrap_err();
        assert_eq!(e.code, Code::InvalidOption);
    }

    #[test]
    fn port_in_use_is_a_coded_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let cfg = Config {
            port: taken.local_addr().unwrap().port(),
            ..Config::default()
        };
        let err = bind(&cfg, 1).unwrap_err();
        assert_eq!(err.code, Code::AddrInUse, "{err}");
    }

    #[test]
    fn reuseport_listeners_share_the_picked_port() {
        let cfg = Config::default();
        let (ls, addr) = bind(&cfg, 3).unwrap();
        assert_eq!(ls.len(), 3);
        for l in &ls {
            assert_eq!(Some(l.local_addr().unwrap()), addr);
        }
        let attach = Config {
            listener: ListenerMode::None,
            ..Config::default()
        };
        let (ls, addr) = bind(&attach, 2).unwrap();
        assert!(ls.is_empty() && addr.is_none());
    }
}
