//! The threads that write a restore's staged files. The planner reads the tar part's
//! headers, checks each entry and makes its directories; the content of each file is copied
//! here, from its offset in the part to the new staged file, in the kernel
//! (`copy_file_range`), with its mode and mtime set on the open fd. Several writers run at
//! once, so creating twenty thousand small files uses the second core too.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fchmod, futimens, Mode};
use nix::sys::time::TimeSpec;

use super::kernel_copy::{kernel_copy, Copied};

/// One staged file to write: `name` in `dir`, `size` bytes from `at` in the part.
pub struct FileJob {
    pub dir: Arc<OwnedFd>,
    pub name: String,
    pub at: u64,
    pub size: u64,
    pub mode: u32,
    pub mtime: TimeSpec,
    /// The entry's place in the plan, to report a failure by.
    pub item: usize,
}

/// Why a file could not be staged.
pub enum Failure {
    /// It could not be created (it exists: a conflict the planner explains).
    Create(io::Error),
    /// The part ends before its content does.
    Short {
        copied: u64,
        size: u64,
    },
    Io(io::Error),
}

pub struct Failed {
    pub item: usize,
    pub what: Failure,
}

/// Files per message to a writer: one channel send per file would cost more than its write.
const BATCH: usize = 64;

pub struct Writers<'s> {
    senders: Vec<SyncSender<Vec<FileJob>>>,
    handles: Vec<ScopedJoinHandle<'s, Option<Failed>>>,
    batch: Vec<FileJob>,
    next: usize,
    failed: Arc<AtomicBool>,
}

impl<'s> Writers<'s> {
    /// `n` writers copying out of `part`; `umask` is the mode bits a create leaves out.
    pub fn start<'e>(scope: &'s Scope<'s, 'e>, part: &'s File, umask: u32, n: usize) -> Self {
        let failed = Arc::new(AtomicBool::new(false));
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..n.max(1) {
            // A few batches in flight each: the planner waits rather than queueing a million.
            let (tx, rx) = sync_channel::<Vec<FileJob>>(4);
            let failed = failed.clone();
            senders.push(tx);
            handles.push(scope.spawn(move || {
                for batch in rx {
                    for job in batch {
                        if let Err(what) = write_one(part, &job, umask) {
                            failed.store(true, Ordering::Relaxed);
                            // Its later jobs are dropped unwritten; staging is removed anyway.
                            return Some(Failed { item: job.item, what });
                        }
                    }
                }
                None
            }));
        }
        Writers { senders, handles, batch: Vec::with_capacity(BATCH), next: 0, failed }
    }

    /// Queues one file. False once a writer failed: there is no point planning on.
    pub fn push(&mut self, job: FileJob) -> bool {
        self.batch.push(job);
        if self.batch.len() == BATCH {
            self.flush();
        }
        !self.failed.load(Ordering::Relaxed)
    }

    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        let tx = &self.senders[self.next % self.senders.len()];
        self.next += 1;
        // A writer that stopped (it failed) drops what it is sent.
        let _ = tx.send(batch);
    }

    /// Waits for every queued file; the failure of the earliest entry, if any failed.
    pub fn finish(mut self) -> Option<Failed> {
        self.flush();
        self.senders.clear();
        let mut first: Option<Failed> = None;
        for h in self.handles {
            let got =
                h.join().unwrap_or_else(|_| Some(Failed { item: 0, what: Failure::Io(io::Error::other("a staging writer panicked")) }));
            if let Some(f) = got {
                if first.as_ref().is_none_or(|g| f.item < g.item) {
                    first = Some(f);
                }
            }
        }
        first
    }
}

fn write_one(part: &File, job: &FileJob, umask: u32) -> Result<(), Failure> {
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let out = openat(job.dir.as_fd(), job.name.as_str(), flags, Mode::from_bits_truncate(job.mode))
        .map_err(|e| Failure::Create(io::Error::from(e)))?;
    let out = File::from(out);
    let copied = copy_range(part, job.at, &out, job.size).map_err(Failure::Io)?;
    if copied != job.size {
        return Err(Failure::Short { copied, size: job.size });
    }
    finish_staged_file(&out, job.mode, umask, &job.mtime).map_err(Failure::Io)
}

/// Gives a staged file, created with `mode`, the mode bits the umask took (an `fchmod`
/// only then) and its mtime, on its open fd.
pub fn finish_staged_file(out: &File, mode: u32, umask: u32, mtime: &TimeSpec) -> io::Result<()> {
    if mode & umask != 0 {
        fchmod(out, Mode::from_bits_truncate(mode))?;
    }
    futimens(out, mtime, mtime)?;
    Ok(())
}

/// Copies `size` bytes at `at` in `src` to the end of `out`; fewer when `src` ends first.
/// In the kernel where the file systems allow it, through a buffer where not.
pub fn copy_range(src: &File, at: u64, out: &File, size: u64) -> io::Result<u64> {
    match kernel_copy(src, Some(at), out, size)? {
        Copied::Done(n) => Ok(n),
        Copied::Refused { copied, .. } => Ok(copied + copy_by_buffer(src, at + copied, out, size - copied)?),
    }
}

fn copy_by_buffer(src: &File, at: u64, mut out: &File, size: u64) -> io::Result<u64> {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; size.min(1 << 20) as usize];
    let mut done = 0u64;
    while done < size {
        let want = (size - done).min(buf.len() as u64) as usize;
        let n = src.read_at(&mut buf[..want], at + done)?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])?;
        done += n as u64;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_a_range_and_stops_where_the_source_ends() {
        let d = std::env::temp_dir().join(format!("stage-writers-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let src = d.join("src");
        std::fs::write(&src, b"0123456789").unwrap();
        let src = File::open(&src).unwrap();
        let out = File::create(d.join("out")).unwrap();
        assert_eq!(copy_range(&src, 2, &out, 5).unwrap(), 5);
        assert_eq!(copy_range(&src, 8, &out, 5).unwrap(), 2);
        assert_eq!(std::fs::read(d.join("out")).unwrap(), b"2345689");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
