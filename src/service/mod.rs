//! The backup service of one device root: it owns the one active session, answers the
//! module-level requests, and runs sessions' bundles through the engine. It knows nothing
//! of JavaScript.

pub mod capabilities;
mod device_lock;
pub mod extension;
pub mod hooks;
pub mod infos;
pub mod rate;
pub mod session;
pub mod size_scan;

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::SystemTime;

use crate::device::Device;
use crate::engine;
use crate::error::*;
use crate::protocol::{Reply, Request, SessionKind};

pub use session::{EventSink, Session};

/// Who holds the device's one session, for the conflict message.
struct Active {
    session: Weak<Session>,
    caller: String,
    since: SystemTime,
    /// Holds the device against other processes while the session lives.
    _lock: Option<device_lock::DeviceLock>,
}

/// State shared by a device's service and its sessions.
pub struct ServiceCore {
    device: Device,
    active: Mutex<Option<Active>>,
}

impl ServiceCore {
    /// Called when a session is released and has drained: the device is free again.
    pub(crate) fn deactivate(&self, session: &Session) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = active.as_ref() {
            if std::ptr::eq(a.session.as_ptr(), session) {
                *active = None;
            }
        }
    }

    /// The service "dies": the active session learns it, and the device is free for the
    /// next session, as after the SA restarts.
    fn stop(&self) -> bool {
        let active = self.active.lock().unwrap_or_else(|p| p.into_inner()).take();
        match active.and_then(|a| a.session.upgrade()) {
            Some(s) => {
                s.service_died();
                true
            }
            None => false,
        }
    }

    fn active_session(&self) -> Option<Arc<Session>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner()).as_ref().and_then(|a| a.session.upgrade())
    }
}

#[derive(Clone)]
pub struct Service {
    core: Arc<ServiceCore>,
}

/// One service per device root in this process, as one backup SA serves a whole device.
fn registry() -> &'static Mutex<HashMap<PathBuf, Arc<ServiceCore>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Arc<ServiceCore>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl Service {
    pub fn for_device(device: Device) -> Service {
        let key = std::fs::canonicalize(device.root()).unwrap_or_else(|_| device.root().to_path_buf());
        let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
        let core = reg.entry(key).or_insert_with(|| Arc::new(ServiceCore { device, active: Mutex::new(None) })).clone();
        Service { core }
    }

    pub fn device(&self) -> &Device {
        &self.core.device
    }

    /// Opens the device's one session; a second one while it lives is a conflict (13500013)
    /// whose message is the reference's JSON.
    pub fn open_session(&self, kind: SessionKind, caller: &str, sink: EventSink) -> BizResult<Arc<Session>> {
        // A session whose release() is on its way gets a moment to let go: the requests of
        // one caller are served in order on a device, and `release(); new Session…` in a
        // script must not fail by a race.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.core.active_session().is_some_and(|s| s.release_requested()) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let mut active = self.core.active.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = active.as_ref() {
            if let Some(s) = a.session.upgrade() {
                return Err(BizError {
                    code: E_SESSION_CONFLICT,
                    message: conflict_message(&a.caller, a.since, s.kind.scenario()),
                    data: None,
                });
            }
        }
        // A session that vanished without letting go: its lock goes before a new one is
        // taken (two locks of one process conflict too).
        *active = None;
        let since = SystemTime::now();
        let lock = match self.core.device.service_dir() {
            Ok(dir) => match device_lock::DeviceLock::acquire(&dir, caller, since, kind) {
                device_lock::Acquire::Held(l) => Some(l),
                device_lock::Acquire::Conflict(h) => {
                    return Err(BizError {
                        code: E_SESSION_CONFLICT,
                        message: conflict_message(&h.caller, h.since, &h.scenario),
                        data: None,
                    })
                }
                device_lock::Acquire::Unavailable => None,
            },
            Err(_) => None,
        };
        let session = Session::new(kind, self.core.device.clone(), self.core.clone(), sink);
        *active = Some(Active { session: Arc::downgrade(&session), caller: caller.to_string(), since, _lock: lock });
        Ok(session)
    }

    /// Requests that are not tied to a session object.
    pub fn handle(&self, req: Request) -> BizResult<Reply> {
        match req {
            Request::LocalCapabilities { incremental } => {
                let caps = capabilities::build(self.device(), capabilities::Variant::Module, incremental.as_deref());
                capability_fd(self.device(), &caps).map(Reply::Fd)
            }
            // Timers and the send rate act on a running bundle of the active session; the
            // extension host work (issue 4) extends these.
            Request::UpdateSendRate { bundle, rate } => {
                Ok(Reply::Bool(self.core.active_session().map(|s| s.update_send_rate(&bundle, rate)).unwrap_or(false)))
            }
            Request::UpdateTimer { bundle, timeout_ms } => {
                Ok(Reply::Bool(self.core.active_session().map(|s| s.update_timer(&bundle, timeout_ms)).unwrap_or(false)))
            }
            Request::GetBackupInfo { bundle } => Ok(Reply::Text(self.backup_info(&bundle))),
            Request::StopService => Ok(Reply::Bool(self.core.stop())),
            other => Err(BizError::with_detail(E_INVAL, format!("{other:?} needs a session"))),
        }
    }
}

impl Service {
    /// `getBackupInfo`: starts the app's extension, asks its `getBackupInfo()` (at most 25 s
    /// to start and 25 s to answer, as the reference waits), and stops it again. `None`
    /// (undefined in JS) when the bundle is unknown or the extension fails; "" when the app
    /// has no extension module or returns nothing.
    fn backup_info(&self, bundle: &str) -> Option<String> {
        let b = self.device().bundle(bundle)?;
        let Some(src) = b.extension.as_ref()?.src_entry.clone() else { return Some(String::new()) };
        let ask = |host: &extension::Host| host.call("getBackupInfo", serde_json::json!([]), std::time::Duration::from_secs(25));
        // A bundle running in the active session is asked through its own extension, so
        // the app sees one instance, as on the device; otherwise one is started for the call.
        let answer = match self.core.active_session().and_then(|s| s.running_host(bundle)) {
            Some(host) => ask(&host),
            None => {
                let version = serde_json::json!({"code": b.version_code, "name": b.version_name});
                let host = extension::Host::spawn(&b, &b.bundle_dir.join(src), &version).ok()?;
                host.wait_ready(extension::connect_timeout()).ok()?;
                let answer = ask(&host);
                host.stop(std::time::Duration::from_secs(1));
                answer
            }
        };
        match answer {
            extension::CallResult::Value { value, .. } => Some(value.unwrap_or_default()),
            _ => None,
        }
    }
}

/// Writes a capability JSON into an anonymous file of the service and returns a readable fd
/// at offset 0.
pub(crate) fn capability_fd(device: &Device, caps: &serde_json::Value) -> BizResult<OwnedFd> {
    use std::io::Write;
    let io = |e: std::io::Error| BizError::from_io(&e);
    let dir = device.service_dir().map_err(io)?;
    let mut f = engine::anon::anonymous_file(&dir).map_err(io)?;
    f.write_all(capabilities::to_text(caps).as_bytes()).map_err(io)?;
    Ok(engine::anon::reopen_read_only(&f).map_err(io)?.into())
}

/// The reference's session-conflict message: pretty JSON naming the holder.
fn conflict_message(caller: &str, since: SystemTime, scenario: &str) -> String {
    let v = serde_json::json!({"sessionInfo": {
        "error": "Session Conflict",
        "userId": "100",
        "name": caller,
        "activeTime": format_local_time(since),
        "scenario": scenario,
    }});
    serde_json::to_string_pretty(&v).expect("a Value serialises")
}

/// "YYYY-MM-DD HH:MM:SS:mmm" in UTC.
fn format_local_time(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}:{:03}", rem / 3600, rem % 3600 / 60, rem % 60, d.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_107_870_123);
        assert_eq!(format_local_time(t), "2023-11-16 04:11:10:123");
    }

    #[test]
    fn conflict_message_is_the_reference_json() {
        let m = conflict_message("node", SystemTime::UNIX_EPOCH, "RESTORE");
        let v: serde_json::Value = serde_json::from_str(&m).unwrap();
        assert_eq!(v["sessionInfo"]["error"], "Session Conflict");
        assert_eq!(v["sessionInfo"]["scenario"], "RESTORE");
    }
}
