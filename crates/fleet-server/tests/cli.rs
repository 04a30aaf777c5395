//! The `gpufleet` binary: serve on embedded defaults, SIGTERM, config show,
//! audit verify against a tampered database, and the client commands.

#[path = "../../fleet-bmc/tests/common/mod.rs"]
mod sim;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gpufleet");

/// The address a `gpufleet serve` announces ("gpufleet listening on http://ADDR ..."): it binds
/// the port itself (`GPUFLEET_LISTEN=127.0.0.1:0`) and says which one it got.
fn announced_url(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("listening on ")?;
    Some(rest.split_whitespace().next()?.to_string())
}

struct Server {
    child: std::process::Child,
    url: String,
    first_lines: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &std::path::Path, admin_pw: Option<&str>) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--data-dir"])
        .arg(dir)
        .env("GPUFLEET_LISTEN", "127.0.0.1:0")
        .env("GPUFLEET_GRPC_LISTEN", "127.0.0.1:0")
        .env_remove("GPUFLEET_CONFIG")
        // These tests drive the lifecycle by hand; the enricher would inspect a node moved to
        // `inspecting` (and fail on the made-up BMC addresses) under their feet.
        .env("GPUFLEET_ENRICHER__ENABLED", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match admin_pw {
        Some(p) => cmd.env("GPUFLEET_ADMIN_PASSWORD", p),
        None => cmd.env_remove("GPUFLEET_ADMIN_PASSWORD"),
    };
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut first = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        assert!(
            Instant::now() < deadline,
            "server did not announce itself: {first:?}"
        );
        let l = lines.next().expect("server output").unwrap();
        first.push(l.clone());
        if let Some(url) = announced_url(&l) {
            break url;
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        url,
        first_lines: first,
    }
}

fn gpufleet(server: &str, token: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("GPUFLEET_SERVER", server)
        .env("HOME", "/nonexistent-home")
        .stdin(Stdio::null());
    match token {
        Some(t) => c.env("GPUFLEET_TOKEN", t),
        None => c.env_remove("GPUFLEET_TOKEN"),
    };
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

fn login(url: &str, pw: &str) -> String {
    let body = format!("{{\"username\":\"admin\",\"password\":\"{pw}\"}}");
    let o = Command::new("curl")
        .args([
            "-sf",
            "-XPOST",
            "-H",
            "content-type: application/json",
            "-d",
            &body,
            &format!("{url}/api/v1/auth/login"),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "login failed");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["token"].as_str().unwrap().to_string()
}

#[test]
fn serve_prints_a_one_time_password_once_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), None);
    let pw_line = s
        .first_lines
        .iter()
        .find(|l| l.contains("one-time password"))
        .expect("one-time password printed");
    let pw = pw_line.rsplit(' ').next().unwrap().to_string();
    login(&s.url, &pw);
    let pid = s.child.id();
    let mut s = s;
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "graceful exit: {status}");
    // Second start: users exist, no password is printed again.
    let s2 = serve(dir.path(), None);
    assert!(
        !s2.first_lines
            .iter()
            .any(|l| l.contains("one-time password")),
        "{:?}",
        s2.first_lines
    );
    login(&s2.url, &pw);
}

#[test]
fn client_commands_import_list_show_and_transition() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), Some("admin-password-1"));
    let tok = login(&s.url, "admin-password-1");
    let inv = dir.path().join("inv.yaml");
    std::fs::write(&inv, "racks:\n  - name: r1\nnodes:\n  - name: n1\n    rack: r1\n    model: HGX\n    bmc: {address: 127.0.0.3}\n  - name: n2\n    rack: r1\n").unwrap();
    let (code, out, err) = gpufleet(&s.url, Some(&tok), &["import", inv.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 node"), "{out}");
    let (code, out, _) = gpufleet(&s.url, Some(&tok), &["node", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("n1") && out.contains("discovered") && out.contains("HGX"),
        "{out}"
    );
    let (code, out, err) = gpufleet(
        &s.url,
        Some(&tok),
        &["node", "transition", "n1", "in_service"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("409") && err.contains("allowed: inspecting, retired"),
        "{err}"
    );
    let (code, out, err) = gpufleet(
        &s.url,
        Some(&tok),
        &["node", "transition", "n1", "inspecting"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("discovered -> inspecting"), "{out}");
    let (code, out, _) = gpufleet(
        &s.url,
        Some(&tok),
        &["--output", "json", "node", "list", "--state", "inspecting"],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (code, out, _) = gpufleet(&s.url, Some(&tok), &["node", "show", "n1"]);
    assert_eq!(code, 0);
    assert!(out.contains("bmc") && out.contains("127.0.0.3"), "{out}");
    let (code, _, err) = gpufleet(&s.url, None, &["node", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("401") && err.contains("gpufleet login"),
        "{err}"
    );
    let closed = sim::closed_port();
    let (code, _, err) = gpufleet(
        &format!("http://127.0.0.1:{}", closed.port),
        Some(&tok),
        &["node", "list"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach"), "{err}");
}

#[test]
fn audit_verify_catches_a_row_altered_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = serve(dir.path(), Some("admin-password-1"));
        let tok = login(&s.url, "admin-password-1");
        let inv = dir.path().join("inv.csv");
        std::fs::write(&inv, "name,rack\nn1,r1\nn2,r1\n").unwrap();
        let (code, out, err) = gpufleet(&s.url, Some(&tok), &["import", inv.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
    }
    let verify = || {
        Command::new(BIN)
            .args(["audit", "verify", "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let ok = verify();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact"));
    // Tamper with one row directly in SQLite.
    let db = dir.path().join("gpufleet.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
            .execute(&mut c)
            .await
            .unwrap();
    });
    let bad = verify();
    let out = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{out}");
    assert!(
        out.contains("TAMPERED") && out.contains("row 2 was altered"),
        "{out}"
    );
}

#[test]
fn config_show_masks_secrets_and_reports_bad_values() {
    let o = Command::new(BIN)
        .args(["config", "show"])
        .env(
            "GPUFLEET_DATABASE_URL",
            "postgres://gf:hunter2@db.example:5432/gf",
        )
        .env("GPUFLEET_SECRET_KEY", "c2VjcmV0LWtleS1iYXNlNjQ=")
        .env("GPUFLEET_LIFECYCLE__DEADLINES__INSPECTING", "600")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !out.contains("hunter2") && !out.contains("c2VjcmV0"),
        "{out}"
    );
    assert!(
        out.contains("postgres://gf:***@db.example:5432/gf"),
        "{out}"
    );
    assert!(out.contains("inspecting = 600"), "{out}");
    let o = Command::new(BIN)
        .args(["config", "show"])
        .env("GPUFLEET_LISTEN", "nowhere")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("HOST:PORT"));
}

/// One HTTP request with curl (the server's answer as JSON; null when empty).
fn curl(method: &str, url: &str, token: &str, body: Option<&str>) -> serde_json::Value {
    let auth = format!("authorization: Bearer {token}");
    let mut args = vec![
        "-sS",
        "-f",
        "-X",
        method,
        "-H",
        &auth,
        "-H",
        "content-type: application/json",
    ];
    if let Some(b) = body {
        args.extend(["--data-binary", b]);
    }
    args.push(url);
    let o = Command::new("curl").args(&args).output().unwrap();
    assert!(
        o.status.success(),
        "{method} {url}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_rule_stored_through_the_cli_fires_and_resolves_on_pushed_telemetry() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), Some("admin-password-1"));
    let tok = login(&s.url, "admin-password-1");
    let node = curl(
        "POST",
        &format!("{}/api/v1/assets", s.url),
        &tok,
        Some(r#"{"kind":"node","name":"hot1"}"#),
    );
    let gpu = curl(
        "POST",
        &format!("{}/api/v1/assets", s.url),
        &tok,
        Some(&format!(
            r#"{{"kind":"gpu","name":"hot1-gpu0","parent_id":"{}","config":{{"model":"H100","serial":"HS0","uuid":"GPU-hot-0","index":0}}}}"#,
            node["id"].as_str().unwrap()
        )),
    );
    let gpu_id = gpu["id"].as_str().unwrap().to_string();

    // A rule that cannot be evaluated is refused with the reason, and nothing is stored.
    let (code, _, err) = gpufleet(
        &s.url,
        Some(&tok),
        &["rule", "put", "Bad", "--expr", "DCGM_FI_DEV_GPU_TEMP >"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("422") && err.contains("expression"), "{err}");
    let (code, out, err) = gpufleet(
        &s.url,
        Some(&tok),
        &[
            "rule",
            "put",
            "GpuRunsHot",
            "--expr",
            "DCGM_FI_DEV_GPU_TEMP > 80",
            "--severity",
            "critical",
            "--annotation",
            "summary=GPU {{ $labels.gpu }} at {{ $value }} C",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("stored alert rule GpuRunsHot version 1"),
        "{out}"
    );

    let write = |temp: u32| {
        let body = format!("gpu,uuid=GPU-hot-0 gpu_temp={temp}");
        let o = Command::new("curl")
            .args([
                "-sSf",
                "-XPOST",
                "-H",
                &format!("authorization: Bearer {tok}"),
                "--data-binary",
                &body,
            ])
            .arg(format!("{}/api/v1/telemetry/write", s.url))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    write(91);
    let raised = curl(
        "GET",
        &format!("{}/api/v1/events?type=AlertRaised", s.url),
        &tok,
        None,
    );
    let items = raised["items"].as_array().unwrap();
    let mine: Vec<_> = items
        .iter()
        .filter(|e| e["data"]["rule"] == "GpuRunsHot")
        .collect();
    assert_eq!(mine.len(), 1, "{raised}");
    let ev = &mine[0];
    assert_eq!(ev["subject"], gpu_id.as_str());
    assert_eq!(ev["data"]["severity"], "critical");
    assert_eq!(ev["data"]["labels"]["node"], "hot1");
    assert_eq!(
        ev["data"]["annotations"]["summary"], "GPU hot1-gpu0 at 91 C",
        "{ev}"
    );
    let (code, out, _) = gpufleet(&s.url, Some(&tok), &["rule", "list"]);
    assert_eq!(code, 0);
    let line = out
        .lines()
        .find(|l| l.starts_with("GpuRunsHot"))
        .expect("the rule is listed");
    assert!(
        line.contains("stored") && line.contains("critical") && line.contains(" 1 "),
        "{line}"
    );
    // The alert went to the correlation, resolved to the GPU.
    let alerts = curl("GET", &format!("{}/api/v1/alerts", s.url), &tok, None);
    let held: Vec<_> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["labels"]["alertname"] == "GpuRunsHot")
        .collect();
    assert_eq!(held.len(), 1, "{alerts}");
    assert_eq!(held[0]["asset_id"], gpu_id.as_str(), "{alerts}");
    // …where it is an incident the CLI lists, plans and acknowledges.
    let (code, out, err) = gpufleet(&s.url, Some(&tok), &["incident", "list"]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.contains("hot1-gpu0"))
        .unwrap_or_else(|| panic!("an incident about the GPU: {out}"));
    let id = line.split_whitespace().next().unwrap().to_string();
    let (code, out, err) = gpufleet(&s.url, Some(&tok), &["incident", "plan", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ACTION"), "{out}");
    let (code, out, err) = gpufleet(
        &s.url,
        Some(&tok),
        &["incident", "ack", &id, "--note", "on it"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("is acknowledged"), "{out}");
    // A second, unrelated alert: merged into the first incident and split off again.
    curl(
        "POST",
        &format!("{}/api/v1/alerts", s.url),
        &tok,
        Some(
            &serde_json::json!([{"labels": {"alertname": "NodeDown", "node": "hot1",
                                             "severity": "critical", "source": "cli-test"}}])
            .to_string(),
        ),
    );
    let list = curl("GET", &format!("{}/api/v1/incidents", s.url), &tok, None);
    let other = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] != id.as_str())
        .unwrap_or_else(|| panic!("a second incident: {list}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, out, err) = gpufleet(&s.url, Some(&tok), &["incident", "merge", &id]);
    assert_ne!(code, 0, "--with is required: {out}");
    assert!(err.contains("--with"), "{err}");
    let (code, out, err) = gpufleet(
        &s.url,
        Some(&tok),
        &[
            "incident",
            "merge",
            &id,
            "--with",
            &other,
            "--note",
            "same host",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("now holds 2 alert(s)"), "{out}");
    let detail = curl(
        "GET",
        &format!("{}/api/v1/incidents/{}", s.url, other),
        &tok,
        None,
    );
    assert_eq!(detail["id"], id.as_str(), "the merged id names the target");
    let fp = detail["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "NodeDown")
        .unwrap()["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, out, err) = gpufleet(
        &s.url,
        Some(&tok),
        &["incident", "split", &id, "--alert", &fp, "--root", "hot1"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("opened with 1 alert(s), root cause node hot1"),
        "{out}"
    );
    let (code, out, err) = gpufleet(&s.url, Some(&tok), &["remediation", "kill-switch", "maybe"]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("'on' or 'off'"), "{err}");
    let (code, out, err) = gpufleet(&s.url, Some(&tok), &["remediation", "status"]);
    assert_eq!(code, 0, "{err}");
    let st: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(st["kill_switch"], false, "{st}");

    write(60);
    let resolved = curl(
        "GET",
        &format!("{}/api/v1/events?type=AlertResolved", s.url),
        &tok,
        None,
    );
    assert!(
        resolved["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["data"]["rule"] == "GpuRunsHot"),
        "{resolved}"
    );
    let (_, out, _) = gpufleet(
        &s.url,
        Some(&tok),
        &["--output", "json", "rule", "show", "GpuRunsHot"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rule"]["active"], serde_json::json!([]), "{v}");
    assert_eq!(v["versions"].as_array().unwrap().len(), 1, "{v}");

    // Deleting the stored rule; a built-in one cannot be deleted, only switched off.
    let (code, out, err) = gpufleet(&s.url, Some(&tok), &["rule", "delete", "GpuRunsHot"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = gpufleet(
        &s.url,
        Some(&tok),
        &["rule", "delete", "GpuTemperatureHigh"],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("404") && err.contains("enabled false"),
        "{err}"
    );
    let (code, out, err) = gpufleet(
        &s.url,
        Some(&tok),
        &[
            "rule",
            "put",
            "GpuTemperatureHigh",
            "--expr",
            "DCGM_FI_DEV_GPU_TEMP > 85",
            "--disabled",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (_, out, _) = gpufleet(&s.url, Some(&tok), &["--output", "json", "rule", "list"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.contains(&"GpuRunsHot".to_string()), "{names:?}");
    let t = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "GpuTemperatureHigh")
        .unwrap();
    assert_eq!(
        (
            t["source"].as_str(),
            t["enabled"].as_bool(),
            t["builtin"].as_bool()
        ),
        (Some("stored"), Some(false), Some(true)),
        "{t}"
    );

    // A Prometheus rule file: all or nothing.
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, "groups:\n  - name: site\n    rules:\n      - alert: PowerHigh\n        expr: DCGM_FI_DEV_POWER_USAGE > 650\n        for: 5m\n      - record: job:power:sum\n        expr: sum(DCGM_FI_DEV_POWER_USAGE)\n").unwrap();
    let (code, _, err) = gpufleet(
        &s.url,
        Some(&tok),
        &["rule", "import", rules.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("none stored") && err.contains("recording rules are not supported"),
        "{err}"
    );
    let (_, out, _) = gpufleet(&s.url, Some(&tok), &["rule", "list"]);
    assert!(!out.contains("PowerHigh"), "{out}");
    std::fs::write(&rules, "groups:\n  - name: site\n    rules:\n      - alert: PowerHigh\n        expr: DCGM_FI_DEV_POWER_USAGE > 650\n        for: 5m\n        labels: {severity: warning}\n").unwrap();
    let (code, out, err) = gpufleet(
        &s.url,
        Some(&tok),
        &["rule", "import", rules.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("imported 1 rule(s): PowerHigh"), "{out}");
}

#[test]
fn serve_refuses_to_start_when_its_redis_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .env("GPUFLEET_LISTEN", "127.0.0.1:0")
        .env("GPUFLEET_GRPC_LISTEN", "")
        .env(
            "GPUFLEET_REDIS_URL",
            format!("redis://:rpw-31@127.0.0.1:{port}"),
        )
        .env_remove("GPUFLEET_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("gpufleet serve still runs 30 s after its Redis refused to answer");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "{err}");
    assert!(err.contains("redis_url"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(
        !err.contains("rpw-31"),
        "the password stays out of messages: {err}"
    );
}

#[test]
fn node_power_and_boot_as_jobs_then_jobs_list_show_follow_and_cancel() {
    let fleet = sim::Sim::start(1, 0.2);
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), Some("admin-password-1"));
    let tok = login(&s.url, "admin-password-1");
    let inv = dir.path().join("inv.yaml");
    std::fs::write(
        &inv,
        format!(
            "racks:\n  - name: r1\nnodes:\n  - name: op1\n    rack: r1\n    \
             bmc: {{address: \"{}\", protocol: redfish, username: admin, password: password}}\n",
            fleet.nodes[0].redfish
        ),
    )
    .unwrap();
    let (code, out, err) = gpufleet(&s.url, Some(&tok), &["import", inv.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let run = |args: &[&str]| gpufleet(&s.url, Some(&tok), args);

    // A power cycle followed to its end: the log lines, then the final state.
    let (code, out, err) = run(&[
        "node",
        "power",
        "op1",
        "cycle",
        "--wait",
        "--timeout",
        "120",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("power.cycle"), "{out}");
    assert!(
        out.contains("waiting for the node to go off and come back on"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("succeeded"), "{out}");

    // Without --wait the job id comes back at once; `jobs follow` ends with the job.
    let (code, out, err) = run(&["-o", "json", "node", "boot", "op1", "pxe"]);
    assert_eq!(code, 0, "{out}{err}");
    let job: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(job["kind"], "boot.set");
    let (code, out, err) = run(&["jobs", "follow", &id, "--timeout", "120"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("boot.set") && out.contains("succeeded"),
        "{out}"
    );
    let (code, out, _) = run(&["jobs", "show", &id]);
    assert_eq!(code, 0);
    assert!(
        out.contains("\"device\":\"pxe\"") && out.contains("done"),
        "{out}"
    );

    let (code, out, _) = run(&["-o", "json", "jobs", "list", "--node", "op1"]);
    assert_eq!(code, 0);
    let jobs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let kinds: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["boot.set", "power.cycle"], "{out}");
    let (code, out, _) = run(&["jobs", "list", "--kind", "power.cycle"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("power.cycle") && !out.contains("boot.set"),
        "{out}"
    );

    // A BMC reset: the job waits until the BMC answers again.
    let (code, out, err) = run(&["node", "bmc-reset", "op1", "--wait", "--timeout", "120"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("bmc.reset") && out.contains("waiting for the BMC to answer again"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("succeeded"), "{out}");

    // A finished job cannot be cancelled; a failed job exits 1; bad input says what is wrong.
    let (code, _, err) = run(&["jobs", "cancel", &id]);
    assert_eq!(code, 1);
    assert!(err.contains("409"), "{err}");
    let (code, _, err) = run(&["node", "power", "op1", "explode"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown power action"), "{err}");
    let (code, out, _) = run(&[
        "node",
        "power",
        "op1",
        "on",
        "--driver",
        "ipmi",
        "--wait",
        "--timeout",
        "120",
    ]);
    assert_eq!(
        code, 1,
        "an IPMI job against a BMC without an IPMI address fails: {out}"
    );
    assert!(out.contains("failed"), "{out}");
    let (code, _, err) = run(&["jobs", "show", "no-such-job"]);
    assert_eq!(code, 1);
    assert!(err.contains("404"), "{err}");
}
