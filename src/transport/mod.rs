//! The two carriers of the protocol (DESIGN.md §2), and finding or starting the service of a
//! device root. Both carry the same messages over the same kind of connection (`wire`): the
//! process transport connects to the root's service process (`process`), the in-process one
//! (`BACKUP_SERVICE=inprocess`) serves the other end of a socket pair on a thread of this
//! process. Neither knows what the messages mean.

pub mod process;
pub mod wire;

use std::io;
use std::path::Path;

pub use wire::{Conn, Listener};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The service runs in the caller's process.
    InProcess,
    /// One service process per device root, shared by every client of that root.
    Process,
}

/// `BACKUP_SERVICE`: `process` (the default) or `inprocess`.
pub fn mode() -> Mode {
    match crate::settings::var("BACKUP_SERVICE").as_deref().map(str::trim) {
        Some("inprocess") => Mode::InProcess,
        _ => Mode::Process,
    }
}

/// A new connection to the service of `root` over `mode`. `start`: start a service process
/// if none runs (otherwise `None` when none does).
pub fn connect(mode: Mode, root: &Path, start: bool) -> io::Result<Option<Conn>> {
    match mode {
        Mode::InProcess => {
            let (client, service) = Conn::pair()?;
            let root = root.to_path_buf();
            std::thread::Builder::new().name("backup-service".into()).spawn(move || crate::service::server::serve(service, &root))?;
            Ok(Some(client))
        }
        Mode::Process => process::connect(root, start),
    }
}
