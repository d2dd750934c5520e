//! Reading a file the caller handed over (the remote capability file, a baseline
//! manifest). The client passes a dup of the caller's fd, so the caller may close its own at
//! once; it is read with pread from offset 0, off the caller's JS thread.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;

/// Larger inputs are refused rather than read into memory.
const MAX_HANDED_FILE: usize = 256 * 1024 * 1024;

pub fn read_all(fd: &OwnedFd) -> io::Result<Vec<u8>> {
    let file = std::fs::File::from(fd.as_fd().try_clone_to_owned()?);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read_at(&mut buf, out.len() as u64)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
        if out.len() > MAX_HANDED_FILE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "file is larger than 256 MiB"));
        }
    }
}
