//! Messages that arrive while the app decides on `connection_init` (both protocols): they
//! wait, in order, and are handled right after the ack; a rejection or a close drops them;
//! past the bounds the session closes with 1008.

use crate::support::*;

const SUB1: &str = r#"{"id":"1","type":"subscribe","payload":{"query":"subscription { a }"}}"#;
const SUB2: &str = r#"{"id":"2","type":"subscribe","payload":{"query":"{ b }"}}"#;
const OP1: &str = r#"{"query":"subscription { a }"}"#;
const OP2: &str = r#"{"query":"{ b }"}"#;

fn deciding() -> Client {
    let mut c = Client::transport();
    c.text(r#"{"type":"connection_init"}"#);
    c
}

#[test]
fn subscribe_and_complete_wait_for_the_ack_then_run_in_order() {
    let mut c = deciding();
    assert!(c.text(SUB1).is_empty());
    assert!(c.text(SUB2).is_empty());
    assert!(c.text(r#"{"id":"2","type":"complete"}"#).is_empty());
    assert_eq!(c.s.active(), 0, "nothing runs before the decision");
    // A ping does not wait: graphql-ws answers it at once, before the ack.
    assert_eq!(c.text(r#"{"type":"ping"}"#), [send(r#"{"type":"pong"}"#)]);
    c.s.accept_init(None, ms(5), &mut c.out);
    assert_eq!(
        c.take(),
        [
            send(r#"{"type":"connection_ack"}"#),
            subscribe_event("1", OP1),
            subscribe_event("2", OP2),
            app(Event::Complete { id: "2".into() }),
        ]
    );
    assert_eq!(c.s.active(), 1);
    assert!(c.s.is_active("1", 0));
    // Later messages take the usual path.
    let sub3 = r#"{"id":"3","type":"subscribe","payload":{"query":"{ c }"}}"#;
    assert_eq!(c.text(sub3).len(), 1);
}

#[test]
fn the_rules_apply_when_the_messages_are_handled() {
    // A duplicate id among waiting messages closes with 4409 when its turn comes, after
    // the ack and the first subscribe, as it would have after an ack.
    let mut c = deciding();
    c.text(SUB1);
    c.text(SUB1);
    c.text(SUB2);
    c.s.accept_init(None, ms(5), &mut c.out);
    let mut want = vec![
        send(r#"{"type":"connection_ack"}"#),
        subscribe_event("1", OP1),
    ];
    want.extend(closed(
        code::SUBSCRIBER_EXISTS,
        "Subscriber for 1 already exists",
        true,
    ));
    assert_eq!(c.take(), want, "nothing after the close");
    // A malformed message is refused when it arrives (a message is checked first).
    let mut c = deciding();
    let out = c.text(r#"{"id":"1","type":"subscribe"}"#);
    assert!(
        matches!(
            &out[0],
            Output::Close {
                code: code::BAD_REQUEST,
                ..
            }
        ),
        "{out:?}"
    );
    // A second connection_init does not wait either.
    let mut c = deciding();
    assert_eq!(
        c.text(r#"{"type":"connection_init"}"#),
        closed(
            code::TOO_MANY_INITS,
            "Too many initialisation requests",
            false
        )
    );
}

#[test]
fn a_rejection_or_a_close_drops_what_waited() {
    let mut c = deciding();
    c.text(SUB1);
    c.s.reject_init("no", &mut c.out);
    assert_eq!(c.take(), closed(code::FORBIDDEN, "Forbidden", false));
    c.s.accept_init(None, ms(5), &mut c.out);
    assert!(c.take().is_empty());

    let mut c = deciding();
    c.text(SUB1);
    c.s.transport_closed(code::GOING_AWAY, "", &mut c.out);
    c.take();
    c.s.accept_init(None, ms(5), &mut c.out);
    assert!(
        c.take().is_empty(),
        "no ack, no subscribe after the socket ended"
    );
}

#[test]
fn past_the_bounds_the_session_closes_with_1008() {
    let settings = Settings {
        max_operations: 4,
        ..Settings::default()
    };
    let limit = protocol::max_waiting(4);
    assert_eq!(limit, 4 + protocol::EXTRA_WAITING);
    let mut c = Client::open(Some(GRAPHQL_TRANSPORT_WS), settings);
    c.text(r#"{"type":"connection_init"}"#);
    for i in 0..limit {
        let sub = format!(r#"{{"id":"{i}","type":"subscribe","payload":{{"query":"{{ a }}"}}}}"#);
        assert!(c.text(&sub).is_empty(), "message {i} waits");
    }
    assert_eq!(
        c.text(r#"{"id":"x","type":"complete"}"#),
        closed(code::POLICY_VIOLATION, protocol::TOO_MANY_WAITING, false)
    );
    // Bytes: one big message waits alone; a second one past the bound closes.
    let mut c = deciding();
    let big = format!(
        r#"{{"id":"b","type":"subscribe","payload":{{"query":"{}"}}}}"#,
        "x".repeat(protocol::MAX_WAITING_BYTES)
    );
    assert!(c.text(&big).is_empty());
    assert_eq!(
        c.text(SUB1),
        closed(code::POLICY_VIOLATION, protocol::TOO_MANY_WAITING, false)
    );
}

#[test]
fn legacy_start_and_stop_wait_too() {
    let mut c = Client::legacy();
    c.text(r#"{"type":"connection_init"}"#);
    let start = r#"{"id":"1","type":"start","payload":{"query":"{ a }"}}"#;
    assert!(c.text(start).is_empty());
    assert!(c.text(r#"{"id":"1","type":"stop"}"#).is_empty());
    assert!(c.text(start).is_empty());
    c.s.accept_init(None, ms(5), &mut c.out);
    let op = r#"{"query":"{ a }"}"#;
    assert_eq!(
        c.take(),
        [
            send(r#"{"type":"connection_ack"}"#),
            send(r#"{"type":"ka"}"#),
            subscribe_event("1", op),
            app(Event::Complete { id: "1".into() }),
            subscribe_event("1", op),
        ]
    );
    assert_eq!(c.s.active(), 1);
    // Rejected: what waited is dropped; the client hears connection_error and 1011.
    let mut c = Client::legacy();
    c.text(r#"{"type":"connection_init"}"#);
    c.text(start);
    c.s.reject_init("nope", &mut c.out);
    let out = c.take();
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::App(Event::Subscribe { .. }))),
        "{out:?}"
    );
    assert!(matches!(
        out.last(),
        Some(Output::App(Event::Closed {
            code: code::INTERNAL,
            ..
        }))
    ));
}

#[test]
fn waiting_costs_nothing_before_and_after() {
    // Sessions that never wait allocate nothing for it (footprint.rs counts the rest);
    // the queue is freed by the ack.
    let settings = Settings::default();
    let mut sink = Counter::default();
    let mut s = Session::open(Some(GRAPHQL_TRANSPORT_WS), &settings, t0(), &mut sink);
    s.on_text(r#"{"type":"connection_init"}"#, t0(), &mut sink);
    let (n, ()) = allocations(|| s.on_text(SUB1, t0(), &mut sink));
    assert_eq!(n, 3, "the queue, its buffer and the message's copy");
    let (_, ()) = allocations(|| s.accept_init(None, t0(), &mut sink));
    assert_eq!(s.active(), 1);
    assert_eq!(sink.events, 2, "init, then the subscribe that waited");
}
