//! Requests that upgrade: at every split, any path, headers, pipelined bytes,
//! subprotocol choice, allowed origins.

use crate::support::*;

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
