//! Running one operation against a node's BMC or a switch: the steps, the checks after each
//! change, and the new configuration version of the node (`config.oob`) with what was read
//! back. BMC credentials come only from the encrypted secret store and never appear in job
//! parameters, logs or errors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fleet_bmc::{BootOverride, FirmwareSource, OutOfBand, PowerAction, PowerState, VolumeSpec};
use fleet_db::{Job, JobUpdate};
use serde_json::{json, Value};

use super::operation::{FirmwareImage, Operation, ReadTarget};
use crate::principal::{Principal, SystemRole};
use crate::Core;

fn actor() -> fleet_db::Actor {
    Principal::system(SystemRole::Operations).actor()
}

impl Core {
    pub(crate) async fn log(&self, id: &str, line: impl Into<String>) {
        let line = line.into();
        if let Err(e) = self.store.append_job_log(id, &line).await {
            tracing::warn!(job = id, error = %e, "cannot write job log");
        }
    }

    async fn step(&self, job: &Job, name: &str, progress: i64) {
        let _ = self
            .store
            .update_job(
                &actor(),
                &job.id,
                JobUpdate {
                    step: Some(name.to_string()),
                    progress: Some(progress),
                    owner: Some(self.settings.worker_id.clone()),
                    ..Default::default()
                },
            )
            .await;
        self.log(&job.id, name).await;
    }

    /// The node's BMC client, with credentials from the encrypted store.
    pub async fn bmc_for(
        &self,
        node: &str,
        driver: Option<&str>,
    ) -> Result<Arc<dyn OutOfBand>, String> {
        let b = crate::bmc::node_bmc(&self.store, node, driver, self.settings.bmc_timeout).await?;
        Ok(match b.protocol.as_str() {
            "ipmi" => Arc::new(fleet_bmc::ipmi::IpmiClient::new(b.endpoint)),
            "ipmitool" => Arc::new(fleet_bmc::ipmitool::IpmitoolClient::new(b.endpoint)),
            _ => Arc::new(
                fleet_bmc::redfish::RedfishClient::new(b.endpoint).map_err(|e| e.to_string())?,
            ),
        })
    }

    /// The gNMI client of a switch: `address` (host:port) from its configuration, `username`
    /// (default `admin`) and the password from the encrypted store when one is set.
    pub async fn gnmi_for(&self, switch: &str) -> Result<fleet_bmc::gnmi::GnmiClient, String> {
        let a = self
            .store
            .get_asset(switch)
            .await
            .map_err(|e| e.to_string())?;
        let cfg = &a.config;
        let address = cfg
            .get("gnmi_address")
            .or_else(|| cfg.get("address"))
            .and_then(|v| v.as_str())
            .filter(|v| !v.trim().is_empty())
            .ok_or("the switch has no gNMI address ('address' in its configuration)")?;
        let timeout =
            Duration::from_secs(cfg.get("timeout_s").and_then(|v| v.as_u64()).unwrap_or(10));
        let mut client =
            fleet_bmc::gnmi::GnmiClient::new(address, timeout).map_err(|e| e.to_string())?;
        let binding = fleet_model::asset::credential_binding(a.kind, cfg).unwrap_or_default();
        let password = self
            .store
            .get_secret_for(switch, "password", &binding)
            .await
            .map_err(|e| format!("cannot read the switch password: {e}"))?;
        if let Some(p) = password {
            // gNMI sends the password as call metadata, and this build's gNMI client speaks
            // plaintext gRPC only (see GnmiClient::new): never unless this switch is opted in
            // (`gnmi_plaintext: true`, part of the credential's endpoint binding, so setting it
            // needs the password again).
            let plaintext_ok = cfg.get("gnmi_plaintext").and_then(|v| v.as_bool()) == Some(true);
            if !plaintext_ok {
                return Err(format!(
                    "switch {}: gNMI to {address} is plaintext gRPC and a password is stored; gpufleet does not send the password in clear. Set 'gnmi_plaintext': true in the switch's configuration (with the password) to accept that risk on this switch",
                    a.name
                ));
            }
            let user = cfg
                .get("username")
                .or_else(|| cfg.get("user"))
                .and_then(|u| u.as_str())
                .unwrap_or("admin");
            client = client.with_credentials(user, &p);
        }
        Ok(client)
    }

    /// Writes `patch` under the node's `config.oob` as a new configuration version.
    async fn record(&self, node: &str, kind: &str, patch: Value) -> Result<(), String> {
        let a = self
            .store
            .get_asset(node)
            .await
            .map_err(|e| e.to_string())?;
        let mut config = a.config.clone();
        let obj = config
            .as_object_mut()
            .ok_or("node configuration is not an object")?;
        let oob = obj.entry("oob").or_insert_with(|| json!({}));
        if let (Some(o), Some(p)) = (oob.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                o.insert(k.clone(), v.clone());
            }
        }
        self.store
            .update_config(
                &actor(),
                node,
                None,
                config,
                Some(format!("out-of-band {kind}")),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Writes `config.oob.<map>.<key> = value` as a new configuration version, keeping the
    /// map's other entries.
    async fn record_merge(
        &self,
        asset: &str,
        kind: &str,
        map: &str,
        key: &str,
        value: Value,
    ) -> Result<(), String> {
        let a = self
            .store
            .get_asset(asset)
            .await
            .map_err(|e| e.to_string())?;
        let mut m = a
            .config
            .get("oob")
            .and_then(|o| o.get(map))
            .and_then(|m| m.as_object())
            .cloned()
            .unwrap_or_default();
        m.insert(key.to_string(), value);
        self.record(asset, kind, json!({ map: m })).await
    }

    /// Runs the job's operation to its end (the worker applies the deadline and cancel).
    pub(crate) async fn execute(&self, job: &Job, op: &Operation) -> Result<Value, String> {
        if let Operation::PortAdmin { port, enabled } = op {
            return self.execute_port_admin(job, port, *enabled).await;
        }
        let id = job.id.as_str();
        let kind = op.kind();
        let bmc = self.bmc_for(&job.target, job.driver.as_deref()).await?;
        self.log(
            id,
            format!("{kind} via {} at {}", bmc.driver(), bmc.endpoint()),
        )
        .await;
        let e = |e: fleet_bmc::BmcError| e.to_string();
        let wait = Duration::from_secs(120);
        match op {
            Operation::Power(action) => {
                let action = *action;
                let want = match action {
                    PowerAction::Off | PowerAction::GracefulShutdown => PowerState::Off,
                    _ => PowerState::On,
                };
                if matches!(
                    action,
                    PowerAction::On | PowerAction::Off | PowerAction::GracefulShutdown
                ) && bmc.power_state().await.map_err(e)? == want
                {
                    let note = format!("the node is already {}; no request sent", want.as_str());
                    self.log(id, note.clone()).await;
                    self.record(&job.target, &kind, json!({"power": want.as_str()}))
                        .await?;
                    return Ok(json!({"power": want.as_str(), "note": note}));
                }
                self.step(job, "sending power request", 10).await;
                bmc.power(action).await.map_err(e)?;
                if action == PowerAction::Cycle {
                    self.step(job, "waiting for the node to go off and come back on", 50)
                        .await;
                    fleet_bmc::wait_power_cycle(bmc.as_ref(), wait)
                        .await
                        .map_err(e)?;
                } else {
                    self.step(job, &format!("waiting for power {}", want.as_str()), 50)
                        .await;
                    fleet_bmc::wait_power(bmc.as_ref(), want, wait)
                        .await
                        .map_err(e)?;
                }
                let mut patch = json!({"power": want.as_str()});
                let mut result = patch.clone();
                if matches!(action, PowerAction::Cycle | PowerAction::Reset) {
                    if let Some(v) = self.verify_pending_bios(job, &bmc).await {
                        result["bios_verified"] =
                            v.get("bios_verified").cloned().unwrap_or_default();
                        if let Some(p) = patch.as_object_mut() {
                            p.extend(v);
                        }
                    }
                }
                self.record(&job.target, &kind, patch).await?;
                Ok(result)
            }
            Operation::Boot { device, persistent } => {
                let (device, persistent) = (*device, *persistent);
                bmc.set_boot(BootOverride { device, persistent })
                    .await
                    .map_err(e)?;
                let now = bmc.boot().await.map_err(e)?;
                if now.device != device {
                    return Err(format!(
                        "boot device reads {} after setting {}",
                        json!(now.device).as_str().unwrap_or("unknown"),
                        json!(device).as_str().unwrap_or("unknown")
                    ));
                }
                let v = json!({"device": device, "persistent": persistent});
                self.record(&job.target, &kind, json!({"boot": v})).await?;
                Ok(v)
            }
            Operation::MediaInsert { image } => {
                bmc.insert_media(image).await.map_err(e)?;
                Ok(json!({"media": bmc.media().await.map_err(e)?}))
            }
            Operation::MediaEject => {
                bmc.eject_media().await.map_err(e)?;
                Ok(json!({"media": bmc.media().await.map_err(e)?}))
            }
            Operation::SelClear => {
                bmc.clear_sel().await.map_err(e)?;
                Ok(json!({"cleared": true}))
            }
            Operation::BmcReset => {
                self.step(job, "resetting the BMC", 10).await;
                bmc.reset_bmc().await.map_err(e)?;
                self.step(job, "waiting for the BMC to answer again", 50)
                    .await;
                let start = tokio::time::Instant::now();
                let mut pause = Duration::from_millis(500);
                // Give it a moment to go down first, so that the old BMC's last answer does
                // not count as the new one's first.
                tokio::time::sleep(pause).await;
                let power = loop {
                    match bmc.power_state().await {
                        Ok(p) => break p,
                        Err(err) if start.elapsed() < wait => {
                            tracing::debug!(job = id, error = %err, "BMC not back yet");
                            tokio::time::sleep(pause).await;
                            pause = (pause * 2).min(Duration::from_secs(5));
                        }
                        Err(err) => {
                            return Err(format!(
                                "the BMC did not answer within {} s of its reset: {err}",
                                wait.as_secs()
                            ))
                        }
                    }
                };
                let back = start.elapsed().as_secs_f64();
                self.log(id, format!("the BMC answers again after {back:.1} s"))
                    .await;
                self.record(
                    &job.target,
                    &kind,
                    json!({"bmc_reset_at": fleet_db::rfc3339(fleet_db::now_ms())}),
                )
                .await?;
                Ok(json!({"reset": true, "back_after_s": back, "power": power.as_str()}))
            }
            Operation::Bios { attributes, apply } => {
                self.step(job, "writing pending BIOS attributes", 10).await;
                bmc.set_bios(attributes).await.map_err(e)?;
                if !apply {
                    let b = bmc.bios().await.map_err(e)?;
                    // Recorded so that the next reset, whichever job makes it, verifies them.
                    self.record(
                        &job.target,
                        &kind,
                        json!({"bios_pending": {"attributes": attributes, "job": id}}),
                    )
                    .await?;
                    return Ok(json!({"pending": b.pending, "applied": false}));
                }
                self.step(job, "resetting to apply", 40).await;
                bmc.power(PowerAction::Reset).await.map_err(e)?;
                self.step(job, "verifying attributes", 70).await;
                let start = tokio::time::Instant::now();
                let mut pause = Duration::from_millis(250);
                loop {
                    let b = bmc.bios().await.map_err(e)?;
                    let diff = fleet_bmc::bios_diff(attributes, &b.current);
                    if diff.is_empty() {
                        self.record(
                            &job.target,
                            &kind,
                            json!({"bios": b.current, "bios_pending": null,
                                   "bios_verified": {"ok": true, "attributes": attributes, "job": id}}),
                        )
                        .await?;
                        return Ok(json!({"applied": true, "bios": attributes}));
                    }
                    if start.elapsed() > wait {
                        return Err(format!(
                            "BIOS attributes not applied after reset: {}",
                            json!(diff)
                        ));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(4));
                }
            }
            Operation::RaidCreate {
                controller,
                name,
                raid_type,
                drives,
            } => {
                let v = bmc
                    .create_volume(&VolumeSpec {
                        controller: controller.clone(),
                        name: name.clone(),
                        raid_type: raid_type.clone(),
                        drives: drives.clone(),
                    })
                    .await
                    .map_err(e)?;
                let storage = bmc.storage().await.map_err(e)?;
                self.record(&job.target, &kind, json!({"storage": storage}))
                    .await?;
                Ok(json!({"volume": v}))
            }
            Operation::RaidDelete { controller, volume } => {
                bmc.delete_volume(controller, volume).await.map_err(e)?;
                let storage = bmc.storage().await.map_err(e)?;
                self.record(&job.target, &kind, json!({"storage": storage}))
                    .await?;
                Ok(json!({"deleted": volume}))
            }
            Operation::Firmware {
                image,
                targets,
                expect_version,
            } => {
                let before: BTreeMap<String, String> = bmc
                    .firmware()
                    .await
                    .map_err(e)?
                    .into_iter()
                    .map(|f| (f.id, f.version))
                    .collect();
                self.step(job, "transferring image", 5).await;
                let (tx, mut rx) =
                    tokio::sync::mpsc::unbounded_channel::<fleet_bmc::TaskProgress>();
                let progress = move |p: fleet_bmc::TaskProgress| {
                    let _ = tx.send(p);
                };
                let core = self.clone();
                let id2 = id.to_string();
                let reporter = tokio::spawn(async move {
                    while let Some(p) = rx.recv().await {
                        let _ = core
                            .store
                            .update_job(
                                &actor(),
                                &id2,
                                JobUpdate {
                                    step: Some(format!("BMC task {}", p.state)),
                                    progress: p.percent.map(|x| x as i64),
                                    owner: Some(core.settings.worker_id.clone()),
                                    ..Default::default()
                                },
                            )
                            .await;
                    }
                });
                let source = match image {
                    FirmwareImage::Upload { filename, .. } => {
                        let bytes = tokio::fs::read(self.upload_path(id))
                            .await
                            .map_err(|e| format!("the uploaded image is not available: {e}"))?;
                        self.log(
                            id,
                            format!("pushing {filename} ({} bytes) to the BMC", bytes.len()),
                        )
                        .await;
                        FirmwareSource::Upload {
                            filename: filename.clone(),
                            bytes,
                        }
                    }
                    FirmwareImage::Url(u) => FirmwareSource::Url(u.clone()),
                };
                let r = bmc
                    .update_firmware(source, targets, Duration::from_secs(1800), &progress)
                    .await;
                drop(progress);
                let _ = reporter.await;
                r.map_err(e)?;
                self.step(job, "verifying versions", 90).await;
                let inv = bmc.firmware().await.map_err(e)?;
                let versions: BTreeMap<String, String> = inv
                    .iter()
                    .map(|f| (f.id.clone(), f.version.clone()))
                    .collect();
                verify_firmware(&before, &versions, targets, expect_version.as_deref())?;
                self.record(&job.target, &kind, json!({"firmware": versions}))
                    .await?;
                Ok(json!({"firmware": versions}))
            }
            Operation::Read(what) => {
                let v = match what {
                    ReadTarget::Power => {
                        json!({"power": bmc.power_state().await.map_err(e)?.as_str()})
                    }
                    ReadTarget::Boot => json!({"boot": bmc.boot().await.map_err(e)?}),
                    ReadTarget::Bios => json!({"bios": bmc.bios().await.map_err(e)?}),
                    ReadTarget::Raid => json!({"storage": bmc.storage().await.map_err(e)?}),
                    ReadTarget::Firmware => {
                        let inv = bmc.firmware().await.map_err(e)?;
                        json!({"firmware": inv.iter().map(|f| (f.id.clone(), f.version.clone())).collect::<BTreeMap<_, _>>()})
                    }
                    ReadTarget::Sel => json!({"sel": bmc.sel().await.map_err(e)?}),
                    ReadTarget::Sensors => json!({"sensors": bmc.sensors().await.map_err(e)?}),
                    ReadTarget::Media => json!({"media": bmc.media().await.map_err(e)?}),
                };
                match what {
                    ReadTarget::Power | ReadTarget::Firmware => {
                        self.record(&job.target, &kind, v.clone()).await?
                    }
                    ReadTarget::Bios => {
                        self.record(&job.target, &kind, json!({"bios": v["bios"]["current"]}))
                            .await?
                    }
                    _ => {}
                }
                Ok(v)
            }
            Operation::PortAdmin { .. } => unreachable!("handled above"),
        }
    }

    async fn execute_port_admin(
        &self,
        job: &Job,
        port: &str,
        enabled: bool,
    ) -> Result<Value, String> {
        let g = self.gnmi_for(&job.target).await?;
        let word = |up: bool| if up { "up" } else { "down" };
        self.log(
            &job.id,
            format!("port {port} admin {} via gnmi", word(enabled)),
        )
        .await;
        let e = |e: fleet_bmc::BmcError| e.to_string();
        g.set_admin(port, enabled).await.map_err(e)?;
        let p = g.port(port).await.map_err(e)?;
        if p.admin_up != enabled {
            return Err(format!(
                "port {port} reads admin {} after the change",
                word(p.admin_up)
            ));
        }
        self.log(
            &job.id,
            format!(
                "port {port}: admin {}, oper {}",
                word(p.admin_up),
                p.oper_status
            ),
        )
        .await;
        let v = json!({"admin_up": p.admin_up, "oper_status": p.oper_status});
        self.record_merge(&job.target, "port.admin", "ports", port, v.clone())
            .await?;
        Ok(json!({"port": port, "status": v}))
    }

    /// After a job that reboots the node: when a BIOS change is recorded as pending
    /// (`config.oob.bios_pending`), re-reads the attributes and verifies them. Returns the
    /// fields to merge into the job's `config.oob` patch, or None when nothing was pending.
    async fn verify_pending_bios(
        &self,
        job: &Job,
        bmc: &Arc<dyn OutOfBand>,
    ) -> Option<serde_json::Map<String, Value>> {
        let a = self.store.get_asset(&job.target).await.ok()?;
        let pending = a.config.get("oob")?.get("bios_pending")?;
        let attrs: BTreeMap<String, Value> =
            serde_json::from_value(pending.get("attributes")?.clone()).ok()?;
        if attrs.is_empty() {
            return None;
        }
        let id = job.id.as_str();
        self.log(
            id,
            format!(
                "verifying pending BIOS attributes: {}",
                attrs.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )
        .await;
        // IPMI reads no BIOS attributes: read them over the BMC's Redfish face then.
        let reader: Result<Arc<dyn OutOfBand>, String> = match bmc.bios().await {
            Err(fleet_bmc::BmcError::Unsupported { .. }) => {
                self.bmc_for(&job.target, Some("redfish")).await
            }
            _ => Ok(bmc.clone()),
        };
        let mut out = serde_json::Map::new();
        let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        let reader = match reader {
            Ok(r) => r,
            Err(e) => {
                self.log(
                    id,
                    format!("cannot verify the pending BIOS attributes: {e}"),
                )
                .await;
                return None;
            }
        };
        // The BMC may take a moment after power-on to report the applied settings.
        let start = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(250);
        let outcome = loop {
            match reader.bios().await {
                Ok(b) => {
                    let diff = fleet_bmc::bios_diff(&attrs, &b.current);
                    if diff.is_empty() || start.elapsed() > Duration::from_secs(20) {
                        break Ok((b, diff));
                    }
                }
                Err(e) if start.elapsed() > Duration::from_secs(20) || !e.is_transient() => {
                    break Err(e)
                }
                Err(_) => {}
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        };
        match outcome {
            Ok((b, diff)) if diff.is_empty() => {
                self.log(
                    id,
                    "pending BIOS attributes applied and verified after the reset",
                )
                .await;
                out.insert("bios".into(), json!(b.current));
                out.insert("bios_pending".into(), Value::Null);
                out.insert(
                    "bios_verified".into(),
                    json!({"ok": true, "attributes": attrs, "job": id, "at_ms": now,
                           "set_by_job": pending.get("job")}),
                );
            }
            Ok((b, diff)) => {
                self.log(
                    id,
                    format!(
                        "pending BIOS attributes NOT applied after the reset: {}",
                        json!(diff)
                    ),
                )
                .await;
                out.insert("bios".into(), json!(b.current));
                out.insert(
                    "bios_verified".into(),
                    json!({"ok": false, "differences": diff, "job": id, "at_ms": now,
                           "set_by_job": pending.get("job")}),
                );
            }
            Err(e) => {
                self.log(
                    id,
                    format!("cannot verify the pending BIOS attributes: {e}"),
                )
                .await;
                return None;
            }
        }
        Some(out)
    }
}

/// After an update the BMC called complete: every target reports the expected version, or
/// (none expected) a version other than before; with no targets, some component changed.
/// Otherwise the update did not happen, whatever the BMC's task said.
pub fn verify_firmware(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    targets: &[String],
    expect: Option<&str>,
) -> Result<(), String> {
    let seen = |t: &str| match after.get(t) {
        Some(v) => format!("{t} reports version {v}"),
        None => format!("{t} is not in the firmware inventory"),
    };
    if targets.is_empty() {
        if let Some(v) = expect {
            if !after.values().any(|x| x == v) {
                return Err(format!(
                    "no firmware component reports version {v} after the update"
                ));
            }
        } else if before == after {
            return Err(
                "the BMC reported the update complete but no firmware version changed; the \
                 image was probably not fetched or not applied"
                    .into(),
            );
        }
        return Ok(());
    }
    for t in targets {
        let now = after.get(t).map(String::as_str);
        match expect {
            Some(v) if now != Some(v) => {
                return Err(format!("{} after the update, expected {v}", seen(t)));
            }
            None if now.is_none() || now == before.get(t).map(String::as_str) => {
                return Err(format!(
                    "the BMC reported the update complete but {} after it, as before; the \
                     image was probably not fetched or not applied",
                    seen(t)
                ));
            }
            _ => {}
        }
    }
    Ok(())
}
