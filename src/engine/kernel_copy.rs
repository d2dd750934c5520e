//! `copy_file_range` to the end of a file, as the backup's packers (file to part) and the
//! restore's writers (part to staged file) use it: content moves without passing through
//! user space.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use nix::errno::Errno;

/// What a kernel copy did.
pub enum Copied {
    /// This many bytes, all that was asked unless `src` ended first.
    Done(u64),
    /// The kernel cannot copy between these two files (another file system, an old kernel),
    /// after `copied` bytes.
    Refused { copied: u64, why: Errno },
}

/// Copies `len` bytes of `src`, from `at` (or from its own offset, which then advances), to
/// `out` at its own offset.
pub fn kernel_copy(src: &File, at: Option<u64>, out: &File, len: u64) -> io::Result<Copied> {
    let mut copied = 0u64;
    while copied < len {
        let want = (len - copied).min(1 << 30) as usize;
        let mut off = at.map(|a| (a + copied) as i64);
        let off_ptr = off.as_mut().map_or(std::ptr::null_mut(), |o| o as *mut i64);
        // SAFETY: both fds are open for the call; `off_ptr` is null or points at a live i64.
        let n = unsafe { nix::libc::copy_file_range(src.as_raw_fd(), off_ptr, out.as_raw_fd(), std::ptr::null_mut(), want, 0) };
        match Errno::result(n) {
            Ok(0) => break,
            Ok(n) => copied += n as u64,
            Err(Errno::EINTR) => {}
            Err(why @ (Errno::EXDEV | Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP)) => return Ok(Copied::Refused { copied, why }),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Copied::Done(copied))
}
