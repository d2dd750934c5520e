//! `getBackupDataSize`: how much a backup of each listed bundle would carry, reported through
//! `onBackupSizeReport` every 5 s with what finished since the last report, and once more at
//! once when the scan ends (ohos-behaviour.md §3.7).

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::device::Device;
use crate::engine;
use crate::protocol::{BundleTime, Event};

use super::capabilities::space_occupied;

/// The reference's cadence. `BACKUP_SIZE_REPORT_INTERVAL_MS` shortens it for tests.
fn interval() -> Duration {
    crate::settings::millis("BACKUP_SIZE_REPORT_INTERVAL_MS").unwrap_or(Duration::from_secs(5))
}

/// One bundle's result: -1 where the size is unknown (error, not installed, or an imprecise
/// scan's incremental size, which only a precise scan can tell).
#[derive(Debug, Clone, PartialEq)]
pub struct BundleSize {
    pub bundle: String,
    pub data_size: i64,
    pub inc_data_size: i64,
}

/// Imprecise: the sandbox's size, no profile, no hashing. Precise: what the profile's
/// includes/excludes select, and the bytes modified after `lastIncrementalTime`.
pub fn measure(device: &Device, t: &BundleTime, precise: bool) -> BundleSize {
    let unknown = BundleSize { bundle: t.name.clone(), data_size: -1, inc_data_size: -1 };
    let Some(b) = device.bundle(&t.name) else { return unknown };
    if !precise {
        let size = space_occupied(&b.sandbox) as i64;
        return BundleSize { data_size: if size == 0 { -1 } else { size }, ..unknown };
    }
    let (includes, excludes) = b.config.scan_lists(None);
    match engine::scan::scan(Path::new(&b.sandbox), &includes, &excludes) {
        Ok(entries) => {
            let files = entries.iter().filter(|e| !e.is_dir);
            let data: u64 = files.clone().map(|e| e.size).sum();
            let inc: u64 = files.filter(|e| e.mtime.0 > t.last_incremental_time).map(|e| e.size).sum();
            BundleSize { data_size: data as i64, inc_data_size: if t.last_incremental_time == 0 { -1 } else { inc as i64 }, ..unknown }
        }
        Err(_) => unknown,
    }
}

fn report(done: &[BundleSize], scanning: &str) -> String {
    let scaned: Vec<_> =
        done.iter().map(|s| json!({"bundleName": s.bundle, "dataSize": s.data_size, "incDataSize": s.inc_data_size})).collect();
    json!({"scaned": scaned, "scanning": scanning}).to_string()
}

/// Runs the scan on this thread, emitting the periodic reports; returns the final one.
pub fn run(device: &Device, list: &[BundleTime], precise: bool, emit: &dyn Fn(Event)) -> String {
    let (tx, rx) = mpsc::channel::<(Option<BundleSize>, String)>();
    let work_device = device.clone();
    let work_list = list.to_vec();
    let worker = std::thread::spawn(move || {
        for (i, t) in work_list.iter().enumerate() {
            let _ = tx.send((None, t.name.clone()));
            let size = measure(&work_device, t, precise);
            let next = work_list.get(i + 1).map(|n| n.name.clone()).unwrap_or_default();
            let _ = tx.send((Some(size), next));
        }
    });
    let every = interval();
    let mut pending = Vec::new();
    let mut scanning = list.first().map(|t| t.name.clone()).unwrap_or_default();
    let mut next_report = Instant::now() + every;
    loop {
        match rx.recv_timeout(next_report.saturating_duration_since(Instant::now())) {
            Ok((done, now_scanning)) => {
                pending.extend(done);
                scanning = now_scanning;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                emit(Event::BackupSizeReport(report(&std::mem::take(&mut pending), &scanning)));
                next_report += every;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = worker.join();
    report(&pending, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_shape_uses_bundle_name() {
        let r = report(&[BundleSize { bundle: "com.a.bbbbbb".into(), data_size: 5, inc_data_size: -1 }], "");
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        assert_eq!(v["scaned"][0]["bundleName"], "com.a.bbbbbb");
        assert_eq!(v["scaned"][0]["dataSize"], 5);
        assert_eq!(v["scanning"], "");
    }

    #[test]
    fn unknown_bundles_are_minus_one() {
        let d = Device::open(std::env::temp_dir().join("no-such-device-for-size-scan"));
        let s = measure(&d, &BundleTime { name: "com.example.none".into(), last_incremental_time: 0 }, true);
        assert_eq!((s.data_size, s.inc_data_size), (-1, -1));
    }
}
