//! One SUBSCRIBE per topic per process while it has local listeners, one UNSUBSCRIBE when the
//! last leaves, and subscribe/unsubscribe races that never lose a topic.

use std::time::Duration;

use subwire::broker::{BrokerEvent, BrokerState};
use subwire::error::Code;

use crate::support::*;

const T: Duration = Duration::from_secs(20);

#[test]
fn refcounted_subscribe_and_unsubscribe() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let sa = Sink::new();
    let a = start(&redis.url(), "p:", &sa);
    let mut r = redis.client();
    for _ in 0..3 {
        a.subscribe("t");
    }
    settle(&a);
    assert_eq!(r.numsub("p:t"), 1);
    assert_eq!(r.calls("subscribe"), 1, "three listeners, one SUBSCRIBE");
    a.unsubscribe("t");
    a.unsubscribe("t");
    settle(&a);
    assert_eq!(r.numsub("p:t"), 1, "one listener left");
    r.cmd(&[b"PUBLISH", b"p:t", b"{\"n\":1}"]);
    sa.wait("the message for the last listener", T, |s| {
        s.messages.len() == 1
    });
    a.unsubscribe("t");
    settle(&a);
    assert_eq!(r.numsub("p:t"), 0);
    assert_eq!(r.calls("unsubscribe"), 1);
    assert_eq!(a.stats().topics_subscribed, 0);
    // A stray unsubscribe is ignored, and nothing more arrives.
    a.unsubscribe("t");
    r.cmd(&[b"PUBLISH", b"p:t", b"{\"n\":2}"]);
    settle(&a);
    assert_eq!(sa.seen().messages.len(), 1);
}

#[test]
fn one_zero_one_while_unsubscribe_is_in_flight_ends_subscribed() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let sa = Sink::new();
    let sb = Sink::new();
    let a = start(&redis.url(), "", &sa);
    let b = start(&redis.url(), "", &sb);
    let mut r = redis.client();
    // Churn without waiting: each pair may find the previous UNSUBSCRIBE still in flight.
    for i in 0..300 {
        a.subscribe("churn");
        if i % 50 == 0 {
            // Own publishes in the middle of the churn: their echoes must not leak.
            publish(&a, "churn", "{\"own\":true}").unwrap();
        }
        a.unsubscribe("churn");
    }
    a.subscribe("churn");
    settle(&a);
    assert_eq!(r.numsub("churn"), 1, "the topic is not lost");
    b.subscribe("churn");
    settle(&b);
    publish(&b, "churn", "{\"from\":\"b\"}").unwrap();
    sa.wait("B's message after the churn", T, |s| {
        s.payloads("churn")
            .contains(&"{\"from\":\"b\"}".to_string())
    });
    settle(&a);
    let got = sa.seen().payloads("churn");
    assert_eq!(
        got,
        vec!["{\"from\":\"b\"}".to_string()],
        "no echo of A's own publishes"
    );
}

#[test]
fn listeners_added_while_down_are_subscribed_once_connected() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let port = free_port();
    let sa = Sink::new();
    let a = start(&format!("redis://127.0.0.1:{port}"), "", &sa);
    a.subscribe("early");
    a.subscribe("gone");
    a.unsubscribe("gone");
    sa.wait("the down event", T, |s| s.downs() == 1);
    let redis = RedisServer::start_with(port, &[]);
    sa.wait("the up event", T, |s| s.ups().len() == 1);
    settle(&a);
    let mut r = redis.client();
    assert_eq!(r.numsub("early"), 1);
    assert_eq!(r.numsub("gone"), 0);
    r.cmd(&[b"PUBLISH", b"early", b"{}"]);
    sa.wait("the message", T, |s| s.messages.len() == 1);
}

#[test]
fn a_channel_refused_by_an_acl_does_not_take_the_others_down() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let mut r = redis.client();
    let acl = r.cmd(&[
        b"ACL",
        b"SETUSER",
        b"app",
        b"on",
        b">pw",
        b"~*",
        b"+@all",
        b"resetchannels",
        b"&ok:*",
    ]);
    assert_eq!(acl, Reply::Ok("OK".into()));
    let sa = Sink::new();
    let a = start(&format!("redis://app:pw@127.0.0.1:{}", redis.port), "", &sa);
    settle(&a);
    // Queued together: one SUBSCRIBE for the three, which the ACL refuses as a whole.
    for t in ["ok:a", "no:c", "ok:b"] {
        a.subscribe(t);
    }
    settle(&a);
    assert_eq!(r.numsub("ok:a"), 1);
    assert_eq!(r.numsub("ok:b"), 1);
    assert_eq!(r.numsub("no:c"), 0);
    let errors: Vec<String> = sa
        .seen()
        .events
        .iter()
        .filter_map(|e| match e {
            BrokerEvent::Error(e) if e.code == Code::BrokerCommand => Some(e.message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("no:c"), "{}", errors[0]);
    // A refused PUBLISH fails with its own code; the connection stays up.
    let e = publish(&a, "no:c", "{}").unwrap_err();
    assert_eq!(e.code, Code::BrokerCommand, "{e}");
    r.cmd(&[b"PUBLISH", b"ok:b", b"{\"b\":1}"]);
    sa.wait("ok:b's message", T, |s| s.payloads("ok:b") == ["{\"b\":1}"]);
    assert_eq!(a.stats().state, BrokerState::Up);
    assert_eq!(sa.seen().downs(), 0);
}
