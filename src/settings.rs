//! The service's settings from the caller's environment: `BACKUP_*` variables and
//! `XDG_DATA_HOME`, as the calling JS code sees them in `process.env`.
//!
//! They cannot be read from the process environment alone: Jest (and any vm sandbox) gives
//! each test file its own copy of `process.env`, so a test that sets `BACKUP_DEVICE_ROOT`
//! never changes the real environment. index.js therefore hands over a snapshot of those
//! variables before each call; once one was handed over, it is the only truth for them.

use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::RwLock;
use std::time::Duration;

static SNAPSHOT: RwLock<Option<HashMap<String, String>>> = RwLock::new(None);

/// Whether `name` is one of the variables the snapshot covers.
pub fn covered(name: &str) -> bool {
    name.starts_with("BACKUP_") || name == "XDG_DATA_HOME"
}

/// Replaces the snapshot (only covered names are kept).
pub fn set_snapshot(vars: HashMap<String, String>) {
    let vars = vars.into_iter().filter(|(k, _)| covered(k)).collect();
    *SNAPSHOT.write().unwrap_or_else(|p| p.into_inner()) = Some(vars);
}

/// The covered variables as the service should see them: the snapshot, else the environment.
pub fn snapshot() -> HashMap<String, String> {
    if let Some(m) = SNAPSHOT.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
        return m.clone();
    }
    std::env::vars().filter(|(k, _)| covered(k)).collect()
}

/// A variable: from the snapshot for covered names once one exists, else the environment.
pub fn var_os(name: &str) -> Option<OsString> {
    if covered(name) {
        if let Some(m) = SNAPSHOT.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return m.get(name).map(OsString::from);
        }
    }
    std::env::var_os(name)
}

pub fn var(name: &str) -> Option<String> {
    var_os(name).and_then(|v| v.into_string().ok())
}

/// A duration in milliseconds (test hooks for the reference's timers).
pub fn millis(name: &str) -> Option<Duration> {
    var(name)?.trim().parse::<u64>().ok().map(Duration::from_millis)
}
