//! The backup scan: include globs, exclude patterns with leading-directory matching, a walk
//! that never follows symlinks and skips special files (ohos-behaviour.md §3.1).

use std::io;
use std::path::{Path, PathBuf};

use std::os::fd::OwnedFd;

use globset::{Glob, GlobBuilder, GlobMatcher};
use nix::fcntl::{open, AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode, SFlag};
use walkdir::WalkDir;

use super::{ScanEntry, PATH_MAX};
use crate::device::WORK_AREA;

/// Everything a backup of `sandbox` with these lists would pack, in a stable order (walk
/// order, depth first, names sorted). Directories are entries of their own (so empty ones
/// survive and every directory keeps its mode); the service's work area
/// (`data/storage/el2/base/.backup/`) is never included.
pub fn scan(sandbox: &Path, includes: &[String], excludes: &[String]) -> io::Result<Vec<ScanEntry>> {
    Ok(Scan::new(sandbox, includes, excludes)?.collect())
}

/// The absolute sandbox path ("/data/…") of a path under `sandbox`.
fn sandbox_path_of(sandbox: &Path, fs_path: &Path, is_dir: bool) -> Option<String> {
    let rel = fs_path.strip_prefix(sandbox).ok()?.to_str()?;
    let mut s = String::with_capacity(rel.len() + 2);
    s.push('/');
    s.push_str(rel);
    if is_dir && !s.ends_with('/') {
        s.push('/');
    }
    Some(s)
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Include patterns → existing roots (files or directories) inside the sandbox. Like glob()
/// with GLOB_MARK: `*` does not cross '/', a trailing '/' only matches directories.
fn expand_includes(sandbox: &Path, includes: &[String]) -> io::Result<Vec<PathBuf>> {
    let mut roots = Vec::new();
    for inc in includes {
        let pattern = inc.trim_start_matches('/');
        if pattern.is_empty() || pattern.split('/').any(|c| c == "..") {
            continue; // "" means nothing; ".." could leave the sandbox
        }
        let want_dir = pattern.ends_with('/');
        let pattern = pattern.trim_end_matches('/');
        if !is_glob(pattern) {
            let p = sandbox.join(pattern);
            if let Ok(md) = std::fs::symlink_metadata(&p) {
                if (md.is_dir() || (md.is_file() && !want_dir)) && !md.file_type().is_symlink() {
                    roots.push(p);
                }
            }
            continue;
        }
        // Walk from the longest literal prefix, as deep as the pattern has components.
        let comps: Vec<&str> = pattern.split('/').collect();
        let literal = comps.iter().take_while(|c| !is_glob(c)).count();
        let base = sandbox.join(comps[..literal].join("/"));
        let matcher = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("include {inc:?}: {e}")))?
            .compile_matcher();
        let depth = comps.len() - literal;
        for e in WalkDir::new(&base).min_depth(depth).max_depth(depth).follow_links(false).sort_by_file_name() {
            let Ok(e) = e else { continue };
            let ft = e.file_type();
            if ft.is_symlink() || !(ft.is_dir() || (ft.is_file() && !want_dir)) {
                continue;
            }
            if let Ok(rel) = e.path().strip_prefix(sandbox) {
                if matcher.is_match(rel) {
                    roots.push(e.path().to_path_buf());
                }
            }
        }
    }
    Ok(roots)
}

/// Exclude patterns as the reference applies them: a trailing '/' gets '*', a relative
/// pattern containing '/' gets a leading '/', and matching is fnmatch with FNM_LEADING_DIR
/// (no FNM_PATHNAME: '*' crosses '/').
struct Excludes {
    matchers: Vec<GlobMatcher>,
}

impl Excludes {
    fn new(patterns: &[String]) -> io::Result<Excludes> {
        let mut matchers = Vec::new();
        for p in patterns.iter().filter(|p| !p.is_empty()) {
            let mut pat = p.clone();
            if pat.ends_with('/') {
                pat.push('*');
            }
            if !pat.starts_with('/') && pat.contains('/') {
                pat.insert(0, '/');
            }
            let g = GlobBuilder::new(&pat)
                .literal_separator(false)
                .backslash_escape(true)
                .build()
                .or_else(|_| Glob::new(&globset::escape(&pat)))
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("exclude {p:?}: {e}")))?;
            matchers.push(g.compile_matcher());
        }
        Ok(Excludes { matchers })
    }

    /// True when the path, or one of its leading directories, matches a pattern.
    fn excluded(&self, sandbox_path: &str) -> bool {
        if self.matchers.is_empty() {
            return false;
        }
        let trimmed = sandbox_path.trim_end_matches('/');
        let hit = |s: &str| self.matchers.iter().any(|m| m.is_match(s));
        if hit(trimmed) || (sandbox_path.ends_with('/') && hit(sandbox_path)) {
            return true;
        }
        trimmed.match_indices('/').skip(1).any(|(i, _)| hit(&trimmed[..i]))
    }
}

/// The scan as a stream, in the order `scan` returns (sandbox paths, bytewise): each include
/// root is walked depth first with a directory's children sorted as their sandbox paths sort
/// (a directory's name with its '/'), and the walks are merged, an entry met by two roots
/// coming once. It holds only the directories on the current path of each walk, so a tree of
/// a million files streams in constant memory, and a packer can start before the walk ends.
pub struct Scan {
    walks: Vec<Walk>,
    /// The next entry of each walk (`None` once it ended).
    heads: Vec<Option<ScanEntry>>,
}

impl Scan {
    pub fn new(sandbox: &Path, includes: &[String], excludes: &[String]) -> io::Result<Scan> {
        let excludes = std::sync::Arc::new(Excludes::new(excludes)?);
        let mut walks: Vec<Walk> =
            expand_includes(sandbox, includes)?.into_iter().map(|root| Walk::new(sandbox, root, excludes.clone())).collect();
        let heads = walks.iter_mut().map(Iterator::next).collect();
        Ok(Scan { walks, heads })
    }
}

impl Iterator for Scan {
    type Item = ScanEntry;

    fn next(&mut self) -> Option<ScanEntry> {
        // The smallest head; on a tie the earlier include wins and the others' copies go.
        let mut best: Option<usize> = None;
        for (i, head) in self.heads.iter().enumerate() {
            let Some(head) = head else { continue };
            if best.is_none_or(|b| head.sandbox_path < self.heads[b].as_ref().expect("a head").sandbox_path) {
                best = Some(i);
            }
        }
        let best = best?;
        let entry = std::mem::replace(&mut self.heads[best], self.walks[best].next()).expect("a head");
        for (walk, head) in self.walks.iter_mut().zip(self.heads.iter_mut()) {
            while head.as_ref().is_some_and(|h| h.sandbox_path == entry.sandbox_path) {
                *head = walk.next();
            }
        }
        Some(entry)
    }
}

/// Entries a walk hands over at a time, and batches it may be ahead by.
const AHEAD_BATCH: usize = 256;
const AHEAD_BATCHES: usize = 4;

/// A walk on a thread of its own, up to `AHEAD_BATCHES` batches ahead of its consumer, so
/// the walk's stat calls (most of a walk's time is the kernel's) overlap what the consumer
/// does with each entry. Entries arrive in the walk's order; dropping it stops the walk.
pub struct ScanAhead {
    batches: Option<std::sync::mpsc::Receiver<Vec<ScanEntry>>>,
    current: std::vec::IntoIter<ScanEntry>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Scan {
    pub fn ahead(mut self) -> io::Result<ScanAhead> {
        let (tx, rx) = std::sync::mpsc::sync_channel(AHEAD_BATCHES);
        let worker = std::thread::Builder::new().name("backup-scan".into()).spawn(move || loop {
            let batch: Vec<ScanEntry> = self.by_ref().take(AHEAD_BATCH).collect();
            // An empty batch: the walk ended. A send that fails: the consumer went away.
            if batch.is_empty() || tx.send(batch).is_err() {
                return;
            }
        })?;
        Ok(ScanAhead { batches: Some(rx), current: Vec::new().into_iter(), worker: Some(worker) })
    }
}

impl Iterator for ScanAhead {
    type Item = ScanEntry;

    fn next(&mut self) -> Option<ScanEntry> {
        loop {
            if let Some(e) = self.current.next() {
                return Some(e);
            }
            match self.batches.as_ref()?.recv() {
                Ok(batch) => self.current = batch.into_iter(),
                Err(_) => {
                    // The walk ended, or panicked: then so does its consumer, as if it had
                    // walked itself, instead of seeing a short walk.
                    self.batches = None;
                    if let Some(Err(panic)) = self.worker.take().map(|w| w.join()) {
                        std::panic::resume_unwind(panic);
                    }
                    return None;
                }
            }
        }
    }
}

impl Drop for ScanAhead {
    fn drop(&mut self) {
        self.batches = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// One directory being listed: its children sorted by sandbox path, and an fd of it to stat
/// them by name (one short lookup each instead of the whole path again).
struct Frame {
    dir: PathBuf,
    /// The directory's sandbox path, ending in '/': its children's paths are this + name.
    sandbox_path: String,
    fd: Option<OwnedFd>,
    children: std::vec::IntoIter<Child>,
}

struct Child {
    name: std::ffi::OsString,
    is_dir: bool,
}

impl Child {
    /// The bytes its sandbox path ends with: the name, and '/' for a directory.
    fn sort_key(&self) -> impl Iterator<Item = u8> + '_ {
        use std::os::unix::ffi::OsStrExt;
        self.name.as_bytes().iter().copied().chain(self.is_dir.then_some(b'/'))
    }
}

/// The walk of one include root. Unreadable directories and entries are skipped, as the
/// reference skips EACCES; symlinks and special files are never entries.
struct Walk {
    filter: Filter,
    root: Option<PathBuf>,
    stack: Vec<Frame>,
}

/// What the walk leaves out: the service's work area, excluded paths, paths too long.
struct Filter {
    sandbox: PathBuf,
    /// The work area's sandbox path ("/data/storage/el2/base/.backup").
    work_area: String,
    excludes: std::sync::Arc<Excludes>,
}

impl Filter {
    /// The entry at `path` (sandbox path `sp`, which ends in '/' for a directory), whose
    /// directory listing says `is_dir` (else a regular file), or `None` when it is skipped (a
    /// skipped directory with everything in it).
    fn visit(&self, path: PathBuf, sp: String, is_dir: bool, parent: Option<&OwnedFd>) -> Option<ScanEntry> {
        if sp.strip_prefix(&self.work_area).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        if sp.len() >= PATH_MAX || self.excludes.excluded(&sp) {
            return None;
        }
        let st = stat_entry(parent, &path)?;
        // A file swapped for something else since the directory was read is skipped too.
        if st.st_mode & SFlag::S_IFMT.bits() != if is_dir { SFlag::S_IFDIR.bits() } else { SFlag::S_IFREG.bits() } {
            return None;
        }
        Some(ScanEntry {
            sandbox_path: sp,
            fs_path: path,
            is_dir,
            size: if is_dir { 0 } else { st.st_size as u64 },
            mode: st.st_mode,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            atime: (st.st_atime, st.st_atime_nsec),
        })
    }
}

impl Walk {
    fn new(sandbox: &Path, root: PathBuf, excludes: std::sync::Arc<Excludes>) -> Walk {
        let filter = Filter { sandbox: sandbox.to_path_buf(), work_area: format!("/{WORK_AREA}"), excludes };
        Walk { filter, root: Some(root), stack: Vec::new() }
    }

    fn found(&mut self, e: ScanEntry) -> ScanEntry {
        if e.is_dir {
            self.stack.push(list_dir(&e.fs_path, &e.sandbox_path));
        }
        e
    }
}

impl Iterator for Walk {
    type Item = ScanEntry;

    fn next(&mut self) -> Option<ScanEntry> {
        if let Some(root) = self.root.take() {
            let is_dir = std::fs::symlink_metadata(&root).map(|m| m.is_dir()).unwrap_or(false);
            if let Some(sp) = sandbox_path_of(&self.filter.sandbox, &root, is_dir) {
                if let Some(e) = self.filter.visit(root, sp, is_dir, None) {
                    return Some(self.found(e));
                }
            }
        }
        loop {
            let frame = self.stack.last_mut()?;
            let Some(child) = frame.children.next() else {
                self.stack.pop();
                continue;
            };
            // Names that are not UTF-8 have no sandbox path: skipped, with what is under them.
            let Some(name) = child.name.to_str() else { continue };
            let mut sp = String::with_capacity(frame.sandbox_path.len() + name.len() + 1);
            sp.push_str(&frame.sandbox_path);
            sp.push_str(name);
            if child.is_dir {
                sp.push('/');
            }
            if let Some(e) = self.filter.visit(frame.dir.join(name), sp, child.is_dir, frame.fd.as_ref()) {
                return Some(self.found(e));
            }
        }
    }
}

/// A directory's regular files and subdirectories, sorted as their sandbox paths sort: by
/// name, a directory's name counting its trailing '/' (so "a.b/" comes before "a/", as
/// '.' < '/'). Nothing when it cannot be read.
fn list_dir(dir: &Path, sandbox_path: &str) -> Frame {
    let fd = open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).ok();
    let mut children: Vec<Child> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for d in rd.flatten() {
            // The listing's type (d_type), never following a symlink.
            let Ok(ft) = d.file_type() else { continue };
            if ft.is_dir() || ft.is_file() {
                children.push(Child { name: d.file_name(), is_dir: ft.is_dir() });
            }
        }
    }
    children.sort_unstable_by(|a, b| a.sort_key().cmp(b.sort_key()));
    Frame { dir: dir.to_path_buf(), sandbox_path: sandbox_path.to_string(), fd, children: children.into_iter() }
}

/// lstat of `path`, by its name relative to `parent` when the directory's fd is at hand.
fn stat_entry(parent: Option<&OwnedFd>, path: &Path) -> Option<nix::sys::stat::FileStat> {
    match (parent, path.file_name()) {
        (Some(fd), Some(name)) => fstatat(fd, name, AtFlags::AT_SYMLINK_NOFOLLOW).ok(),
        _ => nix::sys::stat::lstat(path).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn sandbox(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("scan-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        for f in [
            "data/storage/el2/base/files/a.txt",
            "data/storage/el2/base/files/sub/b.log",
            "data/storage/el2/base/files/cache/c.bin",
            "data/storage/el2/base/haps/entry/files/h.txt",
            "data/storage/el2/base/.backup/restore/x.tar",
            "data/storage/el2/base/other/o.txt",
        ] {
            let p = d.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, f).unwrap();
        }
        fs::create_dir_all(d.join("data/storage/el2/base/files/empty")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join("data/storage/el2/base/files/link")).unwrap();
        d
    }

    fn paths(v: &[ScanEntry]) -> Vec<&str> {
        v.iter().map(|e| e.sandbox_path.as_str()).collect()
    }

    #[test]
    fn defaults_expand_globs_skip_symlinks_and_the_work_area() {
        let d = sandbox("defaults");
        let inc: Vec<String> = crate::device::config::DEFAULT_INCLUDES.iter().map(|s| s.to_string()).collect();
        let v = scan(&d, &inc, &[]).unwrap();
        assert_eq!(
            paths(&v),
            [
                "/data/storage/el2/base/files/",
                "/data/storage/el2/base/files/a.txt",
                "/data/storage/el2/base/files/cache/",
                "/data/storage/el2/base/files/cache/c.bin",
                "/data/storage/el2/base/files/empty/",
                "/data/storage/el2/base/files/sub/",
                "/data/storage/el2/base/files/sub/b.log",
                "/data/storage/el2/base/haps/entry/files/",
                "/data/storage/el2/base/haps/entry/files/h.txt",
            ]
        );
        assert_eq!(v[1].size, "data/storage/el2/base/files/a.txt".len() as u64);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn excludes_match_leading_directories_and_crossing_stars() {
        let d = sandbox("excludes");
        let inc = vec!["data/storage/el2/base/".to_string()];
        let exc = vec!["data/storage/el2/base/files/cache/".to_string(), "*.log".to_string()];
        let v = scan(&d, &inc, &exc).unwrap();
        let p = paths(&v);
        assert!(!p.iter().any(|s| s.contains("cache")), "{p:?}");
        assert!(!p.iter().any(|s| s.ends_with(".log")), "{p:?}");
        assert!(p.contains(&"/data/storage/el2/base/other/o.txt"));
        assert!(!p.iter().any(|s| s.contains(".backup")));
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_walk_ahead_gives_the_walk_in_order_and_stops_when_dropped() {
        let d = sandbox("ahead");
        let base = d.join("data/storage/el2/base/files/many");
        // More entries than a few batches, so the walk runs ahead and blocks on its consumer.
        for i in 0..(AHEAD_BATCH * (AHEAD_BATCHES + 3)) {
            fs::create_dir_all(base.join(format!("d{}", i % 7))).unwrap();
            fs::write(base.join(format!("d{}/f{i:05}", i % 7)), b"x").unwrap();
        }
        let inc = vec!["data/storage/el2/base/".to_string()];
        let walked = scan(&d, &inc, &[]).unwrap();
        let ahead: Vec<ScanEntry> = Scan::new(&d, &inc, &[]).unwrap().ahead().unwrap().collect();
        assert_eq!(paths(&ahead), paths(&walked));
        assert_eq!(
            ahead.iter().map(|e| (e.size, e.mode, e.mtime)).collect::<Vec<_>>(),
            walked.iter().map(|e| (e.size, e.mode, e.mtime)).collect::<Vec<_>>()
        );
        // A consumer that stops early: the drop ends the walk's thread (it would hang otherwise).
        let mut early = Scan::new(&d, &inc, &[]).unwrap().ahead().unwrap();
        assert_eq!(early.next().map(|e| e.sandbox_path), Some(walked[0].sandbox_path.clone()));
        drop(early);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn empty_include_and_dotdot_back_up_nothing() {
        let d = sandbox("nothing");
        assert!(scan(&d, &["".into()], &[]).unwrap().is_empty());
        assert!(scan(&d, &["../..".into()], &[]).unwrap().is_empty());
        fs::remove_dir_all(d).unwrap();
    }
}
