//! The per-bundle send-rate limiter: at most `rate` files per 1000 ms window; 0 pauses
//! until a later call raises it (ohos-behaviour.md §4).

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

pub const DEFAULT_SEND_RATE: u32 = 60;
/// The docs' ceiling (the reference's code allows 10000; DESIGN.md §5.7 keeps the docs).
pub const MAX_SEND_RATE: u32 = 800;
const WINDOW: Duration = Duration::from_millis(1000);

struct Window {
    rate: u32,
    start: Instant,
    sent: u32,
}

pub struct RateLimiter {
    window: Mutex<Window>,
    changed: Condvar,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(DEFAULT_SEND_RATE)
    }
}

impl RateLimiter {
    pub fn new(rate: u32) -> Self {
        RateLimiter {
            window: Mutex::new(Window { rate: rate.min(MAX_SEND_RATE), start: Instant::now(), sent: 0 }),
            changed: Condvar::new(),
        }
    }

    /// Poisoning is ignored, as everywhere in the service: the window stays consistent.
    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_rate(&self, rate: u32) {
        let mut w = self.lock();
        w.rate = rate.min(MAX_SEND_RATE);
        self.changed.notify_all();
    }

    pub fn rate(&self) -> u32 {
        self.lock().rate
    }

    /// Wakes a waiting sender to look at its stop condition (the bundle's stop signal was raised).
    pub fn wake(&self) {
        let _w = self.lock();
        self.changed.notify_all();
    }

    /// Blocks until one more file may be sent: the window ends, `set_rate` raises the rate, or
    /// `wake` comes. Returns false, without taking a slot, as soon as `stop()` says the sender
    /// should give up; it is looked at on each wake-up and at `give_up_at` (the sender's timer).
    pub fn acquire(&self, stop: &dyn Fn() -> bool, give_up_at: Instant) -> bool {
        let mut w = self.lock();
        loop {
            if stop() {
                return false;
            }
            let now = Instant::now();
            if now.duration_since(w.start) >= WINDOW {
                w.start = now;
                w.sent = 0;
            }
            if w.rate > 0 && w.sent < w.rate {
                w.sent += 1;
                return true;
            }
            let until = if w.rate == 0 { give_up_at } else { (w.start + WINDOW).min(give_up_at) };
            // At or past give_up_at with stop() still false: the sender's own clock is a hair
            // behind ours; look again shortly rather than spin.
            let wait = until.saturating_duration_since(now).max(Duration::from_millis(1));
            w = self.changed.wait_timeout(w, wait).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn limits_to_rate_per_second() {
        let r = RateLimiter::new(2);
        let t = Instant::now();
        for _ in 0..5 {
            assert!(r.acquire(&|| false, far()));
        }
        // 2 in the first window, 2 in the second, 1 in the third.
        assert!(t.elapsed() >= Duration::from_millis(1900), "{:?}", t.elapsed());
    }

    #[test]
    fn zero_pauses_until_raised_and_stop_wins() {
        let r = Arc::new(RateLimiter::new(0));
        let r2 = r.clone();
        let h = std::thread::spawn(move || {
            let t = Instant::now();
            assert!(r2.acquire(&|| false, far()));
            t.elapsed()
        });
        std::thread::sleep(Duration::from_millis(300));
        r.set_rate(5);
        assert!(h.join().unwrap() >= Duration::from_millis(250));
        let stop = AtomicBool::new(true);
        let paused = RateLimiter::new(0);
        assert!(!paused.acquire(&|| stop.load(Ordering::Relaxed), far()));
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    #[test]
    fn a_paused_sender_wakes_on_wake_and_at_its_deadline() {
        let r = Arc::new(RateLimiter::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r2, stop2) = (r.clone(), stop.clone());
        let h = std::thread::spawn(move || r2.acquire(&|| stop2.load(Ordering::SeqCst), far()));
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::SeqCst);
        r.wake();
        assert!(!h.join().unwrap());
        // With no wake at all, the sender's deadline ends the wait.
        let t = Instant::now();
        let give_up = t + Duration::from_millis(200);
        assert!(!RateLimiter::new(0).acquire(&|| Instant::now() >= give_up, give_up));
        assert!(t.elapsed() >= Duration::from_millis(200));
    }

    #[test]
    fn clamps_at_the_documented_maximum() {
        let r = RateLimiter::new(100_000);
        assert_eq!(r.rate(), MAX_SEND_RATE);
    }
}
