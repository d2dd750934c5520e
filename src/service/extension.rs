//! App extension hosts: each running bundle's `BackupExtensionAbility` runs in a child
//! process of its own (`node lib/extension-host.js`), so its crash, hang or exception is the
//! bundle's error and never the caller's (DESIGN.md §3). The service talks to it with one
//! JSON object per line over the child's stdin/stdout (docs/extension-host-protocol.md).
//!
//! A `Host` is owned by one bundle; dropping it stops the child (polite `exit`, then
//! SIGKILL) and reaps it, so no zombie or orphan survives a bundle.
//!
//! Every wait on a host (its start, a call's answer, its exit) sleeps on one condvar that is
//! notified when something the wait looks at changes: a line from the child, its stdout
//! closing, its exit (seen by a watcher thread), or a `wake()` from outside (the bundle's
//! stop signal, its timer, the session's state).

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::device::InstalledBundle;

/// How long an extension may take to load and say it is ready (the reference's connect
/// timeout: 20 s × 1 + 5 s). `BACKUP_EXTENSION_CONNECT_TIMEOUT_MS` overrides it.
pub fn connect_timeout() -> Duration {
    env_ms("BACKUP_EXTENSION_CONNECT_TIMEOUT_MS").unwrap_or(Duration::from_secs(25))
}

pub(crate) fn env_ms(name: &str) -> Option<Duration> {
    crate::settings::millis(name)
}

/// What one call to the app returned.
#[derive(Debug, Clone, PartialEq)]
pub enum CallResult {
    /// The method ran; `value` is its string result (None for undefined/null); `defined`
    /// says whether the app itself implements it.
    Value {
        value: Option<String>,
        defined: bool,
    },
    /// The method threw or its promise rejected.
    Error {
        message: String,
        code: Option<i64>,
    },
    /// The host died (crash, exit, kill) before answering.
    Died(String),
    TimedOut,
}

#[derive(Default)]
struct State {
    ready: Option<Result<(), String>>,
    replies: HashMap<u64, CallResult>,
    dead: Option<String>,
    /// The last lines the app wrote to stderr, for error messages.
    stderr_tail: VecDeque<String>,
    /// The child exited (not yet reaped: `stop` reaps it).
    exited: bool,
    /// Counts the changes, so a waiter that looked at state outside this lock can wait for
    /// the next change without missing one (`wait_past`).
    generation: u64,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called with the lock held, after `st` changed.
    fn notify(&self, st: &mut State) {
        st.generation += 1;
        self.changed.notify_all();
    }
}

pub struct Host {
    bundle: String,
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
}

/// `lib/extension-host.js`: named by `BACKUP_EXTENSION_HOST`, which index.js sets.
fn host_script() -> io::Result<PathBuf> {
    crate::settings::var_os("BACKUP_EXTENSION_HOST").map(PathBuf::from).filter(|p| p.is_file()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the extension host (lib/extension-host.js) was not found: BACKUP_EXTENSION_HOST is not set",
        )
    })
}

/// Node: this very process when the addon runs inside node, else `node` on the PATH.
pub(crate) fn node_binary() -> PathBuf {
    crate::settings::var_os("BACKUP_NODE")
        .map(PathBuf::from)
        .or_else(|| std::env::current_exe().ok().filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("node"))))
        .unwrap_or_else(|| PathBuf::from("node"))
}

/// Spawns `cmd` so that the child is killed when this process dies, even by SIGKILL.
/// PR_SET_PDEATHSIG fires when the *thread* that forked exits, so every host is forked by
/// one spawner thread that lives as long as the process (bundle workers come and go).
fn spawn_orphan_proof(mut cmd: Command) -> io::Result<Child> {
    use std::sync::mpsc::{channel, Sender};
    type Job = (Command, Sender<io::Result<Child>>);
    static SPAWNER: std::sync::OnceLock<Mutex<Sender<Job>>> = std::sync::OnceLock::new();
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGKILL);
            Ok(())
        });
    }
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("extension-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("the extension spawner thread starts");
        Mutex::new(tx)
    });
    let (tx, rx) = channel();
    spawner.lock().unwrap_or_else(|p| p.into_inner()).send((cmd, tx)).map_err(|_| io::Error::other("the extension spawner stopped"))?;
    rx.recv().map_err(|_| io::Error::other("the extension spawner stopped"))?
}

/// Where the lines an app writes to its console go (its session's client).
pub type AppLogSink = Arc<dyn Fn(&str) + Send + Sync>;

impl Host {
    /// Starts the bundle's extension host. `entry` is the app's module (absolute); the app's
    /// console output goes to `log`.
    pub fn spawn(bundle: &InstalledBundle, entry: &std::path::Path, bundle_version: &Value, log: AppLogSink) -> io::Result<Host> {
        let mut cmd = Command::new(node_binary());
        cmd.arg(host_script()?)
            .env("BACKUP_EXT_BUNDLE", &bundle.name)
            .env("BACKUP_EXT_ENTRY", entry)
            .env("BACKUP_EXT_SANDBOX", &bundle.sandbox)
            .env("BACKUP_EXT_BUNDLE_VERSION", bundle_version.to_string())
            .current_dir(&bundle.bundle_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn_orphan_proof(cmd)?;
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), changed: Condvar::new() });
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let s = shared.clone();
        std::thread::Builder::new().name(format!("ext-out-{}", bundle.name)).spawn(move || read_protocol(stdout, &s))?;
        let s = shared.clone();
        std::thread::Builder::new().name(format!("ext-err-{}", bundle.name)).spawn(move || forward_stderr(stderr, &s, &*log))?;
        let s = shared.clone();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        std::thread::Builder::new().name(format!("ext-exit-{}", bundle.name)).spawn(move || watch_exit(pid, &s))?;
        Ok(Host {
            bundle: bundle.name.clone(),
            stdin: Mutex::new(child.stdin.take()),
            child: Mutex::new(child),
            shared,
            next_id: AtomicU64::new(1),
        })
    }

    /// Blocks until `check` gives an answer, looking again at each change; `None` once
    /// `deadline` passes first.
    fn wait_for<T>(&self, deadline: Instant, mut check: impl FnMut(&mut State) -> Option<T>) -> Option<T> {
        let mut st = self.shared.lock();
        loop {
            if let Some(t) = check(&mut st) {
                return Some(t);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            st = self.shared.changed.wait_timeout(st, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// A wake-up for this host's waiters, for the events that are not the host's own (a stop
    /// signal, a timer update, a session state change). It does not keep the host alive.
    pub fn waker(&self) -> crate::service::stop::Wake {
        let shared = Arc::downgrade(&self.shared);
        Arc::new(move || {
            if let Some(s) = shared.upgrade() {
                let mut st = s.lock();
                s.notify(&mut st);
            }
        })
    }

    /// The change count; pass it to `wait_past` after looking at state kept elsewhere.
    pub fn generation(&self) -> u64 {
        self.shared.lock().generation
    }

    /// Blocks until the host changed after `generation` was read, or `deadline` passes.
    pub fn wait_past(&self, generation: u64, deadline: Instant) {
        self.wait_for(deadline, |st| (st.generation != generation).then_some(()));
    }

    /// Waits until the app's module loaded. `Err` carries why it did not; `stop` is looked at
    /// on every change (raise it, then `waker()`, to end the wait at once).
    pub fn wait_ready(&self, timeout: Duration, stop: &dyn Fn() -> bool) -> Result<(), ReadyError> {
        let answer = self.wait_for(Instant::now() + timeout, |st| {
            if let Some(r) = st.ready.clone() {
                return Some(r.map_err(ReadyError::Failed));
            }
            if let Some(why) = st.dead.clone() {
                return Some(Err(ReadyError::Failed(why)));
            }
            stop().then_some(Err(ReadyError::Stopped))
        });
        answer.unwrap_or(Err(ReadyError::Timeout))
    }

    /// Sends a call; its answer is collected with `poll` or `wait`.
    pub fn send(&self, call: &str, args: Value) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = format!("{}\n", json!({"id": id, "call": call, "args": args}));
        let mut stdin = self.stdin.lock().unwrap_or_else(|p| p.into_inner());
        let ok = stdin.as_mut().is_some_and(|s| s.write_all(line.as_bytes()).and_then(|_| s.flush()).is_ok());
        if !ok {
            let mut st = self.shared.lock();
            st.dead.get_or_insert_with(|| "the extension host stopped reading".into());
            self.shared.notify(&mut st);
        }
        id
    }

    /// The answer to `id` if it arrived (taken), or `Died` if the host is gone.
    pub fn poll(&self, id: u64) -> Option<CallResult> {
        self.poll_locked(id, &mut self.shared.lock())
    }

    fn poll_locked(&self, id: u64, st: &mut State) -> Option<CallResult> {
        if let Some(r) = st.replies.remove(&id) {
            return Some(r);
        }
        st.dead.clone().map(|why| CallResult::Died(self.died_message(&why, st)))
    }

    /// A whole call with a time budget.
    pub fn call(&self, call: &str, args: Value, timeout: Duration) -> CallResult {
        let id = self.send(call, args);
        self.wait_for(Instant::now() + timeout, |st| self.poll_locked(id, st)).unwrap_or(CallResult::TimedOut)
    }

    pub fn dead(&self) -> Option<String> {
        let st = self.shared.lock();
        st.dead.clone().map(|why| self.died_message(&why, &st))
    }

    fn died_message(&self, why: &str, st: &State) -> String {
        let tail: Vec<&str> = st.stderr_tail.iter().map(String::as_str).collect();
        if tail.is_empty() {
            format!("the extension of {} died: {why}", self.bundle)
        } else {
            format!("the extension of {} died: {why}; it last wrote: {}", self.bundle, tail.join(" | "))
        }
    }

    /// Stops the host: asks it to exit, then kills it after `grace`; always reaps it.
    pub fn stop(&self, grace: Duration) {
        if self.dead().is_none() {
            self.send("exit", json!([]));
        }
        self.stdin.lock().unwrap_or_else(|p| p.into_inner()).take(); // EOF also means exit
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        // The exit watcher leaves the child unreaped, so its pid stays ours to kill.
        self.wait_for(Instant::now() + grace, |st| st.exited.then_some(()));
        if !matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills at once (timeout, cancel, release).
    pub fn kill(&self) {
        self.stop(Duration::ZERO);
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop(Duration::from_millis(500));
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReadyError {
    Timeout,
    Failed(String),
    /// The caller's stop condition came first.
    Stopped,
}

/// Marks the child exited the moment it exits, without reaping it (`WNOWAIT`): `Host::stop`
/// reaps, so the pid cannot be reused under a kill.
fn watch_exit(pid: nix::unistd::Pid, shared: &Shared) {
    use nix::sys::wait::{waitid, Id, WaitPidFlag};
    // Ends when it exited, or at ECHILD once `stop` reaped it first.
    while let Err(nix::errno::Errno::EINTR) = waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {}
    let mut st = shared.lock();
    st.exited = true;
    shared.notify(&mut st);
}

fn read_protocol(stdout: std::process::ChildStdout, shared: &Shared) {
    let reader = BufReader::new(stdout);
    for line in reader.split(b'\n') {
        let Ok(line) = line else { break };
        let Ok(v) = serde_json::from_slice::<Value>(&line) else { continue };
        let mut st = shared.lock();
        match (v.get("type").and_then(Value::as_str), v.get("id").and_then(Value::as_u64)) {
            (Some("ready"), _) => {
                st.ready = Some(match v.get("error") {
                    None | Some(Value::Null) => Ok(()),
                    Some(e) => Err(error_text(e)),
                });
            }
            (Some("fatal"), _) => {
                st.dead = Some(format!("uncaught error: {}", v.get("error").map(error_text).unwrap_or_default()));
            }
            (_, Some(id)) => {
                let r = if v.get("ok").and_then(Value::as_bool) == Some(true) {
                    CallResult::Value {
                        value: v.get("value").and_then(Value::as_str).map(str::to_string),
                        defined: v.get("defined").and_then(Value::as_bool).unwrap_or(true),
                    }
                } else {
                    let e = v.get("error").cloned().unwrap_or(Value::Null);
                    CallResult::Error { message: error_text(&e), code: e.get("code").and_then(Value::as_i64) }
                };
                st.replies.insert(id, r);
            }
            _ => continue,
        }
        shared.notify(&mut st);
    }
    let mut st = shared.lock();
    st.dead.get_or_insert_with(|| "the extension process exited".into());
    shared.notify(&mut st);
}

fn error_text(e: &Value) -> String {
    match e {
        Value::String(s) => s.clone(),
        Value::Object(o) => o.get("message").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| e.to_string()),
        other => other.to_string(),
    }
}

/// The app's console output: kept (last lines) for error messages and passed on to `log`,
/// unless `BACKUP_EXTENSION_LOG=off`.
fn forward_stderr(stderr: std::process::ChildStderr, shared: &Shared, log: &(dyn Fn(&str) + Send + Sync)) {
    let quiet = crate::settings::var("BACKUP_EXTENSION_LOG").is_some_and(|v| v == "off");
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if !quiet {
            log(&line);
        }
        let mut st = shared.lock();
        if st.stderr_tail.len() >= 5 {
            st.stderr_tail.pop_front();
        }
        st.stderr_tail.push_back(line.chars().take(300).collect());
    }
}
