//! Writing tar parts in OpenHarmony's layout: ustar headers, absolute sandbox paths as entry
//! names, GNU 'L' records for names of 100 bytes or more (ohos-behaviour.md §3.2). A file
//! whose mtime has a fractional part also gets a pax 'x' record with the exact mtime, before
//! the 'L' record, so a round trip keeps nanoseconds; readers that ignore pax keys (the
//! reference reads only `path`) still get whole seconds from the ustar header. A directory
//! its owner cannot write into gets its entry after its contents (see `append_dir`).

use std::io::{self, Read, Write};

use super::ScanEntry;

const BLOCK: usize = 512;

/// Whether a directory of this mode gets its entry after its contents (`append_dir`): its
/// owner cannot write into it or search it.
pub(crate) fn entry_after_contents(mode: u32) -> bool {
    mode & 0o300 != 0o300
}

/// Whether `path` lies inside the directory `dir` (a sandbox path ending in '/').
pub(crate) fn inside(dir: &str, path: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir)
}

/// Directory entries one part leaves to the next (`take_dirs_holding`): paths with a trailing
/// '/', and their records.
pub struct OpenDirs(Vec<(String, Vec<u8>)>);

impl OpenDirs {
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(p, _)| p.as_str())
    }
}

pub struct TarWriter<W: Write> {
    out: W,
    /// Bytes written so far (headers, content, padding).
    written: u64,
    entries: usize,
    /// Directory entries not written yet (path with a trailing '/', its records), outermost
    /// first, and their size.
    pending_dirs: Vec<(String, Vec<u8>)>,
    pending_bytes: u64,
}

fn octal(field: &mut [u8], value: u64) {
    // width-1 digits then NUL, as the reference writes them.
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    let s = &s.as_bytes()[s.len().saturating_sub(digits)..];
    field[..digits].copy_from_slice(s);
    field[digits] = 0;
}

/// The ustar name field: a name of this length or longer travels in an `'L'` record.
const NAME_FIELD: usize = 100;

/// One ustar header block. The name field holds the first 100 bytes of a long name (its
/// `'L'` record carries the whole); a negative mtime is written as 0, which a device's untar
/// never applies (the exact time is in the pax record).
fn header(name: &[u8], mode: u32, size: u64, mtime: i64, typeflag: u8) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let n = name.len().min(NAME_FIELD);
    h[..n].copy_from_slice(&name[..n]);
    octal(&mut h[100..108], (mode & 0o7777) as u64);
    octal(&mut h[108..116], 0); // uid/gid are not restored; 0 keeps archives reproducible
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime.max(0) as u64);
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // Checksum: computed with the field as spaces, written as 6 digits, NUL, space.
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

/// The data of a GNU `'L'` record: the name and a NUL, as a device writes it.
fn long_name_data(name: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(name.len() + 1);
    data.extend_from_slice(name);
    data.push(0);
    data
}

/// A pax `mtime` record when the ustar field cannot hold the time exactly (a fractional
/// part, or before 1970): `"<len> mtime=<sec>[.<frac>]\n"`, where `<len>` counts itself.
/// Readers that ignore pax keys other than `path` (a device) get whole seconds from the
/// ustar field.
fn pax_mtime_record((sec, nsec): (i64, i64)) -> Option<Vec<u8>> {
    if nsec == 0 && sec >= 0 {
        return None;
    }
    let value = if nsec == 0 {
        sec.to_string()
    } else if sec >= 0 {
        format!("{sec}.{nsec:09}").trim_end_matches('0').to_string()
    } else {
        // -1.25 s is sec -2, nsec 750000000: pax spells the time itself, sign first.
        let total = sec as i128 * 1_000_000_000 + nsec as i128;
        let (s, f) = (-total / 1_000_000_000, -total % 1_000_000_000);
        format!("-{s}.{f:09}").trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let body = format!(" mtime={value}\n");
    let mut len = body.len() + 1;
    while len.to_string().len() + body.len() != len {
        len += 1;
    }
    Some(format!("{len}{body}").into_bytes())
}

/// A record with a data payload (GNU long name, pax extension), padded to whole blocks.
fn special_record(name: &[u8], typeflag: u8, data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&header(name, 0o644, data.len() as u64, 0, typeflag));
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
}

/// An entry's records, in the order a device's untar needs: the pax record first, then the
/// `'L'` long name, then the entry's header. The device takes a pending long name at the very
/// next header, a pax one included, so nothing may stand between the `'L'` record and its
/// entry (ohos-behaviour.md §3.2, "How a device's untar reads a tar").
fn entry_records(e: &ScanEntry, size: u64, typeflag: u8) -> Vec<u8> {
    let name = e.sandbox_path.as_bytes();
    let mut out = Vec::with_capacity(BLOCK);
    if let Some(pax) = pax_mtime_record(e.mtime) {
        special_record(b"././@PaxHeader", b'x', &pax, &mut out);
    }
    if name.len() >= NAME_FIELD {
        special_record(b"././@LongLink", b'L', &long_name_data(name), &mut out);
    }
    out.extend_from_slice(&header(name, e.mode, size, e.mtime.0, typeflag));
    out
}

impl<W: Write> TarWriter<W> {
    pub fn new(out: W) -> Self {
        TarWriter { out, written: 0, entries: 0, pending_dirs: Vec::new(), pending_bytes: 0 }
    }

    /// The size of the archive so far, pending directory entries included (so `written()`
    /// plus the 1024-byte end marker is the size `finish` leaves).
    pub fn written(&self) -> u64 {
        self.written + self.pending_bytes
    }

    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Takes out the directory entries not written yet whose directory holds `next`, an entry
    /// of the next part: that part writes them (`adopt_dirs`) after the rest of their
    /// contents, instead of this part before them (see `append_dir`).
    pub fn take_dirs_holding(&mut self, next: &str) -> OpenDirs {
        // Pending directories nest, outermost first: those holding `next` come first.
        let n = self.pending_dirs.iter().take_while(|(dir, _)| inside(dir, next)).count();
        let dirs: Vec<(String, Vec<u8>)> = self.pending_dirs.drain(..n).collect();
        self.pending_bytes -= dirs.iter().map(|(_, r)| r.len() as u64).sum::<u64>();
        self.entries -= dirs.len();
        OpenDirs(dirs)
    }

    /// Takes the directory entries another part left open, before anything is appended.
    pub fn adopt_dirs(&mut self, dirs: OpenDirs) {
        debug_assert!(self.pending_dirs.is_empty() && self.entries == 0, "adopted into a fresh part");
        self.pending_bytes += dirs.0.iter().map(|(_, r)| r.len() as u64).sum::<u64>();
        self.entries += dirs.0.len();
        self.pending_dirs = dirs.0;
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rem = (len % BLOCK as u64) as usize;
        if rem != 0 {
            self.put(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    /// Writes an entry's records (see [`entry_records`]) once the directories it is not
    /// inside are done.
    fn entry_header(&mut self, e: &ScanEntry, size: u64, typeflag: u8) -> io::Result<()> {
        self.write_finished_dirs(&e.sandbox_path)?;
        self.put(&entry_records(e, size, typeflag))?;
        self.entries += 1;
        Ok(())
    }

    /// Appends a directory, before its contents as GNU tar does, unless its owner lacks write
    /// or search permission: then after them (when an entry outside it comes, or at the end of
    /// the part). A device's untar `mkdir`s a directory entry with its mode at once, so such a
    /// directory coming first would keep it from restoring anything inside; coming last, it
    /// already exists on the device (made for its contents) and only readers that apply
    /// directory modes (GNU tar, this project) set it. Other directories come first so that a
    /// device, which makes every missing parent with the mode of the entry it is creating,
    /// finds the parents of a read-only one already made.
    pub fn append_dir(&mut self, e: &ScanEntry) -> io::Result<()> {
        if !entry_after_contents(e.mode) {
            return self.entry_header(e, 0, b'5');
        }
        self.write_finished_dirs(&e.sandbox_path)?;
        let records = entry_records(e, 0, b'5');
        self.pending_bytes += records.len() as u64;
        let mut dir = e.sandbox_path.clone();
        if !dir.ends_with('/') {
            dir.push('/');
        }
        self.pending_dirs.push((dir, records));
        self.entries += 1;
        Ok(())
    }

    /// Writes the pending directory entries that `path` is not inside, deepest first.
    fn write_finished_dirs(&mut self, path: &str) -> io::Result<()> {
        while let Some((dir, _)) = self.pending_dirs.last() {
            if inside(dir, path) {
                break;
            }
            let (_, records) = self.pending_dirs.pop().expect("a pending directory");
            self.pending_bytes -= records.len() as u64;
            self.put(&records)?;
        }
        Ok(())
    }

    /// Appends a regular file of `e.size` bytes read from `content`. A file that shrank since
    /// the scan is padded with zeros and one that grew is cut, so the archive stays valid.
    pub fn append_file(&mut self, e: &ScanEntry, content: &mut dyn Read) -> io::Result<()> {
        self.entry_header(e, e.size, b'0')?;
        let mut left = e.size;
        let mut buf = [0u8; 64 * 1024];
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = content.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            self.put(&buf[..n])?;
            left -= n as u64;
        }
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            buf[..n].fill(0);
            self.put(&buf[..n])?;
            left -= n as u64;
        }
        self.pad(e.size)
    }

    /// Writes the pending directory entries and the end-of-archive marker (two zero
    /// blocks), and returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.write_finished_dirs("")?;
        self.put(&[0u8; 2 * BLOCK])?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A part's sink that can take a file's content straight from the file (see `part_file`), so
/// the bytes need not pass through a buffer of the writer's.
pub trait ContentSink: Write {
    /// Appends up to `len` bytes of `src`, read from its current offset; returns how many
    /// (fewer only at its end).
    fn copy_from(&mut self, src: &std::fs::File, len: u64) -> io::Result<u64>;
}

// The content-copy path, apart from the header encoding above: the same entry as
// `append_file` writes, its content moved by the sink.
impl<W: ContentSink> TarWriter<W> {
    /// Appends a regular file of `e.size` bytes taken from `src`; like `append_file`, a file
    /// that shrank since the scan is padded with zeros and one that grew is cut.
    pub fn append_file_from(&mut self, e: &ScanEntry, src: &std::fs::File) -> io::Result<()> {
        self.entry_header(e, e.size, b'0')?;
        let copied = self.out.copy_from(src, e.size)?;
        self.written += copied;
        let mut left = e.size - copied;
        while left > 0 {
            let n = left.min(BLOCK as u64) as usize;
            self.put(&[0u8; BLOCK][..n])?;
            left -= n as u64;
        }
        self.pad(e.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn entry(path: &str, size: u64, dir: bool, nsec: i64) -> ScanEntry {
        ScanEntry {
            sandbox_path: path.into(),
            fs_path: PathBuf::new(),
            is_dir: dir,
            size,
            mode: if dir { 0o40755 } else { 0o100640 },
            mtime: (1_700_000_000, nsec),
            atime: (0, 0),
        }
    }

    #[test]
    fn the_tar_crate_reads_long_names_pax_mtimes_and_modes_back() {
        let long = format!("/data/storage/el2/base/files/{}/f.txt", "d".repeat(120));
        let mut w = TarWriter::new(Vec::new());
        w.append_dir(&entry("/data/storage/el2/base/files/", 0, true, 0)).unwrap();
        w.append_file(&entry(&long, 5, false, 123_456_789), &mut &b"hello"[..]).unwrap();
        w.append_file(&entry("/data/storage/el2/base/files/short", 3, false, 0), &mut &b"ab"[..]).unwrap();
        let bytes = w.finish().unwrap();
        assert_eq!(bytes.len() % 512, 0);
        let mut ar = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            let mode = e.header().mode().unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            let pax_mtime = e
                .pax_extensions()
                .unwrap()
                .and_then(|mut x| x.find(|k| k.as_ref().unwrap().key() == Ok("mtime")))
                .map(|k| k.unwrap().value().unwrap().to_string());
            seen.push((path, mode, data, pax_mtime));
        }
        let names: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, ["/data/storage/el2/base/files/", long.as_str(), "/data/storage/el2/base/files/short"]);
        assert_eq!(seen[0].1, 0o755);
        assert_eq!(seen[1].1, 0o640);
        assert_eq!(seen[1].2, b"hello");
        assert_eq!(seen[1].3.as_deref(), Some("1700000000.123456789"));
        assert_eq!(seen[2].2, b"ab\0", "a file that shrank is padded to its recorded size");
        assert_eq!(seen[2].3, None);
        // The long name's records: pax first, 'L' right before its entry.
        assert_eq!([bytes[512 + 156], bytes[1536 + 156], bytes[2560 + 156]], [b'x', b'L', b'0']);
    }

    #[test]
    fn a_directory_its_owner_cannot_write_follows_its_contents() {
        let dir = |path: &str, mode: u32| ScanEntry { mode: 0o40000 | mode, ..entry(path, 0, true, 0) };
        let f = "/data/storage/el2/base/files";
        let mut w = TarWriter::new(Vec::new());
        w.append_dir(&dir(&format!("{f}/a/"), 0o555)).unwrap();
        w.append_dir(&dir(&format!("{f}/a/open/"), 0o755)).unwrap();
        w.append_file(&entry(&format!("{f}/a/open/x"), 1, false, 0), &mut &b"x"[..]).unwrap();
        w.append_dir(&dir(&format!("{f}/ab/"), 0o500)).unwrap();
        w.append_file(&entry(&format!("{f}/ab/y"), 1, false, 0), &mut &b"y"[..]).unwrap();
        let size = w.written() + 1024;
        let bytes = w.finish().unwrap();
        assert_eq!(bytes.len() as u64, size, "written() counts the entries still pending");
        let names: Vec<String> = tar::Archive::new(&bytes[..])
            .entries()
            .unwrap()
            .map(|e| String::from_utf8(e.unwrap().path_bytes().into_owned()).unwrap())
            .collect();
        // "ab/" is not inside "a/": a/ is done when ab/ comes.
        let want = ["a/open/", "a/open/x", "a/", "ab/y", "ab/"].map(|n| format!("{f}/{n}"));
        assert_eq!(names, want);
    }

    #[test]
    fn pax_mtime_records_spell_the_exact_time_and_count_themselves() {
        let rec = |t| pax_mtime_record(t).map(|r| String::from_utf8(r).unwrap());
        assert_eq!(rec((1_700_000_000, 0)), None, "whole seconds fit the ustar field");
        assert_eq!(rec((1_700_000_000, 123_456_789)).as_deref(), Some("30 mtime=1700000000.123456789\n"));
        assert_eq!(rec((1_700_000_000, 500_000_000)).as_deref(), Some("22 mtime=1700000000.5\n"));
        assert_eq!(rec((-2, 750_000_000)).as_deref(), Some("15 mtime=-1.25\n"));
        assert_eq!(rec((-5, 0)).as_deref(), Some("12 mtime=-5\n"));
        assert_eq!(rec((9, 1)).as_deref(), Some("21 mtime=9.000000001\n"));
    }
}
