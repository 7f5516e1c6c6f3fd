//! graphql-transport-ws work the app takes over (`AppHandles`: graphql-ws's
//! `jsonMessageReviver`, `onPing`, `onPong`) and whole messages written by the app
//! (`jsonMessageReplacer`). The session still decides phases, ids and close codes.

use crate::support::*;
use subwire::protocol::{AppHandles, WholeKind};

fn with(app: AppHandles) -> Client {
    Client::open(
        Some(GRAPHQL_TRANSPORT_WS),
        Settings {
            app,
            ..Settings::default()
        },
    )
}

fn parsing() -> Client {
    with(AppHandles {
        parse: true,
        ping: true,
        pong: false,
    })
}

fn envelope(c: &mut Client, text: &str) -> Vec<Output> {
    c.s.on_app_message(text, &mut c.out);
    c.take()
}

#[test]
fn app_parsed_messages_go_out_unread_and_come_back_as_envelopes() {
    let mut c = parsing();
    // Whatever the client sends goes to the app as it is, even what the session would refuse.
    for text in [
        r#"{"type":"CONNECTION_INIT"}"#,
        "not json",
        r#"{"type":"next"}"#,
    ] {
        assert_eq!(c.text(text), [app(Event::Message { text: text.into() })]);
    }
    // The app read `CONNECTION_INIT` as connection_init (its reviver) and kept the payload
    // under token 1.
    assert_eq!(
        envelope(&mut c, r#"{"type":"connection_init","payload":1}"#),
        [app(Event::Init {
            payload: Some("1".into())
        })]
    );
    // A subscribe before the ack waits, then comes back with its token after the ack.
    assert!(envelope(&mut c, r#"{"type":"subscribe","id":"a","payload":2}"#).is_empty());
    c.s.accept_init(None, ms(2), &mut c.out);
    assert_eq!(
        c.take(),
        [
            send(r#"{"type":"connection_ack"}"#),
            subscribe_event("a", "2")
        ]
    );
    // The session's rules still hold for envelopes: a second init closes with 4429.
    assert_eq!(
        envelope(&mut c, r#"{"type":"connection_init"}"#),
        closed(
            code::TOO_MANY_INITS,
            "Too many initialisation requests",
            true
        )
    );
    assert!(c.text(r#"{"type":"ping"}"#).is_empty(), "closed: nothing");
}

#[test]
fn app_parsed_ids_follow_the_usual_rules() {
    let mut c = parsing();
    envelope(&mut c, r#"{"type":"connection_init"}"#);
    c.s.accept_init(None, ms(1), &mut c.out);
    c.take();
    assert_eq!(
        envelope(&mut c, r#"{"type":"subscribe","id":"1","payload":7}"#),
        [subscribe_event("1", "7")]
    );
    assert_eq!(
        envelope(&mut c, r#"{"type":"complete","id":"1"}"#),
        [app(Event::Complete { id: "1".into() })]
    );
    envelope(&mut c, r#"{"type":"subscribe","id":"2","payload":8}"#);
    assert_eq!(
        envelope(&mut c, r#"{"type":"subscribe","id":"2","payload":9}"#),
        closed(
            code::SUBSCRIBER_EXISTS,
            "Subscriber for 2 already exists",
            true
        )
    );
    // Subscribe before connection_init: 4401, as for a client message.
    let mut c = parsing();
    assert_eq!(
        envelope(&mut c, r#"{"type":"subscribe","id":"1","payload":1}"#),
        closed(code::UNAUTHORIZED, "Unauthorized", false)
    );
}

#[test]
fn an_app_parsed_subscribe_too_many_is_refused_with_its_token() {
    let mut c = Client::open(
        Some(GRAPHQL_TRANSPORT_WS),
        Settings {
            max_operations: 1,
            app: AppHandles {
                parse: true,
                ping: true,
                pong: false,
            },
            ..Settings::default()
        },
    );
    envelope(&mut c, r#"{"type":"connection_init"}"#);
    c.s.accept_init(None, ms(1), &mut c.out);
    c.take();
    envelope(&mut c, r#"{"type":"subscribe","id":"1","payload":1}"#);
    let out = envelope(&mut c, r#"{"type":"subscribe","id":"2","payload":2}"#);
    assert!(matches!(&out[0], Output::Send(s) if s.contains(r#""type":"error""#)));
    assert_eq!(
        out[1],
        app(Event::Refused {
            id: "2".into(),
            payload: "2".into()
        }),
        "the app may forget what it kept for token 2"
    );
}

#[test]
fn pings_go_to_the_app_which_sends_the_pong_whole() {
    let mut c = with(AppHandles {
        ping: true,
        ..AppHandles::default()
    });
    // Before connection_init too, as graphql-ws answers pings in any phase.
    assert_eq!(
        c.text(r#"{"type":"ping","payload":{"x":1}}"#),
        [app(Event::Ping {
            payload: Some(r#"{"x":1}"#.into())
        })]
    );
    assert_eq!(
        c.text(r#"{"type":"ping"}"#),
        [app(Event::Ping { payload: None })]
    );
    // Its shape is still checked.
    let mut bad = with(AppHandles {
        ping: true,
        ..AppHandles::default()
    });
    let out = bad.text(r#"{"type":"ping","payload":[1]}"#);
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
    c.s.pong(&Bytes::from_static(br#"{"type":"PONG"}"#), &mut c.out);
    assert_eq!(c.take(), [send(r#"{"type":"PONG"}"#)]);
    // Pongs are the app's only if it asked for them.
    assert!(c.text(r#"{"type":"pong"}"#).is_empty());
    let mut p = with(AppHandles {
        pong: true,
        ..AppHandles::default()
    });
    assert_eq!(
        p.text(r#"{"type":"pong","payload":{"y":2}}"#),
        [app(Event::Pong {
            payload: Some(r#"{"y":2}"#.into())
        })]
    );
    assert_eq!(
        p.text(r#"{"type":"ping"}"#),
        [send(r#"{"type":"pong"}"#)],
        "pings stay in Rust"
    );
    c.s.close(code::NORMAL, "", &mut c.out);
    c.take();
    c.s.pong(&Bytes::from_static(br#"{"type":"pong"}"#), &mut c.out);
    assert!(c.take().is_empty(), "nothing once closed");
}

#[test]
fn whole_messages_from_the_app_follow_the_id_rules() {
    let mut c = Client::transport();
    c.text(r#"{"type":"connection_init"}"#);
    c.s.accept_init_whole(
        &Bytes::from_static(br#"{"type":"CONNECTION_ACK"}"#),
        ms(1),
        &mut c.out,
    );
    assert_eq!(c.take(), [send(r#"{"type":"CONNECTION_ACK"}"#)]);
    c.text(r#"{"id":"1","type":"subscribe","payload":{"query":"{ a }"}}"#);
    let serial = c.s.serial("1").unwrap();
    let msg = |s: &'static str| Bytes::from_static(s.as_bytes());
    assert!(c
        .s
        .send_whole(WholeKind::Next, "1", serial, &msg("N1"), &mut c.out));
    assert!(!c
        .s
        .send_whole(WholeKind::Next, "1", serial + 1, &msg("X"), &mut c.out));
    assert!(!c
        .s
        .send_whole(WholeKind::Next, "2", 0, &msg("X"), &mut c.out));
    assert!(c
        .s
        .send_whole(WholeKind::Complete, "1", serial, &msg("C1"), &mut c.out));
    assert!(!c
        .s
        .send_whole(WholeKind::Next, "1", 0, &msg("X"), &mut c.out));
    assert_eq!(c.take(), [send("N1"), send("C1")]);
    c.text(r#"{"id":"2","type":"subscribe","payload":{"query":"{ a }"}}"#);
    assert!(c
        .s
        .send_whole(WholeKind::Error, "2", 0, &msg("E2"), &mut c.out));
    assert_eq!(c.take(), [send("E2")]);
    assert_eq!(c.s.active(), 0, "error ends the operation");

    let mut l = Client::legacy_acked();
    l.text(r#"{"id":"1","type":"start","payload":{"query":"{ a }"}}"#);
    assert!(l
        .s
        .send_whole(WholeKind::Next, "1", 0, &msg("D1"), &mut l.out));
    assert_eq!(l.take(), [send("D1")]);
    assert!(l.s.is_active("1", 0), "data does not end it");
}

#[test]
fn a_null_ping_payload_reaches_the_app_as_null() {
    let mut c = with(AppHandles {
        ping: true,
        pong: true,
        ..AppHandles::default()
    });
    assert_eq!(
        c.text(r#"{"type":"ping","payload":null}"#),
        [app(Event::Ping {
            payload: Some("null".into())
        })]
    );
    assert_eq!(
        c.text(r#"{"type":"pong","payload":null}"#),
        [app(Event::Pong {
            payload: Some("null".into())
        })]
    );
}
