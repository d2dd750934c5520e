//! The cancellation of a bundle's work, one primitive: `cancel()`, `release()` and the
//! service's death raise it, and a worker's wait on it (`sleep`) ends the moment it is raised
//! instead of waking in slices to look.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct StopSignal {
    raised: AtomicBool,
    lock: Mutex<()>,
    changed: Condvar,
}

impl StopSignal {
    pub fn raise(&self) {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.raised.store(true, Ordering::Release);
        self.changed.notify_all();
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
    use std::sync::Arc;

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
}
