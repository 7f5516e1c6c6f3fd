//! Faults: Redis down at start, killed mid-stream, restarted, hung. The broker reports them,
//! fails publishes fast while down, reconnects with backoff, resubscribes, and leaks nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use subwire::broker::{BrokerConfig, BrokerEvent, BrokerState};
use subwire::error::Code;

use crate::support::*;

const T: Duration = Duration::from_secs(20);

fn fds() -> usize {
    count_dir(std::path::Path::new("/proc/self/fd"))
}

fn threads() -> usize {
    count_dir(std::path::Path::new("/proc/self/task"))
}

#[test]
fn redis_down_at_start_is_a_state_and_publishes_fail_fast() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let port = free_port();
    let sa = Sink::new();
    let t0 = subwire_now_ms();
    let a = start(&format!("redis://127.0.0.1:{port}"), "", &sa);
    sa.wait("the down event", T, |s| s.downs() == 1);
    let st = a.stats();
    assert_eq!(st.state, BrokerState::Down);
    assert!(st.since_ms >= t0 && st.since_ms <= subwire_now_ms());
    match &sa.seen().events[0] {
        BrokerEvent::Down { error, since_ms } => {
            assert_eq!(error.code, Code::BrokerDown);
            assert!(
                error.message.contains(&port.to_string()),
                "{}",
                error.message
            );
            assert_eq!(*since_ms, st.since_ms);
        }
        other => panic!("{other:?}"),
    }
    let begin = Instant::now();
    let e = publish(&a, "t", "{}").unwrap_err();
    assert_eq!(e.code, Code::BrokerDown);
    assert!(begin.elapsed() < Duration::from_millis(500), "fails fast");
    assert_eq!(sync(|d| a.barrier(d)).unwrap_err().code, Code::BrokerDown);
    // Several failed attempts, still one Down event.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(sa.seen().downs(), 1);

    let _redis = RedisServer::start_with(port, &[]);
    sa.wait("the up event", T, |s| s.ups().len() == 1);
    assert!(sa.seen().ups()[0] >= Duration::from_millis(600));
    let st = a.stats();
    assert_eq!(st.state, BrokerState::Up);
    assert_eq!(st.publish_failed, 1);
    assert_eq!(st.reconnects, 0, "the first connection is not a reconnect");
    publish(&a, "t", "{}").unwrap();
}

fn subwire_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn redis_killed_mid_stream_and_restarted_resumes_delivery_without_leaks() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let mut redis = RedisServer::start();
    let (fd0, th0) = (fds(), threads());
    let sa = Sink::new();
    let mut a = start(&redis.url(), "app:", &sa);
    for t in ["s1", "s2"] {
        a.subscribe(t);
    }
    settle(&a);
    // A foreign publisher streams numbered events; it reconnects when Redis goes away.
    let stop = AtomicBool::new(false);
    let port = redis.port;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut seq = 0u64;
            let mut conn = None;
            while !stop.load(Ordering::Relaxed) {
                let p = format!("{{\"seq\":{seq}}}");
                if Raw::try_publish(port, &mut conn, b"app:s1", p.as_bytes()) {
                    seq += 1;
                    std::thread::sleep(Duration::from_millis(2));
                } else {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        // Stops the publisher however this closure ends (a failed assertion included).
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = Stop(&stop);
        sa.wait("messages before the kill", T, |s| s.messages.len() >= 50);
        redis.kill();
        sa.wait("the down event", T, |s| s.downs() == 1);
        let e = publish(&a, "s1", "{}").unwrap_err();
        assert_eq!(e.code, Code::BrokerDown);
        let before = sa.seen().messages.len();
        std::thread::sleep(Duration::from_millis(300));
        redis.restart();
        sa.wait("the up event", T, |s| s.ups().len() == 1);
        sa.wait("messages after the restart", T, |s| {
            s.messages.len() >= before + 50
        });
    });
    let seqs: Vec<u64> = sa
        .seen()
        .payloads("s1")
        .iter()
        .map(|p| {
            p.trim_start_matches("{\"seq\":")
                .trim_end_matches('}')
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicates"
    );
    let st = a.stats();
    assert_eq!(st.reconnects, 1);
    assert_eq!(st.state, BrokerState::Up);
    assert!(st.publish_failed >= 1);
    assert_eq!(st.topics_subscribed, 2, "both topics resubscribed");
    assert!(sa.seen().ups()[0] >= Duration::from_millis(300));
    let mut r = redis.client();
    assert_eq!(r.numsub("app:s2"), 1);
    drop(r);
    assert!(a.shutdown(Duration::from_secs(5)));
    assert_eq!(a.stats().state, BrokerState::Closed);
    wait_for("fds to return", Duration::from_secs(5), || fds() <= fd0);
    wait_for("the broker thread to end", Duration::from_secs(5), || {
        threads() <= th0
    });
    assert_eq!(publish(&a, "s1", "{}").unwrap_err().code, Code::Disposed);
}

#[test]
fn a_hung_redis_is_detected_by_the_command_timeout() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let sa = Sink::new();
    let mut cfg = BrokerConfig::new(redis.url(), "");
    cfg.command_timeout = Duration::from_millis(500);
    cfg.idle_ping = Duration::from_millis(300);
    let a = start_with(cfg, &sa);
    a.subscribe("t");
    settle(&a);
    redis.signal("STOP");
    let r = publish(&a, "t", "{}");
    redis.signal("CONT");
    let e = r.unwrap_err();
    assert_eq!(e.code, Code::BrokerDown, "{e}");
    sa.wait("the down event", T, |s| s.downs() == 1);
    sa.wait("the up event", T, |s| s.ups().len() == 1);
    settle(&a);
    let mut c = redis.client();
    c.cmd(&[b"PUBLISH", b"t", b"{\"after\":1}"]);
    sa.wait("delivery after the hang", T, |s| s.messages.len() == 1);
}

#[test]
fn shutdown_fails_what_was_not_sent_and_is_bounded() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let sa = Sink::new();
    let mut a = start(&redis.url(), "", &sa);
    settle(&a);
    redis.signal("STOP");
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..10 {
        let tx = tx.clone();
        a.publish(
            "t",
            bytes::Bytes::from_static(b"{}"),
            Box::new(move |r| tx.send(r).unwrap()),
        );
    }
    let begin = Instant::now();
    assert!(a.shutdown(Duration::from_secs(5)));
    assert!(begin.elapsed() < Duration::from_secs(2));
    redis.signal("CONT");
    for _ in 0..10 {
        let e = rx.recv_timeout(T).unwrap().unwrap_err();
        assert!(matches!(e.code, Code::Disposed), "{e}");
    }
}

#[test]
fn publishes_beyond_the_queue_bound_fail_with_overloaded() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let sa = Sink::new();
    let mut cfg = BrokerConfig::new(redis.url(), "");
    cfg.max_queued_bytes = 100;
    let a = start_with(cfg, &sa);
    settle(&a);
    // Redis stops answering: publishes pile up behind the first batch.
    redis.signal("STOP");
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..4 {
        let tx = tx.clone();
        let payload = bytes::Bytes::from(vec![b'1'; 50]);
        a.publish("t", payload, Box::new(move |r| tx.send(r).unwrap()));
    }
    let overloaded: Vec<_> = (0..2)
        .map(|_| rx.recv_timeout(T).unwrap().unwrap_err().code)
        .collect();
    assert_eq!(overloaded, [Code::BrokerOverloaded, Code::BrokerOverloaded]);
    assert_eq!(a.stats().queued_bytes, 100);
    redis.signal("CONT");
    for _ in 0..2 {
        rx.recv_timeout(T).unwrap().expect("the first two are sent");
    }
    assert_eq!(a.stats().queued_bytes, 0);
    assert_eq!(a.stats().publish_failed, 2);
}
