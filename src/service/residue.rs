//! What a dead service leaves behind. While a bundle runs, `<root>/service/residue/<name>`
//! records that its work area holds the service's temp data; the bundle's normal end removes
//! the mark. A service that starts clears the work area of every bundle still marked (the
//! reference's CLEAN session after the SA restarts, ohos-behaviour.md §1.1).

use std::path::PathBuf;

use crate::device::Device;
use crate::engine;

fn dir(device: &Device) -> Option<PathBuf> {
    device.service_dir().ok().map(|d| d.join("residue"))
}

/// The bundle's work area is about to hold temp data.
pub fn mark(device: &Device, bundle: &str) {
    if let Some(d) = dir(device) {
        let _ = std::fs::create_dir_all(&d).and_then(|_| std::fs::write(d.join(bundle), b""));
    }
}

/// The bundle ended and left only what it meant to leave.
pub fn unmark(device: &Device, bundle: &str) {
    if let Some(d) = dir(device) {
        let _ = std::fs::remove_file(d.join(bundle));
    }
}

/// Clears the work areas a dead service left (at the start of a service).
pub fn clear(device: &Device) {
    let Some(d) = dir(device) else { return };
    let Ok(entries) = std::fs::read_dir(&d) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(b) = device.bundle(&name) {
            let _ = engine::restore::clear_work_area(&b.sandbox);
        }
        let _ = std::fs::remove_file(e.path());
    }
}
