//! A BMC is not trusted to send gpufleet elsewhere: links (`@odata.id`, session `Location`)
//! and redirects that leave the BMC's own scheme, host and port are refused, so the BMC's
//! credentials and session token reach no other host. A second listener made by the test plays
//! the other host and counts every byte it receives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fleet_bmc::redfish::RedfishClient;
use fleet_bmc::{BmcError, Endpoint, OutOfBand};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

type Handler = Arc<dyn Fn(&str, &str) -> (u16, Vec<(String, String)>, String) + Send + Sync>;

/// A tiny HTTP/1.1 server on 127.0.0.1: answers with `handler(method, path)` and counts the
/// bytes it receives.
struct Host {
    url: String,
    received: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Host {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn host(handler: Handler) -> Host {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let received = Arc::new(AtomicUsize::new(0));
    let r = received.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            let (r, handler) = (r.clone(), handler.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                while let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await
                {
                    if n == 0 {
                        return;
                    }
                    r.fetch_add(n, Ordering::SeqCst);
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let mut first = head.lines().next().unwrap_or("").split(' ');
                    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
                    let (status, headers, body) = handler(method, path);
                    let mut resp =
                        format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
                    for (k, v) in headers {
                        resp.push_str(&format!("{k}: {v}\r\n"));
                    }
                    resp.push_str("Content-Type: application/json\r\n\r\n");
                    resp.push_str(&body);
                    if sock.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Host {
        url,
        received,
        task,
    }
}

fn client(url: &str) -> RedfishClient {
    RedfishClient::new(
        Endpoint::new(url, "root", "bmc-secret-foreign-7").with_timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

/// A BMC whose answers point at `elsewhere` in the way `layout` says.
async fn bmc(elsewhere: String, layout: &'static str) -> Host {
    host(Arc::new(move |method: &str, path: &str| {
        let root = |systems: String| {
            json!({"@odata.id": "/redfish/v1/", "RedfishVersion": "1.15.0",
                   "Systems": {"@odata.id": systems},
                   "SessionService": {"@odata.id": "/redfish/v1/SessionService"}})
            .to_string()
        };
        match (layout, method, path) {
            (_, "POST", "/redfish/v1/SessionService/Sessions") => {
                let loc = if layout == "session-location" {
                    format!("{elsewhere}/redfish/v1/SessionService/Sessions/1")
                } else {
                    "/redfish/v1/SessionService/Sessions/1".into()
                };
                (
                    201,
                    vec![
                        ("X-Auth-Token".into(), "tok-1".into()),
                        ("Location".into(), loc),
                    ],
                    "{}".into(),
                )
            }
            ("systems-link", "GET", "/redfish/v1/") => {
                (200, vec![], root(format!("{elsewhere}/redfish/v1/Systems")))
            }
            (_, "GET", "/redfish/v1/") => (200, vec![], root("/redfish/v1/Systems".into())),
            ("redirect", "GET", "/redfish/v1/Systems") => (
                307,
                vec![("Location".into(), format!("{elsewhere}/redfish/v1/Systems"))],
                "{}".into(),
            ),
            ("member-link", "GET", "/redfish/v1/Systems") => (
                200,
                vec![],
                json!({"Members": [{"@odata.id": format!("{elsewhere}/redfish/v1/Systems/1")}]})
                    .to_string(),
            ),
            (_, "GET", "/redfish/v1/Systems") => (
                200,
                vec![],
                json!({"Members": [{"@odata.id": "/redfish/v1/Systems/1"}]}).to_string(),
            ),
            (_, "GET", "/redfish/v1/Systems/1") => (
                200,
                vec![],
                json!({"@odata.id": "/redfish/v1/Systems/1", "PowerState": "On"}).to_string(),
            ),
            _ => (404, vec![], "{}".into()),
        }
    }))
    .await
}

#[tokio::test]
async fn links_and_redirects_off_the_bmc_are_refused() {
    let elsewhere = host(Arc::new(|_: &str, _: &str| (200, vec![], "{}".into()))).await;
    for layout in ["systems-link", "member-link"] {
        let b = bmc(elsewhere.url.clone(), layout).await;
        let c = client(&b.url);
        let e = c.power_state().await.unwrap_err();
        assert!(matches!(e, BmcError::ForeignLink { .. }), "{layout}: {e}");
        assert!(e.to_string().contains(&elsewhere.url), "{layout}: {e}");
        assert!(b.received.load(Ordering::SeqCst) > 0);
    }
    // A redirect off the BMC is not followed: the request fails where it was made.
    let b = bmc(elsewhere.url.clone(), "redirect").await;
    assert!(client(&b.url).power_state().await.is_err());
    // A session whose Location is elsewhere is not deleted there.
    let b = bmc(elsewhere.url.clone(), "session-location").await;
    let c = client(&b.url);
    assert_eq!(
        c.power_state().await.unwrap(),
        fleet_bmc::PowerState::On,
        "the BMC itself works"
    );
    c.logout().await;
    assert_eq!(
        elsewhere.received.load(Ordering::SeqCst),
        0,
        "the other host was never contacted"
    );
}
