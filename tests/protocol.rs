//! The protocol sessions from the outside, driven as the reactor will drive them: decoded
//! text in, time in, app decisions in; messages, app events and closes out (recorded by the
//! `Vec<Output>` sink). No sockets, no clock: every instant is `t0 + offset`.

use bytes::Bytes;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use subwire::protocol::{
    self, close_codes as code, AppEvent, Event, Outgoing, Output, Session, Settings, Sink,
    GRAPHQL_TRANSPORT_WS, GRAPHQL_WS,
};
use subwire::upgrade::{self, Policy};

// ---- allocation counting (per thread, so parallel tests do not disturb each other) ----

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    (ALLOCS.with(Cell::get) - before, r)
}

/// A sink that looks at everything and keeps nothing (what a reactor does, minus the copy).
#[derive(Default)]
struct Counter {
    sent: usize,
    bytes: usize,
    events: usize,
    closes: usize,
}

impl Sink for Counter {
    fn send(&mut self, msg: Outgoing<'_>) {
        self.sent += 1;
        self.bytes += msg.shared().map_or(0, |b| b.len()) + msg.as_static().map_or(0, str::len);
    }
    fn app(&mut self, event: AppEvent<'_>) {
        self.events += 1;
        if let AppEvent::Subscribe { id, payload, .. } = event {
            self.bytes += id.len() + payload.get().len();
        }
    }
    fn close(&mut self, _: u16, _: &str) {
        self.closes += 1;
    }
}

// ---- driving helpers ----

fn t0() -> Instant {
    thread_local!(static T0: Instant = Instant::now());
    T0.with(|t| *t)
}

fn ms(n: u64) -> Instant {
    t0() + Duration::from_millis(n)
}

/// One connection under test: its session and what it produced since the last look.
struct Client {
    s: Session,
    out: Vec<Output>,
}

impl Client {
    fn open(protocol: Option<&str>, settings: Settings) -> Client {
        let mut out = Vec::new();
        let s = Session::open(protocol, &settings, t0(), &mut out);
        Client { s, out }
    }
    fn transport() -> Client {
        Client::open(Some(GRAPHQL_TRANSPORT_WS), Settings::default())
    }
    fn legacy() -> Client {
        Client::open(Some(GRAPHQL_WS), Settings::default())
    }
    /// A graphql-transport-ws client past `connection_init` and the app's ack.
    fn acked() -> Client {
        Client::acked_with(Settings::default())
    }
    fn acked_with(settings: Settings) -> Client {
        let mut c = Client::open(Some(GRAPHQL_TRANSPORT_WS), settings);
        c.text(r#"{"type":"connection_init"}"#);
        c.s.accept_init(None, ms(1), &mut c.out);
        assert_eq!(c.take(), [send(r#"{"type":"connection_ack"}"#)]);
        c
    }
    fn legacy_acked() -> Client {
        let mut c = Client::legacy();
        c.text(r#"{"type":"connection_init"}"#);
        c.s.accept_init(None, ms(0), &mut c.out);
        c.take();
        c
    }
    fn text(&mut self, text: &str) -> Vec<Output> {
        self.s.on_text(text, ms(1), &mut self.out);
        self.take()
    }
    fn take(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }
    fn next(&mut self, id: &str, payload: &'static str) -> Vec<Output> {
        let sent = self.s.next(
            id,
            0,
            &Bytes::from_static(payload.as_bytes()),
            &mut self.out,
        );
        assert_eq!(sent, !self.out.is_empty());
        self.take()
    }
}

fn send(s: &str) -> Output {
    Output::Send(s.into())
}

fn app(e: Event) -> Output {
    Output::App(e)
}

/// The close a session makes, and the `Closed` event that goes with it.
fn closed(code: u16, reason: &str, acknowledged: bool) -> [Output; 2] {
    [
        Output::Close {
            code,
            reason: reason.into(),
        },
        app(Event::Closed {
            code,
            reason: reason.into(),
            acknowledged,
        }),
    ]
}

fn subscribe_event(id: &str, payload: &str) -> Output {
    app(Event::Subscribe {
        id: id.into(),
        payload: payload.into(),
    })
}

// ---- subprotocol choice ----

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

// ---- graphql-transport-ws ----

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
    c.s.transport_closed(1000, "bye", &mut c.out);
    c.s.transport_closed(1000, "bye", &mut c.out);
    assert_eq!(
        c.take(),
        [app(Event::Closed {
            code: 1000,
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
    c.s.transport_closed(1006, "", &mut c.out);
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
fn subscribe_before_ack_closes_4401() {
    let sub = r#"{"id":"1","type":"subscribe","payload":{"query":"{ a }"}}"#;
    let mut c = Client::transport();
    assert_eq!(
        c.text(sub),
        closed(code::UNAUTHORIZED, "Unauthorized", false)
    );
    let mut c = Client::transport();
    c.text(r#"{"type":"connection_init"}"#);
    assert_eq!(
        c.text(sub),
        closed(code::UNAUTHORIZED, "Unauthorized", false)
    );
    // The message is checked first: a malformed subscribe before the ack is a 4400.
    let mut c = Client::transport();
    let out = c.text(r#"{"id":"1","type":"subscribe"}"#);
    assert!(
        matches!(&out[0], Output::Close { code: 4400, .. }),
        "{out:?}"
    );
}

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

    // A long id: the reason is cut to the close frame's 123 bytes.
    let mut c = Client::acked();
    let long = "x".repeat(200);
    c.text(&sub(&long));
    let out = c.text(&sub(&long));
    let Output::Close { code, reason } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(*code, 4409);
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

#[test]
fn malformed_messages_close_4400() {
    let subscribe_ok = r#""payload":{"query":"{ a }"}"#;
    let table: &[(&str, &str)] = &[
        ("[]", "A message must be a JSON object, got an array"),
        ("\"hi\"", "A message must be a JSON object, got a string"),
        ("42", "A message must be a JSON object, got a number"),
        ("null", "A message must be a JSON object, got null"),
        ("{}", "A message needs a 'type'"),
        (r#"{"type":""}"#, "A message needs a 'type'"),
        (r#"{"type":null}"#, "A message needs a 'type'"),
        (
            r#"{"type":7}"#,
            "A message's 'type' must be a string, got a number",
        ),
        (
            r#"{"type":"subscription"}"#,
            "Unknown message type 'subscription'",
        ),
        (
            r#"{"type":"start","id":"1"}"#,
            "Unknown message type 'start'",
        ),
        (
            r#"{"type":"next","id":"1","payload":{}}"#,
            "'next' is a server message; a client may not send it",
        ),
        (
            r#"{"type":"connection_ack"}"#,
            "'connection_ack' is a server message; a client may not send it",
        ),
        (
            &format!(r#"{{"type":"subscribe","id":1,{subscribe_ok}}}"#),
            "'subscribe' needs a string 'id', got a number",
        ),
        (
            &format!(r#"{{"type":"subscribe",{subscribe_ok}}}"#),
            "'subscribe' needs a string 'id', got nothing",
        ),
        (
            &format!(r#"{{"type":"subscribe","id":"",{subscribe_ok}}}"#),
            "'subscribe' needs a non-empty 'id'",
        ),
        (
            r#"{"type":"subscribe","id":"1"}"#,
            "'subscribe' needs an object 'payload', got nothing",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":null}"#,
            "'subscribe' needs an object 'payload', got null",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":"{ a }"}"#,
            "'subscribe' needs an object 'payload', got a string",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":{}}"#,
            "'subscribe' payload needs a string 'query', got nothing",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":{"query":{}}}"#,
            "'subscribe' payload needs a string 'query', got an object",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }","variables":[]}}"#,
            "'subscribe' payload 'variables' must be an object or null, got an array",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }","operationName":3}}"#,
            "'subscribe' payload 'operationName' must be a string or null, got a number",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }","extensions":true}}"#,
            "'subscribe' payload 'extensions' must be an object or null, got a boolean",
        ),
        (
            r#"{"type":"complete","id":false}"#,
            "'complete' needs a string 'id', got a boolean",
        ),
        (
            r#"{"type":"complete","id":""}"#,
            "'complete' needs a non-empty 'id'",
        ),
        (
            r#"{"type":"connection_init","payload":"token"}"#,
            "'connection_init' payload must be an object or null, got a string",
        ),
        (
            r#"{"type":"pong","payload":1}"#,
            "'pong' payload must be an object or null, got a number",
        ),
    ];
    for (text, reason) in table {
        let mut c = Client::acked();
        assert_eq!(
            c.text(text),
            closed(code::BAD_REQUEST, reason, true),
            "{text}"
        );
        assert!(c.s.is_closed());
    }
    // Not JSON at all: the reason carries the parser's complaint.
    for text in [
        "",
        "{",
        "{\"type\":\"ping\"",
        "{'type':'ping'}",
        "[1,",
        "nul",
    ] {
        let mut c = Client::acked();
        let out = c.text(text);
        match &out[..] {
            [Output::Close { code: 4400, reason }, Output::App(Event::Closed { code: 4400, .. })]
                if reason.starts_with("Invalid JSON: ") => {}
            other => panic!("{text:?}: {other:?}"),
        }
    }
    // A repeated field is caught by the parser too.
    let mut c = Client::acked();
    let out = c.text(r#"{"type":"ping","type":"pong"}"#);
    assert!(
        matches!(&out[0], Output::Close { code: 4400, reason } if reason.contains("duplicate field `type`")),
        "{out:?}"
    );
}

#[test]
fn next_frames_escape_the_id_and_keep_the_payload_bytes() {
    let mut c = Client::acked();
    // JSON escapes in the client's id: quote, backslash, newline, tab, unicode escapes.
    let wire_id = r#""a\"b\\c\n\t\u00e9\u2028</script>""#;
    let out = c.text(&format!(
        r#"{{"type":"subscribe","id":{wire_id},"payload":{{"query":"{{ a }}"}}}}"#
    ));
    let id = "a\"b\\c\n\té\u{2028}</script>";
    assert_eq!(out, [subscribe_event(id, r#"{"query":"{ a }"}"#)]);
    // The payload goes out exactly as given (spacing, key order, number forms).
    let payload = "{ \"data\" : {\"z\":1.50e0, \"a\":[ ]} }";
    let framed = format!(
        r#"{{"id":"a\"b\\c\n\té{}</script>","type":"next","payload":{payload}}}"#,
        '\u{2028}'
    );
    assert_eq!(c.next(id, payload), [send(&framed)]);
    // The frame is JSON and names the id the client sent.
    let Output::Send(text) = &c.next(id, payload)[0] else {
        unreachable!()
    };
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(v["id"], id);
    assert_eq!(v["type"], "next");
    // The same id written two ways is the same operation.
    assert_eq!(
        c.text(r#"{"type":"complete","id":"a\"b\\c\n\t\u00E9\u2028<\/script>"}"#),
        [app(Event::Complete { id: id.into() })]
    );
}

#[test]
fn internal_error_4500_cut_at_a_char_boundary() {
    let mut c = Client::acked();
    // 1 + 50×3 bytes: byte 123 falls inside a '€', so the cut lands at 121.
    let message = format!("a{}", "€".repeat(50));
    c.s.internal_error(&message, &mut c.out);
    let want = &message[..121];
    assert!(!message.is_char_boundary(123) && !message.is_char_boundary(122));
    assert_eq!(c.take(), closed(code::INTERNAL_SERVER_ERROR, want, true));
    // Short messages go as they are.
    let mut c = Client::transport();
    c.s.internal_error("The GraphQL schema is not provided", &mut c.out);
    assert_eq!(
        c.take(),
        closed(4500, "The GraphQL schema is not provided", false)
    );
}

#[test]
fn server_close_and_dispose() {
    let mut c = Client::acked();
    c.s.close(code::GOING_AWAY, "Going away", &mut c.out);
    assert_eq!(c.take(), closed(1001, "Going away", true));
    c.s.close(code::NORMAL, "", &mut c.out);
    assert!(c.take().is_empty());
    assert!(!c.s.acknowledged());
}

// ---- legacy graphql-ws (subscriptions-transport-ws) ----

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
    // Apollo's client sends `start` without waiting for the ack: it goes to the app.
    let op = r#"{"query":"subscription { tick }","variables":{},"operationName":"T"}"#;
    assert_eq!(
        c.text(&format!(r#"{{"id":"1","type":"start","payload":{op}}}"#)),
        [subscribe_event("1", op)]
    );
    c.s.accept_init(Some(r#"{"ignored":true}"#), ms(10), &mut c.out);
    assert_eq!(
        c.take(),
        [
            send(r#"{"type":"connection_ack"}"#),
            send(r#"{"type":"ka"}"#)
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
    c.s.close(1000, "", &mut c.out);
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
                code: 1011,
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
    c.s.transport_closed(1006, "", &mut c.out);
    assert_eq!(
        c.take(),
        [app(Event::Closed {
            code: 1006,
            reason: "".into(),
            acknowledged: true
        })]
    );
    assert_eq!(c.s.next_deadline(), None, "no ka after the end");
}

// ---- footprint ----

#[test]
fn session_is_small_and_its_hot_paths_do_not_allocate() {
    let size = std::mem::size_of::<Session>();
    println!("size_of::<Session>() = {size} bytes");
    assert!(size <= 56, "Session grew to {size} bytes");

    let settings = Settings::default();
    let mut sink = Counter::default();
    let (n, mut s) =
        allocations(|| Session::open(Some(GRAPHQL_TRANSPORT_WS), &settings, t0(), &mut sink));
    assert_eq!(n, 0, "opening a session");
    let (n, ()) = allocations(|| {
        s.on_text(
            r#"{"type":"connection_init","payload":{"a":1}}"#,
            t0(),
            &mut sink,
        )
    });
    assert_eq!(n, 0, "init");
    let (n, ()) = allocations(|| s.accept_init(Some("{}"), t0(), &mut sink));
    assert_eq!(n, 0, "ack");
    let (n, ()) =
        allocations(|| s.on_text(r#"{"type":"ping","payload":{"x":1}}"#, t0(), &mut sink));
    assert_eq!(n, 0, "ping");
    // Subscribing stores the id: the Vec of ids and the id itself, nothing more.
    let (n, ()) = allocations(|| {
        s.on_text(
            r#"{"id":"1","type":"subscribe","payload":{"query":"subscription { a }"}}"#,
            t0(),
            &mut sink,
        )
    });
    assert_eq!(n, 2, "subscribe");
    // serde_json's one scratch buffer when a skipped value nests (here `variables` inside
    // `payload`): the only allocation a message costs beyond the ids.
    let (n, ()) = allocations(|| {
        s.on_text(
            r#"{"id":"2","type":"subscribe","payload":{"query":"{ a }","variables":{"v":1}}}"#,
            t0(),
            &mut sink,
        )
    });
    assert_eq!(
        n, 3,
        "subscribe with variables (id + serde scratch + the id Vec growing past its one slot)"
    );
    assert!(s.complete("2", 0, &mut sink));
    let payload = Bytes::from_static(br#"{"data":{"a":1}}"#);
    let (n, sent) = allocations(|| s.next("1", 0, &payload, &mut sink));
    assert!(sent);
    assert_eq!(n, 0, "next");
    // Completing the last operation frees the id set.
    let (n, ()) = allocations(|| {
        s.on_text(r#"{"id":"1","type":"complete"}"#, t0(), &mut sink);
    });
    assert_eq!(n, 0, "complete");
    assert_eq!(s.active(), 0);
    assert_eq!((sink.sent, sink.events, sink.closes), (4, 4, 0));
    assert!(sink.bytes > 0);
}
