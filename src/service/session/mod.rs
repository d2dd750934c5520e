//! One session: its bundles, their states, the scheduler that runs at most three at once,
//! and the events they emit (ohos-behaviour.md §1, §2).
//!
//! Every state change and the event it causes happen under the session lock, so events
//! leave in the order the state machine went through them. This file holds the state and
//! carries out the scheduler's decisions (`scheduler.rs`, which makes them); `lifecycle.rs`
//! cancel, release and the service's death; `app.rs` the extension host of a bundle,
//! `backup.rs` and `restore.rs` the data phase of each kind.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::device::{is_valid_uri, Device, InstalledBundle};
use crate::engine::{self, Flow};
use crate::error::*;
use crate::protocol::{Baseline, BundleRequest, Event, FileOut, SessionKind, SessionReply, SessionRequest, WireFd};

use super::capabilities::{self, RemoteBundle};
use super::extension::{connect_timeout, AppLogSink, Host, ReadyError};
use super::hooks::{self, error_result_json, run_hook, ExtTimer, HookEnd, ReleaseScenario};
use super::infos::BundleInfos;
use super::rate::RateLimiter;
use super::stop::StopSignal;
use super::ServiceCore;

// The session's jobs, one file each; all are `impl Session`.
mod app;
mod backup;
mod lifecycle;
mod restore;
mod scheduler;
#[cfg(test)]
mod scheduler_tests;

use scheduler::State;
pub use scheduler::MAX_RUNNING;

/// What a session sends its client.
pub enum Outgoing {
    /// An event, and whether the session still has work that will produce events.
    Event(Event, bool),
    /// The session ended normally (released or detached, and drained).
    Ended,
    /// The service died under the session: its client must learn it, and nothing follows.
    Died,
    /// A line the bundle's app wrote to its console.
    AppLog { bundle: String, line: String },
}

/// Where a session's output goes: its client's connection.
pub type EventSink = Arc<dyn Fn(Outgoing) + Send + Sync>;

/// What a running bundle's worker checks between files.
pub struct BundleControl {
    pub name: String,
    cancelled: AtomicBool,
    released: AtomicBool,
    /// Raised by either: every wait of the bundle's worker ends on it.
    pub stop: StopSignal,
    pub rate: RateLimiter,
    /// The ext timer of the app-callback phase (`updateTimer`).
    pub timer: ExtTimer,
}

impl BundleControl {
    fn new(name: &str) -> Arc<Self> {
        Arc::new(BundleControl {
            name: name.to_string(),
            cancelled: AtomicBool::new(false),
            released: AtomicBool::new(false),
            stop: StopSignal::default(),
            rate: RateLimiter::default(),
            timer: ExtTimer::default(),
        })
    }

    pub fn should_stop(&self) -> bool {
        self.stop.is_raised()
    }

    /// `cancel()`: the worker stops at its next check; a sender paused by rate 0 wakes to see it.
    fn mark_cancelled(&self) {
        self.cancelled.store(true, Ordering::Release);
        self.stop.raise();
        self.rate.wake();
    }

    /// `release()` or the service's death: as `mark_cancelled`, without the bundle's events.
    fn mark_released(&self) {
        self.released.store(true, Ordering::Release);
        self.stop.raise();
        self.rate.wake();
    }
}

struct Bundle {
    req: BundleRequest,
    seq: u64,
    state: State,
    installed: InstalledBundle,
    control: Arc<BundleControl>,
    /// Restore: handles asked for before the bundle started, sent in name order on start.
    queued_handles: BTreeSet<String>,
    /// Restore: uris published one by one (API 10 style).
    completed: BTreeSet<String>,
    /// Restore: what the old device said about this bundle.
    remote: Option<RemoteBundle>,
    /// The app's extension host, while the bundle runs (bundles with a `srcEntry`).
    host: Option<Arc<Host>>,
    /// The parsed `infos` string.
    infos: BundleInfos,
    /// Incremental backup: the caller's baseline, read when the bundle starts.
    baseline: Option<Baseline>,
}

impl Bundle {
    /// `bundleVersion` for the app's hooks: the backed-up version on restore (from the
    /// capability file), else the installed one.
    fn version(&self) -> serde_json::Value {
        match &self.remote {
            Some(r) => serde_json::json!({"code": r.version_code, "name": r.version_name}),
            None => serde_json::json!({"code": self.installed.version_code, "name": self.installed.version_name}),
        }
    }
}

struct Inner {
    bundles: BTreeMap<String, Bundle>,
    next_seq: u64,
    released: bool,
    /// Worker threads still alive (backup packing, restore unpacking).
    workers: usize,
    /// Restore bundles that had published when the session was released: their events,
    /// `onAllBundlesEnd` included, still arrive.
    finishing_after_release: bool,
    /// The client let go of the session without releasing it: end it once it drains.
    detached: bool,
    /// A `getBackupDataSize` scan is running (one at a time).
    size_scan: bool,
}

/// What a started bundle with an app extension runs: in the service its extension host and
/// the engine (`connect_and_run`); in the scheduler's tests a fake of both, so the session's
/// real scheduling (start, finish, cancel) runs without processes.
pub(super) trait BundleWork: Send + Sync {
    fn run(&self, session: &Arc<Session>, control: Arc<BundleControl>) -> Outcome;
}

struct AppAndEngine;

impl BundleWork for AppAndEngine {
    fn run(&self, session: &Arc<Session>, control: Arc<BundleControl>) -> Outcome {
        session.connect_and_run(control)
    }
}

pub struct Session {
    pub kind: SessionKind,
    /// Names this session to its client (`OpenSession::releasing`).
    pub token: u64,
    device: Device,
    core: Arc<ServiceCore>,
    sink: EventSink,
    inner: Mutex<Inner>,
    workers_done: Condvar,
    /// The service died under this session: `Died` was its last output.
    dead: AtomicBool,
    /// The session ended normally: `Ended` was its last output.
    ended: AtomicBool,
    /// Bundles are in the session or a size scan runs: events are still to come. Kept beside
    /// the state so an event can carry it without taking the lock it is emitted under.
    work: AtomicBool,
    bundle_work: Arc<dyn BundleWork>,
}

/// How a bundle's work ended, from the worker's point of view.
pub(super) enum Outcome {
    Done,
    Failed(BizError),
    /// The worker stopped because of cancel or release.
    Stopped,
    /// The extension never became ready: `onBundleBegin(err)` and no `onBundleEnd`.
    BootFailed(BizError),
    /// The bundle goes on elsewhere (a restore handed over to its publish worker).
    Continues,
}

impl Session {
    pub(super) fn new(kind: SessionKind, token: u64, device: Device, core: Arc<ServiceCore>, sink: EventSink) -> Arc<Session> {
        Self::with_work(kind, token, device, core, sink, Arc::new(AppAndEngine))
    }

    fn with_work(
        kind: SessionKind,
        token: u64,
        device: Device,
        core: Arc<ServiceCore>,
        sink: EventSink,
        bundle_work: Arc<dyn BundleWork>,
    ) -> Arc<Session> {
        Arc::new(Session {
            bundle_work,
            kind,
            token,
            device,
            core,
            sink,
            inner: Mutex::new(Inner {
                bundles: BTreeMap::new(),
                next_seq: 0,
                released: false,
                workers: 0,
                finishing_after_release: false,
                detached: false,
                size_scan: false,
            }),
            workers_done: Condvar::new(),
            dead: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            work: AtomicBool::new(false),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, ev: Event) {
        // Nothing follows the death of the service, whatever a worker still finishes.
        if !self.dead.load(Ordering::Acquire) && !self.ended.load(Ordering::Acquire) {
            (self.sink)(Outgoing::Event(ev, self.work.load(Ordering::Acquire)))
        }
    }

    /// Records whether events are still to come (call after the bundles or the scan change).
    fn note_work(&self, inner: &Inner) {
        self.work.store(!inner.bundles.is_empty() || inner.size_scan, Ordering::Release);
    }

    /// The session is over: the device is free and the client learns it.
    fn end(&self) {
        self.core.deactivate(self);
        if !self.ended.swap(true, Ordering::AcqRel) && !self.dead.load(Ordering::Acquire) {
            (self.sink)(Outgoing::Ended)
        }
    }

    /// Whether the session ended, normally or by the service's death.
    pub fn has_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire) || self.dead.load(Ordering::Acquire)
    }

    /// Whether the session still has work that will produce events.
    pub fn is_busy(&self) -> bool {
        let inner = self.lock();
        !self.dead.load(Ordering::Acquire) && (!inner.bundles.is_empty() || inner.size_scan)
    }

    /// Serves one request of the session's client.
    pub fn serve(self: &Arc<Self>, req: SessionRequest) -> SessionReply {
        if self.dead.load(Ordering::Acquire) {
            // As on a device: the restarted service has no session for this object.
            return SessionReply::Gone(BizError::with_detail(E_INVAL, "the backup service died; this session is gone (open a new one)"));
        }
        if matches!(req, SessionRequest::Detach) {
            self.detach();
            return SessionReply::Detach;
        }
        if self.lock().released {
            return SessionReply::Gone(BizError::with_detail(E_INVAL, "the session was released"));
        }
        match req {
            SessionRequest::AppendBundles { bundles, capabilities } => SessionReply::AppendBundles(self.append(bundles, capabilities)),
            SessionRequest::GetFileHandle { bundle, uri } => SessionReply::GetFileHandle(self.get_file_handle(&bundle, &uri)),
            SessionRequest::PublishFile { bundle, uri } => SessionReply::PublishFile(self.publish_file(&bundle, &uri)),
            SessionRequest::Cancel { bundle } => SessionReply::Cancel(self.cancel(&bundle)),
            SessionRequest::Release => {
                self.release();
                SessionReply::Release(Ok(()))
            }
            SessionRequest::GetBackupDataSize { precise, bundles } => {
                SessionReply::GetBackupDataSize(self.start_size_scan(precise, bundles))
            }
            SessionRequest::SessionCapabilities => {
                let caps = capabilities::build(&self.device, capabilities::Variant::Session, None);
                SessionReply::SessionCapabilities(super::capability_fd(&self.device, &caps).map(WireFd))
            }
            SessionRequest::Detach => SessionReply::Detach,
        }
    }

    // ---- appendBundles ------------------------------------------------------------------

    fn append(self: &Arc<Self>, requests: Vec<BundleRequest>, capabilities: Option<WireFd>) -> BizResult<()> {
        // A restore bundle whose infos are broadcast-only is announced, not restored: the
        // reference drops it here, and a call left with none starts nothing at all.
        let asked = requests.len();
        let requests: Vec<(BundleRequest, BundleInfos)> = requests
            .into_iter()
            .map(|r| {
                let infos = BundleInfos::parse(r.info.as_deref());
                (r, infos)
            })
            .filter(|(_, infos)| !(self.kind == SessionKind::Restore && infos.broadcast_only))
            .collect();
        if asked > 0 && requests.is_empty() {
            return Ok(());
        }
        let capabilities = match capabilities.map(|fd| super::handed::read_all(&fd.0)) {
            Some(Err(e)) => return Err(BizError::with_detail(E_INVAL, format!("cannot read remoteCapabilitiesFd: {e}"))),
            Some(Ok(bytes)) => Some(bytes),
            None => None,
        };
        let remote = match (self.kind, capabilities) {
            (SessionKind::Restore, Some(bytes)) => match capabilities::parse_remote(&bytes) {
                Ok(m) => Some(m),
                Err(why) => {
                    // The reference refuses every bundle and rejects; the session then drains.
                    let mut inner = self.lock();
                    for (r, _) in &requests {
                        self.emit(Event::BundleBegin(Err(BizError::with_detail(E_BUNDLE_INFO_EMPTY, &why).for_bundle(&r.name))));
                    }
                    self.after_change(&mut inner);
                    return Err(BizError::with_detail(E_INVAL, why));
                }
            },
            (SessionKind::Restore, None) => return Err(BizError::with_detail(E_INVAL, "a restore needs the remote capability file")),
            _ => None,
        };
        let mut inner = self.lock();
        let mut seen = BTreeSet::new();
        for (mut r, infos) in requests {
            // Duplicates, in this call or with a bundle already in the session, are ignored.
            if !seen.insert(r.name.clone()) || inner.bundles.contains_key(&r.name) {
                continue;
            }
            match self.admit(&r, &infos, remote.as_ref()) {
                Ok((installed, remote_bundle)) => {
                    let seq = inner.next_seq;
                    inner.next_seq += 1;
                    let control = BundleControl::new(&r.name);
                    let baseline = r.baseline.take();
                    inner.bundles.insert(
                        r.name.clone(),
                        Bundle {
                            req: r,
                            seq,
                            state: State::Waiting,
                            installed,
                            control,
                            queued_handles: BTreeSet::new(),
                            completed: BTreeSet::new(),
                            remote: remote_bundle,
                            host: None,
                            infos,
                            baseline,
                        },
                    );
                }
                Err(e) => self.emit(Event::BundleBegin(Err(e.for_bundle(&r.name)))),
            }
        }
        self.after_change(&mut inner);
        Ok(())
    }

    /// Whether a requested bundle may take part, as the reference decides at append time.
    fn admit(
        &self,
        r: &BundleRequest,
        infos: &BundleInfos,
        remote: Option<&HashMap<(String, i64), RemoteBundle>>,
    ) -> BizResult<(InstalledBundle, Option<RemoteBundle>)> {
        // Restore under app_mapping_relation: the backup of `source` lands in `target`.
        let target = match self.kind {
            SessionKind::Restore => infos.mapped_target(&r.name).unwrap_or(&r.name),
            _ => &r.name,
        };
        let installed =
            self.device.bundle(target).ok_or_else(|| BizError::with_detail(E_BUNDLE_INFO_EMPTY, format!("{target} is not installed")))?;
        if installed.extension.is_none() {
            let code = if self.kind == SessionKind::Restore { E_FORBID } else { E_BUNDLE_INFO_EMPTY };
            return Err(BizError::with_detail(code, format!("{} has no backup extension", r.name)));
        }
        if !installed.config.allow_to_backup_restore {
            return Err(BizError::with_detail(E_FORBID, format!("{} does not allow backup and restore", r.name)));
        }
        let remote_bundle = match remote {
            None => None,
            Some(m) => {
                let rb = m
                    .get(&(r.name.clone(), installed.app_index))
                    .ok_or_else(|| BizError::with_detail(E_BUNDLE_INFO_EMPTY, format!("{} is not in the capability file", r.name)))?;
                if !rb.restorable() {
                    return Err(BizError::with_detail(E_FORBID, format!("the capability file forbids restoring {}", r.name)));
                }
                Some(rb.clone())
            }
        };
        Ok((installed, remote_bundle))
    }

    // ---- scheduling ---------------------------------------------------------------------

    /// Starts waiting bundles while fewer than three run (larger priority first, then call
    /// order), and ends the drain with `onAllBundlesEnd` when nothing is left.
    fn after_change(self: &Arc<Self>, inner: &mut Inner) {
        loop {
            let entries: Vec<scheduler::Entry> = inner
                .bundles
                .values()
                .map(|b| scheduler::Entry {
                    name: &b.req.name,
                    state: b.state,
                    priority: b.req.priority,
                    seq: b.seq,
                    restore_deps: &b.installed.config.restore_deps,
                })
                .collect();
            match scheduler::next_to_start(&entries, self.kind == SessionKind::Restore).map(str::to_string) {
                Some(name) => self.start(inner, &name),
                None => break,
            }
        }
        self.note_work(inner);
        if inner.bundles.is_empty() && (!inner.released || std::mem::take(&mut inner.finishing_after_release)) {
            self.emit(Event::AllBundlesEnd(None));
        }
        if inner.bundles.is_empty() && (inner.released || inner.detached) {
            self.end();
        }
    }

    fn start(self: &Arc<Self>, inner: &mut Inner, name: &str) {
        let b = inner.bundles.get_mut(name).expect("scheduled bundle exists");
        super::residue::mark(&self.device, &b.installed.name);
        if b.installed.extension.as_ref().is_some_and(|e| e.src_entry.is_some()) {
            // The extension starts first; the bundle begins once it is ready.
            b.state = State::Connecting;
            let control = b.control.clone();
            let work = self.bundle_work.clone();
            self.spawn_worker(inner, name, move |s| work.run(s, control));
            return;
        }
        self.begin(b);
        if self.kind != SessionKind::Restore {
            let (job, incremental) = self.backup_jobs(b);
            let control = b.control.clone();
            self.spawn_worker(inner, name, move |s| s.run_backup(job, incremental, control, None));
        }
    }

    /// The bundle runs: `onBundleBegin`, and for a restore the handles asked for meanwhile
    /// (whether it started at once or once its extension was ready).
    fn begin(&self, b: &mut Bundle) {
        b.state = State::Running;
        match self.kind {
            SessionKind::Restore => self.begin_restore(b),
            _ => self.emit(Event::BundleBegin(Ok(b.req.name.clone()))),
        }
    }

    fn spawn_worker(self: &Arc<Self>, inner: &mut Inner, name: &str, work: impl FnOnce(&Arc<Session>) -> Outcome + Send + 'static) {
        inner.workers += 1;
        let me = self.clone();
        let bundle = name.to_string();
        let spawned = std::thread::Builder::new().name(format!("bundle-{bundle}")).spawn(move || {
            // A bug in the engine ends this bundle with an error, never the session.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&me))).unwrap_or_else(|p| {
                let why = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
                Outcome::Failed(BizError::with_detail(E_UNKNOWN, format!("internal error: {}", why.unwrap_or_default())))
            });
            me.finish(&bundle, outcome);
            let mut inner = me.lock();
            inner.workers -= 1;
            me.workers_done.notify_all();
        });
        if let Err(e) = spawned {
            inner.workers -= 1;
            let err = BizError::with_detail(E_NOMEM, format!("cannot start a worker: {e}"));
            // Finish inline: the bundle ends with the error and the scheduler moves on.
            if inner.bundles.remove(name).is_some() {
                self.note_work(inner);
                self.emit(Event::BundleEnd(Err(err.for_bundle(name))));
            }
        }
    }

    /// A bundle's work ended: report it (unless it was released) and schedule the next.
    fn finish(self: &Arc<Self>, name: &str, outcome: Outcome) {
        if matches!(outcome, Outcome::Continues) {
            return;
        }
        let mut inner = self.lock();
        let Some(b) = inner.bundles.remove(name) else { return };
        let released = b.control.released.load(Ordering::Acquire);
        let cancelled = b.control.cancelled.load(Ordering::Acquire);
        // An extension that died leaves its temp data behind: the reference relaunches it once
        // to wipe it (CLEAN) before it reports; the service wipes the work area itself.
        if matches!(&outcome, Outcome::Failed(e) if e.code == E_EXT_DIED) && b.infos.clear_backup_data {
            let _ = engine::restore::clear_work_area(&b.installed.sandbox);
        }
        super::residue::unmark(&self.device, &b.installed.name);
        if !released {
            let ev = match outcome {
                // A cancelled bundle ends without error, as on the device.
                Outcome::Done | Outcome::Stopped | Outcome::Continues => Event::BundleEnd(Ok(name.to_string())),
                Outcome::Failed(_) | Outcome::BootFailed(_) if cancelled => Event::BundleEnd(Ok(name.to_string())),
                Outcome::Failed(e) => Event::BundleEnd(Err(e.for_bundle(name))),
                Outcome::BootFailed(e) => Event::BundleBegin(Err(e.for_bundle(name))),
            };
            self.emit(ev);
        }
        if let Some(host) = b.host {
            // Outside the lock would be kinder, but stopping an exited host is instant and a
            // live one gets SIGKILL: the bundle is over either way.
            host.kill();
        }
        self.after_change(&mut inner);
    }

    // ---- size reports ---------------------------------------------------------------------

    fn start_size_scan(self: &Arc<Self>, precise: bool, bundles: Vec<crate::protocol::BundleTime>) -> BizResult<()> {
        if self.kind == SessionKind::Restore {
            return Err(BizError::with_detail(E_INVAL, "getBackupDataSize is for backup sessions"));
        }
        let mut inner = self.lock();
        if inner.size_scan {
            return Err(BizError::with_detail(E_INVAL, "a size scan is already running"));
        }
        inner.size_scan = true;
        self.note_work(&inner);
        let me = self.clone();
        std::thread::Builder::new()
            .name("size-scan".into())
            .spawn(move || {
                let last = super::size_scan::run(&me.device, &bundles, precise, &|ev| {
                    if !me.lock().released {
                        me.emit(ev)
                    }
                });
                // Not busy any more before the last report goes out, so its delivery can
                // let the event loop go.
                let mut inner = me.lock();
                inner.size_scan = false;
                me.note_work(&inner);
                if !inner.released {
                    me.emit(Event::BackupSizeReport(last));
                }
            })
            .map_err(|e| {
                inner.size_scan = false;
                self.note_work(&inner);
                BizError::from_io(&e)
            })?;
        Ok(())
    }

    // ---- send rate and timers -------------------------------------------------------------

    /// The live extension host of `bundle`, while it runs in this session.
    pub fn running_host(&self, bundle: &str) -> Option<Arc<Host>> {
        self.lock().bundles.get(bundle).filter(|b| b.state != State::Connecting).and_then(|b| b.host.clone()).filter(|h| h.dead().is_none())
    }

    /// `updateSendRate`: only for a running bundle of a backup session.
    pub fn update_send_rate(&self, bundle: &str, rate: u32) -> bool {
        if self.kind == SessionKind::Restore {
            return false;
        }
        match self.lock().bundles.get(bundle) {
            Some(b) if b.state == State::Running => {
                b.control.rate.set_rate(rate);
                true
            }
            _ => false,
        }
    }

    /// `updateTimer`: true when the bundle is in this session. A running ext timer restarts
    /// from now; otherwise the value applies to the next app-callback phase. 0 fires at once.
    pub fn update_timer(&self, bundle: &str, timeout_ms: u32) -> bool {
        match self.lock().bundles.get(bundle) {
            Some(b) => {
                b.control.timer.update(timeout_ms);
                true
            }
            None => false,
        }
    }
}

/// The framework timer of a bundle's data phase for `bytes` of data: max(900 s, 30 s + 3 s
/// per 3 MiB) (`CalAppProcessTime`); `BACKUP_FRAMEWORK_TIMEOUT_MS` overrides it for tests.
fn framework_timeout(bytes: u64) -> Duration {
    super::extension::env_ms("BACKUP_FRAMEWORK_TIMEOUT_MS").unwrap_or_else(|| Duration::from_secs(900.max(30 + 3 * (bytes / (3 << 20)))))
}

#[cfg(test)]
mod tests {
    use super::framework_timeout;
    use std::time::Duration;

    #[test]
    fn the_framework_timer_grows_with_the_data_past_900_s() {
        assert_eq!(framework_timeout(0), Duration::from_secs(900));
        // 30 + 3 × 290 = 900: the floor still holds at 870 MiB.
        assert_eq!(framework_timeout(870 << 20), Duration::from_secs(900));
        assert_eq!(framework_timeout(3 << 30), Duration::from_secs(30 + 3 * 1024));
    }
}
