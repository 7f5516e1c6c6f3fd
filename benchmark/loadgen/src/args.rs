//! Command-line options of `loadgen` (hand-parsed: `--name value` or `--name=value`), with
//! the hard bounds every run obeys: at most `MAX_CONNECTIONS` clients and a `--timeout-secs`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// One process holds at most this many clients (the open-file limit is 20,000).
pub const MAX_CONNECTIONS: usize = 19_000;

pub const USAGE: &str = "\
usage: loadgen --url ws://127.0.0.1:PORT/PATH [options]
  --mode idle|storm|fanout        idle: open, report ready, hold; storm: open as fast as allowed,
                                  measure, close; fanout: hold subscribed, record deliveries
  --protocol none|graphql-transport-ws|graphql-ws   (default none)
  --connections N                 clients in this process (1..=19000, default 1000)
  --concurrency N                 handshakes in flight at once (default 256)
  --subs-per-conn N               subscriptions per connection, GraphQL modes (default 1)
  --topic NAME                    the `topic` variable of each subscription (default t)
  --query DOC                     the subscription document (default: tick's); its variable is $t
                                  and its one root field must be aliased `tick`, selecting seq sentAt
  --topics K                      spread over K topics: client i subscribes to NAME<(O+i) % K>
                                  (default 0: every client on NAME)
  --conn-offset O                 this process's first client number, for --topics and --users
                                  (default 0)
  --users U                       GraphQL modes: client i's connection_init carries the payload
                                  {\"user\":\"u<(O+i) % U>\"} (default 0: no payload)
  --echo-check                    protocol none: send one text message after the upgrade and
                                  count the client ready only when it comes back
  --src A-B                       source addresses, e.g. 127.0.0.2-127.0.0.40 (default)
  --hold-secs S                   idle/fanout: close after S seconds held (default 0: until `stop`)
  --timeout-secs S                hard bound on the whole run (default 120)
  --handshake-timeout-ms MS       per-connection connect+upgrade(+ack) bound (default 10000)
  --close-wait-ms MS              how long to wait for close replies at the end (default 3000)
  --start-at EPOCH_MS             sleep until this wall-clock time before connecting
  --first-seq N                   first seq each subscription must see (default 1; 0 = any)
  --seed N                        PRNG seed for keys and masks
stdin commands: stop | report | expect N  (EOF = stop). stdout: one JSON object per line.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Idle,
    Storm,
    Fanout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    None,
    /// graphql-ws (the library), subprotocol `graphql-transport-ws`.
    TransportWs,
    /// subscriptions-transport-ws, subprotocol `graphql-ws`.
    LegacyWs,
}

impl Protocol {
    pub fn subprotocol(self) -> Option<&'static str> {
        match self {
            Protocol::None => None,
            Protocol::TransportWs => Some("graphql-transport-ws"),
            Protocol::LegacyWs => Some("graphql-ws"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub target: SocketAddr,
    pub host_header: String,
    pub path: String,
    pub mode: Mode,
    pub protocol: Protocol,
    pub connections: usize,
    pub concurrency: usize,
    pub subs_per_conn: usize,
    pub topic: String,
    /// The subscription document (`proto::QUERY` unless `--query`).
    pub query: String,
    /// Topics to spread clients over (0: all on `topic`).
    pub topics: usize,
    /// The global number of this process's first client (for `topics` and `users`).
    pub conn_offset: usize,
    /// Users given out in turn in the `connection_init` payloads (0: no payload).
    pub users: usize,
    pub echo_check: bool,
    pub src_first: u32,
    pub src_count: u32,
    pub hold: Option<Duration>,
    pub timeout: Duration,
    pub handshake_timeout: Duration,
    pub close_wait: Duration,
    pub start_at_ms: Option<u64>,
    pub first_seq: u64,
    pub seed: u64,
    pub max_payload: usize,
}

fn num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("--{name}: not a valid number: {v:?}"))
}

fn parse_url(url: &str) -> Result<(SocketAddr, String, String), String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or("--url must start with ws://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr: SocketAddr = authority.parse().map_err(|_| {
        format!("--url: host must be an IPv4 address with a port, got {authority:?}")
    })?;
    Ok((addr, authority.to_string(), path.to_string()))
}

fn parse_src(v: &str) -> Result<(u32, u32), String> {
    let (a, b) = v.split_once('-').unwrap_or((v, v));
    let a: Ipv4Addr = a.parse().map_err(|_| format!("--src: bad address {a:?}"))?;
    let b: Ipv4Addr = b.parse().map_err(|_| format!("--src: bad address {b:?}"))?;
    let (a, b) = (u32::from(a), u32::from(b));
    if b < a || !Ipv4Addr::from(a).is_loopback() || !Ipv4Addr::from(b).is_loopback() {
        return Err("--src must be an ascending range inside 127.0.0.0/8".into());
    }
    Ok((a, b - a + 1))
}

impl Config {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Config, String> {
        let mut c = Config {
            target: SocketAddr::from(([127, 0, 0, 1], 0)),
            host_header: String::new(),
            path: "/".into(),
            mode: Mode::Idle,
            protocol: Protocol::None,
            connections: 1000,
            concurrency: 256,
            subs_per_conn: 1,
            topic: "t".into(),
            query: crate::proto::QUERY.into(),
            topics: 0,
            conn_offset: 0,
            users: 0,
            echo_check: false,
            src_first: u32::from(Ipv4Addr::new(127, 0, 0, 2)),
            src_count: 39,
            hold: None,
            timeout: Duration::from_secs(120),
            handshake_timeout: Duration::from_secs(10),
            close_wait: Duration::from_secs(3),
            start_at_ms: None,
            first_seq: 1,
            seed: 0,
            max_payload: 16 << 20,
        };
        let mut have_url = false;
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (name.to_string(), None),
            };
            match name.as_str() {
                "help" => return Err(String::new()),
                "echo-check" => {
                    c.echo_check = true;
                    continue;
                }
                _ => {}
            }
            let v = match inline.or_else(|| it.next()) {
                Some(v) => v,
                None => return Err(format!("--{name} needs a value")),
            };
            match name.as_str() {
                "url" => {
                    (c.target, c.host_header, c.path) = parse_url(&v)?;
                    have_url = true;
                }
                "mode" => {
                    c.mode = match v.as_str() {
                        "idle" => Mode::Idle,
                        "storm" => Mode::Storm,
                        "fanout" => Mode::Fanout,
                        _ => return Err(format!("--mode: unknown {v:?}")),
                    }
                }
                "protocol" => {
                    c.protocol = match v.as_str() {
                        "none" => Protocol::None,
                        "graphql-transport-ws" => Protocol::TransportWs,
                        "graphql-ws" => Protocol::LegacyWs,
                        _ => return Err(format!("--protocol: unknown {v:?}")),
                    }
                }
                "connections" => c.connections = num(&name, &v)?,
                "concurrency" => c.concurrency = num(&name, &v)?,
                "subs-per-conn" => c.subs_per_conn = num(&name, &v)?,
                "topic" => c.topic = v,
                "query" => c.query = v,
                "topics" => c.topics = num(&name, &v)?,
                "conn-offset" => c.conn_offset = num(&name, &v)?,
                "users" => c.users = num(&name, &v)?,
                "src" => (c.src_first, c.src_count) = parse_src(&v)?,
                "hold-secs" => {
                    c.hold = Some(Duration::from_secs_f64(num(&name, &v)?)).filter(|d| !d.is_zero())
                }
                "timeout-secs" => c.timeout = Duration::from_secs_f64(num(&name, &v)?),
                "handshake-timeout-ms" => {
                    c.handshake_timeout = Duration::from_millis(num(&name, &v)?)
                }
                "close-wait-ms" => c.close_wait = Duration::from_millis(num(&name, &v)?),
                "start-at" => c.start_at_ms = Some(num(&name, &v)?),
                "first-seq" => c.first_seq = num(&name, &v)?,
                "seed" => c.seed = num(&name, &v)?,
                _ => return Err(format!("unknown option --{name}")),
            }
        }
        if !have_url {
            return Err("--url is required".into());
        }
        if c.connections == 0 || c.connections > MAX_CONNECTIONS {
            return Err(format!("--connections must be 1..={MAX_CONNECTIONS}"));
        }
        if c.concurrency == 0 {
            return Err("--concurrency must be at least 1".into());
        }
        if c.protocol != Protocol::None && !(1..=1000).contains(&c.subs_per_conn) {
            return Err("--subs-per-conn must be 1..=1000".into());
        }
        if c.echo_check && c.protocol != Protocol::None {
            return Err("--echo-check only applies to --protocol none".into());
        }
        if c.timeout.is_zero() || c.timeout > Duration::from_secs(24 * 3600) {
            return Err("--timeout-secs must be >0 and at most a day".into());
        }
        if c.topic.contains(['"', '\\']) || c.topic.chars().any(char::is_control) {
            return Err("--topic must not need JSON escaping".into());
        }
        if c.query.contains(['"', '\\']) || c.query.chars().any(char::is_control) {
            return Err(
                "--query must not need JSON escaping (no quotes, backslashes or newlines)".into(),
            );
        }
        if c.topics > 1_000_000 || c.users > 1_000_000 || c.conn_offset > 1_000_000_000 {
            return Err(
                "--topics and --users must be at most 1000000, --conn-offset at most 1e9".into(),
            );
        }
        Ok(c)
    }

    /// The topic client `i` subscribes to: `topic`, or `topic<(conn_offset + i) % topics>`.
    pub fn topic_of(&self, i: usize) -> std::borrow::Cow<'_, str> {
        if self.topics == 0 {
            return self.topic.as_str().into();
        }
        format!("{}{}", self.topic, (self.conn_offset + i) % self.topics).into()
    }

    /// Client `i`'s `connection_init`: with `users`, its payload names user
    /// `u<(conn_offset + i) % users>` (as an app's auth token would name one).
    pub fn init_message(&self, i: usize) -> std::borrow::Cow<'static, [u8]> {
        if self.users == 0 {
            return crate::proto::CONNECTION_INIT.into();
        }
        let user = (self.conn_offset + i) % self.users;
        format!(r#"{{"type":"connection_init","payload":{{"user":"u{user}"}}}}"#)
            .into_bytes()
            .into()
    }

    /// The source address of the `i`-th client.
    pub fn source(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::from(self.src_first + (i as u32 % self.src_count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Config, String> {
        Config::parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn parses_and_bounds() {
        let c = parse("--url ws://127.0.0.1:4000/graphql --mode=storm --connections 19000 --src 127.0.0.2-127.0.0.5")
            .expect("valid");
        assert_eq!(
            (c.target.port(), c.path.as_str(), c.mode),
            (4000, "/graphql", Mode::Storm)
        );
        assert_eq!(
            (c.src_count, c.source(0), c.source(5)),
            (4, Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 3))
        );
        assert!(parse("--url ws://127.0.0.1:1 --connections 19001").is_err());
        assert!(parse("--url ws://127.0.0.1:1 --src 10.0.0.1-10.0.0.2").is_err());
        assert!(parse("--url ws://127.0.0.1:1 --protocol graphql-ws --echo-check").is_err());
        assert!(parse("--connections 5").is_err());
        assert_eq!(
            parse("--url ws://127.0.0.1:1").map(|c| c.path),
            Ok("/".to_string())
        );
        assert!(parse("--url ws://127.0.0.1:1 --query a\"b").is_err());
        let q = parse("--url ws://127.0.0.1:1 --query subscription{x}").expect("valid");
        assert_eq!(q.query, "subscription{x}");
        let one = parse("--url ws://127.0.0.1:1 --topic news").expect("valid");
        assert_eq!(
            (one.topic_of(0), one.topic_of(7)),
            ("news".into(), "news".into())
        );
        let many = parse("--url ws://127.0.0.1:1 --topics 3 --conn-offset 4").expect("valid");
        assert_eq!(
            (many.topic_of(0), many.topic_of(1)),
            ("t1".into(), "t2".into())
        );
        assert_eq!(many.topic_of(2), "t0");
        assert_eq!(
            &*many.init_message(0),
            br#"{"type":"connection_init"}"#.as_slice()
        );
        let users = parse("--url ws://127.0.0.1:1 --users 3 --conn-offset 4").expect("valid");
        assert_eq!(
            &*users.init_message(1),
            br#"{"type":"connection_init","payload":{"user":"u2"}}"#.as_slice()
        );
    }
}
