//! The raw-socket floor: what fan-out costs the kernel with epoll, and nothing else.
//!
//! A minimal GraphQL-over-WebSocket server for the benchmark's load generator: one mio
//! loop per core, each on its own `SO_REUSEPORT` listener (what a minimal epoll server on a
//! multi-core box does, and how subwire's reactors are laid out; no thread per connection),
//! answering the upgrade (`graphql-transport-ws` or legacy `graphql-ws`), `connection_init`
//! and pings, recording subscription ids, and on `publish` writing the same pre-built
//! `next`/`data` frames to every subscription with one `writev` per connection. No GraphQL,
//! no JS, no queues beyond what a full socket forces. subwire's fan-out figures are
//! reported as a ratio to this.
//!
//! It speaks the runner's server line protocol (benchmark/lib/server-harness.js) itself on
//! stdin and stdout, so the pid the runner measures is the floor's own: prints
//! `{"event":"listening","port":…}`; answers `stats`, `gc`,
//! `publish <topic> <seq> [bodyBytes]` and
//! `rate <count> <perSec> <prefix> <topics> <firstSeq> <bodyBytes> <seed>` (paced publishes
//! over many topics, publish.rs) with one JSON line each; exits when stdin closes. A
//! subscription's topic is its `t` variable; a publish reaches that topic's subscriptions.

mod publish;
mod topics;
mod worker;
mod ws;

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use publish::{publish, Rate};

use socket2::{Domain, Protocol, Socket, Type};

/// Counters every worker adds to.
#[derive(Default)]
pub struct Counters {
    pub open: AtomicU64,
    pub subscriptions: AtomicU64,
    pub messages_out: AtomicU64,
}

fn listener(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(4096)?;
    Ok(s.into())
}

fn main() {
    // `--threads N`: event loops (default: one per core).
    let args: Vec<String> = std::env::args().skip(1).collect();
    let threads = match args.as_slice() {
        [] => std::thread::available_parallelism().map_or(1, |n| n.get()),
        [flag, n] if flag == "--threads" && n.parse::<usize>().is_ok_and(|n| n > 0) => {
            n.parse().unwrap()
        }
        _ => {
            eprintln!("usage: floor [--threads N]");
            std::process::exit(2);
        }
    };
    let first = listener("127.0.0.1:0".parse().unwrap()).expect("bind");
    let addr = first.local_addr().expect("local addr");
    let counters = Arc::new(Counters::default());
    let mut workers = Vec::new();
    for i in 0..threads {
        let l = if i == 0 {
            first.try_clone().expect("clone")
        } else {
            listener(addr).expect("bind")
        };
        workers.push(worker::spawn(l, counters.clone()).expect("worker"));
    }
    drop(first);
    let say = |v: serde_json::Value| println!("{v}");
    say(
        serde_json::json!({"event": "listening", "server": "floor", "port": addr.port(), "pid": std::process::id()}),
    );
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["gc"] => say(serde_json::json!({"event": "gc", "heapUsed": 0})),
            ["stats"] => say(serde_json::json!({
                "event": "stats",
                "at": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0),
                "open": counters.open.load(Relaxed),
                "connections": counters.open.load(Relaxed),
                "subscriptions": counters.subscriptions.load(Relaxed),
                "messagesOut": counters.messages_out.load(Relaxed),
            })),
            ["publish", topic, seq, rest @ ..] => {
                let Ok(seq) = seq.parse::<u64>() else {
                    say(
                        serde_json::json!({"event": "error", "message": format!("bad seq in {line:?}")}),
                    );
                    continue;
                };
                let body = rest.first().and_then(|b| b.parse().ok()).unwrap_or(0usize);
                publish(&workers, &Arc::from(*topic), seq, body, None);
                say(serde_json::json!({"event": "published", "seq": seq}));
            }
            ["rate", args @ ..] => match Rate::parse(args) {
                Ok(rate) => say(rate.run(&workers)),
                Err(e) => say(serde_json::json!({"event": "error", "message": e})),
            },
            [] => {}
            _ => say(
                serde_json::json!({"event": "error", "message": format!("unknown command {line:?}")}),
            ),
        }
    }
}
