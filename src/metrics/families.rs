//! Every metric family Rust exports: its name, type, help, labels and values, read from the
//! server's counters and metric cells at scrape time (docs/METRICS.md is the table of them).
//!
//! Called by the napi bridge on the JS thread (`node/metrics.rs`), once per scrape. Reads
//! only: the per-reactor cells are summed here (histogram buckets included), so writers never
//! wait. Allocates the families it returns (a few kilobytes), nothing per connection.

use std::borrow::Cow;

use super::family::{Family, Kind, Sample};
use super::histogram::{self, Merged};
use super::{BridgeMetrics, HubMetrics, ReactorMetrics, CLOSE_SLOTS};
use crate::stats::Stats;
use crate::ws::upgrade::Reject;
use crate::ws::CloseCode;
use std::sync::atomic::Ordering::Relaxed;

/// Nanoseconds per second: histograms observed in ns are shown in seconds.
const NS: f64 = 1e9;

/// The server's families: connections, traffic, operations as Rust sees them, latency.
pub(crate) fn families(s: &Stats, reactors: &[ReactorMetrics], hub: &HubMetrics) -> Vec<Family> {
    use Kind::{Counter, Gauge};
    let sum = |f: fn(&ReactorMetrics) -> &std::sync::atomic::AtomicU64| -> f64 {
        reactors.iter().map(|r| f(r).load(Relaxed)).sum::<u64>() as f64
    };
    let mut out = vec![
        Family::single(
            "subwire_connections_open",
            Gauge,
            "Upgraded WebSocket connections open now (closing ones included until they are gone).",
            s.open as f64,
        ),
        Family::single(
            "subwire_sockets_open",
            Gauge,
            "Sockets counted against maxConnections now: handshaking, upgraded and closing.",
            s.connections as f64,
        ),
        Family::single(
            "subwire_connections_accepted_total",
            Counter,
            "TCP connections accepted (or handed over by an attached http.Server).",
            s.accepted as f64,
        ),
        Family::single(
            "subwire_upgrades_total",
            Counter,
            "WebSocket upgrades completed (101 sent).",
            s.upgrades as f64,
        ),
    ];

    let mut rejections = Family::new(
        "subwire_upgrade_rejections_total",
        Counter,
        "Upgrade requests answered with an HTTP error, by status.",
    )
    .with_labels(&["status"]);
    for (i, r) in Reject::ALL.iter().enumerate() {
        let n: u64 = reactors.iter().map(|m| m.rejections[i].load(Relaxed)).sum();
        let status = Cow::Owned(r.status().to_string());
        rejections.push(Sample::labelled(vec![status], n as f64));
    }
    out.push(rejections);

    let mut closes = Family::new(
        "subwire_closes_total",
        Counter,
        "Upgraded connections ended, by close code, once each: the code of the first close frame (ours or the peer's; 1005: the peer's had none), 1006 for a connection lost without one.",
    )
    .with_labels(&["code"]);
    for slot in 0..CLOSE_SLOTS {
        let n: u64 = reactors.iter().map(|m| m.closes[slot].load(Relaxed)).sum();
        let code = match CloseCode::from_table_index(slot) {
            Some(c) => Cow::Owned(c.get().to_string()),
            None => Cow::Borrowed("other"),
        };
        closes.push(Sample::labelled(vec![code], n as f64));
    }
    out.push(closes);

    out.extend([
        Family::single(
            "subwire_handshake_timeouts_total",
            Counter,
            "Connections dropped because their upgrade request was not complete within handshakeTimeout.",
            sum(|m| &m.handshake_timeouts),
        ),
        Family::single(
            "subwire_close_timeouts_total",
            Counter,
            "Connections dropped because the peer neither finished a close nor hung up within closeTimeout.",
            sum(|m| &m.close_timeouts),
        ),
        Family::single(
            "subwire_accept_pauses_total",
            Counter,
            "Times a reactor paused accepting because the process was out of file descriptors (EMFILE).",
            sum(|m| &m.accept_pauses),
        ),
        Family::single(
            "subwire_reactor_panics_total",
            Counter,
            "Panics caught in reactors (each closed one connection).",
            s.panics as f64,
        ),
        Family::single(
            "subwire_messages_received_total",
            Counter,
            "WebSocket messages received (data and control).",
            s.messages_in as f64,
        ),
        Family::single(
            "subwire_bytes_received_total",
            Counter,
            "Bytes read from sockets (handshakes and frames).",
            sum(|m| &m.bytes_in),
        ),
        Family::single(
            "subwire_messages_sent_total",
            Counter,
            "WebSocket messages queued or written to clients (data and control).",
            s.messages_out as f64,
        ),
        Family::single(
            "subwire_bytes_sent_total",
            Counter,
            "Bytes the kernel took from subwire's sockets.",
            s.bytes_out as f64,
        ),
        Family::single(
            "subwire_queued_bytes",
            Gauge,
            "Bytes waiting in connections' outbound queues now (refused by full sockets).",
            s.queued_bytes as f64,
        ),
        Family::single(
            "subwire_slow_consumers_total",
            Counter,
            "Connections closed with 1008 because their backlog passed maxBufferedBytes.",
            s.slow_consumers as f64,
        ),
        Family::single(
            "subwire_events_delivered_total",
            Counter,
            "next (legacy data) messages handed to subscribers' connections, from every path.",
            sum(|m| &m.results),
        ),
        Family::single(
            "subwire_operation_errors_total",
            Counter,
            "error messages sent for an operation (validation, subscribe and resolver failures).",
            sum(|m| &m.operation_errors),
        ),
        Family::single(
            "subwire_hub_triggers",
            Gauge,
            "Triggers the hub holds now (shared and projected, each with subscribers).",
            s.triggers as f64,
        ),
        Family::single(
            "subwire_hub_subscriptions",
            Gauge,
            "Subscribers attached to hub triggers now.",
            s.trigger_subscriptions as f64,
        ),
        Family::single(
            "subwire_trigger_updates_total",
            Counter,
            "Events the hub received for its triggers (each fans out to every subscriber).",
            s.trigger_updates as f64,
        ),
    ]);

    let mut per_reactor = Family::new(
        "subwire_reactor_connections_open",
        Gauge,
        "Upgraded connections open on each reactor.",
    )
    .with_labels(&["reactor"]);
    let mut busy = Family::new(
        "subwire_reactor_busy_seconds_total",
        Counter,
        "Time each reactor spent working between polls; its rate is the reactor's busy ratio.",
    )
    .with_labels(&["reactor"]);
    for (i, m) in reactors.iter().enumerate() {
        let open = s.open_per_reactor.get(i).copied().unwrap_or(0);
        per_reactor.push(Sample::labelled(vec![i.to_string().into()], open as f64));
        let ns = m.busy_ns.load(Relaxed) as f64;
        busy.push(Sample::labelled(vec![i.to_string().into()], ns / NS));
    }
    out.extend([per_reactor, busy]);

    let mut fanout = Merged::new(histogram::FANOUT_NS);
    let mut turns = Merged::new(histogram::TURN_NS);
    for m in reactors {
        fanout.add(&m.fanout);
        turns.add(&m.turns);
    }
    fanout.add(&hub.fanout);
    let mut sizes = Merged::new(histogram::FANOUT_SIZE);
    sizes.add(&hub.fanout_size);
    out.push(histogram_family(
        "subwire_fanout_duration_seconds",
        "One sample per hub event: from its entry into Rust (the publish for projected subscriptions, the result's hand-over for shared ones) to the end of the last reactor turn that wrote its frames to every subscriber's socket that took them (bytes a full socket refused stay queued, not waited for).",
        &fanout,
        NS,
    ));
    out.push(histogram_family(
        "subwire_fanout_subscribers",
        "Subscribers each hub event was sent to.",
        &sizes,
        1.0,
    ));
    out.push(histogram_family(
        "subwire_reactor_turn_duration_seconds",
        "Work of one reactor turn, from the poll's return to the next poll.",
        &turns,
        NS,
    ));
    out
}

/// The JS thread's batch sizes across the napi bridge, one family labelled by kind.
pub(crate) fn bridge_families(b: &BridgeMetrics) -> Vec<Family> {
    let mut f = Family::histogram(
        "subwire_bridge_batch_size",
        "Items per call across the napi bridge: hub_events per JS turn's flush to the hub (JS to Rust), answers per session batch (JS to Rust), app_events per drain into JS (Rust to JS).",
        histogram::BATCH_SIZE,
        1.0,
    )
    .with_labels(&["kind"]);
    for (kind, h) in [
        ("hub_events", &b.hub_events),
        ("answers", &b.answers),
        ("app_events", &b.app_events),
    ] {
        let mut m = Merged::new(histogram::BATCH_SIZE);
        m.add(h);
        f.push(Sample::histogram(vec![kind.into()], &m, 1.0));
    }
    vec![f]
}

/// Open file descriptors and their limit (absent where the OS does not say).
pub(crate) fn process_families(open: Option<u64>, max: Option<u64>) -> Vec<Family> {
    let mut out = Vec::new();
    if let Some(n) = open {
        out.push(Family::single(
            "subwire_process_open_fds",
            Kind::Gauge,
            "File descriptors the process has open (sockets count: one per connection).",
            n as f64,
        ));
    }
    if let Some(n) = max {
        out.push(Family::single(
            "subwire_process_max_fds",
            Kind::Gauge,
            "The process's open-file limit (RLIMIT_NOFILE soft limit).",
            n as f64,
        ));
    }
    out
}

fn histogram_family(name: &'static str, help: &'static str, m: &Merged, per: f64) -> Family {
    let mut f = Family::histogram(name, help, m.bounds, per);
    f.push(Sample::histogram(Vec::new(), m, per));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(fs: &'a [Family], name: &str) -> &'a Family {
        fs.iter().find(|f| f.name == name).unwrap()
    }

    #[test]
    fn closes_rejections_and_histograms_merge_over_reactors() {
        let reactors: Vec<ReactorMetrics> = (0..2).map(|_| ReactorMetrics::default()).collect();
        reactors[0].closed(CloseCode::NORMAL);
        reactors[1].closed(CloseCode::NORMAL);
        reactors[1].closed(CloseCode::ABNORMAL);
        reactors[0].closed(CloseCode::from_app(3999).unwrap());
        reactors[1].rejected(Reject::NotFound);
        reactors[0].fanout_done(3_000_000);
        let hub = HubMetrics::default();
        hub.fanout_done(30_000_000);
        hub.update_sent(5);
        let stats = Stats {
            open_per_reactor: vec![3, 4],
            open: 7,
            ..Stats::default()
        };
        let fs = families(&stats, &reactors, &hub);
        let names: Vec<_> = fs.iter().map(|f| f.name).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "each family once");

        let closes = find(&fs, "subwire_closes_total");
        let by = |code: &str| {
            closes
                .samples
                .iter()
                .find(|s| s.labels[0] == code)
                .map(|s| s.value)
        };
        assert_eq!(by("1000"), Some(2.0));
        assert_eq!(by("1006"), Some(1.0));
        assert_eq!(by("other"), Some(1.0));
        assert_eq!(by("4400"), Some(0.0));
        assert_eq!(closes.samples.len(), CloseCode::KNOWN + 1);

        let rej = find(&fs, "subwire_upgrade_rejections_total");
        assert!(rej
            .samples
            .iter()
            .all(|s| s.value == if s.labels[0] == "404" { 1.0 } else { 0.0 }));

        let fan = find(&fs, "subwire_fanout_duration_seconds");
        let s = &fan.samples[0];
        assert_eq!(s.value, 2.0, "one reactor's sample and the hub's");
        assert!((s.sum - 0.033).abs() < 1e-9);
        // (bounds are exact decimals: ns divided by 1e9)
        let at = |le: f64| s.buckets[fan.bounds.iter().position(|&b| b == le).unwrap()];
        assert_eq!(fan.bounds[0], 0.0001);
        assert_eq!(
            (at(0.0025), at(0.005), at(0.025), at(0.05)),
            (0.0, 1.0, 1.0, 2.0)
        );

        let open = find(&fs, "subwire_reactor_connections_open");
        let v: Vec<_> = open
            .samples
            .iter()
            .map(|s| (s.labels[0].as_ref(), s.value))
            .collect();
        assert_eq!(v, [("0", 3.0), ("1", 4.0)]);
    }
}
