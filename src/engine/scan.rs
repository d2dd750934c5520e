//! The backup scan: include globs, exclude patterns with leading-directory matching, a walk
//! that never follows symlinks and skips special files (ohos-behaviour.md §3.1).

use std::io;
use std::path::Path;

use super::ScanEntry;

/// Everything a backup of `sandbox` with these lists would pack, in a stable order (walk
/// order, depth first, names sorted). Empty directories are entries of their own; the
/// service's work area (`data/storage/el2/base/.backup/`) is never included.
pub fn scan(sandbox: &Path, includes: &[String], excludes: &[String]) -> io::Result<Vec<ScanEntry>> {
    let _ = (sandbox, includes, excludes);
    todo!("engine helper")
}
