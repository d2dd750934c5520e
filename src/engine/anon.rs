//! Anonymous files: spool space for tar parts and capability files that vanish when the last
//! fd closes, so nothing is left behind on a crash.

use std::fs::File;
use std::io;
use std::path::Path;

/// A new read-write file in `dir` with no name (O_TMPFILE; falls back to create + unlink on
/// file systems without it).
pub fn anonymous_file(dir: &Path) -> io::Result<File> {
    let _ = dir;
    todo!("engine helper")
}

/// A new, independent read-only open of the same file, positioned at offset 0, so the
/// receiver can read it from the start whatever the writer did.
pub fn reopen_read_only(file: &File) -> io::Result<File> {
    let _ = file;
    todo!("engine helper")
}
