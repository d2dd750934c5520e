//! The messages exchanged between a client and the service (DESIGN.md §2), serde types.
//!
//! Module requests (no session) and session requests are separate types, each with its own
//! reply type whose variants name the request they answer. File descriptors travel beside the
//! JSON of a message (`WireFd`, passed by SCM_RIGHTS by the transport); everything else is
//! plain data. The same messages cross the in-process and the process transport.

use std::collections::HashMap;
use std::os::fd::OwnedFd;

use serde::{Deserialize, Serialize};

use crate::error::BizError;

pub use crate::transport::wire::WireFd;

/// The service's backup version, one value for `getBackupVersion()` and the capability files
/// (reference §3.5 asks to pick one): the docs' "16.0".
pub const BACKUP_VERSION: &str = "16.0";

/// `getBackupVersion()`'s string, as the docs show it: a constant of the protocol, so the
/// client answers it without a round trip.
pub fn backup_version_json() -> String {
    format!("{{ \"backupVersion\" : \"{BACKUP_VERSION}\" }}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// An incremental bundle's baseline, as the caller handed it over.
#[derive(Debug, Serialize, Deserialize)]
pub enum Baseline {
    /// A dup of the caller's `manifestFd`, read by the service when the bundle starts.
    Fd(WireFd),
    /// The `manifestFd` could not be used; the bundle fails with this reason (DESIGN.md §5.12).
    Unusable(String),
}

/// One bundle of an `appendBundles` call.
#[derive(Debug, Serialize, Deserialize)]
pub struct BundleRequest {
    pub name: String,
    /// `infos[i]`, the caller's JSON string for this bundle.
    pub info: Option<String>,
    /// Larger first; ties run in call order.
    pub priority: i32,
    /// Incremental backup only: seconds; files with a newer mtime are candidates.
    pub last_incremental_time: Option<i64>,
    /// Incremental backup only: the previous backup's listing (None: no baseline).
    pub baseline: Option<Baseline>,
}

impl BundleRequest {
    pub fn named(name: impl Into<String>) -> Self {
        BundleRequest { name: name.into(), info: None, priority: 0, last_incremental_time: None, baseline: None }
    }
}

/// `IncrementalBackupTime`: a bundle and its last backup time in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleTime {
    pub name: String,
    pub last_incremental_time: i64,
}

/// The caller's `BACKUP_*` settings, carried by the requests that start work (see `settings`).
pub type Settings = HashMap<String, String>;

/// A request that needs no session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ModuleRequest {
    /// The capability file; `Some` for the incremental variant.
    LocalCapabilities {
        incremental: Option<Vec<BundleTime>>,
    },
    UpdateTimer {
        bundle: String,
        timeout_ms: u32,
    },
    UpdateSendRate {
        bundle: String,
        rate: u32,
    },
    GetBackupInfo {
        bundle: String,
    },
    /// The service's pid, uptime and the active session's holder.
    Status,
    /// A testing aid: the service stops its active session as if it had died.
    SimulateDeath,
    /// The service stops its sessions (their clients see its death) and exits.
    Shutdown,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum ModuleReply {
    /// A readable fd at offset 0, owned by the receiver.
    LocalCapabilities(Result<WireFd, BizError>),
    UpdateTimer(bool),
    UpdateSendRate(bool),
    /// None: the service cannot answer (undefined in JS).
    GetBackupInfo(Option<String>),
    Status(ServiceStatus),
    /// Whether a session was active.
    SimulateDeath(bool),
    Shutdown,
    /// The request could not be served at all.
    Failed(BizError),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub pid: u32,
    pub uptime_ms: u64,
    /// "process" or "inprocess".
    pub transport: String,
    pub holder: Option<Holder>,
    pub clients: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    pub name: String,
    pub scenario: String,
    /// Milliseconds since the epoch.
    pub since_ms: u64,
}

/// Opens a session; the first message of a session's connection.
#[derive(Debug, Serialize, Deserialize)]
pub struct OpenSession {
    pub kind: SessionKind,
    /// Who the service records as the holder (shown in session-conflict messages).
    pub caller: String,
    pub settings: Settings,
    /// Tokens of this client's sessions on this device whose `release()` is still in flight:
    /// the service lets them end before it decides on a conflict, as a device serves one
    /// caller's requests in order (`release(); new SessionBackup(…)` must not conflict).
    pub releasing: Vec<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Opened {
    /// The session's token.
    Session(u64),
    Refused(BizError),
}

/// A request of an open session, served in the order they were sent.
#[derive(Debug, Serialize, Deserialize)]
pub enum SessionRequest {
    /// Queue bundles. Restore sessions carry a dup of the remote capability file.
    AppendBundles {
        bundles: Vec<BundleRequest>,
        capabilities: Option<WireFd>,
    },
    /// Restore: create `uri` in the bundle's restore area; the fds arrive by `FileReady`.
    GetFileHandle {
        bundle: String,
        uri: String,
    },
    /// Restore: `uri` is complete (or, when empty, the whole bundle is).
    PublishFile {
        bundle: String,
        uri: String,
    },
    Cancel {
        bundle: String,
    },
    Release,
    /// API 18: only allowed apps, no `backupVersion`.
    SessionCapabilities,
    /// Backup sessions: a size scan reported through `BackupSizeReport`.
    GetBackupDataSize {
        precise: bool,
        bundles: Vec<BundleTime>,
    },
    /// The client let go of the session object without `release()`: the session ends once
    /// its work has drained.
    Detach,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum SessionReply {
    AppendBundles(Result<(), BizError>),
    GetFileHandle(Result<(), BizError>),
    PublishFile(Result<(), BizError>),
    /// 0, 13500011 or 13500012.
    Cancel(i32),
    Release(Result<(), BizError>),
    SessionCapabilities(Result<WireFd, BizError>),
    GetBackupDataSize(Result<(), BizError>),
    Detach,
    /// The session cannot serve requests any more (released, or its service died).
    Gone(BizError),
}

/// A file handed to the client: the receiver owns the fds.
#[derive(Debug, Serialize, Deserialize)]
pub struct FileOut {
    pub bundle_name: String,
    pub uri: String,
    pub fd: WireFd,
    /// Incremental backup and restore sessions carry a report fd too.
    pub manifest_fd: Option<WireFd>,
}

impl FileOut {
    pub fn new(bundle: &str, uri: &str, fd: OwnedFd, manifest_fd: Option<OwnedFd>) -> FileOut {
        FileOut { bundle_name: bundle.to_string(), uri: uri.to_string(), fd: WireFd(fd), manifest_fd: manifest_fd.map(WireFd) }
    }
}

/// Events from the service, delivered to the session's callbacks in emission order.
#[derive(Debug, Serialize, Deserialize)]
pub enum Event {
    FileReady(Result<FileOut, BizError>),
    BundleBegin(Result<String, BizError>),
    BundleEnd(Result<String, BizError>),
    AllBundlesEnd(Option<BizError>),
    ResultReport {
        bundle: String,
        result: String,
    },
    Process {
        bundle: String,
        process: String,
    },
    BackupSizeReport(String),
    /// Made by the client when its service connection breaks: nothing follows it.
    ServiceDied,
}

/// What the service sends on a session's connection.
#[derive(Debug, Serialize, Deserialize)]
pub enum ServiceMessage {
    Opened(Opened),
    /// The reply to the request with this sequence number; `busy` says whether the session
    /// still has work that will produce events.
    Reply {
        seq: u64,
        reply: SessionReply,
        busy: bool,
    },
    Event {
        event: Event,
        busy: bool,
    },
    /// The session ended normally (released or detached, and drained): not a death.
    Ended,
    /// A line of a bundle's extension console output: the client writes it to its own stderr,
    /// where the app's output went when the service lived in the caller's process.
    AppLog {
        bundle: String,
        line: String,
    },
}

/// What a client sends on a connection: the first message says what the connection is for.
#[derive(Debug, Serialize, Deserialize)]
pub enum ClientMessage {
    Module { settings: Settings, request: ModuleRequest },
    Open(OpenSession),
    Request { seq: u64, request: SessionRequest },
}
