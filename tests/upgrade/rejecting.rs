//! Requests that do not upgrade: each gets its HTTP status, and the response is whole.

use crate::support::*;

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
    // `Reject::ALL` (metrics count by it) holds every refusal once, by status.
    assert_eq!(
        Reject::ALL.map(Reject::status),
        [400, 403, 404, 405, 426, 431, 503]
    );
}
