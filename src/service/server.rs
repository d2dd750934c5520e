//! The service end of a connection: the first message says what it is for (one module
//! request, or a session), then a session's requests are served one after the other, in the
//! order they were sent, and its events go out on the same connection. When the client's end
//! goes away while the session lives, the client has died: its session ends at once.
//!
//! `run_process` is the service process of a device root (`lib/service/main.js`).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::device::Device;
use crate::error::*;
use crate::protocol::*;
use crate::transport::{self, Conn};

use super::session::Outgoing;
use super::Service;

/// Serves one connection to the service of `root` until either side ends it.
pub fn serve(conn: Conn, root: &Path) {
    let service = Service::for_device(Device::open(root));
    match conn.recv::<ClientMessage>() {
        Ok(Some(ClientMessage::Module { settings, request })) => {
            adopt(settings);
            let shutdown = matches!(request, ModuleRequest::Shutdown);
            let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| service.module(request)))
                .unwrap_or_else(|_| ModuleReply::Failed(BizError::with_detail(E_UNKNOWN, "the service failed on this request")));
            let _ = conn.send(&reply);
            if shutdown && is_service_process() {
                std::process::exit(0);
            }
        }
        Ok(Some(ClientMessage::Open(open))) => serve_session(conn, service, open),
        _ => {}
    }
}

/// A session's connection. A session that ends while a request is served says so with that
/// request's reply (a release that ends the session gets its reply).
struct Link {
    conn: Conn,
    state: Mutex<LinkState>,
}

#[derive(Default)]
struct LinkState {
    serving: bool,
    ended: bool,
}

impl Link {
    fn state(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn say_ended(&self) {
        let _ = self.conn.send(&ServiceMessage::Ended);
        self.conn.shutdown();
    }

    fn output(&self, o: Outgoing) {
        match o {
            Outgoing::Event(event, busy) => {
                let _ = self.conn.send(&ServiceMessage::Event { event, busy });
            }
            Outgoing::Ended => {
                let mut st = self.state();
                st.ended = true;
                if !st.serving {
                    self.say_ended();
                }
            }
            // The client sees its connection break: that is the service's death to it.
            Outgoing::Died => self.conn.shutdown(),
            Outgoing::AppLog { bundle, line } => {
                let _ = self.conn.send(&ServiceMessage::AppLog { bundle, line });
            }
        }
    }
}

/// The client's settings become the service's. Only in a service process: in the caller's
/// own process (the in-process transport) the snapshot is the caller's, kept current by every
/// call, and a service thread writing the copy its request carried could put back an older
/// environment (another test's device root or transport) between the caller's sync and its
/// next read.
fn adopt(settings: std::collections::HashMap<String, String>) {
    if is_service_process() {
        crate::settings::set_snapshot(settings);
    }
}

fn serve_session(conn: Conn, service: Service, open: OpenSession) {
    adopt(open.settings);
    let link = Arc::new(Link { conn, state: Mutex::new(LinkState::default()) });
    let out = link.clone();
    let sink: super::EventSink = Arc::new(move |o: Outgoing| out.output(o));
    let session = match service.open_session(open.kind, &open.caller, sink, &open.releasing) {
        Ok(s) => s,
        Err(e) => {
            let _ = link.conn.send(&ServiceMessage::Opened(Opened::Refused(e)));
            return;
        }
    };
    if link.conn.send(&ServiceMessage::Opened(Opened::Session(session.token))).is_err() {
        service.client_gone(&session);
        return;
    }
    loop {
        match link.conn.recv::<ClientMessage>() {
            Ok(Some(ClientMessage::Request { seq, request })) => {
                link.state().serving = true;
                let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.serve(request)))
                    .unwrap_or_else(|_| SessionReply::Gone(BizError::with_detail(E_UNKNOWN, "the service failed on this request")));
                let busy = session.is_busy();
                let reply = ServiceMessage::Reply { seq, reply, busy };
                let mut st = link.state();
                st.serving = false;
                if st.ended {
                    // The end first: the client lets go of the connection before it hands the
                    // caller this last reply.
                    let _ = link.conn.send(&ServiceMessage::Ended);
                    let _ = link.conn.send(&reply);
                    link.conn.shutdown();
                    break;
                }
                drop(st);
                if link.conn.send(&reply).is_err() {
                    break;
                }
            }
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) => {
                eprintln!("backup service: a session's connection failed: {e}");
                break;
            }
        }
    }
    // The client's end is gone. A session that had not ended belonged to a client that died.
    if !session.has_ended() {
        service.client_gone(&session);
    }
}

static SERVICE_PROCESS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process is a device's service process (`run_process`).
pub fn is_service_process() -> bool {
    SERVICE_PROCESS.load(Ordering::Relaxed)
}

/// Connections open now, and how they change (the idle exit watches it).
struct Clients {
    count: Mutex<usize>,
    changed: Condvar,
    total: AtomicUsize,
}

static CLIENTS: Clients = Clients { count: Mutex::new(0), changed: Condvar::new(), total: AtomicUsize::new(0) };

pub fn client_count() -> usize {
    *CLIENTS.count.lock().unwrap_or_else(|p| p.into_inner())
}

fn client_delta(d: isize) {
    let mut n = CLIENTS.count.lock().unwrap_or_else(|p| p.into_inner());
    *n = n.saturating_add_signed(d);
    if d > 0 {
        CLIENTS.total.fetch_add(1, Ordering::Relaxed);
    }
    CLIENTS.changed.notify_all();
}

/// How long a service process with no client and no session stays up.
fn idle_limit() -> Duration {
    crate::settings::millis("BACKUP_SERVICE_IDLE_MS").unwrap_or(Duration::from_secs(3))
}

/// The service process of `root`: claims the root, listens, says `ready` on stdout, serves every connection on a thread of its own and exits
/// once it has had no client and no session for `idle_limit()`. Returns only on failure.
pub fn run_process(root: &Path) -> std::io::Result<()> {
    SERVICE_PROCESS.store(true, Ordering::Relaxed);
    let Some(_claim) = transport::process::claim_root(root)? else {
        // Another service holds the root: the caller connects to that one.
        println!("ready (already running)");
        return Ok(());
    };
    let sock = transport::process::socket_path(root);
    let _ = std::fs::remove_file(&sock);
    let listener = transport::Listener::bind(&sock)?;
    let service = Service::for_device(Device::open(root));
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        writeln!(out, "ready {}", std::process::id())?;
        out.flush()?;
    }
    let watched = service.clone();
    let sock_path = sock.clone();
    let root_dir = root.to_path_buf();
    std::thread::Builder::new().name("idle-exit".into()).spawn(move || {
        let mut idle_since = Instant::now();
        let mut n = CLIENTS.count.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let busy = *n > 0 || watched.has_session();
            // A device that was removed gets no new client: nothing to wait for.
            let gone = !root_dir.join("service").is_dir();
            if busy {
                idle_since = Instant::now();
            } else if gone || idle_since.elapsed() >= idle_limit() {
                // The socket goes first; a client that connected meanwhile sees the end and
                // starts a new service.
                let _ = std::fs::remove_file(&sock_path);
                std::process::exit(0);
            }
            n = CLIENTS.changed.wait_timeout(n, idle_limit().min(Duration::from_millis(500))).unwrap_or_else(|p| p.into_inner()).0;
        }
    })?;
    let root = root.to_path_buf();
    loop {
        let conn = listener.accept()?;
        client_delta(1);
        let root = root.clone();
        std::thread::Builder::new().name("backup-client".into()).spawn(move || {
            serve(conn, &root);
            client_delta(-1);
        })?;
    }
}
