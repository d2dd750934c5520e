//! A session's ends: `cancel()` of one bundle, `release()`, the client letting go of the
//! session object (`detach`), and the death of the service under it.

use super::*;

impl Session {
    /// The client dropped its handle: release now if idle, else once the work drains.
    pub fn detach(self: &Arc<Self>) {
        let mut inner = self.lock();
        if inner.bundles.is_empty() {
            drop(inner);
            self.release();
        } else {
            inner.detached = true;
        }
    }

    pub(super) fn cancel(self: &Arc<Self>, bundle: &str) -> i32 {
        let inner = self.lock();
        let code = scheduler::cancel_code(inner.bundles.get(bundle).map(|b| b.state));
        match inner.bundles.get(bundle) {
            Some(b) if code == 0 => {
                b.control.mark_cancelled();
                // A restore bundle awaiting files with an extension: its worker, woken by the
                // stop signal in `await_publish`, clears the work area and releases the app.
                if self.kind == SessionKind::Restore && b.state == State::Running && b.host.is_none() {
                    // Nothing runs for a restore bundle without an extension: end it here.
                    let name = bundle.to_string();
                    drop(inner);
                    let _ = self.sandbox_of(&name).map(|s| engine::restore::clear_work_area(&s));
                    self.finish(&name, Outcome::Stopped);
                }
                0
            }
            _ => code,
        }
    }

    pub(super) fn sandbox_of(&self, bundle: &str) -> Option<std::path::PathBuf> {
        self.lock().bundles.get(bundle).map(|b| b.installed.sandbox.clone())
    }

    /// The service died (`StopService`): every bundle stops at once, whatever its state, its
    /// extension is killed and its temp data removed; the client gets `onBackupServiceDied`
    /// and no other event after it.
    pub fn service_died(self: &Arc<Self>) {
        let mut inner = self.lock();
        if self.dead.swap(true, Ordering::AcqRel) {
            return;
        }
        inner.released = true;
        inner.finishing_after_release = false;
        self.work.store(false, Ordering::Release);
        let mut work_areas = Vec::new();
        for (_, b) in std::mem::take(&mut inner.bundles) {
            b.control.mark_released();
            if let Some(host) = &b.host {
                host.kill();
            }
            // A published restore unpacks from its work area until it is done (staged, so
            // the app's data is never half-restored); it clears that area itself.
            if b.state != State::Publishing {
                work_areas.push((b.installed.name.clone(), b.installed.sandbox.clone()));
            }
        }
        drop(self.wait_for_backup_workers(inner));
        for (name, sandbox) in work_areas {
            let _ = engine::restore::clear_work_area(&sandbox);
            crate::service::residue::unmark(&self.device, &name);
        }
        (self.sink)(Outgoing::Died);
    }

    /// Ends the session as the reference does: backup bundles are dropped at once without
    /// events; restore bundles that already published are allowed to finish.
    pub fn release(self: &Arc<Self>) {
        let mut inner = self.lock();
        if inner.released {
            return;
        }
        inner.released = true;
        let names: Vec<String> = inner.bundles.keys().cloned().collect();
        for name in names {
            let b = &inner.bundles[&name];
            if b.state == State::Publishing {
                inner.finishing_after_release = true;
                continue;
            }
            b.control.mark_released();
            if b.state == State::Waiting || self.kind == SessionKind::Restore {
                let b = inner.bundles.remove(&name).expect("listed above");
                if b.state == State::Running {
                    let _ = engine::restore::clear_work_area(&b.installed.sandbox);
                }
                crate::service::residue::unmark(&self.device, &b.installed.name);
                // Restore workers are not waited for below: stop the app's host here, so no
                // extension outlives release().
                if let Some(host) = &b.host {
                    host.kill();
                }
            }
        }
        let inner = self.wait_for_backup_workers(inner);
        self.note_work(&inner);
        if inner.bundles.is_empty() {
            drop(inner);
            self.end();
        }
    }

    /// Backup workers notice a stop flag between files; waits for them, so no spool file or
    /// fd outlives `release()` or the service's death. Restore workers are not waited for: an
    /// unpack that already started is allowed to finish.
    pub(super) fn wait_for_backup_workers<'a>(&self, mut inner: MutexGuard<'a, Inner>) -> MutexGuard<'a, Inner> {
        while inner.workers > 0 && self.kind != SessionKind::Restore {
            inner = self.workers_done.wait(inner).unwrap_or_else(|p| p.into_inner());
        }
        inner
    }
}
