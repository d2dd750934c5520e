//! App extension hosts: each running bundle's `BackupExtensionAbility` runs in a child
//! process of its own (`node lib/extension-host.js`), so its crash, hang or exception is the
//! bundle's error and never the caller's (DESIGN.md §3). The service talks to it with one
//! JSON object per line over the child's stdin/stdout (docs/extension-host-protocol.md).
//!
//! A `Host` is owned by one bundle; dropping it stops the child (polite `exit`, then
//! SIGKILL) and reaps it, so no zombie or orphan survives a bundle.

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
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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
        Ok(Host {
            bundle: bundle.name.clone(),
            stdin: Mutex::new(child.stdin.take()),
            child: Mutex::new(child),
            shared,
            next_id: AtomicU64::new(1),
        })
    }

    /// Waits until the app's module loaded. `Err` carries why it did not.
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), ReadyError> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if let Some(r) = st.ready.clone() {
                return r.map_err(ReadyError::Failed);
            }
            if let Some(why) = st.dead.clone() {
                return Err(ReadyError::Failed(why));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ReadyError::Timeout);
            }
            st = self.shared.changed.wait_timeout(st, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
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
        }
        id
    }

    /// The answer to `id` if it arrived (taken), or `Died` if the host is gone.
    pub fn poll(&self, id: u64) -> Option<CallResult> {
        let mut st = self.shared.lock();
        if let Some(r) = st.replies.remove(&id) {
            return Some(r);
        }
        st.dead.clone().map(|why| CallResult::Died(self.died_message(&why, &st)))
    }

    /// Blocks until something changes (a reply, a death) or `timeout` passes.
    pub fn wait_change(&self, timeout: Duration) {
        let st = self.shared.lock();
        let _ = self.shared.changed.wait_timeout(st, timeout);
    }

    /// A whole call with a time budget.
    pub fn call(&self, call: &str, args: Value, timeout: Duration) -> CallResult {
        let id = self.send(call, args);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.poll(id) {
                return r;
            }
            let now = Instant::now();
            if now >= deadline {
                return CallResult::TimedOut;
            }
            self.wait_change((deadline - now).min(Duration::from_millis(200)));
        }
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
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() >= deadline => break,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let _ = child.kill();
        let _ = child.wait();
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
        shared.changed.notify_all();
    }
    let mut st = shared.lock();
    st.dead.get_or_insert_with(|| "the extension process exited".into());
    shared.changed.notify_all();
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
