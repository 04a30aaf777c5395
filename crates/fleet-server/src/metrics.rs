//! A small Prometheus text-format registry for HTTP metrics.

use std::collections::BTreeMap;
use std::fmt::Write;

use parking_lot::Mutex;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

/// A gauge to render: name, help text, and (labels, value) samples.
pub type Gauge<'a> = (&'a str, &'a str, Vec<(String, f64)>);

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        *self
            .requests
            .lock()
            .entry((method.into(), route.into(), status))
            .or_default() += 1;
        let mut l = self.latency.lock();
        let h = l.entry((method.into(), route.into())).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.total += 1;
    }

    /// Renders the HTTP metrics plus the given gauges.
    pub fn render(&self, gauges: &[Gauge<'_>]) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP gpufleet_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE gpufleet_http_requests_total counter\n");
        for ((m, r, s), n) in self.requests.lock().iter() {
            let _ = writeln!(
                out,
                "gpufleet_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {n}",
                esc(r)
            );
        }
        out.push_str("# HELP gpufleet_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE gpufleet_http_request_duration_seconds histogram\n");
        for ((m, r), h) in self.latency.lock().iter() {
            let r = esc(r);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "gpufleet_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"{b}\"}} {}", h.counts[i]);
            }
            let _ = writeln!(out, "gpufleet_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"+Inf\"}} {}", h.total);
            let _ = writeln!(
                out,
                "gpufleet_http_request_duration_seconds_sum{{method=\"{m}\",route=\"{r}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "gpufleet_http_request_duration_seconds_count{{method=\"{m}\",route=\"{r}\"}} {}",
                h.total
            );
        }
        for (name, help, values) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (labels, v) in values {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {v}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {v}");
                }
            }
        }
        out
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = super::Metrics::default();
        m.observe("GET", "/x", 200, 0.003);
        m.observe("GET", "/x", 500, 0.2);
        let t = m.render(&[("g", "a gauge", vec![("kind=\"node\"".into(), 3.0)])]);
        assert!(
            t.contains(
                "gpufleet_http_requests_total{method=\"GET\",route=\"/x\",status=\"500\"} 1"
            ),
            "{t}"
        );
        assert!(t.contains("le=\"0.005\"} 1"), "{t}");
        assert!(t.contains("le=\"0.25\"} 2"), "{t}");
        assert!(t.contains("g{kind=\"node\"} 3"), "{t}");
    }
}
