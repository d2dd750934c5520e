//! The messages exchanged between a client and the service (DESIGN.md §2).
//!
//! Today both live in one process and messages travel by function call; every field is
//! plain data or an owned fd so the same messages can later cross a Unix socket (fds by
//! SCM_RIGHTS) when the service moves into a daemon per device root.

use std::os::fd::OwnedFd;

use crate::error::BizError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionKind {
    Backup,
    Restore,
    IncrementalBackup,
}

impl SessionKind {
    pub fn scenario(self) -> &'static str {
        match self {
            SessionKind::Backup | SessionKind::IncrementalBackup => "BACKUP",
            SessionKind::Restore => "RESTORE",
        }
    }
}

/// One bundle of an `appendBundles` call.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleRequest {
    pub name: String,
    /// `infos[i]`, the caller's JSON string for this bundle.
    pub info: Option<String>,
    /// Larger first; ties run in call order.
    pub priority: i32,
    /// Incremental backup only: seconds; files with a newer mtime are candidates.
    pub last_incremental_time: Option<i64>,
    /// Incremental backup only: the baseline report read from the caller's `manifestFd`
    /// (None or empty: no baseline).
    pub baseline: Option<Vec<u8>>,
}

impl BundleRequest {
    pub fn named(name: impl Into<String>) -> Self {
        BundleRequest { name: name.into(), info: None, priority: 0, last_incremental_time: None, baseline: None }
    }
}

/// `IncrementalBackupTime`: a bundle and its last backup time in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleTime {
    pub name: String,
    pub last_incremental_time: i64,
}

/// A request from a client; each has exactly one reply.
#[derive(Debug)]
pub enum Request {
    /// Session: queue bundles. Restore sessions carry the remote capability file's bytes.
    AppendBundles {
        bundles: Vec<BundleRequest>,
        capabilities: Option<Vec<u8>>,
    },
    /// Restore: create `uri` in the bundle's restore area; the fds arrive via `FileReady`.
    GetFileHandle {
        bundle: String,
        uri: String,
    },
    /// Restore: `uri` is complete (or, when empty, the whole bundle is).
    PublishFile {
        bundle: String,
        uri: String,
    },
    /// Session: answered with `Reply::Code` (0, 13500011 or 13500012).
    Cancel {
        bundle: String,
    },
    Release,
    /// Session variant (API 18): only allowed apps, no `backupVersion`.
    SessionCapabilities,
    /// Backup sessions: start a size scan reported through `BackupSizeReport`.
    GetBackupDataSize {
        precise: bool,
        bundles: Vec<BundleTime>,
    },
    /// Module: the capability file; `Some` for the incremental variant.
    LocalCapabilities {
        incremental: Option<Vec<BundleTime>>,
    },
    /// Module: `Reply::Bool`.
    UpdateTimer {
        bundle: String,
        timeout_ms: u32,
    },
    /// Module: `Reply::Bool`.
    UpdateSendRate {
        bundle: String,
        rate: u32,
    },
    /// Module: `Reply::Text` (None when the service cannot answer).
    GetBackupInfo {
        bundle: String,
    },
    /// Module, a testing aid: the device's service stops as if it had died. Its active
    /// session gets `ServiceDied` and nothing after; `Reply::Bool` says whether one existed.
    StopService,
}

#[derive(Debug)]
pub enum Reply {
    Unit,
    Code(i32),
    Bool(bool),
    Text(Option<String>),
    /// A readable fd at offset 0, owned by the receiver.
    Fd(OwnedFd),
}

/// A file handed to the client: the receiver owns the fds.
#[derive(Debug)]
pub struct FileOut {
    pub bundle_name: String,
    pub uri: String,
    pub fd: OwnedFd,
    /// Incremental backup and restore sessions carry a report fd too.
    pub manifest_fd: Option<OwnedFd>,
}

/// Events from the service, delivered to the session's callbacks in emission order.
#[derive(Debug)]
pub enum Event {
    FileReady(Result<FileOut, BizError>),
    BundleBegin(Result<String, BizError>),
    BundleEnd(Result<String, BizError>),
    AllBundlesEnd(Option<BizError>),
    ResultReport { bundle: String, result: String },
    Process { bundle: String, process: String },
    BackupSizeReport(String),
    ServiceDied,
}
