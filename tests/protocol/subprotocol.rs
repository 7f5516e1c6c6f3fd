//! Choosing the subprotocol at upgrade, and closing 4406 without one.

use crate::support::*;

#[test]
fn subprotocol_choice() {
    assert_eq!(protocol::choose([]), None);
    assert_eq!(protocol::choose(["graphql-ws"]), Some(GRAPHQL_WS));
    assert_eq!(
        protocol::choose(["graphql-ws", "graphql-transport-ws"]),
        Some(GRAPHQL_TRANSPORT_WS)
    );
    assert_eq!(protocol::choose(["mqtt", "GRAPHQL-WS"]), None);

    // Through the real upgrade parser, as the reactor will call it.
    let pick = |headers: &str| {
        let req = format!(
            "GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{headers}\r\n"
        );
        let policy = Policy {
            path: "/graphql",
            max_header_bytes: 8192,
            allowed_origins: None,
            select_protocol: protocol::select_protocol,
        };
        let up = upgrade::parse(req.as_bytes(), &policy).ok().flatten();
        up.expect("a valid upgrade").protocol
    };
    assert_eq!(pick(""), None);
    assert_eq!(
        pick("Sec-WebSocket-Protocol: graphql-ws\r\n"),
        Some(GRAPHQL_WS)
    );
    assert_eq!(
        pick("Sec-WebSocket-Protocol: graphql-ws, graphql-transport-ws\r\n"),
        Some(GRAPHQL_TRANSPORT_WS)
    );
    assert_eq!(
        pick("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n"),
        Some(GRAPHQL_TRANSPORT_WS)
    );
}

#[test]
fn no_subprotocol_closes_with_4406() {
    for protocol in [None, Some("chat")] {
        let mut c = Client::open(protocol, Settings::default());
        assert_eq!(
            c.take(),
            closed(
                code::SUBPROTOCOL_NOT_ACCEPTABLE,
                "Subprotocol not acceptable",
                false
            )
        );
        assert!(c.s.is_closed() && c.s.protocol().is_none());
        assert!(c.text(r#"{"type":"connection_init"}"#).is_empty());
        assert_eq!(c.s.next_deadline(), None);
    }
}

#[test]
fn a_session_without_a_protocol_is_closed_and_does_nothing() {
    // What a connection of the echo and broadcast modes holds.
    let mut out: Vec<Output> = Vec::new();
    let mut s = Session::default();
    s.on_text(r#"{"type":"connection_init"}"#, t0(), &mut out);
    s.accept_init(None, t0(), &mut out);
    s.close(code::NORMAL, "", &mut out);
    s.transport_closed(code::ABNORMAL, "", &mut out);
    assert!(out.is_empty() && s.is_closed() && s.protocol().is_none());
    assert_eq!(
        (s.holds(1), s.active(), s.next_deadline()),
        (Some(false), 0, None)
    );
}
