//! XID lines of the NVIDIA kernel driver, as read from `/dev/kmsg`, `dmesg` or syslog.
//!
//! The driver logs (NVIDIA "Xid Errors", <https://docs.nvidia.com/deploy/xid-errors/index.html>,
//! and the GPU debug guidelines, <https://docs.nvidia.com/deploy/gpu-debug-guidelines/index.html>):
//!
//! ```text
//! NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python3, GPU has fallen off the bus.
//! NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus.
//! NVRM: Xid (PCI:0000:3b:00): 13, pid='<unknown>', name=<unknown>, Graphics Exception: …
//! ```
//!
//! `/dev/kmsg` records start with `priority,sequence,timestamp_us,flags;` and may be followed by
//! continuation lines that begin with a space (` SUBSYSTEM=pci`); `dmesg` prefixes
//! `[  123.456789]` (or `[Thu Dec  4 19:00:00 2026]` with `-T`); syslog adds
//! `… kernel: ` before that.

use serde::{Deserialize, Serialize};

/// One parsed XID line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XidEvent {
    /// The PCI address as the driver prints it (`0000:3b:00`, domain:bus:device).
    pub pci: String,
    pub xid: u32,
    pub pid: Option<u32>,
    /// The process name, when the driver printed one (not `<unknown>`).
    pub process: Option<String>,
    /// The rest of the line (the driver's message).
    pub message: String,
    /// `/dev/kmsg` sequence number, when the line came from there.
    pub kmsg_seq: Option<u64>,
    /// Microseconds since boot (`/dev/kmsg`) or the dmesg seconds converted to microseconds.
    pub uptime_us: Option<u64>,
}

impl XidEvent {
    /// The address in dcgm-exporter's `pci_bus_id` form (`00000000:3B:00.0`), for matching
    /// with scraped samples.
    pub fn dcgm_pci_bus_id(&self) -> Option<String> {
        normalize_pci(&self.pci)
    }
}

/// Normalises `0000:3b:00`, `0000:3b:00.0` or `00000000:3B:00.0` to `00000000:3B:00.0`.
pub fn normalize_pci(s: &str) -> Option<String> {
    let s = s.trim().trim_start_matches("PCI:");
    let (rest, func) = match s.rsplit_once('.') {
        Some((r, f)) => (r, f),
        None => (s, "0"),
    };
    let mut parts = rest.split(':').collect::<Vec<_>>();
    if parts.len() == 2 {
        parts.insert(0, "0");
    }
    let [dom, bus, dev] = parts.as_slice() else {
        return None;
    };
    let dom = u32::from_str_radix(dom, 16).ok()?;
    let bus = u8::from_str_radix(bus, 16).ok()?;
    let dev = u8::from_str_radix(dev, 16).ok()?;
    let func = u8::from_str_radix(func, 16).ok()?;
    Some(format!("{dom:08X}:{bus:02X}:{dev:02X}.{func:X}"))
}

/// Parses one log line; `None` when it is not an NVIDIA XID line.
pub fn parse_line(line: &str) -> Option<XidEvent> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.starts_with(' ') && !line.trim_start().starts_with('[') {
        return None; // a /dev/kmsg continuation line
    }
    let (mut kmsg_seq, mut uptime_us) = (None, None);
    let mut text = line;
    if let Some((prefix, rest)) = line.split_once(';') {
        let fields: Vec<&str> = prefix.split(',').collect();
        if fields.len() >= 3 && fields[0].parse::<u32>().is_ok() {
            kmsg_seq = fields[1].parse().ok();
            uptime_us = fields[2].parse().ok();
            text = rest;
        }
    }
    let at = text.find("NVRM: Xid")?;
    if uptime_us.is_none() {
        uptime_us = dmesg_uptime_us(&text[..at]);
    }
    let rest = text[at + "NVRM: Xid".len()..].trim_start();
    let rest = rest.strip_prefix('(')?;
    let (pci, rest) = rest.split_once(')')?;
    let pci = pci.trim().trim_start_matches("PCI:").to_string();
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let xid: u32 = rest[..digits].parse().ok()?;
    let mut rest = rest[digits..].trim_start();
    rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();

    let mut pid = None;
    let mut process = None;
    loop {
        if let Some(r) = rest.strip_prefix("pid=") {
            let (v, r) = split_item(r);
            pid = v.trim_matches('\'').parse().ok();
            rest = r;
        } else if let Some(r) = rest.strip_prefix("name=") {
            let (v, r) = split_item(r);
            let v = v.trim_matches('\'');
            if v != "<unknown>" && !v.is_empty() {
                process = Some(v.to_string());
            }
            rest = r;
        } else {
            break;
        }
    }
    Some(XidEvent {
        pci,
        xid,
        pid,
        process,
        message: rest.trim().to_string(),
        kmsg_seq,
        uptime_us,
    })
}

fn split_item(s: &str) -> (&str, &str) {
    match s.find(", ") {
        Some(i) => (&s[..i], s[i + 2..].trim_start()),
        None => match s.find(',') {
            Some(i) => (&s[..i], s[i + 1..].trim_start()),
            None => (s, ""),
        },
    }
}

/// `[  123.456789] ` → microseconds.
fn dmesg_uptime_us(prefix: &str) -> Option<u64> {
    let open = prefix.rfind('[')?;
    let close = prefix[open..].find(']')? + open;
    let inner = prefix[open + 1..close].trim();
    let (secs, frac) = inner.split_once('.')?;
    let secs: u64 = secs.parse().ok()?;
    let frac6: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    let micros: u64 = frac6.parse().ok()?;
    Some(secs * 1_000_000 + micros)
}

/// Parses every XID line of a text (other lines are skipped).
pub fn parse_text(text: &str) -> Vec<XidEvent> {
    text.lines().filter_map(parse_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmsg_record_with_pid_and_name() {
        let e = parse_line(
            "3,1234,5678901,-;NVRM: Xid (PCI:0000:3b:00): 79, pid=2049, name=python3, GPU has fallen off the bus.",
        )
        .unwrap();
        assert_eq!(e.pci, "0000:3b:00");
        assert_eq!(e.xid, 79);
        assert_eq!(e.pid, Some(2049));
        assert_eq!(e.process.as_deref(), Some("python3"));
        assert_eq!(e.message, "GPU has fallen off the bus.");
        assert_eq!(e.kmsg_seq, Some(1234));
        assert_eq!(e.uptime_us, Some(5_678_901));
        assert_eq!(e.dcgm_pci_bus_id().as_deref(), Some("00000000:3B:00.0"));
    }

    #[test]
    fn dmesg_and_unknown_process() {
        let e = parse_line("[ 1234.567] NVRM: Xid (PCI:0000:06:00): 13, pid='<unknown>', name=<unknown>, Graphics Exception: ESR 0x404600=0x80000002").unwrap();
        assert_eq!(e.xid, 13);
        assert_eq!(e.pid, None);
        assert_eq!(e.process, None);
        assert_eq!(e.uptime_us, Some(1_234_567_000));
        assert!(e.message.starts_with("Graphics Exception"));
    }

    #[test]
    fn not_xid_lines() {
        assert!(parse_line("6,1,2,-;usb 1-1: new device").is_none());
        assert!(parse_line(" SUBSYSTEM=pci").is_none());
        assert!(parse_line("NVRM: Xid (PCI:0000:3b:00): abc").is_none());
        assert!(parse_line("NVRM: Xid PCI:0000:3b:00: 79").is_none());
    }

    #[test]
    fn pci_normalisation() {
        assert_eq!(normalize_pci("0000:3b:00").unwrap(), "00000000:3B:00.0");
        assert_eq!(
            normalize_pci("00000000:3B:00.0").unwrap(),
            "00000000:3B:00.0"
        );
        assert_eq!(normalize_pci("3b:00.1").unwrap(), "00000000:3B:00.1");
        assert!(normalize_pci("zz").is_none());
    }
}
