//! File-system operations confined beneath one directory: no component may be a symlink,
//! no path may leave the root. Used by every write the restore makes.
//!
//! Paths given here are relative ("data/storage/…"), already split and checked by
//! `clean_rel`; every directory is reached by `openat` one component at a time with
//! O_NOFOLLOW, so a symlink planted anywhere in the app's data is refused, never followed.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::fcntl::{openat, OFlag, AT_FDCWD};
use nix::sys::stat::{fstatat, mkdirat, Mode, SFlag};

use super::PATH_MAX;

/// What is at a path, looked at without following a final symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Missing,
    File,
    Dir,
    Symlink,
    Other,
}

/// A path from an archive or index as a clean relative path: leading '/' and "./" dropped,
/// empty and "." components removed. `None` for "..", NUL, empty or over-long paths.
pub fn clean_rel(path: &str) -> Option<String> {
    if path.len() >= PATH_MAX || path.contains('\0') {
        return None;
    }
    let mut parts = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

fn errno(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn kind_of(st: &nix::sys::stat::FileStat) -> Kind {
    match SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFREG => Kind::File,
        SFlag::S_IFDIR => Kind::Dir,
        SFlag::S_IFLNK => Kind::Symlink,
        _ => Kind::Other,
    }
}

pub struct Confined {
    root: OwnedFd,
    /// Directory fds (O_PATH) by relative path, so a restore of thousands of files in a few
    /// directories resolves each directory once (shared, so that a staging writer thread can hold one).
    dirs: HashMap<String, Arc<OwnedFd>>,
    /// Every directory this instance created, in creation order, so a failed restore can
    /// remove them again.
    created: Vec<String>,
}

/// A hostile sandbox (a symlink or a file where a directory must be) is the archive's
/// refusal, 13500008, like every other hostile input (error.rs maps `Refused`).
fn symlink_refused(rel: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        crate::error::Refused(format!("'{rel}' is a symlink or not a directory in the app's sandbox; it is never followed")),
    )
}

impl Confined {
    pub fn open(root: &Path) -> io::Result<Confined> {
        let root = openat(AT_FDCWD, root, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(errno)?;
        Ok(Confined { root, dirs: HashMap::new(), created: Vec::new() })
    }

    /// The directory at `rel` ("" is the root). Missing components are created as `mkdir -p`
    /// would (0777 less the umask; a restore applies recorded modes afterwards) when
    /// `create`, else `Ok(None)`.
    pub fn dir(&mut self, rel: &str, create: bool) -> io::Result<Option<BorrowedFd<'_>>> {
        if rel.is_empty() {
            return Ok(Some(self.root.as_fd()));
        }
        if !self.dirs.contains_key(rel) {
            let (parent, name) = match rel.rsplit_once('/') {
                Some((p, n)) => (p, n),
                None => ("", rel),
            };
            let Some(pfd) = self.dir(parent, create)? else { return Ok(None) };
            let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let fd = match openat(pfd, name, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) if create => {
                    let made = match mkdirat(pfd, name, Mode::from_bits_truncate(0o777)) {
                        Ok(()) => true,
                        Err(Errno::EEXIST) => false,
                        Err(e) => return Err(errno(e)),
                    };
                    let fd = openat(pfd, name, flags, Mode::empty()).map_err(|e| {
                        if e == Errno::ENOTDIR || e == Errno::ELOOP {
                            symlink_refused(rel)
                        } else {
                            errno(e)
                        }
                    })?;
                    if made {
                        self.created.push(rel.to_string());
                    }
                    fd
                }
                Err(Errno::ENOENT) => return Ok(None),
                Err(Errno::ENOTDIR) | Err(Errno::ELOOP) => return Err(symlink_refused(rel)),
                Err(e) => return Err(errno(e)),
            };
            self.dirs.insert(rel.to_string(), Arc::new(fd));
        }
        Ok(self.dirs.get(rel).map(|fd| fd.as_fd()))
    }

    /// `dir(rel, true)`, as an fd another thread can keep: it stays open while held, wherever
    /// the cache goes.
    pub fn dir_shared(&mut self, rel: &str) -> io::Result<Arc<OwnedFd>> {
        if rel.is_empty() {
            return Ok(Arc::new(self.root.try_clone()?));
        }
        self.dir(rel, true)?;
        Ok(self.dirs[rel].clone())
    }

    /// What is at `rel`, without creating anything and without following symlinks. A
    /// symlink or non-directory among the parents is an error.
    pub fn probe(&mut self, rel: &str) -> io::Result<Kind> {
        let (parent, name) = split(rel);
        let Some(pfd) = self.dir(parent, false)? else { return Ok(Kind::Missing) };
        match fstatat(pfd, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(kind_of(&st)),
            Err(Errno::ENOENT) => Ok(Kind::Missing),
            Err(e) => Err(errno(e)),
        }
    }

    /// Opens an existing regular file for reading; refuses symlinks and anything else.
    pub fn open_file(&mut self, rel: &str) -> io::Result<File> {
        let (parent, name) = split(rel);
        let pfd = self.dir(parent, false)?.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{rel} does not exist")))?;
        let fd =
            openat(pfd, name, OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK, Mode::empty()).map_err(|e| {
                if e == Errno::ELOOP {
                    symlink_refused(rel)
                } else {
                    errno(e)
                }
            })?;
        let f = File::from(fd);
        if !f.metadata()?.is_file() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{rel} is not a regular file")));
        }
        Ok(f)
    }

    /// Creates (truncating) a regular file, parents created, never through a symlink.
    pub fn create_file(&mut self, rel: &str, mode: u32) -> io::Result<File> {
        let (parent, name) = split(rel);
        let pfd = self.dir(parent, true)?.expect("created");
        let flags = OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(pfd, name, flags, Mode::from_bits_truncate(mode)).map_err(|e| {
            if e == Errno::ELOOP {
                symlink_refused(rel)
            } else {
                errno(e)
            }
        })?;
        Ok(File::from(fd))
    }

    /// Creates a new regular file with `mode` (less the umask), parents created; it must not
    /// exist yet. Never through a symlink.
    pub fn create_new(&mut self, rel: &str, mode: u32) -> io::Result<File> {
        let (parent, name) = split(rel);
        let pfd = self.dir(parent, true)?.expect("created");
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(pfd, name, flags, Mode::from_bits_truncate(mode)).map_err(errno)?;
        Ok(File::from(fd))
    }

    /// Drops the cached fds of the directory `rel` and everything below it, after it moved
    /// away (an fd follows the directory, the path no longer leads there).
    pub fn forget(&mut self, rel: &str) {
        if self.dirs.contains_key(rel) {
            let below = format!("{rel}/");
            self.dirs.retain(|k, _| k != rel && !k.starts_with(&below));
        }
    }

    /// Opens a directory for changing its mode and times.
    pub fn open_dir_for_meta(&mut self, rel: &str) -> io::Result<File> {
        let (parent, name) = split(rel);
        let pfd = self.dir(parent, false)?.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, rel.to_string()))?;
        let fd =
            openat(pfd, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty()).map_err(errno)?;
        Ok(File::from(fd))
    }

    /// Atomically moves `from_name` in `from_dir` to `rel` (parents created). With `swap`,
    /// what is at `rel` (a file or symlink) is exchanged with it in one step, so the old file
    /// ends up as `from_name` and can be put back; without, `rel` must not exist. Rename
    /// never follows the final component.
    pub fn move_into(&mut self, from_dir: BorrowedFd<'_>, from_name: &str, rel: &str, swap: bool) -> io::Result<()> {
        let (parent, name) = split(rel);
        let pfd = self.dir(parent, true)?.expect("created");
        rename2(from_dir, from_name, pfd, name, swap)
    }

    /// The reverse of `move_into`: puts what is at `rel` back as `to_name` in `to_dir` (with
    /// `swap`, exchanging it with the old file kept there).
    pub fn move_out(&mut self, rel: &str, to_dir: BorrowedFd<'_>, to_name: &str, swap: bool) -> io::Result<()> {
        let (parent, name) = split(rel);
        let pfd = self.dir(parent, false)?.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{rel} does not exist")))?;
        rename2(pfd, name, to_dir, to_name, swap)
    }

    /// Directories created by this instance since it was opened, oldest first.
    pub fn created_dirs(&self) -> &[String] {
        &self.created
    }

    /// `lstat` of `rel`; `None` when missing.
    pub fn lstat(&mut self, rel: &str) -> io::Result<Option<nix::sys::stat::FileStat>> {
        let (parent, name) = split(rel);
        let Some(pfd) = (if rel.is_empty() { Some(self.root.as_fd()) } else { self.dir(parent, false)? }) else { return Ok(None) };
        let name = if rel.is_empty() { "." } else { name };
        match fstatat(pfd, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(errno(e)),
        }
    }

    /// Removes a file or an empty directory at `rel`; missing is fine.
    pub fn remove(&mut self, rel: &str) -> io::Result<()> {
        let (parent, name) = split(rel);
        let Some(pfd) = self.dir(parent, false)? else { return Ok(()) };
        let kind = match fstatat(pfd, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => kind_of(&st),
            Err(Errno::ENOENT) => return Ok(()),
            Err(e) => return Err(errno(e)),
        };
        let flag = if kind == Kind::Dir { nix::unistd::UnlinkatFlags::RemoveDir } else { nix::unistd::UnlinkatFlags::NoRemoveDir };
        match nix::unistd::unlinkat(pfd, name, flag) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(errno(e)),
        }
        self.dirs.retain(|k, _| k != rel && !k.starts_with(&format!("{rel}/")));
        Ok(())
    }

    pub fn root_fd(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }
}

/// `renameat2` exchanging (`swap`) or refusing to replace; where the file system lacks
/// `renameat2` (EINVAL), a plain rename for a new name, and for a swap a move aside first.
fn rename2(from: BorrowedFd<'_>, from_name: &str, to: BorrowedFd<'_>, to_name: &str, swap: bool) -> io::Result<()> {
    use nix::fcntl::{renameat, renameat2, RenameFlags};
    let flags = if swap { RenameFlags::RENAME_EXCHANGE } else { RenameFlags::RENAME_NOREPLACE };
    match renameat2(from, from_name, to, to_name, flags) {
        Err(Errno::EINVAL) if !swap => renameat(from, from_name, to, to_name).map_err(errno),
        Err(Errno::EINVAL) => {
            let aside = format!("{from_name}.swap");
            renameat(to, to_name, from, aside.as_str()).map_err(errno)?;
            renameat(from, from_name, to, to_name).map_err(errno)?;
            renameat(from, aside.as_str(), from, from_name).map_err(errno)
        }
        r => r.map_err(errno),
    }
}

fn split(rel: &str) -> (&str, &str) {
    match rel.rsplit_once('/') {
        Some((p, n)) => (p, n),
        None => ("", rel),
    }
}

impl Confined {
    /// Removes a whole tree at `rel` (missing is fine), refusing symlinks on the way to it.
    pub fn remove_tree(&mut self, rel: &str) -> io::Result<()> {
        match self.probe(rel)? {
            Kind::Missing => Ok(()),
            Kind::Dir => {
                // The parents were just checked; remove_dir_all never follows links inside.
                let path = std::fs::read_link(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&self.root)))?.join(rel);
                self.dirs.retain(|k, _| k != rel && !k.starts_with(&format!("{rel}/")));
                std::fs::remove_dir_all(path)
            }
            _ => self.remove(rel),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_rel_refuses_escapes() {
        assert_eq!(clean_rel("/data/storage/./x//y").as_deref(), Some("data/storage/x/y"));
        assert_eq!(clean_rel("./data/").as_deref(), Some("data"));
        assert_eq!(clean_rel("/data/../etc"), None);
        assert_eq!(clean_rel(".."), None);
        assert_eq!(clean_rel("/"), None);
        assert_eq!(clean_rel(&"a/".repeat(3000)), None);
    }

    #[test]
    fn never_follows_a_symlink() {
        let d = std::env::temp_dir().join(format!("confined-test-{}", std::process::id()));
        let outside = std::env::temp_dir().join(format!("confined-outside-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("data")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, d.join("data/link")).unwrap();
        let mut c = Confined::open(&d).unwrap();
        assert!(c.create_file("data/link/evil", 0o600).is_err());
        assert!(c.probe("data/link/evil").is_err());
        assert_eq!(c.probe("data/link").unwrap(), Kind::Symlink);
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        c.create_file("data/a/b/c.txt", 0o600).unwrap();
        assert_eq!(c.probe("data/a/b/c.txt").unwrap(), Kind::File);
        assert_eq!(c.probe("data/a/b").unwrap(), Kind::Dir);
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }
}
