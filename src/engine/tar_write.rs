//! Writing tar parts in OpenHarmony's layout: ustar headers, absolute sandbox paths as entry
//! names, GNU 'L' records for names of 100 bytes or more (ohos-behaviour.md §3.2). A file
//! whose mtime has a fractional part also gets a pax 'x' record with the exact mtime, so a
//! round trip keeps nanoseconds; readers that ignore pax keys (the reference reads only
//! `path`) still get whole seconds from the ustar header.

use std::io::{self, Read, Write};

use super::ScanEntry;

const BLOCK: usize = 512;

pub struct TarWriter<W: Write> {
    out: W,
    /// Bytes written so far (headers, content, padding).
    written: u64,
    entries: usize,
}

fn octal(field: &mut [u8], value: u64) {
    // width-1 digits then NUL, as the reference writes them.
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    let s = &s.as_bytes()[s.len().saturating_sub(digits)..];
    field[..digits].copy_from_slice(s);
    field[digits] = 0;
}

fn header(name: &[u8], mode: u32, size: u64, mtime: i64, typeflag: u8) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let n = name.len().min(100);
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

impl<W: Write> TarWriter<W> {
    pub fn new(out: W) -> Self {
        TarWriter { out, written: 0, entries: 0 }
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn entries(&self) -> usize {
        self.entries
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

    /// A record with a data payload (GNU long name, pax extension).
    fn special(&mut self, name: &[u8], typeflag: u8, data: &[u8]) -> io::Result<()> {
        let h = header(name, 0o644, data.len() as u64, 0, typeflag);
        self.put(&h)?;
        self.put(data)?;
        self.pad(data.len() as u64)
    }

    fn entry_header(&mut self, e: &ScanEntry, size: u64, typeflag: u8) -> io::Result<()> {
        let name = e.sandbox_path.as_bytes();
        if name.len() >= 100 {
            let mut data = name.to_vec();
            data.push(0);
            self.special(b"././@LongLink", b'L', &data)?;
        }
        if e.mtime.1 != 0 {
            let value = format!("{}.{:09}", e.mtime.0, e.mtime.1);
            let value = value.trim_end_matches('0');
            // A pax record is "<len> mtime=<value>\n" where <len> counts itself.
            let body = format!(" mtime={value}\n");
            let mut len = body.len() + 1;
            while format!("{len}").len() + body.len() != len {
                len += 1;
            }
            self.special(b"././@PaxHeader", b'x', format!("{len}{body}").as_bytes())?;
        }
        let h = header(name, e.mode, size, e.mtime.0, typeflag);
        self.put(&h)?;
        self.entries += 1;
        Ok(())
    }

    pub fn append_dir(&mut self, e: &ScanEntry) -> io::Result<()> {
        self.entry_header(e, 0, b'5')
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

    /// Writes the end-of-archive marker (two zero blocks) and returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
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
        assert_eq!(seen[0].0, "/data/storage/el2/base/files/");
        assert_eq!(seen[1].0, long);
        assert_eq!(seen[1].1, 0o640);
        assert_eq!(seen[1].2, b"hello");
        assert_eq!(seen[1].3.as_deref(), Some("1700000000.123456789"));
        assert_eq!(seen[2].2, b"ab\0", "a file that shrank is padded to its recorded size");
        assert_eq!(seen[2].3, None);
    }
}
