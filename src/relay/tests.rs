//! The relay's routing, with a hub channel and the JS queue read by the test.

use std::sync::atomic::AtomicUsize;

use super::*;

const PLAN: &str = r#"{"key":"tick","name":"tick","node":{"k":"obj","nn":true,"fields":[["seq","seq",{"k":"int","nn":true}]]}}"#;

/// A message for JS as the tests compare it: payload, listeners, routes.
type ForJs = (Option<String>, bool, Vec<(u64, u64)>);

struct Fixture {
    relay: Relay,
    queue: Arc<JsQueue>,
    wakes: Arc<AtomicUsize>,
    hub: crossbeam_channel::Receiver<HubEvent>,
    handle: HubHandle,
}

fn fixture(limit: usize) -> Fixture {
    let queue = Arc::new(JsQueue::new(limit));
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = wakes.clone();
    let relay = Relay::new(
        queue.clone(),
        Box::new(move || {
            w.fetch_add(1, Ordering::Relaxed);
        }),
        Box::new(|_| {}),
    );
    let (handle, hub) = HubHandle::for_test();
    Fixture {
        relay,
        queue,
        wakes,
        hub,
        handle,
    }
}

impl Fixture {
    fn route(&self, id: u64, topics: &[&str]) {
        let plan = Plan::parse(PLAN).unwrap();
        let topics = topics.iter().map(|t| Box::<str>::from(*t)).collect();
        let r = Route::new(id, 1, 100 + id, plan, self.handle.clone(), topics);
        assert!(self.relay.add_route(r));
    }

    /// One message, as one read from Redis (the broker flushes after it).
    fn send(&self, topic: &str, json: &str) {
        self.relay
            .message(topic, Bytes::copy_from_slice(json.as_bytes()));
        self.relay.flush();
    }

    /// Every hub event so far, as sent (a batch stays one).
    fn hub_events(&self) -> Vec<HubEvent> {
        self.hub.try_iter().collect()
    }

    /// (trigger, result) of every hub update so far.
    fn updates(&self) -> Vec<(u64, String)> {
        self.hub
            .try_iter()
            .flat_map(|ev| match ev {
                HubEvent::Batch(evs) => evs,
                one => vec![one],
            })
            .map(|ev| match ev {
                HubEvent::Update {
                    trigger, payload, ..
                } => (trigger, String::from_utf8(payload.to_vec()).unwrap()),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    /// (payload, listeners, routes) of every message for JS so far.
    fn to_js(&self) -> Vec<ForJs> {
        let msgs = self.queue.take().into_iter();
        msgs.map(|m| (m.payload, m.listeners, m.routes)).collect()
    }
}

#[test]
fn projected_routes_reach_their_hub_without_js() {
    let f = fixture(1 << 20);
    f.route(1, &["t"]);
    f.send("t", r#"{"tick":{"seq":1.0}}"#);
    f.send("other", r#"{"tick":{"seq":2}}"#);
    assert_eq!(
        f.updates(),
        vec![(101, r#"{"data":{"tick":{"seq":1}}}"#.to_string())]
    );
    assert!(f.to_js().is_empty());
    assert_eq!(f.wakes.load(Ordering::Relaxed), 0);
    assert_eq!(f.relay.counters.projected.load(Ordering::Relaxed), 1);
}

#[test]
fn after_a_message_js_must_execute_later_ones_wait_for_its_ack() {
    let f = fixture(1 << 20);
    f.route(1, &["t"]);
    f.send("t", r#"{"tick":{"seq":null}}"#); // non-null field: graphql-js's error
    f.send("t", r#"{"tick":{"seq":2}}"#); // projectable, but must not overtake
    assert!(f.updates().is_empty());
    let js = f.to_js();
    assert_eq!(js.len(), 2);
    assert_eq!((js[0].1, &js[0].2), (false, &vec![(1, 1)]));
    assert_eq!(js[1].2, vec![(1, 2)]);
    f.relay.ack(1, 1);
    f.send("t", r#"{"tick":{"seq":3}}"#); // seq 2 is still in JS
    assert!(f.updates().is_empty());
    assert_eq!(f.to_js()[0].2, vec![(1, 3)]);
    f.relay.ack(1, 3);
    f.send("t", r#"{"tick":{"seq":4}}"#);
    assert_eq!(f.updates().len(), 1);
    assert!(f.to_js().is_empty());
}

#[test]
fn js_listeners_get_each_message_once_beside_the_routes() {
    let f = fixture(1 << 20);
    f.route(1, &["t", "u"]);
    f.route(2, &["t"]);
    f.relay.listen("t");
    f.send("t", r#"{"tick":{"seq":1}}"#);
    f.send("t", "\u{1}not json");
    f.relay.message("t", Bytes::from_static(b"{\"tick\":\xff}"));
    f.relay.flush();
    assert_eq!(f.updates().len(), 2, "one per route");
    let js = f.to_js();
    assert_eq!(js.len(), 3);
    assert_eq!(js[0], (Some(r#"{"tick":{"seq":1}}"#.into()), true, vec![]));
    assert_eq!(js[1].2, vec![(1, 1), (2, 1)]);
    assert_eq!(js[2], (None, true, vec![(1, 2), (2, 2)]), "not UTF-8");
    assert_eq!(
        f.wakes.load(Ordering::Relaxed),
        1,
        "woken once: the queue was not drained in between"
    );
    // Listeners and routes leave: nothing is relayed.
    assert!(f.relay.unlisten("t"));
    assert!(!f.relay.unlisten("t"));
    assert_eq!(f.relay.remove_route(2).unwrap().len(), 1);
    assert_eq!(
        f.relay.remove_server(1),
        vec![Box::from("t"), Box::from("u")]
    );
    assert!(f.relay.remove_route(1).is_none());
    f.send("t", r#"{"tick":{"seq":1}}"#);
    assert!(f.updates().is_empty() && f.to_js().is_empty());
}

#[test]
fn a_full_js_queue_drops_and_counts_without_taking_a_sequence_number() {
    let f = fixture(40);
    f.relay.listen("t");
    f.route(1, &["t"]);
    f.send("t", r#"{"tick":{"seq":"a"}}"#); // to JS (seq 1): fits
    f.send("t", r#"{"tick":{"seq":"b"}}"#); // full: dropped
    assert_eq!(f.relay.counters.js_overflow.load(Ordering::Relaxed), 1);
    let js = f.to_js();
    assert_eq!(js.len(), 1);
    f.relay.ack(1, 1);
    f.send("t", r#"{"tick":{"seq":3}}"#);
    assert_eq!(
        f.updates().len(),
        1,
        "projected again after the ack of seq 1"
    );
}

#[test]
fn one_read_from_redis_reaches_each_hub_as_one_batch_and_wakes_js_once() {
    let f = fixture(1 << 20);
    f.route(1, &["t"]);
    f.route(2, &["t"]);
    f.relay.listen("t");
    for seq in 1..=3 {
        let json = format!(r#"{{"tick":{{"seq":{seq}}}}}"#);
        f.relay.message("t", Bytes::from(json));
    }
    // Routes 1 and 2 are both server 1's: one hub. Nothing went on before the flush
    // except what had to precede the messages queued for JS.
    assert_eq!(
        f.wakes.load(Ordering::Relaxed),
        0,
        "JS is woken at the flush"
    );
    let first = f.hub_events();
    f.relay.flush();
    assert_eq!(f.wakes.load(Ordering::Relaxed), 1);
    let rest = f.hub_events();
    let sizes = |evs: &[HubEvent]| -> Vec<usize> {
        evs.iter()
            .map(|e| match e {
                HubEvent::Batch(v) => v.len(),
                _ => 1,
            })
            .collect()
    };
    // Each message's results go to the hub before that message is queued for JS.
    assert_eq!(sizes(&first), vec![2, 2, 2]);
    assert!(rest.is_empty());
    assert_eq!(f.to_js().len(), 3);

    // Without JS listeners nothing is queued for JS: the whole read is one batch.
    assert!(f.relay.unlisten("t"));
    for seq in 4..=6 {
        let json = format!(r#"{{"tick":{{"seq":{seq}}}}}"#);
        f.relay.message("t", Bytes::from(json));
    }
    assert!(f.hub_events().is_empty(), "held until the flush");
    f.relay.flush();
    let evs = f.hub_events();
    assert_eq!(sizes(&evs), vec![6]);
    assert_eq!(
        f.wakes.load(Ordering::Relaxed),
        1,
        "nothing for JS: not woken"
    );
    let HubEvent::Batch(v) = &evs[0] else {
        unreachable!()
    };
    let got: Vec<(u64, String)> = v
        .iter()
        .map(|e| match e {
            HubEvent::Update {
                trigger, payload, ..
            } => (*trigger, String::from_utf8(payload.to_vec()).unwrap()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(got[0].0, 101);
    assert_eq!(got[1].0, 102);
    assert!(
        got[4].1.contains("6") && got[5].1.contains("6"),
        "in order: {got:?}"
    );
}
