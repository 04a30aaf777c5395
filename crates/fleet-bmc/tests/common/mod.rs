//! Test harness: starts the project's fleet simulator (`gpufleet-sim up`) on free ports of
//! 127.0.0.1 and stops it when dropped.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The Python virtual environment made by `scripts/python-env.sh`.
pub fn venv() -> PathBuf {
    let v = std::env::var_os("GPUFLEET_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").expect("HOME is set")).join(".cache/gpufleet/venv")
        });
    assert!(
        v.join("bin/gpufleet-sim").exists(),
        "the simulator's Python venv is missing at {} - run scripts/python-env.sh first",
        v.display()
    );
    v
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Node {
    pub id: String,
    pub redfish: String,
    pub redfish_https: String,
    pub ipmi: String,
}

pub struct Sim {
    child: Child,
    pub control: String,
    pub nodes: Vec<Node>,
    pub switches: Vec<(String, String)>,
    pub cert: Option<String>,
    _dir: tempfile::TempDir,
}

impl Sim {
    /// Starts `nodes` HGX nodes in one rack; power changes take `power_delay_s`.
    pub fn start(nodes: usize, power_delay_s: f64) -> Sim {
        Self::start_within(nodes, power_delay_s, Duration::from_secs(90))
    }

    /// Like [`Sim::start`], waiting up to `deadline` for the fleet to come up.
    pub fn start_within(nodes: usize, power_delay_s: f64, deadline: Duration) -> Sim {
        Self::start_groups(&[(nodes, "hgx-h100-8gpu", "a-n")], power_delay_s, deadline)
    }

    /// One node of each simulator model in `models` (`dgx-h100`, `gb200-tray`, ...), named
    /// `m<i>-1` in the order given.
    pub fn start_models(models: &[&str], power_delay_s: f64) -> Sim {
        let prefixes: Vec<String> = (0..models.len()).map(|i| format!("m{i}-")).collect();
        let groups: Vec<(usize, &str, &str)> = models
            .iter()
            .zip(&prefixes)
            .map(|(m, p)| (1, *m, p.as_str()))
            .collect();
        Self::start_groups(&groups, power_delay_s, Duration::from_secs(90))
    }

    /// Groups of (count, model, name prefix) in one rack.
    pub fn start_groups(
        groups: &[(usize, &str, &str)],
        power_delay_s: f64,
        deadline: Duration,
    ) -> Sim {
        let venv = venv();
        let dir = tempfile::tempdir().unwrap();
        let topo = dir.path().join("topology.yaml");
        let nodes: usize = groups.iter().map(|(n, _, _)| n).sum();
        let lines: String = groups
            .iter()
            .map(|(count, model, prefix)| {
                format!("      - {{count: {count}, model: {model}, prefix: {prefix}}}\n")
            })
            .collect();
        std::fs::write(
            &topo,
            format!(
                "seed: 7\n\
                 addressing: {{mode: port, host: 127.0.0.1, redfish_http_port: 0, redfish_https_port: 0, \
                 telemetry_port: 0, ipmi_port: 0, gnmi_port: 0}}\n\
                 defaults: {{power_delay_s: {power_delay_s}}}\n\
                 racks:\n  - id: rack-a\n    pdus: [{{id: pdu-a, outlets: {outlets}}}]\n    \
                 switches: [{{id: leaf-a, ports: {ports}}}]\n    nodes:\n{lines}",
                outlets = nodes + 4,
                ports = nodes * 12 + 4,
            ),
        )
        .unwrap();
        // The simulator binds its control API on a port of its own choosing and prints it: a
        // port picked here and released could be taken by another test's sockets meanwhile.
        let control = "127.0.0.1:0";
        let log = std::fs::File::create(dir.path().join("sim.log")).unwrap();
        let child = Command::new(venv.join("bin/gpufleet-sim"))
            .args(["up", "--topology"])
            .arg(&topo)
            .args(["--control", control, "--quiet", "--update-duration", "1"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start gpufleet-sim");
        let mut sim = Sim {
            child,
            control: String::new(),
            nodes: vec![],
            switches: vec![],
            cert: None,
            _dir: dir,
        };
        let start = Instant::now();
        let fleet = loop {
            if let Some(status) = sim.child.try_wait().unwrap() {
                let log =
                    std::fs::read_to_string(sim._dir.path().join("sim.log")).unwrap_or_default();
                panic!("gpufleet-sim exited with {status}:\n{log}");
            }
            if sim.control.is_empty() {
                let log =
                    std::fs::read_to_string(sim._dir.path().join("sim.log")).unwrap_or_default();
                if let Some((_, rest)) = log.split_once("control API on ") {
                    if let Some(url) = rest.split_whitespace().next() {
                        sim.control = url.trim_end_matches('/').to_string();
                    }
                }
            }
            if !sim.control.is_empty() {
                if let Ok(v) = blocking_get(&format!("{}/fleet", sim.control)) {
                    break v;
                }
            }
            assert!(
                start.elapsed() < deadline,
                "gpufleet-sim did not come up within {deadline:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        for n in fleet["nodes"].as_array().unwrap() {
            sim.nodes.push(Node {
                id: n["id"].as_str().unwrap().into(),
                redfish: n["redfish"].as_str().unwrap().into(),
                redfish_https: n["redfish_https"].as_str().unwrap_or_default().into(),
                ipmi: n["ipmi"].as_str().unwrap_or_default().into(),
            });
        }
        for (id, s) in fleet["switches"].as_object().unwrap() {
            let g = &s["gnmi"];
            sim.switches
                .push((id.clone(), format!("{}:{}", g[0].as_str().unwrap(), g[1])));
        }
        sim.cert = fleet["cert"].as_str().map(str::to_string);
        sim
    }

    /// Injects a fault through the control API; returns its id.
    pub async fn inject(&self, kind: &str, target: &str, params: Value) -> String {
        let r: Value = reqwest::Client::new()
            .post(format!("{}/faults", self.control))
            .json(&serde_json::json!({"kind": kind, "target": target, "params": params}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["id"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| panic!("fault not injected: {r}"))
    }

    /// The simulator's process id (to read its memory use).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub async fn clear(&self, id: &str) {
        reqwest::Client::new()
            .delete(format!("{}/faults/{id}", self.control))
            .send()
            .await
            .unwrap();
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn blocking_get(url: &str) -> Result<Value, String> {
    // A tiny HTTP/1.0 GET so that start-up works outside a runtime.
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").ok_or("http only")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = std::net::TcpStream::connect(host).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).map_err(|e| e.to_string())?;
    let (head, body) = buf.split_once("\r\n\r\n").ok_or("no body")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(head.lines().next().unwrap_or("").to_string());
    }
    serde_json::from_str(body).map_err(|e| e.to_string())
}
