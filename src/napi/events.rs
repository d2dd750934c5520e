//! One ordered event queue per session: a single threadsafe function wraps the session's JS
//! dispatcher, so events reach JS in exactly the order the service emitted them (two TSFNs
//! would not keep their relative order). It exists only while the session has work, so an
//! idle session never holds the Node event loop open.

use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, JsValue};

use super::js_error::{self, RawValue};
use crate::protocol::{Event, FileOut};

type Args = FnArgs<(String, RawValue, RawValue)>;
type Dispatcher = ThreadsafeFunction<Event, Unknown<'static>, Args, Status, false>;

/// The JS-side dispatcher: `dispatch(callbackName, a, b)`.
pub type DispatchFn<'a> = Function<'a, Unknown<'static>, Unknown<'static>>;

/// A session's event queue on the JS side. The dispatcher exists only while events may come:
/// while the service says the session has work, or a request that may start work is in
/// flight. After `release()` no event reaches the callbacks (DESIGN.md
/// §5.13): undelivered ones are dropped, and with them the fds of files never handed over.
#[derive(Default)]
pub struct EventHub {
    tsfn: Mutex<Option<Arc<Dispatcher>>>,
    /// The service's word, from its latest event or reply.
    service_busy: AtomicBool,
    /// Requests sent whose promise has not settled yet.
    in_flight: AtomicUsize,
    /// `release()` was called: no event reaches the callbacks any more.
    released: AtomicBool,
}

fn slot(m: &Mutex<Option<Arc<Dispatcher>>>) -> std::sync::MutexGuard<'_, Option<Arc<Dispatcher>>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl crate::client::Receiver for EventHub {
    fn event(&self, ev: Event, busy: bool) {
        self.service_busy.store(busy, Ordering::Release);
        if self.released.load(Ordering::Acquire) {
            return;
        }
        let tsfn = slot(&self.tsfn).clone();
        if let Some(t) = tsfn {
            // Unbounded queue: NonBlocking never drops. A closing env drops the event.
            let _ = t.call(ev, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    fn busy(&self, busy: bool) {
        self.service_busy.store(busy, Ordering::Release);
    }
}

impl EventHub {
    pub fn new() -> Arc<EventHub> {
        Arc::new(EventHub::default())
    }

    /// Makes sure events can flow to `dispatch`; call before sending a request that may
    /// start work, and `settled` when its promise settles.
    pub fn ensure(self: &Arc<Self>, dispatch: &DispatchFn) -> Result<()> {
        let mut slot = slot(&self.tsfn);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        if slot.is_some() {
            return Ok(());
        }
        let hub = self.clone();
        let tsfn = dispatch
            .build_threadsafe_function::<Event>()
            .callee_handled::<false>()
            .build_callback(move |ctx: ThreadsafeCallContext<Event>| hub.to_args(ctx));
        match tsfn {
            Ok(t) => {
                *slot = Some(Arc::new(t));
                Ok(())
            }
            Err(e) => {
                self.in_flight.fetch_sub(1, Ordering::AcqRel);
                Err(e)
            }
        }
    }

    /// A request that needs no dispatcher (release) is in flight.
    pub fn in_flight_begin(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// A request's promise settled (on the JS thread).
    pub fn settled(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.close_if_idle();
    }

    /// `release()` was called: the session's events end here.
    pub fn mark_released(&self) {
        self.released.store(true, Ordering::Release);
    }

    /// Lets go of the dispatcher once no event can come: the process may then exit.
    fn close_if_idle(&self) {
        let idle = self.in_flight.load(Ordering::Acquire) == 0
            && (self.released.load(Ordering::Acquire) || !self.service_busy.load(Ordering::Acquire));
        if idle {
            slot(&self.tsfn).take();
        }
    }

    /// Lets go of the dispatcher for good (the service died).
    fn close(&self) {
        slot(&self.tsfn).take();
    }

    /// Runs on the JS thread: turns an event into the dispatcher's arguments.
    fn to_args(&self, ctx: ThreadsafeCallContext<Event>) -> Result<Args> {
        let env = &ctx.env;
        let undef = || -> Result<RawValue> { Ok(RawValue(unsafe { <() as ToNapiValue>::to_napi_value(env.raw(), ())? })) };
        let string = |s: &str| -> Result<RawValue> { Ok(RawValue(env.create_string(s)?.raw())) };
        let error = |e: &crate::error::BizError| -> Result<RawValue> { Ok(RawValue(js_error::to_js(env, e)?.raw())) };
        if self.released.load(Ordering::Acquire) {
            // Dropped, fds and all: nothing reaches the callbacks after release().
            return Ok(FnArgs::from((String::new(), undef()?, undef()?)));
        }
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
                self.close_if_idle();
                ("onAllBundlesEnd", a, undef()?)
            }
            Event::ResultReport { bundle, result } => ("onResultReport", string(&bundle)?, string(&result)?),
            Event::Process { bundle, process } => ("onProcess", string(&bundle)?, string(&process)?),
            Event::BackupSizeReport(report) => {
                self.close_if_idle();
                ("onBackupSizeReport", string(&report)?, undef()?)
            }
            Event::ServiceDied => {
                // Nothing follows a dead service.
                self.close();
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
    obj.set_named_property("fd", f.fd.into_inner().into_raw_fd())?;
    if let Some(m) = f.manifest_fd {
        obj.set_named_property("manifestFd", m.into_inner().into_raw_fd())?;
    }
    Ok(obj.raw())
}
