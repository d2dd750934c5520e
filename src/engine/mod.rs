//! Per-bundle work on the file system: scan with includes/excludes, pack into tar parts and
//! big files with `manage.json`, and the confined unpack of a restore. The engine knows
//! nothing of sessions: the service calls it on a blocking thread and hands it a sink.
//!
//! Formats are OpenHarmony's (ohos-behaviour.md §3): tar entries are absolute sandbox paths
//! ("/data/storage/el2/base/files/a.txt"), directories end in "/", files over 2 MiB travel
//! as themselves, `manage.json` is the index and is always sent last.

pub mod anon;
pub mod backup;
pub mod confined;
pub mod hash_cache;
pub mod incremental;
pub mod kernel_copy;
pub mod manage;
pub mod part_file;
pub mod plan_items;
pub mod report;
pub mod restore;
pub mod scan;
pub mod stage_writers;
pub mod tar_read;
pub mod tar_write;
pub mod verify;

#[cfg(test)]
mod device_tar;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::path::PathBuf;

/// A file is "big" (sent as itself) when larger than this.
pub const BIG_FILE_THRESHOLD: u64 = 2 * 1024 * 1024;
/// A tar part is closed once it holds at least this many bytes of content...
pub const TAR_SLICE_BYTES: u64 = 100 * 1024 * 1024;
/// ...or this many entries.
pub const TAR_SLICE_FILES: usize = 6000;
/// How many tar parts a full backup packs at once (the packers of a bundle; the walk and the
/// sending run beside them).
pub const PACK_THREADS: usize = 2;
/// Paths this long or longer are skipped by the scan and refused by the unpack.
pub const PATH_MAX: usize = 4096;

/// One file or directory found by the scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanEntry {
    /// Absolute sandbox path as the app sees it; directories end with '/'.
    pub sandbox_path: String,
    /// Where it is on this machine.
    pub fs_path: PathBuf,
    pub is_dir: bool,
    pub size: u64,
    /// `st_mode` (type and permission bits).
    pub mode: u32,
    pub mtime: (i64, i64),
    pub atime: (i64, i64),
}

/// One finished output of a bundle backup, in the order it must be sent.
#[derive(Debug)]
pub struct Output {
    /// The name the client sees: `part.<N>.tar`, a big file's `<16 hex>[.ext]`, `manage.json`.
    pub uri: String,
    /// Read-only, positioned at offset 0, owned by whoever receives it.
    pub file: File,
    /// Incremental backup only: the `.rp` report of this output (for `manage.json`, the full
    /// listing `all.rp`), read-only from offset 0.
    pub report: Option<File>,
}

/// What a sink answers after taking an output: go on, or stop (the bundle was cancelled or
/// the session released). The sink may block (send rate, pause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Why a bundle's engine work ended without success.
#[derive(Debug)]
pub enum EngineError {
    /// The sink said stop: not an error for the client.
    Stopped,
    /// Packing failed (13500006).
    Tar(String),
    /// The archive or index is corrupt or hostile (13500008); nothing of the app changed.
    Untar(String),
    /// Any other I/O failure, with its errno mapping.
    Io(std::io::Error),
    /// What the caller handed over is unusable (a baseline that is not a report): 13900020.
    Invalid(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Stopped => write!(f, "stopped"),
            EngineError::Tar(m) => write!(f, "tar failed: {m}"),
            EngineError::Untar(m) => write!(f, "untar failed: {m}"),
            EngineError::Io(e) => write!(f, "{e}"),
            EngineError::Invalid(m) => write!(f, "{m}"),
        }
    }
}

impl From<std::io::Error> for EngineError {
    fn from(e: std::io::Error) -> Self {
        EngineError::Io(e)
    }
}

impl EngineError {
    pub fn to_biz(&self) -> crate::error::BizError {
        use crate::error::*;
        match self {
            EngineError::Stopped => BizError::new(E_UNKNOWN),
            EngineError::Tar(m) => BizError::with_detail(E_TAR, m),
            EngineError::Untar(m) => BizError::with_detail(E_UNTAR, m),
            EngineError::Io(e) => BizError::from_io(e),
            EngineError::Invalid(m) => BizError::with_detail(E_INVAL, m),
        }
    }
}
