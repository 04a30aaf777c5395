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
