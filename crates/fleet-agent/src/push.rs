//! A bounded buffer of line-protocol lines sent to gpufleet in batches.
//!
//! Lines wait in memory (at most [`PushConfig::max_lines`]; beyond, the oldest are dropped and
//! counted) and go out [`PushConfig::batch_lines`] at a time, gzip-compressed, to
//! `POST /api/v1/telemetry/write?precision=ns` with the agent's token. What each answer means:
//!
//! | answer | the batch | next try |
//! |---|---|---|
//! | 204 | sent | at once |
//! | 400 (partial write) | sent: gpufleet kept the good lines and names the bad ones, which would fail again | at once |
//! | 413 | kept; batches halve | at once |
//! | 401, 403 | kept (the token must be fixed) | after the backoff |
//! | 429, 5xx, no answer | kept | after `Retry-After` or the backoff |
//!
//! The backoff doubles from 0.5 s to 30 s, with up to 20 % jitter, and starts over after a
//! success.

use std::collections::VecDeque;
use std::io::Write;
use std::time::{Duration, Instant};

/// Where and how lines are sent.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// gpufleet's base URL (`http://gpufleet:8080`).
    pub server: String,
    /// An API token with the `TelemetryWrite` permission (operator or admin).
    pub token: String,
    /// Lines per request.
    pub batch_lines: usize,
    /// Lines kept while gpufleet cannot be reached.
    pub max_lines: usize,
    /// Longest wait for one request.
    pub timeout: Duration,
}

impl PushConfig {
    pub fn new(server: &str, token: &str) -> PushConfig {
        PushConfig {
            server: server.trim_end_matches('/').to_string(),
            token: token.to_string(),
            batch_lines: 5000,
            max_lines: 200_000,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What the pusher has done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PushStats {
    pub sent_lines: u64,
    /// Lines gpufleet refused (bad syntax).
    pub rejected_lines: u64,
    /// Lines dropped because the buffer was full.
    pub dropped_lines: u64,
    /// Requests that failed (no answer, or an answer that keeps the batch).
    pub failures: u64,
    pub last_error: Option<String>,
}

const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub struct Pusher {
    cfg: PushConfig,
    http: reqwest::Client,
    url: String,
    buf: VecDeque<String>,
    batch: usize,
    backoff: Duration,
    not_before: Option<Instant>,
    stats: PushStats,
}

impl Pusher {
    pub fn new(cfg: PushConfig) -> anyhow::Result<Pusher> {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .build()?;
        Ok(Pusher {
            url: format!("{}/api/v1/telemetry/write?precision=ns", cfg.server),
            batch: cfg.batch_lines.max(1),
            http,
            buf: VecDeque::new(),
            backoff: MIN_BACKOFF,
            not_before: None,
            stats: PushStats::default(),
            cfg,
        })
    }

    /// Adds lines; when the buffer is full the oldest go.
    pub fn enqueue(&mut self, lines: impl IntoIterator<Item = String>) {
        self.buf.extend(lines);
        let max = self.cfg.max_lines.max(1);
        while self.buf.len() > max {
            self.buf.pop_front();
            self.stats.dropped_lines += 1;
        }
    }

    /// Lines waiting.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    pub fn stats(&self) -> &PushStats {
        &self.stats
    }

    /// When the next attempt may be made (None: now).
    pub fn next_attempt(&self) -> Option<Instant> {
        self.not_before
    }

    /// Sends what waits, batch by batch, until the buffer is empty or a batch fails (then the
    /// backoff starts). Returns the lines sent.
    pub async fn flush(&mut self) -> u64 {
        let mut sent = 0;
        if self.not_before.is_some_and(|t| Instant::now() < t) {
            return 0;
        }
        self.not_before = None;
        while !self.buf.is_empty() {
            let n = self.batch.min(self.buf.len());
            let body: String =
                self.buf
                    .iter()
                    .take(n)
                    .fold(String::with_capacity(n * 200), |mut s, l| {
                        s.push_str(l);
                        s.push('\n');
                        s
                    });
            match self.send(body).await {
                Outcome::Taken { rejected } => {
                    self.buf.drain(..n);
                    sent += n as u64;
                    self.stats.sent_lines += (n as u64).saturating_sub(rejected);
                    self.stats.rejected_lines += rejected;
                    self.backoff = MIN_BACKOFF;
                }
                Outcome::TooLarge => {
                    if self.batch == 1 {
                        // One line larger than the server takes: it will never go.
                        self.buf.pop_front();
                        self.stats.rejected_lines += 1;
                    } else {
                        self.batch = (self.batch / 2).max(1);
                    }
                }
                Outcome::Later { error, retry_after } => {
                    self.stats.failures += 1;
                    tracing::warn!(error = %error, pending = self.buf.len(), "telemetry not sent; trying again later");
                    self.stats.last_error = Some(error);
                    let wait = retry_after.unwrap_or_else(|| jitter(self.backoff));
                    self.not_before = Some(Instant::now() + wait);
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    break;
                }
            }
        }
        sent
    }

    async fn send(&self, body: String) -> Outcome {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if let Err(e) = gz.write_all(body.as_bytes()) {
            return Outcome::Later {
                error: format!("gzip: {e}"),
                retry_after: None,
            };
        }
        let bytes = match gz.finish() {
            Ok(b) => b,
            Err(e) => {
                return Outcome::Later {
                    error: format!("gzip: {e}"),
                    retry_after: None,
                }
            }
        };
        let r = self
            .http
            .post(&self.url)
            .bearer_auth(&self.cfg.token)
            .header("content-encoding", "gzip")
            .header("content-type", "text/plain; charset=utf-8")
            .body(bytes)
            .send()
            .await;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Later {
                    error: format!("{}: {e}", self.cfg.server),
                    retry_after: None,
                }
            }
        };
        let status = r.status().as_u16();
        let retry_after = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match status {
            200..=299 => Outcome::Taken { rejected: 0 },
            400 => {
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                let rejected = body["rejected_lines"].as_u64().unwrap_or(0);
                tracing::warn!(rejected, errors = %body["errors"], "gpufleet refused lines");
                Outcome::Taken { rejected }
            }
            413 => Outcome::TooLarge,
            _ => {
                let text = r.text().await.unwrap_or_default();
                Outcome::Later {
                    error: format!("gpufleet answered {status}: {}", text.trim()),
                    retry_after,
                }
            }
        }
    }
}

enum Outcome {
    Taken {
        rejected: u64,
    },
    TooLarge,
    Later {
        error: String,
        retry_after: Option<Duration>,
    },
}

/// `d` plus up to 20 %, varied by the clock (no two agents retry in step).
fn jitter(d: Duration) -> Duration {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    d + d.mul_f64(f64::from(n % 1000) / 5000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_buffer_drops_the_oldest_and_counts() {
        let mut cfg = PushConfig::new("http://127.0.0.1:9/", "t");
        cfg.max_lines = 3;
        let mut p = Pusher::new(cfg).unwrap();
        p.enqueue((0..5).map(|i| format!("gpu,uuid=g v={i}")));
        assert_eq!(p.pending(), 3);
        assert_eq!(p.stats().dropped_lines, 2);
        assert_eq!(p.buf.front().unwrap(), "gpu,uuid=g v=2");
    }

    #[tokio::test]
    async fn nothing_listening_keeps_the_lines_and_backs_off() {
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        let mut p = Pusher::new(PushConfig::new("http://127.0.0.1:9", "t")).unwrap();
        p.enqueue(["gpu,uuid=g v=1".to_string()]);
        assert_eq!(p.flush().await, 0);
        assert_eq!(p.pending(), 1);
        assert_eq!(p.stats().failures, 1);
        let wait = p.next_attempt().unwrap() - Instant::now();
        assert!(
            wait > Duration::from_millis(300) && wait <= Duration::from_millis(600),
            "{wait:?}"
        );
        // Within the backoff nothing is tried.
        assert_eq!(p.flush().await, 0);
        assert_eq!(p.stats().failures, 1);
        assert!(jitter(Duration::from_secs(10)) <= Duration::from_secs(12));
    }
}
