//! A full backup of one bundle: scan, big files as themselves, small files packed into
//! `part.<N>.tar`, then `manage.json`, each handed to the sink as soon as it is ready.

use std::collections::{HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::SystemTime;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use sha2::{Digest, Sha256};

use super::anon::{anonymous_file, reopen_read_only};
use super::hash_cache::{HashCache, Hashed, Identity};
use super::manage::{integrity_of, write_manage, Information, ManageEntry, Stat, TimeSpec};
use super::part_file::{PartFile, BUFFER_BYTES};
use super::scan::Scan;
use super::tar_write::{entry_after_contents, inside, TarWriter};
use super::{EngineError, Flow, Output, ScanEntry, BIG_FILE_THRESHOLD, PACK_THREADS, TAR_SLICE_BYTES, TAR_SLICE_FILES};

#[derive(Debug, Clone)]
pub struct BackupJob {
    /// `apps/<bundle>/`.
    pub sandbox: PathBuf,
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
    /// Where tar parts are spooled (anonymous files): the bundle's `.backup/backup/`.
    pub spool_dir: PathBuf,
    /// Where the SHA-256 of the bundle's big files is remembered between backups (`None`:
    /// every big file is hashed).
    pub hash_cache: Option<PathBuf>,
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

/// Runs the backup, calling `sink` for every output in send order: big files as the walk
/// meets them, each tar part once it is full, `manage.json` last. Returns `Err(Stopped)` as
/// soon as the sink says stop.
pub fn run_full(job: &BackupJob, sink: &mut dyn FnMut(Output) -> Flow) -> Result<BackupSummary, EngineError> {
    run_full_sliced(job, Slices { bytes: TAR_SLICE_BYTES, files: TAR_SLICE_FILES }, sink)
}

/// When a part is full: at `bytes` of content or `files` entries (smaller in tests).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slices {
    pub bytes: u64,
    pub files: usize,
}

/// The backup with these part limits. The walk streams; the calling thread plans the parts
/// from it (the same cut as packing one after the other: a part is full when its scanned
/// content or entry count reaches the limit), `PACK_THREADS` packers fill up to that many
/// parts at once, and the outputs go to the sink in the order of the walk, so what is sent
/// is what a single packer would send. (Only a file that vanishes between the scan and its
/// packing still counts toward its part's limits, and a read-only directory whose contents go
/// on past a cut moves to the next part: `dirs_still_open`.)
pub(crate) fn run_full_sliced(job: &BackupJob, slices: Slices, sink: &mut dyn FnMut(Output) -> Flow) -> Result<BackupSummary, EngineError> {
    let walk = Scan::new(&job.sandbox, &job.includes, &job.excludes).and_then(Scan::ahead).map_err(tar_err)?;
    let stop = AtomicBool::new(false);
    let (jobs, queued) = mpsc::channel::<PackJob>();
    let queued = Mutex::new(queued);
    let mut out = InOrder {
        sink,
        summary: BackupSummary::default(),
        manage: Vec::new(),
        names: BigNames::new(true),
        queue: VecDeque::new(),
        big_hashes: BigHashes::new(HashCache::load(job.hash_cache.as_deref())),
    };
    std::thread::scope(|scope| {
        let mut packers = 0;
        let mut submit = |entries: Vec<ScanEntry>, out: &mut InOrder| {
            let (reply, result) = mpsc::sync_channel(1);
            if packers < PACK_THREADS {
                packers += 1;
                scope.spawn(|| pack_parts(&queued, &job.spool_dir, &stop));
            }
            // A packer only goes away after `jobs` is dropped, below.
            // Content plus a header and padding per entry, and the end of the archive.
            let buffer = entries.iter().map(|e| e.size + 1536).sum::<u64>() + 1024;
            let _ = jobs.send(PackJob { entries, buffer, reply });
            out.queue.push_back(Pending::Part(result));
        };
        let result = (|| {
            let mut plan: Vec<ScanEntry> = Vec::new();
            let mut content = 0u64;
            let mut walk = walk.peekable();
            while let Some(e) = walk.next() {
                if !e.is_dir && e.size > BIG_FILE_THRESHOLD {
                    out.queue.push_back(Pending::Big(e));
                } else {
                    content += e.size;
                    plan.push(e);
                    if content >= slices.bytes || plan.len() >= slices.files {
                        let carried = dirs_still_open(&mut plan, walk.peek());
                        submit(std::mem::replace(&mut plan, carried), &mut out);
                        content = 0;
                    }
                }
                // Send what is ready; wait for the oldest part when enough are in hand.
                out.send_ready(PACK_THREADS + 1)?;
            }
            if !plan.is_empty() {
                submit(plan, &mut out);
            }
            out.send_ready(0)
        })();
        stop.store(result.is_err(), Ordering::Relaxed);
        drop(jobs);
        result
    })?;
    let InOrder { sink, summary, mut manage, big_hashes, .. } = out;
    big_hashes.record(&mut manage).map_err(tar_err)?;
    let mut f = anonymous_file(&job.spool_dir).map_err(tar_err)?;
    write_manage(&manage, &mut BufWriter::new(&mut f)).map_err(tar_err)?;
    let file = reopen_read_only(&f).map_err(tar_err)?;
    match sink(Output { uri: "manage.json".into(), file, report: None }) {
        Flow::Continue => Ok(summary),
        Flow::Stop => Err(EngineError::Stopped),
    }
}

/// Takes out of a full part's plan the directories whose entry goes after their contents
/// (`entry_after_contents`) and whose contents go on in the next part (`next` is inside
/// them): they go to the next part. A device's untar `mkdir`s such a directory with its
/// read-only mode when its entry comes, so in the first part it would keep the second part's
/// files out; a device makes the missing parents of those files writable instead.
fn dirs_still_open(plan: &mut Vec<ScanEntry>, next: Option<&ScanEntry>) -> Vec<ScanEntry> {
    let Some(next) = next else { return Vec::new() };
    let open = |e: &ScanEntry| e.is_dir && entry_after_contents(e.mode) && inside(&e.sandbox_path, &next.sandbox_path);
    if !plan.iter().any(open) {
        return Vec::new();
    }
    let (carried, kept) = std::mem::take(plan).into_iter().partition(open);
    *plan = kept;
    carried
}

fn tar_err(e: io::Error) -> EngineError {
    EngineError::Tar(e.to_string())
}

/// A planned part for a packer, and where its result goes.
struct PackJob {
    entries: Vec<ScanEntry>,
    /// About the bytes of the part: its buffer need not be larger.
    buffer: u64,
    reply: mpsc::SyncSender<io::Result<Packed>>,
}

/// A finished part: read-only from offset 0, its size, and what it holds.
struct Packed {
    file: File,
    size: u64,
    /// SHA-256 of the part as sent, hashed by its packer (so on the second core too).
    sha256: String,
    files: u64,
    dirs: u64,
    bytes: u64,
}

/// An output not yet sent, in send order.
enum Pending {
    Big(ScanEntry),
    Part(mpsc::Receiver<io::Result<Packed>>),
}

/// Sends outputs in walk order as they become ready, and keeps the bundle's index.
struct InOrder<'s> {
    sink: &'s mut dyn FnMut(Output) -> Flow,
    summary: BackupSummary,
    manage: Vec<ManageEntry>,
    names: BigNames,
    queue: VecDeque<Pending>,
    big_hashes: BigHashes,
}

/// Big files are hashed on threads of their own (one per core the packers use) while they
/// travel, so the hash (only needed in `manage.json`, which goes last) overlaps sending them;
/// a big file unchanged since the last backup keeps the hash that backup remembered.
struct BigHashes {
    cache: HashCache,
    /// Hashes the cache gave: `manage` index, size, SHA-256.
    known: Vec<(usize, u64, String)>,
    jobs: Option<mpsc::Sender<BigHashJob>>,
    done: Vec<std::thread::JoinHandle<Vec<HashedBig>>>,
}

/// A big file to hash: its `manage.json` index, a dup of its fd, and what the cache needs.
struct BigHashJob {
    index: usize,
    file: File,
    sandbox_path: String,
    before: Identity,
}

/// A `manage.json` index, the size and SHA-256 of its big file, and the hash to remember.
type HashedBig = (usize, io::Result<(u64, Hashed)>);

fn hash_big(job: BigHashJob) -> HashedBig {
    let started = SystemTime::now();
    let hashed = integrity_of(&job.file).and_then(|(size, sha256)| {
        let after = Identity::of(&job.file)?;
        Ok((size, Hashed { sandbox_path: job.sandbox_path, before: job.before, started, after, sha256 }))
    });
    (job.index, hashed)
}

impl BigHashes {
    fn new(cache: HashCache) -> BigHashes {
        BigHashes { cache, known: Vec::new(), jobs: None, done: Vec::new() }
    }

    /// Hashes `file` (a dup: reading by offset leaves the receiver's position alone) for
    /// `manage[index]`, unless the cache knows it.
    fn add(&mut self, index: usize, file: &File, sandbox_path: &str) -> io::Result<()> {
        let before = Identity::of(file)?;
        if let Some(sha256) = self.cache.lookup(sandbox_path, &before) {
            self.known.push((index, before.size(), sha256));
            return Ok(());
        }
        let dup = file.try_clone()?;
        if self.jobs.is_none() {
            let (tx, rx) = mpsc::channel::<BigHashJob>();
            let rx = Arc::new(Mutex::new(rx));
            for _ in 0..PACK_THREADS {
                let rx = rx.clone();
                let next = move || rx.lock().unwrap_or_else(|p| p.into_inner()).recv().ok();
                self.done.push(
                    std::thread::Builder::new()
                        .name("backup-hash".into())
                        .spawn(move || std::iter::from_fn(next).map(hash_big).collect())?,
                );
            }
            self.jobs = Some(tx);
        }
        let job = BigHashJob { index, file: dup, sandbox_path: sandbox_path.to_string(), before };
        self.jobs.as_ref().expect("set above").send(job).map_err(|_| io::Error::other("the hash threads stopped"))
    }

    /// Waits for every hash, records it in its entry, and keeps the cache for the next backup.
    fn record(mut self, manage: &mut [ManageEntry]) -> io::Result<()> {
        drop(self.jobs.take());
        for (i, size, sha256) in self.known.drain(..) {
            (manage[i].size, manage[i].sha256) = (Some(size), Some(sha256));
        }
        for done in self.done.drain(..) {
            for (i, r) in done.join().map_err(|_| io::Error::other("a hash thread panicked"))? {
                let (size, hashed) = r?;
                (manage[i].size, manage[i].sha256) = (Some(size), Some(hashed.sha256.clone()));
                self.cache.remember(hashed);
            }
        }
        // A cache that cannot be written costs the next backup a hash, not this one its data.
        let _ = self.cache.save();
        Ok(())
    }
}

impl InOrder<'_> {
    /// Sends every output at the head of the queue that is ready, waiting for parts still
    /// being packed while more than `max_parts` are queued.
    fn send_ready(&mut self, max_parts: usize) -> Result<(), EngineError> {
        while let Some(head) = self.queue.front() {
            let must_wait = self.queue.iter().filter(|p| matches!(p, Pending::Part(_))).count() > max_parts;
            let out = match head {
                Pending::Big(e) => {
                    let Some(file) = open_app_file(e).map_err(tar_err)? else {
                        self.queue.pop_front();
                        continue;
                    };
                    let uri = self.names.name(&e.sandbox_path);
                    self.big_hashes.add(self.manage.len(), &file, &e.sandbox_path).map_err(tar_err)?;
                    self.manage.push(big_file_entry(&uri, e, &mut self.summary));
                    Output { uri, file, report: None }
                }
                Pending::Part(result) => {
                    let packed = if must_wait {
                        result.recv().map_err(|_| EngineError::Tar("a packer stopped".into()))?
                    } else {
                        match result.try_recv() {
                            Ok(p) => p,
                            Err(mpsc::TryRecvError::Empty) => return Ok(()),
                            Err(mpsc::TryRecvError::Disconnected) => return Err(EngineError::Tar("a packer stopped".into())),
                        }
                    };
                    let p = packed.map_err(tar_err)?;
                    let uri = format!("part.{}.tar", self.summary.parts);
                    self.summary.parts += 1;
                    self.summary.files += p.files;
                    self.summary.dirs += p.dirs;
                    self.summary.bytes += p.bytes;
                    let mut m = tar_manage_entry(&uri, p.size);
                    (m.size, m.sha256) = (Some(p.size), Some(p.sha256));
                    self.manage.push(m);
                    Output { uri, file: p.file, report: None }
                }
            };
            self.queue.pop_front();
            if (self.sink)(out) == Flow::Stop {
                return Err(EngineError::Stopped);
            }
        }
        Ok(())
    }
}

/// A packer: takes planned parts until there are no more, reusing one buffer and the fd of
/// the directory it reads from.
fn pack_parts(jobs: &Mutex<mpsc::Receiver<PackJob>>, spool_dir: &Path, stop: &AtomicBool) {
    let mut buf: Box<[u8]> = Box::new([]);
    let mut opener = Opener::default();
    loop {
        let Ok(job) = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv() else { return };
        if buf.len() < job.buffer.min(BUFFER_BYTES as u64) as usize {
            buf = PartFile::new_buffer(job.buffer);
        }
        let (result, back) = pack_part(&job.entries, spool_dir, buf, &mut opener, stop);
        buf = back;
        let _ = job.reply.send(result);
    }
}

fn pack_part(
    entries: &[ScanEntry],
    spool_dir: &Path,
    buf: Box<[u8]>,
    opener: &mut Opener,
    stop: &AtomicBool,
) -> (io::Result<Packed>, Box<[u8]>) {
    let file = match anonymous_file(spool_dir) {
        Ok(f) => f,
        Err(e) => return (Err(e), buf),
    };
    let mut w = TarWriter::new(PartFile::new(file, buf));
    let (mut files, mut dirs, mut bytes) = (0, 0, 0);
    let mut fill = || -> io::Result<()> {
        for e in entries {
            if stop.load(Ordering::Relaxed) {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
            }
            if e.is_dir {
                w.append_dir(e)?;
                dirs += 1;
            } else if let Some(f) = opener.open(e)? {
                w.append_file_from(e, &f)?;
                files += 1;
                bytes += e.size;
            }
        }
        Ok(())
    };
    let filled = fill();
    let (file, buf) = match w.finish().and_then(PartFile::into_parts) {
        Ok(x) => x,
        Err(e) => return (Err(e), PartFile::new_buffer(BUFFER_BYTES as u64)),
    };
    let done = filled.and_then(|()| reopen_read_only(&file)).and_then(|file| {
        let (size, sha256) = integrity_of(&file)?;
        Ok(Packed { file, size, sha256, files, dirs, bytes })
    });
    (done, buf)
}

/// Opens the app's files by name relative to an fd of their directory, kept while the files
/// come from the same one (a part's files come directory by directory): one short lookup per
/// file instead of a walk of its whole path. Never follows a symlink that replaced a file
/// after the scan; `None` when the file vanished or is unreadable, as `open_app_file`.
#[derive(Default)]
pub(crate) struct Opener {
    dir: Option<(PathBuf, Option<OwnedFd>)>,
}

impl Opener {
    pub(crate) fn open(&mut self, e: &ScanEntry) -> io::Result<Option<File>> {
        let (Some(parent), Some(name)) = (e.fs_path.parent(), e.fs_path.file_name()) else { return open_app_file(e) };
        if self.dir.as_ref().is_none_or(|(p, _)| p != parent) {
            let fd = nix::fcntl::open(parent, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).ok();
            self.dir = Some((parent.to_path_buf(), fd));
        }
        let Some((_, Some(dir))) = &self.dir else { return open_app_file(e) };
        match nix::fcntl::openat(dir, name, OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty()) {
            Ok(fd) => Ok(Some(File::from(fd))),
            Err(Errno::ENOENT | Errno::EACCES | Errno::EPERM | Errno::ELOOP) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::manage::parse_manage;
    use crate::engine::scan::scan;
    use std::io::Read;

    /// A tree whose names sort differently by name and by path ("a.b/" before "a/"), with
    /// files small, kernel-copied (≥ 64 KiB) and big (sent as themselves), empty
    /// directories, a long name and a fractional mtime.
    fn tricky_tree(name: &str) -> PathBuf {
        let sb = std::env::temp_dir().join(format!("backup-order-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&sb);
        let files = sb.join("data/storage/el2/base/files");
        let mut n = 0u32;
        let mut put = |rel: &str, size: usize| {
            let p = files.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            n += 1;
            std::fs::write(&p, (0..size).map(|i| (i as u32 * 31 + n) as u8).collect::<Vec<u8>>()).unwrap();
        };
        for d in ["a", "a.b", "a-b", "a b", "ab", "z"] {
            for f in ["x", "x.y", "x-y", "y"] {
                put(&format!("{d}/{f}"), 100 + f.len() * 1000);
            }
        }
        put("a.", 10); // a file whose name is a prefix of a directory's
        put("a/sub/deeper/k", 700);
        put("mid/kernel.bin", 100 * 1024);
        put("mid/big.bin", BIG_FILE_THRESHOLD as usize + 1);
        put("mid/meg.bin", 1 << 20);
        put(&format!("long/{}/f", "n".repeat(120)), 5);
        std::fs::create_dir_all(files.join("empty/inner")).unwrap();
        let t = std::time::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 250_000_000);
        std::fs::File::options().write(true).open(files.join("z/y")).unwrap().set_modified(t).unwrap();
        sb
    }

    fn job(sb: &Path) -> BackupJob {
        BackupJob {
            sandbox: sb.to_path_buf(),
            includes: vec!["data/storage/el2/base/files/".into(), "data/storage/el2/base/files/a/".into()],
            excludes: vec![],
            spool_dir: sb.join("data/storage/el2/base/.backup/backup"),
            hash_cache: None,
        }
    }

    /// What packing one entry after another in scan order sends (the writer before packers
    /// ran in parallel): the uris and bytes of every output but manage.json.
    /// Outputs as the client gets them: uri and bytes.
    type Sent = Vec<(String, Vec<u8>)>;

    fn one_packer(job: &BackupJob, slices: Slices) -> Sent {
        let mut out = Vec::new();
        let mut names = BigNames::new(true);
        let mut part: Option<(TarWriter<Vec<u8>>, u64)> = None;
        for e in &scan(&job.sandbox, &job.includes, &job.excludes).unwrap() {
            if !e.is_dir && e.size > BIG_FILE_THRESHOLD {
                out.push((names.name(&e.sandbox_path), std::fs::read(&e.fs_path).unwrap()));
                continue;
            }
            let (w, content) = part.get_or_insert_with(|| (TarWriter::new(Vec::new()), 0));
            if e.is_dir {
                w.append_dir(e).unwrap();
            } else {
                w.append_file(e, &mut File::open(&e.fs_path).unwrap()).unwrap();
                *content += e.size;
            }
            if *content >= slices.bytes || w.entries() >= slices.files {
                out.push((
                    format!("part.{}.tar", out.iter().filter(|(u, _)| u.starts_with("part.")).count()),
                    part.take().unwrap().0.finish().unwrap(),
                ));
            }
        }
        if let Some((w, _)) = part {
            out.push((format!("part.{}.tar", out.iter().filter(|(u, _)| u.starts_with("part.")).count()), w.finish().unwrap()));
        }
        out
    }

    fn packed(job: &BackupJob, slices: Slices) -> (Sent, Vec<u8>, BackupSummary) {
        let mut sent = Vec::new();
        let summary = run_full_sliced(job, slices, &mut |mut o: Output| {
            let mut bytes = Vec::new();
            o.file.read_to_end(&mut bytes).unwrap();
            sent.push((o.uri, bytes));
            Flow::Continue
        })
        .unwrap();
        let (uri, manage) = sent.pop().unwrap();
        assert_eq!(uri, "manage.json", "manage.json comes last");
        (sent, manage, summary)
    }

    #[test]
    fn the_walk_streams_entries_in_sandbox_path_order_once_each() {
        let sb = tricky_tree("walk");
        let j = job(&sb);
        let entries = scan(&j.sandbox, &j.includes, &j.excludes).unwrap();
        let paths: Vec<&str> = entries.iter().map(|e| e.sandbox_path.as_str()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(paths, sorted, "sorted by sandbox path, the nested include's entries once");
        assert!(paths.iter().position(|p| p.ends_with("/a.b/")) < paths.iter().position(|p| p.ends_with("/a/")));
        std::fs::remove_dir_all(sb).unwrap();
    }

    #[test]
    fn parallel_packers_send_the_bytes_one_packer_sends() {
        let sb = tricky_tree("bytes");
        let j = job(&sb);
        // Small parts, so that several are packed at once and big files fall between them.
        for slices in [
            Slices { bytes: 64 * 1024, files: 7 },
            Slices { bytes: TAR_SLICE_BYTES, files: 3 },
            Slices { bytes: TAR_SLICE_BYTES, files: TAR_SLICE_FILES },
        ] {
            let want = one_packer(&j, slices);
            let (got, manage, summary) = packed(&j, slices);
            assert_eq!(got.iter().map(|(u, _)| u).collect::<Vec<_>>(), want.iter().map(|(u, _)| u).collect::<Vec<_>>(), "{slices:?}");
            for ((uri, g), (_, w)) in got.iter().zip(&want) {
                assert!(g == w, "{uri} differs ({} bytes against {}) with {slices:?}", g.len(), w.len());
            }
            let index = parse_manage(&manage).unwrap();
            let listed: Vec<(&str, u64)> = index.iter().map(|m| (m.file_name.as_str(), m.information.stat.st_size)).collect();
            let sent: Vec<(&str, u64)> = got.iter().map(|(u, b)| (u.as_str(), b.len() as u64)).collect();
            assert_eq!(listed, sent, "manage.json lists every output with its size, in send order");
            assert_eq!(summary.parts as usize, got.iter().filter(|(u, _)| u.starts_with("part.")).count());
            assert_eq!(summary.big_files, 1);
        }
        std::fs::remove_dir_all(sb).unwrap();
    }

    #[test]
    fn a_stop_from_the_sink_ends_the_backup_with_the_packers() {
        let sb = tricky_tree("stop");
        let mut calls = 0;
        let r = run_full_sliced(&job(&sb), Slices { bytes: TAR_SLICE_BYTES, files: 2 }, &mut |_| {
            calls += 1;
            if calls == 2 {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
        assert!(matches!(r, Err(EngineError::Stopped)), "{r:?}");
        assert_eq!(calls, 2, "nothing is sent after the stop");
        std::fs::remove_dir_all(sb).unwrap();
    }

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
