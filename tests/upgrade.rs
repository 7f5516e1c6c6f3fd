//! The HTTP/1.1 upgrade parser (`subwire::upgrade`), driven the way the reactor drives it:
//! a read buffer that grows a byte at a time, may end mid-head, or carries frame bytes after it.

use subwire::upgrade::{
    parse, write_accept, Offered, Policy, Reject, Upgrade, MAX_HEADERS, MAX_PROTOCOL_LEN,
};

/// RFC 6455 §1.3's example key and the accept value it must produce.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &[u8; 28] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn prefer_transport_ws(offered: &Offered<'_>) -> Option<&'static str> {
    ["graphql-transport-ws", "graphql-ws"]
        .into_iter()
        .find(|p| offered.contains(p))
}

fn policy() -> Policy<'static> {
    Policy {
        path: "/graphql",
        max_header_bytes: 8 << 10,
        allowed_origins: None,
        select_protocol: prefer_transport_ws,
    }
}

/// A request head from its lines (CRLF-terminated, blank line added).
fn head(lines: &[&str]) -> Vec<u8> {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// A valid upgrade to `target`, with `extra` header lines after the required ones.
fn request(target: &str, extra: &[&str]) -> Vec<u8> {
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
fn parse_split<'b>(buf: &'b [u8], policy: &Policy<'_>) -> Upgrade<'b> {
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

fn reject(buf: &[u8], policy: &Policy<'_>) -> Reject {
    match parse(buf, policy) {
        Err(r) => r,
        Ok(up) => panic!(
            "accepted ({:?}): {:?}",
            up.map(|u| u.header_len),
            String::from_utf8_lossy(buf)
        ),
    }
}

struct Valid {
    name: &'static str,
    raw: Vec<u8>,
    target: &'static str,
    protocol: Option<&'static str>,
    /// `header(name)` lookups and what they must return.
    lookups: &'static [(&'static str, Option<&'static str>)],
}

fn valid_requests() -> Vec<Valid> {
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

fn chrome_request() -> Vec<u8> {
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

#[test]
fn valid_requests_upgrade_at_every_split() {
    let policy = policy();
    for case in valid_requests() {
        let up = parse_split(&case.raw, &policy);
        let name = case.name;
        assert_eq!(up.header_len, case.raw.len(), "{name}: header_len");
        assert_eq!(up.target, case.target, "{name}: target");
        assert_eq!(&up.accept, ACCEPT, "{name}: accept");
        assert_eq!(up.protocol, case.protocol, "{name}: protocol");
        for &(h, want) in case.lookups {
            assert_eq!(
                up.header(h),
                want.map(str::as_bytes),
                "{name}: header({h:?})"
            );
        }
        assert!(up.header("host").is_some(), "{name}: host");
    }
}

#[test]
fn the_any_path_policy_takes_every_target() {
    let any = Policy {
        path: "*",
        ..policy()
    };
    for target in ["/", "/graphql", "/a/b?c=d", "/x"] {
        let raw = request(target, &[]);
        let up = parse(&raw, &any).unwrap().unwrap();
        assert_eq!(up.target, target);
    }
    assert_eq!(reject(&request("/x", &[]), &policy()), Reject::NotFound);
}

#[test]
fn headers_iterates_in_request_order() {
    let raw = request("/graphql", &["X-A: 1", "x-a: 2"]);
    let up = parse(&raw, &policy()).unwrap().unwrap();
    let names: Vec<&[u8]> = up.headers().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            &b"Host"[..],
            b"Upgrade",
            b"Connection",
            b"Sec-WebSocket-Version",
            b"Sec-WebSocket-Key",
            b"X-A",
            b"x-a"
        ]
    );
    assert_eq!(up.header("x-a"), Some(&b"1"[..]));
}

#[test]
fn the_request_line_is_never_taken_for_a_header() {
    // A colon in the target, after empty lines httparse skips: still not a header.
    let mut raw = b"\r\n".to_vec();
    raw.extend_from_slice(&request("/graphql?GET%20/x:1&a:b", &["X-B: 2"]));
    let up = parse_split(&raw, &policy());
    assert_eq!(up.target, "/graphql?GET%20/x:1&a:b");
    assert_eq!(
        up.headers().next(),
        Some((&b"Host"[..], &b"localhost:4000"[..]))
    );
    assert_eq!(up.headers().count(), 6);
    assert_eq!(up.header("GET /graphql?GET%20/x"), None);
    assert_eq!(up.header("x-b"), Some(&b"2"[..]));
}

#[test]
fn pipelined_frame_bytes_stay_after_header_len() {
    let frame = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let policy = policy();
    for case in valid_requests() {
        let mut buf = case.raw.clone();
        buf.extend_from_slice(&frame);
        // However much of the frame has arrived, the head is the same and nothing is eaten.
        for end in case.raw.len()..=buf.len() {
            let up = parse(&buf[..end], &policy).unwrap().unwrap();
            assert_eq!(up.header_len, case.raw.len(), "{}", case.name);
            assert_eq!(&buf[up.header_len..end], &frame[..end - case.raw.len()]);
            assert_eq!(&up.accept, ACCEPT);
        }
    }
    // Frame bytes that happen to look like HTTP are still left alone.
    let mut buf = request("/graphql", &[]);
    let n = buf.len();
    buf.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(parse(&buf, &policy).unwrap().unwrap().header_len, n);
}

#[test]
fn protocol_selection_both_ways() {
    let offered = request(
        "/graphql",
        &["Sec-WebSocket-Protocol: graphql-ws, graphql-transport-ws"],
    );
    let mut p = policy();
    assert_eq!(
        parse(&offered, &p).unwrap().unwrap().protocol,
        Some("graphql-transport-ws")
    );

    p.select_protocol = |_| None;
    assert_eq!(parse(&offered, &p).unwrap().unwrap().protocol, None);

    p.select_protocol = |o| {
        o.iter()
            .next()
            .and_then(|t| (t == "graphql-ws").then_some("graphql-ws"))
    };
    assert_eq!(
        parse(&offered, &p).unwrap().unwrap().protocol,
        Some("graphql-ws")
    );

    // A choice the client did not offer is dropped: answering with it would fail the client.
    p.select_protocol = |_| Some("graphql-transport-ws");
    let none_offered = request("/graphql", &[]);
    assert_eq!(parse(&none_offered, &p).unwrap().unwrap().protocol, None);
    let other_offered = request("/graphql", &["Sec-WebSocket-Protocol: graphql-ws"]);
    assert_eq!(parse(&other_offered, &p).unwrap().unwrap().protocol, None);
}

#[test]
fn offered_iterates_every_header_trimmed() {
    fn check(o: &Offered<'_>) -> Option<&'static str> {
        let all: Vec<&str> = o.iter().collect();
        assert_eq!(all, ["a", "b", "c", "d"]);
        assert!(o.contains("c") && !o.contains("C") && !o.contains("") && !o.contains("b,c"));
        Some("d")
    }
    let raw = request(
        "/graphql",
        &[
            "Sec-WebSocket-Protocol: a",
            "X-Other: z",
            "sec-websocket-protocol: b,c ,, ",
            "SEC-WEBSOCKET-PROTOCOL:  d",
        ],
    );
    let p = Policy {
        select_protocol: check,
        ..policy()
    };
    assert_eq!(parse(&raw, &p).unwrap().unwrap().protocol, Some("d"));
}

#[test]
fn allowed_origins_case_insensitive() {
    let list = [
        "https://app.example".to_string(),
        "http://localhost:3000".to_string(),
    ];
    let p = Policy {
        allowed_origins: Some(&list),
        ..policy()
    };
    for origin in [
        "https://app.example",
        "HTTPS://APP.EXAMPLE",
        "http://localhost:3000",
    ] {
        let line = format!("Origin: {origin}");
        let raw = request("/graphql", &[&line]);
        let up = parse_split(&raw, &p);
        assert_eq!(up.header("origin"), Some(origin.as_bytes()));
    }
    // Without a list any origin, or none, is fine.
    parse_split(
        &request("/graphql", &["Origin: https://evil.example"]),
        &policy(),
    );
    parse_split(&request("/graphql", &[]), &policy());
}

/// A request line and header lines: the required headers minus those starting with `drop`,
/// then `extra`.
fn variant(first: &str, drop: &str, extra: &[&str]) -> Vec<u8> {
    let key = format!("Sec-WebSocket-Key: {KEY}");
    let mut lines = vec![
        first,
        "Host: h",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
        key.as_str(),
    ];
    lines.retain(|l| drop.is_empty() || !l.starts_with(drop));
    lines.extend_from_slice(extra);
    head(&lines)
}

/// Checks each case's status, and that no prefix of it is refused differently (or accepted).
fn check_refusals(cases: &[(&str, Vec<u8>, Reject)], policy: &Policy<'_>) {
    for (name, raw, want) in cases {
        assert_eq!(reject(raw, policy), *want, "{name}");
        for cut in 0..raw.len() {
            match parse(&raw[..cut], policy) {
                Ok(None) => {}
                Err(r) => assert_eq!(r, *want, "{name}: refused differently at {cut}"),
                Ok(Some(_)) => panic!("{name}: accepted a prefix of {cut} bytes"),
            }
        }
    }
}

#[test]
fn each_bad_request_gets_its_status() {
    use Reject::*;
    let b64 = |n: usize| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(vec![7u8; n])
    };
    let (k15, k17) = (
        format!("Sec-WebSocket-Key: {}", b64(15)),
        format!("Sec-WebSocket-Key: {}", b64(17)),
    );
    let key = format!("Sec-WebSocket-Key: {KEY}");
    let get = "GET /graphql HTTP/1.1";
    let v = variant;
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>, Reject)> = vec![
        ("garbage", b"HELLO THERE\r\n\r\n".to_vec(), BadRequest),
        ("TLS hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(), BadRequest),
        ("header without colon", v(get, "", &["bad header"]), BadRequest),
        ("space before colon", v(get, "", &["X-A : 1"]), BadRequest),
        ("folded header", v(get, "", &["X-A: 1", " continued"]), BadRequest),
        ("two spaces in request line", v("GET  /graphql HTTP/1.1", "", &[]), BadRequest),
        ("POST with a bad header: malformed first", v("POST /graphql HTTP/1.1", "", &["bad header"]), BadRequest),
        ("POST", v("POST /graphql HTTP/1.1", "", &[]), MethodNotAllowed),
        ("lower-case get", v("get /graphql HTTP/1.1", "", &[]), MethodNotAllowed),
        ("PUT elsewhere: method first", v("PUT /other HTTP/1.1", "Upgrade", &[]), MethodNotAllowed),
        ("wrong path", v("GET /other HTTP/1.1", "", &[]), NotFound),
        ("trailing slash", v("GET /graphql/ HTTP/1.1", "", &[]), NotFound),
        ("path case", v("GET /GraphQL HTTP/1.1", "", &[]), NotFound),
        ("path prefix", v("GET /graph HTTP/1.1", "", &[]), NotFound),
        ("path longer", v("GET /graphqlx?a HTTP/1.1", "", &[]), NotFound),
        ("absolute form", v("GET http://h/graphql HTTP/1.1", "", &[]), NotFound),
        ("wrong path and HTTP/1.0: path first", v("GET /x HTTP/1.0", "", &[]), NotFound),
        ("HTTP/1.0", v("GET /graphql HTTP/1.0", "", &[]), BadRequest),
        ("HTTP/2.0", v("GET /graphql HTTP/2.0", "", &[]), BadRequest),
        ("no Upgrade", v(get, "Upgrade", &[]), BadRequest),
        ("Upgrade: h2c", v(get, "Upgrade", &["Upgrade: h2c"]), BadRequest),
        ("Upgrade: websocketx", v(get, "Upgrade", &["Upgrade: websocketx"]), BadRequest),
        ("no Connection", v(get, "Connection", &[]), BadRequest),
        ("Connection: keep-alive", v(get, "Connection", &["Connection: keep-alive"]), BadRequest),
        ("Connection: upgrades", v(get, "Connection", &["Connection: upgrades"]), BadRequest),
        ("no Upgrade and version 8: Upgrade first", v(get, "Upgrade", &["Sec-WebSocket-Version: 8"]), BadRequest),
        ("no version", v(get, "Sec-WebSocket-Version", &[]), UpgradeRequired),
        ("version 8", v(get, "Sec-WebSocket-Version", &["Sec-WebSocket-Version: 8"]), UpgradeRequired),
        ("version 13 and 8", v(get, "", &["Sec-WebSocket-Version: 8"]), UpgradeRequired),
        ("version list", v(get, "Sec-WebSocket-Version", &["Sec-WebSocket-Version: 13, 8"]), UpgradeRequired),
        ("version 8 and no key: version first", v(get, "Sec-WebSocket-", &["Sec-WebSocket-Version: 8"]), UpgradeRequired),
        ("no key", v(get, "Sec-WebSocket-Key", &[]), BadRequest),
        ("two keys", v(get, "", &[&key]), BadRequest),
        ("key of 15 bytes", v(get, "Sec-WebSocket-Key", &[&k15]), BadRequest),
        ("key of 17 bytes", v(get, "Sec-WebSocket-Key", &[&k17]), BadRequest),
        ("key not base64", v(get, "Sec-WebSocket-Key", &["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!="]), BadRequest),
        ("key unpadded", v(get, "Sec-WebSocket-Key", &["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"]), BadRequest),
        ("key empty", v(get, "Sec-WebSocket-Key", &["Sec-WebSocket-Key:"]), BadRequest),
        ("no Host", v(get, "Host", &[]), BadRequest),
        ("two Hosts", v(get, "", &["Host: other"]), BadRequest),
    ];
    check_refusals(&cases, &policy());

    let list = ["https://app.example".to_string()];
    let strict = Policy {
        allowed_origins: Some(&list),
        ..policy()
    };
    let (app, evil) = (
        "Origin: https://app.example",
        "Origin: https://evil.example",
    );
    #[rustfmt::skip]
    let origin_cases: Vec<(&str, Vec<u8>, Reject)> = vec![
        ("foreign origin", v(get, "", &[evil]), Forbidden),
        ("origin with a suffix", v(get, "", &["Origin: https://app.example.evil"]), Forbidden),
        ("origin with a path", v(get, "", &["Origin: https://app.example/"]), Forbidden),
        ("no origin", v(get, "", &[]), Forbidden),
        ("two origins, allowed first", v(get, "", &[app, evil]), Forbidden),
        ("two origins, allowed last", v(get, "", &[evil, app]), Forbidden),
        ("the allowed origin twice", v(get, "", &[app, app]), Forbidden),
        ("bad key and foreign origin: key first", v(get, "Sec-WebSocket-Key", &[evil]), BadRequest),
        ("foreign origin and no Host: origin first", v(get, "Host", &[evil]), Forbidden),
        ("allowed origin, no Host", v(get, "Host", &[app]), BadRequest),
    ];
    check_refusals(&origin_cases, &strict);
}

#[test]
fn a_bad_request_line_waits_for_the_head_but_malformed_bytes_do_not() {
    let p = policy();
    // A refusable request line is not refused mid-head: the rest could still be malformed
    // (400) or too large (431), and the status must not depend on how the bytes were split.
    for partial in [
        &b"POST "[..],
        b"GET /other ",
        b"GET /graphql HTTP/1.0\r\n",
        b"HELLO ",
    ] {
        assert!(
            matches!(parse(partial, &p), Ok(None)),
            "{:?}",
            String::from_utf8_lossy(partial)
        );
    }
    assert_eq!(
        reject(b"POST / HTTP/1.1\r\nHost: a\r\n\r\n", &p),
        Reject::MethodNotAllowed
    );
    // Whole garbage is a 400 whatever its first word, as soon as it is certain.
    assert_eq!(reject(b"HELLO THERE\r\n", &p), Reject::BadRequest);
    assert_eq!(
        reject(b"POST /x HTTP/1.1\r\nbad header\r\n", &p),
        Reject::BadRequest
    );
    assert_eq!(reject(b"GET /graphql HTTP/3", &p), Reject::BadRequest);
    assert_eq!(reject(b"\x00", &p), Reject::BadRequest);
    for partial in [
        &b""[..],
        b"\r\n",
        b"G",
        b"GET",
        b"GET ",
        b"GET /graph",
        b"GET /graphql",
        b"GET /graphql HTTP/1.",
    ] {
        assert!(
            matches!(parse(partial, &p), Ok(None)),
            "{:?}",
            String::from_utf8_lossy(partial)
        );
    }
    // Over the limit, only the first max_header_bytes + 1 bytes count: an error beyond them
    // is never seen (a reactor reading in small pieces would have refused with 431 already).
    let small = Policy {
        max_header_bytes: 40,
        ..policy()
    };
    let mut raw = b"GET /graphql HTTP/1.1\r\nX-Long: ".to_vec();
    raw.resize(41, b'a');
    assert_eq!(reject(&raw, &small), Reject::HeadersTooLarge);
    raw.extend_from_slice(b"\x00 malformed\r\n\r\n");
    assert_eq!(reject(&raw, &small), Reject::HeadersTooLarge);
    // … while a malformed byte within them is a 400 however long the buffer.
    raw[30] = 0;
    assert_eq!(reject(&raw, &small), Reject::BadRequest);
    assert_eq!(reject(&raw[..31], &small), Reject::BadRequest);
}

#[test]
fn too_many_headers() {
    let p = policy();
    // The five required headers plus fillers, up to exactly MAX_HEADERS: accepted.
    let fillers: Vec<String> = (0..=MAX_HEADERS - 5)
        .map(|i| format!("X-F{i}: {i}"))
        .collect();
    let refs: Vec<&str> = fillers.iter().map(String::as_str).collect();
    let ok = request("/graphql", &refs[1..]);
    let up = parse_split(&ok, &p);
    assert_eq!(up.headers().count(), MAX_HEADERS);
    let last = MAX_HEADERS - 5;
    assert_eq!(
        up.header(&format!("x-f{last}")),
        Some(last.to_string().as_bytes())
    );
    assert_eq!(up.header("x-f0"), None);
    // One more: 431, complete or not.
    let over = request("/graphql", &refs);
    assert_eq!(reject(&over, &p), Reject::HeadersTooLarge);
    assert_eq!(reject(&over[..over.len() - 2], &p), Reject::HeadersTooLarge);
}

#[test]
fn header_block_over_max_header_bytes() {
    let raw = request("/graphql", &["Cookie: c"]);
    let n = raw.len();
    let exact = Policy {
        max_header_bytes: n,
        ..policy()
    };
    let up = parse_split(&raw, &exact);
    assert_eq!(up.header_len, n);
    // Pipelined frame bytes do not count against the limit.
    let mut with_frame = raw.clone();
    with_frame.extend_from_slice(&[0x81; 100]);
    assert_eq!(parse(&with_frame, &exact).unwrap().unwrap().header_len, n);

    let one_short = Policy {
        max_header_bytes: n - 1,
        ..policy()
    };
    // Complete but one byte over.
    assert_eq!(reject(&raw, &one_short), Reject::HeadersTooLarge);
    // Still partial but already longer than the limit: no need to wait for the rest.
    assert_eq!(
        reject(
            &raw[..n - 1],
            &Policy {
                max_header_bytes: n - 2,
                ..policy()
            }
        ),
        Reject::HeadersTooLarge
    );
    // Complete one byte over, with frame bytes behind it: still over.
    assert_eq!(reject(&with_frame, &one_short), Reject::HeadersTooLarge);
    // Partial and within the limit: read more.
    assert!(matches!(parse(&raw[..n - 2], &one_short), Ok(None)));

    // The Node test's case: a 2000-byte cookie against 1 KiB, complete and partial.
    let big = format!("Cookie: {}", "a".repeat(2000));
    let raw = request("/graphql", &[&big]);
    let kib = Policy {
        max_header_bytes: 1024,
        ..policy()
    };
    assert_eq!(reject(&raw, &kib), Reject::HeadersTooLarge);
    assert_eq!(reject(&raw[..1025], &kib), Reject::HeadersTooLarge);
    assert!(matches!(parse(&raw[..1024], &kib), Ok(None)));
}

#[test]
fn reject_responses_are_complete_http() {
    use Reject::*;
    for r in [
        NotFound,
        MethodNotAllowed,
        BadRequest,
        UpgradeRequired,
        Forbidden,
        HeadersTooLarge,
        ServiceUnavailable,
    ] {
        let bytes = r.response();
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut res = httparse::Response::new(&mut headers);
        let Ok(httparse::Status::Complete(n)) = res.parse(bytes) else {
            panic!("{r:?}: not a complete response")
        };
        assert!(bytes.starts_with(b"HTTP/1.1 "), "{r:?}");
        assert_eq!(res.code, Some(r.status()), "{r:?}");
        let get = |name: &str| {
            res.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| std::str::from_utf8(h.value).unwrap())
        };
        // A 426 must name the protocol to upgrade to (RFC 9110 §15.5.22), and a sender of
        // `Upgrade` lists it in `Connection`; every refusal closes.
        if r == UpgradeRequired {
            assert_eq!(get("connection"), Some("Upgrade, close"), "{r:?}");
            assert_eq!(get("upgrade"), Some("websocket"), "{r:?}");
        } else {
            assert_eq!(get("connection"), Some("close"), "{r:?}");
            assert_eq!(get("upgrade"), None, "{r:?}");
        }
        assert_eq!(get("content-type"), Some("text/plain"), "{r:?}");
        let body = &bytes[n..];
        assert!(
            body.len() > 5 && body.ends_with(b"\n"),
            "{r:?}: a short body"
        );
        assert_eq!(
            get("content-length"),
            Some(body.len().to_string().as_str()),
            "{r:?}"
        );
        assert_eq!(
            get("sec-websocket-version"),
            (r == UpgradeRequired).then_some("13"),
            "{r:?}"
        );
        assert_eq!(
            get("allow"),
            (r == MethodNotAllowed).then_some("GET"),
            "{r:?}"
        );
    }
    let statuses = [
        NotFound,
        MethodNotAllowed,
        BadRequest,
        UpgradeRequired,
        Forbidden,
        HeadersTooLarge,
        ServiceUnavailable,
    ]
    .map(Reject::status);
    assert_eq!(statuses, [404, 405, 400, 426, 403, 431, 503]);
}

#[test]
fn switching_protocols_bytes_exactly() {
    let mut out = [0u8; 256];
    let plain = request("/graphql", &[]);
    let up = parse(&plain, &policy()).unwrap().unwrap();
    let n = write_accept(&up, &mut out);
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );

    let with = request(
        "/graphql",
        &["Sec-WebSocket-Protocol: graphql-transport-ws"],
    );
    let up = parse(&with, &policy()).unwrap().unwrap();
    let n = write_accept(&up, &mut out);
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    );
}

#[test]
fn longest_protocol_fills_the_buffer_and_longer_is_left_out() {
    let longest: &'static str = Box::leak("p".repeat(MAX_PROTOCOL_LEN).into_boxed_str());
    let offer = format!("Sec-WebSocket-Protocol: x, {longest}");
    let raw = request("/graphql", &[&offer]);
    let p = Policy {
        select_protocol: |o| {
            o.iter()
                .find(|t| t.len() == MAX_PROTOCOL_LEN)
                .map(|t| &*Box::leak(t.to_owned().into_boxed_str()))
        },
        ..policy()
    };
    let mut up = parse(&raw, &p).unwrap().unwrap();
    assert_eq!(up.protocol, Some(longest));
    let mut out = [0u8; 256];
    assert_eq!(write_accept(&up, &mut out), 256);
    assert!(out.ends_with(format!("{longest}\r\n\r\n").as_bytes()));

    // One byte longer cannot be chosen by parse, and write_accept leaves it out if set by hand.
    let too_long: &'static str = Box::leak("q".repeat(MAX_PROTOCOL_LEN + 1).into_boxed_str());
    let offer = format!("Sec-WebSocket-Protocol: {too_long}");
    let raw2 = request("/graphql", &[&offer]);
    let p2 = Policy {
        select_protocol: |o| {
            o.iter()
                .next()
                .map(|t| &*Box::leak(t.to_owned().into_boxed_str()))
        },
        ..policy()
    };
    assert_eq!(parse(&raw2, &p2).unwrap().unwrap().protocol, None);
    up.protocol = Some(too_long);
    let n = write_accept(&up, &mut out);
    assert!(!out[..n].windows(9).any(|w| w == b"Protocol:"));
    assert!(out[..n].ends_with(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"));
    // Nor is one that would inject a header.
    up.protocol = Some("graphql-ws\r\nSet-Cookie: a=b");
    let n = write_accept(&up, &mut out);
    assert!(!out[..n]
        .windows(9)
        .any(|w| w == b"Protocol:" || w == b"Set-Cooki"));
    assert_eq!(n, 129);
}

#[test]
fn offered_tokens_are_trimmed_of_ascii_whitespace_only() {
    // U+00A0 (no-break space) is not HTTP whitespace: "\u{a0}graphql-ws" is not "graphql-ws",
    // and answering with the latter would fail the client's check of the 101.
    fn tokens(o: &Offered<'_>) -> Option<&'static str> {
        let all: Vec<&str> = o.iter().collect();
        assert_eq!(all, ["\u{a0}graphql-ws", "x\u{a0}", "graphql-ws"]);
        prefer_transport_ws(o)
    }
    let raw = request(
        "/graphql",
        &["Sec-WebSocket-Protocol: \u{a0}graphql-ws,\tx\u{a0} , graphql-ws\t"],
    );
    let p = Policy {
        select_protocol: tokens,
        ..policy()
    };
    assert_eq!(
        parse(&raw, &p).unwrap().unwrap().protocol,
        Some("graphql-ws")
    );
    let only_nbsp = request("/graphql", &["Sec-WebSocket-Protocol: \u{a0}graphql-ws"]);
    assert_eq!(
        parse(&only_nbsp, &policy()).unwrap().unwrap().protocol,
        None
    );
}

#[test]
fn a_protocol_the_101_cannot_name_is_never_chosen() {
    // The client offered these exact tokens and the selector picked them, but none is a valid
    // subprotocol token; write_accept would leave them out, so parse must not report them
    // either (the app would believe a protocol was agreed that the client never heard of).
    let mut out = [0u8; 256];
    for (offer, pick) in [
        ("Sec-WebSocket-Protocol: a\tb", "a\tb"),
        ("Sec-WebSocket-Protocol: gr\u{e4}phql", "gr\u{e4}phql"),
        ("Sec-WebSocket-Protocol: a b, c", "a b"),
    ] {
        let raw = request("/graphql", &[offer]);
        let p = Policy {
            select_protocol: |o| {
                ["a\tb", "gr\u{e4}phql", "a b"]
                    .into_iter()
                    .find(|p| o.contains(p))
            },
            ..policy()
        };
        let up = parse_split(&raw, &p);
        assert_eq!(up.protocol, None, "{pick:?}");
        assert_eq!(write_accept(&up, &mut out), 129, "{pick:?}");
    }
    // An empty protocol set by hand is left out too, not sent as an empty header.
    let raw = request("/graphql", &[]);
    let mut up = parse(&raw, &policy()).unwrap().unwrap();
    up.protocol = Some("");
    assert_eq!(write_accept(&up, &mut out), 129);
    up.protocol = Some("graphql-ws");
    let n = write_accept(&up, &mut out);
    assert!(out[..n].ends_with(b"\r\nSec-WebSocket-Protocol: graphql-ws\r\n\r\n"));
}
