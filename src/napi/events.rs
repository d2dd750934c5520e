//! One ordered event queue per session: a single threadsafe function carries the session's
//! events to the JS thread, so they reach JS in exactly the order the service emitted them
//! (two TSFNs would not keep their relative order).
//!
//! The queue lives as long as the session can still produce an event, which includes an idle
//! session: it gets `onBackupServiceDied` if the service dies. While the session has work the
//! queue holds the Node event loop open and holds the JS dispatcher strongly; while it is idle
//! it does neither (the TSFN is unref'd and the napi reference to the dispatcher is weak), so
//! an idle session keeps no process alive and a session the caller dropped can be collected.
//! That is why the TSFN calls a no-op and the dispatcher is called through the reference: a
//! TSFN's own function is a GC root for as long as the TSFN lives. The queue ends for good
//! when `release()` settles or the service's death has been delivered.

use std::os::fd::IntoRawFd;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, JsValue};

use super::js_error;
use crate::protocol::{Event, FileOut};

type Queue = ThreadsafeFunction<Event, Unknown<'static>, (), Status, false>;

/// The JS-side dispatcher: `dispatch(callbackName, a, b)`.
pub type DispatchFn<'a> = Function<'a, Unknown<'static>, Unknown<'static>>;

/// What only the JS thread touches (and the reader thread's `call`, which only queues).
struct JsSide {
    queue: Option<Queue>,
    /// The dispatcher: a strong reference while `holding`, a weak one otherwise.
    dispatch: sys::napi_ref,
    env: sys::napi_env,
    /// The queue holds the event loop open and the dispatcher alive.
    holding: bool,
    /// No event will come any more (released and settled, or the service's death delivered).
    finished: bool,
    /// The session object was collected: once idle, nobody can be waiting for an event.
    orphaned: bool,
}

// SAFETY: the raw napi handles are used on the JS thread only (ensure, settled, to_args and
// the session's finalizer); other threads only queue on `queue`, which is thread-safe.
unsafe impl Send for JsSide {}

impl JsSide {
    /// The loop is held open and the dispatcher alive (JS thread).
    fn hold(&mut self) {
        if self.holding || self.finished {
            return;
        }
        if let Some(q) = self.queue.as_ref() {
            unsafe {
                sys::napi_ref_threadsafe_function(self.env, q.raw());
                sys::napi_reference_ref(self.env, self.dispatch, ptr::null_mut());
            }
            self.holding = true;
        }
    }

    /// Neither any more (JS thread): the session is idle. An orphaned session's queue ends.
    fn let_go(&mut self) {
        if self.orphaned {
            self.finish();
        } else {
            self.unhold();
        }
    }

    fn unhold(&mut self) {
        if !self.holding {
            return;
        }
        if let Some(q) = self.queue.as_ref() {
            unsafe {
                sys::napi_unref_threadsafe_function(self.env, q.raw());
                sys::napi_reference_unref(self.env, self.dispatch, ptr::null_mut());
            }
        }
        self.holding = false;
    }

    /// The queue ends for good (JS thread): no event will come.
    fn finish(&mut self) {
        self.unhold();
        self.finished = true;
        self.queue.take();
        if !self.dispatch.is_null() {
            unsafe { sys::napi_delete_reference(self.env, self.dispatch) };
            self.dispatch = ptr::null_mut();
        }
    }
}

/// A session's event queue on the JS side. After `release()` no event reaches the callbacks
/// (DESIGN.md §5.13): undelivered ones are dropped, and with them the fds of files never
/// handed over.
pub struct EventHub {
    js: Mutex<JsSide>,
    /// The service's word, from its latest event or reply.
    service_busy: AtomicBool,
    /// Requests sent whose promise has not settled yet.
    in_flight: AtomicUsize,
    /// `release()` was called: no event reaches the callbacks any more.
    released: AtomicBool,
}

impl crate::client::Receiver for EventHub {
    fn event(&self, ev: Event, busy: bool) {
        self.service_busy.store(busy, Ordering::Release);
        if self.released.load(Ordering::Acquire) {
            return;
        }
        if let Some(q) = self.js().queue.as_ref() {
            // Unbounded queue: NonBlocking never drops and never waits for the JS thread. A
            // closing env drops the event.
            let _ = q.call(ev, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    fn busy(&self, busy: bool) {
        self.service_busy.store(busy, Ordering::Release);
    }
}

unsafe extern "C" fn no_op(env: sys::napi_env, _info: sys::napi_callback_info) -> sys::napi_value {
    let mut undef = ptr::null_mut();
    unsafe { sys::napi_get_undefined(env, &mut undef) };
    undef
}

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(Status::from(status), "napi call failed"))
    }
}

impl EventHub {
    pub fn new() -> Arc<EventHub> {
        Arc::new(EventHub {
            js: Mutex::new(JsSide {
                queue: None,
                dispatch: ptr::null_mut(),
                env: ptr::null_mut(),
                holding: false,
                finished: false,
                orphaned: false,
            }),
            service_busy: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            released: AtomicBool::new(false),
        })
    }

    fn js(&self) -> MutexGuard<'_, JsSide> {
        self.js.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes sure events can flow to `dispatch` and hold the loop open; call (on the JS
    /// thread) before sending a request that may start work, and `settled` when its promise
    /// settles.
    pub fn ensure(self: &Arc<Self>, env: &Env, dispatch: &DispatchFn) -> Result<()> {
        let mut js = self.js();
        if js.finished {
            // The session is over (released, or its service died): no event follows.
            self.in_flight.fetch_add(1, Ordering::AcqRel);
            return Ok(());
        }
        if js.queue.is_none() {
            let mut noop = ptr::null_mut();
            check(unsafe { sys::napi_create_function(env.raw(), c"dispatch".as_ptr(), 8, Some(no_op), ptr::null_mut(), &mut noop) })?;
            let noop = unsafe { Function::<(), Unknown<'static>>::from_napi_value(env.raw(), noop)? };
            // The queue's callback holds the hub (events queued before the reader thread let
            // go of it still need it), and the hub holds the queue: `finish` breaks that cycle,
            // and every way a session ends reaches it (release settled, the service's death
            // delivered, the session object collected once it is idle).
            let hub = self.clone();
            let queue = noop.build_threadsafe_function::<Event>().callee_handled::<false>().build_callback(
                move |ctx: ThreadsafeCallContext<Event>| {
                    hub.deliver(&ctx.env, ctx.value);
                    Ok(())
                },
            )?;
            let mut r = ptr::null_mut();
            check(unsafe { sys::napi_create_reference(env.raw(), dispatch.raw(), 1, &mut r) })?;
            js.queue = Some(queue);
            js.dispatch = r;
            js.env = env.raw();
            js.holding = true;
        } else {
            js.hold();
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Ok(())
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

    /// The session object is being collected (its finalizer, on the JS thread). A session
    /// with work still delivers its events until it is idle, as a detached session does.
    pub fn dropped(&self) {
        let mut js = self.js();
        js.orphaned = true;
        if !js.holding {
            js.finish();
        }
    }

    /// Lets go of the loop once the session is idle, and of everything once it was released.
    fn close_if_idle(&self) {
        if self.in_flight.load(Ordering::Acquire) != 0 {
            return;
        }
        let mut js = self.js();
        if self.released.load(Ordering::Acquire) {
            js.finish();
        } else if !self.service_busy.load(Ordering::Acquire) {
            js.let_go();
        }
    }

    /// Runs on the JS thread: hands one event to the dispatcher.
    fn deliver(&self, env: &Env, ev: Event) {
        if self.released.load(Ordering::Acquire) {
            // Dropped, fds and all: nothing reaches the callbacks after release().
            return;
        }
        let died = matches!(ev, Event::ServiceDied);
        let dispatch = {
            let mut js = self.js();
            if js.finished {
                return;
            }
            if self.service_busy.load(Ordering::Acquire) {
                // Work arrived that no request of ours started (or its reply came first).
                js.hold();
            }
            let mut f = ptr::null_mut();
            unsafe { sys::napi_get_reference_value(env.raw(), js.dispatch, &mut f) };
            f
        };
        // Null: the session object and its callbacks were collected; nobody is listening.
        if !dispatch.is_null() {
            let ends_drain = matches!(ev, Event::AllBundlesEnd(_) | Event::BackupSizeReport(_));
            match self.to_args(env, ev) {
                Ok((name, a, b)) => {
                    // The drain is over: unless new work arrived, stop holding the loop open.
                    if ends_drain {
                        self.close_if_idle();
                    }
                    call(env, dispatch, name, a, b);
                }
                Err(e) => eprintln!("backup: an event could not be delivered: {e}"),
            }
        }
        if died {
            // Nothing follows a dead service.
            self.js().finish();
        }
    }

    /// An event as the dispatcher's arguments (JS thread).
    fn to_args(&self, env: &Env, ev: Event) -> Result<(&'static str, sys::napi_value, sys::napi_value)> {
        let mut undef = ptr::null_mut();
        check(unsafe { sys::napi_get_undefined(env.raw(), &mut undef) })?;
        let string = |s: &str| -> Result<sys::napi_value> { Ok(env.create_string(s)?.raw()) };
        let error = |e: &crate::error::BizError| -> Result<sys::napi_value> { Ok(js_error::to_js(env, e)?.raw()) };
        Ok(match ev {
            Event::FileReady(Ok(f)) => ("onFileReady", undef, file_object(env, f)?),
            Event::FileReady(Err(e)) => ("onFileReady", error(&e)?, undef),
            Event::BundleBegin(Ok(n)) => ("onBundleBegin", undef, string(&n)?),
            Event::BundleBegin(Err(e)) => ("onBundleBegin", error(&e)?, undef),
            Event::BundleEnd(Ok(n)) => ("onBundleEnd", undef, string(&n)?),
            Event::BundleEnd(Err(e)) => ("onBundleEnd", error(&e)?, undef),
            Event::AllBundlesEnd(err) => ("onAllBundlesEnd", err.map(|e| error(&e)).transpose()?.unwrap_or(undef), undef),
            Event::ResultReport { bundle, result } => ("onResultReport", string(&bundle)?, string(&result)?),
            Event::Process { bundle, process } => ("onProcess", string(&bundle)?, string(&process)?),
            Event::BackupSizeReport(report) => ("onBackupSizeReport", string(&report)?, undef),
            Event::ServiceDied => ("onBackupServiceDied", undef, undef),
        })
    }
}

/// `dispatch(name, a, b)`; an exception a callback throws is the process's uncaught
/// exception, as from any Node callback.
fn call(env: &Env, dispatch: sys::napi_value, name: &str, a: sys::napi_value, b: sys::napi_value) {
    let raw = env.raw();
    let Ok(name) = env.create_string(name) else { return };
    let args = [name.raw(), a, b];
    let mut recv = ptr::null_mut();
    let mut out = ptr::null_mut();
    unsafe {
        sys::napi_get_undefined(raw, &mut recv);
        if sys::napi_call_function(raw, recv, dispatch, args.len(), args.as_ptr(), &mut out) == sys::Status::napi_pending_exception {
            let mut exc = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(raw, &mut exc);
            sys::napi_fatal_exception(raw, exc);
        }
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
