//! A driver that runs the `ipmitool` command (lanplus, cipher suite 3). An alternative to the
//! built-in RMCP+ client for BMCs with quirks `ipmitool` already knows. The password reaches
//! `ipmitool` through the `IPMI_PASSWORD` environment variable (`-E`), never the command line.

use std::time::Duration;

use tokio::process::Command;

use crate::{
    BmcError, BootDevice, BootOverride, Endpoint, OutOfBand, PowerAction, PowerState, Result,
    SelEntry, Sensor,
};

pub struct IpmitoolClient {
    ep: Endpoint,
    label: String,
    program: String,
}

impl IpmitoolClient {
    pub fn new(ep: Endpoint) -> Self {
        let label = format!("ipmitool://{}", ep.address);
        IpmitoolClient {
            ep,
            label,
            program: "ipmitool".into(),
        }
    }

    /// Use another `ipmitool` binary.
    pub fn with_program(mut self, p: impl Into<String>) -> Self {
        self.program = p.into();
        self
    }

    /// Runs `ipmitool ... args` under the endpoint's deadline and returns its standard output.
    pub async fn run(&self, args: &[&str]) -> Result<String> {
        let (host, port) = match self.ep.address.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.to_string()),
            None => (self.ep.address.clone(), "623".to_string()),
        };
        let per = (self.ep.timeout.as_secs().max(1)).to_string();
        let mut cmd = Command::new(&self.program);
        cmd.args([
            "-I",
            "lanplus",
            "-C",
            "3",
            "-H",
            &host,
            "-p",
            &port,
            "-U",
            &self.ep.username,
            "-E",
        ])
        .args(["-N", &per, "-R", &(self.ep.retries + 1).to_string()])
        .args(args)
        .env("IPMI_PASSWORD", self.ep.password.expose())
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
        let deadline = self.ep.timeout * (self.ep.retries + 2) + Duration::from_secs(2);
        let out = match tokio::time::timeout(deadline, cmd.output()).await {
            Err(_) => {
                return Err(BmcError::Timeout {
                    endpoint: self.label.clone(),
                    after: deadline,
                })
            }
            Ok(Err(e)) => {
                return Err(BmcError::Other {
                    endpoint: self.label.clone(),
                    detail: format!(
                        "cannot run {}: {e} (install the ipmitool package)",
                        self.program
                    ),
                })
            }
            Ok(Ok(o)) => o,
        };
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).to_string();
            let lower = err.to_lowercase();
            if lower.contains("rakp")
                && (lower.contains("unauthorized") || lower.contains("invalid"))
            {
                return Err(BmcError::Unauthorized {
                    endpoint: self.label.clone(),
                });
            }
            if lower.contains("unable to establish")
                || lower.contains("timeout")
                || lower.contains("no response")
            {
                return Err(BmcError::Timeout {
                    endpoint: self.label.clone(),
                    after: self.ep.timeout,
                });
            }
            return Err(BmcError::Other {
                endpoint: self.label.clone(),
                detail: format!("ipmitool {} failed: {}", args.join(" "), err.trim()),
            });
        }
        Ok(stdout)
    }
}

#[async_trait::async_trait]
impl OutOfBand for IpmitoolClient {
    fn driver(&self) -> &'static str {
        "ipmitool"
    }
    fn endpoint(&self) -> &str {
        &self.label
    }

    async fn power_state(&self) -> Result<PowerState> {
        let o = self.run(&["chassis", "power", "status"]).await?;
        if o.contains("is on") {
            Ok(PowerState::On)
        } else if o.contains("is off") {
            Ok(PowerState::Off)
        } else {
            Err(BmcError::Malformed {
                endpoint: self.label.clone(),
                what: "chassis power status".into(),
                detail: o.trim().to_string(),
            })
        }
    }

    async fn power(&self, action: PowerAction) -> Result<()> {
        let a = match action {
            PowerAction::On => "on",
            PowerAction::Off => "off",
            PowerAction::GracefulShutdown => "soft",
            PowerAction::Cycle => "cycle",
            PowerAction::Reset => "reset",
        };
        self.run(&["chassis", "power", a]).await.map(|_| ())
    }

    async fn set_boot(&self, boot: BootOverride) -> Result<()> {
        let dev = match boot.device {
            BootDevice::Pxe => "pxe",
            BootDevice::Disk => "disk",
            BootDevice::Cd => "cdrom",
            BootDevice::BiosSetup => "bios",
            BootDevice::None => "none",
        };
        let opts = if boot.persistent {
            "options=persistent,efiboot"
        } else {
            "options=efiboot"
        };
        self.run(&["chassis", "bootdev", dev, opts])
            .await
            .map(|_| ())
    }

    async fn boot(&self) -> Result<BootOverride> {
        let o = self.run(&["chassis", "bootparam", "get", "5"]).await?;
        let persistent = o.contains("Options apply to all future boots");
        let device = if o.contains("Force PXE") {
            BootDevice::Pxe
        } else if o.contains("Force Boot from default Hard-Drive") {
            BootDevice::Disk
        } else if o.contains("CD/DVD") {
            BootDevice::Cd
        } else if o.contains("BIOS Setup") {
            BootDevice::BiosSetup
        } else {
            BootDevice::None
        };
        Ok(BootOverride { device, persistent })
    }

    async fn sel(&self) -> Result<Vec<SelEntry>> {
        let o = self.run(&["sel", "list"]).await?;
        Ok(o.lines()
            .filter(|l| l.contains('|'))
            .map(|l| {
                let cols: Vec<&str> = l.split('|').map(str::trim).collect();
                SelEntry {
                    id: cols.first().copied().unwrap_or("").to_string(),
                    created: cols
                        .get(1)
                        .map(|d| format!("{d} {}", cols.get(2).copied().unwrap_or(""))),
                    severity: None,
                    message: cols.get(3..).map(|c| c.join(" | ")).unwrap_or_default(),
                }
            })
            .collect())
    }

    async fn clear_sel(&self) -> Result<()> {
        self.run(&["sel", "clear"]).await.map(|_| ())
    }

    async fn reset_bmc(&self) -> Result<()> {
        self.run(&["mc", "reset", "cold"]).await.map(|_| ())
    }

    async fn sensors(&self) -> Result<Vec<Sensor>> {
        let o = self.run(&["sensor", "list"]).await?;
        Ok(o.lines()
            .filter_map(|l| {
                let c: Vec<&str> = l.split('|').map(str::trim).collect();
                if c.len() < 4 {
                    return None;
                }
                Some(Sensor {
                    name: c[0].to_string(),
                    kind: match c[2] {
                        "degrees C" => "temperature",
                        "Volts" => "voltage",
                        "RPM" => "fan",
                        "Amps" => "current",
                        "Watts" => "power",
                        _ => "other",
                    }
                    .into(),
                    reading: c[1].parse().ok(),
                    units: (c[2] != "discrete").then(|| c[2].to_string()),
                    health: Some(c[3].to_string()),
                    ..Default::default()
                })
            })
            .collect())
    }
}
