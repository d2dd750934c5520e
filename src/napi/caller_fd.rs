//! Reading what the caller handed over as an fd (capability files, baseline manifests).
//! The fd stays the caller's: it is read with pread from offset 0 and never closed
//! (DESIGN.md §5.9; in Node fd numbers are reused at once, so closing it would later close
//! an unrelated file).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd};
use std::os::unix::fs::FileExt;

/// Larger inputs are refused rather than read into memory.
const MAX_CALLER_FILE: usize = 256 * 1024 * 1024;

pub fn read_all(fd: i32) -> io::Result<Vec<u8>> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(nix::libc::EBADF));
    }
    // SAFETY: only borrowed for the duration of this call; fcntl below proves it is open.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).map_err(io::Error::from)?;
    // Borrow as a File without taking ownership: ManuallyDrop never closes it.
    let file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd.as_raw_fd()) });
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read_at(&mut buf, out.len() as u64)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
        if out.len() > MAX_CALLER_FILE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "file is larger than 256 MiB"));
        }
    }
}
