//! Restore of one bundle from the files the client wrote into `.backup/restore/`:
//! validate everything first, stage, then move each file into place atomically.
//!
//! Phase 1 reads `manage.json`, checks every tar entry and big-file destination and writes
//! the tar contents into a staging directory inside the work area (same file system, so a
//! rename is atomic). Any corrupt or hostile input ends here with `Untar`, before one byte of
//! the app's data changed. Phase 2 renames each staged file over its destination and then
//! applies directory modes and times, deepest first.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use nix::sys::stat::{fchmod, futimens, Mode};
use nix::sys::time::TimeSpec;

use super::confined::{clean_rel, Confined, Kind};
use super::manage::parse_manage;
use super::report::parse_report;
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
fn destination(path: &str) -> Result<String, EngineError> {
    let rel = clean_rel(path).ok_or_else(|| untar(format!("refused path {path:?}: empty, too long or leaves the sandbox")))?;
    if !rel.starts_with("data/storage/") {
        return Err(untar(format!("refused path {path:?}: outside the app's data (data/storage/)")));
    }
    if rel == WORK_AREA || rel.starts_with(&format!("{WORK_AREA}/")) {
        return Err(untar(format!("refused path {path:?}: inside the service's work area")));
    }
    Ok(rel)
}

#[derive(Debug)]
enum Item {
    /// A staged file (`staged` names it in the staging directory).
    File {
        staged: String,
        dest: String,
    },
    Dir {
        dest: String,
        mode: u32,
        mtime: TimeSpec,
    },
    /// A big file written by the client into `.backup/restore/<name>`.
    Big {
        name: String,
        dest: String,
        mode: u32,
        atime: TimeSpec,
        mtime: TimeSpec,
    },
}

impl Item {
    fn dest(&self) -> &str {
        match self {
            Item::File { dest, .. } | Item::Dir { dest, .. } | Item::Big { dest, .. } => dest,
        }
    }
}

/// Safe permission bits: never setuid/setgid from an untrusted archive.
fn safe_mode(mode: u32) -> u32 {
    mode & 0o1777
}

fn ts(sec: i64, nsec: i64) -> TimeSpec {
    TimeSpec::new(sec, nsec.clamp(0, 999_999_999))
}

/// The set of paths (without the leading '/') a tar's `.rp` lets through; `None` = all.
fn read_filter(c: &mut Confined, rp: &str) -> Result<Option<HashSet<String>>, EngineError> {
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
    Ok(Some(entries.into_iter().filter_map(|e| clean_rel(&e.path)).collect()))
}

struct Stager {
    staging: Confined,
    seq: u64,
    items: Vec<Item>,
    bytes: u64,
}

impl Stager {
    /// Checks every entry of one tar and stages its files; refuses the whole archive on
    /// anything that is not a plain file or directory with a clean path.
    fn stage_tar(&mut self, tar: File, name: &str, filter: Option<&HashSet<String>>) -> Result<(), EngineError> {
        let mut ar = super::tar_read::archive(tar);
        let entries = ar.entries().map_err(|e| untar(format!("{name}: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| untar(format!("{name}: corrupt archive: {e}")))?;
            let kind = entry.header().entry_type();
            let raw = entry.path_bytes().into_owned();
            let path = String::from_utf8(raw).map_err(|_| untar(format!("{name}: an entry name is not UTF-8")))?;
            use tar::EntryType::*;
            let is_dir = match kind {
                Regular | Continuous => false,
                Directory => true,
                XGlobalHeader => continue,
                Symlink => return Err(untar(format!("{name}: refused symlink entry {path:?}"))),
                Link => return Err(untar(format!("{name}: refused hard-link entry {path:?}"))),
                other => return Err(untar(format!("{name}: refused entry {path:?} of type {other:?}"))),
            };
            // GNU tar archives made with `-C <sandbox> data` also hold "data/" and
            // "data/storage/": directories above the app's data, nothing to restore.
            if is_dir && matches!(path.trim_start_matches("./").trim_matches('/'), "data" | "data/storage") {
                continue;
            }
            let dest = destination(&path).map_err(|e| match e {
                EngineError::Untar(m) => untar(format!("{name}: {m}")),
                e => e,
            })?;
            let header = entry.header();
            let mode = safe_mode(header.mode().map_err(|e| untar(format!("{name}: {path}: {e}")))?);
            let size = header.size().map_err(|e| untar(format!("{name}: {path}: {e}")))?;
            let mut mtime = ts(header.mtime().unwrap_or(0) as i64, 0);
            if let Ok(Some(exts)) = entry.pax_extensions() {
                for ext in exts.flatten() {
                    if ext.key() == Ok("mtime") {
                        if let Some(t) = ext.value().ok().and_then(parse_pax_time) {
                            mtime = t;
                        }
                    }
                }
            }
            if filter.is_some_and(|f| !f.contains(&dest)) {
                // Not listed in this tar's report: skipped, but its bytes must still be there.
                let copied = io::copy(&mut entry, &mut io::sink()).map_err(|e| untar(format!("{name}: {e}")))?;
                if copied != size && !is_dir {
                    return Err(untar(format!("{name}: truncated archive at {path:?}")));
                }
                continue;
            }
            if is_dir {
                self.items.push(Item::Dir { dest, mode, mtime });
                continue;
            }
            let staged = format!("f{}", self.seq);
            self.seq += 1;
            let mut out = self.staging.create_file(&staged, 0o600).map_err(EngineError::Io)?;
            let copied = io::copy(&mut entry, &mut out).map_err(|e| untar(format!("{name}: {e}")))?;
            if copied != size {
                return Err(untar(format!("{name}: truncated archive: {path:?} has {copied} of {size} bytes")));
            }
            fchmod(&out, Mode::from_bits_truncate(mode)).map_err(|e| EngineError::Io(e.into()))?;
            futimens(&out, &mtime, &mtime).map_err(|e| EngineError::Io(e.into()))?;
            self.bytes += size;
            self.items.push(Item::File { staged, dest });
        }
        Ok(())
    }
}

fn parse_pax_time(v: &str) -> Option<TimeSpec> {
    let (sec, frac) = v.split_once('.').unwrap_or((v, ""));
    let sec: i64 = sec.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let nsec: i64 = if digits.is_empty() { 0 } else { format!("{digits:0<9}").parse().ok()? };
    Some(ts(sec, nsec))
}

/// Unpacks what `manage.json` in `.backup/restore/` lists. On any corrupt or hostile input
/// returns `Err(Untar)` and leaves the app's data exactly as it was.
pub fn run(job: &RestoreJob) -> Result<RestoreSummary, EngineError> {
    let mut app = Confined::open(&job.sandbox)?;
    let manage_bytes = {
        let f = app.open_file(&format!("{RESTORE_DIR}/manage.json")).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                untar("manage.json was not sent: the restore does not know what to unpack")
            } else {
                untar(format!("manage.json: {e}"))
            }
        })?;
        let mut b = Vec::new();
        f.take(64 << 20).read_to_end(&mut b)?;
        b
    };
    let manage = parse_manage(&manage_bytes).map_err(untar)?;
    // The full listing is read (and checked) before anything changes.
    let listing = match &job.deletions {
        Some(_) => read_filter(&mut app, &format!("{RESTORE_DIR}/manage.json.rp"))?,
        None => None,
    };

    // Staging lives in the work area: same file system as the app's data.
    let _ = app.remove_tree(STAGING_DIR);
    app.dir(STAGING_DIR, true)?;
    let staging = Confined::open(&job.sandbox.join(STAGING_DIR))?;
    let mut stager = Stager { staging, seq: 0, items: Vec::new(), bytes: 0 };

    let result = (|| -> Result<RestoreSummary, EngineError> {
        for m in &manage {
            if !is_valid_uri(&m.file_name) {
                return Err(untar(format!("manage.json names an invalid file {:?}", m.file_name)));
            }
            let src = format!("{RESTORE_DIR}/{}", m.file_name);
            let rp = format!("{src}.rp");
            if m.file_name.ends_with(".tar") && !m.is_user_tar && !m.is_big_file {
                let filter = read_filter(&mut app, &rp)?;
                let tar = app.open_file(&src).map_err(|e| untar(format!("{}: {e} (was it sent?)", m.file_name)))?;
                stager.stage_tar(tar, &m.file_name, filter.as_ref())?;
            } else {
                match app.probe(&src)? {
                    Kind::File => {}
                    _ => return Err(untar(format!("big file {} listed in manage.json was not sent", m.file_name))),
                }
                // A one-line report names the destination (incremental restore).
                let mut dest_path = m.information.path.clone();
                if let Ok(f) = app.open_file(&rp) {
                    let mut b = Vec::new();
                    f.take(1 << 20).read_to_end(&mut b)?;
                    if !b.iter().all(|c| c.is_ascii_whitespace()) {
                        let lines = parse_report(&b).map_err(|e| untar(format!("{}.rp: {e}", m.file_name)))?;
                        if lines.len() == 1 {
                            dest_path = lines[0].path.clone();
                        }
                    }
                }
                let dest = destination(&dest_path)?;
                let st = &m.information.stat;
                stager.bytes += st.st_size;
                stager.items.push(Item::Big {
                    name: m.file_name.clone(),
                    dest,
                    mode: safe_mode(st.st_mode),
                    atime: ts(st.st_atim.tv_sec, st.st_atim.tv_nsec),
                    mtime: ts(st.st_mtim.tv_sec, st.st_mtim.tv_nsec),
                });
            }
        }

        // Where everything lands: the app's paths, or `.backup/restore/` for fullBackupOnly.
        let prefix = if job.into_restore_dir { format!("{RESTORE_DIR}/") } else { String::new() };
        let mut items = std::mem::take(&mut stager.items);
        for it in &mut items {
            let d = format!("{prefix}{}", it.dest());
            match it {
                Item::File { dest, .. } | Item::Dir { dest, .. } | Item::Big { dest, .. } => *dest = d,
            }
        }
        let replaces = check_destinations(&mut app, &items)?;

        // When a file of the app is about to be replaced, everything staged is made durable
        // before the first rename, so a crash leaves that file old or new, never truncated.
        // Into an empty place (the usual restore onto a wiped app) there is nothing old to
        // lose, and a flush of every byte would double the restore time.
        if replaces {
            let staging_dir = app.open_dir_for_meta(STAGING_DIR)?;
            nix::unistd::syncfs(&staging_dir).map_err(|e| EngineError::Io(e.into()))?;
        }

        let mut summary = RestoreSummary { bytes: stager.bytes, ..Default::default() };
        let mut dirs: Vec<(String, u32, TimeSpec)> = Vec::new();
        for it in &items {
            match it {
                Item::Dir { dest, mode, mtime } => {
                    app.dir(dest, true)?;
                    dirs.push((dest.clone(), *mode, *mtime));
                    summary.dirs += 1;
                }
                Item::File { staged, dest, .. } => {
                    app.rename_into(stager.staging.root_fd(), staged, dest)?;
                    summary.files += 1;
                }
                Item::Big { name, dest, mode, atime, mtime } => {
                    let f = app.open_file(&format!("{RESTORE_DIR}/{name}"))?;
                    fchmod(&f, Mode::from_bits_truncate(*mode)).map_err(|e| EngineError::Io(e.into()))?;
                    futimens(&f, atime, mtime).map_err(|e| EngineError::Io(e.into()))?;
                    drop(f);
                    let restore_dir = app.dir(RESTORE_DIR, false)?.map(|fd| fd.try_clone_to_owned()).transpose()?;
                    let restore_dir = restore_dir.ok_or_else(|| untar("the restore directory vanished"))?;
                    use std::os::fd::AsFd;
                    app.rename_into(restore_dir.as_fd(), name, dest)?;
                    summary.files += 1;
                }
            }
        }
        // Deepest first, so setting a parent's mtime is the last change inside it.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.0.matches('/').count()));
        for (dest, mode, mtime) in dirs {
            let d = app.open_dir_for_meta(&dest)?;
            fchmod(&d, Mode::from_bits_truncate(mode)).map_err(|e| EngineError::Io(e.into()))?;
            futimens(&d, &mtime, &mtime).map_err(|e| EngineError::Io(e.into()))?;
        }
        if let (Some((includes, excludes)), Some(listing)) = (&job.deletions, &listing) {
            summary.deleted = apply_deletions(&mut app, &job.sandbox, includes, excludes, listing)?;
        }
        Ok(summary)
    })();
    drop(stager);
    let _ = app.remove_tree(STAGING_DIR);
    result
}

/// Removes what the backup's scope holds now but the full listing does not: files first,
/// then directories that became empty, deepest first. Only entries below a directory the
/// listing names are candidates, so nothing the backup never covered (another scene's
/// directories, say) is touched; a directory that still holds something stays.
fn apply_deletions(
    app: &mut Confined,
    sandbox: &Path,
    includes: &[String],
    excludes: &[String],
    listing: &HashSet<String>,
) -> Result<u64, EngineError> {
    let present = super::scan::scan(sandbox, includes, excludes)?;
    let mut deleted = 0;
    let mut dirs = Vec::new();
    for e in &present {
        let Some(rel) = clean_rel(&e.sandbox_path) else { continue };
        // Inside a directory the backup covered (a deleted directory's own entry is gone,
        // so any listed ancestor counts).
        let covered = rel.match_indices('/').any(|(i, _)| listing.contains(&rel[..i]));
        if listing.contains(&rel) || !covered {
            continue;
        }
        if e.is_dir {
            dirs.push(rel);
        } else {
            app.remove(&rel)?;
            deleted += 1;
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    for d in dirs {
        match app.remove(&d) {
            Ok(()) => deleted += 1,
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOTEMPTY) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(deleted)
}

/// Every destination must be reachable without a symlink, and must not turn a directory
/// into a file or the other way round. Checked before anything moves. Returns whether an
/// existing file will be replaced.
fn check_destinations(app: &mut Confined, items: &[Item]) -> Result<bool, EngineError> {
    let mut replaces = false;
    let mut planned: HashMap<&str, bool> = HashMap::new();
    for it in items {
        let is_dir = matches!(it, Item::Dir { .. });
        let dest = it.dest();
        if let Some(&was_dir) = planned.get(dest) {
            if was_dir != is_dir {
                return Err(untar(format!("{dest:?} is both a file and a directory in the backup")));
            }
        }
        planned.insert(dest, is_dir);
        // Every parent of a planned path must be (or become) a directory.
        let mut p = dest;
        while let Some((parent, _)) = p.rsplit_once('/') {
            if planned.get(parent) == Some(&false) {
                return Err(untar(format!("{parent:?} is both a file and a directory in the backup")));
            }
            p = parent;
        }
        let kind = app.probe(dest).map_err(|e| untar(format!("{dest}: {e}")))?;
        match (kind, is_dir) {
            (Kind::Missing, _) | (Kind::Dir, true) => {}
            (Kind::File, false) | (Kind::Symlink, false) => replaces = true,
            (Kind::Dir, false) => return Err(untar(format!("{dest:?} is a directory in the app's data, a file in the backup"))),
            (_, true) => return Err(untar(format!("{dest:?} is a directory in the backup but not in the app's data"))),
            (Kind::Other, false) => return Err(untar(format!("{dest:?} is a special file in the app's data"))),
        }
    }
    Ok(replaces)
}
