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
use std::os::fd::IntoRawFd;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::client::{self, ClientSession};
use crate::error::*;
use crate::protocol::{BundleRequest, BundleTime, Reply, Request, SessionKind};
use crate::service::capabilities;

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

fn unit(_: &Env, _: Reply) -> Result<()> {
    Ok(())
}

/// `FileData`: `{ fd }`, owned by JS from here on.
fn file_data<'e>(env: &'e Env, r: Reply) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    let fd = match r {
        Reply::Fd(fd) => fd.into_raw_fd(),
        _ => -1,
    };
    o.set_named_property("fd", fd)?;
    Ok(o)
}

/// Runs module-level work off the JS thread.
async fn blocking(req: Request) -> BizResult<Reply> {
    tokio::task::spawn_blocking(move || client::call(req)).await.unwrap_or_else(|e| Err(BizError::with_detail(E_UNKNOWN, e)))
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
#[napi(js_name = "getLocalCapabilities", ts_args_type = "args: unknown[]", ts_return_type = "Promise<{ fd: number }>")]
pub fn get_local_capabilities<'e>(env: &'e Env, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, Object<'e>>> {
    expect_count(env, &args, 0..=1, E_INVAL, "getLocalCapabilities")?;
    let incremental = match args.first() {
        None => None,
        Some(a) if is_function(a) => None,
        Some(a) if is_array(a) => Some(bundle_times(env, a, E_PARAM, "dataList")?),
        Some(_) => return Err(throw(env, E_INVAL, "getLocalCapabilities takes a callback or an array of IncrementalBackupTime")),
    };
    promise(env, blocking(Request::LocalCapabilities { incremental }), file_data)
}

/// index.js hands over the caller's `BACKUP_*` / `XDG_DATA_HOME` variables before each call
/// (see `settings`: Jest's `process.env` is a copy the native side cannot see).
#[napi(js_name = "useEnvironment")]
pub fn use_environment(vars: std::collections::HashMap<String, String>) {
    crate::settings::set_snapshot(vars)
}

#[napi(js_name = "getBackupVersion", ts_args_type = "args: unknown[]")]
pub fn get_backup_version(_args: Vec<Unknown>) -> String {
    capabilities::backup_version_json()
}

#[napi(js_name = "getBackupInfo", ts_args_type = "args: unknown[]", ts_return_type = "string | undefined")]
pub fn get_backup_info(env: &Env, args: Vec<Unknown>) -> Result<Option<String>> {
    expect_count(env, &args, 1..=1, E_PARAM_SHORT, "getBackupInfo")?;
    let bundle = as_string(&args[0]).ok_or_else(|| throw(env, E_PARAM_SHORT, "bundleToBackup must be a string"))?;
    // Like the reference, a service failure answers undefined rather than throwing.
    Ok(match client::call(Request::GetBackupInfo { bundle }) {
        Ok(Reply::Text(t)) => t,
        _ => None,
    })
}

/// Longest timer the docs allow: 4 hours.
const MAX_TIMER_MS: f64 = 14_400_000.0;

#[napi(js_name = "updateTimer", ts_args_type = "args: unknown[]")]
pub fn update_timer(env: &Env, args: Vec<Unknown>) -> Result<bool> {
    expect_count(env, &args, 2..=2, E_PARAM_SHORT, "updateTimer")?;
    let bundle = as_string(&args[0]).ok_or_else(|| throw(env, E_PARAM_SHORT, "bundleName must be a string"))?;
    let timeout = as_number(&args[1])
        .filter(|t| t.fract() == 0.0 && (0.0..=MAX_TIMER_MS).contains(t))
        .ok_or_else(|| throw(env, E_PARAM_SHORT, "timeout must be an integer number of ms in [0, 14400000]"))?;
    Ok(matches!(client::call(Request::UpdateTimer { bundle, timeout_ms: timeout as u32 }), Ok(Reply::Bool(true))))
}

#[napi(js_name = "updateSendRate", ts_args_type = "args: unknown[]")]
pub fn update_send_rate(env: &Env, args: Vec<Unknown>) -> Result<bool> {
    expect_count(env, &args, 2..=2, E_PARAM_SHORT, "updateSendRate")?;
    let bundle = as_string(&args[0]).ok_or_else(|| throw(env, E_PARAM_SHORT, "bundleName must be a string"))?;
    let rate = as_i32(&args[1]).filter(|r| *r >= 0).ok_or_else(|| throw(env, E_PARAM_SHORT, "sendRate must be an integer ≥ 0"))?;
    Ok(matches!(client::call(Request::UpdateSendRate { bundle, rate: rate as u32 }), Ok(Reply::Bool(true))))
}

/// A testing aid, not part of the documented API (`require('backup/device')` exposes it): the
/// device's service stops as if it had died. `true` when a session was active.
#[napi(js_name = "stopService")]
pub fn stop_service() -> bool {
    matches!(client::call(Request::StopService), Ok(Reply::Bool(true)))
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
    #[napi(constructor, ts_args_type = "kind: number, args: unknown[]")]
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
        let client = ClientSession::open(kind, hub.sink()).map_err(|e| js_error::to_napi(env, &e))?;
        hub.set_busy_probe(client.busy_probe());
        Ok(NativeSession { kind, client, hub })
    }

    fn submit<'e>(&self, env: &'e Env, dispatch: &DispatchFn, req: Request) -> Result<PromiseRaw<'e, ()>> {
        self.hub.ensure(dispatch)?;
        let (hub, busy) = (self.hub.clone(), self.client.busy_probe());
        let reply = self.client.send(req);
        env.spawn_future_with_callback(async move { Ok(reply.await) }, move |env, r| match r {
            Ok(_) => Ok(()),
            Err(e) => {
                // A refused request (a released session, say) started nothing: unless other
                // work is under way, the queue must not keep the process alive.
                if !busy() {
                    hub.close();
                }
                Err(js_error::to_napi(env, &e))
            }
        })
    }

    fn rejected<'e>(env: &'e Env, e: BizError) -> Result<PromiseRaw<'e, ()>> {
        promise(env, async move { Err::<Reply, _>(e) }, unit)
    }

    /// `appendBundles(list[, infos | callback])`; restore: `(fd, list[, infos | callback])`.
    #[napi(ts_args_type = "dispatch: (...a: unknown[]) => void, args: unknown[]", ts_return_type = "Promise<void>")]
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
            match caller_fd::read_all(fd) {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    return Self::rejected(env, BizError::with_detail(E_INVAL, format!("cannot read remoteCapabilitiesFd {fd}: {e}")))
                }
            }
        } else {
            None
        };
        self.submit(env, &dispatch, Request::AppendBundles { bundles, capabilities })
    }

    /// `getFileHandle(fileMeta[, callback])`.
    #[napi(ts_args_type = "dispatch: (...a: unknown[]) => void, args: unknown[]", ts_return_type = "Promise<void>")]
    pub fn get_file_handle<'e>(&self, env: &'e Env, dispatch: DispatchFn, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, ()>> {
        let (bundle, uri) = file_meta(env, &args, "getFileHandle")?;
        if !crate::device::is_valid_uri(&uri) {
            return Err(throw(env, E_INVAL, format!("uri {uri:?} must be a file name of letters, digits, '_' and '.'")));
        }
        self.submit(env, &dispatch, Request::GetFileHandle { bundle, uri })
    }

    /// `publishFile(fileMeta[, callback])`: `uri: ''` publishes the whole bundle.
    #[napi(ts_args_type = "dispatch: (...a: unknown[]) => void, args: unknown[]", ts_return_type = "Promise<void>")]
    pub fn publish_file<'e>(&self, env: &'e Env, dispatch: DispatchFn, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, ()>> {
        let (bundle, uri) = file_meta(env, &args, "publishFile")?;
        if !uri.is_empty() && !crate::device::is_valid_uri(&uri) {
            return Err(throw(env, E_INVAL, format!("uri {uri:?} must be '' or a file name of letters, digits, '_' and '.'")));
        }
        self.submit(env, &dispatch, Request::PublishFile { bundle, uri })
    }

    /// `getBackupDataSize(isPreciseScan, dataList)` on the backup sessions.
    #[napi(ts_args_type = "dispatch: (...a: unknown[]) => void, args: unknown[]", ts_return_type = "Promise<void>")]
    pub fn get_backup_data_size<'e>(&self, env: &'e Env, dispatch: DispatchFn, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, ()>> {
        expect_count(env, &args, 2..=2, E_PARAM, "getBackupDataSize")?;
        let precise = as_bool(&args[0]).ok_or_else(|| throw(env, E_PARAM, "isPreciseScan must be a boolean"))?;
        let bundles = bundle_times(env, &args[1], E_PARAM, "dataList")?;
        self.submit(env, &dispatch, Request::GetBackupDataSize { precise, bundles })
    }

    /// `getLocalCapabilities()` of a session (API 18).
    #[napi(js_name = "getLocalCapabilities", ts_args_type = "args: unknown[]", ts_return_type = "Promise<{ fd: number }>")]
    pub fn session_capabilities<'e>(&self, env: &'e Env, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, Object<'e>>> {
        expect_count(env, &args, 0..=0, E_INVAL, "getLocalCapabilities")?;
        promise(env, self.client.send(Request::SessionCapabilities), file_data)
    }

    #[napi(ts_args_type = "args: unknown[]", ts_return_type = "Promise<void>")]
    pub fn release<'e>(&self, env: &'e Env, args: Vec<Unknown<'e>>) -> Result<PromiseRaw<'e, ()>> {
        expect_count(env, &args, 0..=0, E_PARAM, "release")?;
        let hub = self.hub.clone();
        let busy = self.client.busy_probe();
        self.client.mark_releasing();
        let done = self.client.send(Request::Release);
        promise(env, done, move |_, _| {
            // Restore bundles that already published still report; otherwise we are done.
            if !busy() {
                hub.close();
            }
            Ok(())
        })
    }

    /// `cancel(bundleName)`: 0, 13500011 or 13500012.
    #[napi(ts_args_type = "args: unknown[]")]
    pub fn cancel(&self, env: &Env, args: Vec<Unknown>) -> Result<i32> {
        let max = if self.kind == SessionKind::Restore { 2 } else { 1 };
        expect_count(env, &args, 1..=max, E_PARAM, "cancel")?;
        let bundle = as_string(&args[0]).ok_or_else(|| throw(env, E_PARAM, "bundleName must be a string"))?;
        Ok(match self.client.call_now(Request::Cancel { bundle }) {
            Ok(Reply::Code(c)) => c,
            // No live session: the reference's client reports "not started".
            _ => E_CANCEL_UNSTARTED,
        })
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
            let baseline = if manifest_fd < 0 {
                None
            } else {
                Some(caller_fd::read_all(manifest_fd).map_err(|e| bad(&format!("manifestFd {manifest_fd} cannot be read: {e}")))?)
            };
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
