//! Session size and allocations on the hot paths.

use crate::support::*;

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
