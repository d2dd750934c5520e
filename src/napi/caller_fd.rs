//! Fds the caller hands over (the remote capability file, baseline manifests). The fd stays
//! the caller's: it is dup'ed at the call, so a caller that closes it at once loses nothing,
//! and the dup is read by the service, off the JS thread; the caller's own fd is never
//! closed (DESIGN.md §5.9; in Node fd numbers are reused at once).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::stat::{fstat, SFlag};

/// A dup of `fd`, which must be open for reading.
pub fn dup_readable(fd: i32) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(nix::libc::EBADF));
    }
    // SAFETY: only borrowed for this call; fcntl fails with EBADF if it is not open.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL).map_err(io::Error::from)?);
    if flags & OFlag::O_ACCMODE == OFlag::O_WRONLY {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "it is open for writing only"));
    }
    fd.try_clone_to_owned()
}

/// A dup of `fd`, which must be a regular file open for reading.
pub fn dup_readable_file(fd: i32) -> io::Result<OwnedFd> {
    let dup = dup_readable(fd)?;
    let st = fstat(&dup).map_err(io::Error::from)?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "it is not a regular file"));
    }
    Ok(dup)
}
