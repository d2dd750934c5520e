//! The app-callback phase of a bundle: run one hook of the app's extension (`onBackup(Ex)`,
//! `onRestore(Ex)`) under the ext timer, polling `onProcess` as the reference does
//! (ohos-behaviour.md §3.7, §4): a first call with a 15 s budget before the hook, then one
//! every 5 s with a 1 s budget while it runs; 3 misses in a row, a missed first call or the
//! timer expiring end the bundle with 13500003.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::extension::{env_ms, CallResult, Host};
use super::stop::Wake;

/// The ext timer's default: 15 minutes.
pub const DEFAULT_EXT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// `updateTimer` accepts 0..=4 h.
pub const MAX_UPDATE_TIMER_MS: u32 = 14_400_000;

/// The ext timer of one bundle. `updateTimer` restarts it from now when it runs; otherwise
/// the value waits for the next start (and applies to that one period).
#[derive(Default)]
pub struct ExtTimer {
    inner: Mutex<TimerState>,
}

#[derive(Default)]
struct TimerState {
    deadline: Option<Instant>,
    override_ms: Option<u32>,
    /// The running hook's wait, woken when `update` moves the deadline.
    wake: Option<Wake>,
}

impl ExtTimer {
    fn lock(&self) -> std::sync::MutexGuard<'_, TimerState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn start(&self) {
        let mut t = self.lock();
        let d = t.override_ms.take().map(|ms| Duration::from_millis(ms as u64)).unwrap_or(DEFAULT_EXT_TIMEOUT);
        t.deadline = Some(Instant::now() + d);
    }

    pub fn stop(&self) {
        let mut t = self.lock();
        t.deadline = None;
        t.override_ms = None;
    }

    pub fn update(&self, ms: u32) {
        let wake = {
            let mut t = self.lock();
            if t.deadline.is_some() {
                t.deadline = Some(Instant::now() + Duration::from_millis(ms as u64));
            } else {
                t.override_ms = Some(ms);
            }
            t.wake.clone()
        };
        if let Some(wake) = wake {
            wake();
        }
    }

    pub fn expired(&self) -> bool {
        self.lock().deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn deadline(&self) -> Option<Instant> {
        self.lock().deadline
    }

    fn set_wake(&self, wake: Option<Wake>) {
        self.lock().wake = wake;
    }
}

/// How a hook phase ended.
#[derive(Debug, Clone, PartialEq)]
pub enum HookEnd {
    /// The hook returned: its string result, if any, and whether the app implements it.
    Returned {
        value: Option<String>,
        defined: bool,
    },
    /// The hook threw or rejected.
    AppError(String),
    Died(String),
    /// Ext timer, or onProcess misses.
    Timeout(String),
    /// Cancelled or released meanwhile.
    Stopped,
}

fn now_secs() -> String {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs().to_string()
}

/// The `onProcess` event payload (pretty-printed, as cJSON prints it on the device).
pub fn process_json(result: &str) -> String {
    serde_json::to_string_pretty(&json!({"processResult": {"timeInfo": now_secs(), "resultInfo": result}})).expect("plain JSON")
}

/// The `onResultReport` payload for a failed hook.
pub fn error_result_json(code: i32, message: &str) -> String {
    json!({"resultInfo": {"errorCode": code, "errorInfo": message, "type": "ErrorInfo"}}).to_string()
}

struct Cadence {
    first: Duration,
    every: Duration,
    budget: Duration,
}

fn cadence() -> Cadence {
    // Env overrides exist for tests of this very cadence; defaults are the reference's.
    Cadence {
        first: env_ms("BACKUP_ONPROCESS_FIRST_TIMEOUT_MS").unwrap_or(Duration::from_secs(15)),
        every: env_ms("BACKUP_ONPROCESS_INTERVAL_MS").unwrap_or(Duration::from_secs(5)),
        budget: env_ms("BACKUP_ONPROCESS_TIMEOUT_MS").unwrap_or(Duration::from_secs(1)),
    }
}

/// What `onRelease(scenario)` (API 20) tells the app: which kind of session it was part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseScenario {
    Backup = 1,
    Restore = 2,
}

/// The reference waits this long for the app's `onRelease` (ohos-behaviour.md §4).
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// The end of a bundle for its app: `onRelease(scenario)` runs (at most 5 s; an app without
/// it, or one that throws, is simply done), then the host is asked to exit and, after a
/// second, killed.
pub fn release(host: &Host, scenario: ReleaseScenario) {
    if host.dead().is_none() {
        let _ = host.call("onRelease", json!([scenario as i32]), RELEASE_TIMEOUT);
    }
    host.stop(Duration::from_secs(1));
}

/// Runs `call(args)` in the app. `progress` receives each `onProcess` payload. The wait
/// wakes on the host's changes, on `updateTimer` and, through the host's `waker()` that the
/// caller registered with its stop signal, on `stop`.
pub fn run_hook(host: &Host, call: &str, args: Value, timer: &ExtTimer, stop: &dyn Fn() -> bool, progress: &dyn Fn(String)) -> HookEnd {
    let c = cadence();
    timer.set_wake(Some(host.waker()));
    timer.start();
    let end = run_hook_inner(host, call, args, timer, stop, progress, &c);
    timer.stop();
    timer.set_wake(None);
    end
}

fn run_hook_inner(
    host: &Host,
    call: &str,
    args: Value,
    timer: &ExtTimer,
    stop: &dyn Fn() -> bool,
    progress: &dyn Fn(String),
    c: &Cadence,
) -> HookEnd {
    // The first onProcess, before the hook.
    let mut polling = match host.call("onProcess", json!([]), c.first) {
        CallResult::Value { value: Some(v), defined: true } if !v.is_empty() => {
            progress(process_json(&v));
            true
        }
        CallResult::Value { .. } | CallResult::Error { .. } => false,
        CallResult::Died(why) => return HookEnd::Died(why),
        CallResult::TimedOut => return HookEnd::Timeout(format!("onProcess did not answer within {} ms", c.first.as_millis())),
    };
    let id = host.send(call, args);
    let mut next_poll = Instant::now() + c.every;
    let mut pending: Option<(u64, Instant)> = None;
    let mut misses = 0;
    loop {
        // Read before looking, so a change while we look ends the wait below at once.
        let generation = host.generation();
        match host.poll(id) {
            Some(CallResult::Value { value, defined }) => return HookEnd::Returned { value, defined },
            Some(CallResult::Error { message, .. }) => return HookEnd::AppError(message),
            Some(CallResult::Died(why)) => return HookEnd::Died(why),
            Some(CallResult::TimedOut) | None => {}
        }
        if stop() {
            return HookEnd::Stopped;
        }
        if timer.expired() {
            return HookEnd::Timeout(format!("{call} did not finish before the timer expired"));
        }
        let now = Instant::now();
        if let Some((pid, sent)) = pending {
            match host.poll(pid) {
                Some(CallResult::Value { value, .. }) => {
                    pending = None;
                    misses = 0;
                    match value.filter(|v| !v.is_empty()) {
                        Some(v) => progress(process_json(&v)),
                        None => polling = false, // an empty answer ends the polling
                    }
                }
                Some(CallResult::Error { .. }) => {
                    pending = None;
                    polling = false;
                }
                Some(_) => {}
                None if now >= sent + c.budget => {
                    pending = None;
                    misses += 1;
                    if misses >= 3 {
                        return HookEnd::Timeout("onProcess missed its deadline 3 times in a row".into());
                    }
                }
                None => {}
            }
        } else if polling && now >= next_poll {
            pending = Some((host.send("onProcess", json!([])), now));
            next_poll = now + c.every;
        }
        // The next moment something is due: the timer, the next onProcess or a pending
        // one's budget; every other change (a reply, death, stop, updateTimer) wakes it.
        let far = Instant::now() + Duration::from_secs(3600);
        let due = match pending {
            Some((_, sent)) => sent + c.budget,
            None if polling => next_poll,
            None => far,
        };
        host.wait_past(generation, due.min(timer.deadline().unwrap_or(far)));
    }
}
