//! Coolant distribution units watched over Redfish.
//!
//! A CDU whose configuration names an `address` (its Redfish controller), with a password in
//! the secret store, is read by the enricher's liveness round: its `Status`. Two things become
//! alerts for the correlation, raised and resolved here:
//!
//! - `CduFault` (`cdu`): the unit, or a part it rolls up (a pump, a filter, a connector),
//!   reports `Critical`. This announces the correlation's `cdu_fault` rule: the thermal alerts
//!   of the GPUs in the racks the CDU cools join its incident, before enough of them are hot for
//!   the fault to be inferred.
//! - `CduUnreachable` (`cdu`): the controller stopped answering (no connection, or none within
//!   the deadline). An answer that is not a reading (a refused password) is shown in the
//!   status, not alerted.
//!
//! The state is held by the process that polls (like the PDUs' state).

use std::collections::{BTreeMap, BTreeSet};

use fleet_bmc::cdu::CduReading;
use fleet_model::asset::{Asset, AssetKind};
use fleet_telemetry::Nanos;
use serde::Serialize;

use crate::correlation::IncomingAlert;
use crate::{now_nanos, Core};

/// One watched CDU as this process last read it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CduStatus {
    pub cdu: String,
    pub name: String,
    /// Whether the last read answered.
    pub reachable: bool,
    /// Last successful read, Unix milliseconds.
    pub last_read_ms: Option<i64>,
    /// Why the last read failed.
    pub error: Option<String>,
    /// `Status.Health` and `Status.HealthRollup` as last read.
    pub health: Option<String>,
    pub health_rollup: Option<String>,
    /// What its conditions say is wrong, worst first.
    pub conditions: Vec<String>,
    pub failures: u64,
}

#[derive(Debug)]
struct CduState {
    status: CduStatus,
    unreachable_since: Option<Nanos>,
    failed_since: Option<Nanos>,
}

/// What one read of a CDU gave: its cooling units.
pub type CduOutcome = crate::power::ReadOutcome<Vec<CduReading>>;

/// What one read changed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CduChange {
    Unreachable { since: Nanos, error: String },
    Reachable { since: Nanos, at: Nanos },
    Failed { since: Nanos, why: String },
    Recovered { since: Nanos, at: Nanos },
}

/// The CDUs this process polls.
#[derive(Debug, Default)]
pub(crate) struct CduWatch {
    by_cdu: BTreeMap<String, CduState>,
}

/// The reading of the CMDB's CDU: the one named like it, else the first CDU, else the first.
pub fn pick<'a>(readings: &'a [CduReading], name: &str) -> Option<&'a CduReading> {
    readings
        .iter()
        .find(|r| r.name.as_deref() == Some(name) || r.id == name)
        .or_else(|| {
            readings
                .iter()
                .find(|r| r.equipment_type.as_deref() == Some("CDU"))
        })
        .or_else(|| readings.first())
}

impl CduWatch {
    /// Takes one read of CDU `id`: its reading (`Ok`), or why it failed (`Err`: the reason,
    /// and whether the CDU was silent).
    pub(crate) fn observe(
        &mut self,
        id: &str,
        name: &str,
        at: Nanos,
        outcome: Result<&CduReading, (String, bool)>,
    ) -> Vec<CduChange> {
        let st = self
            .by_cdu
            .entry(id.to_string())
            .or_insert_with(|| CduState {
                status: CduStatus {
                    cdu: id.to_string(),
                    name: name.to_string(),
                    reachable: true,
                    last_read_ms: None,
                    error: None,
                    health: None,
                    health_rollup: None,
                    conditions: Vec::new(),
                    failures: 0,
                },
                unreachable_since: None,
                failed_since: None,
            });
        st.status.name = name.to_string();
        let mut out = Vec::new();
        match outcome {
            Err((error, silent)) => {
                st.status.failures += 1;
                st.status.error = Some(error.clone());
                st.status.reachable = !silent;
                if silent {
                    if st.unreachable_since.is_none() {
                        st.unreachable_since = Some(at);
                        out.push(CduChange::Unreachable { since: at, error });
                    }
                } else if let Some(since) = st.unreachable_since.take() {
                    out.push(CduChange::Reachable { since, at });
                }
            }
            Ok(r) => {
                st.status.reachable = true;
                st.status.error = None;
                st.status.last_read_ms = Some(at / 1_000_000);
                st.status.health = r.health.clone();
                st.status.health_rollup = r.health_rollup.clone();
                st.status.conditions = r.conditions.clone();
                if let Some(since) = st.unreachable_since.take() {
                    out.push(CduChange::Reachable { since, at });
                }
                match (r.failed(), st.failed_since) {
                    (true, None) => {
                        st.failed_since = Some(at);
                        let why = if r.conditions.is_empty() {
                            format!(
                                "health {}, roll-up {}",
                                r.health.as_deref().unwrap_or("?"),
                                r.health_rollup.as_deref().unwrap_or("?")
                            )
                        } else {
                            r.conditions.join("; ")
                        };
                        out.push(CduChange::Failed { since: at, why });
                    }
                    (false, Some(since)) => {
                        st.failed_since = None;
                        out.push(CduChange::Recovered { since, at });
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// Forgets CDUs no longer polled.
    pub(crate) fn retain(&mut self, ids: &BTreeSet<String>) {
        self.by_cdu.retain(|id, _| ids.contains(id));
    }

    pub(crate) fn statuses(&self) -> Vec<CduStatus> {
        self.by_cdu.values().map(|s| s.status.clone()).collect()
    }
}

/// The alert one change raises or resolves.
pub(crate) fn alert_of(name: &str, ch: &CduChange) -> IncomingAlert {
    let ms = |n: Nanos| n / 1_000_000;
    let labels = |alertname: &'static str, severity: &'static str| {
        [
            ("alertname", alertname),
            ("cdu", name),
            ("severity", severity),
        ]
    };
    match ch {
        CduChange::Unreachable { since, error } => IncomingAlert::raised(
            &labels("CduUnreachable", "warning"),
            format!("the CDU {name} does not answer: {error}"),
            ms(*since),
            None,
        ),
        CduChange::Reachable { since, at } => IncomingAlert::raised(
            &labels("CduUnreachable", "warning"),
            format!("the CDU {name} answers again"),
            ms(*since),
            Some(ms(*at)),
        ),
        CduChange::Failed { since, why } => IncomingAlert::raised(
            &labels("CduFault", "critical"),
            format!("the CDU {name} reports a critical fault: {why}"),
            ms(*since),
            None,
        ),
        CduChange::Recovered { since, at } => IncomingAlert::raised(
            &labels("CduFault", "critical"),
            format!("the CDU {name} is healthy again"),
            ms(*since),
            Some(ms(*at)),
        ),
    }
}

impl Core {
    /// One read of a CDU's controller by the liveness round. Raises and resolves `CduFault`
    /// and `CduUnreachable` (see the module documentation).
    pub async fn observe_cdu(&self, cdu: &Asset, outcome: CduOutcome) {
        let at = now_nanos();
        let changes = match &outcome {
            CduOutcome::Silent(e) => {
                self.telemetry
                    .cdus
                    .lock()
                    .observe(&cdu.id, &cdu.name, at, Err((e.clone(), true)))
            }
            CduOutcome::Failed(e) => {
                tracing::warn!(cdu = %cdu.name, error = %e, "CDU answered but was not read");
                self.telemetry
                    .cdus
                    .lock()
                    .observe(&cdu.id, &cdu.name, at, Err((e.clone(), false)))
            }
            CduOutcome::Read(readings) => {
                let r = pick(readings, &cdu.name);
                let mut w = self.telemetry.cdus.lock();
                match r {
                    Some(r) => w.observe(&cdu.id, &cdu.name, at, Ok(r)),
                    None => w.observe(
                        &cdu.id,
                        &cdu.name,
                        at,
                        Err((
                            "the CDU's Redfish service lists no cooling unit".into(),
                            false,
                        )),
                    ),
                }
            }
        };
        if changes.is_empty() {
            return;
        }
        for ch in &changes {
            tracing::info!(cdu = %cdu.name, change = ?ch, "CDU state changed");
        }
        let alerts = changes.iter().map(|c| alert_of(&cdu.name, c)).collect();
        self.send_health_alerts(alerts).await;
    }

    /// The CDUs the liveness round reads: those with an address and a password.
    pub async fn polled_cdus(&self) -> crate::CoreResult<Vec<Asset>> {
        Ok(self
            .all_assets(AssetKind::Cdu)
            .await?
            .into_iter()
            .filter(|c| crate::bmc::pdu_is_polled(&c.config))
            .collect())
    }

    pub fn cdu_statuses(&self) -> Vec<CduStatus> {
        self.telemetry.cdus.lock().statuses()
    }

    pub fn retain_cdus(&self, ids: &BTreeSet<String>) {
        self.telemetry.cdus.lock().retain(ids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(health: &str, rollup: &str, conditions: &[&str]) -> CduReading {
        CduReading {
            path: "/redfish/v1/ThermalEquipment/CDUs/1".into(),
            id: "1".into(),
            name: Some("cdu-01".into()),
            equipment_type: Some("CDU".into()),
            serial: None,
            health: Some(health.into()),
            health_rollup: Some(rollup.into()),
            state: Some("Enabled".into()),
            conditions: conditions.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn a_critical_cdu_raises_its_fault_once_and_resolves_it() {
        let mut w = CduWatch::default();
        let ok = reading("OK", "OK", &[]);
        assert!(w.observe("c", "cdu-01", 1, Ok(&ok)).is_empty());
        // A warning is shown, not alerted.
        let warn = reading("Warning", "Warning", &["coolant level low"]);
        assert!(w.observe("c", "cdu-01", 2, Ok(&warn)).is_empty());
        assert_eq!(w.statuses()[0].conditions, ["coolant level low"]);
        let bad = reading("Warning", "Critical", &["Pump '2' has failed."]);
        let ch = w.observe("c", "cdu-01", 3, Ok(&bad));
        assert_eq!(
            ch,
            vec![CduChange::Failed {
                since: 3,
                why: "Pump '2' has failed.".into()
            }]
        );
        assert!(w.observe("c", "cdu-01", 4, Ok(&bad)).is_empty());
        let a = alert_of("cdu-01", &ch[0]);
        assert_eq!(a.labels["alertname"], "CduFault");
        assert_eq!(a.labels["cdu"], "cdu-01");
        assert_eq!(a.labels["severity"], "critical");
        assert!(a.ends_at.is_none());
        // Silent, then back and healthy: unreachable raised and resolved, fault resolved.
        let ch = w.observe("c", "cdu-01", 5, Err(("refused".into(), true)));
        assert!(matches!(ch[..], [CduChange::Unreachable { since: 5, .. }]));
        assert!(!w.statuses()[0].reachable);
        let ch = w.observe("c", "cdu-01", 6, Ok(&ok));
        assert_eq!(
            ch,
            vec![
                CduChange::Reachable { since: 5, at: 6 },
                CduChange::Recovered { since: 3, at: 6 }
            ]
        );
        let a = alert_of("cdu-01", &ch[1]);
        assert_eq!(a.labels["alertname"], "CduFault");
        assert!(a.ends_at.is_some());
        // An answer that is no reading (a refused password) is not an alert.
        assert!(w
            .observe("c", "cdu-01", 7, Err(("HTTP 401".into(), false)))
            .is_empty());
        assert!(w.statuses()[0].reachable);
        w.retain(&BTreeSet::new());
        assert!(w.statuses().is_empty());
    }
}
