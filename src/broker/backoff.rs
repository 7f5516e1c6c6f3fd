//! Reconnect delays: exponential from `min` to `max`, with full jitter in the upper half so a
//! fleet that lost Redis together does not reconnect in lockstep. Used by `driver.rs`.

use std::time::Duration;

pub(super) struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub(super) fn new(min: Duration, max: Duration, seed: u64) -> Self {
        Backoff {
            min,
            max: max.max(min),
            attempt: 0,
            // xorshift needs a non-zero state.
            rng: seed | 1,
        }
    }

    /// The delay before the next attempt: `min·2ⁿ` capped at `max`, then a random point in
    /// its upper half.
    pub(super) fn next_delay(&mut self) -> Duration {
        let exp = self.min.saturating_mul(1u32 << self.attempt.min(20));
        let cap = exp.min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = cap / 2;
        let span = (cap - half).as_micros() as u64;
        let jitter = if span == 0 {
            0
        } else {
            self.random() % (span + 1)
        };
        half + Duration::from_micros(jitter)
    }

    pub(super) fn reset(&mut self) {
        self.attempt = 0;
    }

    fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter_and_resets() {
        let min = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        let mut b = Backoff::new(min, max, 42);
        let d: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        assert!(d[0] >= min / 2 && d[0] <= min);
        assert!(d[3] >= Duration::from_millis(400) && d[3] <= Duration::from_millis(800));
        for x in &d[5..] {
            assert!(*x >= max / 2 && *x <= max, "{x:?}");
        }
        // Jitter: not all equal at the cap.
        let capped: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        assert!(capped.iter().any(|x| *x != capped[0]));
        b.reset();
        assert!(b.next_delay() <= min);
    }
}
