//! The scheduler driven through the session's real code (append, start, finish, cancel)
//! with a fake app extension and engine behind `BundleWork`: each started bundle connects when
//! the test says it is ready and ends when the test finishes it, so every state is reached on
//! purpose, with no process and no data.

use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::protocol::SessionKind;

#[derive(Default)]
struct FakeState {
    ready: BTreeSet<String>,
    done: BTreeSet<String>,
}

/// The fake extension and engine: `ready(name)` connects a bundle, `finish(name)` ends it.
#[derive(Default)]
struct FakeApps {
    st: Mutex<FakeState>,
    changed: Condvar,
}

struct Fake(Arc<FakeApps>);

impl FakeApps {
    fn set(&self, f: impl FnOnce(&mut FakeState)) {
        f(&mut self.st.lock().unwrap());
        self.changed.notify_all();
    }

    /// Waits until `until` holds; false when the bundle is stopped first.
    fn wait(&self, control: &BundleControl, until: impl Fn(&FakeState) -> bool) -> bool {
        let mut st = self.st.lock().unwrap();
        loop {
            if until(&st) {
                return true;
            }
            if control.should_stop() {
                return false;
            }
            st = self.changed.wait(st).unwrap();
        }
    }
}

impl BundleWork for Fake {
    fn run(&self, session: &Arc<Session>, control: Arc<BundleControl>) -> Outcome {
        let apps = self.0.clone();
        control.stop.also_wake(Arc::new(move || {
            let _g = apps.st.lock().unwrap();
            apps.changed.notify_all();
        }));
        let name = control.name.clone();
        if !self.0.wait(&control, |st| st.ready.contains(&name)) || !session.connected(&control) {
            return Outcome::Stopped;
        }
        if self.0.wait(&control, |st| st.done.contains(&name)) {
            Outcome::Done
        } else {
            Outcome::Stopped
        }
    }
}

struct Rig {
    session: Arc<Session>,
    apps: Arc<FakeApps>,
    events: Arc<(Mutex<Vec<String>>, Condvar)>,
    root: std::path::PathBuf,
}

/// A session of `kind` on a fresh device with `(name, restoreDeps)` installed, each with an
/// extension; priorities come with `append`.
fn rig(kind: SessionKind, apps: &[(&str, &str)]) -> Rig {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let root = std::env::temp_dir().join(format!("backup-scheduler-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    for (name, deps) in apps {
        let dir = root.join("bundles").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let bundle = serde_json::json!({"name": name, "versionCode": 1, "versionName": "1.0",
            "extension": {"name": "BackupExtensionAbility", "srcEntry": "ext.js"}});
        std::fs::write(dir.join("bundle.json"), bundle.to_string()).unwrap();
        let config = serde_json::json!({"allowToBackupRestore": true, "restoreDeps": deps});
        std::fs::write(dir.join("backup_config.json"), config.to_string()).unwrap();
    }
    let device = Device::open(&root);
    let core = Arc::new(ServiceCore { device: device.clone(), active: Mutex::new(None), freed: Condvar::new(), started: Instant::now() });
    let events: Arc<(Mutex<Vec<String>>, Condvar)> = Arc::default();
    let sink_events = events.clone();
    let sink: EventSink = Arc::new(move |out| {
        let line = match out {
            Outgoing::Event(Event::BundleBegin(Ok(n)), _) => format!("begin {n}"),
            Outgoing::Event(Event::BundleEnd(Ok(n)), _) => format!("end {n}"),
            Outgoing::Event(Event::BundleEnd(Err(e)), _) => format!("end {} {}", e.data.unwrap_or_default(), e.code),
            Outgoing::Event(Event::AllBundlesEnd(None), _) => "all".into(),
            _ => return,
        };
        sink_events.0.lock().unwrap().push(line);
        sink_events.1.notify_all();
    });
    let apps = Arc::new(FakeApps::default());
    let session = Session::with_work(kind, 1, device, core, sink, Arc::new(Fake(apps.clone())));
    Rig { session, apps, events, root }
}

impl Rig {
    fn append(&self, bundles: &[(&str, i32)]) {
        let requests = bundles.iter().map(|(n, p)| BundleRequest { priority: *p, ..BundleRequest::named(*n) }).collect();
        let caps = (self.session.kind == SessionKind::Restore).then(|| {
            let caps = capabilities::build(&self.session.device, capabilities::Variant::Module, None);
            WireFd(super::super::capability_fd(&self.session.device, &caps).unwrap())
        });
        self.session.append(requests, caps).unwrap();
    }

    /// The bundles not waiting (connecting, running), by name.
    fn started(&self) -> Vec<String> {
        self.session.lock().bundles.values().filter(|b| b.state != State::Waiting).map(|b| b.req.name.clone()).collect()
    }

    fn state(&self, name: &str) -> Option<State> {
        self.session.lock().bundles.get(name).map(|b| b.state)
    }

    fn wait_event(&self, line: &str) {
        let (events, changed) = &*self.events;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut ev = events.lock().unwrap();
        while !ev.iter().any(|e| e == line) {
            assert!(Instant::now() < deadline, "no {line:?} in {:?}", *ev);
            ev = changed.wait_timeout(ev, Duration::from_secs(1)).unwrap().0;
        }
    }

    fn events(&self) -> Vec<String> {
        self.events.0.lock().unwrap().clone()
    }

    /// Connects and ends `name`, and waits until the session took its end in.
    fn complete(&self, name: &str) {
        self.apps.set(|st| {
            st.ready.insert(name.into());
            st.done.insert(name.into());
        });
        self.wait_event(&format!("end {name}"));
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.session.release();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn names(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn larger_priority_first_ties_in_call_order_three_at_once() {
    let all = ["com.example.a", "com.example.b", "com.example.c", "com.example.d", "com.example.e", "com.example.f"];
    let r = rig(SessionKind::Backup, &all.map(|n| (n, "")));
    r.append(&[("com.example.a", 1), ("com.example.b", 9), ("com.example.c", 5), ("com.example.d", 5)]);
    // A later call's tie goes after the earlier ones.
    r.append(&[("com.example.e", 5), ("com.example.f", 0)]);
    assert_eq!(r.started(), names(&["com.example.b", "com.example.c", "com.example.d"]));
    assert_eq!(r.state("com.example.b"), Some(State::Connecting));
    r.complete("com.example.c");
    assert_eq!(r.started(), names(&["com.example.b", "com.example.d", "com.example.e"]));
    r.complete("com.example.b");
    assert_eq!(r.started(), names(&["com.example.a", "com.example.d", "com.example.e"]));
    r.complete("com.example.e");
    assert_eq!(r.started(), names(&["com.example.a", "com.example.d", "com.example.f"]));
    for n in ["com.example.a", "com.example.d", "com.example.f"] {
        r.complete(n);
    }
    r.wait_event("all");
    let ev = r.events();
    let begins: Vec<&String> = ev.iter().filter(|e| e.starts_with("begin")).collect();
    assert_eq!(begins.len(), 6);
    assert_eq!(ev.last().map(String::as_str), Some("all"));
}

#[test]
fn a_restore_bundle_starts_after_the_bundles_its_restore_deps_names() {
    let r =
        rig(SessionKind::Restore, &[("com.example.dependent", "com.example.base"), ("com.example.base", ""), ("com.example.other", "")]);
    r.append(&[("com.example.dependent", 10), ("com.example.base", 0), ("com.example.other", 0)]);
    // A slot is free, yet the dependent waits for base.
    assert_eq!(r.started(), names(&["com.example.base", "com.example.other"]));
    assert_eq!(r.state("com.example.dependent"), Some(State::Waiting));
    r.complete("com.example.base");
    assert_eq!(r.started(), names(&["com.example.dependent", "com.example.other"]));
}

#[test]
fn cancel_answers_in_every_state_of_a_backup_and_a_restore() {
    for kind in [SessionKind::Backup, SessionKind::Restore] {
        let all = ["com.example.w1", "com.example.w2", "com.example.w3", "com.example.w4"];
        let r = rig(kind, &all.map(|n| (n, "")));
        r.append(&all.map(|n| (n, 0)));
        assert_eq!(r.state("com.example.w4"), Some(State::Waiting));
        assert_eq!(r.session.cancel("com.example.w4"), 13500011, "{kind:?}: waiting");
        assert_eq!(r.state("com.example.w4"), Some(State::Waiting), "a waiting bundle is left as it was");
        assert_eq!(r.session.cancel("com.example.nothere"), 13500012, "{kind:?}: not in the session");
        // Connecting: its extension is not ready yet.
        assert_eq!(r.state("com.example.w1"), Some(State::Connecting));
        assert_eq!(r.session.cancel("com.example.w1"), 0, "{kind:?}: connecting");
        r.wait_event("end com.example.w1");
        assert_eq!(r.started(), names(&["com.example.w2", "com.example.w3", "com.example.w4"]), "its slot went to w4");
        // Running: connected and begun.
        r.apps.set(|st| {
            st.ready.insert("com.example.w2".into());
        });
        r.wait_event("begin com.example.w2");
        assert_eq!(r.state("com.example.w2"), Some(State::Running));
        assert_eq!(r.session.cancel("com.example.w2"), 0, "{kind:?}: running");
        r.wait_event("end com.example.w2");
        // Ended: no task any more.
        assert_eq!(r.session.cancel("com.example.w1"), 13500012, "{kind:?}: ended");
        r.complete("com.example.w3");
        r.complete("com.example.w4");
        r.wait_event("all");
        let ev = r.events();
        // A cancelled bundle ends without error, once; a connecting one never began.
        assert_eq!(ev.iter().filter(|e| e.starts_with("end")).count(), 4, "{ev:?}");
        assert!(ev.iter().all(|e| !e.starts_with("end ") || e.split(' ').count() == 2), "{ev:?}");
        assert!(!ev.contains(&"begin com.example.w1".to_string()), "{ev:?}");
    }
}
