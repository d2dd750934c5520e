//! The cancellation of a bundle's work, one primitive: `cancel()`, `release()` and the
//! service's death raise it, and a worker's wait on it (`sleep`) ends the moment it is raised
//! instead of waking in slices to look. Waits that sleep on a condvar of their own (the
//! extension host's, the rate limiter's) register a `Wake` with `also_wake`, so raising the
//! signal notifies them too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Notifies one waiter's condvar; it takes that waiter's lock first, so a waiter that looked
/// at the signal just before it was raised is already waiting when the notify comes.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
pub struct StopSignal {
    raised: AtomicBool,
    lock: Mutex<()>,
    changed: Condvar,
    wakes: Mutex<Vec<Wake>>,
}

impl StopSignal {
    pub fn raise(&self) {
        {
            let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.raised.store(true, Ordering::Release);
            self.changed.notify_all();
        }
        let wakes = std::mem::take(&mut *self.wakes.lock().unwrap_or_else(|p| p.into_inner()));
        for wake in wakes {
            wake();
        }
    }

    /// `wake` runs when the signal is raised (at once if it already is).
    pub fn also_wake(&self, wake: Wake) {
        let mut wakes = self.wakes.lock().unwrap_or_else(|p| p.into_inner());
        if self.is_raised() {
            drop(wakes);
            wake();
        } else {
            wakes.push(wake);
        }
    }

    pub fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }

    /// Waits `d` unless the signal is raised first; whether it was raised.
    pub fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        let mut g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        while !self.is_raised() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            g = self.changed.wait_timeout(g, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_ends_when_raised_and_runs_out_when_not() {
        let s = Arc::new(StopSignal::default());
        assert!(!s.sleep(Duration::from_millis(20)));
        let raiser = s.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            raiser.raise();
        });
        let t0 = Instant::now();
        assert!(s.sleep(Duration::from_secs(30)));
        assert!(t0.elapsed() < Duration::from_secs(10));
        t.join().unwrap();
        assert!(s.sleep(Duration::from_secs(30))); // stays raised
    }

    #[test]
    fn a_registered_wake_runs_on_raise_or_at_once_when_raised() {
        use std::sync::atomic::AtomicUsize;
        let s = StopSignal::default();
        let n = Arc::new(AtomicUsize::new(0));
        let count = |n: &Arc<AtomicUsize>| -> Wake {
            let n = n.clone();
            Arc::new(move || {
                n.fetch_add(1, Ordering::SeqCst);
            })
        };
        s.also_wake(count(&n));
        assert_eq!(n.load(Ordering::SeqCst), 0);
        s.raise();
        assert_eq!(n.load(Ordering::SeqCst), 1);
        s.also_wake(count(&n));
        assert_eq!(n.load(Ordering::SeqCst), 2);
        s.raise(); // each wake runs once
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }
}
