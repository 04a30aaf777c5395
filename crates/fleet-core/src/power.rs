//! Rack PDUs watched over Redfish.
//!
//! A PDU whose configuration names an `address` (its Redfish controller), with a password in
//! the secret store, is read by the enricher's liveness round: every outlet's `PowerState`. Two things become alerts for the
//! correlation, raised and resolved here:
//!
//! - `PduUnreachable` (`pdu`): the controller stopped answering (no connection, or none within
//!   the deadline; an answer that is not a reading — a refused password — is shown in the
//!   status, not alerted: a PDU that answers is not dark). A PDU's controller runs on
//!   its own input power, so with every node on the PDU dark at the same time this confirms
//!   that the PDU lost power (the correlation's `infer.confirm`); a PDU that still answers
//!   refutes it, and a rack gone dark behind its leaf switch is left to the switch.
//! - `PduFeedLost` (`pdu`, `outlet`): an outlet that powers something in the CMDB reports
//!   `Off`. Outlets with nothing on them may be off; they raise nothing.
//!
//! The state is held by the process that polls (like the BMC liveness state).

use std::collections::{BTreeMap, BTreeSet};

use fleet_bmc::pdu::{OutletReading, PduReading};
use fleet_model::asset::{Asset, AssetKind, RelationKind};
use fleet_telemetry::Nanos;
use serde::Serialize;

use crate::correlation::IncomingAlert;
use crate::{now_nanos, Core};

/// One watched PDU as this process last read it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PduStatus {
    pub pdu: String,
    pub name: String,
    /// Whether the last read answered.
    pub reachable: bool,
    /// Last successful read, Unix milliseconds.
    pub last_read_ms: Option<i64>,
    /// Why the last read failed.
    pub error: Option<String>,
    /// Outlets reported on.
    pub outlets_on: usize,
    /// Outlets that power something in the CMDB and report off, by number.
    pub outlets_off: Vec<u32>,
    /// Sum of the outlets' `PowerWatts`, where they report it.
    pub watts: Option<f64>,
    pub failures: u64,
}

#[derive(Debug)]
struct PduState {
    status: PduStatus,
    unreachable_since: Option<(Nanos, String)>,
    /// Loaded outlets reported off, with the time they were first seen off.
    off_since: BTreeMap<u32, Nanos>,
}

/// What one read of a piece of facility equipment's Redfish controller (a PDU, a CDU) gave.
#[derive(Debug, Clone)]
pub enum ReadOutcome<T> {
    /// What it reported.
    Read(T),
    /// No answer: the connection was refused or timed out. The controller is unreachable
    /// (`PduUnreachable`, `CduUnreachable`): dark, or its network is.
    Silent(String),
    /// It answered, but not with a reading (authentication refused, not that kind of
    /// equipment, a malformed reply): a configuration problem shown in the status, not an
    /// alert — a controller that answers is not dark.
    Failed(String),
}

/// What one read of a PDU gave: its outlets.
pub type PduOutcome = ReadOutcome<Vec<PduReading>>;

/// What one read changed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PduChange {
    Unreachable {
        since: Nanos,
        error: String,
    },
    Reachable {
        since: Nanos,
        at: Nanos,
    },
    OutletOff {
        number: u32,
        since: Nanos,
    },
    OutletOn {
        number: u32,
        since: Nanos,
        at: Nanos,
    },
}

/// A read: the outlets with the loaded outlets reported off, or (why not, whether silent).
type ReadResult<'a> = Result<(&'a [OutletReading], BTreeSet<u32>), (String, bool)>;

/// The PDUs this process polls.
#[derive(Debug, Default)]
pub(crate) struct PduWatch {
    by_pdu: BTreeMap<String, PduState>,
}

/// The reading of the CMDB's PDU: the one named like it, else the first rack PDU, else the
/// first.
pub fn pick<'a>(readings: &'a [PduReading], name: &str) -> Option<&'a PduReading> {
    readings
        .iter()
        .find(|r| r.name.as_deref() == Some(name) || r.id == name)
        .or_else(|| {
            readings
                .iter()
                .find(|r| r.equipment_type.as_deref() == Some("RackPDU"))
        })
        .or_else(|| readings.first())
}

impl PduWatch {
    /// Takes one read of PDU `id`: its outlets with the loaded outlets the read reports off
    /// (`Ok`), or why it failed (`Err`: the reason, and whether the PDU was silent).
    pub(crate) fn observe(
        &mut self,
        id: &str,
        name: &str,
        at: Nanos,
        outcome: ReadResult<'_>,
    ) -> Vec<PduChange> {
        let st = self
            .by_pdu
            .entry(id.to_string())
            .or_insert_with(|| PduState {
                status: PduStatus {
                    pdu: id.to_string(),
                    name: name.to_string(),
                    reachable: true,
                    last_read_ms: None,
                    error: None,
                    outlets_on: 0,
                    outlets_off: Vec::new(),
                    watts: None,
                    failures: 0,
                },
                unreachable_since: None,
                off_since: BTreeMap::new(),
            });
        st.status.name = name.to_string();
        let mut out = Vec::new();
        match outcome {
            Err((error, false)) => {
                // It answered: not unreachable, but not read either.
                st.status.reachable = true;
                st.status.failures += 1;
                st.status.error = Some(error);
                if let Some((since, _)) = st.unreachable_since.take() {
                    out.push(PduChange::Reachable { since, at });
                }
            }
            Err((error, true)) => {
                st.status.reachable = false;
                st.status.failures += 1;
                st.status.error = Some(error.clone());
                if st.unreachable_since.is_none() {
                    st.unreachable_since = Some((at, error.clone()));
                    out.push(PduChange::Unreachable { since: at, error });
                }
            }
            Ok((outlets, off)) => {
                st.status.reachable = true;
                st.status.error = None;
                st.status.last_read_ms = Some(at / 1_000_000);
                st.status.outlets_on = outlets.iter().filter(|o| o.power_on == Some(true)).count();
                let watts: Vec<f64> = outlets.iter().filter_map(|o| o.watts).collect();
                st.status.watts = (!watts.is_empty()).then(|| watts.iter().sum());
                if let Some((since, _)) = st.unreachable_since.take() {
                    out.push(PduChange::Reachable { since, at });
                }
                let was: Vec<u32> = st.off_since.keys().copied().collect();
                for n in was {
                    if !off.contains(&n) {
                        if let Some(since) = st.off_since.remove(&n) {
                            out.push(PduChange::OutletOn {
                                number: n,
                                since,
                                at,
                            });
                        }
                    }
                }
                for n in &off {
                    if !st.off_since.contains_key(n) {
                        st.off_since.insert(*n, at);
                        out.push(PduChange::OutletOff {
                            number: *n,
                            since: at,
                        });
                    }
                }
                st.status.outlets_off = off.into_iter().collect();
            }
        }
        out
    }

    /// Forgets PDUs no longer polled.
    pub(crate) fn retain(&mut self, ids: &BTreeSet<String>) {
        self.by_pdu.retain(|id, _| ids.contains(id));
    }

    pub(crate) fn statuses(&self) -> Vec<PduStatus> {
        self.by_pdu.values().map(|s| s.status.clone()).collect()
    }
}

/// The alert one change raises or resolves.
pub(crate) fn alert_of(name: &str, ch: &PduChange) -> IncomingAlert {
    let ms = |n: Nanos| n / 1_000_000;
    let alert = |labels: Vec<(&str, String)>, summary: String, since: Nanos, end: Option<Nanos>| {
        IncomingAlert::raised(
            &labels
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
            summary,
            ms(since),
            end.map(ms),
        )
    };
    let unreachable = || {
        vec![
            ("alertname", "PduUnreachable".to_string()),
            ("pdu", name.to_string()),
            ("severity", "warning".to_string()),
        ]
    };
    let feed = |n: u32| {
        vec![
            ("alertname", "PduFeedLost".to_string()),
            ("pdu", name.to_string()),
            ("outlet", n.to_string()),
            ("severity", "critical".to_string()),
        ]
    };
    match ch {
        PduChange::Unreachable { since, error } => alert(
            unreachable(),
            format!("the PDU {name} does not answer: {error}"),
            *since,
            None,
        ),
        PduChange::Reachable { since, at } => alert(
            unreachable(),
            format!("the PDU {name} answers again"),
            *since,
            Some(*at),
        ),
        PduChange::OutletOff { number, since } => alert(
            feed(*number),
            format!("outlet {number} of {name} reports off while it powers equipment"),
            *since,
            None,
        ),
        PduChange::OutletOn { number, since, at } => alert(
            feed(*number),
            format!("outlet {number} of {name} is on again"),
            *since,
            Some(*at),
        ),
    }
}

impl Core {
    /// One read of a PDU's controller by the liveness round: its outlets, or why it could not
    /// be read. Raises and resolves `PduUnreachable` and `PduFeedLost` (see the module
    /// documentation).
    pub async fn observe_pdu(&self, pdu: &Asset, outcome: PduOutcome) {
        let at = now_nanos();
        let read = match outcome {
            PduOutcome::Silent(e) => Err((e, true)),
            PduOutcome::Failed(e) => {
                tracing::warn!(pdu = %pdu.name, error = %e, "PDU answered but was not read");
                Err((e, false))
            }
            PduOutcome::Read(readings) => match pick(&readings, &pdu.name) {
                None => Err(("the PDU's Redfish service lists no PDU".to_string(), false)),
                Some(r) => Ok(r.outlets.clone()),
            },
        };
        let changes = match &read {
            Err(e) => self
                .telemetry
                .pdus
                .lock()
                .observe(&pdu.id, &pdu.name, at, Err(e.clone())),
            Ok(outlets) => {
                let off = self.loaded_outlets_off(pdu, outlets).await;
                self.telemetry
                    .pdus
                    .lock()
                    .observe(&pdu.id, &pdu.name, at, Ok((outlets, off)))
            }
        };
        if changes.is_empty() {
            return;
        }
        for ch in &changes {
            tracing::info!(pdu = %pdu.name, change = ?ch, "PDU state changed");
        }
        let alerts = changes.iter().map(|c| alert_of(&pdu.name, c)).collect();
        self.send_health_alerts(alerts).await;
    }

    /// The CMDB outlet numbers of `pdu` that the read reports off and that power something.
    /// Read from the store only when some outlet is off.
    async fn loaded_outlets_off(&self, pdu: &Asset, outlets: &[OutletReading]) -> BTreeSet<u32> {
        let mut off = BTreeSet::new();
        if !outlets.iter().any(|o| o.power_on == Some(false)) {
            return off;
        }
        let children = match self.store.children(&pdu.id, Some(AssetKind::Outlet)).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(pdu = %pdu.name, error = %e, "PDU outlets not read from the CMDB");
                return off;
            }
        };
        for o in children {
            let Some(n) = o
                .config
                .get("number")
                .and_then(|v| v.as_u64())
                .and_then(|n| u32::try_from(n).ok())
            else {
                continue;
            };
            if !outlets
                .iter()
                .any(|r| r.power_on == Some(false) && r.is_number(n))
            {
                continue;
            }
            let loaded = match self.store.relations_of(&o.id).await {
                Ok(rels) => rels
                    .iter()
                    .any(|r| r.kind == RelationKind::PoweredBy && r.to_id == o.id),
                Err(e) => {
                    tracing::warn!(outlet = %o.name, error = %e, "outlet relations not read");
                    false
                }
            };
            if loaded {
                off.insert(n);
            }
        }
        off
    }

    /// The PDUs gpufleet polls: those with a Redfish `address` and a stored password.
    pub async fn polled_pdus(&self) -> crate::CoreResult<Vec<Asset>> {
        Ok(self
            .all_assets(AssetKind::Pdu)
            .await?
            .into_iter()
            .filter(|p| crate::bmc::pdu_is_polled(&p.config))
            .collect())
    }

    /// The PDUs this process polls, as last read.
    pub fn pdu_statuses(&self) -> Vec<PduStatus> {
        self.telemetry.pdus.lock().statuses()
    }

    /// Forgets the PDUs not in `ids` (no longer in the CMDB or without an address).
    pub fn retain_pdus(&self, ids: &BTreeSet<String>) {
        self.telemetry.pdus.lock().retain(ids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outlet(id: &str, on: Option<bool>) -> OutletReading {
        OutletReading {
            id: id.into(),
            name: None,
            power_on: on,
            watts: on.map(|o| if o { 400.0 } else { 0.0 }),
            health: None,
        }
    }

    #[test]
    fn unreachable_and_loaded_outlets_off_raise_once_and_resolve() {
        let mut w = PduWatch::default();
        let outlets = [outlet("1", Some(true)), outlet("2", Some(false))];
        // Outlet 2 is off but powers nothing: no change.
        assert!(w
            .observe("p", "pdu-b", 1, Ok((&outlets, BTreeSet::new())))
            .is_empty());
        assert_eq!(w.statuses()[0].watts, Some(400.0));
        // An answer that is not a reading (a refused password) is no alert.
        assert!(w
            .observe("p", "pdu-b", 2, Err(("HTTP 401".into(), false)))
            .is_empty());
        assert!(w.statuses()[0].reachable);
        assert_eq!(w.statuses()[0].error.as_deref(), Some("HTTP 401"));
        let ch = w.observe("p", "pdu-b", 2, Err(("no answer".into(), true)));
        assert_eq!(
            ch,
            vec![PduChange::Unreachable {
                since: 2,
                error: "no answer".into()
            }]
        );
        assert!(w
            .observe("p", "pdu-b", 3, Err(("no answer".into(), true)))
            .is_empty());
        assert_eq!(w.statuses()[0].failures, 3);
        let ch = w.observe("p", "pdu-b", 4, Ok((&outlets, BTreeSet::from([2]))));
        assert_eq!(
            ch,
            vec![
                PduChange::Reachable { since: 2, at: 4 },
                PduChange::OutletOff {
                    number: 2,
                    since: 4
                }
            ]
        );
        assert!(w
            .observe("p", "pdu-b", 5, Ok((&outlets, BTreeSet::from([2]))))
            .is_empty());
        let ch = w.observe("p", "pdu-b", 6, Ok((&outlets, BTreeSet::new())));
        assert_eq!(
            ch,
            vec![PduChange::OutletOn {
                number: 2,
                since: 4,
                at: 6
            }]
        );
        let a = alert_of(
            "pdu-b",
            &PduChange::OutletOff {
                number: 2,
                since: 4,
            },
        );
        assert_eq!(a.labels["alertname"], "PduFeedLost");
        assert_eq!(a.labels["outlet"], "2");
        assert!(a.ends_at.is_none());
        let a = alert_of("pdu-b", &PduChange::Reachable { since: 2, at: 4 });
        assert_eq!(a.labels["alertname"], "PduUnreachable");
        assert!(a.ends_at.is_some());
        w.retain(&BTreeSet::new());
        assert!(w.statuses().is_empty());
    }

    #[test]
    fn the_cmdb_pdu_is_picked_by_name_then_rack_pdu() {
        let r = |id: &str, name: &str, t: &str| PduReading {
            path: format!("/x/{id}"),
            id: id.into(),
            name: Some(name.into()),
            equipment_type: Some(t.into()),
            serial: None,
            health: None,
            state: None,
            outlets: vec![],
        };
        let v = vec![r("F1", "floor", "FloorPDU"), r("1", "RackPDU1", "RackPDU")];
        assert_eq!(pick(&v, "RackPDU1").unwrap().id, "1");
        assert_eq!(pick(&v, "pdu-b").unwrap().id, "1");
        assert_eq!(pick(&v[..1], "pdu-b").unwrap().id, "F1");
        assert!(pick(&[], "pdu-b").is_none());
    }
}
