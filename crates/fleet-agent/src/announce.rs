//! The node's own facts for gpufleet's announce route (`POST /api/v1/discovery/announce`).

use std::path::Path;

/// What the agent tells gpufleet about its node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFacts {
    pub hostname: String,
    /// SMBIOS system serial (`/sys/class/dmi/id/product_serial`, readable by root).
    pub serial: Option<String>,
    /// MACs of the physical interfaces (not loopback, not virtual).
    pub macs: Vec<String>,
}

/// Reads the facts under `sys` (`/sys` on a real node) and `hostname`.
pub fn read(sys: &Path, hostname: &str) -> NodeFacts {
    let serial = std::fs::read_to_string(sys.join("class/dmi/id/product_serial"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s != "0" && !s.eq_ignore_ascii_case("to be filled by o.e.m."));
    let mut macs = Vec::new();
    if let Ok(dir) = std::fs::read_dir(sys.join("class/net")) {
        for e in dir.flatten() {
            let p = e.path();
            // Physical interfaces have a device link; lo, bridges and veths do not.
            if !p.join("device").exists() {
                continue;
            }
            if let Ok(m) = std::fs::read_to_string(p.join("address")) {
                let m = m.trim().to_ascii_lowercase();
                if !m.is_empty() && m != "00:00:00:00:00:00" {
                    macs.push(m);
                }
            }
        }
    }
    macs.sort();
    macs.dedup();
    NodeFacts {
        hostname: hostname.to_string(),
        serial,
        macs,
    }
}

/// The announce body for a node whose BMC answers at `bmc_address`.
pub fn body(facts: &NodeFacts, bmc_address: &str) -> serde_json::Value {
    serde_json::json!({
        "bmc_address": bmc_address,
        "hostname": facts.hostname,
        "serial": facts.serial,
        "macs": facts.macs,
    })
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_come_from_sysfs_physical_interfaces_only() {
        let d = tempfile::tempdir().unwrap();
        let sys = d.path();
        std::fs::create_dir_all(sys.join("class/dmi/id")).unwrap();
        std::fs::write(sys.join("class/dmi/id/product_serial"), "SN-4242\n").unwrap();
        for (name, mac, physical) in [
            ("lo", "00:00:00:00:00:00", false),
            ("eno1", "0C:42:A1:00:00:01\n", true),
            ("veth0", "ae:01:02:03:04:05", false),
        ] {
            let p = sys.join("class/net").join(name);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("address"), mac).unwrap();
            if physical {
                std::fs::create_dir_all(p.join("device")).unwrap();
            }
        }
        let f = read(sys, "gpu-node-7");
        assert_eq!(f.serial.as_deref(), Some("SN-4242"));
        assert_eq!(f.macs, ["0c:42:a1:00:00:01"]);
        let b = body(&f, "10.0.0.7");
        assert_eq!(b["bmc_address"], "10.0.0.7");
        assert_eq!(b["hostname"], "gpu-node-7");
        // Nothing readable: no serial, no MACs, still a body.
        let empty = read(&sys.join("missing"), "h");
        assert_eq!((empty.serial, empty.macs.len()), (None, 0));
    }
}
