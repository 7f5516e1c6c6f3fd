//! graphql-transport-ws: the happy path, `connection_init` and its ack, rejection, timeouts.

use crate::support::*;

#[test]
fn transport_happy_path() {
    let mut c = Client::transport();
    assert_eq!(c.s.protocol(), Some(GRAPHQL_TRANSPORT_WS));
    assert!(c.take().is_empty());
    assert_eq!(
        c.text(r#"{"type":"connection_init","payload":{"token":"t\"1"}}"#),
        [app(Event::Init {
            payload: Some(r#"{"token":"t\"1"}"#.into())
        })]
    );
    assert!(!c.s.acknowledged());
    c.s.accept_init(Some(r#"{"server":"subwire"}"#), ms(5), &mut c.out);
    assert_eq!(
        c.take(),
        [send(
            r#"{"type":"connection_ack","payload":{"server":"subwire"}}"#
        )]
    );
    assert!(c.s.acknowledged());

    let op = r#"{"query":"subscription { tick }","variables":{"n":1},"operationName":null,"extensions":{}}"#;
    assert_eq!(
        c.text(&format!(
            r#"{{"id":"1","type":"subscribe","payload":{op}}}"#
        )),
        [subscribe_event("1", op)]
    );
    assert_eq!(c.s.active(), 1);
    assert_eq!(
        c.next("1", r#"{"data":{"tick":1}}"#),
        [send(
            r#"{"id":"1","type":"next","payload":{"data":{"tick":1}}}"#
        )]
    );
    assert_eq!(
        c.next("1", r#"{"data":{"tick":2}}"#),
        [send(
            r#"{"id":"1","type":"next","payload":{"data":{"tick":2}}}"#
        )]
    );
    assert!(c.s.complete("1", 0, &mut c.out));
    assert_eq!(c.take(), [send(r#"{"id":"1","type":"complete"}"#)]);
    assert_eq!(c.s.active(), 0);

    // A query over the socket: next, then complete; and a client-side complete.
    c.text(r#"{"id":"q","type":"subscribe","payload":{"query":"{ a }"}}"#);
    c.next("q", r#"{"data":{"a":1}}"#);
    assert!(c.s.complete("q", 0, &mut c.out));
    c.take();
    c.text(r#"{"id":"s","type":"subscribe","payload":{"query":"subscription { b }"}}"#);
    assert_eq!(
        c.text(r#"{"id":"s","type":"complete"}"#),
        [app(Event::Complete { id: "s".into() })]
    );
    // The app's late results for it are dropped.
    assert!(c.next("s", r#"{"data":{"b":1}}"#).is_empty());
    assert!(!c.s.complete("s", 0, &mut c.out));
    assert!(c.take().is_empty());

    // The client closes normally; the app hears it once.
    c.s.transport_closed(code::NORMAL, "bye", &mut c.out);
    c.s.transport_closed(code::NORMAL, "bye", &mut c.out);
    assert_eq!(
        c.take(),
        [app(Event::Closed {
            code: code::NORMAL,
            reason: "bye".into(),
            acknowledged: true
        })]
    );
    assert!(c.s.is_closed());
}

#[test]
fn init_payload_absent_or_null_and_bare_ack() {
    for init in [
        r#"{"type":"connection_init"}"#,
        r#"{"type":"connection_init","payload":null}"#,
    ] {
        let mut c = Client::transport();
        assert_eq!(c.text(init), [app(Event::Init { payload: None })]);
        c.s.accept_init(None, ms(1), &mut c.out);
        assert_eq!(c.take(), [send(r#"{"type":"connection_ack"}"#)]);
        // Accepting twice does nothing.
        c.s.accept_init(None, ms(1), &mut c.out);
        assert!(c.take().is_empty());
    }
}

#[test]
fn rejected_init_closes_4403() {
    let mut c = Client::transport();
    c.text(r#"{"type":"connection_init","payload":{"token":"bad"}}"#);
    c.s.reject_init("ignored by this protocol", &mut c.out);
    assert_eq!(c.take(), closed(code::FORBIDDEN, "Forbidden", false));
    // A closed session is inert.
    assert!(c.text(r#"{"type":"ping"}"#).is_empty());
    c.s.accept_init(None, ms(2), &mut c.out);
    c.s.transport_closed(code::ABNORMAL, "", &mut c.out);
    assert!(c.take().is_empty());
}

#[test]
fn second_init_closes_4429() {
    // While the app decides...
    let mut c = Client::transport();
    c.text(r#"{"type":"connection_init"}"#);
    assert_eq!(
        c.text(r#"{"type":"connection_init"}"#),
        closed(
            code::TOO_MANY_INITS,
            "Too many initialisation requests",
            false
        )
    );
    // ... and after the ack.
    let mut c = Client::acked();
    assert_eq!(
        c.text(r#"{"type":"connection_init","payload":{}}"#),
        closed(
            code::TOO_MANY_INITS,
            "Too many initialisation requests",
            true
        )
    );
}

#[test]
fn init_timeout_closes_4408_at_the_deadline_not_before() {
    let mut c = Client::transport();
    assert_eq!(c.s.next_deadline(), Some(ms(3000)));
    c.s.on_timeout(ms(2999), &mut c.out);
    assert!(c.take().is_empty() && !c.s.is_closed());
    c.s.on_timeout(ms(3000), &mut c.out);
    assert_eq!(
        c.take(),
        closed(
            code::INIT_TIMEOUT,
            "Connection initialisation timeout",
            false
        )
    );
    assert_eq!(c.s.next_deadline(), None);

    // connection_init stops the clock, even while the app takes its time.
    let mut c = Client::transport();
    c.text(r#"{"type":"connection_init"}"#);
    assert_eq!(c.s.next_deadline(), None);
    c.s.on_timeout(ms(10_000), &mut c.out);
    assert!(c.take().is_empty());

    // A custom timeout, and none at all.
    let custom = Settings {
        init_timeout: Some(Duration::from_millis(50)),
        ..Settings::default()
    };
    let c = Client::open(Some(GRAPHQL_TRANSPORT_WS), custom);
    assert_eq!(c.s.next_deadline(), Some(ms(50)));
    let off = Settings {
        init_timeout: None,
        ..Settings::default()
    };
    let mut c = Client::open(Some(GRAPHQL_TRANSPORT_WS), off);
    assert_eq!(c.s.next_deadline(), None);
    c.s.on_timeout(ms(1_000_000), &mut c.out);
    assert!(c.take().is_empty());
}

#[test]
fn subscribe_before_init_closes_4401() {
    let sub = r#"{"id":"1","type":"subscribe","payload":{"query":"{ a }"}}"#;
    let mut c = Client::transport();
    assert_eq!(
        c.text(sub),
        closed(code::UNAUTHORIZED, "Unauthorized", false)
    );
    // After `connection_init` it waits for the app's decision instead (waiting.rs).
    let mut c = Client::transport();
    c.text(r#"{"type":"connection_init"}"#);
    assert!(c.text(sub).is_empty());
    c.s.reject_init("no", &mut c.out);
    assert_eq!(c.take(), closed(code::FORBIDDEN, "Forbidden", false));
    // The message is checked first: a malformed subscribe before the ack is a 4400.
    let mut c = Client::transport();
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
}
