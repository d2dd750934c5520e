//! Restore of one bundle from the files the client wrote into `.backup/restore/`, all or
//! nothing (DESIGN.md §5 rules 10, 11).
//!
//! Phase 1 (plan) reads `manage.json`, unpacks each tar part it names once into a staging
//! directory inside the work area (same file system, so a rename is atomic): this thread
//! reads the headers and makes the directories, writer threads copy each file's content from
//! the part in the kernel (stage_writers.rs), another thread hashes the part. It checks
//! everything: every entry's path and type, the size and hash each index records (the
//! `size`/`sha256` of manage.json, the size and SHA-256 of a `.rp` line), no entry colliding
//! with another, every destination reachable without a symlink. Any corrupt or hostile input
//! ends here with `Untar` (13500008), before one byte of the app's data changed.
//! Phase 2 (move) puts each file in place with one atomic rename (an exchange where a file is
//! replaced, so the old one is kept aside), then applies directory modes and times, deepest
//! first. Every step is journalled; if one fails, the journal is played backwards and the
//! app's data is as it was, directory times included.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::stat::{fchmod, futimens, FileStat, Mode};
use nix::sys::time::TimeSpec;
use sha2::{Digest, Sha256};

use super::confined::{clean_rel, Confined, Kind};
use super::manage::{hex_lower, integrity_of_prefix, is_sha256_hex, parse_manage, ManageEntry};
use super::plan_items::{Item, Items};
use super::report::{parse_report, ReportEntry};
use super::stage_writers::{finish_staged_file, Failed, Failure, FileJob, Writers};
use super::EngineError;
use crate::device::{is_valid_uri, WORK_AREA};

#[derive(Debug, Clone)]
pub struct RestoreJob {
    /// `apps/<bundle>/`.
    pub sandbox: PathBuf,
    /// `fullBackupOnly`: land everything under `.backup/restore/` for the app to move.
    pub into_restore_dir: bool,
    /// Opt-in (`"applyDeletions": true` in the restore infos): the bundle's backup scope
    /// (includes, excludes). Files in that scope missing from the full listing the client
    /// wrote as `manage.json`'s report (`all.rp`) no longer existed at the backup and are
    /// removed after the unpack. `None`: never delete, as the reference.
    pub deletions: Option<(Vec<String>, Vec<String>)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoreSummary {
    pub files: u64,
    pub dirs: u64,
    pub bytes: u64,
    pub deleted: u64,
}

const RESTORE_DIR: &str = "data/storage/el2/base/.backup/restore";
const STAGING_DIR: &str = "data/storage/el2/base/.backup/staging";
/// Threads writing staged files while the planner reads the part (stage_writers.rs). Two: on
/// disk a writer can wait on writeback while the other goes on (the million-file restore took
/// 53 and 192 s with two, 357 s with one; disk times vary that much); on tmpfs one and two
/// measured the same within noise.
const WRITERS: usize = 2;

/// Creates (truncating) `.backup/restore/<uri>` and its companion `<uri>.rp` inside the
/// sandbox, writable, mode 0600, never through a symlink. `uri` is already validated.
pub fn create_handle(sandbox: &Path, uri: &str) -> io::Result<(File, File)> {
    let mut c = Confined::open(sandbox)?;
    let data = c.create_file(&format!("{RESTORE_DIR}/{uri}"), 0o600)?;
    let report = c.create_file(&format!("{RESTORE_DIR}/{uri}.rp"), 0o600)?;
    Ok((data, report))
}

/// Removes the bundle's work area (`.backup/`), never following symlinks.
pub fn clear_work_area(sandbox: &Path) -> io::Result<()> {
    let mut c = Confined::open(sandbox)?;
    match c.probe(WORK_AREA) {
        // No symlink on the way (probe checked every parent): removing by path is confined;
        // remove_dir_all itself never follows symlinks inside.
        Ok(Kind::Dir) => std::fs::remove_dir_all(sandbox.join(WORK_AREA)),
        Ok(Kind::Missing) => Ok(()),
        Ok(_) => c.remove(WORK_AREA),
        Err(e) => Err(e),
    }
}

fn untar(msg: impl Into<String>) -> EngineError {
    EngineError::Untar(msg.into())
}

/// A destination inside the app's data: clean, relative, under `data/storage/`, and not in
/// the service's work area.
pub fn destination(path: &str) -> Result<String, String> {
    let rel = clean_rel(path).ok_or_else(|| format!("refused path {path:?}: empty, too long or leaves the sandbox"))?;
    if !rel.starts_with("data/storage/") {
        return Err(format!("refused path {path:?}: outside the app's data (data/storage/)"));
    }
    if rel == WORK_AREA || rel.starts_with(&format!("{WORK_AREA}/")) {
        return Err(format!("refused path {path:?}: inside the service's work area"));
    }
    Ok(rel)
}

// ---- tar entries ------------------------------------------------------------------------

/// What an archive entry is, as far as a restore cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    HardLink,
    /// Any other type (device node, FIFO, sparse file…), by name.
    Other(String),
}

/// One tar entry as the planner sees it: path, type, size, mode, mtime and its data.
pub struct TarEntry<'a> {
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub mtime: TimeSpec,
    /// Where the entry's data starts in the archive.
    pub pos: u64,
    pub data: &'a mut dyn Read,
}

/// The one place tar entries are read: each entry of `tar` goes to `visit` in archive order
/// (its data must be used before `visit` returns). `name` only labels errors.
pub fn for_each_tar_entry(
    tar: &mut dyn Read,
    name: &str,
    visit: &mut dyn FnMut(TarEntry<'_>) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let mut ar = super::tar_read::archive(tar);
    let entries = ar.entries().map_err(|e| untar(format!("{name}: {e}")))?;
    visit_entries(entries, name, visit)
}

/// The same over a part file of `len` bytes: data `visit` leaves unread is skipped by a seek
/// (an entry's `pos` is where its data is in the file, for a copy in the kernel).
pub fn for_each_tar_entry_in(
    tar: &File,
    len: u64,
    name: &str,
    visit: &mut dyn FnMut(TarEntry<'_>) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let mut ar = super::tar_read::seekable_archive(tar, len);
    let entries = ar.entries_with_seek().map_err(|e| untar(format!("{name}: {e}")))?;
    visit_entries(entries, name, visit)
}

fn visit_entries<R: Read>(
    entries: tar::Entries<'_, R>,
    name: &str,
    visit: &mut dyn FnMut(TarEntry<'_>) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    for entry in entries {
        let mut entry = entry.map_err(|e| untar(format!("{name}: corrupt archive: {e}")))?;
        use tar::EntryType::*;
        let kind = match entry.header().entry_type() {
            Regular | Continuous => EntryKind::File,
            Directory => EntryKind::Dir,
            XGlobalHeader => continue,
            Symlink => EntryKind::Symlink,
            Link => EntryKind::HardLink,
            other => EntryKind::Other(format!("{other:?}")),
        };
        let path = String::from_utf8(entry.path_bytes().into_owned()).map_err(|_| untar(format!("{name}: an entry name is not UTF-8")))?;
        let mode = entry.header().mode().map_err(|e| untar(format!("{name}: {path}: {e}")))?;
        let size = entry.size();
        let pos = entry.raw_file_position();
        let mut mtime = ts(entry.header().mtime().unwrap_or(0) as i64, 0);
        if let Ok(Some(exts)) = entry.pax_extensions() {
            for ext in exts.flatten() {
                if ext.key() == Ok("mtime") {
                    if let Some(t) = ext.value().ok().and_then(parse_pax_time) {
                        mtime = t;
                    }
                }
            }
        }
        visit(TarEntry { path, kind, size, mode, mtime, pos, data: &mut entry })?;
    }
    Ok(())
}

pub(crate) fn parse_pax_time(v: &str) -> Option<TimeSpec> {
    // The sign covers the fraction too: "-1.25" is 1.25 s before the epoch, which a timespec
    // writes as -2 s + 0.75 s (its nanoseconds are never negative).
    let (negative, v) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let (sec, frac) = v.split_once('.').unwrap_or((v, ""));
    if !sec.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sec: i64 = sec.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let nsec: i64 = if digits.is_empty() { 0 } else { format!("{digits:0<9}").parse().ok()? };
    Some(match (negative, nsec) {
        (false, _) => ts(sec, nsec),
        (true, 0) => ts(-sec, 0),
        (true, _) => ts(-sec - 1, 1_000_000_000 - nsec),
    })
}

// ---- the plan -----------------------------------------------------------------------------

/// Where an archive entry lands (clean relative path, is a directory), or why it is refused.
/// `Ok(None)`: a directory above the app's data ("data/", "data/storage/", as GNU tar
/// archives made with `-C <sandbox> data` hold), nothing to restore.
pub fn plan_entry(path: &str, kind: &EntryKind) -> Result<Option<(String, bool)>, String> {
    let is_dir = match kind {
        EntryKind::File => false,
        EntryKind::Dir => true,
        EntryKind::Symlink => return Err(format!("refused symlink entry {path:?}")),
        EntryKind::HardLink => return Err(format!("refused hard-link entry {path:?}")),
        EntryKind::Other(t) => return Err(format!("refused entry {path:?} of type {t}")),
    };
    if is_dir && matches!(path.trim_start_matches("./").trim_matches('/'), "data" | "data/storage") {
        return Ok(None);
    }
    destination(path).map(|d| Some((d, is_dir)))
}

/// No two entries of a plan may collide: a file named twice, a path that is a file and a
/// directory, or a file that another entry needs as a parent directory. Directories named
/// more than once are fine.
pub fn check_conflicts<'a>(dests: impl IntoIterator<Item = (&'a str, bool)>) -> Result<(), String> {
    let mut kinds: HashMap<&str, bool> = HashMap::new();
    for (d, is_dir) in dests {
        match kinds.insert(d, is_dir) {
            Some(true) if is_dir => {}
            Some(false) if !is_dir => return Err(format!("{d:?} is in the backup twice")),
            Some(_) => return Err(format!("{d:?} is both a file and a directory in the backup")),
            None => {}
        }
    }
    for &d in kinds.keys() {
        let mut p = d;
        while let Some((parent, _)) = p.rsplit_once('/') {
            if kinds.get(parent) == Some(&false) {
                return Err(format!("{parent:?} is a file in the backup and also the parent directory of {d:?}"));
            }
            p = parent;
        }
    }
    Ok(())
}

/// Safe permission bits: never setuid/setgid from an untrusted archive.
fn safe_mode(mode: u32) -> u32 {
    mode & 0o1777
}

fn ts(sec: i64, nsec: i64) -> TimeSpec {
    TimeSpec::new(sec, nsec.clamp(0, 999_999_999))
}

/// A report's lines by clean relative path; `None` when there is no report (or it is empty).
fn read_report(c: &mut Confined, rp: &str) -> Result<Option<HashMap<String, ReportEntry>>, EngineError> {
    let mut bytes = Vec::new();
    match c.open_file(rp) {
        Ok(f) => {
            f.take(1 << 30).read_to_end(&mut bytes).map_err(EngineError::Io)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(untar(format!("{rp}: {e}"))),
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    let entries = parse_report(&bytes).map_err(|e| untar(format!("{rp}: {e}")))?;
    if entries.is_empty() {
        return Ok(None);
    }
    Ok(Some(entries.into_iter().filter_map(|e| clean_rel(&e.path).map(|p| (p, e))).collect()))
}

/// Reads through to `inner`, counting bytes and, when asked, hashing them.
pub struct Checked<R> {
    inner: R,
    pub bytes: u64,
    hasher: Option<Sha256>,
}

impl<R> Checked<R> {
    pub fn new(inner: R, hash: bool) -> Self {
        Checked { inner, bytes: 0, hasher: hash.then(Sha256::new) }
    }

    /// Lowercase hex SHA-256 of what passed, if hashing.
    pub fn digest(self) -> Option<String> {
        self.hasher.map(|h| hex_lower(&h.finalize()))
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Compares what was read of a file with what its index records; `what` names it.
fn check_recorded(
    what: &str,
    bytes: u64,
    digest: Option<&str>,
    size: Option<u64>,
    sha256: Option<&str>,
    by: &str,
) -> Result<(), EngineError> {
    if let Some(want) = size {
        if bytes != want {
            return Err(untar(format!("{what} is {bytes} bytes, {by} says {want}")));
        }
    }
    if let (Some(want), Some(got)) = (sha256, digest) {
        if !want.eq_ignore_ascii_case(got) {
            return Err(untar(format!("{what} does not have the SHA-256 {by} records (damaged in transit?)")));
        }
    }
    Ok(())
}

/// The recorded `sha256` of a manage.json entry, refused when malformed.
fn recorded_hash(m: &ManageEntry) -> Result<Option<&str>, EngineError> {
    match m.sha256.as_deref() {
        Some(h) if !is_sha256_hex(h) => Err(untar(format!("manage.json: the sha256 of {} is not 64 hex digits", m.file_name))),
        h => Ok(h),
    }
}

/// Staging mirrors the app's data: a file lands at its own destination path inside the
/// staging directory, so that a directory the app does not have yet moves into place whole,
/// in one rename.
struct Stager {
    staging: Confined,
    items: Items,
    /// One buffer for every file's content (most files fit in one read and one write).
    buf: Vec<u8>,
    /// The umask at the start of the restore: the mode bits a create leaves out.
    umask: u32,
    /// Bytes of file content staged so far, and the bytes of the tar parts they came from:
    /// staging never holds more than the backup itself.
    staged: u64,
    budget: u64,
}

impl Stager {
    /// Unpacks one tar part into staging, checking every entry, the part's recorded size and
    /// hash and, for an incremental part, its `.rp` lines.
    fn stage_tar(&mut self, app: &mut Confined, m: &ManageEntry) -> Result<(), EngineError> {
        let name = m.file_name.as_str();
        let src = format!("{RESTORE_DIR}/{name}");
        let filter = read_report(app, &format!("{src}.rp"))?;
        let tar = app.open_file(&src).map_err(|e| untar(format!("{name}: {e} (was it sent?)")))?;
        let len = tar.metadata()?.len();
        check_recorded(name, len, None, m.size, None, "manage.json")?;
        self.budget += len;
        let sha256 = recorded_hash(m)?;
        // The part's hash is computed on a second core, from its own reads of the file, while
        // this thread unpacks; both end before anything of the app's data changes.
        let hash_from = match sha256 {
            Some(_) => Some(tar.try_clone()?),
            None => None,
        };
        std::thread::scope(|scope| {
            let hashing = hash_from.map(|f| scope.spawn(move || integrity_of_prefix(&f, len).map(|(_, sha256)| sha256)));
            let mut writers = Writers::start(scope, &tar, self.umask, WRITERS);
            let planned = for_each_tar_entry_in(&tar, len, name, &mut |e| self.stage_entry(e, name, filter.as_ref(), &mut writers));
            // A writer's failure is of an earlier entry than any the planner stopped at.
            let written = match writers.finish() {
                Some(f) => Err(self.writer_error(name, f)),
                None => Ok(()),
            };
            let digest = match hashing.map(|h| h.join()) {
                Some(Ok(Ok(d))) => Some(d),
                Some(Ok(Err(e))) => return Err(untar(format!("{name}: {e}"))),
                Some(Err(_)) => return Err(untar(format!("{name}: hashing failed"))),
                None => None,
            };
            written?;
            planned?;
            check_recorded(name, len, digest.as_deref(), m.size, sha256, "manage.json")
        })
    }

    /// The error a staging writer's failure means.
    fn writer_error(&self, name: &str, f: Failed) -> EngineError {
        let dest = self.items.get(f.item).map_or("", |it| it.dest());
        match f.what {
            Failure::Create(err) => self.staging_error(name, dest, false, err, Some(f.item)),
            Failure::Short { copied, size } => untar(format!("{name}: truncated archive: {dest:?} has {copied} of {size} bytes")),
            Failure::Io(err) => untar(format!("{name}: {err}")),
        }
    }

    /// Why staging `dest` failed: a conflict between entries of the backup (a name twice, a
    /// file where another entry needs a directory), or the error itself.
    /// `skip`: the item of `dest` itself, when it is in the plan already.
    fn staging_error(&self, name: &str, dest: &str, is_dir: bool, err: io::Error, skip: Option<usize>) -> EngineError {
        let others = self.items.iter().enumerate().filter(|(i, _)| Some(*i) != skip);
        let dests = others.map(|(_, it)| (it.dest(), it.is_dir()));
        match check_conflicts(dests.chain([(dest, is_dir)])) {
            Err(conflict) => untar(conflict),
            Ok(()) if matches!(err.raw_os_error(), Some(nix::libc::EEXIST | nix::libc::EISDIR | nix::libc::ENOTDIR)) => {
                untar(format!("{name}: {dest:?} cannot be staged: {err}"))
            }
            Ok(()) => EngineError::Io(err),
        }
    }

    /// Copies one entry's content into `out` through the shared buffer; returns its length.
    fn copy_content(&mut self, data: &mut dyn Read, out: &mut File) -> io::Result<u64> {
        let mut total = 0;
        loop {
            let mut filled = 0;
            while filled < self.buf.len() {
                match data.read(&mut self.buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            out.write_all(&self.buf[..filled])?;
            total += filled as u64;
            if filled < self.buf.len() {
                return Ok(total);
            }
        }
    }

    fn stage_entry(
        &mut self,
        e: TarEntry<'_>,
        name: &str,
        filter: Option<&HashMap<String, ReportEntry>>,
        writers: &mut Writers<'_>,
    ) -> Result<(), EngineError> {
        let refuse = |m: String| untar(format!("{name}: {m}"));
        let Some((dest, is_dir)) = plan_entry(&e.path, &e.kind).map_err(refuse)? else { return Ok(()) };
        let listed = match filter.map(|f| f.get(&dest)) {
            // Not listed in this tar's report: skipped, but its bytes must still be there.
            Some(None) => {
                let copied = io::copy(e.data, &mut io::sink()).map_err(|err| refuse(err.to_string()))?;
                if copied != e.size && !is_dir {
                    return Err(refuse(format!("truncated archive at {:?}", e.path)));
                }
                return Ok(());
            }
            Some(Some(line)) => Some(line),
            None => None,
        };
        if is_dir {
            if let Err(err) = self.staging.dir(&dest, true) {
                return Err(self.staging_error(name, &dest, true, err, None));
            }
            self.items.push_dir(&dest, safe_mode(e.mode), e.mtime);
            return Ok(());
        }
        if let Some(line) = listed.filter(|l| !l.is_dir && l.size != e.size) {
            return Err(refuse(format!("{:?} is {} bytes, its .rp line says {}", e.path, e.size, line.size)));
        }
        let mode = safe_mode(e.mode);
        let want = listed.map(|l| l.hash.as_str()).filter(|h| !h.is_empty());
        self.staged += e.size;
        if self.staged > self.budget {
            return Err(refuse("the archive unpacks to more than its own size".into()));
        }
        if want.is_none() {
            // No content check here: a writer copies it in the kernel.
            let (parent, base) = dest.rsplit_once('/').unwrap_or(("", &dest));
            let dir = match self.staging.dir_shared(parent) {
                Ok(d) => d,
                Err(err) => return Err(self.staging_error(name, &dest, false, err, None)),
            };
            let job = FileJob { dir, name: base.to_string(), at: e.pos, size: e.size, mode, mtime: e.mtime, item: self.items.len() };
            self.items.push_file(&dest);
            if !writers.push(job) {
                return Err(refuse("a staging writer failed".into()));
            }
            return Ok(());
        }
        let mut out = match self.staging.create_new(&dest, mode) {
            Ok(f) => f,
            Err(err) => return Err(self.staging_error(name, &dest, false, err, None)),
        };
        let mut input = Checked::new(e.data, want.is_some());
        let copied = self.copy_content(&mut input, &mut out).map_err(|err| refuse(err.to_string()))?;
        if copied != e.size {
            return Err(refuse(format!("truncated archive: {:?} has {copied} of {} bytes", e.path, e.size)));
        }
        check_recorded(&format!("{name}: {:?}", e.path), copied, input.digest().as_deref(), None, want, "its .rp line")?;
        finish_staged_file(&out, mode, self.umask, &e.mtime)?;
        self.items.push_file(&dest);
        Ok(())
    }

    /// Plans one big file: it must be there with the size manage.json gives and, where they
    /// are recorded, the size and SHA-256 of its `.rp` line and manage.json's own fields.
    fn plan_big(&mut self, app: &mut Confined, m: &ManageEntry) -> Result<(), EngineError> {
        let name = m.file_name.as_str();
        let src = format!("{RESTORE_DIR}/{name}");
        let f = app.open_file(&src).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => untar(format!("big file {name} listed in manage.json was not sent")),
            _ => untar(format!("big file {name}: {e}")),
        })?;
        let len = f.metadata()?.len();
        // A one-line report names the destination, size and hash (incremental restore).
        let line = read_report(app, &format!("{src}.rp"))?.filter(|l| l.len() == 1).and_then(|l| l.into_values().next());
        let dest_path = line.as_ref().map_or(m.information.path.as_str(), |l| l.path.as_str());
        let dest = destination(dest_path).map_err(|e| untar(format!("big file {name}: {e}")))?;
        let st = &m.information.stat;
        check_recorded(&format!("big file {name}"), len, None, Some(st.st_size), None, "manage.json (st_size)")?;
        check_recorded(&format!("big file {name}"), len, None, line.as_ref().map(|l| l.size), None, "its .rp line")?;
        let sha256 = recorded_hash(m)?;
        let rp_hash = line.as_ref().map(|l| l.hash.as_str()).filter(|h| !h.is_empty());
        if sha256.is_some() || rp_hash.is_some() {
            let mut input = Checked::new(f, true);
            io::copy(&mut input, &mut io::sink())?;
            let (bytes, digest) = (input.bytes, input.digest());
            check_recorded(&format!("big file {name}"), bytes, digest.as_deref(), m.size, sha256, "manage.json")?;
            check_recorded(&format!("big file {name}"), bytes, digest.as_deref(), None, rp_hash, "its .rp line")?;
        }
        let (atime, mtime) = (ts(st.st_atim.tv_sec, st.st_atim.tv_nsec), ts(st.st_mtim.tv_sec, st.st_mtim.tv_nsec));
        self.items.push_big(&dest, name, safe_mode(st.st_mode), atime, mtime);
        Ok(())
    }
}

/// SHA-256 (lowercase hex) of the first `len` bytes of `f`, read at their offsets (the
/// file's position is another thread's).
/// The process's umask, read without changing it (`umask(2)` would change it for every
/// thread); when unknown, every bit, so that each mode is set explicitly.
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Umask:")).and_then(|v| u32::from_str_radix(v.trim(), 8).ok()).unwrap_or(0o7777)
}

/// Reads `.backup/restore/manage.json`.
fn read_manage(app: &mut Confined) -> Result<Vec<ManageEntry>, EngineError> {
    let f = app.open_file(&format!("{RESTORE_DIR}/manage.json")).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            untar("manage.json was not sent: the restore does not know what to unpack")
        } else {
            untar(format!("manage.json: {e}"))
        }
    })?;
    let mut b = Vec::new();
    f.take(64 << 20).read_to_end(&mut b)?;
    parse_manage(&b).map_err(untar)
}

/// Phase 1: stages and checks everything manage.json names. Each tar part is unpacked once
/// however often it is named; a big file named twice is a conflict.
fn plan(app: &mut Confined, stager: &mut Stager, manage: &[ManageEntry]) -> Result<(), EngineError> {
    let mut seen = HashSet::new();
    for m in manage {
        if !is_valid_uri(&m.file_name) {
            return Err(untar(format!("manage.json names an invalid file {:?}", m.file_name)));
        }
        let is_part = m.file_name.ends_with(".tar") && !m.is_user_tar && !m.is_big_file;
        if !seen.insert(m.file_name.as_str()) {
            if is_part {
                continue;
            }
            return Err(untar(format!("manage.json lists the big file {} twice", m.file_name)));
        }
        if is_part {
            stager.stage_tar(app, m)?;
        } else {
            stager.plan_big(app, m)?;
        }
    }
    Ok(())
}

/// Unpacks what `manage.json` in `.backup/restore/` lists. On any corrupt or hostile input,
/// and on any failure while moving into place, returns an error and leaves the app's data
/// exactly as it was.
pub fn run(job: &RestoreJob) -> Result<RestoreSummary, EngineError> {
    let mut app = Confined::open(&job.sandbox)?;
    let manage = read_manage(&mut app)?;
    // The full listing is read (and checked) before anything changes.
    let listing = match &job.deletions {
        Some(_) => read_report(&mut app, &format!("{RESTORE_DIR}/manage.json.rp"))?,
        None => None,
    };

    // Staging lives in the work area: same file system as the app's data.
    let _ = app.remove_tree(STAGING_DIR);
    app.dir(STAGING_DIR, true)?;
    let staging = Confined::open(&job.sandbox.join(STAGING_DIR))?;
    let mut stager = Stager { staging, items: Items::default(), buf: vec![0; 256 << 10], umask: umask(), staged: 0, budget: 0 };

    let result = (|| -> Result<RestoreSummary, EngineError> {
        plan(&mut app, &mut stager, &manage)?;
        let staged_bytes = stager.staged;
        // Where everything lands: the app's paths, or `.backup/restore/` for fullBackupOnly.
        let mut items = std::mem::take(&mut stager.items);
        if job.into_restore_dir {
            items = items.with_prefix(&format!("{RESTORE_DIR}/"));
        }
        // Staging refused every conflict among tar entries already (a name twice, a file
        // where a directory must be); big files are not staged, so only with them is there
        // anything left to find.
        if items.has_big() {
            check_conflicts(items.iter().map(|it| (it.dest(), it.is_dir()))).map_err(untar)?;
        }
        let prefix = if job.into_restore_dir { format!("{RESTORE_DIR}/") } else { String::new() };
        let placement = check_destinations(&mut app, &items, &prefix)?;
        let replaces = &placement.replaces;

        // When a file of the app is about to be replaced, everything staged is made durable
        // before the first rename, so a crash leaves that file old or new, never truncated.
        // Into an empty place (the usual restore onto a wiped app) there is nothing old to
        // lose, and a flush of every byte would double the restore time.
        if replaces.iter().any(|r| *r) {
            let staging_dir = app.open_dir_for_meta(STAGING_DIR)?;
            nix::unistd::syncfs(&staging_dir).map_err(|e| EngineError::Io(e.into()))?;
        }
        let restore_dir = app.dir(RESTORE_DIR, false)?.map(|fd| fd.try_clone_to_owned()).transpose()?;
        let restore_dir = restore_dir.ok_or_else(|| untar("the restore directory vanished"))?;
        let mut mover = Mover::new(&mut app, &mut stager.staging, restore_dir);
        mover.remember_ancestors(&items)?;
        let moved = mover.apply(&items, &placement).and_then(|mut summary| {
            if let (Some((includes, excludes)), Some(listing)) = (&job.deletions, &listing) {
                summary.deleted = mover.delete_unlisted(&job.sandbox, includes, excludes, listing)?;
            }
            Ok(summary)
        });
        match moved {
            Ok(mut summary) => {
                mover.finish();
                summary.bytes += staged_bytes;
                Ok(summary)
            }
            Err(e) => Err(mover.undo(e)),
        }
    })();
    drop(stager);
    let _ = app.remove_tree(STAGING_DIR);
    result
}

// ---- moving into place, and back --------------------------------------------------------

/// Mode and times of a directory before the restore touched it.
#[derive(Debug, Clone, Copy)]
struct Meta {
    mode: u32,
    atime: TimeSpec,
    mtime: TimeSpec,
}

impl Meta {
    fn of(st: &FileStat) -> Meta {
        Meta { mode: st.st_mode & 0o7777, atime: ts(st.st_atime, st.st_atime_nsec), mtime: ts(st.st_mtime, st.st_mtime_nsec) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    Staging,
    RestoreDir,
}

/// One change the move phase made, so that it can be undone.
#[derive(Debug)]
enum Step {
    /// `dest` holds what was `name` in `from`; `swapped`: the old file is now `from/name`.
    Moved { from: Source, name: String, dest: String, swapped: bool },
    /// A file removed by `applyDeletions`, kept in staging as `name` until the end.
    Deleted { rel: String, name: String },
    /// A directory removed by `applyDeletions`.
    RemovedDir { rel: String, meta: Meta },
}

struct Mover<'a> {
    app: &'a mut Confined,
    /// The staging directory; staged names are paths inside it.
    staging: &'a mut Confined,
    restore_dir: OwnedFd,
    steps: Vec<Step>,
    /// Existing directories whose mode or times the restore may change, as they were.
    saved: HashMap<String, Meta>,
    /// How many directories the app's `Confined` had created before the move phase.
    created_before: usize,
    seq: u64,
}

#[cfg(test)]
thread_local! {
    /// Tests: make the move phase fail after this many more changes.
    pub(crate) static FAIL_AFTER: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// A point where a test can make the move phase fail, as a full disk would.
fn fault_point() -> io::Result<()> {
    #[cfg(test)]
    if let Some(n) = FAIL_AFTER.with(|f| f.get()) {
        if n == 0 {
            FAIL_AFTER.with(|f| f.set(None));
            return Err(io::Error::from_raw_os_error(nix::libc::ENOSPC));
        }
        FAIL_AFTER.with(|f| f.set(Some(n - 1)));
    }
    Ok(())
}

impl<'a> Mover<'a> {
    fn new(app: &'a mut Confined, staging: &'a mut Confined, restore_dir: OwnedFd) -> Self {
        let created_before = app.created_dirs().len();
        Mover { app, staging, restore_dir, steps: Vec::new(), saved: HashMap::new(), created_before, seq: 0 }
    }

    fn remember(&mut self, rel: &str) -> io::Result<()> {
        if rel.is_empty() || self.saved.contains_key(rel) {
            return Ok(());
        }
        if let Some(st) = self.app.lstat(rel)? {
            self.saved.insert(rel.to_string(), Meta::of(&st));
        }
        Ok(())
    }

    /// Records every existing directory a restore of `items` can change (each destination's
    /// ancestors, and the directories it restores), before the first change.
    fn remember_ancestors(&mut self, items: &Items) -> io::Result<()> {
        let mut seen: HashSet<&str> = HashSet::new();
        for it in items.iter() {
            let dest = it.dest();
            if it.is_dir() && seen.insert(dest) {
                self.remember(dest)?;
            }
            let mut p = dest;
            while let Some((parent, _)) = p.rsplit_once('/') {
                if !seen.insert(parent) {
                    break;
                }
                self.remember(parent)?;
                p = parent;
            }
        }
        Ok(())
    }

    fn move_in(&mut self, from: Source, name: &str, dest: &str, swap: bool) -> Result<(), EngineError> {
        fault_point()?;
        let (from_fd, from_name) = source_of(self.staging, &self.restore_dir, from, name).map_err(|e| move_error(dest, e))?;
        self.app.move_into(from_fd, from_name, dest, swap).map_err(|e| move_error(dest, e))?;
        self.steps.push(Step::Moved { from, name: name.to_string(), dest: dest.to_string(), swapped: swap });
        Ok(())
    }

    /// Phase 2: every item in place, then directory modes and times, deepest first.
    fn apply<'i>(&mut self, items: &'i Items, placement: &Placement) -> Result<RestoreSummary, EngineError> {
        let mut summary = RestoreSummary::default();
        let mut dirs: Vec<(&'i str, u32, TimeSpec)> = Vec::new();
        // Directories the app does not have move in whole (nothing there to replace).
        for (staged, dest) in &placement.whole_dirs {
            self.move_in(Source::Staging, staged, dest, false)?;
            self.staging.forget(staged);
        }
        for ((it, &swap), &in_place) in items.iter().zip(&placement.replaces).zip(&placement.in_whole_dir) {
            // Tests fault each item in turn, also one already in place with its directory
            // (its undo moves the whole directory back).
            if in_place {
                fault_point()?;
            }
            match it {
                Item::Dir { dest, mode, mtime } => {
                    if !in_place {
                        fault_point()?;
                        self.app.dir(dest, true).map_err(|e| move_error(dest, e))?;
                    }
                    dirs.push((dest, mode, mtime));
                    summary.dirs += 1;
                }
                Item::File { dest } => {
                    if !in_place {
                        self.move_in(Source::Staging, &dest[placement.prefix_len..], dest, swap)?;
                    }
                    summary.files += 1;
                }
                Item::Big { name, dest, mode, atime, mtime } => {
                    let f = self.app.open_file(&format!("{RESTORE_DIR}/{name}"))?;
                    fchmod(&f, Mode::from_bits_truncate(mode)).map_err(|e| EngineError::Io(e.into()))?;
                    futimens(&f, &atime, &mtime).map_err(|e| EngineError::Io(e.into()))?;
                    drop(f);
                    self.move_in(Source::RestoreDir, name, dest, swap)?;
                    summary.bytes += self.app.lstat(dest)?.map_or(0, |st| st.st_size as u64);
                    summary.files += 1;
                }
            }
        }
        // Deepest first, so setting a parent's mtime is the last change inside it.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.0.matches('/').count()));
        for (dest, mode, mtime) in dirs {
            fault_point()?;
            set_meta(self.app, dest, Meta { mode, atime: mtime, mtime }).map_err(|e| move_error(dest, e))?;
        }
        Ok(summary)
    }

    /// Removes what the backup's scope holds now but the full listing does not: files first,
    /// then directories that became empty, deepest first. Only entries below a directory the
    /// listing names are candidates, so nothing the backup never covered (another scene's
    /// directories, say) is touched; a directory that still holds something stays. Removed
    /// files are kept in staging until the restore has succeeded.
    fn delete_unlisted(
        &mut self,
        sandbox: &Path,
        includes: &[String],
        excludes: &[String],
        listing: &HashMap<String, ReportEntry>,
    ) -> Result<u64, EngineError> {
        let present = super::scan::scan(sandbox, includes, excludes)?;
        let mut deleted = 0;
        let mut dirs = Vec::new();
        for e in &present {
            let Some(rel) = clean_rel(&e.sandbox_path) else { continue };
            // Inside a directory the backup covered (a deleted directory's own entry is gone,
            // so any listed ancestor counts).
            let covered = rel.match_indices('/').any(|(i, _)| listing.contains_key(&rel[..i]));
            if listing.contains_key(&rel) || !covered {
                continue;
            }
            if e.is_dir {
                dirs.push(rel);
                continue;
            }
            fault_point()?;
            self.remember(rel.rsplit_once('/').map_or("", |(p, _)| p))?;
            let name = format!("d{}", self.seq);
            self.seq += 1;
            self.app.move_out(&rel, self.staging.root_fd(), &name, false).map_err(|err| move_error(&rel, err))?;
            self.steps.push(Step::Deleted { rel, name });
            deleted += 1;
        }
        dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
        for rel in dirs {
            fault_point()?;
            self.remember(rel.rsplit_once('/').map_or("", |(p, _)| p))?;
            let Some(st) = self.app.lstat(&rel)? else { continue };
            match self.app.remove(&rel) {
                Ok(()) => {
                    self.steps.push(Step::RemovedDir { rel, meta: Meta::of(&st) });
                    deleted += 1;
                }
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOTEMPTY) => {}
                Err(e) => return Err(move_error(&rel, e)),
            }
        }
        Ok(deleted)
    }

    /// After success: the old files that exchanges left in the restore directory go (those
    /// left in staging go with it).
    fn finish(self) {
        for s in &self.steps {
            if let Step::Moved { from: Source::RestoreDir, name, swapped: true, .. } = s {
                let _ = nix::unistd::unlinkat(self.restore_dir.as_fd(), name.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
            }
        }
    }

    /// Plays the journal backwards: every file moved back where it came from, every old file
    /// back in place, removed directories recreated, created ones removed, and the modes and
    /// times of the directories touched restored. Returns the error to report.
    fn undo(mut self, cause: EngineError) -> EngineError {
        let mut trouble = Vec::new();
        let recreated: HashSet<String> =
            self.steps.iter().filter_map(|s| if let Step::RemovedDir { rel, .. } = s { Some(rel.clone()) } else { None }).collect();
        while let Some(step) = self.steps.pop() {
            let r = match &step {
                Step::Moved { from, name, dest, swapped } => {
                    source_of(self.staging, &self.restore_dir, *from, name).and_then(|(to, to_name)| {
                        self.app.move_out(dest, to, to_name, *swapped)?;
                        // A whole directory went back: the app's cached fds of it lead into staging.
                        self.app.forget(dest);
                        Ok(())
                    })
                }
                Step::Deleted { rel, name } => self.app.move_into(self.staging.root_fd(), name, rel, false),
                // Its mode and times are set at the end, after the files moved back into it.
                Step::RemovedDir { rel, meta } => self.app.dir(rel, true).map(|_| {
                    self.saved.insert(rel.clone(), *meta);
                }),
            };
            if let Err(e) = r {
                trouble.push(format!("{step:?}: {e}"));
            }
        }
        let created: Vec<String> = self.app.created_dirs()[self.created_before..].to_vec();
        for rel in created.iter().rev().filter(|r| !recreated.contains(*r)) {
            if let Err(e) = self.app.remove(rel) {
                trouble.push(format!("remove {rel}: {e}"));
            }
        }
        let mut saved: Vec<(&String, &Meta)> = self.saved.iter().collect();
        saved.sort_by_key(|(rel, _)| std::cmp::Reverse(rel.matches('/').count()));
        for (rel, meta) in saved {
            if let Err(e) = set_meta(self.app, rel, *meta) {
                trouble.push(format!("times of {rel}: {e}"));
            }
        }
        let what = match &cause {
            EngineError::Untar(m) => m.clone(),
            other => other.to_string(),
        };
        if trouble.is_empty() {
            untar(format!("{what}; every change was undone, the app's data is as it was"))
        } else {
            untar(format!("{what}; undoing it failed in part: {}", trouble.join("; ")))
        }
    }
}

/// The directory and name a staged path (or a name in the restore directory) is at.
fn source_of<'s>(
    staging: &'s mut Confined,
    restore_dir: &'s OwnedFd,
    from: Source,
    name: &'s str,
) -> io::Result<(BorrowedFd<'s>, &'s str)> {
    match from {
        Source::RestoreDir => Ok((restore_dir.as_fd(), name)),
        Source::Staging => {
            let (parent, base) = name.rsplit_once('/').unwrap_or(("", name));
            let fd =
                staging.dir(parent, false)?.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("staged {name} vanished")))?;
            Ok((fd, base))
        }
    }
}

fn move_error(dest: &str, e: io::Error) -> EngineError {
    untar(format!("moving {dest:?} into place failed: {e}"))
}

fn set_meta(app: &mut Confined, rel: &str, meta: Meta) -> io::Result<()> {
    let d = app.open_dir_for_meta(rel)?;
    fchmod(&d, Mode::from_bits_truncate(meta.mode)).map_err(io::Error::from)?;
    futimens(&d, &meta.atime, &meta.mtime).map_err(io::Error::from)
}

/// Where the move phase puts each item.
struct Placement {
    /// Per item: it replaces an existing file (or symlink, which rename never follows).
    replaces: Vec<bool>,
    /// Per item: it lands with one of `whole_dirs`.
    in_whole_dir: Vec<bool>,
    /// (staged path, destination) of each directory the app does not have, the topmost of
    /// its missing chain, which moves into place whole with one rename.
    whole_dirs: Vec<(String, String)>,
    /// A staged file's path is its destination without this many leading bytes.
    prefix_len: usize,
}

/// Every destination must be reachable without a symlink, and must not turn a directory
/// into a file or the other way round. Checked before anything moves. `prefix` is what a
/// destination has in front of its staged path ("" or the restore directory's).
fn check_destinations(app: &mut Confined, items: &Items, prefix: &str) -> Result<Placement, EngineError> {
    let mut kinds: HashMap<String, Kind> = HashMap::new();
    let mut placement = Placement {
        replaces: Vec::with_capacity(items.len()),
        in_whole_dir: Vec::with_capacity(items.len()),
        whole_dirs: Vec::new(),
        prefix_len: prefix.len(),
    };
    let mut whole: HashSet<String> = HashSet::new();
    for it in items.iter() {
        let is_dir = it.is_dir();
        let dest = it.dest();
        let parent = dest.rsplit_once('/').map_or("", |(p, _)| p);
        let kind = match kind_below(app, &mut kinds, parent, dest)? {
            Kind::Missing => Kind::Missing,
            _ if is_dir => kind_below(app, &mut kinds, dest, dest)?,
            _ => app.probe(dest).map_err(|e| untar(format!("{dest}: {e}")))?,
        };
        placement.replaces.push(match (kind, is_dir) {
            (Kind::Missing, _) | (Kind::Dir, true) => false,
            (Kind::File, false) | (Kind::Symlink, false) => true,
            (Kind::Dir, false) => return Err(untar(format!("{dest:?} is a directory in the app's data, a file in the backup"))),
            (_, true) => return Err(untar(format!("{dest:?} is a directory in the backup but not in the app's data"))),
            (Kind::Other, false) => return Err(untar(format!("{dest:?} is a special file in the app's data"))),
        });
        // A staged item in a directory the app lacks: the topmost missing directory above it
        // (or the item itself, a new directory) moves whole, staged path and all.
        let mut top = (is_dir && kind == Kind::Missing).then_some(dest);
        let mut p = parent;
        while !p.is_empty() && kinds.get(p) == Some(&Kind::Missing) {
            top = Some(p);
            p = p.rsplit_once('/').map_or("", |(q, _)| q);
        }
        let staged =
            top.filter(|_| !matches!(it, Item::Big { .. })).and_then(|t| Some((t, t.strip_prefix(prefix)?))).filter(|(_, s)| !s.is_empty());
        if let Some((top, staged)) = staged {
            if whole.insert(top.to_string()) {
                placement.whole_dirs.push((staged.to_string(), top.to_string()));
            }
        }
        placement.in_whole_dir.push(staged.is_some());
    }
    Ok(placement)
}

/// What is at `rel` (a directory on the way to `dest`), each path looked at once: below a
/// missing directory everything is missing.
fn kind_below(app: &mut Confined, kinds: &mut HashMap<String, Kind>, rel: &str, dest: &str) -> Result<Kind, EngineError> {
    if rel.is_empty() {
        return Ok(Kind::Dir);
    }
    if let Some(k) = kinds.get(rel) {
        return Ok(*k);
    }
    let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
    let kind = match kind_below(app, kinds, parent, dest)? {
        Kind::Missing => Kind::Missing,
        _ => app.probe(rel).map_err(|e| untar(format!("{dest}: {e}")))?,
    };
    kinds.insert(rel.to_string(), kind);
    Ok(kind)
}
