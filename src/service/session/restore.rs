//! A restore bundle: the files the client asks for and fills (`getFileHandle`), waiting for
//! them under the framework timer, and the unpack and the app's `onRestore` once published.

use super::*;

impl Session {
    /// A restore bundle starts: leftovers of an earlier, interrupted restore are cleared (they
    /// must not be unpacked), `onBundleBegin` goes out, then the handles asked for meanwhile.
    pub(super) fn begin_restore(&self, b: &mut Bundle) {
        let name = &b.req.name;
        let _ = engine::restore::clear_work_area(&b.installed.sandbox);
        self.emit(Event::BundleBegin(Ok(name.clone())));
        for uri in std::mem::take(&mut b.queued_handles) {
            self.emit(Event::FileReady(Self::open_handle(&b.installed.sandbox, name, &uri)));
        }
    }

    /// Restore, between `onBundleBegin` and `publishFile`: the framework timer runs, and
    /// the extension must stay alive. The wait is the host's: `publish_file` and the end of
    /// the bundle wake it, as do the host's death and the stop signal.
    pub(super) fn await_publish(self: &Arc<Self>, control: &BundleControl, host: &Host) -> Outcome {
        let name = &control.name;
        // Sized, as on the device, by what the bundle held on the old device.
        let space = self.lock().bundles.get(name).and_then(|b| b.remote.as_ref()).map_or(0, |r| r.space_occupied);
        let limit = framework_timeout(space);
        let deadline = std::time::Instant::now() + limit;
        loop {
            // Read before the session's state, so a publish in between ends the wait at once.
            let generation = host.generation();
            {
                let inner = self.lock();
                match inner.bundles.get(name) {
                    Some(b) if b.state == State::Publishing => return Outcome::Continues,
                    Some(_) => {}
                    None => return Outcome::Continues, // cancelled or released: already ended
                }
            }
            if control.should_stop() {
                // cancel(): as the reference, the files are cleared (HandleClear) and the app
                // gets onRelease before the bundle ends without error.
                if control.cancelled.load(Ordering::Acquire) {
                    let _ = self.sandbox_of(name).map(|s| engine::restore::clear_work_area(&s));
                    self.release_app(host);
                }
                return Outcome::Stopped;
            }
            if let Some(why) = host.dead() {
                return Outcome::Failed(BizError::with_detail(E_EXT_DIED, why));
            }
            if std::time::Instant::now() >= deadline {
                return Outcome::Failed(BizError::with_detail(E_TIMEOUT, format!("no publishFile within {} s", limit.as_secs())));
            }
            host.wait_past(generation, deadline);
        }
    }

    // ---- restore ------------------------------------------------------------------------

    pub(super) fn open_handle(sandbox: &std::path::Path, bundle: &str, uri: &str) -> Result<FileOut, BizError> {
        match engine::restore::create_handle(sandbox, uri) {
            Ok((data, report)) => Ok(FileOut::new(bundle, uri, data.into(), Some(report.into()))),
            Err(e) => Err(BizError::from_io(&e).for_bundle(bundle)),
        }
    }

    pub(super) fn get_file_handle(self: &Arc<Self>, bundle: &str, uri: &str) -> BizResult<()> {
        if self.kind != SessionKind::Restore {
            return Err(BizError::with_detail(E_INVAL, "getFileHandle is for restore sessions"));
        }
        if !is_valid_uri(uri) {
            return Err(BizError::with_detail(E_INVAL, format!("uri {uri:?} is not a plain file name of letters, digits, '_' and '.'")));
        }
        let mut inner = self.lock();
        let b = in_session(&mut inner, bundle)?;
        match b.state {
            State::Waiting | State::Connecting => {
                b.queued_handles.insert(uri.to_string());
            }
            State::Running => {
                let ev = Event::FileReady(Self::open_handle(&b.installed.sandbox, bundle, uri));
                self.emit(ev);
            }
            State::Publishing => {
                return Err(BizError::with_detail(E_INVAL, format!("{bundle} was already published")));
            }
        }
        Ok(())
    }

    pub(super) fn publish_file(self: &Arc<Self>, bundle: &str, uri: &str) -> BizResult<()> {
        if self.kind != SessionKind::Restore {
            return Err(BizError::with_detail(E_INVAL, "publishFile is for restore sessions"));
        }
        if !uri.is_empty() && !is_valid_uri(uri) {
            return Err(BizError::with_detail(E_INVAL, format!("uri {uri:?} is not a plain file name")));
        }
        let mut inner = self.lock();
        let b = in_session(&mut inner, bundle)?;
        match b.state {
            State::Waiting | State::Connecting => return Err(BizError::with_detail(E_INVAL, format!("{bundle} has not started yet"))),
            State::Publishing => return Ok(()),
            State::Running => {}
        }
        if !uri.is_empty() {
            // API 10 style: the bundle publishes itself once manage.json and every file it
            // lists are complete (DESIGN.md §5.5).
            b.completed.insert(uri.to_string());
            if !b.completed.contains("manage.json") || !Self::all_listed_complete(b) {
                return Ok(());
            }
        }
        b.state = State::Publishing;
        if let Some(h) = &b.host {
            h.waker()(); // its worker waits in `await_publish`
        }
        let job = engine::restore::RestoreJob {
            sandbox: b.installed.sandbox.clone(),
            into_restore_dir: b.installed.config.full_backup_only,
            deletions: b.infos.apply_deletions.then(|| b.installed.config.scan_lists(b.infos.backup_scene.as_deref())),
        };
        let host = b.host.clone();
        let control = b.control.clone();
        let clear = b.infos.clear_backup_data;
        let restore_info = b.infos.unicast_details();
        let version = b.version();
        self.spawn_worker(&mut inner, bundle, move |s| {
            let result = engine::restore::run(&job);
            let outcome = match (result, host) {
                (Err(e), host) => {
                    if let Some(h) = host {
                        h.kill();
                    }
                    Outcome::Failed(e.to_biz())
                }
                (Ok(_), None) => Outcome::Done,
                // The app re-imports its data (and, for fullBackupOnly, moves it from
                // .backup/restore/) after the unpack.
                (Ok(_), Some(h)) => {
                    let name = control.name.clone();
                    // Only cancel stops it: release() lets a published bundle finish.
                    let end = run_hook(
                        &h,
                        "onRestoreEx",
                        serde_json::json!([version, restore_info]),
                        &control.timer,
                        &|| control.should_stop(),
                        &|p| s.emit(Event::Process { bundle: name.clone(), process: p }),
                    );
                    let outcome = s.hook_outcome(&name, &h, end).unwrap_or(Outcome::Done);
                    s.release_app(&h);
                    outcome
                }
            };
            if clear {
                let _ = engine::restore::clear_work_area(&job.sandbox);
            }
            outcome
        });
        Ok(())
    }

    pub(super) fn all_listed_complete(b: &Bundle) -> bool {
        let path = b.installed.work_area().join("restore/manage.json");
        let listed: Option<Vec<serde_json::Value>> = std::fs::read(&path).ok().and_then(|t| serde_json::from_slice(&t).ok());
        match listed {
            Some(entries) => entries.iter().all(|e| e.get("fileName").and_then(|n| n.as_str()).is_some_and(|n| b.completed.contains(n))),
            None => false,
        }
    }
}

/// The bundle of a `getFileHandle` or `publishFile` call; 13900020 when it is not in the session.
fn in_session<'a>(inner: &'a mut Inner, bundle: &str) -> BizResult<&'a mut Bundle> {
    inner.bundles.get_mut(bundle).ok_or_else(|| BizError::with_detail(E_INVAL, format!("{bundle} is not in this session")))
}
