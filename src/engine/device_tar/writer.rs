//! A backup folder exactly as a device's extension writes it (ohos-behaviour.md §3.2 "What a
//! device's tar really looks like, byte by byte", §3.3, §3.4; reference `tar_file.cpp`,
//! `DoAppendFiles`, `BFile::WriteFile`). Test-only: it is what a real phone hands a client.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::corpus::Item;

const BLOCK: usize = 512;
/// A device app's uid (20010000 + app id): wider than the 7-digit field, as on a phone.
pub const APP_UID: u64 = 20_010_034;
/// Where a device's extension keeps its tar parts; `manage.json` names them by it.
pub const BACKUP_DIR: &str = "/data/storage/el2/base/.backup/backup/";

/// `%0*llo` of the value, cut to the field's width less one: the device copies the first
/// `len - 1` characters, so a value wider than the field keeps its leading digits.
fn put_octal(h: &mut [u8], at: usize, len: usize, value: u64) {
    let s = format!("{value:0width$o}", width = len - 1);
    h[at..at + len - 1].copy_from_slice(&s.as_bytes()[..len - 1]);
}

/// The checksum as `SetCheckSum` writes it: 7 octal digits, the 8th byte left a space.
fn set_checksum(h: &mut [u8; BLOCK]) {
    h[148..156].fill(b' ');
    let sum: u64 = h.iter().map(|&b| b as u64).sum();
    put_octal(h, 148, 8, sum);
}

/// The magic and version every device header carries: "ustar\0" and "1\0" ("1.0" cut).
fn put_magic(h: &mut [u8; BLOCK]) {
    h[257..262].copy_from_slice(b"ustar");
    h[263] = b'1';
}

/// The `'L'` record before an entry whose name is 100 bytes or longer.
fn long_name_record(name: &str, out: &mut Vec<u8>) {
    let mut h = [0u8; BLOCK];
    h[..14].copy_from_slice(b"longLinkSymbol");
    // mode, uid, gid, mtime: "%0*d" of 0.
    h[100..107].copy_from_slice(b"0000000");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[136..147].copy_from_slice(b"00000000000");
    put_octal(&mut h, 124, 12, name.len() as u64 + 1);
    h[156] = b'L';
    put_magic(&mut h);
    set_checksum(&mut h);
    out.extend_from_slice(&h);
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad(out);
}

fn pad(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(BLOCK) {
        out.push(0);
    }
}

/// One entry as `TarFile::AddFile` writes it: a directory's size is its `st_size` (4096)
/// with no data after the header.
fn entry(it: &Item, out: &mut Vec<u8>) {
    let name = &it.path;
    if name.len() >= 100 {
        long_name_record(name, out);
    }
    let mut h = [0u8; BLOCK];
    let field: &[u8] = if name.len() < 100 { name.as_bytes() } else { b"longLinkSymbol" };
    h[..field.len()].copy_from_slice(field);
    put_octal(&mut h, 100, 8, (it.mode & 0o7777) as u64);
    put_octal(&mut h, 108, 8, APP_UID);
    put_octal(&mut h, 116, 8, APP_UID);
    put_octal(&mut h, 124, 12, if it.is_dir() { 4096 } else { it.size() });
    put_octal(&mut h, 136, 12, it.mtime.0 as u64);
    h[156] = if it.is_dir() { b'5' } else { b'0' };
    put_magic(&mut h);
    // No passwd entry for an app's uid: the names are the numbers.
    h[265..273].copy_from_slice(APP_UID.to_string().as_bytes());
    h[297..305].copy_from_slice(APP_UID.to_string().as_bytes());
    set_checksum(&mut h);
    out.extend_from_slice(&h);
    if let Some(c) = &it.content {
        out.extend_from_slice(c);
        pad(out);
    }
}

/// A device's tar of `items`: entries, then two zero blocks (no padding to a record).
pub fn tar(items: &[&Item]) -> Vec<u8> {
    let mut out = Vec::new();
    for it in items {
        entry(it, &mut out);
    }
    out.extend_from_slice(&[0u8; 2 * BLOCK]);
    out
}

/// jsoncpp's string escaping with its defaults (`emitUTF8` off): control characters and
/// everything beyond ASCII as `\uXXXX` (UTF-16, surrogate pairs), `/` left alone.
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One element of a device's `manage.json`.
#[derive(Debug, Clone)]
pub struct ManageLine {
    pub file_name: String,
    pub path: String,
    pub st_mode: u32,
    pub size: u64,
    pub mtime: (i64, i64),
    pub big: bool,
    pub user_tar: bool,
}

impl ManageLine {
    /// A big file's element: restored to its path with the recorded stat.
    pub fn big(file_name: &str, it: &Item) -> ManageLine {
        ManageLine {
            file_name: file_name.into(),
            path: it.path.clone(),
            st_mode: 0o100000 | it.mode,
            size: it.size(),
            mtime: it.mtime,
            big: true,
            user_tar: it.path.ends_with(".tar"),
        }
    }

    /// A tar part's element: its path and stat are the part's own in the extension's
    /// backup directory.
    pub fn part(file_name: &str, size: u64) -> ManageLine {
        ManageLine {
            file_name: file_name.into(),
            path: format!("{BACKUP_DIR}{file_name}"),
            st_mode: 0o100600,
            size,
            mtime: (1_700_000_999, 5),
            big: false,
            user_tar: false,
        }
    }

    /// The element as jsoncpp writes it without indentation: keys sorted.
    fn compact(&self) -> String {
        let (sec, nsec) = self.mtime;
        format!(
            "{{\"fileName\":{},\"information\":{{\"path\":{},\"stat\":{{\"st_atim\":{{\"tv_nsec\":{nsec},\"tv_sec\":{sec}}},\"st_mode\":{},\
             \"st_mtim\":{{\"tv_nsec\":{nsec},\"tv_sec\":{sec}}},\"st_size\":{}}}}},\"isBigFile\":{},\"isUserTar\":{}}}",
            json_str(&self.file_name),
            json_str(&self.path),
            self.st_mode,
            self.size,
            self.big,
            self.user_tar
        )
    }
}

/// A big file's device name: 16 hex digits, then its extension.
pub fn big_name(path: &str) -> String {
    let digest = Sha256::digest(path.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    match path.rsplit('/').next().and_then(|f| f.rsplit_once('.')) {
        Some((_, ext)) => format!("{hex}.{ext}"),
        None => hex,
    }
}

/// How `manage.json` is laid out: a full backup's stream, or jsoncpp's styled writer (an
/// incremental backup), optionally with `\r\n` line ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ManageStyle {
    Stream,
    Styled { crlf: bool },
}

/// A device's full backup of `items` as the files a client receives: big files as
/// themselves, small files and empty directories in `parts` tars (split in equal runs; a
/// directory with something inside gets no entry), `manage.json`.
pub fn backup(items: &[Item], parts: usize, style: ManageStyle) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut lines = Vec::new();
    // The scanner lists regular files and empty directories only.
    let small: Vec<&Item> = items.iter().filter(|i| !i.is_big() && (!i.is_dir() || i.is_empty_dir(items))).collect();
    for it in items.iter().filter(|i| i.is_big()) {
        let name = big_name(&it.path);
        lines.push(ManageLine::big(&name, it));
        files.insert(name, it.content.clone().unwrap());
    }
    let per = small.len().div_ceil(parts.max(1)).max(1);
    for (n, chunk) in small.chunks(per).enumerate() {
        let name = format!("part.{n}.tar");
        let bytes = tar(chunk);
        lines.push(ManageLine::part(&name, bytes.len() as u64));
        files.insert(name, bytes);
    }
    files.insert("manage.json".into(), manage_json(&lines, style).into_bytes());
    files
}

/// `manage.json` in the layout `style` names.
pub fn manage_json(lines: &[ManageLine], style: ManageStyle) -> String {
    let elements: Vec<String> = lines.iter().map(ManageLine::compact).collect();
    match style {
        // `InitManageJsonFd` writes "[", `DoAppendFiles` each element (all but the first
        // after a ","), each followed by "\n"; `CloseManageJsonFd` writes "]".
        ManageStyle::Stream => {
            let mut s = String::from("[");
            for (i, e) in elements.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(e);
                s.push('\n');
            }
            s.push(']');
            s
        }
        // jsoncpp's `StreamWriterBuilder` defaults (`BJsonCachedEntity::Persist`).
        ManageStyle::Styled { crlf } => {
            let eol = if crlf { "\r\n" } else { "\n" };
            let body: Vec<String> = elements.iter().map(|e| styled(e, eol)).collect();
            format!("[{eol}{}{eol}]", body.join(&format!(",{eol}")))
        }
    }
}

/// Re-indents a compact element the way jsoncpp's default writer does (tabs, " : ").
fn styled(compact: &str, eol: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(compact).unwrap();
    fn go(v: &serde_json::Value, depth: usize, eol: &str, out: &mut String) {
        let tabs = |d: usize| "\t".repeat(d);
        match v {
            serde_json::Value::Object(m) => {
                out.push('{');
                out.push_str(eol);
                let n = m.len();
                for (i, (k, v)) in m.iter().enumerate() {
                    out.push_str(&tabs(depth + 1));
                    out.push_str(&json_str(k));
                    out.push_str(" : ");
                    go(v, depth + 1, eol, out);
                    if i + 1 < n {
                        out.push(',');
                    }
                    out.push_str(eol);
                }
                out.push_str(&tabs(depth));
                out.push('}');
            }
            serde_json::Value::String(s) => out.push_str(&json_str(s)),
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = "\t".to_string();
    go(&v, 1, eol, &mut out);
    out
}

/// A tar's `.rp` as `BFile::WriteFile` writes it: the two header lines, then
/// `path;mode;dir;size;mtime;hash;usertar;encodeFlag`, mode in decimal, uppercase SHA-256,
/// `std::endl` line ends (or `\r\n`).
pub fn report(items: &[&Item], crlf: bool) -> Vec<u8> {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut s = format!("version=1.0&attrNum=8{eol}path;mode;dir;size;mtime;hash;usertar;encodeFlag{eol}");
    for it in items {
        let kind = if it.is_dir() { 0o040000 } else { 0o100000 };
        let hash =
            it.content.as_ref().map(|c| Sha256::digest(c).iter().map(|b| format!("{b:02X}")).collect::<String>()).unwrap_or_default();
        let encode = it.path.contains(';') || it.path.contains('\n');
        let path = if encode { super::super::report::encode_path(&it.path) } else { it.path.clone() };
        s.push_str(&format!(
            "{path};{};{};{};{};{hash};{};{}{eol}",
            kind | it.mode,
            u8::from(it.is_dir()),
            if it.is_dir() { 4096 } else { it.size() },
            it.mtime.0,
            u8::from(!it.is_dir()),
            u8::from(encode)
        ));
    }
    s.into_bytes()
}
