//! Per-token rate limits of the telemetry write routes: a token bucket per API or session token,
//! counted in lines (points).
//!
//! A bucket holds `rate × burst_secs` lines and refills at `rate` per second. A request may
//! take more than the bucket holds when the bucket is not in debt (so one large batch is never
//! refused for its size alone); the debt it leaves is paid back before the next request goes,
//! and the answer to that one is 429 with `Retry-After` saying when.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Buckets of all tokens seen; idle ones are forgotten.
pub struct WriteLimits {
    rate: f64,
    capacity: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Buckets idle this long are full again and can be dropped.
const FORGET_AFTER: Duration = Duration::from_secs(300);

impl WriteLimits {
    /// `rate` lines per second per token (0: no limit), bursts of `burst_secs` of it.
    pub fn new(rate: u64, burst_secs: u64) -> WriteLimits {
        WriteLimits {
            rate: rate as f64,
            capacity: (rate.saturating_mul(burst_secs.max(1))) as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `lines` from `token`'s bucket, or says after how many seconds to try again.
    pub fn take(&self, token: &str, lines: u64) -> Result<(), u64> {
        self.take_at(token, lines, Instant::now())
    }

    fn take_at(&self, token: &str, lines: u64, now: Instant) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut b = self.buckets.lock();
        if b.len() > 10_000 {
            b.retain(|_, (_, at)| now.duration_since(*at) < FORGET_AFTER);
        }
        let (level, at) = b.entry(token.to_string()).or_insert((self.capacity, now));
        *level = (*level + now.duration_since(*at).as_secs_f64() * self.rate).min(self.capacity);
        *at = now;
        if *level < 0.0 {
            return Err(((-*level) / self.rate).ceil().max(1.0) as u64);
        }
        *level -= lines as f64;
        Ok(())
    }
}

/// The lines of a line-protocol body or Prometheus page that carry data (not blank, not
/// comments).
pub fn data_lines(body: &[u8]) -> u64 {
    body.split(|b| *b == b'\n')
        .filter(|l| {
            let l = l.trim_ascii();
            !l.is_empty() && !l.starts_with(b"#")
        })
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_may_burst_then_waits_for_the_refill_and_others_are_not_held() {
        let l = WriteLimits::new(100, 2);
        let t0 = Instant::now();
        assert_eq!(l.take_at("a", 150, t0), Ok(()));
        assert_eq!(l.take_at("a", 50, t0), Ok(()));
        // 200 taken: the bucket is empty, not in debt; one more large batch goes.
        assert_eq!(l.take_at("a", 500, t0), Ok(()));
        // Now 500 in debt: 5 s at 100 lines/s.
        assert_eq!(l.take_at("a", 1, t0), Err(5));
        assert_eq!(l.take_at("a", 1, t0 + Duration::from_secs(2)), Err(3));
        assert_eq!(l.take_at("a", 1, t0 + Duration::from_secs(5)), Ok(()));
        // Another token has its own bucket.
        assert_eq!(l.take_at("b", 200, t0), Ok(()));
        // No limit configured.
        assert_eq!(WriteLimits::new(0, 2).take_at("a", u64::MAX, t0), Ok(()));
    }

    #[test]
    fn only_data_lines_count() {
        assert_eq!(data_lines(b"# HELP x\n\ngpu a=1\n  \ngpu a=2 5\n"), 2);
        assert_eq!(data_lines(b""), 0);
    }
}
