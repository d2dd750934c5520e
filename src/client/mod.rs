//! A session as the caller sees it: requests out, events in. The client speaks to the
//! service only in `protocol` messages; today the transport is a function call in this
//! process, so a daemon transport can replace it without touching either side.

use std::sync::Arc;

use crate::device::Device;
use crate::error::{BizError, BizResult};
use crate::protocol::{Reply, Request, SessionKind};
use crate::service::{EventSink, Service, Session};

/// The name the service records for this client (shown in session-conflict messages).
fn caller_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "node".to_string());
    format!("{exe}[{}]", std::process::id())
}

/// Module-level requests (capabilities, timers, send rate, backup info) for the device
/// named by the environment now.
pub fn call(req: Request) -> BizResult<Reply> {
    service_now()?.handle(req)
}

fn service_now() -> BizResult<Service> {
    let device = Device::from_env().map_err(|e| BizError::from_io(&e))?;
    Ok(Service::for_device(device))
}

type Pending = (Request, tokio::sync::oneshot::Sender<BizResult<Reply>>);

/// A connected session. Dropping it without `release` detaches: the service ends the
/// session once its work has drained, as when a client process exits.
pub struct ClientSession {
    session: Arc<Session>,
    /// Requests travel in call order to the session's own service thread, so
    /// `getFileHandle` calls produce their `onFileReady` events in the order they were made.
    requests: std::sync::mpsc::Sender<Pending>,
}

impl ClientSession {
    /// Opens a session on the device named by the environment now; it keeps that device.
    pub fn open(kind: SessionKind, sink: EventSink) -> BizResult<ClientSession> {
        let session = service_now()?.open_session(kind, &caller_name(), sink)?;
        let (requests, inbox) = std::sync::mpsc::channel::<Pending>();
        let served = session.clone();
        std::thread::Builder::new()
            .name("backup-session".into())
            .spawn(move || {
                for (req, reply) in inbox {
                    let _ = reply.send(served.handle(req));
                }
            })
            .map_err(|e| BizError::from_io(&e))?;
        Ok(ClientSession { session, requests })
    }

    /// Sends a request now, in call order; the future resolves with the service's reply.
    pub fn send(&self, req: Request) -> impl std::future::Future<Output = BizResult<Reply>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self.requests.send((req, tx)).is_ok();
        async move {
            if !sent {
                return Err(BizError::with_detail(crate::error::E_IPC, "the session's service is gone"));
            }
            rx.await.map_err(|_| BizError::with_detail(crate::error::E_IPC, "the service dropped the request"))?
        }
    }

    /// A probe the event dispatcher uses to learn when no more events can come.
    pub fn busy_probe(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let weak = Arc::downgrade(&self.session);
        move || weak.upgrade().map(|s| s.is_busy()).unwrap_or(false)
    }

    pub fn kind(&self) -> SessionKind {
        self.session.kind
    }

    pub fn device(&self) -> &Device {
        self.session.device()
    }

    /// Says at once that `release()` was called; the request itself follows in order.
    pub fn mark_releasing(&self) {
        self.session.mark_release_requested();
    }

    /// Handles a request at once on the caller's thread (for the synchronous `cancel`).
    pub fn call_now(&self, req: Request) -> BizResult<Reply> {
        self.session.handle(req)
    }

    /// Whether events are still to come (bundles queued, running or unpacking).
    pub fn is_busy(&self) -> bool {
        self.session.is_busy()
    }
}

impl Drop for ClientSession {
    fn drop(&mut self) {
        // A forgotten session must not block the device forever; one with work still
        // running keeps going and ends when it drains.
        self.session.detach();
    }
}
