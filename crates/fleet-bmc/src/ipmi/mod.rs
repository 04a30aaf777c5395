//! IPMI v2.0 over LAN (RMCP+, "lanplus"), the subset gpufleet needs, implemented from the IPMI
//! v2.0 specification (rev. 1.1): session establishment with RAKP (cipher suite 3:
//! RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128), chassis status and control, boot options, SEL and
//! sensors (SDR full/compact records, linear conversion).
//!
//! One session per client, opened on first use; requests are sequential on it. Every request has
//! a deadline; only reads are retransmitted after a timeout (the chassis control command is sent
//! once, so a lost answer cannot cause a second power cycle).

pub mod crypto;

use std::net::SocketAddr;
use std::time::Duration;

use rand::RngCore;
use tokio::net::UdpSocket;
use tokio::sync::Mutex;

use crate::{
    BmcError, BootDevice, BootOverride, Endpoint, OutOfBand, PowerAction, PowerState, Result,
    SelEntry, Sensor,
};
use crypto::{aes_cbc_decrypt, aes_cbc_encrypt, hmac_sha1, user_key};

const RMCP_HEADER: [u8; 4] = [0x06, 0x00, 0xff, 0x07];
const AUTH_RMCPP: u8 = 0x06;
const PT_IPMI: u8 = 0x00;
const PT_OPEN_REQ: u8 = 0x10;
const PT_OPEN_RSP: u8 = 0x11;
const PT_RAKP1: u8 = 0x12;
const PT_RAKP2: u8 = 0x13;
const PT_RAKP3: u8 = 0x14;
const PT_RAKP4: u8 = 0x15;
const ENCRYPTED: u8 = 0x80;
const AUTHENTICATED: u8 = 0x40;
/// Administrator, with user name-only look-up (RAKP message 1, requested maximum role).
const ROLE_ADMIN_NAME_ONLY: u8 = 0x14;

pub const NETFN_CHASSIS: u8 = 0x00;
pub const NETFN_SENSOR: u8 = 0x04;
pub const NETFN_APP: u8 = 0x06;
pub const NETFN_STORAGE: u8 = 0x0a;

/// The meaning of an IPMI completion code (IPMI v2.0, table 5-2).
pub fn completion_code_meaning(cc: u8) -> &'static str {
    match cc {
        0xc0 => "node busy",
        0xc1 => "invalid command",
        0xc2 => "invalid for this LUN",
        0xc3 => "timeout while processing",
        0xc4 => "out of space",
        0xc5 => "reservation cancelled or invalid",
        0xc6 => "request data truncated",
        0xc7 => "request data length invalid",
        0xc8 => "request data field length limit exceeded",
        0xc9 => "parameter out of range",
        0xca => "cannot return the requested number of bytes",
        0xcb => "requested sensor, data or record not present",
        0xcc => "invalid data field in request",
        0xcd => "command illegal for this sensor or record type",
        0xce => "response could not be provided",
        0xcf => "duplicated request",
        0xd0 => "SDR repository in update mode",
        0xd1 => "device in firmware update mode",
        0xd2 => "BMC initialisation in progress",
        0xd3 => "destination unavailable",
        0xd4 => "insufficient privilege level",
        0xd5 => "not supported in the present state",
        0xd6 => "sub-function disabled or unavailable",
        0xff => "unspecified error",
        0x80 => "parameter not supported",
        _ => "device-specific or OEM error",
    }
}

/// RMCP+ status codes of the session-establishment messages (IPMI v2.0, table 13-15).
fn rakp_status(code: u8) -> &'static str {
    match code {
        0x01 => "insufficient resources to create a session",
        0x02 => "invalid session ID",
        0x0d => "unauthorized name",
        0x0e => "unauthorized role or privilege level requested",
        0x0f => "invalid role",
        0x11 => "no cipher suite match with proposed security algorithms",
        0x12 => "invalid integrity check value",
        0x13 => "invalid name length",
        _ => "session establishment refused",
    }
}

fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)))
}

fn ipmi_message(netfn: u8, cmd: u8, rq_seq: u8, data: &[u8]) -> Vec<u8> {
    let mut m = vec![0x20, netfn << 2];
    m.push(checksum(&m));
    let start = m.len();
    m.extend_from_slice(&[0x81, rq_seq << 2, cmd]);
    m.extend_from_slice(data);
    let c = checksum(&m[start..]);
    m.push(c);
    m
}

struct Session {
    sock: UdpSocket,
    bmc_sid: u32,
    k1: [u8; 20],
    k2: [u8; 16],
    seq: u32,
    rq_seq: u8,
}

/// An IPMI BMC reached over RMCP+ (cipher suite 3).
pub struct IpmiClient {
    ep: Endpoint,
    label: String,
    session: Mutex<Option<Session>>,
}

impl IpmiClient {
    /// `ep.address` is `host` or `host:port` (port 623 when absent).
    pub fn new(ep: Endpoint) -> Self {
        let label = format!("ipmi://{}", ep.address);
        IpmiClient {
            ep,
            label,
            session: Mutex::new(None),
        }
    }

    fn timeout_err(&self) -> BmcError {
        BmcError::Timeout {
            endpoint: self.label.clone(),
            after: self.ep.timeout,
        }
    }

    fn attempt_timeout(&self) -> Duration {
        (self.ep.timeout / (self.ep.retries + 1)).max(Duration::from_millis(300))
    }

    async fn resolve(&self) -> Result<SocketAddr> {
        let a = if self.ep.address.contains(':') {
            self.ep.address.clone()
        } else {
            format!("{}:623", self.ep.address)
        };
        let mut it = tokio::net::lookup_host(&a)
            .await
            .map_err(|e| BmcError::Connect {
                endpoint: self.label.clone(),
                detail: format!("cannot resolve {a}: {e}"),
            })?;
        it.next().ok_or_else(|| BmcError::Connect {
            endpoint: self.label.clone(),
            detail: format!("no address for {a}"),
        })
    }

    /// Sends `pkt` and waits for a reply that `accept` takes, within one attempt's timeout.
    async fn exchange<T>(
        &self,
        sock: &UdpSocket,
        pkt: &[u8],
        attempts: u32,
        mut accept: impl FnMut(&[u8]) -> Option<Result<T>>,
    ) -> Result<T> {
        let per = self.attempt_timeout();
        let mut buf = vec![0u8; 2048];
        for _ in 0..attempts.max(1) {
            sock.send(pkt).await.map_err(|e| BmcError::Connect {
                endpoint: self.label.clone(),
                detail: e.to_string(),
            })?;
            let deadline = tokio::time::Instant::now() + per;
            loop {
                let r = tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await;
                match r {
                    Err(_) => break,
                    Ok(Err(e)) => {
                        // ICMP port unreachable surfaces as ECONNREFUSED on a connected socket.
                        return Err(BmcError::Connect {
                            endpoint: self.label.clone(),
                            detail: e.to_string(),
                        });
                    }
                    Ok(Ok(n)) => {
                        if let Some(res) = accept(&buf[..n]) {
                            return res;
                        }
                    }
                }
            }
        }
        Err(self.timeout_err())
    }

    fn presession_packet(payload_type: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = RMCP_HEADER.to_vec();
        p.push(AUTH_RMCPP);
        p.push(payload_type);
        p.extend_from_slice(&[0; 8]); // session id 0, sequence 0
        p.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        p.extend_from_slice(payload);
        p
    }

    fn presession_payload(buf: &[u8], want: u8) -> Option<&[u8]> {
        if buf.len() < 16
            || buf[..4] != RMCP_HEADER
            || buf[4] != AUTH_RMCPP
            || buf[5] & 0x3f != want
        {
            return None;
        }
        let len = u16::from_le_bytes([buf[14], buf[15]]) as usize;
        buf.get(16..16 + len)
    }

    async fn open(&self) -> Result<Session> {
        let addr = self.resolve().await?;
        let bind = if addr.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let sock = UdpSocket::bind(bind).await.map_err(|e| BmcError::Connect {
            endpoint: self.label.clone(),
            detail: e.to_string(),
        })?;
        sock.connect(addr).await.map_err(|e| BmcError::Connect {
            endpoint: self.label.clone(),
            detail: e.to_string(),
        })?;
        let attempts = self.ep.retries + 1;

        // Get Channel Authentication Capabilities (IPMI v1.5 framing, no session): checks that
        // the BMC answers and supports IPMI v2.0 before the RMCP+ handshake.
        let mut caps = RMCP_HEADER.to_vec();
        caps.push(0x00); // auth type none
        caps.extend_from_slice(&[0; 8]);
        let msg = ipmi_message(NETFN_APP, 0x38, 0, &[0x8e, 0x04]);
        caps.push(msg.len() as u8);
        caps.extend_from_slice(&msg);
        self.exchange(&sock, &caps, attempts, |b| {
            (b.len() > 14 && b[..4] == RMCP_HEADER).then_some(Ok(()))
        })
        .await?;

        let (console_sid, tag, rm) = {
            let mut rng = rand::thread_rng();
            let mut rm = [0u8; 16];
            rng.fill_bytes(&mut rm);
            (rng.next_u32() | 1, (rng.next_u32() & 0x3f) as u8, rm)
        };
        // Open Session Request (13.17): admin; HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128.
        let mut open = vec![tag, 0x04, 0, 0];
        open.extend_from_slice(&console_sid.to_le_bytes());
        open.extend_from_slice(&[0x00, 0, 0, 0x08, 0x01, 0, 0, 0]);
        open.extend_from_slice(&[0x01, 0, 0, 0x08, 0x01, 0, 0, 0]);
        open.extend_from_slice(&[0x02, 0, 0, 0x08, 0x01, 0, 0, 0]);
        let pkt = Self::presession_packet(PT_OPEN_REQ, &open);
        let bmc_sid = self
            .exchange(&sock, &pkt, attempts, |b| {
                let p = Self::presession_payload(b, PT_OPEN_RSP)?;
                if p.len() < 2 || p[0] != tag {
                    return None;
                }
                if p[1] != 0 {
                    return Some(Err(self.rakp_error("open session", p[1])));
                }
                if p.len() < 12 {
                    return Some(Err(self.malformed("open session response too short")));
                }
                Some(Ok(u32::from_le_bytes([p[8], p[9], p[10], p[11]])))
            })
            .await?;

        // RAKP 1 / 2 (13.20, 13.21).
        let user = self.ep.username.as_bytes();
        if user.len() > 16 {
            return Err(BmcError::Invalid(
                "IPMI user names are at most 16 bytes".into(),
            ));
        }
        let mut r1 = vec![tag, 0, 0, 0];
        r1.extend_from_slice(&bmc_sid.to_le_bytes());
        r1.extend_from_slice(&rm);
        r1.extend_from_slice(&[ROLE_ADMIN_NAME_ONLY, 0, 0, user.len() as u8]);
        r1.extend_from_slice(user);
        let pkt = Self::presession_packet(PT_RAKP1, &r1);
        let kuid = user_key(self.ep.password.expose());
        let (rc, guid) = self
            .exchange(&sock, &pkt, attempts, |b| {
                let p = Self::presession_payload(b, PT_RAKP2)?;
                if p.len() < 2 || p[0] != tag {
                    return None;
                }
                if p[1] != 0 {
                    return Some(Err(self.rakp_error("RAKP 2", p[1])));
                }
                if p.len() < 60 {
                    return Some(Err(self.malformed("RAKP 2 too short")));
                }
                let rc: [u8; 16] = p[8..24].try_into().ok()?;
                let guid: [u8; 16] = p[24..40].try_into().ok()?;
                let expect = hmac_sha1(
                    &kuid,
                    &[
                        &console_sid.to_le_bytes(),
                        &bmc_sid.to_le_bytes(),
                        &rm,
                        &rc,
                        &guid,
                        &[ROLE_ADMIN_NAME_ONLY, user.len() as u8],
                        user,
                    ],
                );
                if p[40..60] != expect {
                    // The BMC computed its code with another password.
                    return Some(Err(BmcError::Unauthorized {
                        endpoint: self.label.clone(),
                    }));
                }
                Some(Ok((rc, guid)))
            })
            .await?;

        let sik = hmac_sha1(
            &kuid,
            &[&rm, &rc, &[ROLE_ADMIN_NAME_ONLY, user.len() as u8], user],
        );
        let k1 = hmac_sha1(&sik, &[&[0x01; 20]]);
        let k2_full = hmac_sha1(&sik, &[&[0x02; 20]]);
        let mut k2 = [0u8; 16];
        k2.copy_from_slice(&k2_full[..16]);

        // RAKP 3 / 4 (13.22, 13.23).
        let auth3 = hmac_sha1(
            &kuid,
            &[
                &rc,
                &console_sid.to_le_bytes(),
                &[ROLE_ADMIN_NAME_ONLY, user.len() as u8],
                user,
            ],
        );
        let mut r3 = vec![tag, 0, 0, 0];
        r3.extend_from_slice(&bmc_sid.to_le_bytes());
        r3.extend_from_slice(&auth3);
        let pkt = Self::presession_packet(PT_RAKP3, &r3);
        self.exchange(&sock, &pkt, 1, |b| {
            let p = Self::presession_payload(b, PT_RAKP4)?;
            if p.len() < 2 || p[0] != tag {
                return None;
            }
            if p[1] != 0 {
                return Some(Err(self.rakp_error("RAKP 4", p[1])));
            }
            if p.len() < 20 {
                return Some(Err(self.malformed("RAKP 4 too short")));
            }
            let icv = hmac_sha1(&sik, &[&rm, &bmc_sid.to_le_bytes(), &guid]);
            if p[8..20] != icv[..12] {
                return Some(Err(
                    self.malformed("RAKP 4 integrity check value does not match")
                ));
            }
            Some(Ok(()))
        })
        .await?;

        let mut s = Session {
            sock,
            bmc_sid,
            k1,
            k2,
            seq: 0,
            rq_seq: 0,
        };
        // Sessions start at user privilege (13.x): raise to administrator.
        self.send_on(&mut s, NETFN_APP, 0x3b, &[0x04], true).await?;
        Ok(s)
    }

    fn rakp_error(&self, step: &str, code: u8) -> BmcError {
        match code {
            0x0d | 0x0e | 0x0f | 0x12 => BmcError::Unauthorized {
                endpoint: self.label.clone(),
            },
            _ => BmcError::Other {
                endpoint: self.label.clone(),
                detail: format!("{step} refused: status {code:#04x} ({})", rakp_status(code)),
            },
        }
    }

    fn malformed(&self, detail: &str) -> BmcError {
        BmcError::Malformed {
            endpoint: self.label.clone(),
            what: "IPMI session".into(),
            detail: detail.to_string(),
        }
    }

    fn session_packet(s: &mut Session, msg: &[u8]) -> Vec<u8> {
        s.seq = s.seq.wrapping_add(1).max(1);
        let mut iv = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut iv);
        let payload = aes_cbc_encrypt(&s.k2, iv, msg);
        let mut p = RMCP_HEADER.to_vec();
        p.push(AUTH_RMCPP);
        p.push(ENCRYPTED | AUTHENTICATED | PT_IPMI);
        p.extend_from_slice(&s.bmc_sid.to_le_bytes());
        p.extend_from_slice(&s.seq.to_le_bytes());
        p.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        p.extend_from_slice(&payload);
        // Integrity pad: auth type .. next header a multiple of 4 bytes.
        let covered = p.len() - 4 + 2;
        let pad = (4 - covered % 4) % 4;
        p.extend(std::iter::repeat_n(0xff, pad));
        p.push(pad as u8);
        p.push(0x07);
        let code = hmac_sha1(&s.k1, &[&p[4..]]);
        p.extend_from_slice(&code[..12]);
        p
    }

    /// Decodes a session packet into the IPMI response message, or `None` if it is not ours.
    fn open_packet(&self, s: &Session, b: &[u8]) -> Option<Result<Vec<u8>>> {
        if b.len() < 16 || b[..4] != RMCP_HEADER || b[4] != AUTH_RMCPP {
            return None;
        }
        let pt = b[5];
        if pt & 0x3f != PT_IPMI {
            return None;
        }
        let len = u16::from_le_bytes([b[14], b[15]]) as usize;
        let payload = b.get(16..16 + len)?;
        if pt & AUTHENTICATED != 0 {
            if b.len() < 16 + len + 14 {
                return Some(Err(self.malformed("integrity trailer missing")));
            }
            let (data, code) = b.split_at(b.len() - 12);
            let expect = hmac_sha1(&s.k1, &[&data[4..]]);
            if code != &expect[..12] {
                return Some(Err(
                    self.malformed("integrity check failed on a BMC response")
                ));
            }
        }
        let msg = if pt & ENCRYPTED != 0 {
            match aes_cbc_decrypt(&s.k2, payload) {
                Some(m) => m,
                None => return Some(Err(self.malformed("cannot decrypt a BMC response"))),
            }
        } else {
            payload.to_vec()
        };
        Some(Ok(msg))
    }

    async fn send_on(
        &self,
        s: &mut Session,
        netfn: u8,
        cmd: u8,
        data: &[u8],
        idempotent: bool,
    ) -> Result<Vec<u8>> {
        s.rq_seq = (s.rq_seq % 63) + 1;
        let rq_seq = s.rq_seq;
        let msg = ipmi_message(netfn, cmd, rq_seq, data);
        let pkt = Self::session_packet(s, &msg);
        let attempts = if idempotent { self.ep.retries + 1 } else { 1 };
        let per = self.attempt_timeout();
        let mut buf = vec![0u8; 2048];
        for _ in 0..attempts {
            s.sock.send(&pkt).await.map_err(|e| BmcError::Connect {
                endpoint: self.label.clone(),
                detail: e.to_string(),
            })?;
            let deadline = tokio::time::Instant::now() + per;
            loop {
                let n = match tokio::time::timeout_at(deadline, s.sock.recv(&mut buf)).await {
                    Err(_) => break,
                    Ok(Err(e)) => {
                        return Err(BmcError::Connect {
                            endpoint: self.label.clone(),
                            detail: e.to_string(),
                        })
                    }
                    Ok(Ok(n)) => n,
                };
                let m = match self.open_packet(s, &buf[..n]) {
                    None => continue,
                    Some(r) => r?,
                };
                if m.len() < 8 || m[4] >> 2 != rq_seq || m[5] != cmd || m[1] >> 2 != netfn + 1 {
                    continue; // a late answer to an earlier request
                }
                let cc = m[6];
                if cc != 0 {
                    return Err(BmcError::Ipmi {
                        endpoint: self.label.clone(),
                        what: format!("netfn {netfn:#04x} cmd {cmd:#04x}"),
                        code: cc,
                        meaning: completion_code_meaning(cc),
                    });
                }
                return Ok(m[7..m.len() - 1].to_vec());
            }
        }
        Err(self.timeout_err())
    }

    /// Sends one IPMI command on the session (opening it first) and returns the response data
    /// after the completion code. Reads (`idempotent`) are retransmitted after a timeout.
    pub async fn raw(&self, netfn: u8, cmd: u8, data: &[u8], idempotent: bool) -> Result<Vec<u8>> {
        let total = self.ep.timeout * 3;
        crate::with_deadline(&self.label, total, async {
            let mut g = self.session.lock().await;
            if g.is_none() {
                *g = Some(self.open().await?);
            }
            let s = g.as_mut().expect("session opened above");
            let r = self.send_on(s, netfn, cmd, data, idempotent).await;
            if let Err(e) = &r {
                if matches!(
                    e,
                    BmcError::Timeout { .. }
                        | BmcError::Connect { .. }
                        | BmcError::Malformed { .. }
                ) {
                    // The session may be gone on the BMC side; open a new one next time.
                    *g = None;
                }
            }
            r
        })
        .await
    }

    /// Closes the session (Close Session, 13.x); later calls open a new one.
    pub async fn close(&self) {
        let mut g = self.session.lock().await;
        if let Some(mut s) = g.take() {
            let sid = s.bmc_sid.to_le_bytes();
            let _ = tokio::time::timeout(
                self.attempt_timeout(),
                self.send_on(&mut s, NETFN_APP, 0x3c, &sid, false),
            )
            .await;
        }
    }

    async fn sdr_read(&self, reservation: [u8; 2], id: u16) -> Result<(u16, Vec<u8>)> {
        let idb = id.to_le_bytes();
        let head = self
            .raw(
                NETFN_STORAGE,
                0x23,
                &[reservation[0], reservation[1], idb[0], idb[1], 0, 5],
                true,
            )
            .await?;
        if head.len() < 7 {
            return Err(self.malformed("SDR header too short"));
        }
        let next = u16::from_le_bytes([head[0], head[1]]);
        let mut rec = head[2..7].to_vec();
        let total = 5 + rec[4] as usize;
        while rec.len() < total {
            let n = (total - rec.len()).min(16) as u8;
            let part = self
                .raw(
                    NETFN_STORAGE,
                    0x23,
                    &[
                        reservation[0],
                        reservation[1],
                        idb[0],
                        idb[1],
                        rec.len() as u8,
                        n,
                    ],
                    true,
                )
                .await?;
            if part.len() < 3 {
                return Err(self.malformed("SDR part too short"));
            }
            rec.extend_from_slice(&part[2..]);
        }
        Ok((next, rec))
    }
}

fn sign_extend(v: i32, bits: u32) -> i32 {
    let shift = 32 - bits;
    (v << shift) >> shift
}

/// Linear reading conversion of a full sensor record (IPMI v2.0, 36.3).
pub fn convert_reading(rec: &[u8], raw: u8) -> Option<f64> {
    if rec.len() < 30 {
        return None;
    }
    let format = rec[20] >> 6;
    let x = match format {
        0 => raw as f64,
        1 => {
            (if raw & 0x80 != 0 {
                -((!raw) as i32)
            } else {
                raw as i32
            }) as f64
        }
        2 => (raw as i8) as f64,
        _ => return None,
    };
    let m = sign_extend((rec[24] as i32) | (((rec[25] as i32) & 0xc0) << 2), 10) as f64;
    let b = sign_extend((rec[26] as i32) | (((rec[27] as i32) & 0xc0) << 2), 10) as f64;
    let rexp = sign_extend((rec[29] >> 4) as i32, 4);
    let bexp = sign_extend((rec[29] & 0x0f) as i32, 4);
    Some((m * x + b * 10f64.powi(bexp)) * 10f64.powi(rexp))
}

fn unit_name(code: u8) -> Option<&'static str> {
    Some(match code {
        1 => "Cel",
        2 => "degF",
        4 => "V",
        5 => "A",
        6 => "W",
        18 => "RPM",
        _ => return None,
    })
}

fn sensor_kind(t: u8) -> &'static str {
    match t {
        0x01 => "temperature",
        0x02 => "voltage",
        0x03 => "current",
        0x04 => "fan",
        0x08 => "power_supply",
        0x0b => "power",
        _ => "other",
    }
}

#[async_trait::async_trait]
impl OutOfBand for IpmiClient {
    fn driver(&self) -> &'static str {
        "ipmi"
    }
    fn endpoint(&self) -> &str {
        &self.label
    }

    async fn power_state(&self) -> Result<PowerState> {
        let d = self.raw(NETFN_CHASSIS, 0x01, &[], true).await?;
        let b = d
            .first()
            .ok_or_else(|| self.malformed("empty chassis status"))?;
        Ok(if b & 1 == 1 {
            PowerState::On
        } else {
            PowerState::Off
        })
    }

    async fn power(&self, action: PowerAction) -> Result<()> {
        let code = match action {
            PowerAction::Off => 0x00,
            PowerAction::On => 0x01,
            PowerAction::Cycle => 0x02,
            PowerAction::Reset => 0x03,
            PowerAction::GracefulShutdown => 0x05,
        };
        self.raw(NETFN_CHASSIS, 0x02, &[code], false).await?;
        Ok(())
    }

    async fn set_boot(&self, boot: BootOverride) -> Result<()> {
        let (valid, dev) = match boot.device {
            BootDevice::None => (0x00, 0x00),
            BootDevice::Pxe => (0x80, 0x04),
            BootDevice::Disk => (0x80, 0x08),
            BootDevice::Cd => (0x80, 0x14),
            BootDevice::BiosSetup => (0x80, 0x18),
        };
        let flags =
            valid | if boot.persistent { 0x40 } else { 0 } | if valid != 0 { 0x20 } else { 0 };
        self.raw(NETFN_CHASSIS, 0x08, &[0x05, flags, dev, 0, 0, 0], false)
            .await?;
        Ok(())
    }

    async fn boot(&self) -> Result<BootOverride> {
        let d = self.raw(NETFN_CHASSIS, 0x09, &[0x05, 0, 0], true).await?;
        if d.len() < 4 {
            return Err(self.malformed("boot flags response too short"));
        }
        let (flags, dev) = (d[2], (d[3] >> 2) & 0x0f);
        // Some BMCs (OpenIPMI's ipmi_sim) keep the device selector but not the valid bit:
        // the selector is what the next boot uses.
        let device = if flags & 0x80 == 0 && dev == 0 {
            BootDevice::None
        } else {
            match dev {
                0x01 => BootDevice::Pxe,
                0x02 => BootDevice::Disk,
                0x05 => BootDevice::Cd,
                0x06 => BootDevice::BiosSetup,
                _ => BootDevice::None,
            }
        };
        Ok(BootOverride {
            device,
            persistent: flags & 0x40 != 0,
        })
    }

    async fn sel(&self) -> Result<Vec<SelEntry>> {
        let info = self.raw(NETFN_STORAGE, 0x40, &[], true).await?;
        if info.len() < 3 || u16::from_le_bytes([info[1], info[2]]) == 0 {
            return Ok(vec![]);
        }
        let mut out = vec![];
        let mut id: u16 = 0;
        for _ in 0..4096 {
            let idb = id.to_le_bytes();
            let d = self
                .raw(NETFN_STORAGE, 0x43, &[0, 0, idb[0], idb[1], 0, 0xff], true)
                .await?;
            if d.len() < 18 {
                return Err(self.malformed("SEL entry too short"));
            }
            let next = u16::from_le_bytes([d[0], d[1]]);
            let r = &d[2..18];
            let rid = u16::from_le_bytes([r[0], r[1]]);
            let rtype = r[2];
            let ts = u32::from_le_bytes([r[3], r[4], r[5], r[6]]);
            let message = if rtype == 0x02 {
                let dir = if r[12] & 0x80 != 0 {
                    "deasserted"
                } else {
                    "asserted"
                };
                format!(
                    "{} sensor {:#04x}: event offset {:#x} {dir} (data {:02x} {:02x} {:02x})",
                    sensor_kind(r[10]),
                    r[11],
                    r[13] & 0x0f,
                    r[13],
                    r[14],
                    r[15]
                )
            } else {
                format!("record type {rtype:#04x}: {}", hex::encode(&r[3..]))
            };
            out.push(SelEntry {
                id: rid.to_string(),
                created: (rtype < 0xe0).then(|| ts.to_string()),
                severity: None,
                message,
            });
            if next == 0xffff || next == id {
                break;
            }
            id = next;
        }
        Ok(out)
    }

    async fn clear_sel(&self) -> Result<()> {
        let r = self.raw(NETFN_STORAGE, 0x42, &[], false).await?;
        if r.len() < 2 {
            return Err(self.malformed("SEL reservation too short"));
        }
        self.raw(
            NETFN_STORAGE,
            0x47,
            &[r[0], r[1], b'C', b'L', b'R', 0xaa],
            false,
        )
        .await?;
        Ok(())
    }

    async fn reset_bmc(&self) -> Result<()> {
        // Cold Reset (App 0x02). A BMC may restart before it answers; the caller waits for it
        // to come back either way (ipmitool's `mc reset cold` does not wait for an answer).
        match self.raw(NETFN_APP, 0x02, &[], false).await {
            Ok(_) | Err(BmcError::Timeout { .. }) => {}
            // Invalid command: this BMC has no cold reset.
            Err(BmcError::Ipmi { code: 0xc1, .. }) => {
                return Err(BmcError::Unsupported {
                    endpoint: self.label.clone(),
                    driver: "ipmi",
                    what: "BMC cold reset (the BMC answers: invalid command)".into(),
                })
            }
            Err(e) => return Err(e),
        }
        // Its sessions end with the restart: the next request opens a new one.
        self.session.lock().await.take();
        Ok(())
    }

    async fn sensors(&self) -> Result<Vec<Sensor>> {
        let r = self.raw(NETFN_STORAGE, 0x22, &[], true).await?;
        if r.len() < 2 {
            return Err(self.malformed("SDR reservation too short"));
        }
        let res = [r[0], r[1]];
        let mut out = vec![];
        let mut id = 0u16;
        for _ in 0..1024 {
            let (next, rec) = self.sdr_read(res, id).await?;
            let rtype = rec[3];
            if (rtype == 0x01 || rtype == 0x02) && rec.len() > 13 {
                let num = rec[7];
                let stype = rec[12];
                let name_at = if rtype == 0x01 { 47 } else { 31 };
                let name = rec
                    .get(name_at)
                    .map(|l| (l & 0x1f) as usize)
                    .and_then(|l| rec.get(name_at + 1..name_at + 1 + l))
                    .map(|b| {
                        String::from_utf8_lossy(b)
                            .trim_end_matches('\0')
                            .to_string()
                    })
                    .unwrap_or_else(|| format!("sensor {num}"));
                let reading = match self.raw(NETFN_SENSOR, 0x2d, &[num], true).await {
                    Ok(d) if d.len() >= 2 && d[1] & 0x20 == 0 && rtype == 0x01 => {
                        convert_reading(&rec, d[0])
                    }
                    _ => None,
                };
                out.push(Sensor {
                    name,
                    kind: sensor_kind(stype).to_string(),
                    reading,
                    units: if rtype == 0x01 {
                        rec.get(21).and_then(|u| unit_name(*u)).map(str::to_string)
                    } else {
                        None
                    },
                    health: None,
                    ..Default::default()
                });
            }
            if next == 0xffff || next == id {
                break;
            }
            id = next;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_checksums_sum_to_zero() {
        let m = ipmi_message(NETFN_CHASSIS, 0x01, 5, &[1, 2, 3]);
        assert_eq!(m[..3].iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
        assert_eq!(m[3..].iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
        assert_eq!(m[4] >> 2, 5);
    }

    #[test]
    fn session_packet_is_dword_aligned_and_verifies() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_nonblocking(true).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut s = Session {
                sock: UdpSocket::from_std(sock).unwrap(),
                bmc_sid: 0x1234,
                k1: [1; 20],
                k2: [2; 16],
                seq: 0,
                rq_seq: 0,
            };
            let msg = ipmi_message(NETFN_APP, 0x01, 1, &[]);
            let p = IpmiClient::session_packet(&mut s, &msg);
            assert_eq!((p.len() - 4 - 12) % 4, 0);
            let c = IpmiClient::new(Endpoint::new("127.0.0.1", "u", "p"));
            assert_eq!(c.open_packet(&s, &p).unwrap().unwrap(), msg);
            let mut bad = p.clone();
            let n = bad.len();
            bad[n - 1] ^= 1;
            assert!(c.open_packet(&s, &bad).unwrap().is_err());
        });
    }

    #[test]
    fn linear_conversion() {
        let mut rec = vec![0u8; 64];
        rec[20] = 0; // unsigned
        rec[24] = 2; // M = 2
        rec[26] = 10; // B = 10
        rec[29] = 0x00; // R exp 0, B exp 0
        assert_eq!(convert_reading(&rec, 20), Some(50.0));
        rec[29] = 0xf0; // R exp -1
        assert_eq!(convert_reading(&rec, 20), Some(5.0));
    }
}
