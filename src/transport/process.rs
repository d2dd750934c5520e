//! Finding and starting the service process of a device root. The service listens on
//! `<root>/service/service.sock`; a client that finds nobody there starts one
//! (`node lib/service/main.js --root <root>`) under an exclusive lock on
//! `<root>/service/start.lock`, so clients racing for the start end with one service. The
//! service says `ready` on its stdout once it listens, so nobody polls for the socket.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::fcntl::{Flock, FlockArg};

use super::wire::Conn;

pub fn socket_path(root: &Path) -> PathBuf {
    root.join("service").join("service.sock")
}

/// Where the service writes what it has to say (it has no terminal).
pub fn log_path(root: &Path) -> PathBuf {
    root.join("service").join("service.log")
}

/// `lib/service/main.js`, beside `lib/extension-host.js` (named by `BACKUP_EXTENSION_HOST`,
/// which index.js sets); `BACKUP_SERVICE_MAIN` overrides it.
fn service_main() -> io::Result<PathBuf> {
    if let Some(p) = crate::settings::var_os("BACKUP_SERVICE_MAIN") {
        return Ok(PathBuf::from(p));
    }
    crate::settings::var_os("BACKUP_EXTENSION_HOST")
        .map(PathBuf::from)
        .and_then(|host| host.parent().map(|lib| lib.join("service").join("main.js")))
        .filter(|p| p.is_file())
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "lib/service/main.js was not found (BACKUP_EXTENSION_HOST is not set)"))
}

fn connect_existing(root: &Path) -> Option<Conn> {
    Conn::connect(&socket_path(root)).ok()
}

/// A connection to the service of `root`, starting it if `start` and none runs.
pub fn connect(root: &Path, start: bool) -> io::Result<Option<Conn>> {
    if let Some(c) = connect_existing(root) {
        return Ok(Some(c));
    }
    if !start {
        return Ok(None);
    }
    let dir = root.join("service");
    std::fs::create_dir_all(&dir)?;
    let lock = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(dir.join("start.lock"))?;
    let _held = Flock::lock(lock, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))?;
    // Whoever held the lock before us may have started it.
    if let Some(c) = connect_existing(root) {
        return Ok(Some(c));
    }
    spawn(root)?;
    Conn::connect(&socket_path(root)).map(Some)
}

/// Starts the service process of `root` and returns once it listens (its pid).
pub fn spawn(root: &Path) -> io::Result<u32> {
    let main = service_main()?;
    let log = OpenOptions::new().create(true).append(true).open(log_path(root))?;
    let mut cmd = Command::new(crate::service::extension::node_binary());
    cmd.arg(&main).arg("--root").arg(root).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::from(log));
    // Its own session, and not our child: the service is shared, so neither a client's
    // Ctrl-C nor its exit may take it, and its own exit must leave no zombie in a client. The
    // forked child starts a session and forks again; the grandchild becomes the service.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(io::Error::from)?;
            match nix::unistd::fork().map_err(io::Error::from)? {
                nix::unistd::ForkResult::Parent { .. } => nix::libc::_exit(0),
                nix::unistd::ForkResult::Child => Ok(()),
            }
        });
    }
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let _ = child.wait(); // the intermediate, which exits at once
    let mut line = String::new();
    let said = BufReader::new(stdout).read_line(&mut line);
    match (said, line.strip_prefix("ready")) {
        (Ok(_), Some(rest)) => Ok(rest.trim().parse().unwrap_or(0)),
        _ => Err(io::Error::other(format!("the backup service did not start (see {})", log_path(root).display()))),
    }
}

/// Holds `<root>/service/service.lock` for the life of a service process: one per root.
pub fn claim_root(root: &Path) -> io::Result<Option<Flock<File>>> {
    let dir = root.join("service");
    std::fs::create_dir_all(&dir)?;
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(dir.join("service.lock"))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(l) => Ok(Some(l)),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, e)) => Err(e.into()),
    }
}
