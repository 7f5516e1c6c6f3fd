//! What a run measures: failure counts by kind, a log-linear latency histogram (mergeable
//! across processes: it is printed as `[value_us, count]` pairs), per-seq delivery times and
//! the exactly-once-in-order check of every subscription.

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Latency histogram in microseconds: exact below 128 µs, then 64 buckets per power of two
/// (under 1.6% error). Fixed size, no allocation per sample.
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

const BUCKETS: usize = 64 * 59;

fn index(v: u64) -> usize {
    if v < 128 {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - 6;
    (shift as usize) * 64 + (v >> shift) as usize
}

fn lower_bound(i: usize) -> u64 {
    if i < 128 {
        return i as u64;
    }
    let shift = i / 64 - 1;
    ((i % 64 + 64) as u64) << shift
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
        }
    }
}

impl Histogram {
    pub fn record(&mut self, us: u64) {
        self.counts[index(us).min(BUCKETS - 1)] += 1;
        self.total += 1;
        self.max = self.max.max(us);
    }

    /// The value at quantile `q` (0..=1), in µs (a bucket's lower bound; `max` is exact).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        if rank == self.total {
            return self.max;
        }
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return lower_bound(i).min(self.max);
            }
        }
        self.max
    }

    /// `{count, p50_ms, p99_ms, max_ms, buckets: [[us, count], ...]}`.
    pub fn to_json(&self, with_buckets: bool) -> Value {
        let ms = |us: u64| us as f64 / 1000.0;
        let mut v = json!({
            "count": self.total,
            "p50_ms": ms(self.quantile(0.5)),
            "p99_ms": ms(self.quantile(0.99)),
            "max_ms": ms(self.max),
        });
        if with_buckets {
            let b: Vec<[u64; 2]> = self
                .counts
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(i, &c)| [lower_bound(i), c])
                .collect();
            v["buckets"] = json!(b);
        }
        v
    }
}

/// Why a client did not make it (or did not stay).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    Connect,
    Handshake,
    Timeout,
    Protocol,
    /// The server closed or reset the connection.
    Closed,
}

impl Failure {
    fn name(self) -> &'static str {
        match self {
            Failure::Connect => "connect",
            Failure::Handshake => "handshake",
            Failure::Timeout => "timeout",
            Failure::Protocol => "protocol",
            Failure::Closed => "closed",
        }
    }
}

/// Time from `sentAt` to the first and last delivery of one seq, across this process.
#[derive(Clone, Copy)]
struct SeqTimes {
    count: u64,
    first_ms: f64,
    last_ms: f64,
    /// The event's `sentAt` (ms since the epoch) as the first delivery carried it.
    sent_ms: f64,
}

#[derive(Default)]
pub struct Stats {
    /// Failures before the client was ready, by kind.
    pub before_ready: BTreeMap<Failure, u64>,
    /// Ready clients lost later (server closed, reset, protocol error).
    pub after_ready: BTreeMap<Failure, u64>,
    /// The first few distinct error messages, for diagnosis.
    pub samples: Vec<String>,
    /// connect start → ready, per client.
    pub handshake: Histogram,
    /// sentAt → receipt, per delivered event.
    pub latency: Histogram,
    per_seq: BTreeMap<u64, SeqTimes>,
    pub delivered: u64,
    /// Events skipped (seq jumped ahead of last+1), summed.
    pub gaps: u64,
    /// Events seen twice (seq == last).
    pub dupes: u64,
    /// Events older than the last one seen (seq < last).
    pub reorders: u64,
    /// Events naming a subscription id that was never sent.
    pub unknown_ids: u64,
    pub closed_clean: u64,
    /// When the last delivery arrived (ms since the epoch; 0 before the first).
    pub last_rx_ms: f64,
}

impl Stats {
    pub fn fail(&mut self, ready: bool, kind: Failure, msg: impl FnOnce() -> String) {
        let map = if ready {
            &mut self.after_ready
        } else {
            &mut self.before_ready
        };
        *map.entry(kind).or_default() += 1;
        if self.samples.len() < 8 {
            let m = format!("{}: {}", kind.name(), msg());
            if !self.samples.contains(&m) {
                self.samples.push(m);
            }
        }
    }

    pub fn failed(&self) -> u64 {
        self.before_ready.values().sum()
    }

    /// Records one event for a subscription whose last seen seq is `*last` (`first_seq - 1`
    /// before the first event; with `any_first`, the first event is taken as the start).
    /// `sent_ms` is the event's `sentAt`, `latency_ms` receipt − `sentAt`.
    #[allow(clippy::too_many_arguments)]
    pub fn event(
        &mut self,
        last: &mut u64,
        seen_any: bool,
        any_first: bool,
        seq: u64,
        sent_ms: f64,
        latency_ms: f64,
    ) {
        self.delivered += 1;
        self.last_rx_ms = self.last_rx_ms.max(sent_ms + latency_ms);
        let us = (latency_ms * 1000.0).max(0.0) as u64;
        self.latency.record(us);
        let t = self.per_seq.entry(seq).or_insert(SeqTimes {
            count: 0,
            first_ms: latency_ms,
            last_ms: latency_ms,
            sent_ms,
        });
        t.count += 1;
        t.first_ms = t.first_ms.min(latency_ms);
        t.last_ms = t.last_ms.max(latency_ms);
        if (!seen_any && any_first) || seq == *last + 1 {
            *last = seq;
        } else if seq > *last + 1 {
            self.gaps += seq - *last - 1;
            *last = seq;
        } else if seq == *last {
            self.dupes += 1;
        } else {
            self.reorders += 1;
        }
    }

    /// The delivery report. `missing`: events never received by subscriptions that stopped
    /// short of the expected last seq (`None` when no `expect` was given).
    pub fn delivery_json(&self, missing: Option<u64>, with_buckets: bool) -> Value {
        let per_seq: Vec<Value> = self
            .per_seq
            .iter()
            .map(|(seq, t)| {
                json!([
                    seq,
                    t.count,
                    round3(t.first_ms),
                    round3(t.last_ms),
                    round3(t.sent_ms)
                ])
            })
            .collect();
        let exact = self.gaps == 0
            && self.dupes == 0
            && self.reorders == 0
            && self.unknown_ids == 0
            && missing.unwrap_or(0) == 0;
        json!({
            "delivered": self.delivered,
            "gaps": self.gaps,
            "dupes": self.dupes,
            "reorders": self.reorders,
            "unknown_ids": self.unknown_ids,
            "missing": missing,
            "exactly_once_in_order": exact,
            "last_rx_ms": round3(self.last_rx_ms),
            "latency": self.latency.to_json(with_buckets),
            "per_seq": per_seq,
        })
    }

    pub fn failures_json(&self) -> Value {
        let m = |map: &BTreeMap<Failure, u64>| -> Value {
            map.iter()
                .map(|(k, v)| (k.name().to_string(), json!(v)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        json!({ "before_ready": m(&self.before_ready), "after_ready": m(&self.after_ready), "samples": self.samples })
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_contiguous_and_close() {
        for v in [
            0u64,
            1,
            127,
            128,
            129,
            255,
            256,
            1000,
            65_535,
            1 << 30,
            123_456_789,
        ] {
            let lb = lower_bound(index(v));
            assert!(lb <= v && v - lb <= v / 64, "v={v} lb={lb}");
        }
        for i in 1..BUCKETS {
            assert!(lower_bound(i) > lower_bound(i - 1), "bucket {i}");
            assert_eq!(index(lower_bound(i)), i);
        }
        let mut h = Histogram::default();
        for v in 1..=1000 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5);
        assert!((492_000..=500_000).contains(&p50), "{p50}");
        assert_eq!(h.quantile(1.0), 1_000_000);
        assert_eq!(h.to_json(false)["max_ms"], 1000.0);
    }

    #[test]
    fn seq_check_counts_gaps_dupes_and_reorders() {
        let mut s = Stats::default();
        let mut last = 0;
        for seq in [1, 2, 2, 5, 4, 6] {
            s.event(&mut last, true, false, seq, 100.0, 1.0);
        }
        assert_eq!(
            (s.delivered, s.gaps, s.dupes, s.reorders, last),
            (6, 2, 1, 1, 6)
        );
        let j = s.delivery_json(Some(0), false);
        assert_eq!(j["exactly_once_in_order"], false);
        let mut ok = Stats::default();
        let mut last = 0;
        ok.event(&mut last, false, true, 40, 100.0, 2.0);
        ok.event(&mut last, true, true, 41, 101.0, 3.0);
        let j = ok.delivery_json(Some(0), false);
        assert_eq!(j["exactly_once_in_order"], true);
        assert_eq!(j["per_seq"][1], json!([41, 1, 3.0, 3.0, 101.0]));
    }
}
