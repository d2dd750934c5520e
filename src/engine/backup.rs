//! A full backup of one bundle: scan, big files as themselves, small files packed into
//! `part.<N>.tar`, then `manage.json`, each handed to the sink as soon as it is ready.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::anon::{anonymous_file, reopen_read_only};
use super::manage::{integrity_of, write_manage, Information, ManageEntry, Stat, TimeSpec};
use super::scan::scan;
use super::tar_write::TarWriter;
use super::{EngineError, Flow, Output, ScanEntry, BIG_FILE_THRESHOLD, TAR_SLICE_BYTES, TAR_SLICE_FILES};

#[derive(Debug, Clone)]
pub struct BackupJob {
    /// `apps/<bundle>/`.
    pub sandbox: PathBuf,
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
    /// Where tar parts are spooled (anonymous files): the bundle's `.backup/backup/`.
    pub spool_dir: PathBuf,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupSummary {
    pub files: u64,
    pub dirs: u64,
    pub bytes: u64,
    pub parts: u64,
    pub big_files: u64,
}

/// Opens a file of the app for reading without following a symlink that replaced it after
/// the scan. `None` when it vanished or is unreadable: skipped, as the reference skips EACCES.
pub(crate) fn open_app_file(e: &ScanEntry) -> io::Result<Option<File>> {
    match OpenOptions::new().read(true).custom_flags(nix::libc::O_NOFOLLOW).open(&e.fs_path) {
        Ok(f) => Ok(Some(f)),
        Err(err) if matches!(err.kind(), io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied) => Ok(None),
        Err(err) if err.raw_os_error() == Some(nix::libc::ELOOP) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Stable, unique names for big files: 16 hex digits of a hash of the path (re-hashed with
/// an index on collision), plus the original extension when it is a plain one.
pub(crate) struct BigNames {
    used: HashSet<String>,
    keep_extension: bool,
}

impl BigNames {
    pub(crate) fn new(keep_extension: bool) -> Self {
        BigNames { used: HashSet::new(), keep_extension }
    }

    pub(crate) fn name(&mut self, sandbox_path: &str) -> String {
        let ext = sandbox_path
            .rsplit('/')
            .next()
            .and_then(|f| f.rsplit_once('.'))
            .filter(|(stem, ext)| !stem.is_empty() && !ext.is_empty() && ext.len() <= 16 && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map(|(_, ext)| ext);
        let mut i = 0u32;
        loop {
            let key = if i == 0 { sandbox_path.to_string() } else { format!("{sandbox_path}{i}") };
            let digest = Sha256::digest(key.as_bytes());
            let mut name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            if let (true, Some(ext)) = (self.keep_extension, ext) {
                name.push('.');
                name.push_str(ext);
            }
            if name != "manage.json" && !name.ends_with(".rp") && self.used.insert(name.clone()) {
                return name;
            }
            i += 1;
        }
    }
}

/// A tar part being filled in an anonymous spool file.
struct Part {
    writer: TarWriter<BufWriter<File>>,
    content: u64,
}

impl Part {
    fn new(spool_dir: &std::path::Path) -> io::Result<Part> {
        let f = anonymous_file(spool_dir)?;
        Ok(Part { writer: TarWriter::new(BufWriter::with_capacity(1 << 20, f)), content: 0 })
    }

    fn full(&self) -> bool {
        self.content >= TAR_SLICE_BYTES || self.writer.entries() >= TAR_SLICE_FILES
    }

    /// Closes the archive and returns a read-only fd from offset 0 plus its size.
    fn close(self) -> io::Result<(File, u64)> {
        let size = self.writer.written() + 1024;
        let buf = self.writer.finish()?;
        let f = buf.into_inner().map_err(|e| e.into_error())?;
        Ok((reopen_read_only(&f)?, size))
    }
}

/// A big file's `manage.json` entry (counted in the summary): restored to its own path; a
/// `.tar` of the app's own is flagged so it is never untarred.
pub(crate) fn big_file_entry(uri: &str, e: &ScanEntry, summary: &mut BackupSummary) -> ManageEntry {
    summary.files += 1;
    summary.big_files += 1;
    summary.bytes += e.size;
    ManageEntry {
        file_name: uri.to_string(),
        information: Information { path: e.sandbox_path.clone(), stat: Stat::of(e) },
        is_user_tar: e.sandbox_path.ends_with(".tar"),
        is_big_file: true,
        size: None,
        sha256: None,
    }
}

fn tar_manage_entry(name: &str, size: u64) -> ManageEntry {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let t = TimeSpec { tv_sec: now.as_secs() as i64, tv_nsec: now.subsec_nanos() as i64 };
    ManageEntry {
        file_name: name.to_string(),
        information: Information { path: String::new(), stat: Stat { st_size: size, st_mode: 0o100600, st_atim: t.clone(), st_mtim: t } },
        is_user_tar: false,
        is_big_file: false,
        size: None,
        sha256: None,
    }
}

/// Adds the end-to-end check fields (`size`, `sha256` of the bytes as sent) to an entry.
fn recorded(mut m: ManageEntry, file: &File) -> io::Result<ManageEntry> {
    let (size, sha256) = integrity_of(file)?;
    (m.size, m.sha256) = (Some(size), Some(sha256));
    Ok(m)
}

/// Runs the backup, calling `sink` for every output in send order: big files as the walk
/// meets them, each tar part as it is closed, `manage.json` last. Returns `Err(Stopped)` as
/// soon as the sink says stop.
pub fn run_full(job: &BackupJob, sink: &mut dyn FnMut(Output) -> Flow) -> Result<BackupSummary, EngineError> {
    let entries = scan(&job.sandbox, &job.includes, &job.excludes).map_err(|e| EngineError::Tar(e.to_string()))?;
    let mut summary = BackupSummary::default();
    let mut manage: Vec<ManageEntry> = Vec::new();
    let mut names = BigNames::new(true);
    let mut part: Option<Part> = None;
    let tar_err = |e: io::Error| EngineError::Tar(e.to_string());

    let mut emit = |out: Output| match sink(out) {
        Flow::Continue => Ok(()),
        Flow::Stop => Err(EngineError::Stopped),
    };

    for e in &entries {
        if !e.is_dir && e.size > BIG_FILE_THRESHOLD {
            let Some(file) = open_app_file(e).map_err(tar_err)? else { continue };
            let uri = names.name(&e.sandbox_path);
            manage.push(recorded(big_file_entry(&uri, e, &mut summary), &file).map_err(tar_err)?);
            emit(Output { uri, file, report: None })?;
            continue;
        }
        let p = match part.as_mut() {
            Some(p) => p,
            None => part.insert(Part::new(&job.spool_dir).map_err(tar_err)?),
        };
        if e.is_dir {
            p.writer.append_dir(e).map_err(tar_err)?;
            summary.dirs += 1;
        } else {
            let Some(mut f) = open_app_file(e).map_err(tar_err)? else { continue };
            p.writer.append_file(e, &mut f).map_err(tar_err)?;
            p.content += e.size;
            summary.files += 1;
            summary.bytes += e.size;
        }
        if p.full() {
            let uri = format!("part.{}.tar", summary.parts);
            let (file, size) = part.take().expect("part exists").close().map_err(tar_err)?;
            summary.parts += 1;
            manage.push(recorded(tar_manage_entry(&uri, size), &file).map_err(tar_err)?);
            emit(Output { uri, file, report: None })?;
        }
    }
    if let Some(p) = part.take() {
        let uri = format!("part.{}.tar", summary.parts);
        let (file, size) = p.close().map_err(tar_err)?;
        summary.parts += 1;
        manage.push(recorded(tar_manage_entry(&uri, size), &file).map_err(tar_err)?);
        emit(Output { uri, file, report: None })?;
    }

    let mut f = anonymous_file(&job.spool_dir).map_err(tar_err)?;
    write_manage(&manage, &mut BufWriter::new(&mut f)).map_err(tar_err)?;
    let file = reopen_read_only(&f).map_err(tar_err)?;
    emit(Output { uri: "manage.json".into(), file, report: None })?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_names_are_stable_unique_and_keep_plain_extensions() {
        let mut a = BigNames::new(true);
        let n1 = a.name("/data/storage/el2/base/files/movie.mp4");
        assert!(n1.ends_with(".mp4") && n1.len() == 16 + 4, "{n1}");
        assert_eq!(BigNames::new(true).name("/data/storage/el2/base/files/movie.mp4"), n1);
        let n2 = a.name("/data/storage/el2/base/files/movie.mp4");
        assert_ne!(n1, n2, "a second use of the same path gets a new name");
        assert_eq!(a.name("/data/storage/el2/base/files/.hidden").len(), 16);
        assert_eq!(BigNames::new(false).name("/x/a.db").len(), 16);
    }
}
