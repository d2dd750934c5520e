//! A tar part's spool file as the packer writes it: headers and small files gathered in one
//! buffer that is reused from part to part (allocated and zeroed once per packer, never per
//! file), bigger files moved by the kernel from file to part (`copy_file_range`: no copy
//! through user space).

use super::kernel_copy::{kernel_copy, Copied};
use super::tar_write::ContentSink;
use std::fs::File;
use std::io::{self, Read, Write};

/// The largest buffer: a part is written in writes of this size.
pub const BUFFER_BYTES: usize = 1 << 20;
/// The smallest: a bundle of a few small files need not zero a megabyte.
const MIN_BUFFER_BYTES: usize = 16 * 1024;
/// Content at least this long goes through `copy_file_range`; shorter content is read into
/// the buffer, where one read costs less than the flush and the copy call it would take.
pub const KERNEL_COPY_MIN: u64 = 64 * 1024;

pub struct PartFile {
    file: File,
    buf: Box<[u8]>,
    filled: usize,
    /// Cleared the first time the kernel refuses to copy between these files (another file
    /// system, an old kernel): the rest goes through the buffer.
    kernel_copy: bool,
}

impl PartFile {
    /// A part written to `file` through `buf` (its length is the buffer size; a buffer
    /// returned by `into_parts` is reused as it is, its stale bytes overwritten before use).
    pub fn new(file: File, buf: Box<[u8]>) -> PartFile {
        PartFile { file, buf, filled: 0, kernel_copy: true }
    }

    /// A buffer for a part of about `bytes` (headers included), within the sizes above.
    pub fn new_buffer(bytes: u64) -> Box<[u8]> {
        vec![0u8; bytes.clamp(MIN_BUFFER_BYTES as u64, BUFFER_BYTES as u64) as usize].into_boxed_slice()
    }

    /// The file (everything written and flushed) and the buffer for the next part.
    pub fn into_parts(mut self) -> io::Result<(File, Box<[u8]>)> {
        self.flush()?;
        Ok((self.file, self.buf))
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.file.write_all(&self.buf[..self.filled])?;
        self.filled = 0;
        Ok(())
    }

    /// `copy_file_range` from `src`'s offset to the part's end; `None` when the kernel cannot
    /// copy between these two files at all.
    fn kernel_copy(&mut self, src: &File, len: u64) -> io::Result<Option<u64>> {
        self.flush_buf()?;
        match kernel_copy(src, None, &self.file, len)? {
            Copied::Done(n) => Ok(Some(n)),
            Copied::Refused { copied: 0, .. } => {
                self.kernel_copy = false;
                Ok(None)
            }
            Copied::Refused { why, .. } => Err(why.into()),
        }
    }

    /// Reads up to `len` bytes of `src` into the buffer, flushing it when full.
    fn buffered_copy(&mut self, mut src: &File, len: u64) -> io::Result<u64> {
        let mut copied = 0u64;
        while copied < len {
            if self.filled == self.buf.len() {
                self.flush_buf()?;
            }
            let want = ((len - copied) as usize).min(self.buf.len() - self.filled);
            let n = match src.read(&mut self.buf[self.filled..self.filled + want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.filled += n;
            copied += n as u64;
        }
        Ok(copied)
    }
}

impl Write for PartFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.filled == self.buf.len() {
            self.flush_buf()?;
        }
        let n = data.len().min(self.buf.len() - self.filled);
        self.buf[self.filled..self.filled + n].copy_from_slice(&data[..n]);
        self.filled += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.file.flush()
    }
}

impl ContentSink for PartFile {
    fn copy_from(&mut self, src: &File, len: u64) -> io::Result<u64> {
        if self.kernel_copy && len >= KERNEL_COPY_MIN {
            if let Some(n) = self.kernel_copy(src, len)? {
                return Ok(n);
            }
        }
        self.buffered_copy(src, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Seek;

    #[test]
    fn small_and_kernel_copied_content_land_in_order_and_a_short_file_stops_at_its_end() {
        let dir = std::env::temp_dir().join(format!("part-file-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big: Vec<u8> = (0..KERNEL_COPY_MIN as usize * 3 + 5).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.join("big"), &big).unwrap();
        std::fs::write(dir.join("small"), b"hello").unwrap();
        let mut p = PartFile::new(super::super::anon::anonymous_file(&dir).unwrap(), PartFile::new_buffer(u64::MAX));
        p.write_all(b"head").unwrap();
        assert_eq!(p.copy_from(&File::open(dir.join("small")).unwrap(), 100).unwrap(), 5, "stops at the end of the file");
        assert_eq!(p.copy_from(&File::open(dir.join("big")).unwrap(), big.len() as u64 - 5).unwrap(), big.len() as u64 - 5);
        p.write_all(b"tail").unwrap();
        let (mut f, buf) = p.into_parts().unwrap();
        assert_eq!(buf.len(), BUFFER_BYTES);
        f.rewind().unwrap();
        let mut got = Vec::new();
        f.read_to_end(&mut got).unwrap();
        let mut want = b"headhello".to_vec();
        want.extend_from_slice(&big[..big.len() - 5]);
        want.extend_from_slice(b"tail");
        assert!(got == want, "the part holds the writes and copies in order");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
