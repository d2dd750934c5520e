//! Anonymous files: spool space for tar parts and capability files that vanish when the last
//! fd closes, so nothing is left behind on a crash.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A new read-write file in `dir` with no name (O_TMPFILE; falls back to create + unlink on
/// file systems without it).
pub fn anonymous_file(dir: &Path) -> io::Result<File> {
    std::fs::create_dir_all(dir)?;
    match OpenOptions::new().read(true).write(true).mode(0o600).custom_flags(nix::libc::O_TMPFILE).open(dir) {
        Ok(f) => Ok(f),
        // EOPNOTSUPP / EISDIR / EINVAL: no O_TMPFILE here; a named file unlinked at once.
        Err(_) => {
            static SEQ: AtomicU64 = AtomicU64::new(0);
            let name = dir.join(format!(".anon-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
            let f =
                OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).custom_flags(nix::libc::O_NOFOLLOW).open(&name)?;
            std::fs::remove_file(&name)?;
            Ok(f)
        }
    }
}

/// A new, independent read-only open of the same file, positioned at offset 0, so the
/// receiver can read it from the start whatever the writer did.
pub fn reopen_read_only(file: &File) -> io::Result<File> {
    // /proc/self/fd/N reopens even an O_TMPFILE or unlinked file with its own offset.
    OpenOptions::new().read(true).open(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn anonymous_files_leave_no_name_and_reopen_from_the_start() {
        let dir = std::env::temp_dir().join(format!("anon-test-{}", std::process::id()));
        let mut f = anonymous_file(&dir).unwrap();
        f.write_all(b"hello").unwrap();
        let mut r = reopen_read_only(&f).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        assert!(r.write(b"x").is_err(), "the reopened file is read-only");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
