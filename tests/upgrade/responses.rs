//! The 101 response: its exact bytes and the subprotocols it can name.

use crate::support::*;

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
