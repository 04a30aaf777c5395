//! Switch port telemetry: one gNMI STREAM subscription per switch of the CMDB that has a gNMI
//! address (`gnmi_address` or `address` in its configuration, with the credentials of
//! [`Core::gnmi_for`]). Port status arrives on change and the error counters every sample
//! interval; both go to [`Core::observe_ports`], which derives each port's health (a change is a
//! `network.status_changed` event). A stream that fails or falls silent makes the switch's
//! ports `missing` and is opened again with backoff (1 s doubling to 60 s, with jitter).
//! Switches are listed again every minute and after a change of the CMDB through this process:
//! new ones get a stream, removed ones lose theirs.

use std::collections::HashMap;
use std::time::Duration;

use fleet_model::asset::AssetKind;
use fleet_telemetry::network::PortReading;
use futures::StreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::Core;

/// How switches are followed.
#[derive(Debug, Clone)]
pub struct NetworkSettings {
    /// Counter sampling interval asked of each switch.
    pub sample_interval: Duration,
    /// How often the CMDB's switches are listed again.
    pub relist_every: Duration,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            sample_interval: Duration::from_secs(30),
            relist_every: Duration::from_secs(60),
        }
    }
}

/// One switch's stream as this process holds it.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchStream {
    pub switch: String,
    pub name: String,
    /// Whether the subscription is open and has sent its first full state.
    pub connected: bool,
    /// Last message from the switch, Unix milliseconds.
    pub last_update_ms: Option<i64>,
    /// Why the last stream ended or could not open.
    pub error: Option<String>,
    /// Streams opened again after a failure.
    pub reconnects: u64,
}

#[derive(Default)]
pub(crate) struct Streams {
    pub(crate) status: HashMap<String, SwitchStream>,
    stops: HashMap<String, CancellationToken>,
}

fn has_gnmi_address(cfg: &serde_json::Value) -> bool {
    cfg.get("gnmi_address")
        .or_else(|| cfg.get("address"))
        .and_then(|v| v.as_str())
        .is_some_and(|v| !v.trim().is_empty())
}

impl Core {
    /// The switches this process streams from, by id.
    pub(crate) fn switch_streams(&self) -> Vec<SwitchStream> {
        let mut v: Vec<SwitchStream> = self
            .telemetry
            .switches
            .lock()
            .status
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.switch.cmp(&b.switch));
        v
    }

    /// Starts following the CMDB's switches over gNMI (once; later calls do nothing) until
    /// `shutdown`.
    pub fn start_network_watch(&self, settings: NetworkSettings, shutdown: CancellationToken) {
        use std::sync::atomic::Ordering;
        if self.telemetry.network_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let core = self.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(settings.relist_every);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = iv.tick() => {}
                    _ = core.telemetry.relist.notified() => {}
                }
                match core.all_assets(AssetKind::Switch).await {
                    Ok(all) => {
                        let wanted: Vec<(String, String)> = all
                            .into_iter()
                            .filter(|a| has_gnmi_address(&a.config))
                            .map(|a| (a.id, a.name))
                            .collect();
                        core.follow_switches(&wanted, &settings, &shutdown);
                    }
                    Err(e) => tracing::warn!(error = %e, "network: switches not listed"),
                }
            }
            let mut s = core.telemetry.switches.lock();
            for (_, stop) in s.stops.drain() {
                stop.cancel();
            }
        });
    }

    fn follow_switches(
        &self,
        wanted: &[(String, String)],
        settings: &NetworkSettings,
        shutdown: &CancellationToken,
    ) {
        let mut s = self.telemetry.switches.lock();
        s.stops.retain(|id, stop| {
            let keep = wanted.iter().any(|(w, _)| w == id);
            if !keep {
                stop.cancel();
            }
            keep
        });
        s.status.retain(|id, _| wanted.iter().any(|(w, _)| w == id));
        for (id, name) in wanted {
            if s.stops.contains_key(id) {
                continue;
            }
            let stop = shutdown.child_token();
            s.stops.insert(id.clone(), stop.clone());
            s.status.insert(
                id.clone(),
                SwitchStream {
                    switch: id.clone(),
                    name: name.clone(),
                    connected: false,
                    last_update_ms: None,
                    error: None,
                    reconnects: 0,
                },
            );
            let core = self.clone();
            let (id, every) = (id.clone(), settings.sample_interval);
            tokio::spawn(async move { core.follow_switch(&id, every, stop).await });
        }
    }

    fn switch_status(&self, id: &str, f: impl FnOnce(&mut SwitchStream)) {
        if let Some(st) = self.telemetry.switches.lock().status.get_mut(id) {
            f(st);
        }
    }

    /// One switch: subscribe, pass every update on, and on failure mark its ports missing
    /// and subscribe again after a backoff.
    async fn follow_switch(&self, id: &str, every: Duration, stop: CancellationToken) {
        let mut backoff = Duration::from_secs(1);
        let mut first = true;
        loop {
            if !first {
                self.switch_status(id, |s| s.reconnects += 1);
            }
            first = false;
            let error = tokio::select! {
                _ = stop.cancelled() => return,
                e = self.stream_switch(id, every) => e,
            };
            let mut was_connected = false;
            self.switch_status(id, |s| {
                was_connected = s.connected;
                s.connected = false;
                s.error = Some(error.clone());
            });
            if was_connected {
                // It ran: the next attempt starts from the shortest wait.
                backoff = Duration::from_secs(1);
            }
            tracing::warn!(switch = id, %error, "network: gNMI stream ended");
            self.observe_switch_unreachable(id, &error).await;
            let jitter = crate::spread_offset(id, backoff / 4);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(backoff + jitter) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
    }

    /// Runs one subscription until it fails; returns why.
    async fn stream_switch(&self, id: &str, every: Duration) -> String {
        let client = match self.gnmi_for(id).await {
            Ok(c) => c,
            Err(e) => return e,
        };
        // Silence longer than three samples (and a margin) is a dead stream.
        let idle = every * 3 + Duration::from_secs(10);
        let stream = match client.subscribe_ports(every, idle).await {
            Ok(s) => s,
            Err(e) => return e.to_string(),
        };
        let mut stream = Box::pin(stream);
        while let Some(item) = stream.next().await {
            let now = fleet_db::now_ms();
            match item {
                Err(e) => return e.to_string(),
                Ok(fleet_bmc::gnmi::PortEvent::Synced) => self.switch_status(id, |s| {
                    s.connected = true;
                    s.error = None;
                    s.last_update_ms = Some(now);
                }),
                Ok(fleet_bmc::gnmi::PortEvent::Ports(ports)) => {
                    self.switch_status(id, |s| s.last_update_ms = Some(now));
                    let readings: Vec<PortReading> = ports
                        .into_iter()
                        .map(|p| PortReading {
                            port: p.name,
                            admin_up: p.admin_up,
                            oper_status: p.oper_status,
                            in_errors: p.in_errors.map(|v| v as f64),
                            out_errors: p.out_errors.map(|v| v as f64),
                        })
                        .collect();
                    self.observe_ports(id, &readings).await;
                }
            }
        }
        "the stream ended".into()
    }
}
