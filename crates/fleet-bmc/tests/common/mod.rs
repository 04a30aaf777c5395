//! Test harness: starts the project's fleet simulator (`gpufleet-sim up`) on free ports of
//! 127.0.0.1 and stops it when dropped; sushy-tools' emulator with its state in the test's own
//! directory; ports that stay closed for as long as a test needs them.
//!
//! Every peer a test starts binds port 0 itself and keeps the port it got (the test reads it
//! back from the peer's output or from /proc); none is handed a port that the test picked and
//! released, which another test's sockets could take meanwhile. Each keeps its files (state,
//! logs, temporary files through TMPDIR) in a directory of the test's own, removed with it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
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

/// A port of 127.0.0.1 on which nothing listens, for as long as this value lives: a TCP socket
/// bound to it but not listening holds it, so a connection is refused, and no other socket can
/// take the port meanwhile (a port picked and released could be).
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    pub port: u16,
}

pub fn closed_port() -> ClosedPort {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    ClosedPort {
        _socket: socket,
        port,
    }
}

/// The ports on which process `pid` has sockets bound to 127.0.0.1: listening TCP sockets
/// (`udp` false) or UDP sockets (`udp` true), read from /proc (the process's own sockets only).
pub fn bound_ports(pid: u32, udp: bool) -> Vec<u16> {
    let mut inodes = std::collections::HashSet::new();
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let t = target.to_string_lossy();
                if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                    inodes.insert(inode.to_string());
                }
            }
        }
    }
    let table = std::fs::read_to_string(format!(
        "/proc/{pid}/net/{}",
        if udp { "udp" } else { "tcp" }
    ))
    .unwrap_or_default();
    let mut ports = vec![];
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 || !inodes.contains(f[9]) {
            continue;
        }
        // local_address is HEXIP:HEXPORT; 0100007F is 127.0.0.1; TCP state 0A is LISTEN.
        let Some((ip, port)) = f[1].split_once(':') else {
            continue;
        };
        if ip != "0100007F" || (!udp && f[3] != "0A") {
            continue;
        }
        if let Ok(p) = u16::from_str_radix(port, 16) {
            ports.push(p);
        }
    }
    ports
}

/// Waits until `child` has a socket bound on 127.0.0.1 (TCP listening, or UDP) and returns its
/// port; fails with the child's log when it exits first or `deadline` passes.
pub fn wait_bound_port(child: &mut Child, udp: bool, log: &Path, deadline: Duration) -> u16 {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "{} exited with {status} before it listened:\n{}",
                log.display(),
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if let Some(p) = bound_ports(child.id(), udp).first() {
            return *p;
        }
        assert!(
            start.elapsed() < deadline,
            "no socket bound by pid {} within {deadline:?}:\n{}",
            child.id(),
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Kills a child process when dropped (also when the test panics).
pub struct Peer(pub Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// OpenStack sushy-tools' emulator with its fake driver (`sushy-emulator --fake`), one system
/// whose power state the test chooses, its state (a SQLite file per resource) in `dir`, and an
/// HTTP port it binds itself.
pub struct Sushy {
    pub peer: Peer,
    pub url: String,
}

impl Sushy {
    pub fn start(dir: &Path, power_state: &str) -> Sushy {
        let bin = venv().join("bin/sushy-emulator");
        assert!(
            bin.exists(),
            "sushy-emulator (sushy-tools) is missing at {} - run scripts/peers.sh first",
            bin.display()
        );
        let state = dir.join("sushy-state");
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&state).unwrap();
        std::fs::create_dir_all(&tmp).unwrap();
        // Without SUSHY_EMULATOR_STATE_DIR the fake driver keeps its systems in
        // $TMPDIR/sushy-emulator/fakedriver.sqlite, shared by every emulator and every run.
        let conf = dir.join("sushy.conf");
        std::fs::write(
            &conf,
            format!(
                "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\n\
                 SUSHY_EMULATOR_LISTEN_PORT = 0\n\
                 SUSHY_EMULATOR_STATE_DIR = {state:?}\n\
                 SUSHY_EMULATOR_FAKE_DRIVER = True\n\
                 SUSHY_EMULATOR_FAKE_SYSTEMS = [{{\n\
                 \x20   'uuid': '27946b59-9e44-4fa7-8e91-f3527a1ef094',\n\
                 \x20   'name': 'fake',\n\
                 \x20   'power_state': '{power_state}',\n\
                 \x20   'external_notifier': False,\n\
                 \x20   'nics': [{{'mac': '00:5c:52:31:3a:9c', 'ip': '172.22.0.100'}}],\n\
                 }}]\n",
                state = state.display().to_string(),
            ),
        )
        .unwrap();
        let log_path = dir.join("sushy.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(&bin)
            .arg("--config")
            .arg(&conf)
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start sushy-emulator");
        let mut peer = Peer(child);
        let port = wait_bound_port(&mut peer.0, false, &log_path, Duration::from_secs(60));
        Sushy {
            peer,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
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
    /// (PDU id, its Redfish controller's URL).
    pub pdus: Vec<(String, String)>,
    /// (CDU id, its Redfish controller's URL).
    pub cdus: Vec<(String, String)>,
    pub cert: Option<String>,
    _dir: tempfile::TempDir,
}

impl Sim {
    /// Starts `nodes` HGX nodes in one rack; power changes take `power_delay_s`.
    pub fn start(nodes: usize, power_delay_s: f64) -> Sim {
        Self::start_within(nodes, power_delay_s, Duration::from_secs(90))
    }

    /// Like [`Sim::start`], with BMCs (Redfish and IPMI) that take `password` for user `admin`
    /// instead of the default `password`: a unique secret that a test can look for in output.
    pub fn start_with_password(nodes: usize, power_delay_s: f64, password: &str) -> Sim {
        Self::start_inner(nodes, power_delay_s, Duration::from_secs(90), password)
    }

    /// Like [`Sim::start`], waiting up to `deadline` for the fleet to come up.
    pub fn start_within(nodes: usize, power_delay_s: f64, deadline: Duration) -> Sim {
        Self::start_inner(nodes, power_delay_s, deadline, "password")
    }

    fn start_inner(nodes: usize, power_delay_s: f64, deadline: Duration, password: &str) -> Sim {
        Self::start_groups_with(
            &[(nodes, "hgx-h100-8gpu", "a-n")],
            power_delay_s,
            deadline,
            password,
        )
    }

    /// One node of each simulator model in `models` (`dgx-h100`, `gb200-tray`, ...), named
    /// `m<i>-1` in the order given.
    pub fn start_models(models: &[&str], power_delay_s: f64) -> Sim {
        Self::start_models_with_password(models, power_delay_s, "password")
    }

    /// Like [`Sim::start_models`], with BMCs that take `password` for user `admin`.
    pub fn start_models_with_password(models: &[&str], power_delay_s: f64, password: &str) -> Sim {
        let prefixes: Vec<String> = (0..models.len()).map(|i| format!("m{i}-")).collect();
        let groups: Vec<(usize, &str, &str)> = models
            .iter()
            .zip(&prefixes)
            .map(|(m, p)| (1, *m, p.as_str()))
            .collect();
        Self::start_groups_with(&groups, power_delay_s, Duration::from_secs(90), password)
    }

    /// Groups of (count, model, name prefix) in one rack.
    pub fn start_groups(
        groups: &[(usize, &str, &str)],
        power_delay_s: f64,
        deadline: Duration,
    ) -> Sim {
        Self::start_groups_with(groups, power_delay_s, deadline, "password")
    }

    fn start_groups_with(
        groups: &[(usize, &str, &str)],
        power_delay_s: f64,
        deadline: Duration,
        password: &str,
    ) -> Sim {
        assert!(
            password
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "keep test passwords plain YAML"
        );
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
                 defaults: {{power_delay_s: {power_delay_s}, bmc: {{user: admin, password: {password}}}}}\n\
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
            .env("TMPDIR", dir.path())
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
            pdus: vec![],
            cdus: vec![],
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
                if let Some(url) = announced_control(&log) {
                    sim.control = url;
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
        if let Some(pdus) = fleet["pdus"].as_object() {
            for (id, p) in pdus {
                if let Some(url) = p["redfish"].as_str() {
                    sim.pdus.push((id.clone(), url.to_string()));
                }
            }
        }
        if let Some(cdus) = fleet["cdus"].as_object() {
            for (id, c) in cdus {
                if let Some(url) = c["redfish"].as_str() {
                    sim.cdus.push((id.clone(), url.to_string()));
                }
            }
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

    /// Tells the simulated BMCs which version an image installs: `image` is
    /// `{"image": URI}` (SimpleUpdate) or `{"sha256": hex}` (a pushed image's bytes). What a BMC
    /// then reports comes from here, not from the update request.
    pub async fn firmware_image(&self, image: Value, version: &str) {
        let mut body = image;
        body["version"] = version.into();
        let r = reqwest::Client::new()
            .post(format!("{}/firmware-images", self.control))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
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

/// The control API URL that `gpufleet-sim up` prints once it listens ("control API on URL").
pub fn announced_control(log: &str) -> Option<String> {
    let (_, rest) = log.split_once("control API on ")?;
    let url = rest.split_whitespace().next()?;
    Some(url.trim_end_matches('/').to_string())
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
