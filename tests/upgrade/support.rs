//! What the upgrade tests share: a policy, request builders, the table of valid
//! requests, and parsing at every split of a buffer.

pub use subwire::ws::upgrade::{
    parse, write_accept, Offered, Policy, Reject, Upgrade, MAX_HEADERS, MAX_PROTOCOL_LEN,
};

/// RFC 6455 §1.3's example key and the accept value it must produce.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const ACCEPT: &[u8; 28] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

pub fn prefer_transport_ws(offered: &Offered<'_>) -> Option<&'static str> {
    ["graphql-transport-ws", "graphql-ws"]
        .into_iter()
        .find(|p| offered.contains(p))
}

pub fn policy() -> Policy<'static> {
    Policy {
        path: "/graphql",
        max_header_bytes: 8 << 10,
        allowed_origins: None,
        select_protocol: prefer_transport_ws,
    }
}

/// A request head from its lines (CRLF-terminated, blank line added).
pub fn head(lines: &[&str]) -> Vec<u8> {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// A valid upgrade to `target`, with `extra` header lines after the required ones.
pub fn request(target: &str, extra: &[&str]) -> Vec<u8> {
    let line = format!("GET {target} HTTP/1.1");
    let key = format!("Sec-WebSocket-Key: {KEY}");
    let mut lines = vec![
        line.as_str(),
        "Host: localhost:4000",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
        key.as_str(),
    ];
    lines.extend_from_slice(extra);
    head(&lines)
}

/// Parses `buf` after checking every shorter prefix asks for more (never refuses).
pub fn parse_split<'b>(buf: &'b [u8], policy: &Policy<'_>) -> Upgrade<'b> {
    for cut in 0..buf.len() {
        match parse(&buf[..cut], policy) {
            Ok(None) => {}
            Ok(Some(_)) => panic!("complete after only {cut} of {} bytes", buf.len()),
            Err(r) => panic!(
                "{r:?} after {cut} of {} bytes: {:?}",
                buf.len(),
                String::from_utf8_lossy(&buf[..cut])
            ),
        }
    }
    parse(buf, policy)
        .expect("a valid request is accepted")
        .expect("and complete")
}

pub fn reject(buf: &[u8], policy: &Policy<'_>) -> Reject {
    match parse(buf, policy) {
        Err(r) => r,
        Ok(up) => panic!(
            "accepted ({:?}): {:?}",
            up.map(|u| u.header_len),
            String::from_utf8_lossy(buf)
        ),
    }
}

pub struct Valid {
    pub name: &'static str,
    pub raw: Vec<u8>,
    pub target: &'static str,
    pub protocol: Option<&'static str>,
    /// `header(name)` lookups and what they must return.
    pub lookups: &'static [(&'static str, Option<&'static str>)],
}

pub fn valid_requests() -> Vec<Valid> {
    let key = format!("Sec-WebSocket-Key: {KEY}");
    let key_lower = format!("sec-websocket-key: {KEY}");
    let key_upper = format!("SEC-WEBSOCKET-KEY: {KEY}");
    let key_spaced = format!("Sec-WebSocket-Key:    {KEY}   ");
    vec![
        Valid {
            name: "RFC 6455 §1.2 example",
            raw: head(&[
                "GET /graphql HTTP/1.1",
                "Host: server.example.com",
                "Upgrade: websocket",
                "Connection: Upgrade",
                &key,
                "Origin: http://example.com",
                "Sec-WebSocket-Protocol: chat, superchat",
                "Sec-WebSocket-Version: 13",
            ]),
            target: "/graphql",
            protocol: None,
            lookups: &[
                ("Host", Some("server.example.com")),
                ("origin", Some("http://example.com")),
                ("SEC-WEBSOCKET-PROTOCOL", Some("chat, superchat")),
                ("cookie", None),
            ],
        },
        Valid {
            name: "lower-case names, upper-case tokens",
            raw: head(&[
                "GET /graphql HTTP/1.1",
                "host: a",
                "upgrade: WEBSOCKET",
                "connection: UPGRADE",
                "sec-websocket-version: 13",
                &key_lower,
            ]),
            target: "/graphql",
            protocol: None,
            lookups: &[("Host", Some("a")), ("Sec-WebSocket-Key", Some(KEY))],
        },
        Valid {
            name: "upper-case and mixed-case names",
            raw: head(&[
                "GET /graphql HTTP/1.1",
                "HOST: b",
                "UpGrAdE: WebSocket",
                "CONNECTION: Upgrade",
                "SEC-WEBSOCKET-VERSION: 13",
                &key_upper,
            ]),
            target: "/graphql",
            protocol: None,
            lookups: &[("host", Some("b")), ("upgrade", Some("WebSocket"))],
        },
        Valid {
            name: "Connection: keep-alive, Upgrade, and extra headers",
            raw: request(
                "/graphql",
                &[
                    "Connection: keep-alive, Upgrade",
                    "User-Agent: test/1.0",
                    "Cookie: session=abc; theme=dark",
                    "X-Empty:",
                ],
            ),
            target: "/graphql",
            protocol: None,
            lookups: &[
                ("connection", Some("Upgrade")), // the first one
                ("cookie", Some("session=abc; theme=dark")),
                ("user-agent", Some("test/1.0")),
                ("x-empty", Some("")),
                ("x-missing", None),
                ("", None),
            ],
        },
        Valid {
            name: "query string (with a colon in it) is kept in target, ignored for routing",
            raw: request("/graphql?token=a:b&x=1", &["Connection: close, upgrade"]),
            target: "/graphql?token=a:b&x=1",
            protocol: None,
            lookups: &[("host", Some("localhost:4000"))],
        },
        Valid {
            name: "Upgrade as a list, key padded with whitespace",
            raw: head(&[
                "GET /graphql? HTTP/1.1",
                "Host: c",
                "Upgrade: h2c, websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Version:  13 ",
                &key_spaced,
            ]),
            target: "/graphql?",
            protocol: None,
            lookups: &[("sec-websocket-key", Some(KEY))],
        },
        Valid {
            name: "several Sec-WebSocket-Protocol headers: the preferred one wins",
            raw: request(
                "/graphql",
                &[
                    "Sec-WebSocket-Protocol: graphql-ws",
                    "Sec-WebSocket-Protocol: foo ,graphql-transport-ws , bar",
                ],
            ),
            target: "/graphql",
            protocol: Some("graphql-transport-ws"),
            lookups: &[("sec-websocket-protocol", Some("graphql-ws"))],
        },
        Valid {
            name: "both protocols in one header, the preferred one first",
            raw: request(
                "/graphql",
                &["Sec-WebSocket-Protocol: graphql-transport-ws, graphql-ws"],
            ),
            target: "/graphql",
            protocol: Some("graphql-transport-ws"),
            lookups: &[(
                "Sec-Websocket-Protocol",
                Some("graphql-transport-ws, graphql-ws"),
            )],
        },
        Valid {
            name: "both protocols in one header, the preferred one last",
            raw: request(
                "/graphql",
                &["Sec-WebSocket-Protocol: graphql-ws,graphql-transport-ws"],
            ),
            target: "/graphql",
            protocol: Some("graphql-transport-ws"),
            lookups: &[],
        },
        Valid {
            name: "only the legacy protocol offered",
            raw: request("/graphql", &["Sec-WebSocket-Protocol: graphql-ws"]),
            target: "/graphql",
            protocol: Some("graphql-ws"),
            lookups: &[],
        },
        Valid {
            name: "an unknown protocol offered: 101 without one",
            raw: request("/graphql", &["Sec-WebSocket-Protocol: mqtt, GRAPHQL-WS"]),
            target: "/graphql",
            protocol: None,
            lookups: &[],
        },
        Valid {
            name: "bare LF line endings after empty lines",
            raw: format!(
                "\r\n\nGET /graphql HTTP/1.1\nHost: d\nUpgrade: websocket\nConnection: Upgrade\n\
                 Sec-WebSocket-Version: 13\nSec-WebSocket-Key: {KEY}\n\n"
            )
            .into_bytes(),
            target: "/graphql",
            protocol: None,
            lookups: &[("host", Some("d")), ("get /graphql http/1.1", None)],
        },
        Valid {
            name: "a Chrome-like request",
            raw: chrome_request(),
            target: "/graphql",
            protocol: Some("graphql-transport-ws"),
            lookups: &[
                ("accept-language", Some("en-US,en;q=0.9")),
                ("origin", Some("https://app.example")),
                (
                    "sec-websocket-extensions",
                    Some("permessage-deflate; client_max_window_bits"),
                ),
            ],
        },
    ]
}

pub fn chrome_request() -> Vec<u8> {
    let key = format!("Sec-WebSocket-Key: {KEY}");
    head(&[
        "GET /graphql HTTP/1.1",
        "Host: localhost:4000",
        "Connection: Upgrade",
        "Pragma: no-cache",
        "Cache-Control: no-cache",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Upgrade: websocket",
        "Origin: https://app.example",
        "Sec-WebSocket-Version: 13",
        "Accept-Encoding: gzip, deflate, br, zstd",
        "Accept-Language: en-US,en;q=0.9",
        &key,
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Protocol: graphql-transport-ws",
    ])
}
