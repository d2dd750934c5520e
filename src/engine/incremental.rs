//! An incremental backup of one bundle against the baseline listing of the previous one
//! (ohos-behaviour.md §3.2, §3.4): only files newer than `lastIncrementalTime` whose content
//! is new or changed travel, each output with its `.rp` report, and `manage.json` last with
//! the full listing (`all.rp`) that the next run uses as its baseline.
//!
//! A file whose size and mtime match the baseline keeps the baseline's hash and is never
//! read. A small file that must be hashed is read once into memory (≤ 2 MiB), hashed, and
//! appended from that buffer.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};

use sha2::{Digest, Sha256};

use super::anon::{anonymous_file, reopen_read_only};
use super::backup::{big_file_entry, open_app_file, BackupJob, BackupSummary, BigNames, Opener};
use super::manage::{write_manage, Information, ManageEntry, Stat, TimeSpec};
use super::report::{parse_report, write_report, ReportEntry};
use super::scan::Scan;
use super::tar_write::{OpenDirs, TarWriter};
use super::{EngineError, Flow, Output, ScanEntry, BIG_FILE_THRESHOLD, TAR_SLICE_BYTES, TAR_SLICE_FILES};

#[derive(Debug, Clone)]
pub struct IncrementalJob {
    pub backup: BackupJob,
    /// Seconds; 0 means everything is a candidate.
    pub last_incremental_time: i64,
    /// The baseline listing (`all.rp` of the previous backup); `None` or empty: no baseline.
    pub baseline: Option<Vec<u8>>,
}

fn hex_upper(d: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(d.len() * 2);
    for b in d {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

fn report_entry(e: &ScanEntry, hash: String) -> ReportEntry {
    ReportEntry { path: e.sandbox_path.clone(), mode: e.mode, is_dir: e.is_dir, size: e.size, mtime: e.mtime.0, hash, flag: !e.is_dir }
}

/// A readable, anonymous copy of a report.
fn report_file(spool: &std::path::Path, entries: &[ReportEntry]) -> io::Result<File> {
    let mut f = anonymous_file(spool)?;
    {
        let mut w = BufWriter::new(&mut f);
        write_report(entries, &mut w)?;
        w.flush()?;
    }
    reopen_read_only(&f)
}

struct Part {
    writer: TarWriter<BufWriter<File>>,
    content: u64,
    report: Vec<ReportEntry>,
}

impl Part {
    /// A new part, holding the directories the last one left open (with their report lines).
    fn new(spool: &std::path::Path, open: Option<(OpenDirs, Vec<ReportEntry>)>) -> io::Result<Part> {
        let f = anonymous_file(spool)?;
        let mut p = Part { writer: TarWriter::new(BufWriter::with_capacity(1 << 20, f)), content: 0, report: Vec::new() };
        if let Some((dirs, lines)) = open {
            p.writer.adopt_dirs(dirs);
            p.report = lines;
        }
        Ok(p)
    }

    fn is_full(&self) -> bool {
        self.content >= TAR_SLICE_BYTES || self.writer.entries() >= TAR_SLICE_FILES
    }

    /// The directories whose entry this part has not written and that hold `next`: they go
    /// to the next part with their report lines (a device would `mkdir` a read-only one
    /// before the next part's files inside it, and then refuse them).
    fn take_dirs_holding(&mut self, next: &str) -> (OpenDirs, Vec<ReportEntry>) {
        let dirs = self.writer.take_dirs_holding(next);
        let paths: Vec<&str> = dirs.paths().collect();
        let (lines, kept) = std::mem::take(&mut self.report).into_iter().partition(|l| l.is_dir && paths.contains(&l.path.as_str()));
        self.report = kept;
        (dirs, lines)
    }
}

pub fn run_incremental(job: &IncrementalJob, sink: &mut dyn FnMut(Output) -> Flow) -> Result<BackupSummary, EngineError> {
    let b = &job.backup;
    // The walk starts at once, on its own thread, while the baseline is parsed here.
    let walk = Scan::new(&b.sandbox, &b.includes, &b.excludes).and_then(Scan::ahead).map_err(|e| EngineError::Tar(e.to_string()))?;
    let baseline: HashMap<String, ReportEntry> = match job.baseline.as_deref() {
        Some(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => parse_report(bytes)
            .map_err(|e| EngineError::Invalid(format!("the baseline manifest (manifestFd) is not a valid report: {e}")))?
            .into_iter()
            .map(|mut e| (std::mem::take(&mut e.path), e))
            .collect(),
        _ => HashMap::new(),
    };
    let tar_err = |e: io::Error| EngineError::Tar(e.to_string());
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
    let mut summary = BackupSummary::default();
    let mut all: Vec<ReportEntry> = Vec::with_capacity(baseline.len());
    let mut manage: Vec<ManageEntry> = Vec::new();
    let mut names = BigNames::new(false);
    let mut part: Option<Part> = None;
    let mut emit = |out: Output| match sink(out) {
        Flow::Continue => Ok(()),
        Flow::Stop => Err(EngineError::Stopped),
    };
    let mut buf = Vec::new();
    let mut opener = Opener::default();

    for e in walk {
        let e = &e;
        let candidate = job.last_incremental_time == 0 || e.mtime.0 > job.last_incremental_time;
        let known = baseline.get(&e.sandbox_path);
        if e.is_dir {
            all.push(report_entry(e, String::new()));
            if !(candidate && known.is_none()) {
                continue;
            }
        } else if let Some(k) = known.filter(|k| !k.is_dir && k.size == e.size && k.mtime == e.mtime.0 && !k.hash.is_empty()) {
            // Same size and mtime as the baseline: trusted unchanged, never read.
            all.push(report_entry(e, k.hash.clone()));
            continue;
        }

        if e.is_dir {
            // A new directory travels in a tar (below).
        } else if e.size > BIG_FILE_THRESHOLD {
            let Some(mut f) = open_app_file(e).map_err(tar_err)? else { continue };
            let mut h = Sha256::new();
            io::copy(&mut (&mut f).take(e.size), &mut h).map_err(tar_err)?;
            let hash = hex_upper(&h.finalize());
            let line = report_entry(e, hash.clone());
            all.push(line.clone());
            if !candidate || known.is_some_and(|k| k.hash == hash) {
                continue;
            }
            f.rewind().map_err(tar_err)?;
            let uri = names.name(&e.sandbox_path);
            let report = report_file(&b.spool_dir, std::slice::from_ref(&line)).map_err(tar_err)?;
            manage.push(big_file_entry(&uri, e, &mut summary));
            emit(Output { uri, file: f, report: Some(report) })?;
            continue;
        } else {
            let Some(f) = opener.open(e).map_err(tar_err)? else { continue };
            buf.clear();
            f.take(e.size).read_to_end(&mut buf).map_err(tar_err)?;
            buf.resize(e.size as usize, 0); // a file that shrank since the scan, as in the tar
            let hash = hex_upper(&Sha256::digest(&buf));
            all.push(report_entry(e, hash.clone()));
            if !candidate || known.is_some_and(|k| k.hash == hash) {
                continue;
            }
        }

        // A full part is closed when the next entry for a part comes, so that the directories
        // it holds that are still open move on with it.
        let mut open = None;
        if part.as_ref().is_some_and(Part::is_full) {
            let mut done = part.take().expect("part exists");
            open = Some(done.take_dirs_holding(&e.sandbox_path));
            emit_part(done, millis, &mut summary, &mut manage, &b.spool_dir, &mut emit)?;
        }
        let p = match part {
            Some(ref mut p) => p,
            None => part.insert(Part::new(&b.spool_dir, open).map_err(tar_err)?),
        };
        if e.is_dir {
            p.writer.append_dir(e).map_err(tar_err)?;
            summary.dirs += 1;
        } else {
            p.writer.append_file(e, &mut &buf[..]).map_err(tar_err)?;
            p.content += e.size;
            summary.files += 1;
            summary.bytes += e.size;
        }
        p.report.push(all.last().expect("pushed above").clone());
    }
    if let Some(done) = part.take() {
        emit_part(done, millis, &mut summary, &mut manage, &b.spool_dir, &mut emit)?;
    }

    let mut f = anonymous_file(&b.spool_dir).map_err(tar_err)?;
    write_manage(&manage, &mut BufWriter::new(&mut f)).map_err(tar_err)?;
    let file = reopen_read_only(&f).map_err(tar_err)?;
    let report = report_file(&b.spool_dir, &all).map_err(tar_err)?;
    emit(Output { uri: "manage.json".into(), file, report: Some(report) })?;
    Ok(summary)
}

fn emit_part(
    p: Part,
    millis: u128,
    summary: &mut BackupSummary,
    manage: &mut Vec<ManageEntry>,
    spool: &std::path::Path,
    emit: &mut dyn FnMut(Output) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let tar_err = |e: io::Error| EngineError::Tar(e.to_string());
    let uri = format!("{millis}_part.{}.tar", summary.parts);
    let size = p.writer.written() + 1024;
    let f = p.writer.finish().map_err(tar_err)?.into_inner().map_err(|e| tar_err(e.into_error()))?;
    let file = reopen_read_only(&f).map_err(tar_err)?;
    let report = report_file(spool, &p.report).map_err(tar_err)?;
    summary.parts += 1;
    let now = TimeSpec { tv_sec: (millis / 1000) as i64, tv_nsec: ((millis % 1000) * 1_000_000) as i64 };
    manage.push(ManageEntry {
        file_name: uri.clone(),
        information: Information {
            path: String::new(),
            stat: Stat { st_size: size, st_mode: 0o100600, st_atim: now.clone(), st_mtim: now },
        },
        is_user_tar: false,
        is_big_file: false,
        size: None,
        sha256: None,
    });
    emit(Output { uri, file, report: Some(report) })
}
