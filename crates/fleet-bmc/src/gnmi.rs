//! gNMI client for switch ports (OpenConfig interfaces model): port status and admin up/down,
//! and a `Subscribe` stream of port status and error counters ([`GnmiClient::subscribe_ports`]).
//! The protocol code is generated from `proto/gnmi.proto` (a subset written from the gNMI
//! specification) by tonic + protox at build time.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tonic::transport::{Channel, Endpoint as TonicEndpoint};

use crate::{BmcError, Result};

#[allow(clippy::all, missing_docs)]
pub mod proto {
    tonic::include_proto!("gnmi");
}

use proto::g_nmi_client::GNmiClient;
use proto::{typed_value, Encoding, GetRequest, Path, PathElem, SetRequest, TypedValue, Update};

/// A switch port as the OpenConfig interfaces model reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortStatus {
    pub name: String,
    pub admin_up: bool,
    pub oper_status: String,
    pub description: Option<String>,
    pub mtu: Option<u64>,
}

/// What one streamed notification says about one port; `None`: not in this notification.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PortUpdate {
    pub name: String,
    pub admin_up: Option<bool>,
    pub oper_status: Option<String>,
    pub in_errors: Option<u64>,
    pub out_errors: Option<u64>,
}

/// One message of a port subscription.
#[derive(Clone, Debug, PartialEq)]
pub enum PortEvent {
    /// Updates of one notification, one entry per port it names.
    Ports(Vec<PortUpdate>),
    /// Every subscribed path was sent in full once (`sync_response`).
    Synced,
}

/// A gNMI target (a leaf switch).
pub struct GnmiClient {
    addr: String,
    timeout: Duration,
    username: Option<String>,
    password: Option<crate::Secret>,
    channel: Channel,
}

/// Parses `/a/b[k=v]/c` into gNMI path elements.
pub fn parse_path(p: &str) -> Path {
    let mut elem = vec![];
    for part in p.trim_matches('/').split('/').filter(|s| !s.is_empty()) {
        let (name, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        let mut key = HashMap::new();
        for kv in rest.split(['[', ']']).filter(|s| !s.is_empty()) {
            if let Some((k, v)) = kv.split_once('=') {
                key.insert(k.to_string(), v.to_string());
            }
        }
        elem.push(PathElem {
            name: name.to_string(),
            key,
        });
    }
    Path {
        origin: String::new(),
        elem,
        target: String::new(),
    }
}

fn decode(tv: &TypedValue) -> Value {
    match &tv.value {
        Some(typed_value::Value::JsonVal(b)) | Some(typed_value::Value::JsonIetfVal(b)) => {
            serde_json::from_slice(b).unwrap_or(Value::Null)
        }
        Some(typed_value::Value::StringVal(s)) | Some(typed_value::Value::AsciiVal(s)) => {
            Value::String(s.clone())
        }
        Some(typed_value::Value::BoolVal(b)) => Value::Bool(*b),
        Some(typed_value::Value::IntVal(i)) => Value::from(*i),
        Some(typed_value::Value::UintVal(u)) => Value::from(*u),
        Some(typed_value::Value::DoubleVal(d)) => Value::from(*d),
        _ => Value::Null,
    }
}

/// Strips YANG module prefixes (`openconfig-interfaces:config` -> `config`) from object keys.
fn strip_modules(v: Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| {
                    (
                        k.rsplit(':').next().unwrap_or(&k).to_string(),
                        strip_modules(v),
                    )
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_modules).collect()),
        other => other,
    }
}

impl GnmiClient {
    /// Connects lazily to `host:port` (plaintext gRPC); `timeout` bounds every RPC.
    pub fn new(addr: &str, timeout: Duration) -> Result<Self> {
        if addr.starts_with("https://") || addr.starts_with("grpcs://") {
            return Err(BmcError::Invalid(format!(
                "gNMI address {addr:?}: gNMI over TLS is not supported yet; give host:port for plaintext gRPC"
            )));
        }
        let uri = if addr.contains("://") {
            addr.to_string()
        } else {
            format!("http://{addr}")
        };
        let ep = TonicEndpoint::from_shared(uri.clone())
            .map_err(|e| BmcError::Invalid(format!("gNMI address {addr:?}: {e}")))?
            .timeout(timeout)
            .connect_timeout(timeout);
        Ok(GnmiClient {
            addr: addr.to_string(),
            timeout,
            username: None,
            password: None,
            channel: ep.connect_lazy(),
        })
    }

    /// Sends `username` / `password` call metadata, as gNMI targets expect.
    pub fn with_credentials(mut self, user: &str, password: &str) -> Self {
        self.username = Some(user.to_string());
        self.password = Some(crate::Secret::new(password));
        self
    }

    fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.set_timeout(self.timeout);
        if let (Some(u), Some(p)) = (&self.username, &self.password) {
            if let (Ok(u), Ok(p)) = (u.parse(), p.expose().parse()) {
                r.metadata_mut().insert("username", u);
                r.metadata_mut().insert("password", p);
            }
        }
        r
    }

    fn status_err(&self, what: &str, s: tonic::Status) -> BmcError {
        match s.code() {
            tonic::Code::DeadlineExceeded => BmcError::Timeout {
                endpoint: self.addr.clone(),
                after: self.timeout,
            },
            tonic::Code::Unauthenticated => BmcError::Unauthorized {
                endpoint: self.addr.clone(),
            },
            code => BmcError::Gnmi {
                endpoint: self.addr.clone(),
                what: what.to_string(),
                code: format!("{code:?}"),
                message: s.message().to_string(),
            },
        }
    }

    async fn call<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = std::result::Result<T, tonic::Status>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.timeout + Duration::from_millis(200), fut).await {
            Err(_) => Err(BmcError::Timeout {
                endpoint: self.addr.clone(),
                after: self.timeout,
            }),
            Ok(r) => r.map_err(|s| self.status_err(what, s)),
        }
    }

    /// The models and encodings the target supports.
    pub async fn capabilities(&self) -> Result<proto::CapabilityResponse> {
        let mut c = GNmiClient::new(self.channel.clone());
        Ok(self
            .call(
                "Capabilities",
                c.capabilities(self.request(proto::CapabilityRequest {})),
            )
            .await?
            .into_inner())
    }

    /// Get of `path` in JSON_IETF encoding: the values of every update, module prefixes removed.
    pub async fn get(&self, path: &str) -> Result<Vec<(Path, Value)>> {
        let mut c = GNmiClient::new(self.channel.clone());
        let req = GetRequest {
            prefix: None,
            path: vec![parse_path(path)],
            r#type: proto::get_request::DataType::All as i32,
            encoding: Encoding::JsonIetf as i32,
            use_models: vec![],
        };
        let resp = self
            .call("Get", c.get(self.request(req)))
            .await?
            .into_inner();
        Ok(resp
            .notification
            .into_iter()
            .flat_map(|n| n.update)
            .map(|u| {
                (
                    u.path.unwrap_or_default(),
                    strip_modules(u.val.as_ref().map(decode).unwrap_or(Value::Null)),
                )
            })
            .collect())
    }

    /// The status of one port.
    pub async fn port(&self, name: &str) -> Result<PortStatus> {
        let updates = self
            .get(&format!("/interfaces/interface[name={name}]/state"))
            .await?;
        let (_, v) = updates
            .into_iter()
            .next()
            .ok_or_else(|| BmcError::NotFound {
                endpoint: self.addr.clone(),
                what: format!("interface {name}"),
            })?;
        Ok(port_status(name, v))
    }

    /// The status of every port of the target, in the order it reports them.
    pub async fn ports(&self) -> Result<Vec<PortStatus>> {
        let updates = self.get("/interfaces/interface/state").await?;
        let mut out = Vec::with_capacity(updates.len());
        for (path, v) in updates {
            // One update per interface (the key names it), or one update holding the list.
            if let Some(list) = v
                .get("interface")
                .and_then(|l| l.as_array())
                .or_else(|| v.as_array())
            {
                for item in list {
                    if let Some(name) = item.get("name").and_then(|n| n.as_str()) {
                        out.push(port_status(name, item.clone()));
                    }
                }
                continue;
            }
            let name = path
                .elem
                .iter()
                .find(|e| e.name == "interface")
                .and_then(|e| e.key.get("name").cloned())
                .or_else(|| {
                    v.get("name")
                        .or_else(|| v.get("state").and_then(|s| s.get("name")))
                        .and_then(|n| n.as_str())
                        .map(str::to_string)
                })
                .ok_or_else(|| BmcError::Malformed {
                    endpoint: self.addr.clone(),
                    what: "gNMI Get of /interfaces/interface/state".into(),
                    detail: "an interface update names no interface".into(),
                })?;
            out.push(port_status(&name, v));
        }
        Ok(out)
    }

    /// Opens a STREAM subscription to every port: `admin-status` and `oper-status` on change,
    /// the counters sampled every `sample_interval`. The stream has no deadline (only the
    /// connection has); `idle` ends it with a timeout error when nothing, not even a sample,
    /// arrives for that long. Dropping the stream cancels the subscription.
    pub async fn subscribe_ports(
        &self,
        sample_interval: Duration,
        idle: Duration,
    ) -> Result<impl futures::Stream<Item = Result<PortEvent>> + Send + 'static> {
        use futures::StreamExt;
        let sub =
            |path: &str, mode: proto::SubscriptionMode, every: Duration| proto::Subscription {
                path: Some(parse_path(path)),
                mode: mode as i32,
                sample_interval: every.as_nanos() as u64,
                suppress_redundant: false,
                heartbeat_interval: 0,
            };
        let list = proto::SubscriptionList {
            prefix: None,
            subscription: vec![
                sub(
                    "/interfaces/interface/state/admin-status",
                    proto::SubscriptionMode::OnChange,
                    Duration::ZERO,
                ),
                sub(
                    "/interfaces/interface/state/oper-status",
                    proto::SubscriptionMode::OnChange,
                    Duration::ZERO,
                ),
                sub(
                    "/interfaces/interface/state/counters",
                    proto::SubscriptionMode::Sample,
                    sample_interval,
                ),
            ],
            mode: proto::subscription_list::Mode::Stream as i32,
            allow_aggregation: false,
            use_models: vec![],
            encoding: Encoding::JsonIetf as i32,
            updates_only: false,
        };
        let first = proto::SubscribeRequest {
            request: Some(proto::subscribe_request::Request::Subscribe(list)),
        };
        // The request side stays open: a target may end the subscription when it closes.
        let requests =
            futures::stream::once(async move { first }).chain(futures::stream::pending());
        let mut r = tonic::Request::new(requests);
        if let (Some(u), Some(p)) = (&self.username, &self.password) {
            if let (Ok(u), Ok(p)) = (u.parse(), p.expose().parse()) {
                r.metadata_mut().insert("username", u);
                r.metadata_mut().insert("password", p);
            }
        }
        // A channel of its own without the per-request timeout of `self.channel`, which would
        // cut a stream that is meant to last.
        let uri = if self.addr.contains("://") {
            self.addr.clone()
        } else {
            format!("http://{}", self.addr)
        };
        let channel = TonicEndpoint::from_shared(uri)
            .map_err(|e| BmcError::Invalid(format!("gNMI address {:?}: {e}", self.addr)))?
            .connect_timeout(self.timeout)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(self.timeout)
            .connect_lazy();
        let mut c = GNmiClient::new(channel);
        let inbound = self.call("Subscribe", c.subscribe(r)).await?.into_inner();
        let addr = self.addr.clone();
        let me = GnmiClient {
            addr: addr.clone(),
            timeout: idle,
            username: None,
            password: None,
            channel: self.channel.clone(),
        };
        Ok(
            futures::stream::unfold((inbound, me, false), |(mut inbound, me, done)| async move {
                if done {
                    return None;
                }
                let item = match tokio::time::timeout(me.timeout, inbound.message()).await {
                    Err(_) => Err(BmcError::Timeout {
                        endpoint: me.addr.clone(),
                        after: me.timeout,
                    }),
                    Ok(Err(s)) => Err(me.status_err("Subscribe", s)),
                    Ok(Ok(None)) => Err(BmcError::Gnmi {
                        endpoint: me.addr.clone(),
                        what: "Subscribe".into(),
                        code: "Ended".into(),
                        message: "the target ended the subscription".into(),
                    }),
                    Ok(Ok(Some(resp))) => Ok(port_event(resp)),
                };
                let stop = item.is_err();
                Some((item, (inbound, me, stop)))
            })
            .filter_map(|x| async move { x.transpose() }),
        )
    }

    /// Sets a port administratively up or down (`config/enabled`).
    pub async fn set_admin(&self, name: &str, up: bool) -> Result<()> {
        let mut c = GNmiClient::new(self.channel.clone());
        let req = SetRequest {
            prefix: None,
            delete: vec![],
            replace: vec![],
            update: vec![Update {
                path: Some(parse_path(&format!(
                    "/interfaces/interface[name={name}]/config/enabled"
                ))),
                val: Some(TypedValue {
                    value: Some(typed_value::Value::JsonIetfVal(up.to_string().into_bytes())),
                }),
                duplicates: 0,
            }],
        };
        self.call("Set", c.set(self.request(req))).await?;
        Ok(())
    }
}

/// The port updates of one subscription response (`None` for one that names no port).
fn port_event(resp: proto::SubscribeResponse) -> Option<PortEvent> {
    use proto::subscribe_response::Response;
    match resp.response? {
        Response::SyncResponse(_) => Some(PortEvent::Synced),
        Response::Update(n) => {
            let prefix = n.prefix.map(|p| p.elem).unwrap_or_default();
            let mut by_port: std::collections::BTreeMap<String, PortUpdate> = Default::default();
            for u in n.update {
                let elems: Vec<&PathElem> = prefix
                    .iter()
                    .chain(u.path.as_ref().map(|p| p.elem.as_slice()).unwrap_or(&[]))
                    .collect();
                let value = strip_modules(u.val.as_ref().map(decode).unwrap_or(Value::Null));
                let Some(at) = elems
                    .iter()
                    .position(|e| strip_module(&e.name) == "interface")
                else {
                    continue;
                };
                let Some(name) = elems[at].key.get("name") else {
                    continue;
                };
                // The leaf names below the interface, wrapped around the value: one shape
                // whether the target sends leaves or containers.
                let below: Vec<String> = elems[at + 1..]
                    .iter()
                    .map(|e| strip_module(&e.name).to_string())
                    .collect();
                let mut v = value;
                for name in below.iter().rev() {
                    v = serde_json::json!({ name: v });
                }
                let p = by_port.entry(name.clone()).or_insert_with(|| PortUpdate {
                    name: name.clone(),
                    ..Default::default()
                });
                let st = v.get("state").unwrap_or(&v);
                let num = |x: &Value| {
                    x.as_u64()
                        .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
                };
                if let Some(a) = st.get("admin-status").and_then(|x| x.as_str()) {
                    p.admin_up = Some(a.eq_ignore_ascii_case("UP"));
                }
                if let Some(o) = st.get("oper-status").and_then(|x| x.as_str()) {
                    p.oper_status = Some(o.to_ascii_uppercase());
                }
                if let Some(c) = st.get("counters") {
                    if let Some(x) = c.get("in-errors").and_then(num) {
                        p.in_errors = Some(x);
                    }
                    if let Some(x) = c.get("out-errors").and_then(num) {
                        p.out_errors = Some(x);
                    }
                }
            }
            Some(PortEvent::Ports(by_port.into_values().collect()))
        }
    }
}

fn strip_module(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// A port's status from its OpenConfig `state` container (or the interface holding it).
fn port_status(name: &str, v: Value) -> PortStatus {
    let st = v.get("state").cloned().unwrap_or(v);
    PortStatus {
        name: name.to_string(),
        admin_up: st.get("admin-status").and_then(|x| x.as_str()) == Some("UP")
            || st.get("enabled").and_then(|x| x.as_bool()) == Some(true)
                && st.get("admin-status").is_none(),
        oper_status: st
            .get("oper-status")
            .and_then(|x| x.as_str())
            .unwrap_or("UNKNOWN")
            .to_string(),
        description: st
            .get("description")
            .and_then(|x| x.as_str())
            .map(str::to_string),
        mtu: st.get("mtu").and_then(|x| {
            x.as_u64()
                .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_with_keys() {
        let p = parse_path("/interfaces/interface[name=Ethernet1]/config/enabled");
        assert_eq!(p.elem.len(), 4);
        assert_eq!(
            p.elem[1].key.get("name").map(String::as_str),
            Some("Ethernet1")
        );
        assert_eq!(p.elem[3].name, "enabled");
    }

    #[test]
    fn modules_are_stripped() {
        let v = strip_modules(
            serde_json::json!({"openconfig-interfaces:state": {"oper-status": "UP"}}),
        );
        assert_eq!(v["state"]["oper-status"], "UP");
    }
}
