//! TLS on the API listener, with a private CA made by the test: HTTPS only, the certificate
//! re-read on SIGHUP, optional and required client certificates, and a refusal to serve plain
//! HTTP beyond loopback unless told to.

use std::path::Path;
use std::time::{Duration, Instant};

use fleet_db::{SecretBox, Store, StoreOptions};
use fleet_server::config::{Config, Overrides};
use fleet_server::state::AppState;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio_util::sync::CancellationToken;

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = p.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(p, key),
    }
}

/// A leaf certificate for `names` signed by `ca`: (certificate PEM, key PEM).
fn leaf(ca: &Ca, names: &[&str]) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let p =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let cert = p.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

struct Server {
    base: String,
    shutdown: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn start(dir: &Path, tls: fleet_server::config::TlsConfig) -> Server {
    std::fs::create_dir_all(dir).unwrap();
    let cfg = Config {
        data_dir: dir.to_path_buf(),
        tls: tls.clone(),
        ..Default::default()
    };
    let store = Store::connect(&StoreOptions::new(cfg.database_url()))
        .await
        .unwrap()
        .with_secrets(SecretBox::from_base64(&SecretBox::generate_key(), 1).unwrap());
    let (sc, certs) = fleet_server::tls::server_config(&tls).unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let shutdown = CancellationToken::new();
    fleet_server::tls::reload_on_sighup(certs, shutdown.clone());
    let l = fleet_server::tls::TlsListener::new(tcp, sc, shutdown.clone());
    tokio::spawn(fleet_server::app::serve_on(
        AppState::new(store, cfg),
        l,
        shutdown.clone(),
    ));
    Server {
        base: format!("https://localhost:{port}"),
        shutdown,
    }
}

fn client(ca_pem: Option<&str>, identity: Option<(&str, &str)>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .tls_built_in_root_certs(false)
        .resolve("localhost", "127.0.0.1:0".parse().unwrap());
    if let Some(pem) = ca_pem {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    if let Some((cert, key)) = identity {
        b = b.identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    b.build().unwrap()
}

async fn healthz(c: &reqwest::Client, base: &str) -> Result<u16, String> {
    c.get(format!("{base}/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(x) = src {
                s.push_str(&format!(": {x}"));
                src = x.source();
            }
            s
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_private_ca_and_the_certificate_reloaded_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let ca1 = ca("gpufleet test CA 1");
    let (cert, key) = leaf(&ca1, &["localhost", "127.0.0.1"]);
    let tls = fleet_server::config::TlsConfig {
        cert: write(dir.path(), "cert.pem", &cert),
        key: write(dir.path(), "key.pem", &key),
        ..Default::default()
    };
    let srv = start(dir.path(), tls).await;

    // A client that trusts the CA gets answers; one that does not is refused by its own TLS.
    let trusting = client(Some(&ca1.pem), None);
    assert_eq!(healthz(&trusting, &srv.base).await, Ok(200));
    let stranger = client(None, None);
    let e = healthz(&stranger, &srv.base).await.unwrap_err();
    assert!(
        e.to_lowercase().contains("certificate") || e.contains("UnknownIssuer"),
        "{e}"
    );
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let http_base = srv.base.replace("https://localhost", "http://127.0.0.1");
    assert!(healthz(&plain, &http_base).await.is_err());

    // A new certificate from another CA is written and the process gets SIGHUP: new
    // connections see the new certificate.
    let ca2 = ca("gpufleet test CA 2");
    let (cert2, key2) = leaf(&ca2, &["localhost"]);
    write(dir.path(), "cert.pem", &cert2);
    write(dir.path(), "key.pem", &key2);
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    loop {
        // A fresh client each time: no pooled connection from before the reload.
        if healthz(&client(Some(&ca2.pem), None), &srv.base).await == Ok(200) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the reloaded certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthz(&client(Some(&ca1.pem), None), &srv.base)
        .await
        .is_err());

    // A broken file on reload keeps the current certificate.
    write(dir.path(), "key.pem", "not a key");
    std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        healthz(&client(Some(&ca2.pem), None), &srv.base).await,
        Ok(200)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_optional_or_required() {
    let dir = tempfile::tempdir().unwrap();
    let server_ca = ca("gpufleet server CA");
    let agents = ca("gpufleet agent CA");
    let (cert, key) = leaf(&server_ca, &["localhost"]);
    let (agent_cert, agent_key) = leaf(&agents, &["agent-17"]);
    let rogue_ca = ca("someone else");
    let (rogue_cert, rogue_key) = leaf(&rogue_ca, &["agent-17"]);
    let mut tls = fleet_server::config::TlsConfig {
        cert: write(dir.path(), "cert.pem", &cert),
        key: write(dir.path(), "key.pem", &key),
        client_ca: write(dir.path(), "agents.pem", &agents.pem),
        require_client_cert: false,
    };
    let optional = start(&dir.path().join("a"), tls.clone()).await;
    let anon = client(Some(&server_ca.pem), None);
    let agent = client(Some(&server_ca.pem), Some((&agent_cert, &agent_key)));
    let rogue = client(Some(&server_ca.pem), Some((&rogue_cert, &rogue_key)));
    assert_eq!(healthz(&anon, &optional.base).await, Ok(200));
    assert_eq!(healthz(&agent, &optional.base).await, Ok(200));
    assert!(
        healthz(&rogue, &optional.base).await.is_err(),
        "a certificate from another CA is refused even where certificates are optional"
    );

    tls.require_client_cert = true;
    let required = start(&dir.path().join("b"), tls).await;
    assert_eq!(healthz(&agent, &required.base).await, Ok(200));
    assert!(healthz(&anon, &required.base).await.is_err());
}

#[test]
fn plain_http_beyond_loopback_is_refused_unless_asked_for() {
    let load = |listen: &str, insecure: Option<bool>| {
        Config::load(
            None,
            &Overrides {
                listen: Some(listen.into()),
                grpc_listen: None,
                data_dir: None,
                insecure_listen: insecure,
            },
        )
    };
    let e = load("0.0.0.0:8080", None).unwrap_err().to_string();
    assert!(e.contains("refusing to serve plain HTTP"), "{e}");
    assert!(e.contains("--insecure-listen"), "{e}");
    assert!(load("127.0.0.1:8080", None).is_ok());
    assert!(load("[::1]:8080", None).is_ok());
    assert!(load("0.0.0.0:8080", Some(true)).is_ok());
    // Plaintext gRPC follows the same rule.
    let grpc = |addr: &str, insecure: Option<bool>| {
        Config::load(
            None,
            &Overrides {
                grpc_listen: Some(addr.into()),
                insecure_listen: insecure,
                ..Default::default()
            },
        )
    };
    let e = grpc("0.0.0.0:8081", None).unwrap_err().to_string();
    assert!(e.contains("refusing to serve plaintext gRPC"), "{e}");
    assert!(grpc("0.0.0.0:8081", Some(true)).is_ok());
    assert!(grpc("", None).is_ok(), "empty turns gRPC off");
    let e = grpc("nowhere", None).unwrap_err().to_string();
    assert!(e.contains("grpc_listen"), "{e}");
}
