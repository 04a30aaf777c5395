//! Redfish driver (DMTF DSP0266) over reqwest + rustls.
//!
//! - TLS: web PKI roots plus an optional per-BMC CA certificate; self-signed certificates only
//!   when the endpoint opts in ([`Endpoint::accept_invalid_certs`]).
//! - Authentication: a Redfish session (`X-Auth-Token`), created on first use and renewed once
//!   on a 401; basic authentication when the service offers no sessions.
//! - Every request carries the endpoint's timeout; GETs (idempotent) are retried with
//!   exponential backoff on transient failures; actions, PATCH, POST and DELETE are sent once.
//! - PATCH sends `If-Match` with the resource's ETag when the BMC gives one (and goes without it
//!   where the resource cannot be read, as write-only settings objects), and re-reads once on
//!   `412 Precondition Failed`.
//! - BIOS changes go to the settings object the BMC advertises (`@Redfish.Settings`), else to
//!   the one the vendor data names; on and off are not sent to a system already there.
//! - Long operations (firmware updates) follow the Task monitor until done or the deadline.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::vendor::VendorProfile;
use crate::{
    BiosSettings, BmcError, BootOverride, Drive, Endpoint, FirmwareItem, FirmwareSource, OutOfBand,
    PowerAction, PowerState, ProgressFn, Result, SelEntry, Sensor, StorageController, TaskProgress,
    VirtualMediaStatus, Volume, VolumeSpec,
};

#[derive(Clone, Debug)]
enum Auth {
    Basic,
    Session {
        token: String,
        location: Option<String>,
    },
}

#[derive(Clone, Debug)]
struct Discovered {
    profile: VendorProfile,
    system: String,
    manager: Option<String>,
    chassis: Option<String>,
    root: Value,
}

/// A Redfish BMC.
pub struct RedfishClient {
    ep: Endpoint,
    base: String,
    http: reqwest::Client,
    auth: Mutex<Option<Auth>>,
    disc: Mutex<Option<Discovered>>,
    forced_profile: Option<VendorProfile>,
}

struct Reply {
    status: StatusCode,
    etag: Option<String>,
    location: Option<String>,
    retry_after: Option<u64>,
    body: Value,
}

pub(crate) fn odata_id(v: &Value) -> Option<String> {
    v.get("@odata.id")
        .and_then(|x| x.as_str())
        .map(|s| s.trim_end_matches('/').to_string())
}

pub(crate) fn members(v: &Value) -> Vec<String> {
    v.get("Members")
        .and_then(|m| m.as_array())
        .map(|a| a.iter().filter_map(odata_id).collect())
        .unwrap_or_default()
}

/// A sensor holding only the `Status` of a Redfish object (`Health`, `State`).
fn status_of(v: &Value) -> Sensor {
    let st = v.get("Status");
    Sensor {
        health: st.and_then(|s| str_of(s, "Health")),
        state: st.and_then(|s| str_of(s, "State")),
        ..Default::default()
    }
}

pub(crate) fn str_of(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| x.as_str()).map(str::to_string)
}

fn error_message(body: &Value) -> String {
    if let Some(e) = body.get("error") {
        let mut parts = vec![];
        if let Some(m) = e.get("message").and_then(|m| m.as_str()) {
            parts.push(m.to_string());
        }
        if let Some(ext) = e.get("@Message.ExtendedInfo").and_then(|x| x.as_array()) {
            for i in ext {
                if let Some(m) = i.get("Message").and_then(|m| m.as_str()) {
                    parts.push(m.to_string());
                }
            }
        }
        if !parts.is_empty() {
            return parts.join("; ");
        }
    }
    let s = body.to_string();
    s.chars().take(300).collect()
}

impl RedfishClient {
    /// A client for `ep.address` (a base URL such as `https://10.0.0.5`).
    pub fn new(ep: Endpoint) -> Result<Self> {
        let base = ep.address.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(BmcError::Invalid(format!(
                "Redfish address {base:?} must start with http:// or https://"
            )));
        }
        let mut b = reqwest::Client::builder()
            .timeout(ep.timeout)
            .connect_timeout(ep.timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(30))
            // A redirect is followed only within the BMC's own origin: requests carry its
            // credentials (a session token header or a login body) that must not go elsewhere.
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let first = attempt.previous().first();
                let same = first.is_some_and(|f| {
                    f.scheme() == attempt.url().scheme()
                        && f.host_str() == attempt.url().host_str()
                        && f.port_or_known_default() == attempt.url().port_or_known_default()
                });
                if same && attempt.previous().len() < 5 {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .danger_accept_invalid_certs(ep.accept_invalid_certs);
        if let Some(pem) = &ep.ca_cert_pem {
            let cert = reqwest::Certificate::from_pem(pem).map_err(|e| {
                BmcError::Invalid(format!("CA certificate for {base} is not valid PEM: {e}"))
            })?;
            b = b.add_root_certificate(cert);
        }
        let http = b.build().map_err(|e| BmcError::Other {
            endpoint: base.clone(),
            detail: e.to_string(),
        })?;
        Ok(RedfishClient {
            ep,
            base,
            http,
            auth: Mutex::new(None),
            disc: Mutex::new(None),
            forced_profile: None,
        })
    }

    /// The base URL requests go to.
    pub fn address(&self) -> &str {
        &self.base
    }

    /// Authenticate every request with HTTP Basic instead of a session (which the Redfish
    /// specification requires services to accept): for short periodic reads, where a session
    /// per read would only churn the service's session table.
    pub fn with_basic_auth(self) -> Self {
        *self.auth.try_lock().expect("a new client's lock is free") = Some(Auth::Basic);
        self
    }

    /// Use this vendor profile instead of detecting one from the service root.
    pub fn with_profile(mut self, p: VendorProfile) -> Self {
        self.forced_profile = Some(p);
        self
    }

    /// The URL of a path or a link the BMC gave. A link with a scheme must be on the BMC's own
    /// origin (scheme, host and port): requests carry the BMC's credentials, so a link that
    /// leaves it (an `@odata.id`, a push URI, a task monitor or session `Location`) is refused
    /// instead of followed.
    fn url(&self, path: &str) -> Result<String> {
        if !path.contains("://") && !path.starts_with("//") {
            let sep = if path.starts_with('/') { "" } else { "/" };
            return Ok(format!("{}{sep}{}", self.base, path));
        }
        let foreign = || BmcError::ForeignLink {
            endpoint: self.base.clone(),
            link: path.chars().take(200).collect(),
        };
        let link = reqwest::Url::parse(path).map_err(|_| foreign())?;
        let base = reqwest::Url::parse(&self.base).map_err(|_| foreign())?;
        let same = link.scheme() == base.scheme()
            && link.host_str().map(str::to_ascii_lowercase)
                == base.host_str().map(str::to_ascii_lowercase)
            && link.port_or_known_default() == base.port_or_known_default()
            && link.username().is_empty()
            && link.password().is_none();
        if same {
            Ok(link.to_string())
        } else {
            Err(foreign())
        }
    }

    fn map_send_error(&self, e: reqwest::Error) -> BmcError {
        let endpoint = self.base.clone();
        let mut chain = e.to_string();
        let mut src = e.source();
        while let Some(s) = src {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            src = s.source();
        }
        let lower = chain.to_lowercase();
        if lower.contains("certificate")
            || lower.contains("unknownissuer")
            || lower.contains("invalid peer")
        {
            let detail = chain.rsplit(": ").next().unwrap_or(&chain).to_string();
            return BmcError::TlsCertificate { endpoint, detail };
        }
        if e.is_timeout() {
            return BmcError::Timeout {
                endpoint,
                after: self.ep.timeout,
            };
        }
        if e.is_connect() {
            return BmcError::Connect {
                endpoint,
                detail: chain,
            };
        }
        BmcError::Other {
            endpoint,
            detail: chain,
        }
    }

    async fn auth_header(&self, rb: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder> {
        let auth = self.ensure_auth().await?;
        Ok(match auth {
            Auth::Basic => rb.basic_auth(&self.ep.username, Some(self.ep.password.expose())),
            Auth::Session { token, .. } => rb.header("X-Auth-Token", token),
        })
    }

    async fn ensure_auth(&self) -> Result<Auth> {
        let mut g = self.auth.lock().await;
        if let Some(a) = g.as_ref() {
            return Ok(a.clone());
        }
        let use_sessions = match &self.forced_profile {
            Some(p) => p.sessions.use_sessions,
            None => true,
        };
        let a = if use_sessions {
            self.login().await?
        } else {
            Auth::Basic
        };
        *g = Some(a.clone());
        Ok(a)
    }

    /// Creates a session; falls back to basic authentication where the service has none.
    async fn login(&self) -> Result<Auth> {
        let url = self.url("/redfish/v1/SessionService/Sessions")?;
        let body = json!({"UserName": self.ep.username, "Password": self.ep.password.expose()});
        let resp = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(BmcError::Unauthorized {
                endpoint: self.base.clone(),
            });
        }
        if status.is_server_error() {
            let text = resp.text().await.unwrap_or_default();
            return Err(BmcError::Server {
                endpoint: self.base.clone(),
                status: status.as_u16(),
                what: "session login".into(),
                message: text.chars().take(200).collect(),
            });
        }
        if status.is_success() {
            if let Some(tok) = resp
                .headers()
                .get("X-Auth-Token")
                .and_then(|v| v.to_str().ok())
            {
                let location = resp
                    .headers()
                    .get("Location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                return Ok(Auth::Session {
                    token: tok.to_string(),
                    location,
                });
            }
        }
        tracing::debug!(endpoint = %self.base, %status, "no Redfish session; using basic authentication");
        Ok(Auth::Basic)
    }

    /// Ends the Redfish session, if one was created.
    pub async fn logout(&self) {
        let a = self.auth.lock().await.take();
        if let Some(Auth::Session {
            token,
            location: Some(loc),
        }) = a
        {
            let Ok(url) = self.url(&loc) else {
                tracing::warn!(endpoint = %self.base, location = %loc, "session Location leaves the BMC's origin; not deleting it there");
                return;
            };
            let _ = self
                .http
                .delete(url)
                .header("X-Auth-Token", token)
                .send()
                .await;
        }
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Reply> {
        let what = format!("{method} {path}");
        let mut relogged = false;
        loop {
            let mut rb = self
                .http
                .request(method.clone(), self.url(path)?)
                .header("Accept", "application/json");
            if let Some(b) = body {
                rb = rb.json(b);
            }
            if let Some(t) = if_match {
                rb = rb.header("If-Match", t);
            }
            let rb = self.auth_header(rb).await?;
            let resp = rb.send().await.map_err(|e| self.map_send_error(e))?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED {
                let had_session = matches!(*self.auth.lock().await, Some(Auth::Session { .. }));
                if had_session && !relogged {
                    // The session may have expired: log in again once.
                    *self.auth.lock().await = None;
                    relogged = true;
                    continue;
                }
                return Err(BmcError::Unauthorized {
                    endpoint: self.base.clone(),
                });
            }
            let h = resp.headers();
            let etag = h
                .get("ETag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let location = h
                .get("Location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let retry_after = h
                .get("Retry-After")
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.parse().ok());
            let bytes = resp.bytes().await.map_err(|e| self.map_send_error(e))?;
            let parsed: std::result::Result<Value, _> =
                if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                    Ok(Value::Null)
                } else {
                    serde_json::from_slice(&bytes)
                };
            if status.is_server_error() {
                let message = match &parsed {
                    Ok(v) => error_message(v),
                    Err(_) => String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                };
                return Err(BmcError::Server {
                    endpoint: self.base.clone(),
                    status: status.as_u16(),
                    what,
                    message,
                });
            }
            let body = match parsed {
                Ok(v) => v,
                Err(e) => {
                    return Err(BmcError::Malformed {
                        endpoint: self.base.clone(),
                        what,
                        detail: format!("body is not JSON ({e}); HTTP {status}"),
                    })
                }
            };
            if status == StatusCode::FORBIDDEN {
                return Err(BmcError::Forbidden {
                    endpoint: self.base.clone(),
                    what,
                });
            }
            if status == StatusCode::NOT_FOUND {
                return Err(BmcError::NotFound {
                    endpoint: self.base.clone(),
                    what: path.to_string(),
                });
            }
            if status.is_client_error() || !(status.is_success() || status.is_redirection()) {
                return Err(BmcError::Rejected {
                    endpoint: self.base.clone(),
                    status: status.as_u16(),
                    what,
                    message: error_message(&body),
                });
            }
            let etag = etag.or_else(|| str_of(&body, "@odata.etag"));
            return Ok(Reply {
                status,
                etag,
                location,
                retry_after,
                body,
            });
        }
    }

    /// GET with retries and backoff (idempotent).
    async fn get_full(&self, path: &str) -> Result<Reply> {
        let mut attempt = 0;
        loop {
            match self.send_once(Method::GET, path, None, None).await {
                Err(e) if e.is_transient() && attempt < self.ep.retries => {
                    attempt += 1;
                    let backoff = Duration::from_millis(200 * (1 << attempt.min(5)));
                    tracing::debug!(endpoint = %self.base, path, attempt, error = %e, "retrying GET");
                    tokio::time::sleep(backoff).await;
                }
                r => return r,
            }
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value> {
        Ok(self.get_full(path).await?.body)
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Reply> {
        self.send_once(Method::POST, path, Some(body), None).await
    }

    /// PATCH with `If-Match` when the resource's ETag can be read; without it where it cannot
    /// (some settings objects take PATCH but answer GET with 405). On `412 Precondition
    /// Failed`, reads a fresh ETag and tries once more.
    async fn patch(&self, path: &str, body: &Value) -> Result<Reply> {
        let etag = self.etag_of(path).await?;
        match self
            .send_once(Method::PATCH, path, Some(body), etag.as_deref())
            .await
        {
            Err(BmcError::Rejected { status: 412, .. }) => {
                let etag = self.etag_of(path).await?;
                self.send_once(Method::PATCH, path, Some(body), etag.as_deref())
                    .await
            }
            r => r,
        }
    }

    /// The resource's ETag, `None` where it gives none or cannot be read (only a refused login
    /// is an error).
    async fn etag_of(&self, path: &str) -> Result<Option<String>> {
        match self.get_full(path).await {
            Ok(r) => Ok(r.etag),
            Err(e @ BmcError::Unauthorized { .. }) => Err(e),
            Err(e) => {
                tracing::debug!(endpoint = %self.base, path, error = %e, "no ETag to send; PATCH without If-Match");
                Ok(None)
            }
        }
    }

    async fn discover(&self) -> Result<Discovered> {
        if let Some(d) = self.disc.lock().await.as_ref() {
            return Ok(d.clone());
        }
        // The service root needs no authentication.
        let resp = self
            .http
            .get(self.url("/redfish/v1/")?)
            .send()
            .await
            .map_err(|e| self.map_send_error(e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.map_send_error(e))?;
        if status.is_server_error() {
            return Err(BmcError::Server {
                endpoint: self.base.clone(),
                status: status.as_u16(),
                what: "GET /redfish/v1/".into(),
                message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            });
        }
        let root: Value = serde_json::from_slice(&bytes).map_err(|e| BmcError::Malformed {
            endpoint: self.base.clone(),
            what: "GET /redfish/v1/".into(),
            detail: format!("service root is not JSON ({e}); HTTP {status}"),
        })?;
        let profile = self
            .forced_profile
            .clone()
            .unwrap_or_else(|| VendorProfile::detect(&root));
        if !profile.sessions.use_sessions {
            *self.auth.lock().await = Some(Auth::Basic);
        }
        let sys_coll = odata_id(root.get("Systems").unwrap_or(&Value::Null))
            .unwrap_or("/redfish/v1/Systems".into());
        let all = members(&self.get(&sys_coll).await?);
        let is_host = |path: &String| {
            let id = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            !profile
                .systems
                .not_host
                .iter()
                .any(|p| crate::inventory::id_matches(p, id))
        };
        let system = all
            .iter()
            .find(|p| is_host(p))
            .or(all.first())
            .cloned()
            .ok_or_else(|| BmcError::NotFound {
                endpoint: self.base.clone(),
                what: "a computer system in /redfish/v1/Systems".into(),
            })?;
        let manager = match root.get("Managers").and_then(odata_id) {
            Some(p) => self
                .get(&p)
                .await
                .ok()
                .and_then(|v| members(&v).into_iter().next()),
            None => None,
        };
        let chassis = match root.get("Chassis").and_then(odata_id) {
            Some(p) => self
                .get(&p)
                .await
                .ok()
                .and_then(|v| members(&v).into_iter().next()),
            None => None,
        };
        let d = Discovered {
            profile,
            system,
            manager,
            chassis,
            root,
        };
        *self.disc.lock().await = Some(d.clone());
        Ok(d)
    }

    /// The server's full hardware inventory: system identity, CPUs, memory, GPUs, NICs, disks,
    /// firmware versions and BIOS attributes (see [`crate::inventory`]). Fails only when the
    /// service root or the host system cannot be read; what else cannot be read is listed in
    /// `warnings`.
    pub async fn inventory(&self) -> Result<crate::inventory::Inventory> {
        crate::inventory::read(self).await
    }

    /// For the inventory read: the vendor profile's name, the host system's path and the
    /// service root.
    pub(crate) async fn inventory_start(&self) -> Result<(String, String, Value)> {
        let d = self.discover().await?;
        Ok((d.profile.name, d.system, d.root))
    }

    /// For the inventory read: one GET under the endpoint's timeout, with its retries.
    pub(crate) async fn inventory_get(&self, path: &str) -> Result<Value> {
        self.get(path).await
    }

    /// For the inventory read's log line.
    pub(crate) fn inventory_endpoint(&self) -> &str {
        &self.base
    }

    /// The vendor profile in use (detected from the service root).
    pub async fn profile(&self) -> Result<VendorProfile> {
        Ok(self.discover().await?.profile)
    }

    /// The computer system's URI.
    pub async fn system_path(&self) -> Result<String> {
        Ok(self.discover().await?.system)
    }

    async fn system(&self) -> Result<(Discovered, Value)> {
        let d = self.discover().await?;
        let v = self.get(&d.system).await?;
        Ok((d, v))
    }

    async fn bios_paths(&self) -> Result<(String, String)> {
        let (d, sys) = self.system().await?;
        let bios = sys
            .get("Bios")
            .and_then(odata_id)
            .unwrap_or(format!("{}/Bios", d.system));
        let b = self.get(&bios).await?;
        // The settings object the BMC advertises, else the one the vendor data names: never a
        // guess.
        let advertised = b
            .get("@Redfish.Settings")
            .and_then(|s| s.get("SettingsObject"))
            .and_then(odata_id);
        let settings = match advertised {
            Some(s) => s,
            None if !d.profile.bios.settings_suffix.is_empty() => {
                format!("{bios}/{}", d.profile.bios.settings_suffix)
            }
            None => {
                return Err(BmcError::Unsupported {
                    endpoint: self.base.clone(),
                    driver: "redfish",
                    what: format!(
                        "BIOS changes: {bios} advertises no @Redfish.Settings object and the \
                         vendor profile '{}' names none ([bios] settings_suffix in vendors/*.toml)",
                        d.profile.name
                    ),
                })
            }
        };
        Ok((bios, settings))
    }

    async fn wait_task(
        &self,
        monitor: &str,
        deadline: Duration,
        progress: ProgressFn<'_>,
        what: &str,
    ) -> Result<()> {
        let start = tokio::time::Instant::now();
        loop {
            let r = self.get_full(monitor).await;
            let r = match r {
                // Some services drop the monitor once the task completes.
                Err(BmcError::NotFound { .. }) if start.elapsed() > Duration::ZERO => return Ok(()),
                r => r?,
            };
            let state = str_of(&r.body, "TaskState").unwrap_or_else(|| {
                if r.status == StatusCode::ACCEPTED {
                    "Running".into()
                } else {
                    "Completed".into()
                }
            });
            let percent = r
                .body
                .get("PercentComplete")
                .and_then(|p| p.as_u64())
                .map(|p| p.min(100) as u8);
            let message = r
                .body
                .get("Messages")
                .and_then(|m| m.as_array())
                .and_then(|a| a.last())
                .and_then(|m| str_of(m, "Message"));
            progress(TaskProgress {
                percent,
                state: state.clone(),
                message: message.clone(),
            });
            match state.as_str() {
                "Completed" => return Ok(()),
                "Exception" | "Killed" | "Cancelled" | "Interrupted" => {
                    return Err(BmcError::Task {
                        endpoint: self.base.clone(),
                        what: what.to_string(),
                        detail: format!("task ended {state}: {}", message.unwrap_or_default()),
                    })
                }
                _ => {}
            }
            if start.elapsed() >= deadline {
                return Err(BmcError::Timeout {
                    endpoint: self.base.clone(),
                    after: deadline,
                });
            }
            let wait = Duration::from_secs(r.retry_after.unwrap_or(1).clamp(1, 10))
                .min(Duration::from_millis(500));
            tokio::time::sleep(wait).await;
        }
    }

    async fn media_collection(&self) -> Result<Vec<String>> {
        let (d, sys) = self.system().await?;
        let sys_vm = sys.get("VirtualMedia").and_then(odata_id);
        let mgr_vm = match &d.manager {
            Some(m) => self
                .get(m)
                .await
                .ok()
                .and_then(|v| v.get("VirtualMedia").and_then(odata_id)),
            None => None,
        };
        let order = if d.profile.virtual_media.prefer == "manager" {
            [mgr_vm, sys_vm]
        } else {
            [sys_vm, mgr_vm]
        };
        for c in order.into_iter().flatten() {
            if let Ok(v) = self.get(&c).await {
                let m = members(&v);
                if !m.is_empty() {
                    let mut sorted = vec![];
                    for id in &d.profile.virtual_media.cd_ids {
                        sorted.extend(
                            m.iter()
                                .filter(|p| p.rsplit('/').next() == Some(id))
                                .cloned(),
                        );
                    }
                    for p in &m {
                        if !sorted.contains(p) {
                            sorted.push(p.clone());
                        }
                    }
                    return Ok(sorted);
                }
            }
        }
        Err(BmcError::NotFound {
            endpoint: self.base.clone(),
            what: "a VirtualMedia collection".into(),
        })
    }

    async fn cd_media(&self) -> Result<(String, Value)> {
        let all = self.media_collection().await?;
        let mut first = None;
        for p in all {
            let v = self.get(&p).await?;
            let types: Vec<String> = v
                .get("MediaTypes")
                .and_then(|m| m.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if types.is_empty() || types.iter().any(|t| t == "CD" || t == "DVD") {
                return Ok((p, v));
            }
            first.get_or_insert((p, v));
        }
        first.ok_or_else(|| BmcError::NotFound {
            endpoint: self.base.clone(),
            what: "a CD virtual media slot".into(),
        })
    }

    async fn sel_service(&self) -> Result<String> {
        let (d, sys) = self.system().await?;
        let mut colls = vec![];
        if let Some(c) = sys.get("LogServices").and_then(odata_id) {
            colls.push(c);
        }
        if let Some(m) = &d.manager {
            if let Ok(v) = self.get(m).await {
                if let Some(c) = v.get("LogServices").and_then(odata_id) {
                    colls.push(c);
                }
            }
        }
        let mut fallback = None;
        for c in colls {
            let Ok(v) = self.get(&c).await else { continue };
            for m in members(&v) {
                let id = m.rsplit('/').next().unwrap_or("").to_lowercase();
                if id == "sel" || id.contains("sel") {
                    return Ok(m);
                }
                fallback.get_or_insert(m);
            }
        }
        fallback.ok_or_else(|| BmcError::NotFound {
            endpoint: self.base.clone(),
            what: "a SEL log service".into(),
        })
    }
}

/// The `ResetType` for a BMC restart: a graceful restart where offered, else a forced one; with
/// no list of allowed values, the graceful one (the schema's usual default).
fn reset_type_for_bmc(allowed: &[String]) -> Option<&'static str> {
    if allowed.is_empty() {
        return Some("GracefulRestart");
    }
    ["GracefulRestart", "ForceRestart", "PowerCycle"]
        .into_iter()
        .find(|t| allowed.iter().any(|a| a == t))
}

fn power_state_of(s: Option<&str>) -> PowerState {
    match s {
        Some("On") => PowerState::On,
        Some("Off") => PowerState::Off,
        Some("PoweringOn") => PowerState::PoweringOn,
        Some("PoweringOff") => PowerState::PoweringOff,
        _ => PowerState::Unknown,
    }
}

fn attributes(v: &Value) -> BTreeMap<String, Value> {
    v.get("Attributes")
        .and_then(|a| a.as_object())
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl OutOfBand for RedfishClient {
    fn driver(&self) -> &'static str {
        "redfish"
    }
    fn endpoint(&self) -> &str {
        &self.base
    }

    async fn power_state(&self) -> Result<PowerState> {
        let (_, sys) = self.system().await?;
        Ok(power_state_of(
            sys.get("PowerState").and_then(|p| p.as_str()),
        ))
    }

    async fn power(&self, action: PowerAction) -> Result<()> {
        let (d, sys) = self.system().await?;
        // Already where the action leads: nothing to send (some BMCs refuse On while on).
        let now = power_state_of(sys.get("PowerState").and_then(|p| p.as_str()));
        let already = match action {
            PowerAction::On => now == PowerState::On,
            PowerAction::Off | PowerAction::GracefulShutdown => now == PowerState::Off,
            _ => false,
        };
        if already {
            tracing::debug!(endpoint = %self.base, ?action, "power already in the requested state");
            return Ok(());
        }
        let reset = sys
            .get("Actions")
            .and_then(|a| a.get("#ComputerSystem.Reset"));
        let target = reset
            .and_then(|r| str_of(r, "target"))
            .unwrap_or(format!("{}/Actions/ComputerSystem.Reset", d.system));
        let allowed: Vec<String> = reset
            .and_then(|r| r.get("ResetType@Redfish.AllowableValues"))
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let rt = d
            .profile
            .reset_type(action, &allowed)
            .ok_or_else(|| BmcError::Unsupported {
                endpoint: self.base.clone(),
                driver: "redfish",
                what: format!("power {action:?} (BMC allows {allowed:?})"),
            })?;
        self.post(&target, &json!({"ResetType": rt})).await?;
        Ok(())
    }

    async fn set_boot(&self, boot: BootOverride) -> Result<()> {
        let d = self.discover().await?;
        let body = json!({"Boot": {
            "BootSourceOverrideTarget": d.profile.boot_target(boot.device),
            "BootSourceOverrideEnabled": if boot.device == crate::BootDevice::None { "Disabled" }
                else if boot.persistent { "Continuous" } else { "Once" },
        }});
        self.patch(&d.system, &body).await?;
        Ok(())
    }

    async fn boot(&self) -> Result<BootOverride> {
        let (d, sys) = self.system().await?;
        let b = sys.get("Boot").cloned().unwrap_or(Value::Null);
        let enabled = str_of(&b, "BootSourceOverrideEnabled").unwrap_or_default();
        let target = str_of(&b, "BootSourceOverrideTarget").unwrap_or_default();
        let device = if enabled == "Disabled" {
            crate::BootDevice::None
        } else {
            d.profile.boot_device(&target)
        };
        Ok(BootOverride {
            device,
            persistent: enabled == "Continuous",
        })
    }

    async fn sel(&self) -> Result<Vec<SelEntry>> {
        let svc = self.sel_service().await?;
        let s = self.get(&svc).await?;
        let entries = s
            .get("Entries")
            .and_then(odata_id)
            .unwrap_or(format!("{svc}/Entries"));
        let coll = self.get(&entries).await?;
        let mut out = vec![];
        for m in coll
            .get("Members")
            .and_then(|m| m.as_array())
            .cloned()
            .unwrap_or_default()
        {
            let e = if m.get("Message").is_some() {
                m
            } else if let Some(p) = odata_id(&m) {
                self.get(&p).await?
            } else {
                continue;
            };
            out.push(SelEntry {
                id: str_of(&e, "Id").unwrap_or_default(),
                created: str_of(&e, "Created"),
                severity: str_of(&e, "Severity"),
                message: str_of(&e, "Message").unwrap_or_default(),
            });
        }
        Ok(out)
    }

    async fn clear_sel(&self) -> Result<()> {
        let svc = self.sel_service().await?;
        let s = self.get(&svc).await?;
        let target = s
            .get("Actions")
            .and_then(|a| a.get("#LogService.ClearLog"))
            .and_then(|c| str_of(c, "target"))
            .unwrap_or(format!("{svc}/Actions/LogService.ClearLog"));
        self.post(&target, &json!({})).await?;
        Ok(())
    }

    async fn reset_bmc(&self) -> Result<()> {
        let (d, sys) = self.system().await?;
        // The manager of this system (Links.ManagedBy), else the service's first manager.
        let mgr = sys
            .get("Links")
            .and_then(|l| l.get("ManagedBy"))
            .and_then(|m| m.as_array())
            .and_then(|a| a.first())
            .and_then(odata_id)
            .or(d.manager.clone())
            .ok_or_else(|| BmcError::NotFound {
                endpoint: self.base.clone(),
                what: "a manager (the BMC) in /redfish/v1/Managers".into(),
            })?;
        let m = self.get(&mgr).await?;
        let action = m
            .get("Actions")
            .and_then(|a| a.get("#Manager.Reset"))
            .ok_or_else(|| BmcError::Unsupported {
                endpoint: self.base.clone(),
                driver: "redfish",
                what: format!("BMC reset ({mgr} offers no #Manager.Reset action)"),
            })?;
        let target = str_of(action, "target").unwrap_or(format!("{mgr}/Actions/Manager.Reset"));
        let allowed: Vec<String> = action
            .get("ResetType@Redfish.AllowableValues")
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let rt = reset_type_for_bmc(&allowed).ok_or_else(|| BmcError::Unsupported {
            endpoint: self.base.clone(),
            driver: "redfish",
            what: format!("BMC reset (the manager allows only {allowed:?})"),
        })?;
        self.post(&target, &json!({"ResetType": rt})).await?;
        // The BMC forgets its sessions when it restarts: the next request logs in again.
        self.auth.lock().await.take();
        Ok(())
    }

    async fn sensors(&self) -> Result<Vec<Sensor>> {
        let d = self.discover().await?;
        let chassis = d.chassis.clone().ok_or_else(|| BmcError::NotFound {
            endpoint: self.base.clone(),
            what: "a chassis in /redfish/v1/Chassis".into(),
        })?;
        let c = self.get(&chassis).await?;
        let mut out = vec![];
        let array = |v: &Value, k: &str| -> Vec<Value> {
            v.get(k)
                .and_then(|a| a.as_array())
                .cloned()
                .unwrap_or_default()
        };
        if let Some(t) = c.get("Thermal").and_then(odata_id) {
            let t = self.get(&t).await?;
            for x in array(&t, "Temperatures") {
                out.push(Sensor {
                    name: str_of(&x, "Name").unwrap_or_default(),
                    kind: "temperature".into(),
                    reading: x.get("ReadingCelsius").and_then(|r| r.as_f64()),
                    units: Some("Cel".into()),
                    upper_caution: x.get("UpperThresholdNonCritical").and_then(|r| r.as_f64()),
                    upper_critical: x.get("UpperThresholdCritical").and_then(|r| r.as_f64()),
                    ..status_of(&x)
                });
            }
            for x in array(&t, "Fans") {
                out.push(Sensor {
                    name: str_of(&x, "Name")
                        .or_else(|| str_of(&x, "FanName"))
                        .unwrap_or_default(),
                    kind: "fan".into(),
                    reading: x.get("Reading").and_then(|r| r.as_f64()),
                    units: str_of(&x, "ReadingUnits"),
                    ..status_of(&x)
                });
            }
        }
        if let Some(p) = c.get("Power").and_then(odata_id) {
            if let Ok(p) = self.get(&p).await {
                for x in array(&p, "Voltages") {
                    out.push(Sensor {
                        name: str_of(&x, "Name").unwrap_or_default(),
                        kind: "voltage".into(),
                        reading: x.get("ReadingVolts").and_then(|r| r.as_f64()),
                        units: Some("V".into()),
                        ..status_of(&x)
                    });
                }
                for (i, x) in array(&p, "PowerSupplies").into_iter().enumerate() {
                    out.push(Sensor {
                        name: str_of(&x, "Name").unwrap_or_else(|| format!("PSU{}", i + 1)),
                        kind: "power_supply".into(),
                        reading: x
                            .get("PowerOutputWatts")
                            .or_else(|| x.get("LastPowerOutputWatts"))
                            .and_then(|r| r.as_f64()),
                        units: Some("W".into()),
                        ..status_of(&x)
                    });
                }
                for x in array(&p, "PowerControl") {
                    out.push(Sensor {
                        name: str_of(&x, "Name").unwrap_or_else(|| "Power".into()),
                        kind: "power".into(),
                        reading: x.get("PowerConsumedWatts").and_then(|r| r.as_f64()),
                        units: Some("W".into()),
                        ..status_of(&x)
                    });
                }
            }
        }
        if out.is_empty() {
            if let Some(s) = c.get("Sensors").and_then(odata_id) {
                for m in members(&self.get(&s).await?) {
                    let x = self.get(&m).await?;
                    let threshold = |k: &str| {
                        x.get("Thresholds")
                            .and_then(|t| t.get(k))
                            .and_then(|t| t.get("Reading"))
                            .and_then(|r| r.as_f64())
                    };
                    out.push(Sensor {
                        name: str_of(&x, "Name").unwrap_or_default(),
                        kind: str_of(&x, "ReadingType")
                            .unwrap_or_else(|| "sensor".into())
                            .to_lowercase(),
                        reading: x.get("Reading").and_then(|r| r.as_f64()),
                        units: str_of(&x, "ReadingUnits"),
                        upper_caution: threshold("UpperCaution"),
                        upper_critical: threshold("UpperCritical"),
                        ..status_of(&x)
                    });
                }
            }
        }
        Ok(out)
    }

    async fn bios(&self) -> Result<BiosSettings> {
        let (bios, settings) = self.bios_paths().await?;
        let current = attributes(&self.get(&bios).await?);
        let pending = match self.get(&settings).await {
            Ok(v) => attributes(&v)
                .into_iter()
                .filter(|(k, v)| current.get(k) != Some(v))
                .collect(),
            // Absent, or write-only (405 on GET): nothing pending that can be seen.
            Err(BmcError::NotFound { .. }) | Err(BmcError::Rejected { status: 405, .. }) => {
                BTreeMap::new()
            }
            Err(e) => return Err(e),
        };
        Ok(BiosSettings { current, pending })
    }

    async fn set_bios(&self, attrs: &BTreeMap<String, Value>) -> Result<()> {
        if attrs.is_empty() {
            return Err(BmcError::Invalid("no BIOS attributes to set".into()));
        }
        let (_, settings) = self.bios_paths().await?;
        self.patch(&settings, &json!({"Attributes": attrs})).await?;
        Ok(())
    }

    async fn storage(&self) -> Result<Vec<StorageController>> {
        let (d, sys) = self.system().await?;
        let coll = sys
            .get("Storage")
            .and_then(odata_id)
            .unwrap_or(format!("{}/Storage", d.system));
        let mut out = vec![];
        for s in members(&self.get(&coll).await?) {
            let st = self.get(&s).await?;
            let ctrl = st
                .get("StorageControllers")
                .and_then(|a| a.as_array())
                .and_then(|a| a.first())
                .cloned()
                .unwrap_or(Value::Null);
            let mut drives = vec![];
            for dp in st
                .get("Drives")
                .and_then(|a| a.as_array())
                .cloned()
                .unwrap_or_default()
            {
                let Some(p) = odata_id(&dp) else { continue };
                let dv = self.get(&p).await?;
                drives.push(Drive {
                    id: str_of(&dv, "Id")
                        .unwrap_or_else(|| p.rsplit('/').next().unwrap_or("").to_string()),
                    name: str_of(&dv, "Name"),
                    capacity_bytes: dv.get("CapacityBytes").and_then(|c| c.as_u64()),
                    media_type: str_of(&dv, "MediaType"),
                    serial: str_of(&dv, "SerialNumber"),
                });
            }
            let mut volumes = vec![];
            if let Some(vc) = st.get("Volumes").and_then(odata_id) {
                if let Ok(vcv) = self.get(&vc).await {
                    for vp in members(&vcv) {
                        volumes.push(volume_of(&self.get(&vp).await?, &vp));
                    }
                }
            }
            out.push(StorageController {
                id: str_of(&st, "Id")
                    .unwrap_or_else(|| s.rsplit('/').next().unwrap_or("").to_string()),
                name: str_of(&ctrl, "Name")
                    .or_else(|| str_of(&st, "Name"))
                    .unwrap_or_default(),
                model: str_of(&ctrl, "Model"),
                firmware_version: str_of(&ctrl, "FirmwareVersion"),
                raid_types: ctrl
                    .get("SupportedRAIDTypes")
                    .and_then(|a| a.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                drives,
                volumes,
            });
        }
        Ok(out)
    }

    async fn create_volume(&self, spec: &VolumeSpec) -> Result<Volume> {
        if spec.drives.is_empty() {
            return Err(BmcError::Invalid(
                "a volume needs at least one drive".into(),
            ));
        }
        let (d, sys) = self.system().await?;
        let coll = sys
            .get("Storage")
            .and_then(odata_id)
            .unwrap_or(format!("{}/Storage", d.system));
        let storage = format!("{coll}/{}", spec.controller);
        let st = self.get(&storage).await?;
        let vols = st
            .get("Volumes")
            .and_then(odata_id)
            .unwrap_or(format!("{storage}/Volumes"));
        let drives: Vec<Value> = spec
            .drives
            .iter()
            .map(|x| json!({"@odata.id": format!("{storage}/Drives/{x}")}))
            .collect();
        let body =
            json!({"Name": spec.name, "RAIDType": spec.raid_type, "Links": {"Drives": drives}});
        let r = self.post(&vols, &body).await?;
        if let Some(loc) = r.location {
            let path = loc.strip_prefix(&self.base).unwrap_or(&loc).to_string();
            if let Ok(v) = self.get(&path).await {
                return Ok(volume_of(&v, &path));
            }
        }
        Ok(volume_of(&r.body, &vols))
    }

    async fn delete_volume(&self, controller: &str, volume: &str) -> Result<()> {
        let (d, sys) = self.system().await?;
        let coll = sys
            .get("Storage")
            .and_then(odata_id)
            .unwrap_or(format!("{}/Storage", d.system));
        self.send_once(
            Method::DELETE,
            &format!("{coll}/{controller}/Volumes/{volume}"),
            None,
            None,
        )
        .await?;
        Ok(())
    }

    async fn firmware(&self) -> Result<Vec<FirmwareItem>> {
        let d = self.discover().await?;
        let us = d
            .root
            .get("UpdateService")
            .and_then(odata_id)
            .unwrap_or("/redfish/v1/UpdateService".into());
        let u = self.get(&us).await?;
        let inv = u
            .get("FirmwareInventory")
            .and_then(odata_id)
            .unwrap_or(format!("{us}/FirmwareInventory"));
        let mut out = vec![];
        for m in members(&self.get(&inv).await?) {
            let f = self.get(&m).await?;
            out.push(FirmwareItem {
                id: str_of(&f, "Id")
                    .unwrap_or_else(|| m.rsplit('/').next().unwrap_or("").to_string()),
                name: str_of(&f, "Name"),
                version: str_of(&f, "Version").unwrap_or_default(),
                updateable: f
                    .get("Updateable")
                    .and_then(|u| u.as_bool())
                    .unwrap_or(false),
            });
        }
        Ok(out)
    }

    async fn update_firmware(
        &self,
        source: FirmwareSource,
        targets: &[String],
        deadline: Duration,
        progress: ProgressFn<'_>,
    ) -> Result<()> {
        let d = self.discover().await?;
        let us = d
            .root
            .get("UpdateService")
            .and_then(odata_id)
            .unwrap_or("/redfish/v1/UpdateService".into());
        let u = self.get(&us).await?;
        let inv = u
            .get("FirmwareInventory")
            .and_then(odata_id)
            .unwrap_or(format!("{us}/FirmwareInventory"));
        let target_uris: Vec<String> = targets.iter().map(|t| format!("{inv}/{t}")).collect();
        let what = format!(
            "firmware update of {}",
            if targets.is_empty() {
                "default target".into()
            } else {
                targets.join(", ")
            }
        );
        let reply = match source {
            FirmwareSource::Url(url) => {
                let target = u
                    .get("Actions")
                    .and_then(|a| a.get("#UpdateService.SimpleUpdate"))
                    .and_then(|s| str_of(s, "target"))
                    .unwrap_or(format!("{us}/Actions/UpdateService.SimpleUpdate"));
                let proto = if url.starts_with("https://") {
                    "HTTPS"
                } else {
                    "HTTP"
                };
                let mut body = json!({"ImageURI": url, "TransferProtocol": proto});
                if !target_uris.is_empty() {
                    body["Targets"] = json!(target_uris);
                }
                self.post(&target, &body).await?
            }
            FirmwareSource::Upload { filename, bytes } => {
                let push =
                    str_of(&u, "MultipartHttpPushUri").ok_or_else(|| BmcError::Unsupported {
                        endpoint: self.base.clone(),
                        driver: "redfish",
                        what: "firmware upload (no MultipartHttpPushUri)".into(),
                    })?;
                let params =
                    json!({"Targets": target_uris, "@Redfish.OperationApplyTime": "Immediate"});
                let form = reqwest::multipart::Form::new()
                    .part(
                        "UpdateParameters",
                        reqwest::multipart::Part::text(params.to_string())
                            .mime_str("application/json")
                            .map_err(|e| BmcError::Invalid(e.to_string()))?,
                    )
                    .part(
                        "UpdateFile",
                        reqwest::multipart::Part::bytes(bytes)
                            .file_name(filename)
                            .mime_str("application/octet-stream")
                            .map_err(|e| BmcError::Invalid(e.to_string()))?,
                    );
                let rb = self
                    .auth_header(self.http.post(self.url(&push)?).multipart(form))
                    .await?;
                let resp = rb.send().await.map_err(|e| self.map_send_error(e))?;
                let status = resp.status();
                let location = resp
                    .headers()
                    .get("Location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                if status == StatusCode::UNAUTHORIZED {
                    return Err(BmcError::Unauthorized {
                        endpoint: self.base.clone(),
                    });
                }
                if !status.is_success() {
                    return Err(BmcError::Rejected {
                        endpoint: self.base.clone(),
                        status: status.as_u16(),
                        what: "firmware upload".into(),
                        message: error_message(&body),
                    });
                }
                Reply {
                    status,
                    etag: None,
                    location,
                    retry_after: None,
                    body,
                }
            }
        };
        let monitor = reply
            .location
            .clone()
            .or_else(|| str_of(&reply.body, "TaskMonitor"))
            .or_else(|| odata_id(&reply.body).filter(|p| p.contains("/Task")));
        match monitor {
            Some(m) => {
                let path = m.strip_prefix(&self.base).unwrap_or(&m).to_string();
                self.wait_task(&path, deadline, progress, &what).await
            }
            None => {
                progress(TaskProgress {
                    percent: Some(100),
                    state: "Completed".into(),
                    message: None,
                });
                Ok(())
            }
        }
    }

    async fn insert_media(&self, image: &str) -> Result<()> {
        let (p, v) = self.cd_media().await?;
        if let Some(t) = v
            .get("Actions")
            .and_then(|a| a.get("#VirtualMedia.InsertMedia"))
            .and_then(|x| str_of(x, "target"))
        {
            self.post(
                &t,
                &json!({"Image": image, "Inserted": true, "WriteProtected": true}),
            )
            .await?;
        } else {
            self.patch(&p, &json!({"Image": image, "Inserted": true}))
                .await?;
        }
        Ok(())
    }

    async fn eject_media(&self) -> Result<()> {
        let (p, v) = self.cd_media().await?;
        if let Some(t) = v
            .get("Actions")
            .and_then(|a| a.get("#VirtualMedia.EjectMedia"))
            .and_then(|x| str_of(x, "target"))
        {
            self.post(&t, &json!({})).await?;
        } else {
            self.patch(&p, &json!({"Image": null, "Inserted": false}))
                .await?;
        }
        Ok(())
    }

    async fn media(&self) -> Result<Vec<VirtualMediaStatus>> {
        let mut out = vec![];
        for p in self.media_collection().await? {
            let v = self.get(&p).await?;
            out.push(VirtualMediaStatus {
                id: str_of(&v, "Id")
                    .unwrap_or_else(|| p.rsplit('/').next().unwrap_or("").to_string()),
                inserted: v.get("Inserted").and_then(|i| i.as_bool()).unwrap_or(false),
                image: str_of(&v, "Image"),
            });
        }
        Ok(out)
    }
}

fn volume_of(v: &Value, path: &str) -> Volume {
    Volume {
        id: str_of(v, "Id").unwrap_or_else(|| path.rsplit('/').next().unwrap_or("").to_string()),
        name: str_of(v, "Name"),
        raid_type: str_of(v, "RAIDType").or_else(|| str_of(v, "VolumeType")),
        capacity_bytes: v.get("CapacityBytes").and_then(|c| c.as_u64()),
        drives: v
            .get("Links")
            .and_then(|l| l.get("Drives"))
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(odata_id)
                    .map(|p| p.rsplit('/').next().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default(),
    }
}
