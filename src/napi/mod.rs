//! The JS surface: argument checking and overload selection for every documented call,
//! promises that reject with `BusinessError`s, and the per-session event dispatcher.
//! `index.js` adds only the callback forms and the callbacks object on top.

mod args;
mod caller_fd;
mod events;
mod js_error;
pub mod names;
pub mod verify;

use std::future::Future;
use std::os::fd::{IntoRawFd, OwnedFd};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::client::{self, ClientSession};
use crate::device::names::is_valid_uri;
use crate::error::*;
use crate::protocol::{Baseline, BundleRequest, BundleTime, SessionKind, WireFd};

use args::*;
use events::{DispatchFn, EventHub};
use js_error::throw;

/// The callbacks a `GeneralCallbacks` object may carry.
const CALLBACK_NAMES: [&str; 9] = [
    "onFileReady",
    "onBundleBegin",
    "onBundleEnd",
    "onAllBundlesEnd",
    "onBackupServiceDied",
    "onResultReport",
    "onProcess",
    "onBackupSizeReport",
    "onRestoreServiceDied",
];

/// A promise settled on the JS thread: `conv` shapes the value, a `BizError` rejects with a
/// `BusinessError` carrying its numeric code.
fn promise<'e, T, V, F, C>(env: &'e Env, fut: F, conv: C) -> Result<PromiseRaw<'e, V>>
where
    T: Send + 'static,
    V: ToNapiValue + 'e,
    F: Future<Output = BizResult<T>> + Send + 'static,
    C: FnOnce(&'e Env, T) -> Result<V> + 'static,
{
    env.spawn_future_with_callback(async move { Ok(fut.await) }, move |env, r| match r {
        Ok(v) => conv(env, v),
        Err(e) => Err(js_error::to_napi(env, &e)),
    })
}

/// `FileData`: `{ fd }`, owned by JS from here on.
fn file_data(env: &Env, fd: OwnedFd) -> Result<Object<'_>> {
    let mut o = Object::new(env)?;
    o.set_named_property("fd", fd.into_raw_fd())?;
    Ok(o)
}

/// Runs a blocking round trip off the JS thread.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> BizResult<T> + Send + 'static) -> BizResult<T> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| Err(BizError::with_detail(E_UNKNOWN, e)))
}

/// Runs a synchronous export's body; a panic in it throws a 13900042 error instead of
/// aborting the process.
fn guarded<T>(env: &Env, body: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .unwrap_or_else(|_| Err(throw(env, E_UNKNOWN, "internal error (a panic in the addon)")))
}

/// `Array<IncrementalBackupTime>`; `code` is the method's documented argument code.
fn bundle_times(env: &Env, v: &Unknown, code: i32, what: &str) -> Result<Vec<BundleTime>> {
    let items = as_array(v).ok_or_else(|| throw(env, code, format!("{what} must be an array")))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let o = as_object(item).ok_or_else(|| throw(env, code, format!("{what}[{i}] must be an object")))?;
            let name = prop(&o, "bundleName")
                .and_then(|n| as_string(&n))
                .ok_or_else(|| throw(env, code, format!("{what}[{i}].bundleName must be a string")))?;
            let time = prop(&o, "lastIncrementalTime")
                .and_then(|t| as_number(&t))
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| throw(env, code, format!("{what}[{i}].lastIncrementalTime must be a number of seconds ≥ 0")))?;
            Ok(BundleTime { name, last_incremental_time: time as i64 })
        })
        .collect()
}

// ---- module functions ------------------------------------------------------------------

/// `getLocalCapabilities()`, `getLocalCapabilities(callback)` (the callback is attached by
/// index.js) and `getLocalCapabilities(dataList)`.
#[napi(catch_unwind, js_name = "getLocalCapabilities", ts_args_type = "args: unknown[]", ts_return_type = "Promise<{ fd: number }>")]
pub fn get_local_capabilities<'e>(env: &'e Env, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, Object<'e>>> {
    expect_count(env, &args, 0..=1, E_INVAL, "getLocalCapabilities")?;
    let incremental = match args.first() {
        None => None,
        Some(a) if is_function(a) => None,
        Some(a) if is_array(a) => Some(bundle_times(env, a, E_PARAM, "dataList")?),
        Some(_) => return Err(throw(env, E_INVAL, "getLocalCapabilities takes a callback or an array of IncrementalBackupTime")),
    };
    // The device and transport are the caller's at the call; a failure to name them rejects.
    let target = client::Target::now();
    promise(env, blocking(move || client::local_capabilities(&target?, incremental)), file_data)
}

/// index.js hands over the caller's `BACKUP_*` / `XDG_DATA_HOME` variables before each call
/// (see `settings`: Jest's `process.env` is a copy the native side cannot see).
#[napi(catch_unwind, js_name = "useEnvironment")]
pub fn use_environment(vars: std::collections::HashMap<String, String>) {
    crate::settings::set_snapshot(vars)
}

#[napi(catch_unwind, js_name = "getBackupVersion", ts_args_type = "args: unknown[]")]
pub fn get_backup_version(_args: Vec<Unknown>) -> String {
    crate::protocol::backup_version_json()
}

#[napi(catch_unwind, js_name = "getBackupInfo", ts_args_type = "args: unknown[]", ts_return_type = "string | undefined")]
pub fn get_backup_info(env: &Env, args: Vec<Unknown>) -> Result<Option<String>> {
    guarded(env, || {
        expect_count(env, &args, 1..=1, E_PARAM_SHORT, "getBackupInfo")?;
        let bundle = as_string(&args[0]).ok_or_else(|| throw(env, E_PARAM_SHORT, "bundleToBackup must be a string"))?;
        // Like the reference, a service failure answers undefined rather than throwing.
        Ok(client::backup_info(bundle).ok().flatten())
    })
}

/// Longest timer the docs allow: 4 hours.
const MAX_TIMER_MS: f64 = 14_400_000.0;

#[napi(catch_unwind, js_name = "updateTimer", ts_args_type = "args: unknown[]")]
pub fn update_timer(env: &Env, args: Vec<Unknown>) -> Result<bool> {
    guarded(env, || {
        expect_count(env, &args, 2..=2, E_PARAM_SHORT, "updateTimer")?;
        let bundle = as_string(&args[0]).ok_or_else(|| throw(env, E_PARAM_SHORT, "bundleName must be a string"))?;
        let timeout = as_number(&args[1])
            .filter(|t| t.fract() == 0.0 && (0.0..=MAX_TIMER_MS).contains(t))
            .ok_or_else(|| throw(env, E_PARAM_SHORT, "timeout must be an integer number of ms in [0, 14400000]"))?;
        Ok(client::update_timer(bundle, timeout as u32).unwrap_or(false))
    })
}

#[napi(catch_unwind, js_name = "updateSendRate", ts_args_type = "args: unknown[]")]
pub fn update_send_rate(env: &Env, args: Vec<Unknown>) -> Result<bool> {
    guarded(env, || {
        expect_count(env, &args, 2..=2, E_PARAM_SHORT, "updateSendRate")?;
        let bundle = as_string(&args[0]).ok_or_else(|| throw(env, E_PARAM_SHORT, "bundleName must be a string"))?;
        let rate = as_i32(&args[1]).filter(|r| *r >= 0).ok_or_else(|| throw(env, E_PARAM_SHORT, "sendRate must be an integer ≥ 0"))?;
        Ok(client::update_send_rate(bundle, rate as u32).unwrap_or(false))
    })
}

/// A testing aid, not part of the documented API (`require('backup/device')` exposes it): the
/// device's service dies (the service process is killed with SIGKILL; the in-process service
/// stops its session as if it had). `true` when a session was active.
#[napi(catch_unwind, js_name = "stopService")]
pub fn stop_service(env: &Env) -> Result<bool> {
    guarded(env, || client::root_now().and_then(|r| client::simulate_death(&r)).map_err(|e| js_error::to_napi(env, &e)))
}

// ---- sessions ----------------------------------------------------------------------------

/// The native half of `SessionBackup`, `SessionRestore` and `IncrementalBackupSession`
/// (kind 0, 1, 2). `index.js` wraps it with the documented class names.
#[napi]
pub struct NativeSession {
    kind: SessionKind,
    client: ClientSession,
    hub: Arc<EventHub>,
}

fn kind_of(kind: u32) -> Option<SessionKind> {
    match kind {
        0 => Some(SessionKind::Backup),
        1 => Some(SessionKind::Restore),
        2 => Some(SessionKind::IncrementalBackup),
        _ => None,
    }
}

#[napi]
impl NativeSession {
    #[napi(catch_unwind, constructor, ts_args_type = "kind: number, args: unknown[]")]
    pub fn new(env: &Env, kind: u32, args: Vec<Unknown>) -> Result<Self> {
        let kind = kind_of(kind).ok_or_else(|| throw(env, E_INVAL, "unknown session kind"))?;
        // The docs list 401 only for IncrementalBackupSession's constructor.
        let code = if kind == SessionKind::IncrementalBackup { E_PARAM } else { E_INVAL };
        expect_count(env, &args, 1..=1, code, "the constructor")?;
        let callbacks = as_object(&args[0])
            .filter(|_| !is_array(&args[0]))
            .ok_or_else(|| throw(env, code, "callbacks must be a GeneralCallbacks object"))?;
        for name in CALLBACK_NAMES {
            if let Some(v) = prop(&callbacks, name) {
                if !is_function(&v) {
                    return Err(throw(env, code, format!("callbacks.{name} must be a function")));
                }
            }
        }
        let hub = EventHub::new();
        let client = ClientSession::open(kind, hub.clone()).map_err(|e| js_error::to_napi(env, &e))?;
        Ok(NativeSession { kind, client, hub })
    }

    /// Sends a request that may start work: events can flow until its promise settles, and
    /// after it while the service says the session has work.
    fn submit<'e>(
        &self,
        env: &'e Env,
        dispatch: &DispatchFn,
        send: impl FnOnce(&ClientSession) -> std::pin::Pin<Box<dyn Future<Output = BizResult<()>> + Send>>,
    ) -> Result<PromiseRaw<'e, ()>> {
        self.hub.ensure(env, dispatch)?;
        let hub = self.hub.clone();
        let reply = send(&self.client);
        env.spawn_future_with_callback(async move { Ok(reply.await) }, move |env, r| {
            hub.settled();
            r.map_err(|e| js_error::to_napi(env, &e))
        })
    }

    /// `appendBundles(list[, infos | callback])`; restore: `(fd, list[, infos | callback])`.
    #[napi(catch_unwind, ts_args_type = "dispatch: (...a: unknown[]) => void, args: unknown[]", ts_return_type = "Promise<void>")]
    pub fn append_bundles<'e>(&self, env: &'e Env, dispatch: DispatchFn, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, ()>> {
        let restore = self.kind == SessionKind::Restore;
        let incremental = self.kind == SessionKind::IncrementalBackup;
        // Only the incremental page lists 401 for appendBundles.
        let code = if incremental { E_PARAM } else { E_INVAL };
        let first = usize::from(restore);
        expect_count(env, &args, first + 1..=first + 2, code, "appendBundles")?;
        let mut bundles = if incremental {
            incremental_bundles(env, &args[0])?
        } else {
            string_array(&args[first])
                .ok_or_else(|| throw(env, code, "bundlesToBackup must be an array of bundle names"))?
                .into_iter()
                .map(BundleRequest::named)
                .collect()
        };
        if let Some(extra) = args.get(first + 1).filter(|v| !is_nullish(v) && !is_function(v)) {
            let infos = string_array(extra).ok_or_else(|| throw(env, code, "infos must be an array of strings"))?;
            if infos.len() != bundles.len() {
                return Err(throw(
                    env,
                    code,
                    format!("infos has {} entries for {} bundles; they pair by index", infos.len(), bundles.len()),
                ));
            }
            for (b, info) in bundles.iter_mut().zip(infos) {
                b.info = Some(info);
            }
        }
        let capabilities = if restore {
            let fd = as_i32(&args[0]).ok_or_else(|| throw(env, code, "remoteCapabilitiesFd must be an integer fd"))?;
            // A bad fd is a bad argument like any other: it throws (DESIGN.md §5.2).
            Some(caller_fd::dup_readable(fd).map_err(|e| throw(env, code, format!("remoteCapabilitiesFd {fd} cannot be read: {e}")))?)
        } else {
            None
        };
        self.submit(env, &dispatch, move |c| Box::pin(c.append_bundles(bundles, capabilities)))
    }

    /// `getFileHandle(fileMeta[, callback])`.
    #[napi(catch_unwind, ts_args_type = "dispatch: (...a: unknown[]) => void, args: unknown[]", ts_return_type = "Promise<void>")]
    pub fn get_file_handle<'e>(&self, env: &'e Env, dispatch: DispatchFn, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, ()>> {
        let (bundle, uri) = file_meta(env, &args, "getFileHandle")?;
        if !is_valid_uri(&uri) {
            return Err(throw(env, E_INVAL, format!("uri {uri:?} must be a file name of letters, digits, '_' and '.'")));
        }
        self.submit(env, &dispatch, move |c| Box::pin(c.get_file_handle(bundle, uri)))
    }

    /// `publishFile(fileMeta[, callback])`: `uri: ''` publishes the whole bundle.
    #[napi(catch_unwind, ts_args_type = "dispatch: (...a: unknown[]) => void, args: unknown[]", ts_return_type = "Promise<void>")]
    pub fn publish_file<'e>(&self, env: &'e Env, dispatch: DispatchFn, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, ()>> {
        let (bundle, uri) = file_meta(env, &args, "publishFile")?;
        if !uri.is_empty() && !is_valid_uri(&uri) {
            return Err(throw(env, E_INVAL, format!("uri {uri:?} must be '' or a file name of letters, digits, '_' and '.'")));
        }
        self.submit(env, &dispatch, move |c| Box::pin(c.publish_file(bundle, uri)))
    }

    /// `getBackupDataSize(isPreciseScan, dataList)` on the backup sessions.
    #[napi(catch_unwind, ts_args_type = "dispatch: (...a: unknown[]) => void, args: unknown[]", ts_return_type = "Promise<void>")]
    pub fn get_backup_data_size<'e>(&self, env: &'e Env, dispatch: DispatchFn, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, ()>> {
        expect_count(env, &args, 2..=2, E_PARAM, "getBackupDataSize")?;
        let precise = as_bool(&args[0]).ok_or_else(|| throw(env, E_PARAM, "isPreciseScan must be a boolean"))?;
        let bundles = bundle_times(env, &args[1], E_PARAM, "dataList")?;
        self.submit(env, &dispatch, move |c| Box::pin(c.get_backup_data_size(precise, bundles)))
    }

    /// `getLocalCapabilities()` of a session (API 18).
    #[napi(catch_unwind, js_name = "getLocalCapabilities", ts_args_type = "args: unknown[]", ts_return_type = "Promise<{ fd: number }>")]
    pub fn session_capabilities<'e>(&self, env: &'e Env, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, Object<'e>>> {
        expect_count(env, &args, 0..=0, E_INVAL, "getLocalCapabilities")?;
        promise(env, self.client.capabilities(), file_data)
    }

    #[napi(catch_unwind, ts_args_type = "args: unknown[]", ts_return_type = "Promise<void>")]
    pub fn release<'e>(&self, env: &'e Env, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, ()>> {
        expect_count(env, &args, 0..=0, E_PARAM, "release")?;
        // Every event ends here (DESIGN.md §5.13). A restore bundle that already published
        // still finishes its unpack in the service, as the reference lets it (ohos-behaviour.md
        // §1.1 "release()"), but its events no longer reach the callbacks.
        self.hub.mark_released();
        let hub = self.hub.clone();
        hub.in_flight_begin();
        let done = self.client.release();
        promise(env, done, move |_, _| {
            hub.settled();
            Ok(())
        })
    }

    /// `cancel(bundleName)`: 0, 13500011 or 13500012.
    #[napi(catch_unwind, ts_args_type = "args: unknown[]")]
    pub fn cancel(&self, env: &Env, args: Vec<Unknown>) -> Result<i32> {
        let max = if self.kind == SessionKind::Restore { 2 } else { 1 };
        expect_count(env, &args, 1..=max, E_PARAM, "cancel")?;
        let bundle = as_string(&args[0]).ok_or_else(|| throw(env, E_PARAM, "bundleName must be a string"))?;
        // No live session: the reference's client reports "not started".
        guarded(env, || Ok(self.client.cancel(bundle).unwrap_or(E_CANCEL_UNSTARTED)))
    }
}

impl Drop for NativeSession {
    /// The session object was collected (its finalizer runs on the JS thread): its event
    /// queue ends with it.
    fn drop(&mut self) {
        self.hub.dropped();
    }
}

/// A `FileMeta` argument plus an optional callback.
fn file_meta(env: &Env, args: &[Unknown], what: &str) -> Result<(String, String)> {
    expect_count(env, args, 1..=2, E_INVAL, what)?;
    if let Some(cb) = args.get(1) {
        if !is_function(cb) {
            return Err(throw(env, E_INVAL, format!("{what}'s second argument must be a callback")));
        }
    }
    let meta = as_object(&args[0]).ok_or_else(|| throw(env, E_INVAL, "fileMeta must be an object"))?;
    let bundle =
        prop(&meta, "bundleName").and_then(|v| as_string(&v)).ok_or_else(|| throw(env, E_INVAL, "fileMeta.bundleName must be a string"))?;
    let uri = meta
        .get_named_property::<Unknown>("uri")
        .ok()
        .and_then(|v| as_string(&v))
        .ok_or_else(|| throw(env, E_INVAL, "fileMeta.uri must be a string"))?;
    Ok((bundle, uri))
}

/// `Array<IncrementalBackupData>`: each baseline manifest is read now, the caller keeps its fd.
fn incremental_bundles(env: &Env, v: &Unknown) -> Result<Vec<BundleRequest>> {
    let items = as_array(v).ok_or_else(|| throw(env, E_PARAM, "bundlesToBackup must be an array of IncrementalBackupData"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let bad = |what: &str| throw(env, E_PARAM, format!("bundlesToBackup[{i}].{what}"));
            let o = as_object(item).ok_or_else(|| throw(env, E_PARAM, format!("bundlesToBackup[{i}] must be an object")))?;
            let name = prop(&o, "bundleName").and_then(|n| as_string(&n)).ok_or_else(|| bad("bundleName must be a string"))?;
            let time = prop(&o, "lastIncrementalTime")
                .and_then(|t| as_number(&t))
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| bad("lastIncrementalTime must be a number of seconds ≥ 0"))?;
            let manifest_fd = match prop(&o, "manifestFd") {
                None => -1,
                Some(f) => as_i32(&f).ok_or_else(|| bad("manifestFd must be an integer fd"))?,
            };
            // An unusable manifestFd is this bundle's error, not the call's (DESIGN.md §5.12).
            let baseline = (manifest_fd >= 0).then(|| match caller_fd::dup_readable_file(manifest_fd) {
                Ok(fd) => Baseline::Fd(WireFd(fd)),
                Err(e) => Baseline::Unusable(format!("manifestFd {manifest_fd} cannot be read as the baseline: {e}")),
            });
            let info = match prop(&o, "parameters") {
                None => None,
                Some(p) => Some(as_string(&p).ok_or_else(|| bad("parameters must be a JSON string"))?),
            };
            let priority = match prop(&o, "priority") {
                None => 0,
                Some(p) => as_i32(&p).ok_or_else(|| bad("priority must be an integer"))?,
            };
            Ok(BundleRequest { name, info, priority, last_incremental_time: Some(time as i64), baseline })
        })
        .collect()
}

// ---- the service process -----------------------------------------------------------------

/// The service process of `root` (`lib/service/main.js`): serves until it is idle, then
/// exits the process. Throws only when it cannot start.
#[napi(catch_unwind, js_name = "runService")]
pub fn run_service(env: &Env, root: String) -> Result<()> {
    crate::service::server::run_process(std::path::Path::new(&root))
        .map_err(|e| throw(env, E_IPC, format!("the backup service of {root} cannot run: {e}")))
}

fn status_json(s: &crate::protocol::ServiceStatus) -> String {
    serde_json::json!({
        "pid": s.pid,
        "uptimeMs": s.uptime_ms,
        "transport": s.transport,
        "clients": s.clients,
        "holder": s.holder.as_ref().map(|h| serde_json::json!({"name": h.name, "scenario": h.scenario, "since": h.since_ms})),
    })
    .to_string()
}

/// `ohos-backup service status`: the JSON status of `root`'s service process, or null when
/// none runs.
#[napi(catch_unwind, js_name = "serviceStatus")]
pub fn service_status(env: &Env, root: String) -> Result<Option<String>> {
    guarded(env, || {
        let root = std::path::PathBuf::from(root);
        client::status(&root).map(|s| s.as_ref().map(status_json)).map_err(|e| js_error::to_napi(env, &e))
    })
}

/// `ohos-backup service start`: starts `root`'s service process unless one runs; its status.
#[napi(catch_unwind, js_name = "serviceStart")]
pub fn service_start(env: &Env, root: String) -> Result<String> {
    guarded(env, || client::start(std::path::Path::new(&root)).map(|s| status_json(&s)).map_err(|e| js_error::to_napi(env, &e)))
}

/// `ohos-backup service stop`: `root`'s service ends its sessions and exits; false when none ran.
#[napi(catch_unwind, js_name = "serviceStop")]
pub fn service_stop(env: &Env, root: String) -> Result<bool> {
    guarded(env, || client::shutdown(std::path::Path::new(&root)).map_err(|e| js_error::to_napi(env, &e)))
}
