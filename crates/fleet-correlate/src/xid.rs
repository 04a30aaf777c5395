//! XID knowledge: what an NVIDIA XID means and which resolution bucket it falls in.
//!
//! The knowledge is loaded from text the caller passes in — NVIDIA's XID catalog (`xids.csv`,
//! the "Xids" sheet of `Xid-Catalog.xlsx`), its "Resolution Buckets" sheet, and NVSentinel's
//! `xiderrorsmapping.csv` (`xid,mnemonic,action,FATAL|NONFATAL`) — with
//! [`XidCatalog::load_catalog_csv`], [`XidCatalog::load_buckets_csv`] and
//! [`XidCatalog::load_nvsentinel_csv`]. Without them, [`XidCatalog::builtin`] knows the few XIDs
//! the default rules name.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::action::Action;
use crate::error::CorrelateError;

/// What is known about one XID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XidInfo {
    pub code: u32,
    pub mnemonic: String,
    pub description: String,
    /// The immediate resolution bucket (`RESET_GPU`, `RESTART_BM`, …).
    pub bucket: String,
    /// The investigatory bucket, where the catalog gives one.
    pub investigatory: Option<String>,
    /// NVSentinel's fatal flag, where known.
    pub fatal: Option<bool>,
}

impl XidInfo {
    /// The suggested actions for this XID's immediate bucket.
    pub fn actions(&self) -> Vec<Action> {
        Action::for_bucket(&self.bucket)
    }
}

/// XIDs by code, and bucket definitions by name.
#[derive(Debug, Clone, Default, Serialize)]
pub struct XidCatalog {
    xids: BTreeMap<u32, XidInfo>,
    buckets: BTreeMap<String, String>,
    /// Where the entries came from (`builtin`, `xids.csv`, …), for evidence.
    pub sources: Vec<String>,
}

/// The built-in fallback: the XIDs the default rules name, with mnemonic, description and
/// immediate bucket as given by NVIDIA's XID catalog ("Xids" sheet of `Xid-Catalog.xlsx`, the
/// table at https://docs.nvidia.com/deploy/xid-errors/analyzing-xid-catalog.html) and the fatal
/// flag of NVSentinel's `xiderrorsmapping.csv` (github.com/NVIDIA/NVSentinel,
/// distros/kubernetes/nvsentinel/charts/gpu-health-monitor/xiderrorsmapping.csv).
const BUILTIN: &[(u32, &str, &str, &str, bool)] = &[
    (
        13,
        "ROBUST_CHANNEL_GR_EXCEPTION",
        "Graphics Engine Exception",
        "RESTART_APP",
        false,
    ),
    (
        31,
        "ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT",
        "GPU memory page fault",
        "RESTART_APP",
        false,
    ),
    (
        43,
        "ROBUST_CHANNEL_RESETCHANNEL_VERIF_ERROR",
        "GPU stopped processing",
        "IGNORE",
        false,
    ),
    (
        45,
        "ROBUST_CHANNEL_PREEMPTIVE_REMOVAL",
        "Preemptive cleanup, due to previous errors",
        "WORKFLOW_XID_45",
        false,
    ),
    (
        48,
        "ROBUST_CHANNEL_GPU_ECC_DBE",
        "Double Bit ECC Error",
        "WORKFLOW_XID_48",
        true,
    ),
    (
        63,
        "INFOROM_DRAM_RETIREMENT_EVENT",
        "GPU memory remapping event",
        "IGNORE",
        false,
    ),
    (
        64,
        "INFOROM_DRAM_RETIREMENT_FAILURE",
        "GPU memory remapping failure",
        "RESET_GPU",
        true,
    ),
    (
        74,
        "NVLINK_ERROR",
        "NVLINK Error",
        "WORKFLOW_NVLINK_ERR",
        true,
    ),
    (
        79,
        "ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS",
        "GPU has fallen off the bus",
        "RESTART_BM",
        true,
    ),
    (
        92,
        "EXCESSIVE_SBE_INTERRUPTS",
        "High single-bit ECC error rate",
        "IGNORE",
        false,
    ),
    (
        94,
        "ROBUST_CHANNEL_CONTAINED_ERROR",
        "Contained memory error",
        "RESTART_APP",
        false,
    ),
    (
        95,
        "ROBUST_CHANNEL_UNCONTAINED_ERROR",
        "Uncontained memory error",
        "RESET_GPU",
        true,
    ),
    (119, "GSP_RPC_TIMEOUT", "GSP RPC Timeout", "RESET_GPU", true),
];

/// Lower-case, whitespace-collapsed header text (the catalog's headers span lines).
fn header_key(h: &str) -> String {
    h.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

fn line_of(rec: &csv::StringRecord) -> u64 {
    rec.position().map(|p| p.line()).unwrap_or(0)
}

impl XidCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in fallback table.
    pub fn builtin() -> Self {
        let mut c = XidCatalog::new();
        for (code, mnemonic, description, bucket, fatal) in BUILTIN {
            c.xids.insert(
                *code,
                XidInfo {
                    code: *code,
                    mnemonic: mnemonic.to_string(),
                    description: description.to_string(),
                    bucket: bucket.to_string(),
                    investigatory: None,
                    fatal: Some(*fatal),
                },
            );
        }
        c.sources.push("builtin".into());
        c
    }

    pub fn get(&self, code: u32) -> Option<&XidInfo> {
        self.xids.get(&code)
    }

    pub fn len(&self) -> usize {
        self.xids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.xids.is_empty()
    }

    /// The definition text of a resolution bucket, when the buckets sheet was loaded.
    pub fn bucket_text(&self, bucket: &str) -> Option<&str> {
        self.buckets.get(bucket).map(String::as_str)
    }

    /// Loads NVIDIA's XID catalog (`xids.csv`): columns found by header (`Code`, `Mnemonic`,
    /// `Description`, `Resolution Bucket (Immediate Action)`, `Resolution Bucket (Investigatory
    /// Action)`). A code seen twice keeps its first row (the catalog lists variants). Entries
    /// replace built-in ones; fatal flags already known are kept. Returns the rows read.
    pub fn load_catalog_csv(&mut self, text: &str) -> Result<usize, CorrelateError> {
        const FILE: &str = "XID catalog";
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = rdr
            .headers()
            .map_err(|e| CorrelateError::Csv {
                file: FILE,
                line: 1,
                reason: e.to_string(),
            })?
            .clone();
        let col = |pred: &dyn Fn(&str) -> bool, name: &str| -> Result<usize, CorrelateError> {
            headers
                .iter()
                .position(|h| pred(&header_key(h)))
                .ok_or_else(|| CorrelateError::Csv {
                    file: FILE,
                    line: 1,
                    reason: format!("no '{name}' column in the header"),
                })
        };
        let c_code = col(&|h| h == "code", "Code")?;
        let c_mn = col(&|h| h == "mnemonic", "Mnemonic")?;
        let c_desc = col(&|h| h == "description", "Description")?;
        let c_imm = col(
            &|h| h.contains("immediate"),
            "Resolution Bucket (Immediate Action)",
        )?;
        let c_inv = headers
            .iter()
            .position(|h| header_key(h).contains("investigatory"));
        let mut seen = BTreeMap::new();
        let mut rows = 0;
        for rec in rdr.records() {
            let rec = rec.map_err(|e| CorrelateError::Csv {
                file: FILE,
                line: e.position().map(|p| p.line()).unwrap_or(0),
                reason: e.to_string(),
            })?;
            let code_text = rec.get(c_code).unwrap_or("").trim();
            if code_text.is_empty() {
                continue;
            }
            let code: u32 = code_text.parse().map_err(|_| CorrelateError::Csv {
                file: FILE,
                line: line_of(&rec),
                reason: format!("code '{code_text}' is not a number"),
            })?;
            rows += 1;
            if seen.insert(code, ()).is_some() {
                continue;
            }
            let field = |i: usize| rec.get(i).unwrap_or("").trim().to_string();
            let fatal = self.xids.get(&code).and_then(|x| x.fatal);
            let inv = c_inv.map(field).filter(|s| !s.is_empty());
            self.xids.insert(
                code,
                XidInfo {
                    code,
                    mnemonic: field(c_mn).split_whitespace().collect::<Vec<_>>().join(" "),
                    description: field(c_desc),
                    bucket: first_line(&field(c_imm)),
                    investigatory: inv,
                    fatal,
                },
            );
        }
        self.sources.push("xids.csv".into());
        Ok(rows)
    }

    /// Loads NVSentinel's `xiderrorsmapping.csv` (`xid,mnemonic,action,FATAL|NONFATAL`, no
    /// header): sets the fatal flag, and adds XIDs the catalog lacks (its action as bucket).
    pub fn load_nvsentinel_csv(&mut self, text: &str) -> Result<usize, CorrelateError> {
        const FILE: &str = "NVSentinel XID mapping";
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut rows = 0;
        for rec in rdr.records() {
            let rec = rec.map_err(|e| CorrelateError::Csv {
                file: FILE,
                line: e.position().map(|p| p.line()).unwrap_or(0),
                reason: e.to_string(),
            })?;
            let code_text = rec.get(0).unwrap_or("").trim();
            if code_text.is_empty() || code_text.eq_ignore_ascii_case("xid") {
                continue;
            }
            let code: u32 = code_text.parse().map_err(|_| CorrelateError::Csv {
                file: FILE,
                line: line_of(&rec),
                reason: format!("xid '{code_text}' is not a number"),
            })?;
            if rec.len() < 4 {
                return Err(CorrelateError::Csv {
                    file: FILE,
                    line: line_of(&rec),
                    reason: format!(
                        "expected 4 fields (xid,mnemonic,action,FATAL|NONFATAL), got {}",
                        rec.len()
                    ),
                });
            }
            let fatal = match rec
                .get(3)
                .unwrap_or("")
                .trim()
                .to_ascii_uppercase()
                .as_str()
            {
                "FATAL" => Some(true),
                "NONFATAL" => Some(false),
                _ => None,
            };
            rows += 1;
            let entry = self.xids.entry(code).or_insert_with(|| XidInfo {
                code,
                mnemonic: rec.get(1).unwrap_or("").trim().to_string(),
                description: String::new(),
                bucket: rec.get(2).unwrap_or("").trim().to_string(),
                investigatory: None,
                fatal: None,
            });
            if fatal.is_some() {
                entry.fatal = fatal;
            }
        }
        self.sources.push("xiderrorsmapping.csv".into());
        Ok(rows)
    }

    /// Loads the "Resolution Buckets" sheet (`Guidance Class,Resolution Action`).
    pub fn load_buckets_csv(&mut self, text: &str) -> Result<usize, CorrelateError> {
        const FILE: &str = "XID resolution buckets";
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut rows = 0;
        for rec in rdr.records() {
            let rec = rec.map_err(|e| CorrelateError::Csv {
                file: FILE,
                line: e.position().map(|p| p.line()).unwrap_or(0),
                reason: e.to_string(),
            })?;
            let name = rec.get(0).unwrap_or("").trim();
            if name.is_empty() {
                continue;
            }
            rows += 1;
            self.buckets
                .entry(name.to_string())
                .or_insert_with(|| rec.get(1).unwrap_or("").trim().to_string());
        }
        self.sources.push("resolution-buckets.csv".into());
        Ok(rows)
    }
}

/// The catalog's bucket cells sometimes carry a note after the name on further lines.
fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_knows_the_rules_xids() {
        let c = XidCatalog::builtin();
        let x = c.get(79).unwrap();
        assert_eq!(x.bucket, "RESTART_BM");
        assert_eq!(x.fatal, Some(true));
        assert!(x.actions().contains(&Action::RebootNode));
        assert!(c.get(45).is_some() && c.get(48).is_some());
    }

    #[test]
    fn parses_catalog_text_with_multiline_cells() {
        let text = "\"Type \n(XID)\",Code,Mnemonic,Description,\"Resolution Bucket \n(Immediate Action)\",\"Resolution Bucket \n(Investigatory Action)\"\n\
XID,79,ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS,GPU has fallen off the bus,RESTART_BM,CONTACT_SUPPORT\n\
XID,45,\"A /\nB\",Preemptive,WORKFLOW_XID_45,\"Solo: RESTART_FM\nNot Solo: IGNORE\"\n";
        let mut c = XidCatalog::new();
        assert_eq!(c.load_catalog_csv(text).unwrap(), 2);
        assert_eq!(c.get(79).unwrap().bucket, "RESTART_BM");
        assert_eq!(c.get(45).unwrap().mnemonic, "A / B");
        let bad = "Code,Mnemonic,Description,Resolution Bucket (Immediate Action)\nx,y,z,w\n";
        let e = XidCatalog::new()
            .load_catalog_csv(bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("'x'"), "{e}");
        let e = XidCatalog::new()
            .load_catalog_csv("a,b\n1,2\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Code"), "{e}");
    }

    #[test]
    fn parses_nvsentinel_mapping() {
        let mut c = XidCatalog::new();
        c.load_nvsentinel_csv(
            "79,ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS,RESTART_BM,FATAL\n43,X,IGNORE,NONFATAL\n",
        )
        .unwrap();
        assert_eq!(c.get(79).unwrap().fatal, Some(true));
        assert_eq!(c.get(43).unwrap().fatal, Some(false));
        assert!(c.load_nvsentinel_csv("12,short\n").is_err());
    }
}
