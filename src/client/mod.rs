//! A session as the caller sees it: requests out, events in. A `ClientSession` owns its
//! connection to the service and nothing else: every request is a protocol message sent at
//! the call, so the service serves them in call order, and each has a typed reply. A reader
//! thread takes what the service sends: replies go to their callers, events to the session's
//! `Receiver`. A connection that breaks before the session ended is the service's death.

use std::collections::{HashMap, HashSet};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::sync::oneshot;

use crate::error::*;
use crate::protocol::*;
use crate::transport::{self, Conn};

/// Where a session's events go (the napi layer's event queue).
pub trait Receiver: Send + Sync {
    /// An event, and whether the session still has work that will produce events.
    fn event(&self, event: Event, busy: bool);
    /// The session's work state as of a reply.
    fn busy(&self, busy: bool);
}

/// Locks ignore poisoning everywhere: the state they guard stays consistent at every await
/// point, and a panic elsewhere must not take the client down with it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The name the service records for this client (shown in session-conflict messages).
fn caller_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "node".to_string());
    format!("{exe}[{}]", std::process::id())
}

/// The device root named by the environment now.
pub fn root_now() -> BizResult<PathBuf> {
    crate::device::Device::from_env().map(|d| d.root().to_path_buf()).map_err(|e| BizError::from_io(&e))
}

fn ipc(detail: impl std::fmt::Display) -> BizError {
    BizError::with_detail(E_IPC, detail)
}

fn died() -> BizError {
    BizError::with_detail(E_INVAL, "the backup service died; this session is gone (open a new one)")
}

// ---- module requests ---------------------------------------------------------------------

/// Where a module request goes and with which settings, as the caller's environment named
/// them at the call: a request served off the JS thread must not read an environment that
/// the caller changed meanwhile (another test's device root or transport).
pub struct Target {
    mode: transport::Mode,
    root: PathBuf,
    settings: HashMap<String, String>,
}

impl Target {
    pub fn now() -> BizResult<Target> {
        Ok(Target { mode: transport::mode(), root: root_now()?, settings: crate::settings::snapshot() })
    }
}

/// One module request to the service of `root`, a blocking round trip. `start`: start the
/// service if none runs (else `Ok(None)` when none does).
pub fn module_at(mode: transport::Mode, root: &Path, request: ModuleRequest, start: bool) -> BizResult<Option<ModuleReply>> {
    module_to(&Target { mode, root: root.to_path_buf(), settings: crate::settings::snapshot() }, request, start)
}

fn module_to(target: &Target, request: ModuleRequest, start: bool) -> BizResult<Option<ModuleReply>> {
    let Target { mode, root, settings } = target;
    // A service that was just exiting when we connected ends the connection unanswered: ask
    // again (the next try starts a new one).
    for _ in 0..3 {
        let Some(conn) = transport::connect(*mode, root, start).map_err(|e| ipc(format!("cannot reach the backup service: {e}")))? else {
            return Ok(None);
        };
        let msg = ClientMessage::Module { settings: settings.clone(), request: request.clone() };
        if conn.send(&msg).is_err() {
            continue;
        }
        match conn.recv::<ModuleReply>() {
            Ok(Some(ModuleReply::Failed(e))) => return Err(e),
            Ok(Some(r)) => return Ok(Some(r)),
            Ok(None) => continue,
            Err(e) => return Err(ipc(e)),
        }
    }
    Err(ipc("the backup service ended the connection unanswered"))
}

fn module(request: ModuleRequest, start: bool) -> BizResult<Option<ModuleReply>> {
    module_to(&Target::now()?, request, start)
}

fn unexpected<T>(r: impl std::fmt::Debug) -> BizResult<T> {
    Err(ipc(format!("unexpected reply {r:?}")))
}

/// `target`: taken on the JS thread at the call (this runs off it).
pub fn local_capabilities(target: &Target, incremental: Option<Vec<BundleTime>>) -> BizResult<OwnedFd> {
    match module_to(target, ModuleRequest::LocalCapabilities { incremental }, true)? {
        Some(ModuleReply::LocalCapabilities(r)) => r.map(WireFd::into_inner),
        other => unexpected(other),
    }
}

/// No service running means no session, so no bundle to act on: false without starting one.
pub fn update_timer(bundle: String, timeout_ms: u32) -> BizResult<bool> {
    match module(ModuleRequest::UpdateTimer { bundle, timeout_ms }, false)? {
        None => Ok(false),
        Some(ModuleReply::UpdateTimer(b)) => Ok(b),
        other => unexpected(other),
    }
}

pub fn update_send_rate(bundle: String, rate: u32) -> BizResult<bool> {
    match module(ModuleRequest::UpdateSendRate { bundle, rate }, false)? {
        None => Ok(false),
        Some(ModuleReply::UpdateSendRate(b)) => Ok(b),
        other => unexpected(other),
    }
}

pub fn backup_info(bundle: String) -> BizResult<Option<String>> {
    match module(ModuleRequest::GetBackupInfo { bundle }, true)? {
        Some(ModuleReply::GetBackupInfo(t)) => Ok(t),
        other => unexpected(other),
    }
}

/// The status of `root`'s service process; `None` when none runs there.
pub fn status(root: &Path) -> BizResult<Option<ServiceStatus>> {
    match module_at(transport::Mode::Process, root, ModuleRequest::Status, false)? {
        None => Ok(None),
        Some(ModuleReply::Status(s)) => Ok(Some(s)),
        other => unexpected(other),
    }
}

/// Starts `root`'s service process if none runs; its status.
pub fn start(root: &Path) -> BizResult<ServiceStatus> {
    match module_at(transport::Mode::Process, root, ModuleRequest::Status, true)? {
        Some(ModuleReply::Status(s)) => Ok(s),
        other => unexpected(other),
    }
}

/// Asks `root`'s service to stop its sessions and exit; false when none ran.
pub fn shutdown(root: &Path) -> BizResult<bool> {
    match module_at(transport::Mode::Process, root, ModuleRequest::Shutdown, false)? {
        None => Ok(false),
        Some(ModuleReply::Shutdown) => {
            wait_gone(root);
            Ok(true)
        }
        other => unexpected(other),
    }
}

/// A testing aid: `root`'s service dies. The service process is killed (SIGKILL); the
/// in-process service stops its session as if it had. Whether a session was active.
pub fn simulate_death(root: &Path) -> BizResult<bool> {
    if transport::mode() == transport::Mode::InProcess {
        return match module_at(transport::Mode::InProcess, root, ModuleRequest::SimulateDeath, true)? {
            Some(ModuleReply::SimulateDeath(b)) => Ok(b),
            other => unexpected(other),
        };
    }
    let Some(status) = status(root)? else { return Ok(false) };
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(status.pid as i32), nix::sys::signal::Signal::SIGKILL);
    wait_gone(root);
    Ok(status.holder.is_some())
}

/// Waits (at most 5 s) until nothing listens on `root`'s service socket any more: a dead
/// process's sockets close before it is reaped.
fn wait_gone(root: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while Conn::connect(&transport::process::socket_path(root)).is_ok() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

// ---- sessions ----------------------------------------------------------------------------

/// Tokens of this process's sessions per device root whose `release()` is on its way.
fn releasing() -> &'static Mutex<HashMap<PathBuf, HashSet<u64>>> {
    static RELEASING: OnceLock<Mutex<HashMap<PathBuf, HashSet<u64>>>> = OnceLock::new();
    RELEASING.get_or_init(Default::default)
}

struct Link {
    conn: Conn,
    next_seq: AtomicU64,
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    pending: HashMap<u64, oneshot::Sender<SessionReply>>,
    /// The `release()` requests among them: a session that ends normally while one is in
    /// flight has done what it asked.
    releases: HashSet<u64>,
    /// Set when the connection ended: `Some(true)` if by the service's death.
    closed: Option<bool>,
}

/// A connected session. Dropping it without `release` detaches: the service ends the
/// session once its work has drained, and its events still arrive until then.
pub struct ClientSession {
    link: Arc<Link>,
    token: u64,
    root: PathBuf,
    pub kind: SessionKind,
}

type Reply = std::pin::Pin<Box<dyn std::future::Future<Output = BizResult<SessionReply>> + Send>>;

impl ClientSession {
    /// Opens a session on the device named by the environment now; it keeps that device.
    pub fn open(kind: SessionKind, receiver: Arc<dyn Receiver>) -> BizResult<ClientSession> {
        let root = root_now()?;
        for _ in 0..3 {
            let conn = transport::connect(transport::mode(), &root, true)
                .map_err(|e| ipc(format!("cannot reach the backup service: {e}")))?
                .ok_or_else(|| ipc("no backup service"))?;
            let releasing = lock(releasing()).get(&root).map(|s| s.iter().copied().collect()).unwrap_or_default();
            let open = OpenSession { kind, caller: caller_name(), settings: crate::settings::snapshot(), releasing };
            if conn.send(&ClientMessage::Open(open)).is_err() {
                continue;
            }
            match conn.recv::<ServiceMessage>() {
                Ok(Some(ServiceMessage::Opened(Opened::Session(token)))) => {
                    let link = Arc::new(Link { conn, next_seq: AtomicU64::new(0), waiting: Mutex::new(Waiting::default()) });
                    let reader = link.clone();
                    let r = root.clone();
                    std::thread::Builder::new()
                        .name("backup-events".into())
                        .spawn(move || read_until_closed(&reader, receiver, &r, token))
                        .map_err(|e| BizError::from_io(&e))?;
                    return Ok(ClientSession { link, token, root, kind });
                }
                Ok(Some(ServiceMessage::Opened(Opened::Refused(e)))) => return Err(e),
                // A service that was exiting: try again.
                Ok(None) => continue,
                other => return unexpected(other),
            }
        }
        Err(ipc("the backup service ended the connection unanswered"))
    }

    /// Sends a request now, in call order; the receiver gets the service's reply.
    fn send(&self, request: SessionRequest) -> BizResult<oneshot::Receiver<SessionReply>> {
        let seq = self.link.next_seq.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut w = lock(&self.link.waiting);
            if let Some(dead) = w.closed {
                return Err(if dead { died() } else { BizError::with_detail(E_INVAL, "the session was released") });
            }
            w.pending.insert(seq, tx);
            if matches!(request, SessionRequest::Release) {
                w.releases.insert(seq);
            }
        }
        if let Err(e) = self.link.conn.send(&ClientMessage::Request { seq, request }) {
            lock(&self.link.waiting).pending.remove(&seq);
            // The service's end is gone: the session ended (or the service died) just now.
            return Err(BizError::with_detail(E_INVAL, format!("the session is gone ({e})")));
        }
        Ok(rx)
    }

    fn request(&self, request: SessionRequest) -> Reply {
        let sent = self.send(request);
        Box::pin(async move { sent?.await.map_err(|_| died()) })
    }

    /// A typed reply: `pick` takes the variant that answers the request.
    fn typed<T: Send + 'static>(
        &self,
        request: SessionRequest,
        pick: fn(SessionReply) -> Result<BizResult<T>, SessionReply>,
    ) -> impl std::future::Future<Output = BizResult<T>> + Send + 'static {
        let reply = self.request(request);
        async move {
            match pick(reply.await?) {
                Ok(r) => r,
                Err(SessionReply::Gone(e)) => Err(e),
                Err(other) => unexpected(other),
            }
        }
    }

    pub fn append_bundles(
        &self,
        bundles: Vec<BundleRequest>,
        capabilities: Option<OwnedFd>,
    ) -> impl std::future::Future<Output = BizResult<()>> + Send + 'static {
        self.typed(SessionRequest::AppendBundles { bundles, capabilities: capabilities.map(WireFd) }, |r| match r {
            SessionReply::AppendBundles(r) => Ok(r),
            o => Err(o),
        })
    }

    pub fn get_file_handle(&self, bundle: String, uri: String) -> impl std::future::Future<Output = BizResult<()>> + Send + 'static {
        self.typed(SessionRequest::GetFileHandle { bundle, uri }, |r| match r {
            SessionReply::GetFileHandle(r) => Ok(r),
            o => Err(o),
        })
    }

    pub fn publish_file(&self, bundle: String, uri: String) -> impl std::future::Future<Output = BizResult<()>> + Send + 'static {
        self.typed(SessionRequest::PublishFile { bundle, uri }, |r| match r {
            SessionReply::PublishFile(r) => Ok(r),
            o => Err(o),
        })
    }

    pub fn get_backup_data_size(
        &self,
        precise: bool,
        bundles: Vec<BundleTime>,
    ) -> impl std::future::Future<Output = BizResult<()>> + Send + 'static {
        self.typed(SessionRequest::GetBackupDataSize { precise, bundles }, |r| match r {
            SessionReply::GetBackupDataSize(r) => Ok(r),
            o => Err(o),
        })
    }

    pub fn capabilities(&self) -> impl std::future::Future<Output = BizResult<OwnedFd>> + Send + 'static {
        self.typed(SessionRequest::SessionCapabilities, |r| match r {
            SessionReply::SessionCapabilities(r) => Ok(r.map(WireFd::into_inner)),
            o => Err(o),
        })
    }

    /// `release()`: from now on, a session this process opens on the device lets this one
    /// end first instead of conflicting with it.
    pub fn release(&self) -> impl std::future::Future<Output = BizResult<()>> + Send + 'static {
        lock(releasing()).entry(self.root.clone()).or_default().insert(self.token);
        self.typed(SessionRequest::Release, |r| match r {
            SessionReply::Release(r) => Ok(r),
            o => Err(o),
        })
    }

    /// `cancel()` is synchronous: a blocking round trip, served after every earlier request.
    pub fn cancel(&self, bundle: String) -> BizResult<i32> {
        // Called on the JS thread, which is no async context.
        match self.send(SessionRequest::Cancel { bundle })?.blocking_recv().map_err(|_| died())? {
            SessionReply::Cancel(code) => Ok(code),
            SessionReply::Gone(e) => Err(e),
            other => unexpected(other),
        }
    }
}

impl Drop for ClientSession {
    fn drop(&mut self) {
        // Fire and forget: the reader thread lives on until the session has drained.
        let seq = self.link.next_seq.fetch_add(1, Ordering::Relaxed);
        let _ = self.link.conn.send(&ClientMessage::Request { seq, request: SessionRequest::Detach });
    }
}

/// The reader thread of a session: until the connection ends.
fn read_until_closed(link: &Link, receiver: Arc<dyn Receiver>, root: &Path, token: u64) {
    let mut ended = false;
    loop {
        match link.conn.recv::<ServiceMessage>() {
            Ok(Some(ServiceMessage::Event { event, busy })) => receiver.event(event, busy),
            Ok(Some(ServiceMessage::Reply { seq, reply, busy })) => {
                receiver.busy(busy);
                if ended {
                    // The session's last reply: the socket goes before the caller sees it.
                    link.conn.close();
                }
                let tx = {
                    let mut w = lock(&link.waiting);
                    w.releases.remove(&seq);
                    w.pending.remove(&seq)
                };
                if let Some(tx) = tx {
                    let _ = tx.send(reply);
                }
            }
            Ok(Some(ServiceMessage::Ended)) => ended = true,
            Ok(Some(ServiceMessage::AppLog { bundle, line })) => eprintln!("[{bundle}] {line}"),
            Ok(Some(ServiceMessage::Opened(_))) => {}
            Ok(None) => break,
            Err(e) => {
                // Not the service's end: say what broke the session, it ends as if it died.
                eprintln!("backup: the session's connection failed: {e}");
                break;
            }
        }
    }
    // The socket goes now, not when the session object is collected.
    link.conn.close();
    let (pending, releases) = {
        let mut w = lock(&link.waiting);
        w.closed = Some(!ended);
        (std::mem::take(&mut w.pending), std::mem::take(&mut w.releases))
    };
    // Requests in flight fail as the session's later calls will; a release in flight when the
    // session ended normally has its answer: the session is over.
    for (seq, tx) in pending {
        let reply = match (ended, releases.contains(&seq)) {
            (true, true) => SessionReply::Release(Ok(())),
            (true, false) => SessionReply::Gone(BizError::with_detail(E_INVAL, "the session was released")),
            (false, _) => SessionReply::Gone(died()),
        };
        let _ = tx.send(reply);
    }
    if let Some(set) = lock(releasing()).get_mut(root) {
        set.remove(&token);
    }
    if !ended {
        receiver.event(Event::ServiceDied, false);
    }
}
