//! The scheduler's decisions, apart from the session that carries them out: which waiting
//! bundle starts next (DESIGN.md §5.4: at most three run at once, larger priority first,
//! ties in call order, a restore bundle after the bundles its `restoreDeps` names), and what
//! `cancel()` answers in each state (ohos-behaviour.md §1.1).

use crate::error::{E_CANCEL_NO_TASK, E_CANCEL_UNSTARTED};

/// Bundles running (extension connected or connecting) at once, as on the device.
pub const MAX_RUNNING: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Waiting,
    /// Its extension is starting; counts as running for the limit of three.
    Connecting,
    /// Backup: scanning and sending. Restore: receiving files from the client.
    Running,
    /// Restore: published, unpacking. Survives `release()`.
    Publishing,
}

/// What the scheduler needs to know of one bundle of the session.
pub struct Entry<'a> {
    pub name: &'a str,
    pub state: State,
    pub priority: i32,
    /// Call order within the session.
    pub seq: u64,
    /// The installed app's `restoreDeps` (comma-separated bundle names).
    pub restore_deps: &'a str,
}

/// The bundle to start now, if any: none while three run; else the waiting bundle with the
/// largest priority, the earliest call first; in a restore, one whose `restoreDeps` names a
/// bundle still in the session waits.
pub fn next_to_start<'a>(bundles: &[Entry<'a>], restore: bool) -> Option<&'a str> {
    let running = bundles.iter().filter(|b| b.state != State::Waiting).count();
    if running >= MAX_RUNNING {
        return None;
    }
    let in_session = |name: &str| bundles.iter().any(|b| b.name == name);
    bundles
        .iter()
        .filter(|b| b.state == State::Waiting)
        .filter(|b| !restore || !b.restore_deps.split(',').map(str::trim).any(|d| !d.is_empty() && d != b.name && in_session(d)))
        .min_by_key(|b| (std::cmp::Reverse(b.priority), b.seq))
        .map(|b| b.name)
}

/// `cancel(bundle)` for a bundle in `state` (None: not in the session): 13500012 when there
/// is no such task, 13500011 while it waits, 0 once it runs (it then ends without error).
pub fn cancel_code(state: Option<State>) -> i32 {
    match state {
        None => E_CANCEL_NO_TASK,
        Some(State::Waiting) => E_CANCEL_UNSTARTED,
        Some(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &'static str, state: State, priority: i32, seq: u64) -> Entry<'static> {
        Entry { name, state, priority, seq, restore_deps: "" }
    }

    /// Runs the scheduler as the session does: start the next until it says none, each
    /// started bundle counting as running. The start order.
    fn start_all(mut bundles: Vec<Entry<'static>>, restore: bool) -> Vec<&'static str> {
        let mut started = vec![];
        while let Some(n) = next_to_start(&bundles, restore) {
            bundles.iter_mut().find(|b| b.name == n).unwrap().state = State::Connecting;
            started.push(n);
        }
        started
    }

    #[test]
    fn larger_priority_first_and_ties_in_call_order() {
        let bundles = vec![
            entry("com.example.low", State::Waiting, 1, 0),
            entry("com.example.high", State::Waiting, 9, 1),
            entry("com.example.tiea", State::Waiting, 5, 2),
            entry("com.example.tieb", State::Waiting, 5, 3),
        ];
        // Three at once: the fourth waits.
        assert_eq!(start_all(bundles, false), ["com.example.high", "com.example.tiea", "com.example.tieb"]);
    }

    #[test]
    fn ties_go_in_call_order_not_by_name() {
        let bundles = vec![entry("com.example.zulu", State::Waiting, 0, 0), entry("com.example.alpha", State::Waiting, 0, 1)];
        assert_eq!(start_all(bundles, false), ["com.example.zulu", "com.example.alpha"]);
    }

    #[test]
    fn at_most_three_run_at_once_whatever_their_state() {
        for busy in [State::Connecting, State::Running, State::Publishing] {
            let mut bundles: Vec<_> =
                (0..3).map(|i| entry(["com.example.a", "com.example.b", "com.example.c"][i], busy, 0, i as u64)).collect();
            bundles.push(entry("com.example.waits", State::Waiting, 100, 3));
            assert_eq!(next_to_start(&bundles, false), None);
            bundles[1].state = State::Waiting; // not running after all: one slot is free
            assert_eq!(next_to_start(&bundles, false), Some("com.example.waits"));
        }
    }

    #[test]
    fn a_restore_bundle_waits_for_the_bundles_its_restore_deps_names() {
        let mut bundles = vec![
            Entry { restore_deps: "com.example.base, com.example.gone", ..entry("com.example.dependent", State::Waiting, 10, 0) },
            entry("com.example.base", State::Waiting, 0, 1),
        ];
        // The dependent has the larger priority but waits for base, which is in the session;
        // a dependency that is not in the session does not hold it back.
        assert_eq!(start_all(std::mem::take(&mut bundles), true), ["com.example.base"]);
        let bundles = vec![Entry { restore_deps: "com.example.base", ..entry("com.example.dependent", State::Waiting, 10, 0) }];
        assert_eq!(next_to_start(&bundles, true), Some("com.example.dependent")); // base has ended
                                                                                  // Backups ignore restoreDeps; a bundle naming itself is not held back.
        let bundles = vec![
            Entry { restore_deps: "com.example.base", ..entry("com.example.dependent", State::Waiting, 10, 0) },
            entry("com.example.base", State::Waiting, 0, 1),
        ];
        assert_eq!(next_to_start(&bundles, false), Some("com.example.dependent"));
        let bundles = vec![Entry { restore_deps: "com.example.self", ..entry("com.example.self", State::Waiting, 0, 0) }];
        assert_eq!(next_to_start(&bundles, true), Some("com.example.self"));
    }

    #[test]
    fn cancel_answers_by_state() {
        assert_eq!(cancel_code(None), 13500012);
        assert_eq!(cancel_code(Some(State::Waiting)), 13500011);
        for running in [State::Connecting, State::Running, State::Publishing] {
            assert_eq!(cancel_code(Some(running)), 0);
        }
    }
}
