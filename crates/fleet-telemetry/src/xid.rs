//! The XID catalog: what an XID code means, its resolution bucket and how it weighs on health.
//!
//! The full catalog is read from CSV text the caller passes in (never embedded):
//! - NVIDIA's Xid catalog, sheet "Xids" (`xids.csv`: Type, Code, Mnemonic, Description, …,
//!   Resolution Bucket (Immediate Action), Resolution Bucket (Investigatory Action), …), the table
//!   behind <https://docs.nvidia.com/deploy/xid-errors/analyzing-xid-catalog.html>;
//! - its sheet "Resolution Buckets" (`resolution-buckets.csv`: Guidance Class, Resolution Action);
//! - NVSentinel's `xiderrorsmapping.csv` (`xid,mnemonic,recommended_action,FATAL|NONFATAL`).
//!
//! [`XidCatalog::builtin`] is a small fallback of well-known XIDs used when no catalog is loaded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How an XID weighs on a GPU's derived health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum XidSeverity {
    /// No action required (catalog bucket `IGNORE`): not a health reason.
    Ignore,
    /// The application or a workflow must act; the GPU is degraded for a while.
    Degraded,
    /// The GPU needs a reset, a reboot or service: failed until cleared.
    Failed,
}

/// One XID code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XidInfo {
    pub code: u32,
    pub mnemonic: String,
    pub description: String,
    /// Resolution bucket, immediate action (e.g. `RESET_GPU`, `RESTART_BM`, `RESTART_APP`).
    pub bucket: String,
    /// Resolution bucket, investigatory action, where the catalog gives one.
    pub investigatory: Option<String>,
    /// NVSentinel's FATAL/NONFATAL flag, where known.
    pub fatal: Option<bool>,
    pub severity: XidSeverity,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum XidCatalogError {
    #[error("{file}: {message}")]
    Header { file: &'static str, message: String },
    #[error("{file} record {record}: {message}")]
    Record {
        file: &'static str,
        record: usize,
        message: String,
    },
}

/// The severity a resolution bucket implies.
pub fn severity_of_bucket(bucket: &str) -> XidSeverity {
    let b = bucket.trim();
    if b.starts_with("IGNORE") || b.starts_with("N/A") {
        return XidSeverity::Ignore;
    }
    match b {
        "RESET_GPU"
        | "RESTART_BM"
        | "RESTART_VM"
        | "CONTACT_SUPPORT"
        | "CHECK_MECHANICALS"
        | "WORKFLOW_XID_48"
        | "WORKFLOW_NVLINK_ERR"
        | "WORKFLOW_NVLINK5_ERR"
        | "UPDATE_SWFW"
        | "UNEXPECTED_ERR_REPORT_ISSUE" => XidSeverity::Failed,
        _ => XidSeverity::Degraded,
    }
}

/// The catalog: codes and bucket texts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XidCatalog {
    pub xids: BTreeMap<u32, XidInfo>,
    /// Bucket name → its resolution text.
    pub buckets: BTreeMap<String, String>,
}

/// `(code, mnemonic, description, immediate bucket, fatal)`.
type Builtin = (u32, &'static str, &'static str, &'static str, bool);

/// Well-known XIDs, written from NVIDIA's "Xid Errors" documentation
/// (<https://docs.nvidia.com/deploy/xid-errors/index.html>, catalog table) and NVSentinel's
/// XID mapping (github.com/NVIDIA/NVSentinel, `gpu-health-monitor/xiderrorsmapping.csv`).
const BUILTIN: &[Builtin] = &[
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

impl XidCatalog {
    /// The fallback table of well-known XIDs.
    pub fn builtin() -> Self {
        let xids = BUILTIN
            .iter()
            .map(|&(code, mnemonic, description, bucket, fatal)| {
                (
                    code,
                    XidInfo {
                        code,
                        mnemonic: mnemonic.into(),
                        description: description.into(),
                        bucket: bucket.into(),
                        investigatory: None,
                        fatal: Some(fatal),
                        severity: severity_from(bucket, Some(fatal)),
                    },
                )
            })
            .collect();
        Self {
            xids,
            buckets: BTreeMap::new(),
        }
    }

    /// Builds the catalog from the catalog's "Xids" CSV, optionally its "Resolution Buckets"
    /// CSV and NVSentinel's mapping (which adds the fatal flag and fills codes the catalog lacks).
    pub fn from_csv(
        xids_csv: &str,
        buckets_csv: Option<&str>,
        nvsentinel_csv: Option<&str>,
    ) -> Result<Self, XidCatalogError> {
        let mut xids: BTreeMap<u32, XidInfo> = parse_xids_csv(xids_csv)?
            .into_iter()
            .map(|x| (x.code, x))
            .collect();
        if let Some(text) = nvsentinel_csv {
            for (code, mnemonic, action, fatal) in parse_nvsentinel_csv(text)? {
                let entry = xids.entry(code).or_insert_with(|| XidInfo {
                    code,
                    mnemonic: mnemonic.clone(),
                    description: String::new(),
                    bucket: action.clone(),
                    investigatory: None,
                    fatal: None,
                    severity: XidSeverity::Degraded,
                });
                if entry.bucket.is_empty() {
                    entry.bucket = action;
                }
                entry.fatal = Some(fatal);
                entry.severity = severity_from(&entry.bucket, entry.fatal);
            }
        }
        let buckets = match buckets_csv {
            Some(t) => parse_buckets_csv(t)?,
            None => BTreeMap::new(),
        };
        Ok(Self { xids, buckets })
    }

    pub fn get(&self, code: u32) -> Option<&XidInfo> {
        self.xids.get(&code)
    }

    /// The entry for `code`, or a placeholder (degraded) for a code the catalog does not know.
    pub fn lookup(&self, code: u32) -> XidInfo {
        self.get(code).cloned().unwrap_or_else(|| XidInfo {
            code,
            mnemonic: "UNKNOWN".into(),
            description: format!("XID {code} is not in the loaded catalog"),
            bucket: String::new(),
            investigatory: None,
            fatal: None,
            severity: XidSeverity::Degraded,
        })
    }

    /// The resolution text of a bucket.
    pub fn bucket_text(&self, bucket: &str) -> Option<&str> {
        self.buckets.get(bucket).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.xids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.xids.is_empty()
    }
}

fn severity_from(bucket: &str, fatal: Option<bool>) -> XidSeverity {
    match (fatal, severity_of_bucket(bucket)) {
        (Some(true), _) => XidSeverity::Failed,
        (Some(false), XidSeverity::Failed) => XidSeverity::Degraded,
        (_, s) => s,
    }
}

fn norm_header(h: &str) -> String {
    h.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

fn reader(text: &str, has_headers: bool) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(has_headers)
        .flexible(true)
        .from_reader(text.as_bytes())
}

/// Parses the catalog's "Xids" sheet exported as CSV (multi-line cells quoted).
pub fn parse_xids_csv(text: &str) -> Result<Vec<XidInfo>, XidCatalogError> {
    const FILE: &str = "xids.csv";
    let mut rdr = reader(text, true);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| XidCatalogError::Header {
            file: FILE,
            message: e.to_string(),
        })?
        .iter()
        .map(norm_header)
        .collect();
    let col = |pred: &dyn Fn(&str) -> bool, name: &str| {
        headers
            .iter()
            .position(|h| pred(h))
            .ok_or_else(|| XidCatalogError::Header {
                file: FILE,
                message: format!("no {name} column (headers: {headers:?})"),
            })
    };
    let c_code = col(&|h| h == "code", "Code")?;
    let c_mn = col(&|h| h == "mnemonic", "Mnemonic")?;
    let c_desc = col(&|h| h == "description", "Description")?;
    let c_imm = col(
        &|h| h.contains("immediate"),
        "Resolution Bucket (Immediate Action)",
    )?;
    let c_inv = headers.iter().position(|h| h.contains("investigatory"));
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let record = i + 2;
        let rec = rec.map_err(|e| XidCatalogError::Record {
            file: FILE,
            record,
            message: e.to_string(),
        })?;
        let get = |c: usize| rec.get(c).unwrap_or("").trim();
        let code: u32 = get(c_code).parse().map_err(|_| XidCatalogError::Record {
            file: FILE,
            record,
            message: format!("code {:?} is not a number", get(c_code)),
        })?;
        let bucket = get(c_imm).to_string();
        let investigatory = c_inv.map(get).filter(|s| !s.is_empty()).map(String::from);
        out.push(XidInfo {
            code,
            mnemonic: get(c_mn).split_whitespace().collect::<Vec<_>>().join(" "),
            description: get(c_desc).to_string(),
            severity: severity_from(&bucket, None),
            bucket,
            investigatory,
            fatal: None,
        });
    }
    Ok(out)
}

/// Parses the "Resolution Buckets" sheet: bucket → resolution text.
pub fn parse_buckets_csv(text: &str) -> Result<BTreeMap<String, String>, XidCatalogError> {
    const FILE: &str = "resolution-buckets.csv";
    let mut rdr = reader(text, true);
    let mut out = BTreeMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| XidCatalogError::Record {
            file: FILE,
            record: i + 2,
            message: e.to_string(),
        })?;
        let name = rec.get(0).unwrap_or("").trim();
        if !name.is_empty() {
            out.entry(name.to_string())
                .or_insert_with(|| rec.get(1).unwrap_or("").trim().to_string());
        }
    }
    Ok(out)
}

/// Parses NVSentinel's `xid,mnemonic,recommended_action,FATAL|NONFATAL` (no header).
pub fn parse_nvsentinel_csv(
    text: &str,
) -> Result<Vec<(u32, String, String, bool)>, XidCatalogError> {
    const FILE: &str = "xiderrorsmapping.csv";
    let mut rdr = reader(text, false);
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let record = i + 1;
        let err = |message: String| XidCatalogError::Record {
            file: FILE,
            record,
            message,
        };
        let rec = rec.map_err(|e| err(e.to_string()))?;
        if rec.len() < 4 {
            return Err(err(format!("expected 4 columns, found {}", rec.len())));
        }
        let code = rec[0].trim();
        let code: u32 = code
            .parse()
            .map_err(|_| err(format!("xid {code:?} is not a number")))?;
        let fatal = match rec[3].trim() {
            "FATAL" => true,
            "NONFATAL" => false,
            other => return Err(err(format!("expected FATAL or NONFATAL, found {other:?}"))),
        };
        out.push((code, rec[1].trim().into(), rec[2].trim().into(), fatal));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_well_known() {
        let c = XidCatalog::builtin();
        assert_eq!(c.get(79).unwrap().severity, XidSeverity::Failed);
        assert_eq!(c.get(79).unwrap().bucket, "RESTART_BM");
        assert_eq!(c.get(13).unwrap().severity, XidSeverity::Degraded);
        assert_eq!(c.get(63).unwrap().severity, XidSeverity::Ignore);
        assert_eq!(c.get(48).unwrap().severity, XidSeverity::Failed);
        assert_eq!(c.lookup(9999).severity, XidSeverity::Degraded);
        assert_eq!(c.len(), 13);
    }

    #[test]
    fn parses_csv_texts() {
        let xids = "\"Type \n(XID)\",Code,Mnemonic,Description,\"Resolution Bucket \n(Immediate Action)\",\"Resolution Bucket \n(Investigatory Action)\"\n\
XID,79,ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS,GPU has fallen off the bus,RESTART_BM,CONTACT_SUPPORT\n\
XID,13,\"ROBUST_CHANNEL_GR_EXCEPTION /\nROBUST_CHANNEL_GR_ERROR_SW_NOTIFY\",Graphics Engine Exception,RESTART_APP,\n\
XID,63,X,Remap event,IGNORE,IGNORE\n";
        let buckets = "Guidance Class,Resolution Action\nRESTART_BM,\"Restart bare metal\"\n";
        let nvs = "79,ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS,RESTART_BM,FATAL\n200,NEW_ONE,RESET_GPU,FATAL\n13,X,RESTART_APP,NONFATAL\n";
        let c = XidCatalog::from_csv(xids, Some(buckets), Some(nvs)).unwrap();
        assert_eq!(c.len(), 4);
        let x79 = c.get(79).unwrap();
        assert_eq!(x79.investigatory.as_deref(), Some("CONTACT_SUPPORT"));
        assert_eq!(x79.fatal, Some(true));
        assert_eq!(x79.severity, XidSeverity::Failed);
        assert_eq!(
            c.get(13).unwrap().mnemonic,
            "ROBUST_CHANNEL_GR_EXCEPTION / ROBUST_CHANNEL_GR_ERROR_SW_NOTIFY"
        );
        assert_eq!(c.get(63).unwrap().severity, XidSeverity::Ignore);
        assert_eq!(c.get(200).unwrap().severity, XidSeverity::Failed);
        assert_eq!(c.bucket_text("RESTART_BM"), Some("Restart bare metal"));
    }

    #[test]
    fn csv_errors_name_the_problem() {
        let e = parse_xids_csv("A,B\n1,2\n").unwrap_err();
        assert!(e.to_string().contains("no Code column"), "{e}");
        let e = parse_xids_csv("Code,Mnemonic,Description,Immediate\nx,a,b,c\n").unwrap_err();
        assert!(e.to_string().contains("record 2"), "{e}");
        let e = parse_nvsentinel_csv("1,a,b,MAYBE\n").unwrap_err();
        assert!(e.to_string().contains("FATAL or NONFATAL"), "{e}");
        assert!(parse_nvsentinel_csv("1,a\n").is_err());
    }
}
