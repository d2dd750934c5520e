//! A backup bundle's data phase: the scan and packing of the engine, under the send rate and
//! the framework timer, its files handed to the client as they are ready.

use super::*;

impl Session {
    // ---- backup -------------------------------------------------------------------------

    /// What the engine packs for `b`; the incremental job too in an incremental session.
    pub(super) fn backup_jobs(&self, b: &Bundle) -> (engine::backup::BackupJob, Option<engine::incremental::IncrementalJob>) {
        let (includes, excludes) = b.installed.config.scan_lists(b.infos.backup_scene.as_deref());
        let job = engine::backup::BackupJob {
            sandbox: b.installed.sandbox.clone(),
            includes,
            excludes,
            spool_dir: b.installed.work_area().join("backup"),
            // Beside the service's other state, not in the sandbox: a restore or an uninstall of
            // the app does not need to know of it (a new sandbox has new inodes, so it misses).
            hash_cache: self.device.service_dir().ok().map(|d| d.join("hashes").join(format!("{}.json", b.installed.name))),
        };
        let incremental = (self.kind == SessionKind::IncrementalBackup).then(|| engine::incremental::IncrementalJob {
            backup: job.clone(),
            last_incremental_time: b.req.last_incremental_time.unwrap_or(0),
            // Read by the worker when the bundle starts (`take_baseline`).
            baseline: None,
        });
        (job, incremental)
    }

    pub(super) fn run_backup(
        self: &Arc<Self>,
        job: engine::backup::BackupJob,
        incremental: Option<engine::incremental::IncrementalJob>,
        control: Arc<BundleControl>,
        host: Option<&Host>,
    ) -> Outcome {
        let name = control.name.clone();
        let mut incremental = incremental;
        if let Some(inc) = incremental.as_mut() {
            match self.take_baseline(&name) {
                Ok(b) => inc.baseline = b,
                // An unusable manifestFd is this bundle's error, like a corrupt baseline.
                Err(why) => return Outcome::Failed(engine::EngineError::Invalid(why).to_biz()),
            }
        }
        // An incremental backup first waits the infos' `delayTime` (the reference's SA
        // sleeps before it builds the listing); cancel and release cut the wait short.
        if incremental.is_some() {
            let delay = self.lock().bundles.get(&name).and_then(|b| b.infos.delay);
            if delay.is_some_and(|d| control.stop.sleep(d)) {
                return Outcome::Stopped;
            }
        }
        // The framework timer of the data phase: max(900 s, 30 s + 3 s per 3 MiB), grown
        // with the data as it is found (the reference sizes it from the scan's total).
        let started = std::time::Instant::now();
        let seen = std::sync::atomic::AtomicU64::new(0);
        let expired = || started.elapsed() > framework_timeout(seen.load(Ordering::Relaxed));
        let timed_out = AtomicBool::new(false);
        let mut sink = |out: engine::Output| {
            seen.fetch_add(out.file.metadata().map(|m| m.len()).unwrap_or(0), Ordering::Relaxed);
            // manage.json closes the bundle and is never held back by the rate.
            let give_up_at = started + framework_timeout(seen.load(Ordering::Relaxed));
            if out.uri != "manage.json" && !control.rate.acquire(&|| control.should_stop() || expired(), give_up_at) {
                timed_out.store(expired(), Ordering::Relaxed);
                return Flow::Stop;
            }
            if control.should_stop() {
                return Flow::Stop;
            }
            if expired() {
                timed_out.store(true, Ordering::Relaxed);
                return Flow::Stop;
            }
            self.emit(Event::FileReady(Ok(FileOut::new(&name, &out.uri, out.file.into(), out.report.map(Into::into)))));
            Flow::Continue
        };
        let result = match &incremental {
            Some(inc) => engine::incremental::run_incremental(inc, &mut sink),
            None => engine::backup::run_full(&job, &mut sink),
        };
        if self.clear_backup_data(&name) {
            let _ = engine::restore::clear_work_area(&job.sandbox);
        }
        // An extension that died while its data was packed ends the bundle as dead.
        if let Some(why) = host.and_then(Host::dead) {
            if !matches!(result, Err(engine::EngineError::Stopped)) {
                return Outcome::Failed(BizError::with_detail(E_EXT_DIED, why));
            }
        }
        match result {
            Ok(_) => Outcome::Done,
            Err(engine::EngineError::Stopped) if timed_out.load(Ordering::Relaxed) => {
                Outcome::Failed(BizError::with_detail(E_TIMEOUT, "the data was not taken within the framework timer"))
            }
            Err(engine::EngineError::Stopped) => Outcome::Stopped,
            Err(e) => Outcome::Failed(e.to_biz()),
        }
    }

    /// The caller's baseline listing of an incremental bundle (None: no baseline).
    fn take_baseline(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        let baseline = self.lock().bundles.get_mut(name).and_then(|b| b.baseline.take());
        match baseline {
            None => Ok(None),
            Some(Baseline::Unusable(why)) => Err(why),
            Some(Baseline::Fd(fd)) => crate::service::handed::read_all(&fd.0)
                .map(Some)
                .map_err(|e| format!("the baseline manifest (manifestFd) cannot be read: {e}")),
        }
    }

    /// `clearBackupData` ("true" unless the infos say "false"): wipe the work area at the end.
    pub(super) fn clear_backup_data(&self, name: &str) -> bool {
        self.lock().bundles.get(name).map(|b| b.infos.clear_backup_data).unwrap_or(true)
    }
}
