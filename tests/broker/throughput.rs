//! Odd messages (too big), and an opt-in measurement of receive and publish throughput
//! (`cargo test --test broker -- --ignored --nocapture throughput`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use subwire::broker::{Broker, BrokerConfig, BrokerEvent, Deliver};
use subwire::error::Code;

use crate::support::*;

const T: Duration = Duration::from_secs(30);

#[test]
fn oversized_messages_are_counted_and_reported_once_per_topic() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let sa = Sink::new();
    let mut cfg = BrokerConfig::new(redis.url(), "");
    cfg.max_payload = 1000;
    let a = start_with(cfg, &sa);
    a.subscribe("big");
    a.subscribe("small");
    settle(&a);
    let mut r = redis.client();
    let big = vec![b'x'; 5000];
    for _ in 0..3 {
        r.cmd(&[b"PUBLISH", b"big", &big]);
        r.cmd(&[b"PUBLISH", b"small", b"{\"ok\":1}"]);
    }
    sa.wait("the small ones", T, |s| s.payloads("small").len() == 3);
    settle(&a);
    let seen = sa.seen();
    assert!(seen.payloads("big").is_empty());
    let reports: Vec<_> = seen
        .events
        .iter()
        .filter_map(|e| match e {
            BrokerEvent::Dropped { topic, error } => Some((topic.clone(), error.code)),
            _ => None,
        })
        .collect();
    assert_eq!(reports, vec![("big".to_string(), Code::BrokerMessage)]);
    assert_eq!(a.stats().dropped, 3);
}

struct Count(AtomicU64);

impl Deliver for Count {
    fn message(&self, _: &str, _: Bytes) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn event(&self, _: BrokerEvent) {}
}

fn cpu_ms(pid: &str) -> u64 {
    // utime + stime of the process, in clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    (f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()) * 10
}

#[test]
#[ignore = "measurement: run with --ignored --nocapture"]
fn throughput() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    const N: u64 = 100_000;
    let redis = RedisServer::start();
    let count = Arc::new(Count(AtomicU64::new(0)));
    let rx = Broker::start(BrokerConfig::new(redis.url(), "bench:"), count.clone()).unwrap();
    rx.subscribe("t");
    settle(&rx);
    let sink = Sink::new();
    let tx = start(&redis.url(), "bench:", &sink);
    settle(&tx);
    let payload = Bytes::from(format!("{{\"data\":\"{}\"}}", "x".repeat(190)));
    assert_eq!(payload.len(), 201);
    let mut omem_max = 0u64;
    let mut probe = redis.client();
    let redis_pid = redis.pid().to_string();
    let (cpu0, rcpu0, t0) = (cpu_ms("self"), cpu_ms(&redis_pid), Instant::now());
    let acked = Arc::new(AtomicU64::new(0));
    for i in 0..N {
        let ack = acked.clone();
        tx.publish(
            "t",
            payload.clone(),
            Box::new(move |r| {
                r.unwrap();
                ack.fetch_add(1, Ordering::Relaxed);
            }),
        );
        // Don't run into max_queued_bytes: keep at most ~10 MiB in flight.
        while i - acked.load(Ordering::Relaxed) > 50_000 {
            std::thread::sleep(Duration::from_micros(200));
        }
        if i % 10_000 == 0 {
            omem_max = omem_max.max(max_omem(&mut probe));
        }
    }
    wait_for("all publishes acknowledged", T, || {
        acked.load(Ordering::Relaxed) == N
    });
    let publish_s = t0.elapsed().as_secs_f64();
    wait_for("all messages delivered", T, || {
        count.0.load(Ordering::Relaxed) == N
    });
    let all_s = t0.elapsed().as_secs_f64();
    let cpu = cpu_ms("self") - cpu0;
    let rcpu = cpu_ms(&redis_pid) - rcpu0;
    omem_max = omem_max.max(max_omem(&mut probe));
    println!(
        "broker throughput: {N} x {} B: publish {:.0}/s ({publish_s:.2} s), receive+deliver {:.0}/s ({all_s:.2} s), \
         CPU: test process {cpu} ms (both brokers), redis-server {rcpu} ms; max omem seen {omem_max} B",
        payload.len(),
        N as f64 / publish_s,
        N as f64 / all_s,
    );
    assert!(omem_max < 8 << 20, "far below the 32 MiB hard limit");
}

/// The largest output-buffer memory of any client Redis is serving (CLIENT LIST omem).
fn max_omem(c: &mut Raw) -> u64 {
    c.cmd(&[b"CLIENT", b"LIST"])
        .text()
        .split_whitespace()
        .filter_map(|kv| kv.strip_prefix("omem="))
        .filter_map(|v| v.parse().ok())
        .max()
        .unwrap_or(0)
}
