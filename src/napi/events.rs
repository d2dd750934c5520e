//! One ordered event queue per session: a single threadsafe function wraps the session's JS
//! dispatcher, so events reach JS in exactly the order the service emitted them (two TSFNs
//! would not keep their relative order). It exists only while the session has work, so an
//! idle session never holds the Node event loop open.

use std::os::fd::IntoRawFd;
use std::sync::{Arc, Mutex, OnceLock};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, JsValue};

use super::js_error::{self, RawValue};
use crate::protocol::{Event, FileOut};

type Args = FnArgs<(String, RawValue, RawValue)>;
type Dispatcher = ThreadsafeFunction<Event, Unknown<'static>, Args, Status, false>;

/// The JS-side dispatcher: `dispatch(callbackName, a, b)`.
pub type DispatchFn<'a> = Function<'a, Unknown<'static>, Unknown<'static>>;

#[derive(Default)]
pub struct EventHub {
    tsfn: Mutex<Option<Arc<Dispatcher>>>,
    busy: OnceLock<Box<dyn Fn() -> bool + Send + Sync>>,
}

impl EventHub {
    pub fn new() -> Arc<EventHub> {
        Arc::new(EventHub::default())
    }

    /// Tells the hub how to learn that no more events can come.
    pub fn set_busy_probe(&self, probe: impl Fn() -> bool + Send + Sync + 'static) {
        let _ = self.busy.set(Box::new(probe));
    }

    /// The sink the service emits into, from any thread. An event that cannot be delivered
    /// is dropped, and its fds with it.
    pub fn sink(self: &Arc<Self>) -> crate::service::EventSink {
        let hub = self.clone();
        Arc::new(move |ev: Event| {
            let tsfn = hub.tsfn.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(t) = tsfn {
                // Unbounded queue: NonBlocking never drops. A closing env drops the event.
                let _ = t.call(ev, ThreadsafeFunctionCallMode::NonBlocking);
            }
        })
    }

    /// Makes sure events can flow to `dispatch` (call before submitting work).
    pub fn ensure(self: &Arc<Self>, dispatch: &DispatchFn) -> Result<()> {
        let mut slot = self.tsfn.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return Ok(());
        }
        let hub = self.clone();
        let tsfn = dispatch
            .build_threadsafe_function::<Event>()
            .callee_handled::<false>()
            .build_callback(move |ctx: ThreadsafeCallContext<Event>| hub.to_args(ctx))?;
        *slot = Some(Arc::new(tsfn));
        Ok(())
    }

    /// Lets go of the dispatcher: the process may exit once nothing else holds it.
    pub fn close(&self) {
        self.tsfn.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn is_busy(&self) -> bool {
        self.busy.get().map(|p| p()).unwrap_or(false)
    }

    /// Runs on the JS thread: turns an event into the dispatcher's arguments.
    fn to_args(&self, ctx: ThreadsafeCallContext<Event>) -> Result<Args> {
        let env = &ctx.env;
        let undef = || -> Result<RawValue> { Ok(RawValue(unsafe { <() as ToNapiValue>::to_napi_value(env.raw(), ())? })) };
        let string = |s: &str| -> Result<RawValue> { Ok(RawValue(env.create_string(s)?.raw())) };
        let error = |e: &crate::error::BizError| -> Result<RawValue> { Ok(RawValue(js_error::to_js(env, e)?.raw())) };
        let (name, a, b) = match ctx.value {
            Event::FileReady(Ok(f)) => ("onFileReady", undef()?, RawValue(file_object(env, f)?)),
            Event::FileReady(Err(e)) => ("onFileReady", error(&e)?, undef()?),
            Event::BundleBegin(Ok(n)) => ("onBundleBegin", undef()?, string(&n)?),
            Event::BundleBegin(Err(e)) => ("onBundleBegin", error(&e)?, undef()?),
            Event::BundleEnd(Ok(n)) => ("onBundleEnd", undef()?, string(&n)?),
            Event::BundleEnd(Err(e)) => ("onBundleEnd", error(&e)?, undef()?),
            Event::AllBundlesEnd(err) => {
                let a = match err {
                    Some(e) => error(&e)?,
                    None => undef()?,
                };
                // The drain is over: unless new work arrived, stop holding the loop open.
                if !self.is_busy() {
                    self.close();
                }
                ("onAllBundlesEnd", a, undef()?)
            }
            Event::ResultReport { bundle, result } => ("onResultReport", string(&bundle)?, string(&result)?),
            Event::Process { bundle, process } => ("onProcess", string(&bundle)?, string(&process)?),
            Event::BackupSizeReport(report) => {
                if !self.is_busy() {
                    self.close();
                }
                ("onBackupSizeReport", string(&report)?, undef()?)
            }
            Event::ServiceDied => {
                // Nothing follows a dead service.
                if !self.is_busy() {
                    self.close();
                }
                ("onBackupServiceDied", undef()?, undef()?)
            }
        };
        Ok(FnArgs::from((name.to_string(), a, b)))
    }
}

/// `{bundleName, uri, fd[, manifestFd]}`; from here on JS owns the fds.
fn file_object(env: &Env, f: FileOut) -> Result<sys::napi_value> {
    let mut obj = Object::new(env)?;
    obj.set_named_property("bundleName", f.bundle_name.as_str())?;
    obj.set_named_property("uri", f.uri.as_str())?;
    obj.set_named_property("fd", f.fd.into_raw_fd())?;
    if let Some(m) = f.manifest_fd {
        obj.set_named_property("manifestFd", m.into_raw_fd())?;
    }
    Ok(obj.raw())
}
