//! Follows the kernel log for the NVIDIA driver's XID lines.
//!
//! `/dev/kmsg` gives one record per read; opened, it starts at the oldest record still in the
//! ring buffer, so the reader first seeks to the end (only XIDs from now on are news: older ones
//! were the previous agent's). A record overwritten before it was read makes the next read fail
//! with `EPIPE`; the reader goes on with the next one. Any other file (a saved `dmesg`, a
//! syslog) is read line by line from its start, which is how the parser is tested.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use fleet_telemetry::kmsg::{parse_line, XidEvent};

/// Reads `path` in a thread of its own and sends each XID line as an event until `tx` closes
/// or, for a regular file, at its end. `from_end`: skip what is there now (`/dev/kmsg`).
pub fn follow(
    path: &Path,
    from_end: bool,
    tx: tokio::sync::mpsc::Sender<XidEvent>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let mut file = std::fs::File::open(path)?;
    if from_end {
        file.seek(SeekFrom::End(0))?;
    }
    let name = path.display().to_string();
    Ok(std::thread::Builder::new()
        .name("kmsg".into())
        .spawn(move || {
            let mut r = BufReader::new(file);
            let mut line = String::new();
            loop {
                line.clear();
                match r.read_line(&mut line) {
                    Ok(0) => {
                        tracing::info!(file = %name, "end of the log");
                        return;
                    }
                    Ok(_) => {
                        if let Some(ev) = parse_line(&line) {
                            if tx.blocking_send(ev).is_err() {
                                return;
                            }
                        }
                    }
                    // A record overwritten before it was read.
                    Err(e) if e.raw_os_error() == Some(32) => continue,
                    // Not text: skip the record.
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => continue,
                    Err(e) => {
                        tracing::error!(file = %name, error = %e, "kernel log no longer readable");
                        return;
                    }
                }
            }
        })
        .expect("spawn the kmsg thread"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[tokio::test]
    async fn xid_lines_of_a_log_file_arrive_in_order_and_the_rest_is_skipped() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "6,1200,5001234,-;usb 1-1: new high-speed USB device").unwrap();
        writeln!(f, "4,1201,5002000,-;NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python3, GPU has fallen off the bus.").unwrap();
        writeln!(f, " SUBSYSTEM=pci").unwrap();
        writeln!(f, "[  123.456789] NVRM: Xid (PCI:0000:86:00): 48, pid='<unknown>', name=<unknown>, An uncorrectable double bit error").unwrap();
        f.flush().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let t = follow(f.path(), false, tx).unwrap();
        let a = rx.recv().await.unwrap();
        assert_eq!(
            (a.xid, a.pci.as_str(), a.kmsg_seq),
            (79, "0000:3b:00", Some(1201))
        );
        assert_eq!(a.dcgm_pci_bus_id().as_deref(), Some("00000000:3B:00.0"));
        let b = rx.recv().await.unwrap();
        assert_eq!((b.xid, b.process), (48, None));
        assert!(rx.recv().await.is_none(), "two XID lines, nothing else");
        t.join().unwrap();
    }

    #[tokio::test]
    async fn from_the_end_only_new_lines_count() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "4,1,1,-;NVRM: Xid (PCI:0000:3b:00): 13, Graphics Exception"
        )
        .unwrap();
        f.flush().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        follow(f.path(), true, tx).unwrap().join().unwrap();
        assert!(rx.recv().await.is_none());
    }
}
