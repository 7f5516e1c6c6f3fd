//! What the floor publishes: `publish` builds the `{"data":{"tick":…}}` payload once,
//! stamped with `sentAt` (ms since the epoch: now, or the scheduled time `rate` gives) and
//! hands it to every loop; `rate` paces many publishes over topics from the main thread,
//! exactly as the JS servers' harness does (benchmark/lib/server-harness.js: same command,
//! same topic sequence, `sentAt` = each event's scheduled time).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::worker::Handle;

/// Pacing granularity: each tick publishes every event that fell due since the last one.
const TICK: Duration = Duration::from_millis(5);

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Publishes `{seq, sentAt, body: "x" × body}` to `topic` on every loop (`sentAt`: now
/// unless given).
pub fn publish(workers: &[Handle], topic: &Arc<str>, seq: u64, body: usize, sent_at: Option<f64>) {
    let payload = format!(
        r#"{{"data":{{"tick":{{"seq":{seq},"sentAt":{},"body":"{}"}}}}}}"#,
        sent_at.unwrap_or_else(epoch_ms),
        "x".repeat(body)
    );
    let payload: Arc<[u8]> = payload.into_bytes().into();
    for w in workers {
        w.publish(topic.clone(), payload.clone());
    }
}

/// The topic sequence of `rate`: xorshift32 (13, 17, 5), the same in JS.
pub fn xorshift32(x: &mut u32) -> u32 {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    *x
}

/// `rate <count> <perSec> <prefix> <topics> <firstSeq> <bodyBytes> <seed>`.
pub struct Rate {
    count: u64,
    per_sec: u64,
    prefix: String,
    topics: usize,
    first_seq: u64,
    body: usize,
    seed: u32,
}

impl Rate {
    pub fn parse(args: &[&str]) -> Result<Rate, String> {
        let [count, per_sec, prefix, topics, first_seq, body, seed] = args else {
            return Err(
                "rate <count> <perSec> <prefix> <topics> <firstSeq> <bodyBytes> <seed>".into(),
            );
        };
        let n = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("rate: bad number {v:?}"))
        };
        let r = Rate {
            count: n(count)?,
            per_sec: n(per_sec)?,
            prefix: prefix.to_string(),
            topics: n(topics)? as usize,
            first_seq: n(first_seq)?,
            body: n(body)? as usize,
            seed: n(seed)? as u32,
        };
        if !(1..=10_000_000).contains(&r.count)
            || !(1..=1_000_000).contains(&r.per_sec)
            || !(1..=1_000_000).contains(&r.topics)
            || r.seed == 0
            || r.body > 1 << 20
        {
            return Err(
                "rate: count 1..1e7, perSec 1..1e6, topics 1..1e6, seed ≠ 0, body ≤ 1 MiB".into(),
            );
        }
        Ok(r)
    }

    /// Publishes `count` events at `per_sec`, each to `prefix<x % topics>` (x from the
    /// seeded xorshift32), every topic's seq counting up from `first_seq`, on the schedule
    /// of the JS harness: event i is due at the first TICK boundary at or after i / per_sec
    /// and carries that boundary as its `sentAt`. Returns the `rate-done` line: start time,
    /// duration, how late the publisher fell behind its schedule at worst, and the
    /// publishes per topic.
    pub fn run(&self, workers: &[Handle]) -> serde_json::Value {
        let names: Vec<Arc<str>> = (0..self.topics)
            .map(|i| format!("{}{i}", self.prefix).into())
            .collect();
        let tick_ms = TICK.as_millis() as u64;
        let per_tick_k = self.per_sec * tick_ms; // events per tick × 1000
        let tick_of = |i: u64| (i * 1000).div_ceil(per_tick_k);
        let mut per_topic = vec![0u64; self.topics];
        let mut x = self.seed;
        let (t0, start) = (epoch_ms(), Instant::now());
        let (mut done, mut late_ms) = (0u64, 0f64);
        while done < self.count {
            let elapsed = start.elapsed().as_secs_f64() * 1000.0;
            let k = (elapsed / tick_ms as f64) as u64;
            let due = (k * per_tick_k / 1000 + 1).min(self.count);
            if due > done {
                late_ms = late_ms.max(elapsed - (tick_of(done) * tick_ms) as f64);
            }
            while done < due {
                let t = xorshift32(&mut x) as usize % self.topics;
                let sent_at = t0 + (tick_of(done) * tick_ms) as f64;
                publish(
                    workers,
                    &names[t],
                    self.first_seq + per_topic[t],
                    self.body,
                    Some(sent_at),
                );
                per_topic[t] += 1;
                done += 1;
            }
            if let Some(wait) = (TICK * (k as u32 + 1)).checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        serde_json::json!({
            "event": "rate-done",
            "published": done,
            "t0": t0,
            "ms": start.elapsed().as_secs_f64() * 1000.0,
            "lateMs": late_ms,
            "perTopic": per_topic,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xorshift_matches_the_js_sequence() {
        // benchmark/lib/server-harness.js's xorshift32 from seed 1
        let mut x = 1;
        let got: Vec<u32> = (0..3).map(|_| xorshift32(&mut x)).collect();
        assert_eq!(got, [270_369, 67_634_689, 2_647_435_461]);
        assert!(Rate::parse(&["10", "100", "t", "3", "1", "0", "0"]).is_err());
        assert!(Rate::parse(&["10", "100", "t", "3", "1", "0", "7"]).is_ok());
    }
}
