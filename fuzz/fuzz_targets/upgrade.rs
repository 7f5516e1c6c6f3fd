//! Fuzzes the upgrade parser (`subwire::ws::upgrade::parse`) the way a reactor drives it: a read
//! buffer that may hold a partial head, a complete one, or a head followed by frame bytes.
//! Besides "no panic", checks what the types cannot: a complete head never claims more bytes
//! than it was given, everything it returns points into the buffer, shorter prefixes of an
//! accepted request are "read more" (never an error), bytes after the head change nothing, a
//! refusal is final and the same whatever the read sizes, and the 101 it answers with is a
//! well-formed HTTP response that nothing from the request was injected into.
//!
//! Input: byte 0 picks the policy (allow-list or not, a small or the default header limit,
//! which subprotocol callback); the rest is the client's bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use subwire::ws::upgrade::{parse, write_accept, Offered, Policy, Reject, Upgrade};

fn prefer_transport_ws(offered: &Offered<'_>) -> Option<&'static str> {
    ["graphql-transport-ws", "graphql-ws"]
        .into_iter()
        .find(|p| offered.contains(p))
}

/// Chooses a protocol whether or not it was offered: `parse` must drop it when not.
fn always(_: &Offered<'_>) -> Option<&'static str> {
    Some("graphql-transport-ws")
}

fn inside(buf: &[u8], part: &[u8]) -> bool {
    let (b, p) = (buf.as_ptr() as usize, part.as_ptr() as usize);
    p >= b && p + part.len() <= b + buf.len()
}

fn same(a: &Upgrade<'_>, b: &Upgrade<'_>) -> bool {
    a.header_len == b.header_len
        && a.target == b.target
        && a.accept == b.accept
        && a.protocol == b.protocol
}

fuzz_target!(|input: &[u8]| {
    let Some((&knob, data)) = input.split_first() else {
        return;
    };
    let origins = [String::from("https://app.example")];
    let policy = Policy {
        path: "/graphql",
        max_header_bytes: if knob & 1 == 0 { 8 << 10 } else { 200 },
        allowed_origins: (knob & 2 != 0).then_some(&origins[..]),
        select_protocol: if knob & 4 == 0 {
            prefer_transport_ws
        } else {
            always
        },
    };

    match parse(data, &policy) {
        Ok(None) => assert!(data.len() <= policy.max_header_bytes),
        Err(r) => {
            assert_ne!(r, Reject::ServiceUnavailable);
            // A refusal is final: more bytes never change it, and no shorter prefix of the
            // same bytes is refused differently (the answer does not depend on read sizes).
            let mut more = data.to_vec();
            more.extend_from_slice(b"\r\n\r\nGET /graphql HTTP/1.1\r\n\r\n");
            assert_eq!(parse(&more, &policy).err(), Some(r));
            for cut in (0..data.len()).step_by((data.len() / 16).max(1)) {
                match parse(&data[..cut], &policy) {
                    Ok(None) => {}
                    Err(early) => assert_eq!(early, r, "prefix {cut} of {}", data.len()),
                    Ok(Some(_)) => panic!("prefix {cut} accepted, the whole refused with {r:?}"),
                }
            }
        }
        Ok(Some(up)) => {
            let n = up.header_len;
            assert!(n <= data.len() && n <= policy.max_header_bytes);
            assert!(inside(data, up.target.as_bytes()));
            assert!(up.target.split('?').next() == Some("/graphql"));
            assert!(up
                .accept
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b)));
            // header() on any name never panics, and is the first header of that name.
            let names = data.split(|&b| b == b':' || b == b'\n' || b == b' ');
            for name in names.take(64).filter_map(|n| std::str::from_utf8(n).ok()) {
                let first = up
                    .headers()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()));
                assert_eq!(up.header(name), first.map(|(_, v)| v), "header({name:?})");
            }
            for (name, value) in up.headers() {
                let name = std::str::from_utf8(name).expect("a header name is ASCII");
                assert!(up.header(name).is_some());
                assert_eq!(value.trim_ascii(), value);
            }
            let host = up.header("HOST").expect("an accepted request has a Host");
            assert!(inside(&data[..n], host));
            for (name, value) in up.headers() {
                assert!(inside(&data[..n], name) && inside(&data[..n], value));
                assert!(!name.is_empty());
            }
            if let Some(p) = up.protocol {
                assert!(p == "graphql-transport-ws" || p == "graphql-ws");
                let offered = up
                    .headers()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(b"sec-websocket-protocol"))
                    .flat_map(|(_, v)| v.split(|&b| b == b','))
                    .any(|t| t.trim_ascii() == p.as_bytes());
                assert!(offered, "chose {p}, which the client did not offer");
            }

            let mut out = [0u8; 256];
            let len = write_accept(&up, &mut out);
            let out = &out[..len];
            assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            assert!(out.ends_with(b"\r\n\r\n"));
            // Every line ends in CRLF, none is empty or folded before the final blank one,
            // and it is all printable ASCII: nothing from the request was injected.
            let head = &out[..len - 4];
            for (i, &b) in head.iter().enumerate() {
                match b {
                    b'\r' => assert_eq!(head.get(i + 1), Some(&b'\n')),
                    b'\n' => {
                        assert_eq!(head[i - 1], b'\r');
                        assert!(head.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic()));
                    }
                    _ => assert!(b.is_ascii_graphic() || b == b' '),
                }
            }
            assert!(head.windows(28).any(|w| w == up.accept));

            // The head alone gives the same answer: trailing frame bytes change nothing.
            let alone = parse(&data[..n], &policy)
                .expect("head alone")
                .expect("complete");
            assert!(same(&up, &alone));
            // Shorter prefixes (a sample of them) are "read more", never a refusal.
            let step = (n / 16).max(1);
            for cut in (0..n).step_by(step).chain([n - 1]) {
                assert!(
                    matches!(parse(&data[..cut], &policy), Ok(None)),
                    "prefix {cut} of {n}"
                );
            }
        }
    }
});
