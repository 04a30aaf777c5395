//! TLS for the API listener: rustls with the certificate chain and key from configuration,
//! re-read on SIGHUP (a failed reload keeps the current certificate and says why), and optional
//! client certificates verified against a configured CA (for node agents). Handshakes run off
//! the accept loop with a deadline, so a slow or silent client holds up nobody else.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::config::TlsConfig;

/// Deadline of one TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The served certificate, swapped in place by a reload.
#[derive(Debug)]
pub struct CertStore {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertStore {
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<CertStore> {
        let ck = certified_key(cert, key)?;
        Ok(CertStore {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: RwLock::new(Arc::new(ck)),
        })
    }

    /// Reads the certificate and key files again; on error the current pair stays in use.
    pub fn reload(&self) -> anyhow::Result<()> {
        let ck = certified_key(&self.cert, &self.key)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ck);
        Ok(())
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

fn certified_key(cert: &Path, key: &Path) -> anyhow::Result<CertifiedKey> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("tls.cert: cannot read {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!(
                "tls.cert: {} is not a PEM certificate chain",
                cert.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!("tls.cert: {} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!(
            "tls.key: cannot read a PEM private key from {}",
            key.display()
        )
    })?;
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .context("tls.key: unsupported private key type")?;
    let ck = CertifiedKey::new(certs, signing);
    ck.keys_match()
        .context("tls.key does not belong to the certificate of tls.cert")?;
    Ok(ck)
}

/// The rustls server configuration for `cfg`, and the certificate store to reload.
pub fn server_config(cfg: &TlsConfig) -> anyhow::Result<(Arc<ServerConfig>, Arc<CertStore>)> {
    let store = Arc::new(CertStore::load(Path::new(&cfg.cert), Path::new(&cfg.key))?);
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = if cfg.client_ca.is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&cfg.client_ca)
            .with_context(|| format!("tls.client_ca: cannot read {}", cfg.client_ca))?
        {
            roots
                .add(c.with_context(|| format!("tls.client_ca: {} is not PEM", cfg.client_ca))?)
                .context("tls.client_ca: not a usable CA certificate")?;
        }
        let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
        let v = if cfg.require_client_cert {
            v
        } else {
            v.allow_unauthenticated()
        };
        builder.with_client_cert_verifier(v.build().context("tls.client_ca")?)
    };
    let mut sc = builder.with_cert_resolver(store.clone());
    sc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(sc), store))
}

/// A listener whose connections have completed a TLS handshake.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts TCP connections on `tcp` and hands over those whose handshake succeeds within
    /// the deadline. Stops accepting when `shutdown` is cancelled.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>, shutdown: CancellationToken) -> Self {
        let local = tcp.local_addr().expect("a bound listener has an address");
        let (tx, rx) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (sock, peer) = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    r = tcp.accept() => match r {
                        Ok(x) => x,
                        Err(e) => {
                            tracing::warn!(error = %e, "accepting a connection failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(sock)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        TlsListener { rx, local }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The accept loop ended (shutdown): wait for the server to stop.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Reloads the certificate on every SIGHUP until `shutdown`.
pub fn reload_on_sighup(store: Arc<CertStore>, shutdown: CancellationToken) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; the TLS certificate will not be reloaded");
            return;
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = hup.recv() => if r.is_none() { return },
            }
            match store.reload() {
                Ok(()) => tracing::info!(cert = %store.cert.display(), "TLS certificate reloaded"),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "TLS certificate reload failed; still serving the previous one")
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (store, shutdown);
}
