//! A device's untar, as a model (ohos-behaviour.md §3.2 "How a device's untar reads a tar";
//! reference `untar_file.cpp` `ParseTarFile`): it decides whether a tar made here restores
//! on a phone. It keeps the device's quirks, which is the point:
//! - a pending `'L'` long name is taken by the very next header, a pax `'x'` one included;
//! - of a pax record set only `path` is used, and only the first block of it is read;
//! - a name is the header's bytes up to the first NUL, which may run past the 100-byte field;
//! - octal fields are read by skipping non-digits, then digits (no base-256);
//! - a leading `/` is stripped once; a directory's size is never skipped; an mtime of 0 is
//!   never applied; a bad header ends the archive, and is only logged;
//! - it runs as the app's user, not root: a directory entry is `mkdir`ed with its mode when
//!   missing (every missing component with that mode), so nothing can be created later inside
//!   one without owner write and search permission. Parents of a file are made as needed.

use std::collections::BTreeMap;

const BLOCK: usize = 512;
const MAX_PATH_LEN: u64 = 4096;

#[derive(Debug, Clone, PartialEq)]
pub struct RestoredFile {
    /// The header's mode, as `chmod` gets it.
    pub mode: u32,
    /// `None` where the device leaves the time alone (mtime 0).
    pub mtime: Option<i64>,
    pub data: Vec<u8>,
}

/// What a device makes of one tar: files and directories by the path it opens (relative to
/// its root, no leading '/'), and what it would log as an error.
#[derive(Debug, Default, PartialEq)]
pub struct DeviceRestore {
    pub files: BTreeMap<String, RestoredFile>,
    /// Directory entries and the mode `mkdir` gets (only applied when it was missing).
    pub dirs: BTreeMap<String, u32>,
    pub errors: Vec<String>,
}

/// `ParseOctalStr` on the C string that starts at `at`: skip non-octal characters, then take
/// octal digits, `len` characters in all.
fn parse_octal(b: &[u8], at: usize, len: usize) -> u64 {
    let s: Vec<u8> = b[at..].iter().copied().take_while(|&c| c != 0).take(len).collect();
    let digits = s.iter().skip_while(|c| !(b'0'..=b'7').contains(*c)).take_while(|c| (b'0'..=b'7').contains(*c));
    digits.fold(0u64, |n, &c| n.wrapping_mul(8).wrapping_add((c - b'0') as u64))
}

fn c_string(b: &[u8]) -> Vec<u8> {
    b.iter().copied().take_while(|&c| c != 0).collect()
}

fn valid(h: &[u8]) -> bool {
    let sum: u64 = h.iter().enumerate().map(|(i, &x)| if (148..156).contains(&i) { 32 } else { x as u64 }).sum();
    &h[257..262] == b"ustar" && sum == parse_octal(h, 148, 8)
}

/// `BDir::IsFilePathValid`: no `../` at the start or after a '/', no trailing `/..`.
fn path_ok(p: &[u8]) -> bool {
    let s = String::from_utf8_lossy(p);
    !(s.starts_with("../") || s.contains("/../") || s.ends_with("/..")) && s.len() <= MAX_PATH_LEN as usize
}

/// `ParsePaxBlock`: the `path` value of the first block (or of the whole set when one record
/// does not fit a block), kept only when it ends in '\n'.
fn pax_path(tar: &[u8], at: usize) -> (Option<Vec<u8>>, usize, bool) {
    let Some(block) = tar.get(at..at + BLOCK) else { return (None, at, false) };
    let mut pos = 0;
    let mut path = None;
    let mut ok = false;
    let mut content = block;
    let mut end = at + BLOCK;
    loop {
        if pos >= content.len() {
            break;
        }
        let Some(sp) = content[pos..].iter().position(|&c| c == b' ').map(|i| i + pos) else {
            ok = true;
            break;
        };
        let rec_len: usize = std::str::from_utf8(&content[pos..sp]).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        if rec_len + 78 > BLOCK && content.len() == BLOCK {
            // `GetLongName`: re-read enough blocks for the whole record set.
            let blocks = (rec_len + 78).div_ceil(BLOCK);
            let Some(all) = tar.get(at..at + blocks * BLOCK) else { return (None, at + BLOCK, false) };
            content = all;
            end = at + blocks * BLOCK;
            pos = 0;
            continue;
        }
        let kv_end = (pos + rec_len).min(content.len());
        if rec_len == 0 || sp + 1 > kv_end {
            break;
        }
        let kv = &content[sp + 1..kv_end];
        let Some(eq) = kv.iter().position(|&c| c == b'=') else { break };
        if &kv[..eq] == b"path" {
            path = Some(kv[eq + 1..].to_vec());
            ok = true;
        }
        pos += rec_len;
    }
    let path = path.filter(|p| p.last() == Some(&b'\n')).map(|mut p| {
        p.pop();
        p
    });
    (path, end, ok)
}

/// The modes of the directories the untar made, to refuse what an unprivileged process
/// cannot create.
#[derive(Default)]
struct Dirs(BTreeMap<String, u32>);

/// Mode of directories made for a file's parents (`ForceCreateDirectory`): writable.
const PARENT_MODE: u32 = 0o775;

impl Dirs {
    /// Creates what is missing of `path` (relative, no trailing '/'): the parents with
    /// `parent_mode`, the last component with `leaf_mode` (`None`: `path` is a file). Fails
    /// as `EACCES` would where a directory it made lacks owner write or search permission.
    fn make(&mut self, path: &str, parent_mode: u32, leaf_mode: Option<u32>) -> Result<(), String> {
        let parts: Vec<&str> = path.split('/').collect();
        for i in 0..parts.len() {
            let here = parts[..=i].join("/");
            let parent = parts[..i].join("/");
            let parent_mode_now = self.0.get(&parent).copied();
            let is_leaf = i + 1 == parts.len();
            let exists = self.0.contains_key(&here);
            if parent_mode_now.is_some_and(|m| m & 0o100 == 0) {
                return Err(format!("EACCES: {path}: {parent} (mode {:o}) cannot be searched", parent_mode_now.unwrap()));
            }
            if (!exists || (is_leaf && leaf_mode.is_none())) && parent_mode_now.is_some_and(|m| m & 0o200 == 0) {
                return Err(format!("EACCES: {path}: nothing can be created in {parent} (mode {:o})", parent_mode_now.unwrap()));
            }
            if is_leaf && leaf_mode.is_none() {
                return Ok(());
            }
            if !exists {
                self.0.insert(here, if is_leaf { leaf_mode.unwrap_or(parent_mode) } else { parent_mode });
            }
        }
        Ok(())
    }
}

/// Reads `tar` as a device's `UnPacket` with root "/" does.
pub fn untar(tar: &[u8]) -> DeviceRestore {
    untar_parts(&[tar])
}

/// Reads the parts of one backup one after the other into the same file system, as a
/// device restores a bundle: what one part made is there for the next.
pub fn untar_parts(tars: &[&[u8]]) -> DeviceRestore {
    let (mut made, mut out) = (Dirs::default(), DeviceRestore::default());
    for tar in tars {
        let mut r = Untar { tar, at: 0, long_name: Vec::new(), made, out };
        while let Some(h) = r.next_header() {
            if let Err(e) = r.entry(h) {
                r.out.errors.push(e);
                break;
            }
        }
        (made, out) = (r.made, r.out);
    }
    out
}

struct Untar<'a> {
    tar: &'a [u8],
    at: usize,
    /// A pending long name (`'L'` data or a pax `path`), taken by the next header.
    long_name: Vec<u8>,
    made: Dirs,
    out: DeviceRestore,
}

impl<'a> Untar<'a> {
    /// The next valid header, or `None` at the end (two "empty" blocks, the first byte of
    /// each NUL; the second is read either way) or at a bad header (logged unless empty).
    fn next_header(&mut self) -> Option<&'a [u8]> {
        let h = self.tar.get(self.at..self.at + BLOCK)?;
        self.at += BLOCK;
        if h[0] == 0 && h[156] != b'L' {
            let tail = self.tar.get(self.at..self.at + BLOCK);
            self.at += BLOCK;
            if tail.is_some_and(|t| t[0] == 0) {
                return None;
            }
        }
        if !valid(h) {
            if h[0] != 0 {
                self.out.errors.push(format!("invalid header at {}", self.at - BLOCK));
            }
            return None;
        }
        Some(h)
    }

    /// One entry (`HandleTarBuffer`, then `ParseFileByTypeFlag`); `Err` ends the parse.
    fn entry(&mut self, h: &[u8]) -> Result<(), String> {
        let mode = parse_octal(h, 100, 8) as u32;
        let mtime = parse_octal(h, 136, 12) as i64;
        let size = parse_octal(h, 124, 12);
        let skip = size.div_ceil(BLOCK as u64) as usize * BLOCK;
        let mut name = c_string(h);
        if !self.long_name.is_empty() {
            name = std::mem::take(&mut self.long_name);
        }
        if name.first() == Some(&b'/') {
            name.remove(0);
        }
        // What `fopen`/`mkdir` see: the C string.
        let path = String::from_utf8_lossy(&c_string(&name)).into_owned();
        let data = || self.tar.get(self.at..self.at + size as usize);
        match h[156] {
            b'0' | b'\0' => {
                if !path_ok(path.as_bytes()) {
                    return Err(format!("invalid path {path:?}"));
                }
                let data = data().ok_or_else(|| format!("{path}: truncated"))?.to_vec();
                // Logged, and the untar goes on with the next entry.
                if let Err(e) = self.made.make(&path, PARENT_MODE, None) {
                    self.out.errors.push(e);
                }
                self.out.files.insert(path, RestoredFile { mode, mtime: (mtime != 0).then_some(mtime), data });
                self.at += skip;
            }
            b'2' => {}
            b'5' => {
                if !path_ok(path.as_bytes()) {
                    return Err(format!("invalid path {path:?}"));
                }
                let dir = path.trim_end_matches('/').to_string();
                if let Err(e) = self.made.make(&dir, mode, Some(mode)) {
                    self.out.errors.push(e);
                }
                self.out.dirs.insert(dir, mode);
            }
            b'L' => {
                if size > MAX_PATH_LEN {
                    return Err(format!("long name of {size} bytes"));
                }
                self.long_name = data().ok_or("truncated long name")?.to_vec();
                if !path_ok(&self.long_name) {
                    return Err("invalid long name".into());
                }
                self.at += skip;
            }
            b'x' => {
                let (path, end, ok) = pax_path(self.tar, self.at);
                if !ok {
                    return Err(format!("unreadable pax record at {}", self.at - BLOCK));
                }
                if let Some(p) = path {
                    self.long_name = p;
                }
                self.at = end;
            }
            _ => self.at += skip,
        }
        Ok(())
    }
}
