//! Reading tar parts from any producer, a device's own included (ohos-behaviour.md §3.2,
//! "What a device's tar really looks like, byte by byte").
//!
//! The `tar` crate does the parsing (checksums, numeric fields, GNU and pax records). It
//! does not read two things of a device's tar as the device means them, so [`DeviceTar`]
//! sits between the file and the crate and rewrites them, header by header:
//! - a header with magic `"ustar\0"` and version `"1\0"` is neither POSIX nor GNU, and the
//!   crate honours a `'L'` long-name record only in those. Such a header becomes a GNU
//!   header (`"ustar  \0"`): the name is then the 100-byte field alone, which is also how the
//!   device reads it (it never reads the ustar prefix);
//! - a directory entry's size is the directory's `st_size` (4096) with no data after it. The
//!   size becomes 0, as GNU tar, Python's tarfile and the device's untar read a directory.
//!
//! Everything else passes through byte for byte, and a header is only rewritten when its
//! checksum was right, so a corrupt archive stays corrupt for the crate to refuse. To keep
//! its place the reader follows the crate's rule for data lengths (the header's size, or the
//! pax `size` of the `'x'` record before it); long-name and pax records are capped, so no
//! input makes it buffer without bound.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

const BLOCK: usize = 512;
/// A long name longer than the longest path the scan or the device accepts is refused.
const MAX_LONG_NAME: u64 = super::PATH_MAX as u64 + 1;
/// A pax record set larger than this is refused (ours hold one short `mtime` record).
const MAX_PAX: u64 = 64 * 1024;

/// The tar entries of a part, a device's or anyone's, for the restore to check and stage.
pub fn archive<R: Read>(tar: R) -> tar::Archive<DeviceTar<BufReader<R>>> {
    tar::Archive::new(DeviceTar::new(BufReader::with_capacity(1 << 20, tar)))
}

/// The same over a file of `len` bytes that the crate may skip entry data in by seeking
/// (`entries_with_seek`), so content the restore copies in the kernel is never read here. A
/// skip past `len` is a truncated archive, refused as reading would have refused it.
pub fn seekable_archive<R: Read + Seek>(tar: R, len: u64) -> tar::Archive<DeviceTar<BufReader<R>>> {
    let mut t = DeviceTar::new(BufReader::with_capacity(1 << 20, tar));
    t.limit = Some(len);
    tar::Archive::new(t)
}

/// A `Read` that hands out a tar stream with a device's headers normalised (module docs).
pub struct DeviceTar<R> {
    inner: R,
    /// The current header block, handed out from `pos` to `len`.
    block: [u8; BLOCK],
    pos: usize,
    len: usize,
    /// Bytes of entry data (content and padding) to pass through before the next header.
    data_left: u64,
    /// The data of a pax `'x'` record being passed through (and its length without the
    /// padding), kept to learn its `size`.
    pax: Option<(Vec<u8>, usize)>,
    /// The pax `size` that overrides the next entry's header size, as in the crate.
    pax_size: Option<u64>,
    /// After a header this reader cannot follow (GNU sparse, an unknown type), everything
    /// passes through untouched: the crate reads on, and the restore refuses such entries.
    passthrough: bool,
    /// Bytes handed out or skipped so far: the position the crate is told after a seek.
    offset: u64,
    /// The length of the input, where known (a seek may not go beyond it).
    limit: Option<u64>,
}

impl<R: Read> DeviceTar<R> {
    pub fn new(inner: R) -> Self {
        DeviceTar {
            inner,
            block: [0; BLOCK],
            pos: 0,
            len: 0,
            data_left: 0,
            pax: None,
            pax_size: None,
            passthrough: false,
            offset: 0,
            limit: None,
        }
    }

    /// Reads the next header block (or what is left of the stream) and normalises it.
    fn next_header(&mut self) -> io::Result<()> {
        let mut got = 0;
        while got < BLOCK {
            match self.inner.read(&mut self.block[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pos = 0;
        self.len = got;
        if got == BLOCK && !self.passthrough {
            self.data_left = self.normalise()?;
        }
        Ok(())
    }

    /// Rewrites the header in `block` where a device's differs from what the crate reads,
    /// and returns how many bytes of data (padded to whole blocks) follow it.
    fn normalise(&mut self) -> io::Result<u64> {
        let b = &mut self.block;
        if b.iter().all(|&x| x == 0) || !checksum_ok(b) {
            // The end of the archive, or a header the crate refuses on its own.
            return Ok(0);
        }
        let mut rewrite = false;
        if &b[257..265] == b"ustar\x001\0" {
            b[257..265].copy_from_slice(b"ustar  \0");
            rewrite = true;
        }
        let typeflag = b[156];
        let recognised = &b[257..265] == b"ustar\x0000" || &b[257..265] == b"ustar  \0";
        let mut header = tar::Header::new_old();
        header.as_mut_bytes().copy_from_slice(&b[..]);
        if typeflag == b'5' && header.entry_size().map_or(true, |s| s != 0) {
            header.set_size(0);
            rewrite = true;
        }
        if rewrite {
            header.set_cksum();
            b.copy_from_slice(header.as_bytes());
        }
        let size = header.entry_size().map_err(|e| bad(format!("a tar header's size is unreadable: {e}")))?;
        let is_extension = recognised && matches!(typeflag, b'L' | b'K' | b'x' | b'g');
        let size = match typeflag {
            b'L' | b'K' if is_extension && size > MAX_LONG_NAME => {
                return Err(bad(format!("a long-name record of {size} bytes (at most {MAX_LONG_NAME})")));
            }
            b'x' | b'g' if is_extension && size > MAX_PAX => return Err(bad(format!("a pax record of {size} bytes (at most {MAX_PAX})"))),
            b'x' if is_extension => {
                // An empty record set overrides nothing.
                self.pax_size = None;
                self.pax = (size > 0).then(|| (Vec::with_capacity(size as usize), size as usize));
                size
            }
            _ if is_extension => size,
            _ => {
                if !matches!(typeflag, b'0' | b'\0' | b'5' | b'1' | b'2' | b'3' | b'4' | b'6' | b'7') {
                    self.passthrough = true;
                }
                // The crate applies a pax size to the next header that is not itself a
                // long-name or pax record.
                let override_size = if matches!(typeflag, b'L' | b'K' | b'x' | b'g') { None } else { self.pax_size.take() };
                override_size.unwrap_or(size)
            }
        };
        size.checked_add(BLOCK as u64 - 1)
            .map(|s| s / BLOCK as u64 * BLOCK as u64)
            .ok_or_else(|| bad("a tar entry's size overflows".into()))
    }

    /// Passes entry data through; at the end of a pax record's data, learns its `size`.
    fn pass_data(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(self.data_left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            // Truncated: the crate reports it.
            self.data_left = 0;
            return Ok(0);
        }
        self.data_left -= n as u64;
        if let Some((pax, len)) = self.pax.as_mut() {
            let keep = n.min(*len - pax.len());
            pax.extend_from_slice(&buf[..keep]);
            if self.data_left == 0 {
                self.pax_size = self.pax.take().and_then(|(pax, _)| pax_size(&pax));
            }
        }
        Ok(n)
    }
}

impl<R: Read> Read for DeviceTar<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_normalised(buf)?;
        self.offset += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for DeviceTar<BufReader<R>> {
    /// Only forward skips (all the crate makes): within an entry's data by seeking the
    /// file, anywhere else (a header block, a pax record being learned) by reading through.
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let n = match pos {
            SeekFrom::Current(n) if n >= 0 => n as u64,
            _ => return Err(io::Error::new(io::ErrorKind::Unsupported, "a tar part is only skipped forward")),
        };
        if self.limit.is_some_and(|l| self.offset.saturating_add(n) > l) {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated archive: unexpected EOF during skip"));
        }
        if self.pos == self.len && n <= self.data_left && self.pax.is_none() && !self.passthrough {
            self.inner.seek_relative(n as i64)?;
            self.data_left -= n;
            self.offset += n;
            return Ok(self.offset);
        }
        let mut left = n;
        let mut scratch = [0u8; 8192];
        while left > 0 {
            let got = self.read(&mut scratch[..left.min(8192) as usize])?;
            if got == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated archive: unexpected EOF during skip"));
            }
            left -= got as u64;
        }
        Ok(self.offset)
    }
}

impl<R: Read> DeviceTar<R> {
    fn read_normalised(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pos == self.len && self.data_left == 0 {
            if self.passthrough {
                return self.inner.read(buf);
            }
            self.next_header()?;
        }
        if self.pos < self.len {
            let n = buf.len().min(self.len - self.pos);
            buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        if self.data_left > 0 {
            return self.pass_data(buf);
        }
        Ok(0)
    }
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// The checksum as every reader computes it: unsigned bytes, the field itself as spaces.
/// Any octal spelling of the field is accepted (6 digits, NUL, space; or a device's 7
/// digits and a space).
fn checksum_ok(b: &[u8; BLOCK]) -> bool {
    let sum: u32 = b.iter().enumerate().map(|(i, &x)| if (148..156).contains(&i) { b' ' as u32 } else { x as u32 }).sum();
    let field = &b[148..156];
    let digits: Vec<u8> = field.iter().copied().skip_while(|c| *c == b' ').take_while(|c| (b'0'..=b'7').contains(c)).collect();
    std::str::from_utf8(&digits).ok().and_then(|s| u32::from_str_radix(s, 8).ok()) == Some(sum)
}

/// The `size` key of a pax record set, read as the crate reads it (an unreadable set or
/// value means no override).
fn pax_size(data: &[u8]) -> Option<u64> {
    for ext in tar::PaxExtensions::new(data) {
        let ext = ext.ok()?;
        if ext.key() == Ok("size") {
            return ext.value().ok()?.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header as a device writes it: version "1\0", 7-digit checksum and a space.
    fn device_header(name: &[u8], typeflag: u8, size: u64) -> [u8; BLOCK] {
        let mut h = [0u8; BLOCK];
        h[..name.len()].copy_from_slice(name);
        h[100..107].copy_from_slice(b"0000755");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[136..147].copy_from_slice(b"14524563600");
        h[156] = typeflag;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"1\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        h[148..155].copy_from_slice(format!("{sum:07o}").as_bytes());
        h
    }

    fn names(bytes: &[u8]) -> io::Result<Vec<(String, u64, Vec<u8>)>> {
        let mut ar = tar::Archive::new(DeviceTar::new(bytes));
        let mut out = Vec::new();
        for e in ar.entries()? {
            let mut e = e?;
            let mut data = Vec::new();
            e.read_to_end(&mut data)?;
            out.push((String::from_utf8_lossy(&e.path_bytes()).into_owned(), e.header().entry_size()?, data));
        }
        Ok(out)
    }

    #[test]
    fn reads_long_names_and_directory_sizes_as_a_device_writes_them() {
        let long = format!("/data/storage/el2/base/files/{}", "n".repeat(150));
        let mut t = Vec::new();
        t.extend(device_header(b"/data/storage/el2/base/files/empty/", b'5', 4096));
        t.extend(device_header(b"longLinkSymbol", b'L', long.len() as u64 + 1));
        let mut name = long.clone().into_bytes();
        name.resize(512, 0);
        t.extend(&name);
        t.extend(device_header(b"longLinkSymbol", b'0', 3));
        let mut data = b"abc".to_vec();
        data.resize(512, 0);
        t.extend(&data);
        t.extend([0u8; 1024]);
        let got = names(&t).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], ("/data/storage/el2/base/files/empty/".to_string(), 0, vec![]));
        assert_eq!(got[1], (long, 3, b"abc".to_vec()));
    }

    /// A device's tar: an empty directory, a long-named file, a short one.
    fn sample() -> Vec<u8> {
        let long = format!("/data/storage/el2/base/files/{}", "n".repeat(150));
        let mut t = Vec::new();
        t.extend(device_header(b"/data/storage/el2/base/files/empty/", b'5', 4096));
        t.extend(device_header(b"longLinkSymbol", b'L', long.len() as u64 + 1));
        let mut name = long.into_bytes();
        name.resize(512, 0);
        t.extend(&name);
        t.extend(device_header(b"longLinkSymbol", b'0', 600));
        t.extend([7u8; 1024]);
        t.extend(device_header(b"/data/storage/el2/base/files/s", b'0', 1));
        t.extend([1u8; 512]);
        t.extend([0u8; 1024]);
        t
    }

    proptest::proptest! {
        /// Whatever is flipped or cut, reading ends in entries or an error: never a panic, and
        /// never more data than the input holds.
        #[test]
        fn damaged_device_tars_never_panic(flips in proptest::collection::vec((0usize..8192, proptest::prelude::any::<u8>()), 0..6),
                                           cut in 0usize..8192) {
            let mut t = sample();
            let len = t.len();
            for (at, b) in flips {
                t[at % len] = b;
            }
            t.truncate(cut % (len + 1));
            if let Ok(entries) = names(&t) {
                let data: usize = entries.iter().map(|e| e.2.len()).sum();
                proptest::prop_assert!(data <= t.len());
            }
        }
    }

    /// Entries read over a seekable part, skipping their data: the same names and data
    /// positions as reading through, and a part cut in the data is refused, not ended early.
    #[test]
    fn a_seekable_part_skips_data_but_not_past_its_end() {
        let t = sample();
        let read = |bytes: &[u8]| -> io::Result<Vec<(String, u64)>> {
            let mut ar = seekable_archive(io::Cursor::new(bytes.to_vec()), bytes.len() as u64);
            let mut out = Vec::new();
            for e in ar.entries_with_seek()? {
                let e = e?;
                out.push((String::from_utf8_lossy(&e.path_bytes()).into_owned(), e.raw_file_position()));
            }
            Ok(out)
        };
        let got = read(&t).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1, 512 * 4, "the long-named file's data follows the directory, its name record and header");
        assert_eq!(&t[got[2].1 as usize..got[2].1 as usize + 1], [1u8]);
        // Cut inside the long-named file's data (600 bytes from 2048): skipping it is refused.
        let err = read(&t[..2048 + 300]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn a_corrupt_header_is_left_for_the_crate_to_refuse() {
        let mut h = device_header(b"/data/x/", b'5', 4096);
        h[0] = b'X'; // checksum now wrong
        let mut t = h.to_vec();
        t.extend([0u8; 1024]);
        let err = names(&t).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    #[test]
    fn oversized_long_names_and_pax_records_are_refused() {
        let mut t = device_header(b"longLinkSymbol", b'L', 1 << 30).to_vec();
        t.extend([0u8; 1024]);
        assert!(names(&t).unwrap_err().to_string().contains("long-name record"));
        let mut t = device_header(b"pax", b'x', 1 << 20).to_vec();
        t.extend([0u8; 1024]);
        assert!(names(&t).unwrap_err().to_string().contains("pax record"));
    }

    #[test]
    fn a_pax_size_keeps_the_reader_in_step_with_the_crate() {
        // 'x' with size=5 for an entry whose header says 0: the crate takes 5 bytes of data;
        // so must the reader, or it would treat those bytes as the next header.
        let rec = b"10 size=5\n";
        let mut t = device_header(b"pax", b'x', rec.len() as u64).to_vec();
        let mut d = rec.to_vec();
        d.resize(512, 0);
        t.extend(d);
        t.extend(device_header(b"/data/storage/el2/base/files/f", b'0', 0));
        let mut body = b"hello".to_vec();
        body.resize(512, 0);
        t.extend(body);
        t.extend(device_header(b"/data/storage/el2/base/files/g", b'0', 0));
        t.extend([0u8; 1024]);
        let got = names(&t).unwrap();
        assert_eq!(got.iter().map(|g| g.2.clone()).collect::<Vec<_>>(), [b"hello".to_vec(), vec![]]);
    }
}
