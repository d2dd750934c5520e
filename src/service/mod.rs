//! The backup service of one device root: it owns the one active session, answers the
//! module-level requests, and runs sessions' bundles through the engine. It knows nothing
//! of JavaScript.

pub mod capabilities;
mod device_lock;
pub mod extension;
pub mod handed;
pub mod hooks;
pub mod infos;
pub mod rate;
mod residue;
pub mod server;
pub mod session;
pub mod size_scan;
mod stop;

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Instant, SystemTime};

use crate::device::Device;
use crate::engine;
use crate::error::*;
use crate::protocol::{Holder, ModuleReply, ModuleRequest, ServiceStatus, SessionKind};

pub use session::{EventSink, Outgoing, Session};

/// Who holds the device's one session, for the conflict message.
struct Active {
    session: Weak<Session>,
    caller: String,
    since: SystemTime,
    kind: SessionKind,
    /// Holds the device against other processes while the session lives.
    _lock: Option<device_lock::DeviceLock>,
}

/// State shared by a device's service and its sessions.
pub struct ServiceCore {
    device: Device,
    active: Mutex<Option<Active>>,
    /// Notified when the device becomes free.
    freed: Condvar,
    started: Instant,
}

impl ServiceCore {
    /// Called when a session is released and has drained: the device is free again.
    pub(crate) fn deactivate(&self, session: &Session) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = active.as_ref() {
            if std::ptr::eq(a.session.as_ptr(), session) {
                *active = None;
                self.freed.notify_all();
            }
        }
    }

    /// The service "dies": the active session learns it, and the device is free for the
    /// next session, as after the SA restarts.
    fn stop(&self) -> bool {
        let active = self.active.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.freed.notify_all();
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
        let core = reg
            .entry(key)
            .or_insert_with(|| Arc::new(ServiceCore { device, active: Mutex::new(None), freed: Condvar::new(), started: Instant::now() }))
            .clone();
        Service { core }
    }

    pub fn device(&self) -> &Device {
        &self.core.device
    }

    /// Opens the device's one session; a second one while it lives is a conflict (13500013)
    /// whose message is the reference's JSON. `releasing`: sessions of the same client whose
    /// `release()` is on its way; they get a moment to let go, as one caller's requests are
    /// served in order on a device and `release(); new Session…` must not fail by a race.
    pub fn open_session(&self, kind: SessionKind, caller: &str, sink: EventSink, releasing: &[u64]) -> BizResult<Arc<Session>> {
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let mut active = self.core.active.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let letting_go = active.as_ref().and_then(|a| a.session.upgrade()).is_some_and(|s| releasing.contains(&s.token));
            let left = deadline.saturating_duration_since(Instant::now());
            if !letting_go || left.is_zero() {
                break;
            }
            active = self.core.freed.wait_timeout(active, left).unwrap_or_else(|p| p.into_inner()).0;
        }
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
                device_lock::Acquire::Held(l) => {
                    // No session lives anywhere on this device: marks are a dead one's.
                    residue::clear(&self.core.device);
                    Some(l)
                }
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
        static TOKENS: AtomicU64 = AtomicU64::new(1);
        let token = TOKENS.fetch_add(1, Ordering::Relaxed);
        let session = Session::new(kind, token, self.core.device.clone(), self.core.clone(), sink);
        *active = Some(Active { session: Arc::downgrade(&session), caller: caller.to_string(), since, kind, _lock: lock });
        Ok(session)
    }

    /// Requests that are not tied to a session.
    pub fn module(&self, req: ModuleRequest) -> ModuleReply {
        match req {
            ModuleRequest::LocalCapabilities { incremental } => {
                let caps = capabilities::build(self.device(), capabilities::Variant::Module, incremental.as_deref());
                ModuleReply::LocalCapabilities(capability_fd(self.device(), &caps).map(crate::protocol::WireFd))
            }
            // Timers and the send rate act on a running bundle of the active session.
            ModuleRequest::UpdateSendRate { bundle, rate } => {
                ModuleReply::UpdateSendRate(self.core.active_session().is_some_and(|s| s.update_send_rate(&bundle, rate)))
            }
            ModuleRequest::UpdateTimer { bundle, timeout_ms } => {
                ModuleReply::UpdateTimer(self.core.active_session().is_some_and(|s| s.update_timer(&bundle, timeout_ms)))
            }
            ModuleRequest::GetBackupInfo { bundle } => ModuleReply::GetBackupInfo(self.backup_info(&bundle)),
            ModuleRequest::Status => ModuleReply::Status(self.status()),
            ModuleRequest::SimulateDeath => ModuleReply::SimulateDeath(self.core.stop()),
            ModuleRequest::Shutdown => {
                self.core.stop();
                ModuleReply::Shutdown
            }
        }
    }

    fn status(&self) -> ServiceStatus {
        let active = self.core.active.lock().unwrap_or_else(|p| p.into_inner());
        let holder = active.as_ref().filter(|a| a.session.strong_count() > 0).map(|a| Holder {
            name: a.caller.clone(),
            scenario: a.kind.scenario().to_string(),
            since_ms: a.since.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis() as u64,
        });
        let transport = if server::is_service_process() { "process" } else { "inprocess" };
        ServiceStatus {
            pid: std::process::id(),
            uptime_ms: self.core.started.elapsed().as_millis() as u64,
            transport: transport.to_string(),
            holder,
            clients: server::client_count(),
        }
    }

    /// Whether a session is active (the idle exit waits for none).
    pub fn has_session(&self) -> bool {
        self.core.active_session().is_some()
    }

    /// The client of `session` died: its bundles and extensions stop, their temp data goes
    /// and the device is free, as after `release()` (ohos-behaviour.md §1.1 "Client death").
    pub fn client_gone(&self, session: &Arc<Session>) {
        session.service_died();
        self.core.deactivate(session);
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
                // No session to send its console output to: it goes to the service's log.
                let name = b.name.clone();
                let log: extension::AppLogSink = std::sync::Arc::new(move |line: &str| eprintln!("[{name}] {line}"));
                let host = extension::Host::spawn(&b, &b.bundle_dir.join(src), &version, log).ok()?;
                host.wait_ready(extension::connect_timeout(), &|| false).ok()?;
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
