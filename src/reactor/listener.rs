//! Binding the listening socket(s): one per reactor with `SO_REUSEPORT`, or one shared.
//!
//! Called once by [`crate::server::Server::start`] on the JS thread, so a bind failure
//! reaches `useServer()`/`listen()` as a synchronous error with a code.
//!
//! A port in use fails with `ERR_SUBWIRE_ADDR_IN_USE` unless the app opted in to sharing it
//! (`reusePort: true`, Node's `listen({ reusePort })` name), although the reactors' own
//! sockets share the port through `SO_REUSEPORT`: the first socket binds without it, so the
//! kernel refuses the bind if anyone holds the port (a subwire server of this or another
//! process, a `net.Server`), and only then, before `listen`, sets it so its siblings can
//! join. There is no window between a check and the bind: the bind is the check. What
//! remains: a server that opts in can still join one that did not (same user), as the
//! kernel sees `SO_REUSEPORT` on its sockets.

use socket2::{Domain, Protocol, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::config::{Config, ListenerMode};
use crate::error::{Code, SubwireError};

const BACKLOG: i32 = 4096;

/// Resolves the `host` option: an IP literal, `localhost`, or empty for all interfaces.
pub(crate) fn resolve(host: &str, port: u16) -> Result<SocketAddr, SubwireError> {
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

/// How a listening socket treats `SO_REUSEPORT`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reuse {
    /// Not at all: the port is this socket's alone.
    No,
    /// Set after an exclusive bind: the port must be free, and our next sockets may join.
    AfterBind,
    /// Set before binding: joins whoever holds the port with it (same user).
    Join,
}

fn bind_one(addr: SocketAddr, reuse: Reuse) -> std::io::Result<std::net::TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    if reuse == Reuse::Join {
        sock.set_reuse_port(true)?;
    }
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    if reuse == Reuse::AfterBind {
        // The kernel checks SO_REUSEPORT of the sockets already bound when the next one
        // binds, and groups listeners when they listen: both come after this.
        sock.set_reuse_port(true)?;
    }
    sock.listen(BACKLOG)?;
    Ok(sock.into())
}

/// Binds the listeners the reactors will use: `count` of them (each its own socket with
/// SO_REUSEPORT, or clones of one). Returns them and the bound address; none for
/// [`ListenerMode::None`] (attached to Node's `http.Server`).
pub(crate) fn bind(
    config: &Config,
    count: usize,
) -> Result<(Vec<std::net::TcpListener>, Option<SocketAddr>), SubwireError> {
    if config.listener == ListenerMode::None {
        return Ok((Vec::new(), None));
    }
    let addr = resolve(&config.host, config.port)?;
    let shown = addr.to_string();
    let group = config.listener == ListenerMode::ReusePort && count > 1;
    let first_reuse = match (config.reuse_port, group) {
        (true, _) => Reuse::Join,
        (false, true) => Reuse::AfterBind,
        (false, false) => Reuse::No,
    };
    let first = bind_one(addr, first_reuse).map_err(|e| SubwireError::from_bind(&e, &shown))?;
    let local = first
        .local_addr()
        .map_err(|e| SubwireError::new(Code::Io, format!("cannot read the bound address: {e}")))?;
    let mut out = Vec::with_capacity(count);
    for _ in 1..count {
        let next = if group {
            // Same port as the first (port 0 has been resolved to a real one by now).
            bind_one(local, Reuse::Join)
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
    fn a_port_held_by_another_reuseport_group_is_in_use_unless_both_opt_in() {
        let cfg = Config {
            reactors: 2,
            ..Config::default()
        };
        let (held, addr) = bind(&cfg, 2).unwrap();
        let port = addr.unwrap().port();
        let again = Config {
            port,
            ..cfg.clone()
        };
        for count in [1, 2, 3] {
            let err = bind(&again, count).unwrap_err();
            assert_eq!(err.code, Code::AddrInUse, "{count} reactors: {err}");
        }
        let shared = Config {
            listener: ListenerMode::Shared,
            ..again.clone()
        };
        assert_eq!(bind(&shared, 2).unwrap_err().code, Code::AddrInUse);
        drop(held);
        // Both opted in: the second joins the first's group.
        let open = Config {
            reuse_port: true,
            ..again
        };
        let (a, _) = bind(&open, 2).unwrap();
        let (b, _) = bind(&open, 2).unwrap();
        assert_eq!((a.len(), b.len()), (2, 2));
        // One that did not opt in still finds the port in use.
        let closed = Config {
            reuse_port: false,
            ..open
        };
        assert_eq!(bind(&closed, 2).unwrap_err().code, Code::AddrInUse);
    }

    #[test]
    fn the_reactors_sockets_still_form_one_group_that_spreads_connections() {
        // The first socket sets SO_REUSEPORT only after its bind: it must still be grouped
        // with its siblings, or one of them would get every connection.
        let (ls, addr) = bind(&Config::default(), 2).unwrap();
        let clients: Vec<_> = (0..64)
            .map(|_| std::net::TcpStream::connect(addr.unwrap()).unwrap())
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let accepted: Vec<usize> = ls
            .iter()
            .map(|l| std::iter::from_fn(|| l.accept().ok()).count())
            .collect();
        assert_eq!(accepted.iter().sum::<usize>(), clients.len());
        assert!(accepted.iter().all(|&n| n > 0), "spread {accepted:?}");
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
