//! Restore of one bundle from the files the client wrote into `.backup/restore/`:
//! validate everything first, stage, then move each file into place atomically.

use std::fs::File;
use std::io;
use std::path::PathBuf;

use super::EngineError;

#[derive(Debug, Clone)]
pub struct RestoreJob {
    /// `apps/<bundle>/`.
    pub sandbox: PathBuf,
    /// `fullBackupOnly`: land everything under `.backup/restore/` for the app to move.
    pub into_restore_dir: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoreSummary {
    pub files: u64,
    pub dirs: u64,
    pub bytes: u64,
}

/// Creates (truncating) `.backup/restore/<uri>` and its companion `<uri>.rp` inside the
/// sandbox, writable, mode 0600, never through a symlink. `uri` is already validated.
pub fn create_handle(sandbox: &std::path::Path, uri: &str) -> io::Result<(File, File)> {
    let _ = (sandbox, uri);
    todo!("engine helper")
}

/// Unpacks what `manage.json` in `.backup/restore/` lists. On any corrupt or hostile input
/// returns `Err(Untar)` and leaves the app's data exactly as it was.
pub fn run(job: &RestoreJob) -> Result<RestoreSummary, EngineError> {
    let _ = job;
    todo!("engine helper")
}

/// Removes the bundle's work area (`.backup/`), never following symlinks.
pub fn clear_work_area(sandbox: &std::path::Path) -> io::Result<()> {
    let _ = sandbox;
    todo!("engine helper")
}
