//! The legacy graphql-ws protocol (subscriptions-transport-ws).

use crate::support::*;

#[test]
fn legacy_happy_path() {
    let mut c = Client::legacy();
    assert_eq!(c.s.protocol(), Some(GRAPHQL_WS));
    assert_eq!(
        c.text(r#"{"type":"connection_init","payload":{"authToken":"x"}}"#),
        [app(Event::Init {
            payload: Some(r#"{"authToken":"x"}"#.into())
        })]
    );
    // Apollo's client sends `start` without waiting for the ack: it waits for the app's
    // decision and goes to the app right after the ack.
    let op = r#"{"query":"subscription { tick }","variables":{},"operationName":"T"}"#;
    assert!(c
        .text(&format!(r#"{{"id":"1","type":"start","payload":{op}}}"#))
        .is_empty());
    c.s.accept_init(Some(r#"{"ignored":true}"#), ms(10), &mut c.out);
    assert_eq!(
        c.take(),
        [
            send(r#"{"type":"connection_ack"}"#),
            send(r#"{"type":"ka"}"#),
            subscribe_event("1", op),
        ]
    );
    assert_eq!(
        c.next("1", r#"{"data":{"tick":1}}"#),
        [send(
            r#"{"id":"1","type":"data","payload":{"data":{"tick":1}}}"#
        )]
    );
    assert_eq!(
        c.text(r#"{"id":"1","type":"stop"}"#),
        [app(Event::Complete { id: "1".into() })]
    );
    assert!(c.next("1", r#"{"data":{"tick":2}}"#).is_empty());
    assert!(c.text(r#"{"id":"1","type":"stop"}"#).is_empty());

    // Server-side end: complete, and error (which frees the id too).
    c.text(r#"{"id":"2","type":"start","payload":{"query":"{ a }"}}"#);
    assert!(c.s.complete("2", 0, &mut c.out));
    assert_eq!(c.take(), [send(r#"{"id":"2","type":"complete"}"#)]);
    c.text(r#"{"id":"3","type":"start","payload":{"query":"{ a }"}}"#);
    let errors = Bytes::from_static(br#"[{"message":"nope"}]"#);
    assert!(c.s.error("3", 0, &errors, &mut c.out));
    assert_eq!(
        c.take(),
        [send(
            r#"{"id":"3","type":"error","payload":[{"message":"nope"}]}"#
        )]
    );
    assert_eq!(c.s.active(), 0);

    assert_eq!(
        c.text(r#"{"type":"connection_terminate"}"#),
        closed(code::NORMAL, "", true)
    );
}

#[test]
fn legacy_keep_alive_schedule() {
    let mut c = Client::legacy();
    assert_eq!(c.s.next_deadline(), Some(ms(3000)), "init timeout first");
    c.text(r#"{"type":"connection_init"}"#);
    assert_eq!(c.s.next_deadline(), None);
    c.s.accept_init(None, ms(1000), &mut c.out);
    assert_eq!(
        c.take(),
        [
            send(r#"{"type":"connection_ack"}"#),
            send(r#"{"type":"ka"}"#)
        ]
    );
    assert_eq!(c.s.next_deadline(), Some(ms(13_000)));
    c.s.on_timeout(ms(12_999), &mut c.out);
    assert!(c.take().is_empty());
    c.s.on_timeout(ms(13_000), &mut c.out);
    assert_eq!(c.take(), [send(r#"{"type":"ka"}"#)]);
    assert_eq!(c.s.next_deadline(), Some(ms(25_000)));
    // Late by a little: the schedule keeps its rhythm.
    c.s.on_timeout(ms(25_040), &mut c.out);
    assert_eq!(c.take().len(), 1);
    assert_eq!(c.s.next_deadline(), Some(ms(37_000)));
    // Late by several periods (a stalled reactor): one ka, then a period from now.
    c.s.on_timeout(ms(90_000), &mut c.out);
    assert_eq!(c.take(), [send(r#"{"type":"ka"}"#)]);
    assert_eq!(c.s.next_deadline(), Some(ms(102_000)));
    c.s.close(code::NORMAL, "", &mut c.out);
    assert_eq!(c.s.next_deadline(), None);

    // keep_alive off: ack only, no deadline.
    let off = Settings {
        keep_alive: None,
        ..Settings::default()
    };
    let mut c = Client::open(Some(GRAPHQL_WS), off);
    c.text(r#"{"type":"connection_init"}"#);
    c.s.accept_init(None, ms(1), &mut c.out);
    assert_eq!(c.take(), [send(r#"{"type":"connection_ack"}"#)]);
    assert_eq!(c.s.next_deadline(), None);
}

#[test]
fn legacy_rejection_sends_connection_error_then_closes() {
    let mut c = Client::legacy();
    c.text(r#"{"type":"connection_init","payload":{}}"#);
    c.s.reject_init("Prohibited \"connection\"", &mut c.out);
    let [close, closed_event] = closed(code::INTERNAL, "", false);
    assert_eq!(
        c.take(),
        [
            send(
                r#"{"type":"connection_error","payload":{"message":"Prohibited \"connection\""}}"#
            ),
            close,
            closed_event
        ]
    );
    // Internal errors look the same.
    let mut c = Client::legacy_acked();
    c.s.internal_error("hook threw", &mut c.out);
    assert_eq!(
        c.take()[..2],
        [
            send(r#"{"type":"connection_error","payload":{"message":"hook threw"}}"#),
            Output::Close {
                code: code::INTERNAL,
                reason: "".into()
            }
        ]
    );
}

#[test]
fn legacy_bad_messages_are_answered_not_closed() {
    let mut c = Client::legacy_acked();
    let out = c.text("{nope");
    match &out[..] {
        [Output::Send(s)]
            if s.starts_with(
                r#"{"type":"connection_error","payload":{"message":"Invalid JSON: "#,
            ) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.text(r#"{"type":"subscribe","id":"7"}"#),
        [send(
            r#"{"id":"7","type":"error","payload":{"message":"Unknown message type 'subscribe'"}}"#
        )]
    );
    assert_eq!(
        c.text("[1]"),
        [send(
            r#"{"type":"error","payload":{"message":"A message must be a JSON object, got an array"}}"#
        )]
    );
    assert_eq!(
        c.text(r#"{"type":"start","id":5,"payload":{"query":"{ a }"}}"#),
        [send(
            r#"{"type":"error","payload":{"message":"'start' needs a string 'id', got a number"}}"#
        )]
    );
    assert_eq!(
        c.text(r#"{"type":"start","id":"8","payload":{"variables":{}}}"#),
        [send(
            r#"{"id":"8","type":"error","payload":{"message":"'start' payload needs a string 'query', got nothing"}}"#
        )]
    );
    assert_eq!(c.s.active(), 0);
    assert!(!c.s.is_closed());
    // A stop for an unknown (or malformed) id is ignored.
    assert!(c.text(r#"{"type":"stop","id":"nope"}"#).is_empty());
    assert!(c.text(r#"{"type":"stop"}"#).is_empty());
}

#[test]
fn legacy_start_rules() {
    // Before any connection_init: refused with an error for that id.
    let mut c = Client::legacy();
    assert_eq!(
        c.text(r#"{"type":"start","id":"1","payload":{"query":"{ a }"}}"#),
        [send(
            r#"{"id":"1","type":"error","payload":{"message":"'connection_init' must come before 'start'"}}"#
        )]
    );
    // Same id again while active: the old one stops first, as subscriptions-transport-ws does.
    let mut c = Client::legacy_acked();
    let start = r#"{"type":"start","id":"1","payload":{"query":"{ a }"}}"#;
    assert_eq!(c.text(start).len(), 1);
    let first = c.s.serial("1").unwrap();
    assert_eq!(
        c.text(start),
        [
            app(Event::Complete { id: "1".into() }),
            subscribe_event("1", r#"{"query":"{ a }"}"#)
        ]
    );
    assert_eq!(c.s.active(), 1);
    assert!(!c.s.is_active("1", first), "the restart is a new operation");
    assert!(c.s.is_active("1", c.s.serial("1").unwrap()));
    // A repeated init after the ack is acked again, with no app round trip.
    assert_eq!(
        c.text(r#"{"type":"connection_init"}"#),
        [send(r#"{"type":"connection_ack"}"#)]
    );
}

#[test]
fn legacy_init_timeout_and_socket_end() {
    let mut c = Client::legacy();
    c.s.on_timeout(ms(2999), &mut c.out);
    assert!(c.take().is_empty());
    c.s.on_timeout(ms(3000), &mut c.out);
    assert_eq!(
        c.take(),
        closed(
            code::INIT_TIMEOUT,
            "Connection initialisation timeout",
            false
        )
    );

    let mut c = Client::legacy_acked();
    c.s.transport_closed(code::ABNORMAL, "", &mut c.out);
    assert_eq!(
        c.take(),
        [app(Event::Closed {
            code: code::ABNORMAL,
            reason: "".into(),
            acknowledged: true
        })]
    );
    assert_eq!(c.s.next_deadline(), None, "no ka after the end");
}
