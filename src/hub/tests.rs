//! The hub thread's handling of events, with its reactors' inboxes read by the test:
//! what each reactor is sent for updates, removals and the end of a trigger.

use super::*;
use crate::config::Config;
use crate::protocol::{Output, Session, Settings};
use crate::reactor::inbox::{Inbox, Target};
use crate::reactor::shared::Embedder;
use std::time::Duration;

/// What a client receives as the `next` (legacy `data`) message of operation `id` for a
/// hub update of `payload`: the subscriber's prefix and the body the hub sends its reactor,
/// in one frame.
fn fanned_out(id: &str, legacy: bool, payload: &'static [u8]) -> Vec<u8> {
    let (mut hub, rx, _polls) = hub(1);
    let conn = ConnId::new(0, 1, 1);
    hub.handle(HubEvent::Add {
        trigger: 1,
        conn,
        id: id.into(),
        legacy,
        serial: 0,
    });
    hub.handle(HubEvent::Update {
        trigger: 1,
        payload: Bytes::from_static(payload),
        at: Instant::now(),
    });
    let (list, _, body) = next(&rx[0]);
    [&list[0].1[..], &body[..]].concat()
}

#[test]
fn the_hub_frames_a_payload_exactly_as_the_session_would() {
    let payload = br#"{"data":{"n":1}}"#;
    // Written out by hand, with the id's JSON escapes: what graphql-ws and
    // subscriptions-transport-ws clients parse.
    let want = [
        (
            false,
            "1",
            r#"{"id":"1","type":"next","payload":{"data":{"n":1}}}"#,
        ),
        (
            true,
            "1",
            r#"{"id":"1","type":"data","payload":{"data":{"n":1}}}"#,
        ),
        (
            false,
            "op \"1\"\n",
            r#"{"id":"op \"1\"\n","type":"next","payload":{"data":{"n":1}}}"#,
        ),
        (
            true,
            "ü/✓",
            r#"{"id":"ü/✓","type":"data","payload":{"data":{"n":1}}}"#,
        ),
    ];
    for (legacy, id, text) in want {
        let hub = fanned_out(id, legacy, payload);
        assert_eq!(String::from_utf8_lossy(&hub), text, "legacy {legacy}");
        // What a session of that protocol sends for the same result.
        let mut out: Vec<Output> = Vec::new();
        let protocol = if legacy {
            "graphql-ws"
        } else {
            "graphql-transport-ws"
        };
        let now = std::time::Instant::now();
        let mut s = Session::open(Some(protocol), &Settings::default(), now, &mut out);
        s.on_text(r#"{"type":"connection_init"}"#, now, &mut out);
        s.accept_init(None, now, &mut out);
        let start = if legacy { "start" } else { "subscribe" };
        let sub = serde_json::json!({"id": id, "type": start, "payload": {"query": "{ n }"}});
        s.on_text(&sub.to_string(), now, &mut out);
        out.clear();
        assert!(s.next(id, 0, &Bytes::from_static(payload), &mut out));
        assert_eq!(out, [Output::Send(text.into())], "legacy {legacy}");
        // And the id reads back out of the prefix.
        let v: serde_json::Value = serde_json::from_slice(&hub).unwrap();
        assert_eq!(v["id"], id);
    }
}

struct Quiet;
impl Embedder for Quiet {
    fn error(&self, _: crate::error::SubwireError) {}
}

/// A hub with `reactors` inboxes (no reactor threads: the test reads the inboxes).
fn hub(reactors: usize) -> (Hub, Vec<Receiver<Command>>, Vec<mio::Poll>) {
    let config = Config {
        reactors,
        ..Config::default()
    };
    let shared = Arc::new(Shared::new(config, Box::new(Quiet), Arc::default()));
    let (mut handles, mut inboxes, mut polls) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reactors {
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0)).unwrap());
        let (tx, rx) = crossbeam_channel::unbounded();
        handles.push(Inbox { tx, waker });
        inboxes.push(rx);
        polls.push(poll);
    }
    shared.inboxes.set(handles);
    (Hub::new(shared).0, inboxes, polls)
}

/// The serial these tests give a connection's operations (`session` checks it comes back).
fn serial_of(conn: ConnId) -> u32 {
    conn.key() as u32 + 1000
}

fn add(trigger: TriggerId, conn: ConnId, id: &str, legacy: bool) -> HubEvent {
    let id = id.into();
    HubEvent::Add {
        trigger,
        conn,
        id,
        legacy,
        serial: serial_of(conn),
    }
}

/// One `Next` taken apart: (conn, prefix) per subscriber, the list, the payload.
type Taken = (Vec<(ConnId, Arc<[u8]>)>, Arc<Vec<Target>>, Bytes);

/// The (conn, prefix) of each subscriber in an inbox's one `Next`, and its list.
fn next(rx: &Receiver<Command>) -> Taken {
    match rx.try_recv() {
        Ok(Command::Next {
            payload, targets, ..
        }) => {
            let list = targets.iter().map(|t| (t.conn, t.prefix.clone())).collect();
            (list, targets, payload)
        }
        _ => panic!("expected one Next"),
    }
}

fn session(rx: &Receiver<Command>) -> Vec<(ConnId, String, Option<Bytes>)> {
    let mut all = Vec::new();
    while let Ok(cmd) = rx.try_recv() {
        match cmd {
            Command::Session {
                conn,
                op: SessionOp::Complete(id, serial),
            } => {
                assert_eq!(serial, serial_of(conn), "the subscriber's own serial");
                all.push((conn, id, None))
            }
            Command::Session {
                conn,
                op: SessionOp::Error(id, serial, errors),
            } => {
                assert_eq!(serial, serial_of(conn), "the subscriber's own serial");
                all.push((conn, id, Some(errors)))
            }
            _ => panic!("expected Session commands only"),
        }
    }
    all.sort_by_key(|x| x.0.key());
    all
}

fn prefix(id: &str, legacy: bool) -> Arc<[u8]> {
    Target::new(ConnId(0), id, legacy, 0).prefix
}

#[test]
fn updates_go_once_per_reactor_and_end_tells_every_subscriber_its_id() {
    let (mut hub, rx, _polls) = hub(2);
    let (a, b, c) = (
        ConnId::new(0, 1, 1),
        ConnId::new(1, 2, 1),
        ConnId::new(0, 3, 1),
    );
    let gauges = |hub: &Hub| {
        let s = hub.shared.stats();
        (s.triggers, s.trigger_subscriptions)
    };
    assert!(hub.handle(HubEvent::Batch(vec![
        add(7, a, "a\"1", false),
        add(7, b, "b", true),
        add(7, c, "c\n", false),
        add(7, a, "a\"1", false),
    ])));
    assert_eq!(gauges(&hub), (1, 3), "the duplicate is not counted");
    let payload = Bytes::from_static(br#"{"data":1}"#);
    let update = || HubEvent::Update {
        trigger: 7,
        payload: payload.clone(),
        at: Instant::now(),
    };
    hub.handle(update());
    let (list0, first0, body) = next(&rx[0]);
    assert_eq!(
        body,
        &br#"{"data":1}}"#[..],
        "the closing brace is appended"
    );
    let want0 = vec![(a, prefix("a\"1", false)), (c, prefix("c\n", false))];
    assert_eq!(list0, want0);
    assert_eq!(next(&rx[1]).0, vec![(b, prefix("b", true))]);
    hub.handle(update());
    assert!(
        Arc::ptr_eq(&first0, &next(&rx[0]).1),
        "unchanged: same list"
    );
    next(&rx[1]);
    hub.handle(HubEvent::Remove {
        trigger: 7,
        conn: a,
        id: "a\"1".into(),
    });
    assert_eq!(gauges(&hub), (1, 2));
    hub.handle(update());
    assert_eq!(next(&rx[0]).0, vec![(c, prefix("c\n", false))]);
    assert_eq!(first0.len(), 2, "the list in flight kept its subscribers");
    next(&rx[1]);
    hub.handle(HubEvent::Done { trigger: 7 });
    assert_eq!(session(&rx[0]), vec![(c, "c\n".into(), None)]);
    assert_eq!(session(&rx[1]), vec![(b, "b".into(), None)]);
    assert_eq!(gauges(&hub), (0, 0));
    hub.handle(update());
    assert!(
        rx.iter().all(|r| r.is_empty()),
        "a forgotten trigger sends nothing"
    );
    assert_eq!(hub.members.remove_client(c), 0, "end dropped the entries");
    // Error: to every subscriber with its own id, on both protocols.
    let ids = ["\u{1}\t", "\\", "ünï", "1"];
    for (k, id) in ids.iter().enumerate() {
        hub.handle(add(8, ConnId::new(k % 2, k, 1), id, k % 2 == 1));
    }
    let errors = Bytes::from_static(br#"[{"message":"boom"}]"#);
    hub.handle(HubEvent::Error {
        trigger: 8,
        errors: errors.clone(),
    });
    let told: Vec<_> = [session(&rx[0]), session(&rx[1])].concat();
    assert_eq!(told.len(), 4);
    for (conn, id, errs) in told {
        assert_eq!(id, ids[conn.key()]);
        assert_eq!(errs.as_ref(), Some(&errors));
    }
    assert_eq!(gauges(&hub), (0, 0));
}

#[test]
fn remove_client_leaves_the_others_and_shutdown_stops_a_batch() {
    let (mut hub, rx, _polls) = hub(1);
    let (a, b) = (ConnId::new(0, 1, 1), ConnId::new(0, 2, 1));
    for ev in [
        add(1, a, "1", false),
        add(1, b, "1", false),
        add(2, a, "2", false),
    ] {
        assert!(hub.handle(ev));
    }
    hub.handle(HubEvent::RemoveClient { conn: a });
    let s = hub.shared.stats();
    assert_eq!((s.triggers, s.trigger_subscriptions), (1, 1));
    hub.handle(HubEvent::Update {
        trigger: 1,
        payload: Bytes::from_static(b"1"),
        at: Instant::now(),
    });
    assert_eq!(next(&rx[0]).0, vec![(b, prefix("1", false))]);
    let batch = vec![HubEvent::Shutdown, add(3, a, "3", false)];
    assert!(!hub.handle(HubEvent::Batch(batch)));
    assert!(hub.members.get(3).is_none(), "nothing after Shutdown");
}

#[test]
fn an_update_is_one_fanout_sample_recorded_by_the_last_reactor_to_finish() {
    let (mut hub, rx, _polls) = hub(2);
    let (a, b, c) = (
        ConnId::new(0, 1, 1),
        ConnId::new(1, 1, 1),
        ConnId::new(1, 2, 1),
    );
    for (conn, id) in [(a, "1"), (b, "1"), (c, "1")] {
        hub.handle(add(5, conn, id, false));
    }
    let at = Instant::now() - Duration::from_millis(40);
    hub.handle(HubEvent::Update {
        trigger: 5,
        payload: Bytes::from_static(b"{}"),
        at,
    });
    let clock = |rx: &Receiver<Command>| match rx.try_recv() {
        Ok(Command::Next { clock, .. }) => clock,
        _ => panic!("expected one Next"),
    };
    let (c0, c1) = (clock(&rx[0]), clock(&rx[1]));
    // The hub let go of its own hold once both were sent: the reactors decide.
    assert_eq!(c0.release(Instant::now()), None);
    let took = c1
        .release(Instant::now())
        .expect("the last reactor records");
    assert!(
        took >= Duration::from_millis(40),
        "{took:?} counts from `at`"
    );
    let m = &hub.shared.hub_metrics;
    let families = crate::metrics::families(&hub.shared.stats(), &hub.shared.metrics, m);
    let size = families
        .iter()
        .find(|f| f.name == "subwire_fanout_subscribers")
        .unwrap();
    assert_eq!(size.samples[0].value, 1.0, "one update");
    assert_eq!(size.samples[0].sum, 3.0, "to three subscribers");
}
