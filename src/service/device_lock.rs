//! The one-session rule across processes. The active session of a device holds an exclusive
//! `flock` on `<root>/service/session.lock`. The file names the holder, for the conflict
//! message of a session opened elsewhere. The kernel drops the lock when the holder's
//! process dies, so a crashed script never leaves a device blocked.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde_json::{json, Value};

use crate::protocol::SessionKind;

/// Who holds a device's session.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub caller: String,
    pub since: SystemTime,
    /// "BACKUP", "RESTORE" (the reference's scenario names).
    pub scenario: String,
}

pub struct DeviceLock {
    _lock: Flock<File>,
}

pub enum Acquire {
    Held(DeviceLock),
    /// Another process holds the device.
    Conflict(Holder),
    /// The lock file cannot be used (a read-only root, say): the rule then holds within this
    /// process only, as before the lock existed.
    Unavailable,
}

impl DeviceLock {
    pub fn acquire(service_dir: &Path, caller: &str, since: SystemTime, kind: SessionKind) -> Acquire {
        let path = service_dir.join("session.lock");
        let Ok(file) = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path) else {
            return Acquire::Unavailable;
        };
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut lock) => {
                let ms = since.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
                let text = json!({"name": caller, "since": ms, "scenario": kind.scenario()}).to_string();
                // Written in one call after truncation; a reader retries a torn read.
                let _ = lock.set_len(0).and_then(|_| lock.seek(SeekFrom::Start(0))).and_then(|_| lock.write_all(text.as_bytes()));
                Acquire::Held(DeviceLock { _lock: lock })
            }
            Err((file, Errno::EWOULDBLOCK)) => Acquire::Conflict(read_holder(file)),
            Err(_) => Acquire::Unavailable,
        }
    }
}

/// The holder named in the lock file; the holder may be writing it, so a torn read is retried.
fn read_holder(mut file: File) -> Holder {
    for _ in 0..20 {
        let mut text = String::new();
        let parsed = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_string(&mut text))
            .ok()
            .and_then(|_| serde_json::from_str::<Value>(&text).ok());
        if let Some(v) = parsed {
            let since = v.get("since").and_then(Value::as_u64).map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
            if let (Some(caller), Some(since), Some(scenario)) =
                (v.get("name").and_then(Value::as_str), since, v.get("scenario").and_then(Value::as_str))
            {
                return Holder { caller: caller.to_string(), since, scenario: scenario.to_string() };
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Holder { caller: "another process".into(), since: SystemTime::now(), scenario: "BACKUP".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_learns_who_holds_the_device_until_it_lets_go() {
        let dir = std::env::temp_dir().join(format!("device-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let since = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let Acquire::Held(first) = DeviceLock::acquire(&dir, "node[42]", since, SessionKind::Restore) else { panic!("free device") };
        // flock conflicts between open file descriptions, even within one process.
        match DeviceLock::acquire(&dir, "other[7]", SystemTime::now(), SessionKind::Backup) {
            Acquire::Conflict(h) => assert_eq!(h, Holder { caller: "node[42]".into(), since, scenario: "RESTORE".into() }),
            _ => panic!("expected a conflict"),
        }
        drop(first);
        assert!(matches!(DeviceLock::acquire(&dir, "other[7]", SystemTime::now(), SessionKind::Backup), Acquire::Held(_)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
