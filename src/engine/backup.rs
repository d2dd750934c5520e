//! A full backup of one bundle: scan, big files as themselves, small files packed into
//! `part.<N>.tar`, then `manage.json`, each handed to the sink as soon as it is ready.

use std::path::PathBuf;

use super::{EngineError, Flow, Output};

#[derive(Debug, Clone)]
pub struct BackupJob {
    /// `apps/<bundle>/`.
    pub sandbox: PathBuf,
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
    /// Where tar parts are spooled (anonymous files): the bundle's `.backup/backup/`.
    pub spool_dir: PathBuf,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupSummary {
    pub files: u64,
    pub dirs: u64,
    pub bytes: u64,
    pub parts: u64,
    pub big_files: u64,
}

/// Runs the backup, calling `sink` for every output in send order: big files first, then
/// each tar part as it is closed, `manage.json` last. Returns `Err(Stopped)` as soon as the
/// sink says stop.
pub fn run_full(job: &BackupJob, sink: &mut dyn FnMut(Output) -> Flow) -> Result<BackupSummary, EngineError> {
    let _ = (job, sink);
    todo!("engine helper")
}
