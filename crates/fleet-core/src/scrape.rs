//! Scraping dcgm-exporter-compatible `/metrics` pages. The targets come from the CMDB: every
//! node whose configuration has a `metrics_url` (for a real fleet the node's dcgm-exporter,
//! `http://<host>:9400/metrics`). Each round (the interval) scrapes every target once, at an
//! offset within the first half of the interval derived from the node id (so that a fleet's
//! scrapes spread out instead of arriving together), with a timeout per request and a bound on
//! the scrapes in flight. Each page goes through the same ingest as pushed telemetry, as
//! `system:scraper`; each target's last outcome (`up`, error, duration, samples) is kept for the
//! telemetry status.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_model::asset::AssetKind;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::principal::{Principal, SystemRole};
use crate::Core;

/// How the scraper runs.
#[derive(Debug, Clone)]
pub struct ScrapeSettings {
    /// Time between two scrapes of a target.
    pub interval: Duration,
    /// Longest wait for one page.
    pub timeout: Duration,
    /// Scrapes in flight at once.
    pub concurrency: usize,
    /// Largest page read, in bytes.
    pub max_page_bytes: usize,
}

impl Default for ScrapeSettings {
    fn default() -> Self {
        ScrapeSettings {
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(5),
            concurrency: 64,
            max_page_bytes: 16 * 1024 * 1024,
        }
    }
}

/// The last scrape of one target.
#[derive(Debug, Clone, Serialize)]
pub struct ScrapeTarget {
    /// The node asset.
    pub node: String,
    pub url: String,
    /// Whether the last scrape got a page.
    pub up: bool,
    /// Why the last scrape failed.
    pub error: Option<String>,
    /// When it ended (Unix ms).
    pub last_scrape_ms: i64,
    pub duration_ms: u64,
    /// Field values of the last page that resolved to a GPU.
    pub samples: usize,
    /// Scrapes that failed in a row.
    pub failures: u64,
}

impl Core {
    /// The scrape targets and their last outcome, by node.
    pub(crate) fn scrape_targets(&self) -> Vec<ScrapeTarget> {
        self.telemetry.scrape.lock().values().cloned().collect()
    }

    /// Starts the scraper (once; later calls do nothing) until `shutdown`.
    pub fn start_scraper(&self, settings: ScrapeSettings, shutdown: CancellationToken) {
        use std::sync::atomic::Ordering;
        if self.telemetry.scraper_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let core = self.clone();
        tokio::spawn(async move {
            let http = match reqwest::Client::builder()
                .timeout(settings.timeout)
                .connect_timeout(settings.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
            {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(error = %e, "scraper: no HTTP client; not scraping");
                    return;
                }
            };
            let permits = Arc::new(tokio::sync::Semaphore::new(settings.concurrency.max(1)));
            let mut iv = tokio::time::interval(settings.interval);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = iv.tick() => {}
                }
                let targets = match core.scrape_target_list().await {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::warn!(error = %e, "scraper: targets not read from the CMDB");
                        continue;
                    }
                };
                // Forget targets that are gone.
                core.telemetry
                    .scrape
                    .lock()
                    .retain(|id, _| targets.iter().any(|(n, _)| n == id));
                let mut round = tokio::task::JoinSet::new();
                for (node, url) in targets {
                    let core = core.clone();
                    let http = http.clone();
                    let permits = permits.clone();
                    let settings = settings.clone();
                    let shutdown = shutdown.clone();
                    round.spawn(async move {
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(crate::spread_offset(&node, settings.interval / 2)) => {}
                        }
                        let Ok(_permit) = permits.acquire().await else {
                            return;
                        };
                        core.scrape_one(&http, &settings, &node, &url).await;
                    });
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = async { while round.join_next().await.is_some() {} } => {}
                }
            }
        });
    }

    /// (node id, metrics URL) of every node that has one.
    async fn scrape_target_list(&self) -> crate::error::CoreResult<Vec<(String, String)>> {
        let nodes = self.all_assets(AssetKind::Node).await?;
        Ok(nodes
            .into_iter()
            .filter_map(|n| {
                let url = n.config.get("metrics_url")?.as_str()?.trim().to_string();
                (!url.is_empty()).then_some((n.id, url))
            })
            .collect())
    }

    /// Scrapes one target now and records the outcome.
    pub async fn scrape_one(
        &self,
        http: &reqwest::Client,
        settings: &ScrapeSettings,
        node: &str,
        url: &str,
    ) {
        let started = Instant::now();
        let result = self.fetch_and_ingest(http, settings, url).await;
        let mut all = self.telemetry.scrape.lock();
        let prev_failures = all.get(node).map_or(0, |t| t.failures);
        let (up, error, samples) = match result {
            Ok(n) => (true, None, n),
            Err(e) => (false, Some(e), 0),
        };
        all.insert(
            node.to_string(),
            ScrapeTarget {
                node: node.to_string(),
                url: url.to_string(),
                up,
                error,
                last_scrape_ms: fleet_db::now_ms(),
                duration_ms: started.elapsed().as_millis() as u64,
                samples,
                failures: if up { 0 } else { prev_failures + 1 },
            },
        );
    }

    async fn fetch_and_ingest(
        &self,
        http: &reqwest::Client,
        settings: &ScrapeSettings,
        url: &str,
    ) -> Result<usize, String> {
        let mut resp = http
            .get(url)
            .header("accept", "text/plain;version=0.0.4")
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("no answer within {} s", settings.timeout.as_secs_f64())
                } else {
                    format!("cannot reach {url}: {e}")
                }
            })?;
        if !resp.status().is_success() {
            return Err(format!("{url} answered {}", resp.status()));
        }
        let mut page = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if page.len() + c.len() > settings.max_page_bytes {
                        return Err(format!(
                            "the page is larger than {} bytes",
                            settings.max_page_bytes
                        ));
                    }
                    page.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) => return Err(format!("reading the page: {e}")),
            }
        }
        let text = String::from_utf8(page).map_err(|_| "the page is not UTF-8".to_string())?;
        let report = self
            .ingest_prometheus(&Principal::system(SystemRole::Scraper), &text, None)
            .await
            .map_err(|e| format!("ingest: {e}"))?;
        Ok(report.samples)
    }
}

/// Targets by node, for the telemetry status.
pub(crate) type Targets = BTreeMap<String, ScrapeTarget>;
