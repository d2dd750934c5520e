//! A bundle's extension host: starting it, waiting until it is ready, beginning the bundle,
//! and turning the end of an app hook into the bundle's outcome.

use super::*;

impl Session {
    // ---- extensions -----------------------------------------------------------------------

    /// Starts the bundle's extension host and waits until it is ready, then begins the
    /// bundle: backup runs on in this worker; restore waits here for the client's files
    /// (the framework timer) until `publishFile` hands the bundle to its unpack worker.
    pub(super) fn connect_and_run(self: &Arc<Self>, control: Arc<BundleControl>) -> Outcome {
        let name = control.name.clone();
        // Spawned and registered under the lock: a release() or cancel() either comes first
        // (nothing is spawned) or finds the host and stops it, so none outlives them.
        let host = {
            let mut inner = self.lock();
            let Some(b) = inner.bundles.get_mut(&name) else { return Outcome::Stopped };
            if control.should_stop() {
                return Outcome::Stopped;
            }
            let installed = &b.installed;
            let entry = installed.bundle_dir.join(installed.extension.as_ref().and_then(|e| e.src_entry.clone()).unwrap_or_default());
            // The app's console output goes to the session's client, as it did when the
            // service lived in the caller's process.
            let sink = self.sink.clone();
            let bundle = name.clone();
            let log: AppLogSink = Arc::new(move |line: &str| sink(Outgoing::AppLog { bundle: bundle.clone(), line: line.to_string() }));
            match Host::spawn(installed, &entry, &b.version(), log) {
                Ok(h) => b.host.insert(Arc::new(h)).clone(),
                Err(e) => {
                    return Outcome::BootFailed(BizError::with_detail(
                        E_EXT_BOOT_FAIL,
                        format!("cannot start the extension of {name}: {e}"),
                    ))
                }
            }
        };
        // Every wait on the host (its start, the hook, the restore's files) also ends the
        // moment cancel or release raises the bundle's stop signal.
        control.stop.also_wake(host.waker());
        match host.wait_ready(connect_timeout(), &|| control.should_stop()) {
            Ok(()) => {}
            Err(ReadyError::Stopped) => {
                host.kill();
                return Outcome::Stopped;
            }
            Err(ReadyError::Timeout) => {
                host.kill();
                return Outcome::BootFailed(BizError::with_detail(
                    E_EXT_BOOT_TIMEOUT,
                    format!("the extension of {name} was not ready within {} ms", connect_timeout().as_millis()),
                ));
            }
            Err(ReadyError::Failed(why)) => {
                host.kill();
                return Outcome::BootFailed(BizError::with_detail(E_EXT_BOOT_TIMEOUT, why));
            }
        }
        if !self.connected(&control) {
            return Outcome::Stopped;
        }
        match self.kind {
            SessionKind::Restore => self.await_publish(&control, &host),
            _ => {
                let (job, incremental, backup_info) = {
                    let inner = self.lock();
                    let Some(b) = inner.bundles.get(&name) else { return Outcome::Stopped };
                    let (job, incremental) = self.backup_jobs(b);
                    (job, incremental, b.infos.unicast_details())
                };
                // The app prepares its data first; a non-empty result is reported at once.
                let end =
                    run_hook(&host, "onBackupEx", serde_json::json!([backup_info]), &control.timer, &|| control.should_stop(), &|p| {
                        self.emit(Event::Process { bundle: name.clone(), process: p })
                    });
                if let Some(outcome) = self.hook_outcome(&name, &host, end) {
                    return outcome;
                }
                let outcome = self.run_backup(job, incremental, control.clone(), Some(&host));
                self.release_app(&host);
                outcome
            }
        }
    }

    /// The bundle's extension is ready: it begins (`onBundleBegin`), unless it was stopped
    /// meanwhile (false).
    pub(super) fn connected(&self, control: &BundleControl) -> bool {
        let mut inner = self.lock();
        let Some(b) = inner.bundles.get_mut(&control.name) else { return false };
        if control.should_stop() {
            return false;
        }
        self.begin(b);
        true
    }

    /// Turns the end of a hook into the bundle's outcome (`None`: it returned; go on),
    /// sending `onResultReport` as the reference does.
    pub(super) fn hook_outcome(&self, name: &str, host: &Host, end: HookEnd) -> Option<Outcome> {
        match end {
            HookEnd::Returned { value, .. } => {
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    self.emit(Event::ResultReport { bundle: name.to_string(), result: v });
                }
                None
            }
            HookEnd::AppError(msg) => {
                self.emit(Event::ResultReport { bundle: name.to_string(), result: error_result_json(E_EXT_THROW, &msg) });
                self.release_app(host);
                Some(Outcome::Failed(BizError::with_detail(E_EXT_THROW, msg)))
            }
            HookEnd::Died(why) => Some(Outcome::Failed(BizError::with_detail(E_EXT_DIED, why))),
            HookEnd::Timeout(why) => {
                self.release_app(host);
                host.kill();
                Some(Outcome::Failed(BizError::with_detail(E_TIMEOUT, why)))
            }
            // A cancelled hook's app gets onRelease, as the reference's cancel does
            // (ohos-behaviour.md §1.1); release() and the service's death just stop it.
            HookEnd::Stopped if self.cancelled(name) => {
                self.release_app(host);
                Some(Outcome::Stopped)
            }
            HookEnd::Stopped => {
                host.kill();
                Some(Outcome::Stopped)
            }
        }
    }

    fn cancelled(&self, name: &str) -> bool {
        self.lock().bundles.get(name).is_some_and(|b| b.control.cancelled.load(Ordering::Acquire))
    }

    /// The app's `onRelease(scenario)` (at most 5 s), then the host is asked to exit.
    pub(super) fn release_app(&self, host: &Host) {
        let scenario = if self.kind == SessionKind::Restore { ReleaseScenario::Restore } else { ReleaseScenario::Backup };
        hooks::release(host, scenario);
    }
}
