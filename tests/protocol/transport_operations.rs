//! graphql-transport-ws operations: ids, the per-connection cap, ping/pong.

use crate::support::*;

#[test]
fn duplicate_id_closes_4409_and_ids_are_reusable() {
    let sub =
        |id: &str| format!(r#"{{"id":"{id}","type":"subscribe","payload":{{"query":"{{ a }}"}}}}"#);
    let mut c = Client::acked();
    c.text(&sub("a"));
    // Reuse after the server completes it, after the server errors it, after the client
    // completes it.
    assert!(c.s.complete("a", 0, &mut c.out));
    c.take();
    assert_eq!(c.text(&sub("a")).len(), 1);
    let errors = Bytes::from_static(br#"[{"message":"boom"}]"#);
    assert!(c.s.error("a", 0, &errors, &mut c.out));
    assert_eq!(
        c.take(),
        [send(
            r#"{"id":"a","type":"error","payload":[{"message":"boom"}]}"#
        )]
    );
    assert!(
        !c.s.complete("a", 0, &mut c.out),
        "error ends the operation"
    );
    assert_eq!(c.text(&sub("a")).len(), 1);
    assert_eq!(c.text(r#"{"id":"a","type":"complete"}"#).len(), 1);
    assert_eq!(c.text(&sub("a")).len(), 1);
    // A client complete for an id that is not active is ignored.
    assert!(c.text(r#"{"id":"zzz","type":"complete"}"#).is_empty());
    assert_eq!(
        c.text(&sub("a")),
        closed(
            code::SUBSCRIBER_EXISTS,
            "Subscriber for a already exists",
            true
        )
    );

    // A reused id is a new operation: what the app sends for the old one (its serial) is
    // dropped, even when it arrives after the client subscribed again with the same id.
    let mut c = Client::acked();
    c.text(&sub("r"));
    let old = c.s.serial("r").unwrap();
    assert_eq!(c.text(r#"{"id":"r","type":"complete"}"#).len(), 1);
    c.text(&sub("r"));
    let new = c.s.serial("r").unwrap();
    assert_ne!(old, new);
    let payload = Bytes::from_static(br#"{"data":{"a":1}}"#);
    assert!(!c.s.next("r", old, &payload, &mut c.out));
    assert!(!c.s.error("r", old, &errors, &mut c.out));
    assert!(!c.s.complete("r", old, &mut c.out));
    assert!(c.take().is_empty() && c.s.is_active("r", new) && !c.s.is_active("r", old));
    assert!(c.s.next("r", new, &payload, &mut c.out));
    assert!(c.s.complete("r", new, &mut c.out));
    assert_eq!(c.take().len(), 2);

    // The same with more ids than the session scans by serial (a hashed set): the old
    // operation's answers are still told from the new one's.
    let mut c = Client::acked();
    for i in 0..=16 {
        c.text(&sub(&format!("other{i}")));
    }
    c.text(&sub("r"));
    let old = c.s.serial("r").unwrap();
    assert_eq!(c.s.holds(old), None, "too many ids to tell by serial");
    c.text(r#"{"id":"r","type":"complete"}"#);
    c.text(&sub("r"));
    let new = c.s.serial("r").unwrap();
    c.take();
    assert!(!c.s.next("r", old, &payload, &mut c.out));
    assert!(!c.s.complete("r", old, &mut c.out));
    assert!(c.take().is_empty() && c.s.is_active("r", 0));
    assert!(c.s.next("r", new, &payload, &mut c.out));
    assert!(c.s.complete("r", 0, &mut c.out));
    assert_eq!(c.take().len(), 2);
    assert!(!c.s.is_active("r", 0));

    // A long id: the reason is cut to the close frame's 123 bytes.
    let mut c = Client::acked();
    let long = "x".repeat(200);
    c.text(&sub(&long));
    let out = c.text(&sub(&long));
    let Output::Close { code, reason } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(*code, code::SUBSCRIBER_EXISTS);
    assert_eq!(reason.len(), 123);
    assert!(reason.starts_with("Subscriber for xxx"));
}

#[test]
fn many_operations_on_one_connection() {
    let mut c = Client::acked_with(Settings {
        max_operations: 1000,
        ..Settings::default()
    });
    for i in 0..1000 {
        let out = c.text(&format!(
            r#"{{"id":"op-{i}","type":"subscribe","payload":{{"query":"subscription {{ a }}"}}}}"#
        ));
        assert_eq!(out.len(), 1);
    }
    assert_eq!(c.s.active(), 1000);
    assert_eq!(c.next("op-500", "1").len(), 1);
    assert!(c.next("op-1000", "1").is_empty());
    for i in 0..1000 {
        assert!(c.s.complete(&format!("op-{i}"), 0, &mut c.out));
    }
    assert_eq!(c.take().len(), 1000);
    assert_eq!(c.s.active(), 0);
}

#[test]
fn operations_past_the_cap_get_an_error_and_the_connection_stays() {
    let limit = Settings {
        max_operations: 2,
        ..Settings::default()
    };
    let sub =
        |id: &str| format!(r#"{{"id":"{id}","type":"subscribe","payload":{{"query":"{{a}}"}}}}"#);
    let mut c = Client::acked_with(limit);
    assert_eq!(c.text(&sub("a")).len(), 1);
    assert_eq!(c.text(&sub("b")).len(), 1);
    let out = c.text(&sub("c"));
    let [Output::Send(refusal)] = &out[..] else {
        panic!("expected one error message, got {out:?}")
    };
    assert!(
        refusal.starts_with(
            r#"{"id":"c","type":"error","payload":[{"message":"Too many subscriptions"#
        ),
        "{refusal}"
    );
    assert!(refusal.contains("maxSubscriptionsPerConnection"));
    let errors: serde_json::Value = serde_json::from_str(refusal).unwrap();
    assert!(errors["payload"].is_array());
    assert!(!c.s.is_closed() && !c.s.is_active("c", 0) && c.s.active() == 2);
    // A duplicate of an active id is still 4409, cap or not.
    assert_eq!(
        c.text(&sub("a"))[0],
        closed(
            code::SUBSCRIBER_EXISTS,
            "Subscriber for a already exists",
            true
        )[0]
    );
    // Completing one frees a place.
    let mut c = Client::acked_with(limit);
    c.text(&sub("a"));
    c.text(&sub("b"));
    c.text(r#"{"id":"a","type":"complete"}"#);
    assert_eq!(
        c.text(&sub("c")),
        [subscribe_event("c", r#"{"query":"{a}"}"#)]
    );

    // Legacy: an `error` with {message}; restarting an active id is not a new operation.
    let mut c = Client::open(Some(GRAPHQL_WS), limit);
    c.text(r#"{"type":"connection_init"}"#);
    c.s.accept_init(None, ms(0), &mut c.out);
    c.take();
    let start =
        |id: &str| format!(r#"{{"id":"{id}","type":"start","payload":{{"query":"{{a}}"}}}}"#);
    c.text(&start("1"));
    c.text(&start("2"));
    let out = c.text(&start("3"));
    let [Output::Send(refusal)] = &out[..] else {
        panic!("expected one error message, got {out:?}")
    };
    assert!(
        refusal.starts_with(
            r#"{"id":"3","type":"error","payload":{"message":"Too many subscriptions"#
        ),
        "{refusal}"
    );
    assert_eq!(
        c.text(&start("2")).len(),
        2,
        "restart: Complete then Subscribe"
    );
    assert_eq!(c.s.active(), 2);
}

#[test]
fn ping_pong() {
    // Allowed before init, answered here with the payload echoed byte for byte.
    let mut c = Client::transport();
    assert_eq!(c.text(r#"{"type":"ping"}"#), [send(r#"{"type":"pong"}"#)]);
    assert_eq!(
        c.text(r#"{"type":"ping","payload":null}"#),
        [send(r#"{"type":"pong"}"#)]
    );
    assert_eq!(
        c.text(r#"{"payload": {"t": [1, 2.50]} ,"type":"ping"}"#),
        [send(r#"{"type":"pong","payload":{"t": [1, 2.50]}}"#)]
    );
    assert_eq!(
        c.text(r#"{"type":"ping","payload":{}}"#),
        [send(r#"{"type":"pong","payload":{}}"#)]
    );
    // A pong needs no answer.
    assert!(c.text(r#"{"type":"pong"}"#).is_empty());
    assert!(c.text(r#"{"type":"pong","payload":{"x":1}}"#).is_empty());
    assert!(!c.s.is_closed());
    // A ping payload must be an object.
    assert_eq!(
        c.text(r#"{"type":"ping","payload":[1]}"#),
        closed(
            code::BAD_REQUEST,
            "'ping' payload must be an object or null, got an array",
            false
        )
    );
}
